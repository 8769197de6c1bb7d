"""Schemathesis against the published schema: every operation, generated requests with a partner, a staff
and a provider key, through the WSGI app. No answer is a server error, and every answer — its status, its
Content-Type, its body and headers — conforms to what `/api/schema/` says. Bounded: a few examples per
operation and key, derandomized, so the run is the same every time and takes well under a minute."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import staff_with_role

pytestmark = pytest.mark.django_db

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES = 3

# The inbound-mail endpoint takes a raw message (`message/rfc822`): sent as the bytes generated for it.
schemathesis.serializer.alias("message/rfc822", "text/plain")

# The schema as /api/schema/ serves it (the same generator and hooks), made once at collection.
schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
schema.app = get_wsgi_application()


@pytest.fixture
def wsgi_keeps_the_test_connection():
    """The WSGI handler closes the database connection when a request ends (`close_old_connections`), which
    would end the test's transaction; Django's test client unhooks it the same way."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def keys(wsgi_keeps_the_test_connection, make_case, make_notice, api_only, now):
    """A partner, a staff (superuser) and a provider key, and a little data for them to find."""
    from notices.models import Partner
    from notices.services.keys import create_api_key

    make_notice(make_case(provider=api_only, when=now), now=now)
    owners = [
        {"scope": "partner", "partner": Partner.objects.create(name="Fuzz Hotline")},
        {"scope": "user", "user": staff_with_role("fuzz-root", None, superuser=True)},
        {"scope": "provider", "provider": api_only},
    ]
    return [create_api_key(**owner)[1] for owner in owners]


@schema.parametrize()
@hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_conform_to_the_schema(case, keys, settings):
    settings.API_THROTTLE_RATE = "1000000/min"
    for key in keys:
        case.call_and_validate(headers={"Authorization": f"Bearer {key}"}, checks=CHECKS)
