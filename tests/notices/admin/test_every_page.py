"""Every admin page, with valid and with hostile input, never answers a server error.

The pages are generated from `admin.site._registry`, so a model registered later is walked without touching
this file (and `demo_world` must give it an object, which the first test checks). For each model and each of
a superuser and the demo staff of each role (analyst, supervisor, auditor): the changelist (also with
garbage search, ordering, paging and filters), the add page, the change page of an existing object, its
delete-confirmation and history pages; POSTs of the add and change forms with garbage in every field
(empty, huge, NUL, wrong types, invalid choices, invalid CIDRs and regular expressions, broken JSON), and one
field at a time on top of the object's own values; every admin action with an empty, a garbage and a real
selection. A 200 (with the errors on the page), a 302 or a 403 is fine; a 500 or an exception is not.
"""

from __future__ import annotations

import pytest
from django import forms
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.widgets import RelatedFieldWidgetWrapper
from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import NoReverseMatch, reverse

MODELS = sorted(admin.site._registry, key=lambda m: m._meta.label)
MODEL_IDS = [m._meta.label for m in MODELS]
OK = {200, 302, 400, 403}  # 400: Django refusing a forged admin parameter (e.g. _to_field)

HUGE = "x" * 20_000
# Every field of a form gets each of these (in turn); chosen to break parsers, choices and the database.
GARBAGE = [
    "",
    " ",
    HUGE,
    "a\x00b",
    "-1",
    "99999999999999999999999",
    "1e400",
    "abc",
    "10.0.0.0/33",
    "10.0.0.1/8",
    "::1/129",
    "(",
    '{"a":',
    '[{"final_url": "("}]',
    '[{"status": "x", "final_url": ""}]',
    '{"\\u0000": 1}',
    "EU",
    "Mars/Olympus",
    "2026-13-45",
    "{% if %}",
]
# One field at a time, the rest of the form holding the object's own values.
PER_FIELD = ["", "\x00", "x" * 300, "hello", '"\\u0000"', "99999999999999999999999"]


ROLES = ["superuser", "supervisor", "analyst", "auditor"]


def _user(role: str):
    users = get_user_model().objects
    if role == "superuser":
        return users.create_superuser("root", "root@hotline.example", "root-pass-123")
    return users.get(username=role)


def _call(client, failures, method, url, data=None, *, label=""):
    """One request in its own savepoint; a 500 or an exception is recorded, not raised."""
    try:
        with transaction.atomic():
            response = client.get(url, data) if method == "GET" else client.post(url, data or {})
    except Exception as exc:
        failures.append(f"{method} {url} {label}: {exc.__class__.__name__}: {str(exc)[:300]}")
        return None
    if response.status_code not in OK:
        failures.append(f"{method} {url} {label}: HTTP {response.status_code}")
    return response


def _unwrap(widget):
    while isinstance(widget, RelatedFieldWidgetWrapper):
        widget = widget.widget
    return widget


def _keys(bound) -> list[str]:
    widget = _unwrap(bound.field.widget)
    if isinstance(widget, forms.MultiWidget):
        return [f"{bound.html_name}{suffix}" for suffix in widget.widgets_names]
    return [bound.html_name]


def _values(bound) -> dict:
    """The POST data a browser sends for `bound` unchanged."""
    widget = _unwrap(bound.field.widget)
    value = bound.value()
    if isinstance(widget, forms.MultiWidget):
        parts = value if isinstance(value, list | tuple) else widget.decompress(value)
        return {
            key: "" if part is None else str(part) for key, part in zip(_keys(bound), parts, strict=False)
        }
    if isinstance(widget, forms.CheckboxInput):
        return {bound.html_name: "on"} if value else {}
    prepared = bound.field.prepare_value(value)
    if isinstance(prepared, list | tuple):
        return {bound.html_name: [str(v) for v in prepared]}
    return {bound.html_name: "" if prepared is None else str(prepared)}


def _forms(model_admin, request, obj):
    """(form, [formsets]) of the add (obj None) or change page, unbound, as the page renders them."""
    form_class = model_admin.get_form(request, obj, change=obj is not None)
    form = form_class(instance=obj)
    formsets = []
    prefixes: dict[str, int] = {}
    for formset_class, _inline in model_admin.get_formsets_with_inlines(request, obj):
        prefix = formset_class.get_default_prefix()
        prefixes[prefix] = prefixes.get(prefix, 0) + 1
        if prefixes[prefix] != 1:
            prefix = f"{prefix}-{prefixes[prefix]}"
        formsets.append(formset_class(instance=obj or model_admin.model(), prefix=prefix))
    return form, formsets


def _baseline(form, formsets) -> dict:
    data = {}
    for bound in form:
        data.update(_values(bound))
    for formset in formsets:
        management = formset.management_form
        for bound in management:
            data[bound.html_name] = "" if bound.value() is None else str(bound.value())
        for inline_form in formset.forms:
            for bound in inline_form:
                data.update(_values(bound))
    return data


def _garbage_everywhere(form, formsets, value) -> dict:
    data = {}
    for bound in form:
        data.update(dict.fromkeys(_keys(bound), value))
    for formset in formsets:
        prefix = formset.prefix
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": "1",
                f"{prefix}-INITIAL_FORMS": "0",
                f"{prefix}-MIN_NUM_FORMS": "0",
                f"{prefix}-MAX_NUM_FORMS": "1000",
            }
        )
        for bound in formset.empty_form:
            for key in _keys(bound):
                data[key.replace("__prefix__", "0")] = value
    return data


