"""The portal's statement of reasons under the DSA Transparency Database v2 rules: a bad value is a 400 with
the message at its field, in every portal language (en, de, nl, fr)."""

from __future__ import annotations

import pytest
from django.utils import translation

from notices.models import ProviderResponse
from notices.portal.access import PORTAL_LANGUAGES
from tests.notices.portal.test_forms_and_locales import _as_browser_submits

pytestmark = pytest.mark.django_db


@pytest.fixture
def flagger_notice(api_only, make_case, make_notice, now):
    """A trusted flagger's notice to `provider`, already sent (API pickup)."""
    case = make_case("http://files.polder.example/tf.html", provider=api_only, when=now)
    return make_notice(case, now=now, notice_type="trusted_flagger")


@pytest.mark.parametrize("language", PORTAL_LANGUAGES)
def test_portal_statement_v2_rules_are_field_errors_in_every_language(
    desk_client, flagger_notice, provider, language
):
    provider.language = language
    provider.save(update_fields=["language"])
    page = desk_client.get(f"/portal/notices/{flagger_notice.reference}/")
    data = _as_browser_submits(page, "removed")
    assert data["source_type"] == "SOURCE_TRUSTED_FLAGGER"  # prefilled right for a trusted flagger's notice
    data["source_type"] = "SOURCE_VOLUNTARY"
    data["application_date"] = "2040-01-01"
    response = desk_client.post(f"/portal/notices/{flagger_notice.reference}/respond/removed/", data)
    assert response.status_code == 400
    body = response.content.decode()
    with translation.override(language):
        flagger = translation.gettext("The notice came from a trusted flagger: use SOURCE_TRUSTED_FLAGGER.")
        ceiling = translation.gettext("Must be on or before %(date)s.") % {"date": "2038-01-01"}
    if language != "en":
        assert flagger != "The notice came from a trusted flagger: use SOURCE_TRUSTED_FLAGGER."
    form = response.context["forms"]["removed"]
    assert form.errors["source_type"] == [flagger]
    assert form.errors["application_date"] == [ceiling]
    assert flagger in body and ceiling in body
    assert ProviderResponse.objects.count() == 0
