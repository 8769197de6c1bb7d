"""Statistics changes name the cases they changed, so a process keeping the cases as columns
(selectors/stats_columns.py) re-reads only those instead of every case.

The triggers of 0021 become statement triggers over transition tables on every event: one set-based INSERT per
statement writes the ids of the rows that are or were in the statistics (`_copy_sql`: a first notice, not gone
before notice) and whose counted values changed — the keys at first notice, the first notice, the bounds,
removed, closed, referred to law enforcement within 3 days — into notices_statschangedcase (a removal cycle as
minus its id), and marks the transaction as 0021 did (one StatsChange row). A bulk intake of URLs without a
first notice writes nothing; a statement naming more than STATEMENT_CASES cases writes one "anything" row
instead (read everything). Closing and reopening a noticed case is now seen by the trigger (status `closed`),
so no caller has to mark it. `notices_stats_mark()` called directly records an unnamed change (read
everything). A truncation of either table records one "anything" row.

Refreshes prune the rows older than a few hours and raise notices_stats_changed_horizon: the transaction id
below which rows may be gone (a process whose read is older reads everything).
"""

from django.db import migrations, models

STATEMENT_CASES = 50_000
IN_STATS = "{t}.first_notice_sent_at IS NOT NULL AND {t}.status <> 'gone_before_notice'"
# The URL columns the column read takes (stats_columns.FIELDS and the flags), compared old to new; of the
# status only what it says about the statistics (closed; gone before notice is the membership).
URL_COUNTED = """{t}.id, {t}.first_notice_sent_at, {t}.removal_confirmed_at, {t}.ttr_low, {t}.ttr_high,
    {t}.status = 'closed', {t}.provider_at_notice_id, {t}.asn_at_notice, {t}.country_at_notice,
    {t}.notice_type_at_notice, {t}.le_referred_at, {t}.first_reported_at"""
# The rows of one side of an update that are in the statistics, with what the statistics read of them.
URL_SIDE = "SELECT " + URL_COUNTED + " FROM {table} {t} WHERE " + IN_STATS
OLD_SIDE = URL_SIDE.format(t="o", table="old_rows")
NEW_SIDE = URL_SIDE.format(t="n", table="new_rows")

RECORD_CASES = f"""
DROP TRIGGER removalcycle_stats ON notices_removalcycle;
DROP TRIGGER url_stats_delete ON notices_url;
DROP TRIGGER url_stats_insert ON notices_url;
DROP TRIGGER url_stats_update ON notices_url;
DROP FUNCTION notices_url_stats_rows();
DROP FUNCTION notices_stats_changed();
CREATE SEQUENCE notices_stats_changed_horizon MINVALUE 0 START 0;
-- The transaction's StatsChange row (once per transaction), as 0021's notices_stats_mark.
CREATE FUNCTION notices_stats_note() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('notices.stats_marked_in', true) IS DISTINCT FROM pg_current_xact_id()::text THEN
        INSERT INTO notices_statschange (changed_at) VALUES (now());
        PERFORM set_config('notices.stats_marked_in', pg_current_xact_id()::text, true);
    END IF;
END
$$;
-- A change that names no case: processes keeping columns read them all.
CREATE OR REPLACE FUNCTION notices_stats_mark() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM notices_stats_note();
    INSERT INTO notices_statschangedcase (xact, key, changed_at)
        VALUES (pg_current_xact_id()::text::bigint, NULL, now());
END
$$;
CREATE FUNCTION notices_stats_record(keys bigint[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF keys IS NULL OR cardinality(keys) = 0 THEN
        RETURN;
    END IF;
    PERFORM notices_stats_note();
    IF cardinality(keys) > {STATEMENT_CASES} THEN
        INSERT INTO notices_statschangedcase (xact, key, changed_at)
            VALUES (pg_current_xact_id()::text::bigint, NULL, now());
    ELSE
        INSERT INTO notices_statschangedcase (xact, key, changed_at)
            SELECT pg_current_xact_id()::text::bigint, k, now() FROM unnest(keys) AS k;
    END IF;
END
$$;
CREATE FUNCTION notices_url_stats_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM notices_stats_record((SELECT array_agg(n.id) FROM new_rows n WHERE {IN_STATS.format(t="n")}));
    RETURN NULL;
END
$$;
CREATE FUNCTION notices_url_stats_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM notices_stats_record((SELECT array_agg(o.id) FROM old_rows o WHERE {IN_STATS.format(t="o")}));
    RETURN NULL;
END
$$;
CREATE FUNCTION notices_url_stats_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- The symmetric difference of the two sides (set operations hash or sort: never a join the planner,
    -- with the plan cached from a one-row statement, would run as a nested loop over a bulk update).
    PERFORM notices_stats_record((
        SELECT array_agg(DISTINCT id) FROM (
            ({OLD_SIDE} EXCEPT ALL {NEW_SIDE})
            UNION ALL
            ({NEW_SIDE} EXCEPT ALL {OLD_SIDE})) AS changed));
    RETURN NULL;
END
$$;
CREATE FUNCTION notices_cycle_stats_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM notices_stats_record((SELECT array_agg(-n.id) FROM new_rows n));
    RETURN NULL;
END
$$;
CREATE FUNCTION notices_cycle_stats_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM notices_stats_record((SELECT array_agg(-o.id) FROM old_rows o));
    RETURN NULL;
END
$$;
CREATE FUNCTION notices_cycle_stats_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM notices_stats_record((
        SELECT array_agg(-id) FROM (SELECT id FROM old_rows UNION SELECT id FROM new_rows) AS changed));
    RETURN NULL;
END
$$;
CREATE FUNCTION notices_stats_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO notices_statschangedcase (xact, key, changed_at)
        VALUES (pg_current_xact_id()::text::bigint, NULL, now());
    RETURN NULL;
END
$$;
CREATE TRIGGER url_stats_insert AFTER INSERT ON notices_url REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION notices_url_stats_inserted();
CREATE TRIGGER url_stats_update AFTER UPDATE ON notices_url REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION notices_url_stats_updated();
CREATE TRIGGER url_stats_delete AFTER DELETE ON notices_url REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION notices_url_stats_deleted();
CREATE TRIGGER url_stats_truncate AFTER TRUNCATE ON notices_url
    FOR EACH STATEMENT EXECUTE FUNCTION notices_stats_truncated();
CREATE TRIGGER removalcycle_stats_insert AFTER INSERT ON notices_removalcycle REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION notices_cycle_stats_inserted();
CREATE TRIGGER removalcycle_stats_update AFTER UPDATE ON notices_removalcycle
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION notices_cycle_stats_updated();
CREATE TRIGGER removalcycle_stats_delete AFTER DELETE ON notices_removalcycle REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION notices_cycle_stats_deleted();
CREATE TRIGGER removalcycle_stats_truncate AFTER TRUNCATE ON notices_removalcycle
    FOR EACH STATEMENT EXECUTE FUNCTION notices_stats_truncated();
"""

