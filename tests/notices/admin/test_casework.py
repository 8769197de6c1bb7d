"""Case assignment, the soft lock and the case's revision (notices/services/casework.py, the case page), with
two analysts in two sessions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from notices.models import Event, Url
from tests.conftest import staff_with_role

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:notices_url_changelist")


@pytest.fixture
def anna(analyst):
    return analyst


@pytest.fixture
def ben(db):
    return staff_with_role("ben", "Analyst")


def _session(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def case(make_case, api_only, now):
    return make_case("http://files.polder.example/work.html", provider=api_only, when=now)


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _change(case) -> str:
    return reverse("admin:notices_url_change", args=[case.pk])


def _management(client, case) -> dict:
    """The inlines' management form fields, as the case page sends them."""
    page = client.get(_change(case))
    data = {}
    for inline in page.context["inline_admin_formsets"]:
        form = inline.formset.management_form
        data.update({form.add_prefix(name): value for name, value in form.initial.items()})
    return data


def _save(client, case, *, assigned_to, revision):
    data = {"assigned_to": "" if assigned_to is None else str(assigned_to.pk), "seen_revision": str(revision)}
    return client.post(_change(case), {**_MANAGEMENT, **data})


_MANAGEMENT: dict = {}


@pytest.fixture(autouse=True)
def _management_fields(case, analyst):
    _MANAGEMENT.clear()
    _MANAGEMENT.update(_management(_session(analyst), case))
    Url.objects.filter(pk=case.pk).update(worked_by=None, worked_at=None)


def test_two_analysts_the_second_is_warned_and_a_stale_save_is_refused(case, anna, ben):
    a, b = _session(anna), _session(ben)
    first = a.get(_change(case))
    assert first.status_code == 200
    assert not [m for m in _messages(first) if "working on this case" in m]  # nobody else had it
    seen_by_a = first.context["adminform"].form["seen_revision"].value()

    second = b.get(_change(case))  # Ben opens it while Anna has it
    warnings = [m for m in _messages(second) if "working on this case" in m]
    assert warnings == [
        "analyst is working on this case: they had it open or changed it 1 minute(s) ago. "
        "Talk to them before you change it."
    ]
    seen_by_b = second.context["adminform"].form["seen_revision"].value()
    assert seen_by_a == seen_by_b == 0

    assert _save(b, case, assigned_to=ben, revision=seen_by_b).status_code == 302  # Ben takes it
    case.refresh_from_db()
    assert (case.assigned_to, case.revision, case.changed_by) == (ben, 1, ben)

    refused = _save(a, case, assigned_to=anna, revision=seen_by_a)  # Anna's page is older than Ben's change
    assert refused.status_code == 200
    errors = refused.context["adminform"].form.non_field_errors()
    assert len(errors) == 1 and errors[0].startswith("ben changed this case at ")
    assert "your change was not saved" in errors[0]
    case.refresh_from_db()
    assert (case.assigned_to, case.revision) == (ben, 1)  # nothing overwritten

    again = a.get(_change(case))  # reloaded: Anna sees Ben's change, and that he has the case
    assert "This case is assigned to ben." in _messages(again)
    assert any("ben is working on this case" in m for m in _messages(again))
    assert _save(a, case, assigned_to=anna, revision=1).status_code == 302
    case.refresh_from_db()
    assert (case.assigned_to, case.revision) == (anna, 2)
    assigned = Event.objects.filter(url=case, kind="url.assigned").order_by("at", "id")
    kinds = list(assigned.values_list("data", flat=True))
    assert kinds == [{"to": "ben"}, {"to": "analyst"}]


def test_the_warning_ends_after_the_lock_window(case, anna, ben, settings, now):
    settings.CASE_LOCK_SECONDS = 600
    Url.objects.filter(pk=case.pk).update(worked_by=anna, worked_at=now - timedelta(seconds=601))
    response = _session(ben).get(_change(case))
    assert not [m for m in _messages(response) if "working on this case" in m]
    Url.objects.filter(pk=case.pk).update(worked_by=anna, worked_at=now - timedelta(seconds=300))
    response = _session(ben).get(_change(case))
    assert [m for m in _messages(response) if "analyst is working on this case" in m]


