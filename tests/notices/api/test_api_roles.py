"""Role × API route: every route of the API, called with a staff key of each role, allowed or denied exactly.

A staff key acts with its user's role (README "Roles", notices/api/auth.py): analyst, supervisor, auditor, a
staff user without a role, a superuser. Allowed answers the route's own status (the request is valid, or a 400
for an empty body: the role passed and the input was judged); denied is 403 with the role's or the scope's
message. A route the API serves that the table does not name fails `test_every_api_route_is_in_the_table`.
"""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage

import pytest

from notices.api.urls import urlpatterns, v1
from tests.conftest import staff_with_role

pytestmark = pytest.mark.django_db

ROLES = ["analyst", "supervisor", "auditor", "norole", "superuser"]
ROLE_GROUPS = {"analyst": "Analyst", "supervisor": "Supervisor", "auditor": "Auditor", "norole": None}

ALL = frozenset({"analyst", "supervisor", "auditor", "superuser"})  # every role (not staff without one)
WORK = frozenset({"analyst", "supervisor", "superuser"})  # the roles that take in, assess, trace and send
NOBODY = frozenset()
EVERYONE = frozenset(ROLES)

ROLE_DENIED = {"detail": "The role of this API key's user does not allow this request."}
NEEDS_PROVIDER = {"detail": "This endpoint needs a provider API key."}
NEEDS_BLOCKLIST = {
    "detail": "This endpoint needs a blocking-list API key "
    "(create_api_key --partner NAME --blocklist hashes)."
}
NEEDS_INBOUND = {
    "detail": "This endpoint needs an inbound-mail API key (create_api_key --user NAME --inbound-mail)."
}

# (route name, method, path, body, status when allowed, roles allowed, answer when denied). `{url}`, `{draft}`
# and `{sent}` are a case, a draft notice and a sent notice of the world below.
ROUTES = [
    ("report-create", "post", "/api/v1/reports/", {}, 400, WORK, ROLE_DENIED),
    ("report-bulk", "post", "/api/v1/reports/bulk/", {}, 400, WORK, ROLE_DENIED),
    ("report-receipt", "get", "/api/v1/reports/{receipt}/", None, 200, ALL, ROLE_DENIED),
    ("url-list", "get", "/api/v1/urls/", None, 200, ALL, ROLE_DENIED),
    ("url-detail", "get", "/api/v1/urls/{url}/", None, 200, ALL, ROLE_DENIED),
    ("url-assess", "post", "/api/v1/urls/{url}/assess/", {}, 400, WORK, ROLE_DENIED),
    ("url-trace", "post", "/api/v1/urls/{url}/trace/", {}, 202, WORK, ROLE_DENIED),
    ("url-close", "post", "/api/v1/urls/{url}/close/", {}, 400, WORK, ROLE_DENIED),  # no reason given
    ("url-reopen", "post", "/api/v1/urls/{url}/reopen/", {}, 409, WORK, ROLE_DENIED),  # not closed
    ("notice-list", "get", "/api/v1/notices/", None, 200, ALL, ROLE_DENIED),
    ("notice-list", "post", "/api/v1/notices/", {}, 400, WORK, ROLE_DENIED),
    ("notice-detail", "get", "/api/v1/notices/{draft}/", None, 200, ALL, ROLE_DENIED),
    ("notice-send", "post", "/api/v1/notices/{draft}/send/", {}, 202, WORK, ROLE_DENIED),
    ("notice-withdraw", "post", "/api/v1/notices/{draft}/withdraw/", {}, 400, WORK, ROLE_DENIED),  # no reason
    ("url-holds", "get", "/api/v1/urls/{url}/holds/", None, 200, ALL, ROLE_DENIED),
    ("url-holds", "post", "/api/v1/urls/{url}/holds/", {}, 400, WORK, ROLE_DENIED),  # no reason
    ("hold-clear", "post", "/api/v1/holds/{hold}/clear/", {}, 200, WORK, ROLE_DENIED),
    ("notice-order", "get", "/api/v1/notices/{order}/order/", None, 200, ALL, ROLE_DENIED),
    ("notice-order", "post", "/api/v1/notices/{draft}/order/", {}, 400, WORK, ROLE_DENIED),
    ("notice-order-pause", "post", "/api/v1/notices/{order}/order/pause/", {}, 400, WORK, ROLE_DENIED),
    ("notice-order-resume", "post", "/api/v1/notices/{order}/order/resume/", {}, 409, WORK, ROLE_DENIED),
    ("provider-list", "get", "/api/v1/providers/", None, 200, ALL, ROLE_DENIED),
    ("provider-scorecard", "get", "/api/v1/providers/polder/scorecard/", None, 200, ALL, ROLE_DENIED),
    ("stats-ttr", "get", "/api/v1/stats/time-to-removal/?group_by=provider", None, 200, ALL, ROLE_DENIED),
    ("stats-yearly", "get", "/api/v1/stats/yearly/?year=2025", None, 200, ALL, ROLE_DENIED),
    ("stats-transparency", "get", "/api/v1/stats/transparency/?year=2025", None, 200, ALL, ROLE_DENIED),
    # The hotline network: case packages out (exact URLs: staff who read cases) and in (who changes cases).
    ("exchange-cases", "get", "/api/v1/exchange/cases/", None, 200, ALL, ROLE_DENIED),
    ("exchange-cases", "post", "/api/v1/exchange/cases/", {}, 400, WORK, ROLE_DENIED),  # not a package
    ("tdb-statements", "get", "/api/v1/statements/", None, 200, ALL, ROLE_DENIED),
    (
        "stats-trusted-flagger",
        "get",
        "/api/v1/stats/trusted-flagger-report/?year=2025",
        None,
        200,
        ALL,
        ROLE_DENIED,
    ),
    # The provider side and the MTA pipe take no staff (user) key, whatever its role.
    ("provider-notice-list", "get", "/api/v1/provider/notices/", None, 200, NOBODY, NEEDS_PROVIDER),
    ("provider-notice-detail", "get", "/api/v1/provider/notices/{sent}/", None, 200, NOBODY, NEEDS_PROVIDER),
    (
        "provider-response-create",
        "post",
        "/api/v1/provider/notices/{sent}/responses/",
        {},
        400,
        NOBODY,
        NEEDS_PROVIDER,
    ),
    (
        "provider-statements",
        "get",
        "/api/v1/provider/notices/{sent}/statements/",
        None,
        200,
        NOBODY,
        NEEDS_PROVIDER,
    ),
    ("inbound-mail", "post", "/api/v1/inbound/mail/", {}, 202, NOBODY, NEEDS_INBOUND),
    ("blocklist", "get", "/api/v1/blocklist/", None, 200, NOBODY, NEEDS_BLOCKLIST),  # partners' own scope
    # The schema and its docs page are public.
    ("schema", "get", "/api/schema/?format=json", None, 200, EVERYONE, None),
    ("docs", "get", "/api/docs/", None, 200, EVERYONE, None),
]
ROUTE_IDS = [f"{method} {name}" for name, method, *_ in ROUTES]
HANDLERS = ("get", "post", "put", "patch", "delete")


