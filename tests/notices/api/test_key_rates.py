"""A key's own request rate (`ApiKey.rate`): used instead of API_THROTTLE_RATE for that key only; refused by
the model, the database, `create_api_key --rate` and the admin's form when it is not a rate; set by a
supervisor where keys are managed."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from notices.models import ApiKey, Partner
from notices.services.keys import create_api_key
from tests.conftest import staff_with_role

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("whole_rate_window")]  # fixed windows

BAD_RATES = [
    "fast",
    "0/s",
    "10",
    "10/week",
    "-5/min",
    "10/ min",
    "1.5/s",
    "10/minutes!",
    "1/s/s",
    "9999999999/s",
]


def _client(plaintext: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    return client


def _statuses(client, n: int, tag: str) -> list[int]:
    return [
        client.post(
            "/api/v1/reports/", {"url": f"http://files.rates.example/{tag}/{i}.html"}, format="json"
        ).status_code
        for i in range(n)
    ]


@pytest.fixture
def partner(db):
    return Partner.objects.create(name="Fast Partner Hotline")


def test_a_keys_own_rate_applies_and_another_key_keeps_the_default(partner, settings):
    settings.API_THROTTLE_RATE = "2/hour"
    _, fast = create_api_key(scope="partner", partner=partner, name="bulk feeder", rate="4/hour")
    _, plain = create_api_key(scope="partner", partner=partner, name="plain")
    assert _statuses(_client(fast), 5, "fast") == [201, 201, 201, 201, 429]  # above the default
    assert _statuses(_client(plain), 3, "plain") == [201, 201, 429]  # the default, for itself

    _, slow = create_api_key(scope="partner", partner=partner, rate="1/day")  # below the default too
    refused = _client(slow)
    assert _statuses(refused, 2, "slow") == [201, 429]
    again = refused.post("/api/v1/reports/", {"url": "http://files.rates.example/x"}, format="json")
    assert again.status_code == 429 and 1 <= int(again["Retry-After"]) <= 86400  # to the end of its day


def test_the_rate_syntax_the_setting_takes(partner):
    for rate in ["200/s", "15000/min", "1000/hour", "5000/day", "60/m", "10/sec", "3/h", "1/d"]:
        key = ApiKey(
            name="k", prefix=rate[:12], key_hash="0" * 64, scope="partner", partner=partner, rate=rate
        )
        key.full_clean()  # no error


@pytest.mark.parametrize("rate", BAD_RATES)
def test_the_model_refuses_a_bad_rate(partner, rate):
    key = ApiKey(name="k", prefix="badrate1", key_hash="0" * 64, scope="partner", partner=partner, rate=rate)
    with pytest.raises(ValidationError) as refused:
        key.full_clean()
    assert "rate" in refused.value.message_dict
    with pytest.raises(ValidationError):
        create_api_key(scope="partner", partner=partner, rate=rate)
    with pytest.raises(IntegrityError), transaction.atomic():  # the database's check, whatever the path
        ApiKey.objects.create(
            name="k", prefix="badrate2", key_hash="0" * 64, scope="partner", partner=partner, rate=rate
        )
    assert not ApiKey.objects.exists()


def _run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_create_api_key_takes_a_rate_and_refuses_a_bad_one(db):
    out, err = _run("create_api_key", "--partner", "Feeder Hotline", "--rate", "15000/min")
    assert ApiKey.objects.get().rate == "15000/min" and out.strip().startswith("tt_")
    assert ", rate 15000/min (shown once)" in err
    with pytest.raises(CommandError, match=r"--rate '200 per second': Enter a rate as N/s"):
        _run("create_api_key", "--partner", "Another Hotline", "--rate", "200 per second")
    assert not Partner.objects.filter(name="Another Hotline").exists()  # refused before anything was made
    assert ApiKey.objects.count() == 1


def _form_data(page) -> dict:
    form = page.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        widget_data = field.widget.format_value(value) if value is not None else ""
        data[name] = "" if widget_data is None else widget_data
    data.pop("revoked_at", None)
    data.update({"revoked_at_0": "", "revoked_at_1": ""})
    return data


def test_a_supervisor_sets_a_keys_rate_in_the_admin_and_a_bad_one_is_a_form_error(partner, settings):
    key, _ = create_api_key(scope="partner", partner=partner, name="feeder")
    supervisor = Client()
    supervisor.force_login(staff_with_role("chief", "Supervisor"))
    change = reverse("admin:notices_apikey_change", args=[key.pk])
    page = supervisor.get(change)
    assert page.status_code == 200 and "rate" in page.context["adminform"].form.fields
    data = _form_data(page)

    refused = supervisor.post(change, {**data, "rate": "lots/s"})
    assert refused.status_code == 200
    assert refused.context["adminform"].form.errors["rate"] == [
        "Enter a rate as N/s, N/min, N/hour or N/day (N a whole number from 1), e.g. 15000/min."
    ]
    key.refresh_from_db()
    assert key.rate == ""

    assert supervisor.post(change, {**data, "rate": " 15000/min "}).status_code == 302
    key.refresh_from_db()
    assert key.rate == "15000/min"
    listed = supervisor.get(reverse("admin:notices_apikey_changelist")).content.decode()
    assert "15000/min" in listed

    assert supervisor.post(change, {**data, "rate": ""}).status_code == 302  # back to the default
    key.refresh_from_db()
    assert key.rate == ""
    assert (
        f"{settings.API_THROTTLE_RATE} (API_THROTTLE_RATE)"
        in supervisor.get(reverse("admin:notices_apikey_changelist")).content.decode()
    )


def test_an_analyst_cannot_change_a_keys_rate(partner):
    key, _ = create_api_key(scope="partner", partner=partner, name="feeder")
    analyst = Client()
    analyst.force_login(staff_with_role("anna", "Analyst"))
    change = reverse("admin:notices_apikey_change", args=[key.pk])
    assert analyst.post(change, {"name": "feeder", "rate": "99999/s"}).status_code == 403
    key.refresh_from_db()
    assert key.rate == ""
