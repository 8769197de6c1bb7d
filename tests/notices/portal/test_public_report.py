"""The public report form at /report/ in every portal language: a report with its receipt (channel public,
in the analysts' queue), the honeypot, the signed time stamp, the per-address limit, field errors for bad URLs
at the top and at the field, and nothing of the reported URL in the answer."""

from __future__ import annotations

import time

import pytest
from django.test import Client

from notices.enums import ReportChannel, UrlStatus
from notices.models import RateCounter, Report, Url
from notices.portal.access import PORTAL_LANGUAGES
from notices.portal.report_form import new_stamp

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("whole_rate_window")]  # fixed windows

REPORTED = "http://files.polder.example/gallery/7.html"

# What each language says on the page (title), on success, and for each refusal.
SAYS = {
    "en": {
        "title": "Report a web page",
        "received": "Thank you: your report was received",
        "scheme": "Only web addresses that start with http:// or https:// can be reported.",
        "host": "The address needs a host name such as www.example.com, or an IP address.",
        "quick": "This form was sent too quickly.",
        "failed": "This form could not be sent.",
        "old": "This form was open too long.",
        "many": "Too many reports from your network.",
        "email": "Enter a valid email address.",
    },
    "de": {
        "title": "Eine Webseite melden",
        "received": "Danke: Ihre Meldung ist eingegangen",
        "scheme": "Nur Webadressen, die mit http:// oder https:// beginnen, können gemeldet werden.",
        "host": "Die Adresse braucht einen Hostnamen wie www.example.com oder eine IP-Adresse.",
        "quick": "Dieses Formular wurde zu schnell gesendet.",
        "failed": "Dieses Formular konnte nicht gesendet werden.",
        "old": "Dieses Formular war zu lange geöffnet.",
        "many": "Zu viele Meldungen aus Ihrem Netz.",
        "email": "Bitte geben Sie eine gültige E-Mail-Adresse ein.",  # formal, as the rest of the portal
    },
    "nl": {
        "title": "Een webpagina melden",
        "received": "Dank u: uw melding is ontvangen",
        "scheme": "Alleen webadressen die met http:// of https:// beginnen, kunnen worden gemeld.",
        "host": "Het adres heeft een hostnaam nodig, zoals www.example.com, of een IP-adres.",
        "quick": "Dit formulier werd te snel verstuurd.",
        "failed": "Dit formulier kon niet worden verstuurd.",
        "old": "Dit formulier stond te lang open.",
        "many": "Te veel meldingen vanaf uw netwerk.",
        "email": "Voer een geldig e-mailadres in.",
    },
    "fr": {
        "title": "Signaler une page web",
        "received": "Merci : votre signalement a été reçu",
        "scheme": "Seules les adresses web commençant par http:// ou https:// peuvent être signalées.",
        "host": "L’adresse doit comporter un nom d’hôte comme www.example.com, ou une adresse IP.",
        "quick": "Ce formulaire a été envoyé trop vite.",
        "failed": "Ce formulaire n’a pas pu être envoyé.",
        "old": "Ce formulaire est resté ouvert trop longtemps.",
        "many": "Trop de signalements depuis votre réseau.",
        "email": "Saisissez une adresse e-mail valide.",
    },
}


def visitor(language: str, address: str = "203.0.113.5") -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE=language, REMOTE_ADDR=address)


def form_data(**overrides) -> dict:
    data = {"url": REPORTED, "notes": "", "email": "", "homepage": "", "stamp": new_stamp(time.time() - 10)}
    return {**data, **overrides}


def text(response) -> str:
    return response.content.decode()


