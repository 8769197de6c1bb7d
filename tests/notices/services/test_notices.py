"""create_notices: one notice per provider, references, and every reason a URL cannot go in a notice."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from notices.models import Event, Notice, NoticeItem, Url
from notices.services.assessment import assess_url
from notices.services.intake import ReportInput, submit_report
from notices.services.notices import NoticeError, create_notices
from notices.services.routing import refer_to_law_enforcement

REFERENCE = re.compile(r"^TN-\d{4}-\d{6,}$")


def assert_nothing_written():
    assert (Notice.objects.count(), NoticeItem.objects.count()) == (0, 0)
    assert Event.objects.filter(kind="notice.created").count() == 0


def items_by_notice(notices) -> dict[int, list[int]]:
    return {n.provider_id: sorted(n.items.values_list("url_id", flat=True)) for n in notices}


def test_create_notices_makes_one_draft_notice_per_provider(
    make_case, provider, other_provider, analyst, now
):
    a = make_case("http://files.polder.example/a.html", provider=provider, when=now)
    b = make_case("http://files.polder.example/b.html", provider=provider, when=now)
    c = make_case("http://cdn.balkan.example/c.jpg", provider=other_provider, when=now)

    notices = create_notices(urls=[a, c, b], notice_type="hotline_notice", now=now, created_by=analyst)

    assert items_by_notice(notices) == {provider.pk: sorted([a.pk, b.pk]), other_provider.pk: [c.pk]}
    for notice in notices:
        assert (notice.status, notice.notice_type, notice.language, notice.created_by, notice.created_at) == (
            "draft",
            "hotline_notice",
            "en",
            analyst,
            now,
        )
        assert (notice.deadline_at, notice.queued_at, notice.sent_at) == (None, None, None)
        assert list(notice.items.values_list("status", "is_open", "provider_id_copy").distinct()) == [
            ("open", True, notice.provider_id)
        ]
    events = Event.objects.filter(kind="notice.created")
    assert sorted((e.notice_id, e.at, e.actor, sorted(e.data["urls"])) for e in events) == sorted(
        (n.pk, now, "user:analyst", sorted(n.items.values_list("url_id", flat=True))) for n in notices
    )
    assert set(Url.objects.values_list("status", flat=True)) == {"assessed"}


def test_create_notices_uses_the_provider_language(make_case, make_provider, analyst, now):
    dutch = make_provider("grachten", prefix=None, language="nl")
    case = make_case(provider=dutch, when=now)

    (notice,) = create_notices(urls=[case], notice_type="trusted_flagger", now=now, created_by=analyst)

    assert (notice.language, notice.notice_type) == ("nl", "trusted_flagger")


def test_create_notices_references_are_unique_and_well_formed(make_case, provider, analyst, now):
    cases = [
        make_case(f"http://files.polder.example/{n}.html", provider=provider, when=now) for n in range(5)
    ]

    references = [
        create_notices(urls=[case], notice_type="hotline_notice", now=now, created_by=analyst)[0].reference
        for case in cases
    ]

    assert [bool(REFERENCE.fullmatch(ref)) for ref in references] == [True] * 5
    assert len(set(references)) == 5
    assert {ref[3:7] for ref in references} == {str(now.year)}


def test_create_notices_without_user_records_system_as_creator(make_case, provider, now):
    case = make_case(provider=provider, when=now)

    (notice,) = create_notices(urls=[case], notice_type="hotline_notice", now=now)

    assert notice.created_by is None
    assert Event.objects.get(kind="notice.created").actor == "system"


def test_create_notices_url_not_assessed_names_it_and_writes_nothing(make_case, provider, analyst, now):
    good = make_case(provider=provider, when=now)
    new = Url.objects.get(
        pk=submit_report(item=ReportInput(url="http://new.polder.example/x"), now=now).url_id
    )

    with pytest.raises(NoticeError) as raised:
        create_notices(urls=[good, new], notice_type="hotline_notice", now=now, created_by=analyst)

    assert raised.value.errors == {"urls": [f"URL {new.pk} is not assessed as illegal."]}
    assert_nothing_written()


def test_create_notices_url_assessed_not_illegal_is_refused(make_case, provider, analyst, now):
    case = make_case(provider=provider, when=now)
    assess_url(url=case, analyst=analyst, legality="not_illegal", now=now)

    with pytest.raises(NoticeError) as raised:
        create_notices(urls=[case], notice_type="hotline_notice", now=now, created_by=analyst)

    assert raised.value.errors == {"urls": [f"URL {case.pk} is not assessed as illegal."]}
    assert_nothing_written()


def test_create_notices_url_without_provider_is_refused(make_case, provider, analyst, now):
    case = make_case(provider=provider, when=now)
    Url.objects.filter(pk=case.pk).update(provider=None)

    with pytest.raises(NoticeError) as raised:
        create_notices(urls=[case], notice_type="hotline_notice", now=now, created_by=analyst)

    assert raised.value.errors == {
        "urls": [f"URL {case.pk} has no hosting provider yet (trace it or set the provider)."]
    }
    assert_nothing_written()


def test_create_notices_url_already_in_open_notice_to_provider_is_refused(make_case, provider, analyst, now):
    case = make_case(provider=provider, when=now)
    (first,) = create_notices(urls=[case], notice_type="hotline_notice", now=now, created_by=analyst)

    with pytest.raises(NoticeError) as raised:
        create_notices(urls=[case], notice_type="hotline_notice", now=now, created_by=analyst)

    assert raised.value.errors == {"urls": [f"URL {case.pk} is already in an open notice to this provider."]}
    assert list(Notice.objects.values_list("pk", flat=True)) == [first.pk]
    assert NoticeItem.objects.count() == 1


def test_create_notices_url_moved_to_another_provider_can_be_noticed_there(
    make_case, provider, other_provider, analyst, now
):
    case = make_case(provider=provider, when=now)
    (first,) = create_notices(urls=[case], notice_type="hotline_notice", now=now, created_by=analyst)
    Url.objects.filter(pk=case.pk).update(provider=other_provider)

    (second,) = create_notices(urls=[case], notice_type="hotline_notice", now=now, created_by=analyst)

    assert (first.provider_id, second.provider_id) == (provider.pk, other_provider.pk)
    assert sorted(NoticeItem.objects.values_list("url_id", "provider_id_copy", "is_open")) == sorted(
        [(case.pk, provider.pk, True), (case.pk, other_provider.pk, True)]
    )


def test_create_notices_nationally_illegal_hosted_abroad_is_refused(make_case, provider, analyst, now):
    case = make_case(provider=provider, when=now)  # provider is in NL, the hotline in DE
    assess_url(url=case, analyst=analyst, legality="illegal_national", classification="B2", now=now)

    with pytest.raises(NoticeError) as raised:
        create_notices(urls=[case], notice_type="hotline_notice", now=now, created_by=analyst)

    assert raised.value.errors == {
        "urls": [
            f"URL {case.pk} is illegal only nationally and is hosted abroad: no CSAM notice may go abroad."
        ]
    }
    assert_nothing_written()


def test_create_notices_nationally_illegal_hosted_at_home_is_allowed(make_case, make_provider, analyst, now):
    home = make_provider("heimat", country="DE", prefix=None)
    case = make_case(provider=home, when=now)
    assess_url(url=case, analyst=analyst, legality="illegal_national", classification="B2", now=now)
    case = refer_to_law_enforcement(url=case, now=now)  # own country: law enforcement first (routing)

    (notice,) = create_notices(urls=[case], notice_type="hotline_notice", now=now, created_by=analyst)

    assert list(notice.items.values_list("url_id", flat=True)) == [case.pk]


def test_create_notices_removed_url_is_refused(make_case, provider, analyst, now):
    case = make_case(provider=provider, when=now)
    Url.objects.filter(pk=case.pk).update(status="removed")

    with pytest.raises(NoticeError) as raised:
        create_notices(urls=[case], notice_type="hotline_notice", now=now, created_by=analyst)

    assert raised.value.errors == {"urls": [f"URL {case.pk} has status removed."]}
    assert_nothing_written()


def test_create_notices_names_every_bad_url(make_case, provider, analyst, now):
    good = make_case("http://files.polder.example/good.html", provider=provider, when=now)
    orphan = make_case("http://files.polder.example/orphan.html", provider=provider, when=now)
    Url.objects.filter(pk=orphan.pk).update(provider=None)
    new = Url.objects.get(
        pk=submit_report(item=ReportInput(url="http://new.polder.example/x"), now=now).url_id
    )

    with pytest.raises(NoticeError) as raised:
        create_notices(urls=[good, orphan, new], notice_type="hotline_notice", now=now, created_by=analyst)

    assert sorted(raised.value.errors["urls"]) == sorted(
        [
            f"URL {orphan.pk} has no hosting provider yet (trace it or set the provider).",
            f"URL {new.pk} is not assessed as illegal.",
        ]
    )
    assert_nothing_written()


def test_create_notices_removal_order_without_deadline_is_refused(make_case, provider, analyst, now):
    case = make_case(provider=provider, when=now)

    with pytest.raises(NoticeError) as raised:
        create_notices(urls=[case], notice_type="removal_order", now=now, created_by=analyst)

    assert raised.value.errors == {"deadline_at": ["A removal order needs its own deadline."]}
    assert_nothing_written()


def test_create_notices_removal_order_keeps_its_deadline(make_case, provider, analyst, now):
    case = make_case(provider=provider, when=now)

    (notice,) = create_notices(
        urls=[case],
        notice_type="removal_order",
        now=now,
        created_by=analyst,
        deadline_at=now + timedelta(hours=1),
    )

    assert (notice.notice_type, notice.deadline_at) == ("removal_order", now + timedelta(hours=1))