# Back to 0021's triggers (which mark without naming cases).
UNRECORD_CASES = """
DROP TRIGGER removalcycle_stats_truncate ON notices_removalcycle;
DROP TRIGGER removalcycle_stats_delete ON notices_removalcycle;
DROP TRIGGER removalcycle_stats_update ON notices_removalcycle;
DROP TRIGGER removalcycle_stats_insert ON notices_removalcycle;
DROP TRIGGER url_stats_truncate ON notices_url;
DROP TRIGGER url_stats_delete ON notices_url;
DROP TRIGGER url_stats_update ON notices_url;
DROP TRIGGER url_stats_insert ON notices_url;
DROP FUNCTION notices_stats_truncated();
DROP FUNCTION notices_cycle_stats_updated();
DROP FUNCTION notices_cycle_stats_deleted();
DROP FUNCTION notices_cycle_stats_inserted();
DROP FUNCTION notices_url_stats_updated();
DROP FUNCTION notices_url_stats_deleted();
DROP FUNCTION notices_url_stats_inserted();
DROP FUNCTION notices_stats_record(bigint[]);
CREATE OR REPLACE FUNCTION notices_stats_mark() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('notices.stats_marked_in', true) IS DISTINCT FROM pg_current_xact_id()::text THEN
        INSERT INTO notices_statschange (changed_at) VALUES (now());
        PERFORM set_config('notices.stats_marked_in', pg_current_xact_id()::text, true);
    END IF;
END
$$;
DROP SEQUENCE notices_stats_changed_horizon;
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
DROP FUNCTION notices_stats_note();
"""


class Migration(migrations.Migration):
    dependencies = [("notices", "0042_key_rates")]

    operations = [
        migrations.CreateModel(
            name="StatsChangedCase",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("xact", models.BigIntegerField(help_text="The writing transaction (pg_current_xact_id).")),
                (
                    "key",
                    models.BigIntegerField(
                        help_text="URL id, or minus a removal cycle's id; empty: all.", null=True
                    ),
                ),
                ("changed_at", models.DateTimeField()),
            ],
            options={"indexes": [models.Index(fields=["xact"], name="statschangedcase_xact_idx")]},
        ),
        migrations.RunSQL(RECORD_CASES, UNRECORD_CASES),
    ]
