"""The staged write path of bulk intake (COPY into a temporary table, then INSERT … SELECT) writes exactly
the rows the plain path (array parameters) writes: the plain path is the reference
(notices/services/intake.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction

from notices.enums import ReportChannel
from notices.models import Event, MediaHash, Partner, Report, Url
from notices.services import intake
from notices.services.intake import ReportInput, submit_reports

pytestmark = pytest.mark.django_db

SHA1 = "a9993e364706816aba3e25717850c26c9cd0d89d"


def mixed_batch(now) -> list[ReportInput]:
    """New URLs, equivalent spellings of one, exact repeats, a URL that is already a case, hash values (one
    held by an existing case, one named twice in the batch) and text that COPY has to escape."""
    earlier = now - timedelta(days=2)
    items = [
        ReportInput(url="http://new.polder.example/a", external_ref="ref\twith tab", notes="line\nbreak"),
        ReportInput(url="HTTP://NEW.polder.example:80/./a#frag", notes="back\\slash \\N and \r return"),
        ReportInput(url="  http://new.polder.example//a\n", reported_at=earlier),
        ReportInput(url="http://known.polder.example/old", reporter_email="someone@example.org"),
        ReportInput(
            url="http://new.polder.example/b%5Cc?q=a\\b", hashes=({"algorithm": "sha1", "value": SHA1},)
        ),
        ReportInput(
            url="http://hashed.polder.example/x",
            hashes=({"algorithm": "sha1", "value": SHA1.upper()}, {"algorithm": "md5", "value": "0" * 32}),
        ),
        ReportInput(url="http://hashed.polder.example/y", hashes=({"algorithm": "md5", "value": "0" * 32},)),
        ReportInput(url="https://[2001:db8::1]:8443/ipv6", notes="ünïcødé ☃"),
        ReportInput(url="http://192.0.2.7/path?x=1&y=2"),
        ReportInput(url="http://shop.co.example.co.uk/item"),
    ]
    items += [ReportInput(url=f"http://bulk{n % 7}.polder.example/p/{n % 40}") for n in range(60)]
    return items


def rows_written(results) -> dict:
    """Every row the batch wrote, ids replaced by what they stand for (URLs by canonical form, reports by
    their position in the batch), in the order the tables hold them."""
    report_ids = [r.report_id for r in results]
    position = {pk: n for n, pk in enumerate(report_ids)}
    reports = Report.objects.filter(pk__in=report_ids).order_by("id")
    url_ids = {r.url_id for r in results}
    others = {pk for r in results for pk in r.same_material}
    canonical = dict(Url.objects.filter(pk__in=url_ids | others).values_list("pk", "canonical"))
    return {
        "report order": [position[r.pk] for r in reports],
        "reports": [
            (
                canonical[r.url_id],
                r.partner_id,
                r.submitted_by_id,
                r.original_url,
                r.reported_at,
                r.received_at,
                r.external_ref,
                r.notes,
                r.hashes,
                r.duplicate,
                r.channel,
                r.reporter_email,
            )
            for r in sorted(reports, key=lambda r: position[r.pk])
        ],
        "receipts": [r.receipt for r in sorted(reports, key=lambda r: position[r.pk])]
        == [r.receipt for r in results],
        "urls": list(
            Url.objects.filter(pk__in=url_ids)
            .order_by("id")
            .values_list(
                "original",
                "canonical",
                "canonical_hash",
                "host",
                "site",
                "status",
                "first_reported_at",
                "created_at",
                "consecutive_gone",
                "reappearance_count",
            )
        ),
        "events": [
            (e.kind, e.at, canonical[e.url_id], e.actor, e.data)
            for e in Event.objects.filter(url_id__in=url_ids).order_by("at", "id")
        ],
        "hashes": sorted(
            (position[h.report_id], canonical[h.url_id], h.algorithm, h.value)
            for h in MediaHash.objects.filter(report_id__in=report_ids)
        ),
        "results": [
            (r.duplicate, r.canonical, r.status, canonical[r.url_id], [canonical[o] for o in r.same_material])
            for r in results
        ],
    }


def test_staged_and_plain_paths_write_the_same_rows(now):
    partner = Partner.objects.create(name="polder partner")
    (known,) = submit_reports(
        items=[
            ReportInput(url="http://known.polder.example/old", hashes=({"algorithm": "sha1", "value": SHA1},))
        ],
        now=now - timedelta(days=5),
        partner=partner,
    )
    items = mixed_batch(now)
    written = {}
    for staged in (False, True):
        with transaction.atomic():
            results = submit_reports(
                items=items, now=now, partner=partner, channel=ReportChannel.BULK, staged=staged
            )
            written[staged] = rows_written(results)
            transaction.set_rollback(True)  # both start from the same rows
    plain, staged_rows = written[False], written[True]
    assert plain["receipts"] and staged_rows["receipts"]
    for table in ("report order", "reports", "urls", "events", "hashes", "results"):
        assert staged_rows[table] == plain[table], table
    # The reference itself says what the batch should do.
    results = plain["results"]
    assert [dup for dup, *_ in results[:4]] == [False, True, True, True]
    assert len({canon for _, canon, *_ in results}) == len(plain["urls"])  # the known case among them
    # The SHA-1 value the known case holds, and that another item of the batch names in upper case.
    assert results[4][4] == [known.canonical, "http://hashed.polder.example/x"]
    assert results[6][4] == ["http://hashed.polder.example/x"]
    assert plain["reports"][1][7] == "back\\slash \\N and \r return"


def test_staged_batches_in_one_transaction_see_each_other(now):
    """The stage is emptied for each batch: a second batch in the same transaction records only its own
    items, and what the first created counts as known."""
    partner = Partner.objects.create(name="polder partner")
    first = [ReportInput(url=f"http://one.polder.example/{n}") for n in range(60)]
    second = [ReportInput(url=f"http://one.polder.example/{n}") for n in range(30, 90)]
    with transaction.atomic():
        a = submit_reports(items=first, now=now, partner=partner, staged=True)
        b = submit_reports(items=second, now=now, partner=partner, staged=True)
    assert not any(r.duplicate for r in a)
    assert [r.duplicate for r in b] == [True] * 30 + [False] * 30
    assert [r.url_id for r in b[:30]] == [r.url_id for r in a[30:]]
    assert Url.objects.count() == 90
    assert Report.objects.count() == 120
    assert Event.objects.filter(kind="url.created").count() == 90


def test_a_failed_batch_leaves_nothing_and_the_next_one_works(now):
    """A batch rolled back (here: an unknown partner, refused at commit) undoes the stage's creation too;
    the next batch on the same connection creates it again."""
    partner = Partner.objects.create(name="polder partner")
    items = [ReportInput(url=f"http://two.polder.example/{n}") for n in range(60)]
    with pytest.raises(IntegrityError), transaction.atomic():
        submit_reports(items=items, now=now, partner=Partner(pk=987_654), staged=True)
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert not Url.objects.exists()
    results = submit_reports(items=items, now=now, partner=partner, staged=True)
    assert len(results) == 60 and Url.objects.count() == 60


def test_batches_from_the_threshold_on_are_staged(now, monkeypatch):
    partner = Partner.objects.create(name="polder partner")
    calls = []
    real = intake._write_staged
    monkeypatch.setattr(intake, "_write_staged", lambda *a: calls.append(len(a[1])) or real(*a))
    size = intake.STAGE_MIN_ITEMS
    submit_reports(items=[ReportInput(url=f"http://t.polder.example/{n}") for n in range(size - 1)], now=now)
    submit_reports(items=[ReportInput(url=f"http://u.polder.example/{n}") for n in range(size)], now=now)
    submit_reports(items=[ReportInput(url="http://v.polder.example/")], now=now, partner=partner)
    assert calls == [size]
