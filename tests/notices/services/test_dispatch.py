"""Dispatch cycles: assessed URLs batched into one notice per provider when its cycle comes round."""

from datetime import UTC, datetime, timedelta

import pytest

from notices.models import Event, HostingProvider, Notice, OutgoingMessage
from notices.services.dispatch import cycle_due, dispatch_due

NOW = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)  # 11:30 in Amsterdam


def mode(provider, dispatch, **fields):
    HostingProvider.objects.filter(pk=provider.pk).update(dispatch=dispatch, **fields)
    provider.refresh_from_db()
    return provider


@pytest.mark.django_db
def test_dispatch_batches_one_provider_s_urls_into_one_queued_notice(make_case, provider, other_provider):
    mode(provider, "immediate")
    first = make_case("http://files.polder.example/a.html", provider=provider, when=NOW)
    second = make_case("http://files.polder.example/b.html", provider=provider, when=NOW)
    make_case("http://cdn.balkan.example/c.html", provider=other_provider, when=NOW)  # manual: left alone

    (notice,) = dispatch_due(now=NOW)

    assert (notice.provider_id, notice.status) == (provider.pk, "queued")
    assert sorted(notice.items.values_list("url_id", flat=True)) == [first.pk, second.pk]
    assert OutgoingMessage.objects.filter(notice=notice).count() == 1
    assert Notice.objects.count() == 1
    assert dispatch_due(now=NOW + timedelta(minutes=1)) == []  # nothing pending any more


@pytest.mark.django_db
def test_dispatch_interval_waits_for_its_minutes(make_case, provider):
    mode(provider, "interval", dispatch_interval=30, last_dispatch_at=NOW - timedelta(minutes=20))
    make_case("http://files.polder.example/a.html", provider=provider, when=NOW)

    assert dispatch_due(now=NOW) == []
    assert len(dispatch_due(now=NOW + timedelta(minutes=10))) == 1


@pytest.mark.parametrize(
    ("last", "now", "due"),
    [
        (None, NOW, True),
        (datetime(2026, 3, 2, 8, 5, tzinfo=UTC), NOW, False),  # 09:05 local: today's digest went out
        (datetime(2026, 3, 2, 7, 55, tzinfo=UTC), NOW, True),  # 08:55 local: before today's 09:00
        (
            datetime(2026, 3, 1, 8, 0, tzinfo=UTC),
            datetime(2026, 3, 2, 7, 30, tzinfo=UTC),
            False,
        ),  # 08:30 local
    ],
)
@pytest.mark.django_db
def test_cycle_due_digest_at_the_provider_s_local_hour(provider, last, now, due):
    provider = mode(provider, "digest", dispatch_hour=9, time_zone="Europe/Amsterdam", last_dispatch_at=last)
    assert cycle_due(provider, now=now) is due


@pytest.mark.django_db
def test_dispatch_skips_urls_in_an_open_notice_and_national_only_abroad(make_case, provider, analyst):
    from notices.services.assessment import assess_url
    from notices.services.notices import create_notices

    mode(provider, "immediate")
    noticed = make_case("http://files.polder.example/a.html", provider=provider, when=NOW)
    create_notices(urls=[noticed], notice_type="hotline_notice", now=NOW)
    national = make_case("http://files.polder.example/n.html", provider=provider, when=NOW)
    assess_url(url=national, analyst=analyst, legality="illegal_national", classification="B1", now=NOW)

    assert dispatch_due(now=NOW) == []  # provider is in NL, the hotline in DE
    assert Notice.objects.count() == 1


@pytest.mark.django_db
def test_dispatch_without_a_working_contact_writes_nothing_but_an_event(make_case, provider):
    mode(provider, "immediate")
    provider.contacts.update(failing=True)
    make_case("http://files.polder.example/a.html", provider=provider, when=NOW)

    assert dispatch_due(now=NOW) == []

    assert Notice.objects.count() == 0
    event = Event.objects.get(kind="dispatch.failed")
    assert event.data["provider"] == provider.slug
    provider.refresh_from_db()
    assert provider.last_dispatch_at == NOW