def _walk_form(client, failures, url, form, formsets, *, obj_values: bool, per_field: bool) -> None:
    # The roles' forms are the superuser's or a part of them (fewer fields on the user page): they walk a
    # third of the garbage (every page and action in full), the superuser all of it.
    for value in GARBAGE if per_field else GARBAGE[::3]:
        _call(
            client,
            failures,
            "POST",
            url,
            _garbage_everywhere(form, formsets, value),
            label=f"all={value[:30]!r}",
        )
    broken_management = {f"{fs.prefix}-TOTAL_FORMS": "abc" for fs in formsets}
    _call(client, failures, "POST", url, broken_management, label="broken management form")
    if not obj_values:
        return
    baseline = _baseline(form, formsets)
    _call(client, failures, "POST", url, baseline, label="unchanged")
    if not per_field:
        return
    for bound in form:
        for value in PER_FIELD:
            data = {**baseline, **dict.fromkeys(_keys(bound), value)}
            _call(client, failures, "POST", url, data, label=f"{bound.name}={value[:30]!r}")


def _changelist_garbage(model_admin) -> list[dict]:
    queries = [{"q": "\x00"}, {"q": HUGE}, {"q": "' OR 1=1 --"}, {"o": "99.-x.abc"}, {"p": "abc"},
               {"p": "-5"}, {"p": "99999999"}, {"all": ""}, {"unknown_field": "1"}, {"e": "1"},
               {"_to_field": "password"}]  # fmt: skip
    for list_filter in model_admin.list_filter:
        if isinstance(list_filter, str):
            queries += [
                {list_filter: "\x00"},
                {f"{list_filter}__exact": "garbage"},
                {f"{list_filter}__id__exact": "x"},
                {f"{list_filter}__isnull": "maybe"},
            ]
    if model_admin.date_hierarchy:
        queries += [
            {f"{model_admin.date_hierarchy}__year": "abc"},
            {f"{model_admin.date_hierarchy}__month": "13"},
        ]
    return queries


def _url(name, *args):
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


@pytest.mark.django_db
def test_every_registered_model_has_an_object_to_walk(demo_world):
    missing = [model._meta.label for model, obj in demo_world.items() if obj is None]
    assert not missing, f"demo_world makes no object of {missing}: add one so its pages are walked"


@pytest.mark.django_db
@pytest.mark.timeout(600)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("model", MODELS, ids=MODEL_IDS)
def test_every_admin_page_survives_garbage(client, demo_world, request_for, model, role):
    user = _user(role)
    client.force_login(user)
    model_admin = admin.site._registry[model]
    info = f"admin:{model._meta.app_label}_{model._meta.model_name}"
    obj = demo_world[model]
    request = request_for(user)
    failures: list[str] = []

    changelist = reverse(f"{info}_changelist")
    _call(client, failures, "GET", changelist)
    for query in _changelist_garbage(model_admin):
        _call(client, failures, "GET", changelist, query, label=str(query)[:60])

    add = _url(f"{info}_add")
    page = _call(client, failures, "GET", add) if add else None
    if page is not None and page.status_code == 200:
        form, formsets = _forms(model_admin, request, None)
        _walk_form(client, failures, add, form, formsets, obj_values=False, per_field=role == "superuser")

    if obj is not None:
        change = reverse(f"{info}_change", args=[obj.pk])
        page = _call(client, failures, "GET", change)
        for name in (f"{info}_delete", f"{info}_history"):
            _call(client, failures, "GET", reverse(name, args=[obj.pk]))
        _call(client, failures, "GET", reverse(f"{info}_change", args=["not-a-key"]))
        _call(client, failures, "GET", reverse(f"{info}_change", args=["99999999999999999999999"]))
        if page is not None and page.status_code == 200 and model_admin.has_change_permission(request, obj):
            form, formsets = _forms(model_admin, request, obj)
            _walk_form(
                client, failures, change, form, formsets, obj_values=True, per_field=role == "superuser"
            )
        elif page is not None and page.status_code == 200:  # view only: a POST changes nothing and is refused
            before = {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}
            _call(client, failures, "POST", change, {"anything": "x"}, label="view-only POST")
            obj.refresh_from_db()
            after = {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}
            if after != before:
                failures.append(
                    f"POST {change} view-only POST changed "
                    f"{sorted(k for k in after if after[k] != before[k])}"
                )

    for action in model_admin.get_actions(request):
        for selection in (
            [],
            ["abc"],
            ["-1", "\x00"],
            ["99999999999999999999999"],
            ["999999"],
            [str(obj.pk)] if obj is not None else [],
        ):
            data = {"action": action, ACTION_CHECKBOX_NAME: selection, "index": "0"}
            _call(client, failures, "POST", changelist, data, label=f"action {action} {selection}")
    _call(client, failures, "POST", changelist, {"action": "no_such_action", ACTION_CHECKBOX_NAME: ["1"]})
    _call(client, failures, "POST", changelist, {"action": "x", "index": "abc"}, label="bad index")

    assert not failures, "\n".join(failures)