@pytest.mark.parametrize("language", PORTAL_LANGUAGES)
def test_report_form_shown_without_login_in_language(language):
    response = visitor(language).get("/report/")
    assert response.status_code == 200
    body = text(response)
    assert f'<html lang="{language}">' in body
    assert SAYS[language]["title"] in body
    assert 'name="homepage"' in body and 'class="hp" aria-hidden="true"' in body
    assert 'name="stamp"' in body
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.parametrize("language", PORTAL_LANGUAGES)
def test_report_form_records_public_report_and_shows_receipt(language):
    data = form_data(notes="seen in a <b>forum</b>", email="Reporter@Mail.example")
    response = visitor(language).post("/report/", data)
    assert response.status_code == 200, text(response)
    report = Report.objects.get()
    body = text(response)
    assert SAYS[language]["received"] in body
    assert f'<b class="receipt" id="receipt">{report.receipt}</b>' in body
    assert report.channel == ReportChannel.PUBLIC
    assert (report.partner, report.submitted_by) == (None, None)
    assert report.reporter_email == "Reporter@Mail.example"
    assert report.notes == "seen in a <b>forum</b>"
    assert report.original_url == REPORTED
    case = Url.objects.get()
    assert (case.canonical, case.status, case.site) == (REPORTED, UrlStatus.NEW, "polder.example")
    for piece in ("polder", "gallery", "7.html", "forum"):  # nothing of the report is echoed back
        assert piece not in body


def test_report_form_public_reports_are_a_queue_in_the_admin(client, analyst, make_case, provider, now):
    partner_case = make_case(provider=provider, when=now)
    visitor("en").post("/report/", form_data(url="http://other.polder.example/x"))
    public_case = Url.objects.get(host="other.polder.example")
    client.force_login(analyst)
    response = client.get("/admin/notices/url/?channel=public")
    assert response.status_code == 200
    assert [row.pk for row in response.context["cl"].result_list] == [public_case.pk]
    everything = client.get("/admin/notices/url/?queue=new")
    assert public_case.pk in [row.pk for row in everything.context["cl"].result_list]
    assert partner_case.pk not in [row.pk for row in response.context["cl"].result_list]


def test_report_form_defanged_url_accepted():
    response = visitor("en").post("/report/", form_data(url="hxxps://files[.]polder[.]example/a"))
    assert response.status_code == 200
    assert Url.objects.get().canonical == "https://files.polder.example/a"


@pytest.mark.parametrize("language", PORTAL_LANGUAGES)
@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://files.polder.example/a", "scheme"),
        ("javascript:alert(1)", "scheme"),
        ("hello", "host"),
        ("http://localhost/", "host"),
        ("http:///only/a/path", "host"),
        ("http://a_b.example/", "host"),
    ],
)
def test_report_form_invalid_url_is_a_field_error(language, url, problem):
    response = visitor(language).post("/report/", form_data(url=url))
    assert response.status_code == 400
    body = text(response)
    message = SAYS[language][problem]
    assert 'id="error-summary"' in body
    assert '<a href="#id_url">' in body  # the summary links to the field
    assert body.count(message.replace("’", "’")) == 2  # at the top and at the field
    assert Report.objects.count() == 0 and Url.objects.count() == 0


@pytest.mark.parametrize("language", PORTAL_LANGUAGES)
def test_report_form_empty_and_bad_email_are_field_errors(language):
    response = visitor(language).post("/report/", form_data(url="", email="not an address"))
    assert response.status_code == 400
    form = response.context["form"]
    assert set(form.errors) == {"url", "email"}
    assert SAYS[language]["email"] in text(response)
    assert Report.objects.count() == 0


@pytest.mark.parametrize("language", PORTAL_LANGUAGES)
def test_report_form_honeypot_filled_records_nothing(language):
    response = visitor(language).post("/report/", form_data(homepage="http://spam.example/"))
    assert response.status_code == 400
    assert SAYS[language]["failed"] in text(response)
    assert Report.objects.count() == 0


@pytest.mark.parametrize("language", PORTAL_LANGUAGES)
def test_report_form_sent_too_quickly_refused_then_accepted_with_the_new_stamp(language, settings):
    settings.PUBLIC_REPORT_MIN_SECONDS = 3
    client = visitor(language)
    response = client.post("/report/", form_data(stamp=new_stamp(time.time())))
    assert response.status_code == 400
    assert SAYS[language]["quick"] in text(response)
    assert Report.objects.count() == 0
    renewed = response.context["form"].data["stamp"]
    assert renewed and renewed != form_data()["stamp"]
    assert REPORTED in text(response)  # what the visitor typed stays in the input, escaped, never a link
    assert f'href="{REPORTED}' not in text(response)


