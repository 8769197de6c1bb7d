"""Working the queue: the queues and their counts, the URL list's filters and search (a defanged paste too),
bulk assessment, reports entered by hand, and a draft notice's preview with its Send button."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from notices.canonical import defang, refang
from notices.models import Assessment, AuditEvent, Notice, NoticeItem, OutgoingMessage, Report, Url
from notices.selectors.queues import queue_condition, queue_counts
from notices.services.assessment import assess_url
from notices.services.intake import ReportInput, submit_report
from notices.services.lifecycle import close_case
from notices.services.notices import create_notices, queue_notice
from tests.conftest import staff_with_role

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:notices_url_changelist"


def _report(url: str, when) -> Url:
    return Url.objects.get(pk=submit_report(item=ReportInput(url=url), now=when).url_id)


def _notify(case: Url, when) -> Notice:
    (notice,) = create_notices(urls=[case], notice_type="hotline_notice", now=when)
    return queue_notice(notice=notice, now=when)


@pytest.fixture
def overseas(make_provider):
    """A provider outside the EU (its own registry prefix)."""
    return make_provider(
        "faraway", country="US", prefix="203.0.113.0/25", asn=64999, name="Faraway Cloud", channel="api_only"
    )


@pytest.fixture
def cases(make_case, api_only, overseas, analyst, now):
    """One case in each queue (and one more notified one abroad): {queue: case}."""
    earlier = now - timedelta(days=10)
    new = _report("http://new.intake.example/fresh.html", now)
    untraced = _report("http://untraced.intake.example/a", now)
    assess_url(url=untraced, analyst=analyst, legality="illegal_international", classification="A1", now=now)
    ready = make_case("http://files.polder.example/ready.html", provider=api_only, when=now)
    notified = make_case("http://files.polder.example/live.html", provider=api_only, when=earlier)
    on_time = _notify(notified, earlier)
    Notice.objects.filter(pk=on_time.pk).update(deadline_at=now + timedelta(days=1))
    overdue = make_case("http://files.polder.example/late.html", provider=api_only, when=earlier)
    late = _notify(overdue, earlier)
    Notice.objects.filter(pk=late.pk).update(deadline_at=now - timedelta(hours=1))
    disputed = make_case("http://files.polder.example/disputed.html", provider=api_only, when=now)
    NoticeItem.objects.filter(notice=_notify(disputed, now)).update(status="disputed")
    reappeared = make_case("http://files.polder.example/back.html", provider=api_only, when=now)
    _notify(reappeared, now)
    Url.objects.filter(pk=reappeared.pk).update(reappearance_count=1)
    closed = _report("http://closed.intake.example/x", now)
    close_case(url=closed, reason="duplicate", note="", now=now, user=analyst)
    abroad = make_case("http://cdn.faraway.example/z.html", provider=overseas, when=now)
    abroad.current_trace.__class__.objects.filter(pk=abroad.current_trace_id).update(
        ip="203.0.113.7", asn=64999
    )
    _notify(abroad, now)
    found = {
        "new": new,
        "untraced": untraced,
        "ready": ready,
        "notified": notified,
        "overdue": overdue,
        "disputed": disputed,
        "reappeared": reappeared,
        "closed": closed,
        "abroad": abroad,
    }
    for case in found.values():
        case.refresh_from_db()
    return found


def _listed(client, query: str = "") -> set[int]:
    response = client.get(reverse(CHANGELIST) + query)
    assert response.status_code == 200, response
    return {row.pk for row in response.context["cl"].result_list}


# --- Queues ---------------------------------------------------------------------------------------------


def test_queue_counts_count_each_queue(cases, now):
    counts = {queue["key"]: queue["count"] for queue in queue_counts(now=now)}
    assert not any(queue["capped"] for queue in queue_counts(now=now))
    # Notified and live: every notified case (overdue, disputed, reappeared and abroad are notified too).
    assert counts == {
        "new": 1,
        "untraced": 1,
        "ready": 1,
        "notified": 5,
        "overdue": 1,
        "disputed": 1,
        "reappeared": 1,
        "closed": 1,
    }


def test_a_large_queue_counts_up_to_the_cap(monkeypatch, now):
    monkeypatch.setattr("notices.selectors.queues.COUNT_CAP", 2)
    for n in range(3):
        _report(f"http://many.intake.example/{n}", now)
    new = next(queue for queue in queue_counts(now=now) if queue["key"] == "new")
    assert (new["count"], new["capped"]) == (2, True)
    closed = next(queue for queue in queue_counts(now=now) if queue["key"] == "closed")
    assert (closed["count"], closed["capped"]) == (0, False)


def test_a_case_in_a_draft_notice_is_no_longer_ready_to_notify(make_case, api_only, now):
    case = make_case("http://files.polder.example/drafted.html", provider=api_only, when=now)
    assert list(Url.objects.filter(queue_condition("ready", now=now))) == [case]
    create_notices(urls=[case], notice_type="hotline_notice", now=now)
    assert list(Url.objects.filter(queue_condition("ready", now=now))) == []


@pytest.mark.parametrize(
    ("queue", "expected"),
    [
        ("new", {"new"}),
        ("untraced", {"untraced"}),
        ("ready", {"ready"}),
        ("notified", {"notified", "overdue", "disputed", "reappeared", "abroad"}),
        ("overdue", {"overdue"}),
        ("disputed", {"disputed"}),
        ("reappeared", {"reappeared"}),
        ("closed", {"closed"}),
    ],
)
def test_each_queue_link_lists_its_cases(client, analyst, cases, queue, expected):
    client.force_login(analyst)
    assert _listed(client, f"?queue={queue}") == {cases[key].pk for key in expected}


def test_queues_with_counts_on_the_list_and_the_index(client, analyst, cases):
    client.force_login(analyst)
    for page in (reverse(CHANGELIST), reverse("admin:index")):
        html = client.get(page).content.decode()
        assert 'href="/admin/notices/url/?queue=overdue"' in html
        assert (
            '<span class="queue-label">Overdue (past the notice deadline)</span> <span class="queue-count">1'
            in html
        )
        assert '<span class="queue-label">Notified and live</span> <span class="queue-count">5' in html


def test_the_auditor_sees_the_queues_but_no_report_entry(client, cases):
    client.force_login(staff_with_role("auditor", "Auditor"))
    html = client.get(reverse("admin:index")).content.decode()
    assert "Work queues" in html
    assert reverse("admin:notices_url_enter") not in html


# --- Filters --------------------------------------------------------------------------------------------


def test_filters(client, analyst, cases, api_only, overseas, now):
    client.force_login(analyst)
    polder = {k for k in cases if k not in {"new", "untraced", "closed", "abroad"}}

    def ids(keys) -> set[int]:
        return {cases[k].pk for k in keys}

    assert _listed(client, f"?provider__id__exact={overseas.pk}") == ids({"abroad"})
    assert _listed(client, "?country=us") == ids({"abroad"})
    assert _listed(client, "?country=NL") == ids(polder)
    assert _listed(client, "?eu=yes") == ids(polder)
    assert _listed(client, "?eu=no") == ids({"abroad"})
    assert _listed(client, "?asn=AS64999") == ids({"abroad"})
    assert _listed(client, "?asn=64500") == ids(polder)
    assert _listed(client, "?notice_type=hotline_notice") == ids(
        {"notified", "overdue", "disputed", "reappeared", "abroad"}
    )
    assert _listed(client, "?notice_type=removal_order") == set()
    assert _listed(client, "?status=closed") == ids({"closed"})
    today, ten_days_ago = timezone.localdate(now), timezone.localdate(now - timedelta(days=10))
    assert _listed(client, f"?reported_until={today - timedelta(days=1)}") == ids({"notified", "overdue"})
    assert _listed(client, f"?reported_from={today}&queue=notified") == ids(
        {"disputed", "reappeared", "abroad"}
    )
    assert _listed(client, f"?notified_from={ten_days_ago}&notified_until={ten_days_ago}") == ids(
        {"notified", "overdue"}
    )
    Url.objects.filter(pk=cases["notified"].pk).update(removed_high=now - timedelta(days=2))
    assert _listed(client, f"?removed_from={today - timedelta(days=3)}") == ids({"notified"})
    assert _listed(client, f"?removed_until={today - timedelta(days=3)}") == set()


@pytest.mark.parametrize(
    "query",
    ["?country=Netherlands", "?asn=ASX", "?asn=99999999999", "?reported_from=2026-02-30", "?removed_until=x"],
)
def test_a_filter_value_that_cannot_filter_is_no_error(client, analyst, cases, query):
    """The list, without that filter, and a message naming it (no bare "?e=1" redirect)."""
    client.force_login(analyst)
    response = client.get(reverse(CHANGELIST) + query)
    assert response.status_code == 200
    name = query[1:].split("=", 1)[0]
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert any(f"({name}) cannot use that value" in message for message in shown), shown
    assert response.context["cl"].result_count == Url.objects.count()


# --- Search ---------------------------------------------------------------------------------------------


def test_search_by_each_kind(client, analyst, cases, overseas):
    client.force_login(analyst)
    late = NoticeItem.objects.get(url=cases["overdue"]).notice

    def search(term: str) -> set[int]:
        return _listed(client, "?" + urlencode({"q": term}))

    assert search(late.reference) == {cases["overdue"].pk}
    assert search(late.reference.lower()) == {cases["overdue"].pk}
    assert search("untraced.intake.example") == {cases["untraced"].pk}
    assert search("203.0.113.7") == {cases["abroad"].pk}
    assert search("faraway cloud") == {cases["abroad"].pk}
    assert search(str(cases["closed"].pk)) == {cases["closed"].pk}
    # A URL pasted defanged (as reports and mails show it) finds its case, and only that one on the host.
    pasted = defang("http://files.polder.example/late.html")
    assert pasted == "hxxp://files[.]polder[.]example/late.html"
    assert search(pasted) == {cases["overdue"].pk}
    assert search("hXXp[://]files[.]polder[.]example/late.html") == {cases["overdue"].pk}
    assert search("HTTP://FILES.POLDER.EXAMPLE/late.html#frag") == {cases["overdue"].pk}
    assert search("hxxp://nowhere[.]example/") == set()
    assert search("TN-1999-000000") == set()


def test_refang_undoes_defang():
    for url in ["https://a.b.example/p?q=1", "http://[2001:db8::1]/x", "http://198.51.100.1:8080/"]:
        assert refang(defang(url)) == url
    assert refang("hxxps[:]//evil(.)example{.}test[/]p") == "https://evil.example.test/p"


# --- Bulk assess ----------------------------------------------------------------------------------------


def _assess_post(client, ids, **form):
    data = {"action": "assess_selected", ACTION_CHECKBOX_NAME: [str(pk) for pk in ids], "index": "0", **form}
    return client.post(reverse(CHANGELIST), data)


def test_bulk_assess_as_analyst(client, analyst, now):
    cases = [_report(f"http://bulk.intake.example/{n}", now) for n in range(3)]
    client.force_login(analyst)
    ids = [case.pk for case in cases[:2]]
    page = _assess_post(client, ids)
    assert page.status_code == 200
    assert "Assess the selected cases" in page.content.decode()
    assert 'name="legality"' in page.content.decode()
    refused = _assess_post(
        client, ids, apply="yes", legality="illegal_international", detection_method="manual_review"
    )
    assert "Required when the content is illegal." in refused.content.decode()
    assert not Assessment.objects.filter(url__in=ids).exists()
    done = _assess_post(
        client,
        ids,
        apply="yes",
        legality="illegal_international",
        classification="A1",
        detection_method="manual_review",
        notes="bulk",
    )
    assert done.status_code == 302
    assert [str(m) for m in get_messages(done.wsgi_request)][-1].startswith("Assessed 2 case(s).")
    assert set(Url.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"assessed"}
    assert Assessment.objects.filter(url__in=ids, analyst=analyst, notes="bulk").count() == 2
    assert Url.objects.get(pk=cases[2].pk).status == "new"
    row = AuditEvent.objects.filter(action="admin.action.assess_selected").latest("pk")
    assert row.data["urls"] == ids


def test_bulk_assess_refused_for_the_auditor(client, now):
    case = _report("http://bulk.intake.example/auditor", now)
    client.force_login(staff_with_role("auditor", "Auditor"))
    response = _assess_post(
        client, [case.pk], apply="yes", legality="not_illegal", detection_method="manual_review"
    )
    assert response.status_code == 200
    assert "assess_selected" not in response.context["cl"].model_admin.get_actions(response.wsgi_request)
    case.refresh_from_db()
    assert case.status == "new" and not Assessment.objects.filter(url=case).exists()


# --- Reports entered by hand ----------------------------------------------------------------------------


def test_enter_reports(client, analyst, now):
    known = _report("http://known.intake.example/a", now)
    client.force_login(analyst)
    text = "hxxps://typed[.]intake[.]example/one.html  seen on a forum\n\nhttp://known.intake.example/a\n"
    response = client.post(reverse("admin:notices_url_enter"), {"urls": text, "notes": "from the phone line"})
    assert response.status_code == 302
    assert response["Location"] == reverse(CHANGELIST) + "?queue=new"
    typed = Url.objects.get(canonical="https://typed.intake.example/one.html")
    report = Report.objects.get(url=typed)
    assert report.notes == "from the phone line\nseen on a forum" and report.submitted_by == analyst
    assert Report.objects.filter(url=known).count() == 2
    assert Report.objects.filter(url=known).latest("pk").notes == "from the phone line"
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert "Recorded 2 report(s): 1 new, 1 for a case already known (or named twice)." in messages
    row = AuditEvent.objects.get(action="admin.reports_entered")
    assert row.data["urls"] == sorted([known.pk, typed.pk])


def test_enter_reports_names_each_bad_line_and_records_nothing(client, analyst):
    client.force_login(analyst)
    text = (
        "http://good.intake.example/1\nftp://files.intake.example/x\n\n"
        "http://good.intake.example/2\nnot-a-host\n"
    )
    response = client.post(reverse("admin:notices_url_enter"), {"urls": text})
    assert response.status_code == 200
    errors = response.context["form"].errors["urls"]
    assert [e.split(":")[0] for e in errors] == ["Line 2", "Line 5"]
    assert "only http and https URLs can be tracked" in errors[0]
    html = response.content.decode()
    assert "Line 2: only http and https URLs can be tracked" in html
    assert "http://good.intake.example/2" in html  # the pasted text stays in the form
    assert not Url.objects.filter(host="good.intake.example").exists()
    empty = client.post(reverse("admin:notices_url_enter"), {"urls": "\n  \n"})
    assert empty.status_code == 200 and empty.context["form"].errors["urls"]


def test_enter_reports_refused_for_the_auditor(client):
    client.force_login(staff_with_role("auditor", "Auditor"))
    response = client.post(reverse("admin:notices_url_enter"), {"urls": "http://x.intake.example/"})
    assert response.status_code == 403
    assert not Url.objects.filter(host="x.intake.example").exists()


# --- A draft's preview and its Send button -------------------------------------------------------------


@pytest.fixture
def draft(make_case, provider, now):
    provider.language = "de"
    provider.save(update_fields=["language"])
    case = make_case("http://files.polder.example/draft.html", provider=provider, when=now)
    (notice,) = create_notices(urls=[case], notice_type="hotline_notice", now=now)
    return notice


def test_a_draft_shows_what_will_go_out(client, analyst, draft):
    client.force_login(analyst)
    response = client.get(reverse("admin:notices_notice_change", args=[draft.pk]))
    assert response.status_code == 200
    preview = response.context["preview"]
    assert preview["recipients"] == ["abuse@polder.example"]
    assert preview["language"] == "Deutsch" or preview["language"].lower().startswith("de")
    assert preview["subject"].startswith(f"[{draft.reference}]")
    assert "Darstellungen sexuellen Kindesmissbrauchs" in preview["subject"]
    assert "bittet Sie, die Inhalte" in preview["text"]
    assert "hxxp://files[.]polder[.]example/draft.html" in preview["text"]
    assert preview["attachments"] == [f"xarf-{draft.reference}-1.json", f"urls-{draft.reference}.csv"]
    html = response.content.decode()
    assert "What will go out" in html and "abuse@polder.example" in html
    assert "http://files.polder.example" not in html  # the URL appears defanged only
    assert f'action="{reverse("admin:notices_notice_send", args=[draft.pk])}"' in html
    draft.refresh_from_db()
    assert draft.status == "draft" and draft.deadline_at is None  # the preview saved nothing


def test_the_preview_says_when_no_contact_would_receive_it(client, analyst, draft):
    draft.provider.contacts.update(failing=True)
    client.force_login(analyst)
    response = client.get(reverse("admin:notices_notice_change", args=[draft.pk]))
    assert "has no working abuse contact" in response.context["preview"]["problem"]


def test_the_auditor_sees_the_preview_without_a_send_button(client, draft):
    client.force_login(staff_with_role("auditor", "Auditor"))
    response = client.get(reverse("admin:notices_notice_change", args=[draft.pk]))
    assert response.context["preview"]["recipients"] == ["abuse@polder.example"]
    assert reverse("admin:notices_notice_send", args=[draft.pk]) not in response.content.decode()
    assert client.post(reverse("admin:notices_notice_send", args=[draft.pk])).status_code == 403
    draft.refresh_from_db()
    assert draft.status == "draft"


def test_send_queues_the_draft(client, analyst, draft):
    client.force_login(analyst)
    send = reverse("admin:notices_notice_send", args=[draft.pk])
    assert client.get(send).status_code == 405
    response = client.post(send)
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:notices_notice_change", args=[draft.pk])
    draft.refresh_from_db()
    assert draft.status == "queued" and draft.deadline_at is not None
    mail = OutgoingMessage.objects.get(notice=draft)
    assert mail.recipients == ["abuse@polder.example"] and "bittet Sie, die Inhalte" in mail.text
    assert AuditEvent.objects.filter(action="admin.notice_send", object_id=draft.reference).exists()
    page = client.get(response["Location"])
    assert "preview" not in page.context  # sent: nothing to preview any more
    again = client.post(send)
    assert f"{draft.reference}: Notice {draft.reference} is already queued." in [
        str(m) for m in get_messages(again.wsgi_request)
    ]


# --- Hostile input --------------------------------------------------------------------------------------

GARBAGE = [
    "",
    " ",
    "x" * 20_000,
    "a\x00b",
    "-1",
    "99999999999999999999999",
    "abc",
    "2026-13-45",
    "(",
    "[",
    "fe80::1%eth0",
    "::1/129",
    "TN-2026-" + "9" * 40,
    "9" * 19,
    "hxxp://[.]",
    "http://[::1",
    "%00",
]
PARAMETERS = [
    "q",
    "queue",
    "country",
    "eu",
    "asn",
    "notice_type",
    "reported_from",
    "reported_until",
    "notified_from",
    "notified_until",
    "removed_from",
    "removed_until",
]


def test_garbage_in_every_filter_and_the_search_is_no_server_error(client, analyst, cases):
    client.force_login(analyst)
    for parameter in PARAMETERS:
        for value in GARBAGE:
            response = client.get(reverse(CHANGELIST), {parameter: value})
            assert response.status_code in {200, 302}, (parameter, value[:40], response.status_code)


def test_garbage_in_report_entry_is_a_form_error(client, analyst):
    client.force_login(analyst)
    for value in GARBAGE:
        response = client.post(reverse("admin:notices_url_enter"), {"urls": value, "notes": value})
        assert response.status_code == 200, value[:40]
        assert response.context["form"].errors, value[:40]
    assert not Report.objects.exists()


def test_send_of_a_notice_that_does_not_exist_is_not_found(client, analyst):
    client.force_login(analyst)
    for pk in ["0", "99999999999999999999999"]:
        assert client.post(f"/admin/notices/notice/{pk}/send/").status_code == 404
