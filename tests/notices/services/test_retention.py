"""The retention purge: ended cases lose their URL strings, hashes and notes everywhere (their own rows, the
timeline, the audit log, their notices' texts and mails) once the retention period is over; the statistics
do not change; a dry run writes nothing; a real run writes one `retention.purge` audit row. Time is a
parameter (`now=`)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import ProgrammingError, connection, transaction
from django.utils import timezone

from notices.enums import UrlStatus
from notices.infra.events import audit, record_event
from notices.models import (
    AnalystReply,
    Assessment,
    AuditEvent,
    Check,
    Event,
    HostingTrace,
    InboundMessage,
    Notice,
    OutgoingMessage,
    ProviderResponse,
    Report,
    RetentionPolicy,
    StatsSnapshot,
    Url,
)
from notices.selectors.dashboard import provider_rows, queue_counts
from notices.selectors.stats import GROUPS, refresh_snapshots, stale_since, time_to_removal, ttr_stats
from notices.services.assessment import assess_url
from notices.services.intake import ReportInput, submit_report
from notices.services.responses import record_response
from notices.services.retention import REDACTED, due_cases, host_pattern, purge, redact
from tests.notices.stats.conftest import confirm_removals

pytestmark = pytest.mark.django_db

A = "http://files.polder.example/removed-a.html"
B = "http://files.polder.example/removed-b.html"
C = "http://cdn.polder.example/removed-c.jpg"
D = "http://cdn.polder.example/still-up-d.jpg"


@pytest.fixture
def world(settings, api_only, make_case, make_notice, analyst, now):
    """Notice 1 names A and B (both removed), notice 2 names C (removed) and D (still up); E and F were
    judged not illegal 300 and 10 days ago; G was closed yesterday; H is removed but still watched for
    reappearance. Retention: 30 days after the end, 90 for not illegal. Everything names its URL somewhere."""
    settings.REAPPEARANCE_WATCH = 0  # removed cases are not watched after removal (H is watched by hand)
    settings.REMOVAL_CONFIRMATIONS, settings.REMOVAL_MIN_SPACING = 2, 1  # as confirm_removals checks
    settings.CHECKER_VANTAGE_POINTS = ["direct"]
    RetentionPolicy.objects.create(pk=RetentionPolicy.SINGLETON_ID, ended_cases_days=30, not_illegal_days=90)
    a, b, c, d, h = (make_case(u, provider=api_only, when=now) for u in (A, B, C, D, D + "?h"))
    submit_report(
        item=ReportInput(url=A, notes=f"seen on {A}", hashes=[{"algorithm": "md5", "value": "0" * 32}]),
        now=now,
    )
    assess_url(
        url=a,
        analyst=analyst,
        legality="illegal_international",
        classification="A1",
        now=now,
        notes="files.polder.example again",
    )
    HostingTrace.objects.filter(url=a).update(
        cnames=["edge.polder.example"],
        sources=[
            {"source": "dns", "query": "files.polder.example", "answer": {"ips": ["198.51.100.10"]}},
            {"source": "rdap", "query": "198.51.100.10", "answer": {"url": "https://rdap.example/ip/1"}},
        ],
    )
    first = make_notice(a, b, now=now)
    second = make_notice(c, d, now=now)
    make_notice(h, now=now)
    record_response(notice=first, action="acknowledge", now=now, message=f"Looking at {A} and {B}.")
    record_event(
        "url.note", at=now, url=a, data={"text": "quoted files.polder.example/removed-a.html", "n": 1}
    )
    audit(actor="user:analyst", action="url.view", obj=a, ip="192.0.2.1")
    audit(actor="user:analyst", action="url.list", object_type="url", data={"urls": [a.pk, d.pk], "q": A})
    audit(actor="user:analyst", action="url.view", obj=d, ip="192.0.2.1", data={"note": D})
    OutgoingMessage.objects.create(
        notice=first,
        message_id="<n1@hotline.example>",
        recipients=["abuse@x.example"],
        subject=f"[{first.reference}] Notice",
        text="hxxp://files[.]polder[.]example",
        html="<p>x</p>",
        mime=b"MIME " + A.encode(),
        created_at=now,
    )
    OutgoingMessage.objects.create(
        notice=second,
        message_id="<n2@hotline.example>",
        recipients=["abuse@x.example"],
        subject="Notice",
        text=D,
        created_at=now,
    )
    InboundMessage.objects.create(
        received_at=now,
        message_id="<r1@polder.example>",
        kind="reply",
        notice=first,
        subject=f"Re: {A}",
        text=f"> {A}\nDone.",
    )
    AnalystReply.objects.create(notice=first, author=analyst, body=f"The page {B}", created_at=now)
    assert confirm_removals([a, b, c, h]) == 4
    Url.objects.filter(pk=h.pk).update(next_check_at=now + timedelta(days=1))  # still watched
    e = make_case("http://old.example/e.html", provider=api_only, when=now - timedelta(days=300))
    f = make_case("http://new.example/f.html", provider=api_only, when=now - timedelta(days=10))
    for case, days in ((e, 300), (f, 10)):
        assess_url(url=case, analyst=analyst, legality="not_illegal", now=now - timedelta(days=days))
        Url.objects.filter(pk=case.pk).update(next_check_at=None)  # its pre-notice check was never due
    g = make_case("http://closed.example/g.html", provider=api_only, when=now)
    Url.objects.filter(pk=g.pk).update(
        status=UrlStatus.CLOSED, closed_at=now - timedelta(days=1), next_check_at=None
    )
    cases = dict(zip("abcdefgh", (a, b, c, d, e, f, g, h), strict=True))
    return {"cases": {k: Url.objects.get(pk=v.pk) for k, v in cases.items()}, "notices": (first, second)}


def later(now, days=31):
    return now + timedelta(days=days)


def test_due_cases_are_the_ended_ones_past_their_period(world, now):
    policy = RetentionPolicy.current()
    due = set(due_cases(now=later(now), policy=policy).values_list("pk", flat=True))
    assert due == {world["cases"][k].pk for k in "abceg"}
    assert list(due_cases(now=now, policy=policy).values_list("pk", flat=True)) == [world["cases"]["e"].pk]


def _strings_left(*needles: str) -> list[str]:
    """Every table row (as text) still holding one of `needles`, any letter case, defanged too."""
    forms = {n.lower() for n in needles} | {
        n.lower().replace("http", "hxxp").replace(".", "[.]") for n in needles
    }
    found = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'notices_%'"
        )
        for (table,) in cursor.fetchall():
            cursor.execute(f"SELECT t::text FROM {table} t")
            found += [
                f"{table}: {row[:200]}"
                for (row,) in cursor.fetchall()
                if any(f in row.lower() for f in forms)
            ]
    return found


def test_purge_removes_the_urls_of_due_cases_everywhere(world, now):
    cases, (first, second) = world["cases"], world["notices"]
    purged_at = later(now)

    report = purge(now=purged_at)

    assert report.counts["urls"] == 5
    assert _strings_left(A, B, "files.polder.example", "removed-c.jpg", "old.example", "closed.example") == []
    for key in "abceg":
        url = Url.objects.get(pk=cases[key].pk)
        assert (url.original, url.canonical, url.host, url.canonical_hash, url.purged_at) == (
            "",
            "",
            "",
            None,
            purged_at,
        )
        assert str(url) == f"purged (URL {url.pk})"
    for key in "dfh":  # still up, not illegal too recently, still watched
        url = Url.objects.get(pk=cases[key].pk)
        assert (url.purged_at, url.canonical) == (None, cases[key].canonical)
    a = cases["a"]
    assert (
        list(Report.objects.filter(url=a).values_list("original_url", "notes", "hashes"))
        == [("", "", [])] * 2
    )
    assert set(Report.objects.filter(url=a).values_list("receipt", flat=True)) != {""}  # receipts stay
    assert (
        list(Assessment.objects.filter(url=a).values_list("notes", "legality", "classification"))
        == [("", "illegal_international", "A1")] * 2
    )
    assert set(Check.objects.filter(url=a).values_list("final_url", "outcome")) == {("", "gone")}
    trace = HostingTrace.objects.get(url=a)
    assert (trace.host, trace.cnames, trace.ip, trace.asn, trace.provider_id, trace.country) == (
        "",
        [],
        "198.51.100.10",
        64500,
        a.provider_id,
        "NL",
    )
    assert trace.sources == [
        {"source": "dns", "query": REDACTED, "answer": {"ips": ["198.51.100.10"]}},
        {"source": "rdap", "query": "198.51.100.10", "answer": {"url": "https://rdap.example/ip/1"}},
    ]
    assert Event.objects.get(kind="url.note").data == {"text": f"quoted {REDACTED}", "n": 1}
    response = ProviderResponse.objects.get(notice=first)
    assert (response.action, response.message) == ("acknowledge", f"Looking at {REDACTED} and {REDACTED}.")
    assert Event.objects.get(kind="notice.response").data["message"] == response.message
    assert InboundMessage.objects.get().text == f"> {REDACTED}\nDone."
    assert AnalystReply.objects.get().body == f"The page {REDACTED}"
    listed = AuditEvent.objects.get(action="url.list")
    assert listed.data == {"urls": [a.pk, cases["d"].pk], "q": REDACTED}
    # Notice 1 lost its last URL: its mail goes and it is marked; notice 2 still names D, kept with its mail.
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.purged_at, second.purged_at) == (purged_at, None)
    assert list(OutgoingMessage.objects.filter(notice=first).values_list("text", "html", "mime")) == [
        ("", "", None)
    ]
    assert OutgoingMessage.objects.get(notice=second).text == D
    assert AuditEvent.objects.get(action="url.view", object_id=str(cases["d"].pk)).data == {"note": D}


def test_purge_writes_one_audit_row_with_the_counts(world, now):
    report = purge(now=later(now))

    row = AuditEvent.objects.get(action="retention.purge")
    assert (row.actor, row.object_type, row.object_id) == ("system", "url", "")
    assert row.data == {
        "via": "schedule",
        "now": later(now).isoformat(),
        "ended_before": (later(now) - timedelta(days=30)).isoformat(),
        "not_illegal_before": (later(now) - timedelta(days=90)).isoformat(),
        "counts": dict(sorted(report.counts.items())),
    }
    assert row.data["counts"]["urls"] == 5 and row.data["counts"]["mails"] == 1
    assert row.data["counts"]["notices"] == 1 and row.data["counts"]["reports"] == 6


def _everything() -> dict:
    tables = {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'notices_%'"
        )
        for (table,) in cursor.fetchall():
            cursor.execute(f"SELECT t::text FROM {table} t ORDER BY 1")
            tables[table] = [row for (row,) in cursor.fetchall()]
    return tables


def test_dry_run_writes_nothing_and_counts_what_a_real_run_removes(world, now):
    before = _everything()

    dry = purge(now=later(now), dry_run=True)

    assert _everything() == before
    assert dry.describe().startswith("Would purge 5 case(s) ended before ")
    real = purge(now=later(now))
    assert real.counts == dry.counts
    assert real.describe().startswith("Purged 5 case(s)")


def test_a_second_run_finds_nothing_and_still_says_so(world, now):
    purge(now=later(now))
    again = purge(now=later(now, 32))

    assert again.counts["urls"] == 0
    assert AuditEvent.objects.filter(action="retention.purge").count() == 2


def test_not_illegal_reports_go_after_their_own_period(world, now):
    f = world["cases"]["f"]
    purge(now=later(now))
    assert Url.objects.get(pk=f.pk).purged_at is None
    purge(now=now + timedelta(days=81))
    assert Url.objects.get(pk=f.pk).purged_at == now + timedelta(days=81)


def _figures(at) -> dict:
    live = {group: ttr_stats(group_by=group, now=at) for group in GROUPS}
    served = {group: time_to_removal(group_by=group, now=at) for group in GROUPS}
    return {
        "live": live,
        "served": {group: (answer["source"], answer["groups"]) for group, answer in served.items()},
        "dashboard": (queue_counts(now=at), provider_rows(now=at)),
    }


def test_the_published_figures_do_not_change(world, now):
    at = timezone.now()
    refresh_snapshots(now=at)
    snapshots = list(StatsSnapshot.objects.order_by("group_by").values_list("group_by", "groups"))
    before = _figures(at)
    assert before["live"]["provider"][0]["count"] == 5  # A, B, C, D, H were noticed
    assert {source for source, _ in before["served"].values()} == {"snapshot"}

    purge(now=later(now))

    assert stale_since() is None  # nothing the statistics count changed
    assert _figures(at) == before
    refresh_snapshots(now=at)
    assert list(StatsSnapshot.objects.order_by("group_by").values_list("group_by", "groups")) == snapshots


def test_a_new_report_of_a_purged_url_opens_a_new_case(world, now):
    purge(now=later(now))
    result = submit_report(item=ReportInput(url=A), now=later(now))
    assert (result.duplicate, result.url_id != world["cases"]["a"].pk) == (False, True)


def test_the_timeline_is_closed_again_after_a_purge(world, now):
    purge(now=later(now))
    with pytest.raises(ProgrammingError, match="append-only"), transaction.atomic():
        Event.objects.filter(url=world["cases"]["a"]).update(data={})


def test_a_purged_case_cannot_be_assessed_again(world, now, analyst):
    purge(now=later(now))
    from notices.errors import NoticeError

    with pytest.raises(NoticeError, match="purged"):
        assess_url(
            url=world["cases"]["e"],
            analyst=analyst,
            legality="illegal_international",
            classification="A1",
            now=later(now),
        )
    assert Notice.objects.filter(purged_at__isnull=False).count() == 1


def test_the_policy_defaults_come_from_the_environment(db, settings):
    settings.RETENTION_ENDED_CASES_DAYS, settings.RETENTION_NOT_ILLEGAL_DAYS = 400, 45
    policy = RetentionPolicy.current()
    assert (policy.pk, policy._state.adding, policy.ended_cases_days, policy.not_illegal_days) == (
        1,
        True,
        400,
        45,
    )
    assert policy.purge_enabled is True


def test_redaction_takes_the_case_hosts_with_what_follows_and_nothing_else(db):
    case = Url(original="HTTP://Files.Polder.example:8080/a", canonical="http://files.polder.example:8080/a")
    case.host = "files.polder.example"
    hosts = host_pattern([case])
    text = (
        "files[.]polder[.]example/a.html, FILES.POLDER.EXAMPLE:8080/x?y. "
        "cdn.files.polder.example files.polder.examples"
    )
    assert redact(text, hosts, free_text=False) == (
        "[purged], [purged]. cdn.files.polder.example files.polder.examples"
    )
    assert redact({"m": ["see https://other.example/x!", 7]}, hosts) == {"m": ["see [purged]!", 7]}
    assert redact("https://other.example/x", hosts, free_text=False) == "https://other.example/x"


def test_purge_removes_the_reporter_email_hash_values_and_site(world, now):
    """The public form's optional e-mail address is personal data: it goes with the case's other strings,
    as do its hash values (matched across cases) and its site key."""
    from notices.enums import ReportChannel
    from notices.models import MediaHash

    a, d = world["cases"]["a"], world["cases"]["d"]
    submit_report(
        item=ReportInput(url=A, reporter_email="reporter@mail.example"), now=now, channel=ReportChannel.PUBLIC
    )
    submit_report(item=ReportInput(url=D, reporter_email="other@mail.example"), now=now)
    assert MediaHash.objects.filter(url=a).count() == 1
    report = purge(now=later(now))
    assert report.counts["media_hashes"] == 1
    assert set(Report.objects.filter(url=a).values_list("reporter_email", flat=True)) == {""}
    assert MediaHash.objects.filter(url=a).count() == 0
    assert Url.objects.get(pk=a.pk).site == ""
    assert Report.objects.get(url=d, reporter_email="other@mail.example")  # a case still up keeps it
