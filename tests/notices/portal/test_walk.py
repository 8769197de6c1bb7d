"""Every portal page, generated from notices/portal/urls.py: GET and POSTs of garbage, anonymously, as a
provider user and as the provider's portal admin. Nothing may answer 5xx. A new URL pattern is walked without
a change here (its arguments are filled from their names; an unknown name fails the test, so the walk never
skips it).
"""

from __future__ import annotations

import inspect
import itertools
import re

import pytest
from django import forms as django_forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.test import Client
from django.urls import URLPattern, reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from notices.delivery.compose import one_click_token
from notices.models import ApiKey
from notices.portal import forms as portal_forms
from notices.portal import urls as portal_urls
from notices.services.keys import create_api_key
from notices.services.portal_accounts import invite_user

pytestmark = pytest.mark.django_db

HUGE = "x" * 20_000
ROLES = ("anonymous", "member", "admin")


def _patterns() -> list[URLPattern]:
    return [p for p in portal_urls.urlpatterns if isinstance(p, URLPattern)]


def _field_names() -> list[str]:
    """Every field any portal form (or the Django auth forms the portal uses) reads, plus the views' own
    keys."""
    names = {"action", "language", "next", "page", "view"}
    classes = [
        c
        for _, c in inspect.getmembers(portal_forms, inspect.isclass)
        if issubclass(c, django_forms.BaseForm)
    ]
    classes += [auth_forms.PasswordResetForm, auth_forms.SetPasswordForm]
    for cls in classes:
        names.update(cls.base_fields)
    return sorted(names)


FIELDS = _field_names()


def _payloads() -> list[dict]:
    """Garbage of every kind: nothing, huge strings, lists where one value is expected, wrong types, invalid
    choices, unknown and out-of-range ids, dates in the wrong format, control characters."""
    return [
        {},
        dict.fromkeys(FIELDS, HUGE),
        {name: ["1", "2", "<b>three</b>"] for name in FIELDS},
        dict.fromkeys(FIELDS, "\x00\x01'\";--"),
        {name: "DECISION_BOGUS" for name in FIELDS}
        | {
            "urls": ["999999999999999999999", "-1", "abc"],
            "content_date": "31-12-2026",
            "application_date": "2026-02-30",
            "include_statement": "on",
            "language": "xx",
            "next": "https://elsewhere.example/",
            "page": "-5",
            "is_admin": "maybe",
            "email": "not-an-address",
            "url": "javascript:alert(1)",
            "code": "12ab",
        },
        dict.fromkeys(FIELDS, ""),
        # Well-formed but longer than any column: the form must say so before the database does.
        dict.fromkeys(FIELDS, "a" * 300)
        | {
            "email": "a" * 60 + "@" + ".".join(["b" * 60] * 4) + ".example",
            "url": "https://hooks.example/" + "a" * 2100,
        },
    ]


@pytest.fixture
def world(provider, other_provider, make_portal_user, sent_notice, other_sent_notice):
    """Users of both providers, an invitation and an API key each, and the values a URL argument can take:
    one of ours, one of the other provider's, unknown, out of range, garbage."""
    member = make_portal_user("polder-member", provider)
    admin = make_portal_user("polder-admin", provider, is_admin=True)
    other_admin = make_portal_user("balkan-admin", other_provider, is_admin=True)
    now = timezone.now()
    invite_user(provider=provider, email="new@polder.example", is_admin=False, invited_by=admin, now=now)
    token = re.search(r"/portal/invitation/([^/\s]+)/", mail.outbox[-1].body)[1]
    invite_user(
        provider=other_provider, email="new@balkan.example", is_admin=False, invited_by=other_admin, now=now
    )
    from notices.models import Invitation

    key, _ = create_api_key(scope="provider", provider=provider, name="ours")
    other_key, _ = create_api_key(scope="provider", provider=other_provider, name="theirs")
    own_url = sent_notice.items.values_list("url_id", flat=True).first()
    other_url = other_sent_notice.items.values_list("url_id", flat=True).first()
    ours_invitation = Invitation.objects.get(provider=provider)
    theirs_invitation = Invitation.objects.get(provider=other_provider)
    garbage = ["nope", "%27%22%3C%3E", "x" * 2000]
    values = {
        "reference": [sent_notice.reference, other_sent_notice.reference, *garbage],
        "action": ["acknowledge", "removed", "not_our_customer", "need_info", "refused", "bogus"],
        "url_id": [own_url, other_url, 999_999_999, 2**70],
        "uidb64": [urlsafe_base64_encode(force_bytes(member.pk)), "AAAA", "!!"],
        "token": garbage,
    }
    tokens = {
        "portal:one-click": [
            one_click_token(sent_notice, "acknowledge"),
            one_click_token(sent_notice, "removed"),
            one_click_token(sent_notice, "refused"),
            *garbage,
        ],
        "portal:invitation": [token, *garbage],
        "portal:password_reset_confirm": [default_token_generator.make_token(member), *garbage],
    }
    pks = {
        "portal:invitation-revoke": [ours_invitation.pk, theirs_invitation.pk, 999_999_999, 2**70],
        "portal:key-revoke": [key.pk, other_key.pk, 999_999_999, 2**70],
    }
    assert ApiKey.objects.count() == 2
    return {"member": member, "admin": admin, "values": values, "tokens": tokens, "pks": pks}


def _arguments(pattern: URLPattern, world: dict) -> list[dict]:
    name = f"portal:{pattern.name}"
    choices = {}
    for argument in pattern.pattern.converters:
        if argument == "token" and name in world["tokens"]:
            choices[argument] = world["tokens"][name]
        elif argument == "pk":
            choices[argument] = world["pks"][name]
        elif argument in world["values"]:
            choices[argument] = world["values"][argument]
        else:
            pytest.fail(f"{name}: no sample values for the URL argument {argument!r}; add them to the walk")
    if set(choices) == {
        "reference",
        "action",
    }:  # every action on our notice, one action on every other reference
        first = [{"reference": choices["reference"][0], "action": a} for a in choices["action"]]
        return first + [{"reference": r, "action": "removed"} for r in choices["reference"][1:]]
    return [dict(zip(choices, combo, strict=True)) for combo in itertools.product(*choices.values())] or [{}]


def _client(role: str, world: dict) -> Client:
    client = Client(raise_request_exception=False)
    if role != "anonymous":
        client.force_login(world[role])
    return client


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("pattern", _patterns(), ids=lambda p: p.name)
def test_no_portal_page_answers_a_server_error(pattern, role, world):
    failures = []
    for kwargs in _arguments(pattern, world):
        path = reverse(f"portal:{pattern.name}", kwargs=kwargs)
        requests = [
            ("GET", {}),
            ("GET", {"page": HUGE[:2000], "status": "bogus", "view": ["a", "b"], "q": HUGE}),
        ]
        requests += [("POST", payload) for payload in _payloads()]
        for method, data in requests:
            client = _client(role, world)  # a fresh session each time: a POST may sign out or lock
            response = client.get(path, data) if method == "GET" else client.post(path, data)
            if response.status_code >= 500:
                failures.append((method, path[:120], sorted(data)[:3], response.status_code))
        client = _client(role, world)
        response = client.post(path, data="{not json", content_type="application/json")
        if response.status_code >= 500:
            failures.append(("POST json", path[:120], [], response.status_code))
    assert failures == []
