from django.db import migrations

# The outbox stores each notice mail whole (~15 KB: text, HTML, an X-ARF report per URL, a CSV). PostgreSQL's
# default pglz compression of that column cost more than the rest of the INSERT (about 0.6 s against 0.35 s
# for 1,000 messages), while mails are written once, read once or twice by the sender, and rarely kept for long.
# EXTERNAL stores them out of line without compressing. lz4 would be as fast and smaller, but the embedded
# PostgreSQL that `make run` and `make test` use is built without it, and a migration must run everywhere.
# Existing rows keep their storage; only new values are written uncompressed.
MIME_EXTERNAL = "ALTER TABLE notices_outgoingmessage ALTER COLUMN mime SET STORAGE EXTERNAL"
MIME_DEFAULT = "ALTER TABLE notices_outgoingmessage ALTER COLUMN mime SET STORAGE EXTENDED"


class Migration(migrations.Migration):
    dependencies = [("notices", "0015_due_check_queue")]

    operations = [migrations.RunSQL(MIME_EXTERNAL, reverse_sql=MIME_DEFAULT)]