def test_own_reading_gives_no_warning_and_stamps_the_reader(case, anna):
    client = _session(anna)
    client.get(_change(case))
    response = client.get(_change(case))
    assert not [m for m in _messages(response) if "working on this case" in m]
    case.refresh_from_db()
    assert case.worked_by == anna and case.revision == 0  # opening changes nothing


def test_stale_assessment_is_refused(case, anna, ben):
    a, b = _session(anna), _session(ben)
    assess = reverse("admin:notices_url_assess", args=[case.pk])
    page = a.get(assess)
    assert 'name="revision" value="0"' in page.content.decode()
    _save(b, case, assigned_to=ben, revision=0)
    data = {"legality": "not_illegal", "detection_method": "manual_review", "revision": "0"}
    response = a.post(assess, data)
    assert response.status_code == 302
    assert any("was changed by ben" in m for m in _messages(response))
    case.refresh_from_db()
    assert case.current_assessment.legality == "illegal_international"  # unchanged
    ok = a.post(assess, {**data, "revision": "1"})
    assert "Assessment recorded." in _messages(ok)
    case.refresh_from_db()
    assert case.current_assessment.legality == "not_illegal" and case.revision == 2


def test_self_assign_bulk_assign_and_my_cases(make_case, api_only, anna, ben, now):
    cases = [
        make_case(f"http://files.polder.example/{n}.html", provider=api_only, when=now) for n in range(3)
    ]
    a = _session(anna)
    data = {"action": "assign_to_me", ACTION_CHECKBOX_NAME: [str(c.pk) for c in cases[:2]], "index": "0"}
    response = a.post(CHANGELIST, data)
    assert "Assigned 2 case(s) to you (0 were already)." in _messages(response)
    mine = a.get(CHANGELIST + "?assigned=me")
    assert {row.pk for row in mine.context["cl"].result_list} == {cases[0].pk, cases[1].pk}
    assert "My cases (open)" in a.get(reverse("admin:index")).content.decode()

    step = {
        "action": "assign_selected",
        ACTION_CHECKBOX_NAME: [str(cases[1].pk), str(cases[2].pk)],
        "index": "0",
    }
    page = a.post(CHANGELIST, step)
    assert page.status_code == 200 and "Assign cases" in page.content.decode()
    options = page.context["form"].fields["analyst"].queryset
    assert set(options) == {anna, ben}  # who may work cases (not an auditor)
    done = a.post(CHANGELIST, {**step, "apply": "yes", "analyst": str(ben.pk)})
    assert "Assigned 2 case(s)." in _messages(done)
    ben_cases = _session(ben).get(CHANGELIST + "?assigned=me")
    assert {row.pk for row in ben_cases.context["cl"].result_list} == {cases[1].pk, cases[2].pk}
    nobody = a.get(CHANGELIST + "?assigned=nobody")
    assert cases[0].pk not in {row.pk for row in nobody.context["cl"].result_list}
    unassign = a.post(CHANGELIST, {**step, "apply": "yes", "analyst": ""})
    assert "Assigned 2 case(s)." in _messages(unassign)
    assert not Url.objects.filter(pk__in=[cases[1].pk, cases[2].pk], assigned_to__isnull=False).exists()


def test_an_auditor_cannot_assign(case, db):
    auditor = staff_with_role("auditor", "Auditor")
    client = _session(auditor)
    assert (
        client.post(_change(case), {"assigned_to": str(auditor.pk), "seen_revision": "0"}).status_code == 403
    )
    case.refresh_from_db()
    assert case.assigned_to is None


def _held_by(case, user, now, *, ago: int = 60) -> None:
    Url.objects.filter(pk=case.pk).update(worked_by=user, worked_at=now - timedelta(seconds=ago))


def _skipped(response) -> list[str]:
    return [m for m in _messages(response) if m.startswith("Skipped ")]


