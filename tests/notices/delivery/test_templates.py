"""Supervisor-edited notice templates: the most specific active one wins over the files, a broken one is
refused in the admin, and the admin preview renders a sample notice with defanged URLs only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from notices.delivery.compose import render_notice_mails
from notices.models import NoticeTemplate
from notices.services.notices import create_notices

pytestmark = pytest.mark.django_db

BODY = (
    "Body {{ template_name }} for {{ provider.name }}:\n"
    "{% for item in items %}{{ item.defanged }}\n{% endfor %}"
)


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("chief", "chief@hotline.example", "chief-pass-123")
    client.force_login(user)
    return client


@pytest.fixture
def compose(make_provider, make_case, now):
    """Factory: the mail of a new notice of `notice_type` to a provider speaking `language`."""

    def _compose(language="en", notice_type="hotline_notice"):
        provider = make_provider(f"tpl-{language}", language=language, prefix=None)
        case = make_case(f"http://files.tpl-{language}.example/a.html", provider=provider, when=now)
        (notice,) = create_notices(urls=[case], notice_type=notice_type, now=now)
        (mail,) = render_notice_mails(
            [notice], now=now, recipients={notice.provider_id: ["abuse@tpl.example"]}
        )
        return notice, mail

    return _compose


def _template(name: str, *, language="en", notice_type="", active=True) -> NoticeTemplate:
    return NoticeTemplate.objects.create(
        language=language,
        notice_type=notice_type,
        active=active,
        subject=f"[{{{{ notice.reference }}}}] {name}",
        body=BODY.replace("{{ template_name }}", name),
    )


def test_notice_mail_language_and_type_template_wins(compose):
    _template("any-type")
    _template("hotline", notice_type="hotline_notice")
    _template("inactive", notice_type="hotline_notice", active=False)
    _template("trusted", notice_type="trusted_flagger")

    notice, message = compose()

    assert message.subject == f"[{notice.reference}] hotline"
    assert message.text == "Body hotline for Tpl-En Hosting:\nhxxp://files[.]tpl-en[.]example/a.html\n"
    assert "hxxp://files[.]tpl-en[.]example/a.html" in message.html


def test_notice_mail_any_type_template_when_no_type_template(compose):
    _template("any-type")
    _template("trusted", notice_type="trusted_flagger")

    notice, message = compose(notice_type="hotline_notice")

    assert message.subject == f"[{notice.reference}] any-type"


def test_notice_mail_other_language_template_falls_back_to_the_files(compose):
    _template("english", language="en")
    _template("dutch", language="nl")

    notice, message = compose(language="de")

    assert message.subject.startswith(f"[{notice.reference}] Hotline")
    assert "Darstellungen sexuellen Kindesmissbrauchs" in message.subject
    assert "Erklärung des guten Glaubens" in message.text


def test_notice_mail_inactive_template_is_not_used(compose):
    _template("inactive", active=False)

    _notice, message = compose()

    assert "child sexual abuse material on your network" in message.subject


def test_notice_mail_template_broken_outside_the_admin_falls_back_to_the_files(compose, caplog):
    NoticeTemplate.objects.create(language="en", subject="{% if %}", body="{% for %}")

    _notice, message = compose()

    assert "child sexual abuse material on your network" in message.subject
    assert "Good-faith statement" in message.text
    assert "does not compile" in caplog.text


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("Notice", "{% if provider.name == 'Someone Else' %}Body{% endif %}"),
        ("{% if provider.name == 'Someone Else' %}Notice{% endif %}", BODY),
    ],
    ids=["body empty for this notice", "subject empty for this notice"],
)
def test_notice_mail_template_rendering_empty_for_a_real_notice_falls_back_to_the_files(
    compose, caplog, subject, body
):
    """The editor's sample renders it non-empty; this notice does not: no empty mail goes out."""
    NoticeTemplate.objects.create(language="en", subject=subject, body=body)

    _notice, message = compose()

    assert "child sexual abuse material on your network" in message.subject
    assert "Good-faith statement" in message.text
    assert "renders empty" in caplog.text


def _post(client, **fields):
    data = {
        "language": "en",
        "notice_type": "",
        "subject": "[{{ notice.reference }}] Notice",
        "body": BODY,
        "active": "on",
        **fields,
    }
    return client.post(reverse("admin:notices_noticetemplate_add"), data)


def test_admin_template_syntax_error_is_a_field_error(staff_client):
    response = _post(staff_client, body="Hello {% if notice %}unclosed")

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["body"]
    assert errors["body"][0].startswith("Template syntax error: Unclosed tag")
    assert NoticeTemplate.objects.count() == 0


def test_admin_template_unknown_filter_in_subject_is_a_field_error(staff_client):
    response = _post(staff_client, subject="{{ notice.reference|no_such_filter }}")

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["subject"]
    assert "Invalid filter: 'no_such_filter'" in errors["subject"][0]
    assert NoticeTemplate.objects.count() == 0


def test_admin_template_showing_a_url_undefanged_is_refused(staff_client):
    response = _post(staff_client, body='htt{{ items.0.defanged|cut:"["|cut:"]"|slice:"3:" }}')

    assert response.status_code == 200
    assert "shows a reported URL as it is" in response.context["adminform"].form.errors["body"][0]
    assert NoticeTemplate.objects.count() == 0


def test_admin_template_reading_the_notice_items_is_refused(staff_client):
    """The items a template may show are `items` (defanged); the notice's own rows carry the exact URLs."""
    response = _post(staff_client, body="{% for i in notice.items.all %}{{ i.url.canonical }}{% endfor %}")

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["body"][0].startswith("The template does not render:")
    assert NoticeTemplate.objects.count() == 0


def test_admin_preview_escapes_markup_in_the_template(staff_client):
    _post(staff_client, subject="<b>bold</b> {{ notice.reference }}", body="<script>x()</script>")

    page = staff_client.get(
        reverse("admin:notices_noticetemplate_preview", args=[NoticeTemplate.objects.get().pk])
    ).content.decode()

    assert "<script>x()" not in page
    assert "<b>bold" not in page
    assert "&lt;b&gt;bold&lt;/b&gt; TN-" in page


def test_admin_template_saved_with_editor_and_preview_renders_sample(staff_client):
    response = _post(staff_client, notice_type="trusted_flagger")
    assert response.status_code == 302
    template = NoticeTemplate.objects.get()
    assert (template.notice_type, template.updated_by.username) == ("trusted_flagger", "chief")
    change = staff_client.get(
        reverse("admin:notices_noticetemplate_change", args=[template.pk])
    ).content.decode()
    preview_url = reverse("admin:notices_noticetemplate_preview", args=[template.pk])
    assert f'href="{preview_url}"' in change

    response = staff_client.get(preview_url)

    assert response.status_code == 200
    assert response.context["subject"].endswith("] Notice")
    assert response.context["subject"].startswith("[TN-")
    assert response.context["text"].startswith(
        "Body  for Example Hosting:\nhxxp://files[.]example[.]example/"
    )
    page = response.content.decode()
    assert "hxxps://203[.]0[.]113[.]7/img/2.jpg" in page
    assert "http://files.example.example" not in page
    assert "https://203.0.113.7" not in page
    assert 'srcdoc="&lt;!doctype html&gt;\n&lt;html lang=&quot;en&quot;&gt;' in page
