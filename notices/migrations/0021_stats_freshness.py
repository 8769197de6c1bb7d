from django.db import migrations, models

# What the statistics count changes when a URL gets its first notice, its removal confirmed, leaves the
# statistics (gone before notice), or comes back (a RemovalCycle). Triggers record that in notices_statschange,
# in the same transaction as the change and at most once per transaction (a transaction-local setting remembers
# it), so a batch that confirms thousands of removals writes one row. A refresh deletes the rows it has seen;
# while any row is left, the snapshots are stale and are not served.
#
# URL updates: a row trigger limited to the counted columns (`UPDATE OF`), so the checker's common update (live
# time, next check) never fires it; its WHEN clause runs without entering PL/pgSQL. URL inserts and deletes:
# statement triggers over the transition tables (bulk loads with first-notice times, deleted noticed cases).
MARK_CHANGES = """
CREATE FUNCTION notices_stats_mark() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('notices.stats_marked_in', true) IS DISTINCT FROM pg_current_xact_id()::text THEN
        INSERT INTO notices_statschange (changed_at) VALUES (now());
        PERFORM set_config('notices.stats_marked_in', pg_current_xact_id()::text, true);
    END IF;
END
$$;
CREATE FUNCTION notices_stats_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM notices_stats_mark();
    RETURN NULL;
END
$$;
CREATE FUNCTION notices_url_stats_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF EXISTS (SELECT 1 FROM new_rows WHERE first_notice_sent_at IS NOT NULL) THEN
            PERFORM notices_stats_mark();
        END IF;
    ELSIF EXISTS (SELECT 1 FROM old_rows WHERE first_notice_sent_at IS NOT NULL) THEN
        PERFORM notices_stats_mark();
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER url_stats_update
    AFTER UPDATE OF first_notice_sent_at, removal_confirmed_at, ttr_low, ttr_high, status, provider_at_notice_id,
        asn_at_notice, country_at_notice, notice_type_at_notice ON notices_url
    FOR EACH ROW WHEN (
        (OLD.first_notice_sent_at IS NOT NULL OR NEW.first_notice_sent_at IS NOT NULL) AND (
            OLD.first_notice_sent_at IS DISTINCT FROM NEW.first_notice_sent_at
            OR OLD.removal_confirmed_at IS DISTINCT FROM NEW.removal_confirmed_at
            OR OLD.ttr_low IS DISTINCT FROM NEW.ttr_low OR OLD.ttr_high IS DISTINCT FROM NEW.ttr_high
            OR (OLD.status = 'gone_before_notice') IS DISTINCT FROM (NEW.status = 'gone_before_notice')
            OR OLD.provider_at_notice_id IS DISTINCT FROM NEW.provider_at_notice_id
            OR OLD.asn_at_notice IS DISTINCT FROM NEW.asn_at_notice
            OR OLD.country_at_notice IS DISTINCT FROM NEW.country_at_notice
            OR OLD.notice_type_at_notice IS DISTINCT FROM NEW.notice_type_at_notice))
    EXECUTE FUNCTION notices_stats_changed();
CREATE TRIGGER url_stats_insert AFTER INSERT ON notices_url REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION notices_url_stats_rows();
CREATE TRIGGER url_stats_delete AFTER DELETE ON notices_url REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION notices_url_stats_rows();
CREATE TRIGGER removalcycle_stats AFTER INSERT OR UPDATE OR DELETE ON notices_removalcycle
    FOR EACH STATEMENT EXECUTE FUNCTION notices_stats_changed();
-- Snapshots written before these triggers existed may predate changes: the first refresh settles them.
INSERT INTO notices_statschange (changed_at) SELECT now() WHERE EXISTS (SELECT 1 FROM notices_statssnapshot);
"""

UNMARK_CHANGES = """
DROP TRIGGER removalcycle_stats ON notices_removalcycle;
DROP TRIGGER url_stats_delete ON notices_url;
DROP TRIGGER url_stats_insert ON notices_url;
DROP TRIGGER url_stats_update ON notices_url;
DROP FUNCTION notices_url_stats_rows();
DROP FUNCTION notices_stats_changed();
DROP FUNCTION notices_stats_mark();
"""


class Migration(migrations.Migration):
    dependencies = [("notices", "0020_admin_validation")]

    operations = [
        migrations.CreateModel(
            name="StatsChange",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("changed_at", models.DateTimeField()),
            ],
        ),
        migrations.CreateModel(
            name="StatsRefresh",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "requested_at",
                    models.DateTimeField(blank=True, help_text="A debounced refresh is queued.", null=True),
                ),
                (
                    "started_at",
                    models.DateTimeField(
                        blank=True, help_text="A refresh is running (its claim).", null=True
                    ),
                ),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("failed_at", models.DateTimeField(blank=True, null=True)),
                ("error", models.TextField(blank=True)),
                (
                    "refreshes",
                    models.PositiveBigIntegerField(
                        default=0, help_text="Recomputations done (not requests)."
                    ),
                ),
            ],
        ),
        migrations.RunSQL(MARK_CHANGES, UNMARK_CHANGES),
    ]
