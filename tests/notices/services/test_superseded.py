"""What a superseded item (the content moved to another provider's network) does to the old provider's
record, driven through time with `now=`: no removal and no time of the old provider's in the statistics or
the Art. 22(3) report, and no breach of a removal order it carried once the content has left the
addressee's network before the clock ran out."""

from __future__ import annotations

from datetime import timedelta

import pytest

from notices.models import AnalystAlert, Event, HostingTrace, NoticeItem, Url
from notices.selectors.flagger import trusted_flagger_report
from notices.selectors.stats import ttr_stats
from notices.services.hops import act_on_hop
from notices.services.notices import create_notices, mark_notice_sent, queue_notice
from notices.services.orders import clock, create_order, pause_order, sweep_orders

pytestmark = pytest.mark.django_db

M, H = timedelta(minutes=1), timedelta(hours=1)


@pytest.fixture
def start(now):
    return (now - timedelta(days=3)).replace(second=0, microsecond=0)


@pytest.fixture
def gracht(make_provider):
    return make_provider("gracht", country="NL", prefix="203.0.113.0/24", asn=64502)


def hop(case, provider, at):
    trace = HostingTrace.objects.create(
        url=case,
        traced_at=at,
        host=case.host,
        ips=["203.0.113.7"],
        ip="203.0.113.7",
        provider=provider,
        country=provider.country,
        asn=64502,
        sources=[],
        is_hop=True,
    )
    Url.objects.filter(pk=case.pk).update(current_trace=trace, provider=provider)
    return act_on_hop(url_id=case.pk, now=at)


def sent(case, at, notice_type="hotline_notice"):
    (notice,) = create_notices(urls=[case], notice_type=notice_type, now=at, deadline_at=at + 24 * H)
    return notice


def removed(case, at):
    """The check's confirmation of a removal between `at` − 10 min and `at`, its TTR from the case's first
    notice (as the checker records it)."""
    noticed = Url.objects.get(pk=case.pk).first_notice_sent_at
    Url.objects.filter(pk=case.pk).update(
        status="removed",
        removal_confirmed_at=at + 10 * M,
        removed_low=at - 10 * M,
        removed_high=at,
        ttr_low=int((at - 10 * M - noticed).total_seconds()),
        ttr_high=int((at - noticed).total_seconds()),
    )


def test_the_old_providers_time_is_not_counted_as_removed(make_case, provider, gracht, start):
    case = make_case(provider=provider, when=start)
    old = sent(case, start)
    mark_notice_sent(notice=queue_notice(notice=old, now=start), at=start)
    new = hop(case, gracht, start + 30 * H)
    mark_notice_sent(notice=new, at=start + 30 * H)
    assert Url.objects.get(pk=case.pk).first_notice_sent_at == start + 30 * H  # the new cycle's
    removed(case, start + 32 * H)  # the new provider removed it two hours after its notice

    groups = {g["key"]: g for g in ttr_stats(group_by="provider", now=start + 40 * H)}
    assert sorted(groups) == ["gracht"]  # nothing of polder's: it neither removed it nor keeps it up
    assert (groups["gracht"]["count"], groups["gracht"]["removed"]) == (1, 1)
    assert groups["gracht"]["median"] == {"low": int((2 * H - 10 * M).total_seconds()), "high": 7200}

    report = trusted_flagger_report(
        year=start.year, now=start + 40 * H, notice_types=["hotline_notice", "trusted_flagger"]
    )
    actions = {r["key"]: r for r in report["rows"] if r["group"] == "action"}
    by_provider = {r["key"]: r for r in report["rows"] if r["group"] == "provider"}
    if (start + 30 * H).year == start.year:  # both notices in the year (always, but for the last days)
        assert actions["superseded"]["urls"] == 1 and actions["superseded"]["processed"] == 0
        assert by_provider["polder"]["processed"] == 0  # no processing time of polder's
        assert by_provider["polder"]["median_seconds"] is None
        assert "removed" not in actions or actions["removed"]["urls"] == 1  # gracht's, once