def test_every_api_route_is_in_the_table():
    served = {
        (pattern.name, method)
        for pattern in urlpatterns
        for method in HANDLERS
        if hasattr(pattern.callback.cls, method)
    }
    assert served == {(name, method) for name, method, *_ in ROUTES}
    assert {p.name for p in v1} <= {name for name, *_ in ROUTES}


@pytest.fixture
def world(make_case, make_notice, provider, now):
    """A case, a draft and a sent notice (to `provider`), a hold, a removal order, and one staff user per
    role."""
    from notices.services.holds import request_hold
    from notices.services.notices import create_notices
    from notices.services.orders import create_order

    sent_case = make_case(provider=provider, when=now)
    sent = make_notice(sent_case, now=now)
    hold = request_hold(url=sent_case, reason="investigation", requester="LKA", now=now)
    order_case = make_case("http://files.polder.example/order.html", provider=provider, when=now)
    (order,) = create_notices(
        urls=[order_case], notice_type="removal_order", now=now, deadline_at=now + timedelta(days=1)
    )
    create_order(
        notice=order,
        authority="BKA",
        reference="R-1",
        issued_at=now,
        addressee="Polder",
        legal_basis="tco",
        now=now,
    )
    draft_case = make_case("http://files.polder.example/draft.html", provider=provider, when=now)
    draft = make_notice(draft_case, now=now, send=False)
    users = {role: staff_with_role(f"{role}-user", group) for role, group in ROLE_GROUPS.items()}
    users["superuser"] = staff_with_role("root", None, superuser=True)
    receipt = draft_case.reports.get().receipt
    return {
        "url": draft_case.pk,
        "draft": draft.reference,
        "sent": sent.reference,
        "receipt": receipt,
        "hold": hold.pk,
        "order": order.reference,
        "users": users,
    }


def _call(client, method: str, path: str, body):
    if method == "post":
        return client.post(path, body, format="json")
    return client.get(path)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("name", "method", "path", "body", "success", "allowed", "denied"), ROUTES, ids=ROUTE_IDS
)
def test_api_route_with_key_of_role_is_allowed_or_denied_exactly(
    key_client, world, role, name, method, path, body, success, allowed, denied
):
    client = key_client(scope="user", user=world["users"][role])
    response = _call(client, method, path.format(**world), body)
    if role in allowed:
        assert response.status_code == success, response.content[:300]
    else:
        assert (response.status_code, response.json()) == (403, denied)


def _mail() -> bytes:
    message = EmailMessage()
    message["From"] = "abuse@polder.example"
    message["Subject"] = "Hello"
    message["Message-ID"] = "<roles@mx.polder.example>"
    message.set_content("A reply.")
    return message.as_bytes()


@pytest.mark.parametrize("role", ROLES)
def test_inbound_mail_key_acts_with_its_users_role(key_client, world, role):
    """An inbound-mail key (an MTA pipe) is a staff user's too: it files mail if its role receives mail."""
    client = key_client(scope="inbound", user=world["users"][role])
    response = client.post("/api/v1/inbound/mail/", data=_mail(), content_type="message/rfc822")
    if role in WORK:
        assert (response.status_code, response.json()["kind"]) == (202, "unmatched")
    else:
        assert (response.status_code, response.json()) == (403, ROLE_DENIED)


@pytest.mark.parametrize("role", ["auditor", "norole"])
def test_api_refusal_changes_nothing(key_client, world, role):
    """Denied means not done: the draft stays a draft, no report or assessment is written."""
    from notices.models import Assessment, Notice, Report

    client = key_client(scope="user", user=world["users"][role])
    counts = (Report.objects.count(), Assessment.objects.count())
    assert client.post(f"/api/v1/notices/{world['draft']}/send/").status_code == 403
    assert client.post("/api/v1/reports/", {"url": "http://new.example/x"}, format="json").status_code == 403
    assessment = {"legality": "illegal_international", "classification": "A1"}
    assert client.post(f"/api/v1/urls/{world['url']}/assess/", assessment, format="json").status_code == 403
    assert Notice.objects.get(reference=world["draft"]).status == "draft"
    assert (Report.objects.count(), Assessment.objects.count()) == counts