@pytest.mark.parametrize("language", PORTAL_LANGUAGES)
def test_report_form_old_forged_or_missing_stamp_refused(language, settings):
    settings.PUBLIC_REPORT_MAX_AGE = 60
    client = visitor(language)
    old = client.post("/report/", form_data(stamp=new_stamp(time.time() - 120)))
    assert old.status_code == 400 and SAYS[language]["old"] in text(old)
    forged = client.post("/report/", form_data(stamp="12345:forged:stamp"))
    assert forged.status_code == 400 and SAYS[language]["failed"] in text(forged)
    missing = client.post("/report/", {"url": REPORTED})
    assert missing.status_code == 400 and SAYS[language]["failed"] in text(missing)
    assert Report.objects.count() == 0


@pytest.mark.parametrize("language", PORTAL_LANGUAGES)
def test_report_form_rate_limited_per_client_address(language, settings):
    settings.PUBLIC_REPORT_RATE = "2/hour"
    client = visitor(language, "198.51.100.9")
    for n in range(2):
        assert client.post("/report/", form_data(url=f"http://files.polder.example/{n}")).status_code == 200
    refused = client.post("/report/", form_data(url="http://files.polder.example/typed"))
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 3600
    assert SAYS[language]["many"] in text(refused)
    assert 'value="http://files.polder.example/typed"' in text(refused)  # kept for later, not recorded
    assert Report.objects.count() == 2
    other = visitor(language, "198.51.100.10").post(
        "/report/", form_data(url="http://files.polder.example/z")
    )
    assert other.status_code == 200
    assert RateCounter.objects.filter(bucket="report-form:198.51.100.9").get().hits == 3


@pytest.mark.parametrize("language", PORTAL_LANGUAGES)
def test_report_form_mistakes_do_not_spend_the_reports_of_an_address(language, settings):
    settings.PUBLIC_REPORT_RATE = "2/hour"
    client = visitor(language, "198.51.100.20")
    for _ in range(4):  # a person mistyping the URL, again and again
        mistyped = client.post("/report/", form_data(url="http://"))
        assert mistyped.status_code == 400 and SAYS[language]["host"] in text(mistyped)
    for n in range(2):
        assert client.post("/report/", form_data(url=f"http://files.polder.example/{n}")).status_code == 200
    assert client.post("/report/", form_data(url="http://files.polder.example/3")).status_code == 429
    assert Report.objects.count() == 2


def test_report_form_a_filled_honeypot_spends_a_report_and_every_post_counts(settings):
    settings.PUBLIC_REPORT_RATE = "2/hour"
    settings.PUBLIC_REPORT_ATTEMPT_RATE = "5/hour"
    bot = visitor("en", "198.51.100.21")
    for _ in range(2):
        assert bot.post("/report/", form_data(homepage="http://spam.example/")).status_code == 400
    assert bot.post("/report/", form_data(homepage="http://spam.example/")).status_code == 429
    assert bot.post("/report/", form_data(url="http://files.polder.example/a")).status_code == 429
    person = visitor("en", "198.51.100.22")
    for _ in range(5):
        assert person.post("/report/", form_data(url="http://")).status_code == 400
    refused = person.post("/report/", form_data(url="http://files.polder.example/b"))
    assert refused.status_code == 429 and 0 < int(refused["Retry-After"]) <= 3600
    assert Report.objects.count() == 0
    assert RateCounter.objects.get(bucket="report-form-attempt:198.51.100.22").hits == 6


def test_report_form_rate_limit_counts_an_ipv6_network():
    from django.test import override_settings

    with override_settings(PUBLIC_REPORT_RATE="1/hour"):
        assert visitor("en", "2001:db8:1:2::1").post("/report/", form_data()).status_code == 200
        same_network = visitor("en", "2001:db8:1:2::99").post("/report/", form_data())
        assert same_network.status_code == 429


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"url": "\x00"},
        {"url": "http://files.polder.example/\x00"},
        {"url": "x" * 5000},
        {"url": REPORTED, "notes": "\x00", "stamp": "x"},
        {"url": REPORTED, "notes": "y" * 3000},
        {"url": ["a", "b"], "email": "@" * 300},
        {"url": '"><script>alert(1)</script>', "notes": "</textarea><script>alert(2)</script>"},
    ],
)
def test_report_form_garbage_is_a_400_never_a_500(data):
    response = visitor("en").post("/report/", data)
    assert response.status_code == 400
    assert "<script>alert" not in text(response)
    assert Report.objects.count() == 0


def test_report_form_other_methods_refused():
    assert visitor("en").put("/report/").status_code == 405