def test_a_provider_that_reported_removal_before_the_hop_keeps_its_removal(
    make_case, provider, gracht, start
):
    case = make_case(provider=provider, when=start)
    old = sent(case, start)
    mark_notice_sent(notice=queue_notice(notice=old, now=start), at=start)
    NoticeItem.objects.filter(notice=old).update(status="reported_removed", reported_removed_at=start + H)
    hop(case, gracht, start + 30 * H)
    report = trusted_flagger_report(year=start.year, now=start + 40 * H, notice_types=["hotline_notice"])
    by_provider = {r["key"]: r for r in report["rows"] if r["group"] == "provider"}
    assert by_provider["polder"]["processed"] == 1  # it acted before the content moved


def order_on(case, at):
    notice = sent(case, at, notice_type="removal_order")
    order = create_order(
        notice=notice,
        authority="Bundeskriminalamt",
        reference=f"RO-{case.pk}",
        issued_at=at - H,
        addressee="Polder Hosting B.V.",
        legal_basis="tco",
        now=at,
    )
    mark_notice_sent(notice=queue_notice(notice=notice, now=at), at=at)
    order.refresh_from_db()
    assert order.due_at == at + H
    return notice, order


def test_an_order_whose_content_moved_before_its_deadline_is_not_breached(make_case, provider, gracht, start):
    case = make_case(provider=provider, when=start)
    notice, order = order_on(case, start)

    new = hop(case, gracht, start + 40 * M)  # still up, but in another network now
    assert new.notice_type == "hotline_notice"  # the order is the authority's, for its addressee only
    mark_notice_sent(notice=new, at=start + 41 * M)
    assert Url.objects.get(pk=case.pk).status == "notified"  # up, at the new provider's
    order.refresh_from_db()
    assert (order.superseded_at, order.due_at) == (start + 40 * M, None)
    assert clock(order, now=start + 2 * H)["state"] == "superseded"

    assert sweep_orders(now=start + 2 * H) == 0
    order.refresh_from_db()
    assert (order.breached_at, order.removed_at) == (None, None)
    assert not AnalystAlert.objects.filter(kind="order_breached").exists()
    texts = [
        e.data["text"] for e in Event.objects.filter(notice=notice, kind="order.clock").order_by("at", "id")
    ]
    assert texts[-1].startswith("Removal order Bundeskriminalamt")
    assert "every URL moved to another network before its deadline" in texts[-1]
    with pytest.raises(Exception, match="has ended"):
        pause_order(order=order, reason="clarification", now=start + 3 * H)


def test_an_order_breached_before_the_hop_stays_breached(make_case, provider, gracht, start):
    case = make_case(provider=provider, when=start)
    _notice, order = order_on(case, start)
    assert sweep_orders(now=start + H + M) == 1  # still up in the addressee's network at the deadline
    hop(case, gracht, start + 2 * H)
    order.refresh_from_db()
    assert (order.breached_at, order.superseded_at) == (start + H, None)


def test_a_url_that_moved_is_left_out_of_a_breach_the_others_make(make_case, provider, gracht, start):
    stays = make_case("http://files.polder.example/stays.html", provider=provider, when=start)
    moves = make_case("http://files.polder.example/moves.html", provider=provider, when=start)
    (notice,) = create_notices(
        urls=[stays, moves], notice_type="removal_order", now=start, deadline_at=start + 24 * H
    )
    order = create_order(
        notice=notice,
        authority="Bundeskriminalamt",
        reference="RO-two",
        issued_at=start - H,
        addressee="Polder Hosting B.V.",
        legal_basis="tco",
        now=start,
    )
    mark_notice_sent(notice=queue_notice(notice=notice, now=start), at=start)
    mark_notice_sent(notice=hop(moves, gracht, start + 20 * M), at=start + 21 * M)
    order.refresh_from_db()
    assert order.superseded_at is None  # one URL is still the addressee's

    assert sweep_orders(now=start + 2 * H) == 1
    order.refresh_from_db()
    assert order.breached_at == start + H
    (event,) = Event.objects.filter(notice=notice, kind="order.breached")
    assert "1 URL still up" in event.data["text"]