def test_bulk_assess_skips_the_cases_a_colleague_has_open_and_names_them(
    make_case, api_only, anna, ben, now, settings
):
    settings.CASE_LOCK_SECONDS = 900
    cases = [
        make_case(f"http://files.polder.example/bulk/{n}.html", provider=api_only, when=now) for n in range(4)
    ]
    _held_by(cases[0], ben, now)  # Ben has two of them open
    _held_by(cases[2], ben, now, ago=120)
    _held_by(cases[3], ben, now, ago=901)  # he had this one open before the lock's window: it is free
    _held_by(cases[1], anna, now)  # Anna's own stamp holds nothing against her
    step = {"action": "assess_selected", ACTION_CHECKBOX_NAME: [str(c.pk) for c in cases], "index": "0"}
    data = {**step, "apply": "yes", "legality": "not_illegal", "detection_method": "manual_review"}
    response = _session(anna).post(CHANGELIST, data)
    assert _skipped(response) == [
        f"Skipped 2 case(s) another analyst is working on (had open or changed in the last 15 minute(s)): "
        f"{cases[0].pk}, {cases[2].pk} (ben). Talk to them first; the others selected went ahead."
    ]
    assert "Assessed 2 case(s). Each one never traced gets a hosting trace queued." in _messages(response)
    legality = dict(
        Url.objects.filter(pk__in=[c.pk for c in cases]).values_list("pk", "current_assessment__legality")
    )
    assert legality == {
        cases[0].pk: "illegal_international",  # untouched: Ben's
        cases[1].pk: "not_illegal",
        cases[2].pk: "illegal_international",
        cases[3].pk: "not_illegal",
    }
    assert Url.objects.get(pk=cases[0].pk).worked_by == ben  # his lock stands


def test_every_bulk_action_that_changes_cases_leaves_a_held_case_alone(
    make_case, api_only, anna, ben, now, db
):
    held, free = (
        make_case(f"http://files.polder.example/held/{n}.html", provider=api_only, when=now) for n in range(2)
    )
    carl = staff_with_role("carl", "Analyst")
    selection = [str(held.pk), str(free.pk)]
    for action in ["assign_to_me", "verify_selected", "refer_to_police", "reopen_cases"]:
        _held_by(held, ben, now)
        data = {"action": action, ACTION_CHECKBOX_NAME: selection, "index": "0"}
        response = _session(anna).post(CHANGELIST, data)  # a session of its own: only this action's messages
        assert _skipped(response) and f"{held.pk} (ben)" in _skipped(response)[0], action
        Url.objects.filter(pk=free.pk).update(worked_by=None, worked_at=None)
    assert Url.objects.get(pk=held.pk).assigned_to is None
    assert Url.objects.get(pk=free.pk).assigned_to == anna
    for action, form in [
        ("close_cases", {"reason": "duplicate", "note": ""}),
        ("assign_selected", {"analyst": str(carl.pk)}),
    ]:
        _held_by(held, ben, now)
        step = {"action": action, ACTION_CHECKBOX_NAME: selection, "index": "0", "apply": "yes", **form}
        response = _session(anna).post(CHANGELIST, step)
        assert f"{held.pk} (ben)" in _skipped(response)[0], (action, _messages(response))
        Url.objects.filter(pk=free.pk).update(worked_by=None, worked_at=None)
    held.refresh_from_db()
    assert held.status != "closed" and held.assigned_to is None
    assert Url.objects.get(pk=free.pk).status == "closed"
    _held_by(held, ben, now)
    only_held = _session(anna).post(
        CHANGELIST, {"action": "create_hotline_notices", ACTION_CHECKBOX_NAME: [str(held.pk)], "index": "0"}
    )
    assert _skipped(only_held) == [
        f"Skipped 1 case(s) another analyst is working on (had open or changed in the last 15 minute(s)): "
        f"{held.pk} (ben). Talk to them first; no other case was selected."
    ]
    assert not held.notice_items.exists()
