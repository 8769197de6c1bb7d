"""The abuse API channels through the outbox, against the providers' local mocks: what is filed, retries
after 5xx and 429 (Retry-After honoured, backoff in the database), exactly one report per request, the
provider's refusal, status polling into events and a "removed" claim with its verification check."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from notices.delivery.channels import CHANNELS
from notices.delivery.channels.base import Context, retry_after
from notices.delivery.outbox import claim_due_messages
from notices.enums import ChannelReportStatus, ItemStatus
from notices.models import ChannelReport, Event, HostingProvider, Notice, NoticeItem, Url
from notices.services.channels import poll_due
from notices.services.delivery import send_claimed
from tests.notices.delivery.channels.conftest import CF_ACCOUNT, CF_TOKEN, set_channel


def deliver_due(at) -> list[str]:
    """One outbox sweep at `at`: claim what is due then, send it."""
    return [send_claimed(pk) for pk in claim_due_messages(now=at, limit=10)]


def kinds(notice) -> list[str]:
    return list(Event.objects.filter(notice=notice).order_by("at", "pk").values_list("kind", flat=True))


# --- The interface, without a server ------------------------------------------------------------------------


def test_cloudflare_requests_split_by_hostname_into_chunks_of_250():
    notice = Notice(reference="TN-2026-000001")
    urls = [
        Url(pk=pk, canonical=f"http://a.polder.example/{pk}.html", host="a.polder.example")
        for pk in range(1, 502)
    ]
    urls += [Url(pk=1000, canonical="http://b.polder.example/x.html", host="b.polder.example")]
    context = Context(notice, urls, {}, {}, "<m@x.invalid>", timezone.now())
    requests = CHANNELS["cloudflare"].requests(context)
    assert [(r.label, len(r.url_ids)) for r in requests] == [
        ("a.polder.example (1/3)", 250),
        ("a.polder.example (2/3)", 250),
        ("a.polder.example (3/3)", 1),
        ("b.polder.example", 1),
    ]
    assert requests[0].url_ids == list(range(1, 251))
    assert [r.position for r in requests] == [0, 1, 2, 3]


def test_aws_requests_one_per_url_with_a_stable_client_token():
    notice = Notice(reference="TN-2026-000007")
    urls = [
        Url(pk=9, canonical="http://a.polder.example/9"),
        Url(pk=3, canonical="http://a.polder.example/3"),
    ]
    context = Context(notice, urls, {}, {}, "<m@x.invalid>", timezone.now())
    assert [(r.url_ids, r.token) for r in CHANNELS["aws_abuse"].requests(context)] == [
        ([3], "TN-2026-000007-u3"),
        ([9], "TN-2026-000007-u9"),
    ]


def test_retry_after_reads_seconds_and_http_dates():
    now = timezone.now().replace(microsecond=0)
    assert retry_after("30") == 30.0
    assert retry_after((now + timedelta(seconds=90)).strftime("%a, %d %b %Y %H:%M:%S GMT"), now=now) == 90.0
    assert retry_after("soon") is None
    assert retry_after(None) is None


def test_cloudflare_validate_names_each_missing_setting():
    errors = CHANNELS["cloudflare"].validate({"account_id": "xyz", "owner_notification": "loud"}, {})
    assert sorted(errors) == [
        "account_id",
        "api_token",
        "owner_notification",
        "reporter_email",
        "reporter_name",
    ]


# --- Cloudflare ---------------------------------------------------------------------------------------------


@pytest.fixture
def two_hosts(make_case, cloudflare_provider, make_notice, now):
    """A notice to the Cloudflare provider naming URLs on two hostnames, queued at `now`."""
    first = make_case("http://files.polder.example/a.html", provider=cloudflare_provider, when=now)
    second = make_case("http://files.polder.example/b.html", provider=cloudflare_provider, when=now)
    third = make_case("http://cdn.polder.example/c.html", provider=cloudflare_provider, when=now)
    return make_notice(first, second, third, now=now)


def test_cloudflare_notice_is_queued_in_the_outbox_not_mailed(two_hosts):
    (message,) = two_hosts.messages.all()
    assert (message.channel, message.recipients, message.status) == ("cloudflare", [], "pending")
    assert two_hosts.status == "queued" and two_hosts.sent_at is None


def test_cloudflare_files_one_report_per_hostname_with_the_required_fields(two_hosts, cloudflare_mock, now):
    assert deliver_due(now) == ["sent"]
    bodies = [json.loads(r["body"]) for r in cloudflare_mock.posts()]
    assert [b["urls"] for b in bodies] == [
        "http://cdn.polder.example/c.html",
        "http://files.polder.example/a.html\nhttp://files.polder.example/b.html",
    ]
    first = cloudflare_mock.posts()[0]
    assert first["path"] == f"/client/v4/accounts/{CF_ACCOUNT}/abuse-reports/abuse_children"
    assert first["headers"]["authorization"].startswith("Bearer cf-test-token")
    flags = ("act", "email", "email2", "host_notification", "owner_notification", "ncmec_notification")
    assert [bodies[0][k] for k in flags] == [
        "abuse_children",
        "reports@hotline.example",
        "reports@hotline.example",
        "send",
        "send",
        "send",
    ]
    assert two_hosts.reference in bodies[0]["justification"]
    reports = list(ChannelReport.objects.filter(notice=two_hosts).order_by("position"))
    assert [(r.label, r.status, r.remote_id in cloudflare_mock.reports) for r in reports] == [
        ("cdn.polder.example", "accepted", True),
        ("files.polder.example", "accepted", True),
    ]
    two_hosts.refresh_from_db()
    assert two_hosts.status == "sent"
    assert two_hosts.sent_at == reports[0].accepted_at  # first notice sent = the first acceptance
    assert kinds(two_hosts).count("notice.channel_accepted") == 2


def test_cloudflare_retries_after_5xx_and_429_and_files_each_report_once(two_hosts, cloudflare_mock, now):
    cloudflare_mock.script = [(503, {}), (429, {"Retry-After": "600"})]
    assert deliver_due(now) == ["pending"]  # 503 on the first hostname
    (message,) = two_hosts.messages.all()
    assert (message.attempts, message.next_attempt_at > now) == (1, True)
    assert deliver_due(message.next_attempt_at) == ["pending"]  # 429 on the same one: wait as it says
    message.refresh_from_db()
    waited = message.next_attempt_at - ChannelReport.objects.get(notice=two_hosts, position=0).created_at
    assert waited >= timedelta(seconds=600)
    assert deliver_due(message.next_attempt_at - timedelta(seconds=1)) == []  # not before Retry-After
    assert deliver_due(message.next_attempt_at) == ["sent"]
    assert deliver_due(message.next_attempt_at + timedelta(days=1)) == []  # nothing left to send
    assert len(cloudflare_mock.reports) == 2  # one report per hostname, never two
    assert len(cloudflare_mock.posts()) == 4
    assert kinds(two_hosts).count("notice.delivery_retry") == 2


def test_cloudflare_crash_after_one_acceptance_never_files_it_again(two_hosts, cloudflare_mock, now):
    cloudflare_mock.script = [("lost", 200), (500, {})]  # the first is filed and answered; the second fails
    assert deliver_due(now) == ["pending"]
    (message,) = two_hosts.messages.all()
    assert deliver_due(message.next_attempt_at) == ["sent"]
    assert len(cloudflare_mock.reports) == 2
    filed = [json.loads(r["body"])["urls"] for r in cloudflare_mock.posts()]
    assert filed.count("http://cdn.polder.example/c.html") == 1  # accepted once, never again


def test_cloudflare_refusal_fails_the_notice_with_the_reason(
    make_case, provider, cloudflare_mock, make_notice, now
):
    set_channel(
        provider,
        "cloudflare",
        {
            "account_id": "ffffffffffffffffffffffffffffffff",
            "reporter_name": "Desk",
            "reporter_email": "reports@hotline.example",
            "api_base": cloudflare_mock.api_base,
        },
        {"api_token": CF_TOKEN},
    )
    notice = make_notice(make_case(provider=provider, when=now), now=now)
    assert deliver_due(now) == ["failed"]
    notice.refresh_from_db()
    assert notice.status == "failed"
    report = ChannelReport.objects.get(notice=notice)
    assert report.status == ChannelReportStatus.REJECTED
    assert report.last_error.startswith("HTTP 403: 10403 Not entitled")
    assert "notice.channel_rejected" in kinds(notice)
    assert cloudflare_mock.reports == {}


def test_cloudflare_mock_refuses_what_the_api_refuses(cloudflare_mock):
    from notices.delivery.channels.base import call

    def post(body, token=CF_TOKEN):
        return call(
            "POST",
            f"{cloudflare_mock.api_base}/accounts/{CF_ACCOUNT}/abuse-reports/abuse_children",
            body=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )

    good = {
        "act": "abuse_children",
        "email": "r@hotline.example",
        "email2": "r@hotline.example",
        "name": "Desk",
        "urls": "http://a.polder.example/1",
        "justification": "CSAM",
        "host_notification": "send",
        "ncmec_notification": "send",
        "owner_notification": "none",
    }
    assert post(good).status == 200
    assert post(good, token="wrong").status == 401
    assert post({**good, "urls": "http://a.polder.example/1\nhttp://b.polder.example/2"}).status == 400
    many = "\n".join(f"http://a.polder.example/{n}" for n in range(251))
    assert post({**good, "urls": many}).status == 400
    assert post({**good, "email2": "other@hotline.example"}).status == 400
    assert post({**good, "host_notification": "none"}).status == 400
    assert post({key: value for key, value in good.items() if key != "justification"}).status == 400
    assert post({**good, "justification": "x" * 5001}).status == 400
    assert len(cloudflare_mock.reports) == 1


def test_channel_settings_broken_retries_without_calling_the_api(two_hosts, cloudflare_mock, now):
    HostingProvider.objects.filter(pk=two_hosts.provider_id).update(channel_config={})
    assert deliver_due(now) == ["pending"]
    (message,) = two_hosts.messages.all()
    assert message.last_error.startswith("channel settings: account_id: This setting is required")
    assert cloudflare_mock.requests == []


def test_channel_without_credentials_key_retries_and_says_why(two_hosts, cloudflare_mock, settings, now):
    settings.CHANNEL_CREDENTIALS_KEY = ""
    assert deliver_due(now) == ["pending"]
    assert two_hosts.messages.get().last_error.startswith("CHANNEL_CREDENTIALS_KEY is not set")
    assert cloudflare_mock.requests == []


def test_withdrawn_notice_files_nothing(two_hosts, cloudflare_mock, analyst, now):
    from notices.services.lifecycle import withdraw

    withdraw(notices=[two_hosts], reason="sent_in_error", user=analyst, now=now)
    assert deliver_due(now) == []
    assert cloudflare_mock.requests == []


# --- AWS Abuse Signal ---------------------------------------------------------------------------------------


@pytest.fixture
def aws_notice(make_case, aws_provider, make_notice, now):
    first = make_case("http://files.polder.example/a.html", provider=aws_provider, when=now)
    second = make_case("http://files.polder.example/b.html", provider=aws_provider, when=now)
    return make_notice(first, second, now=now)


def test_aws_files_the_notices_own_xarf_signed_with_sigv4(aws_notice, aws_mock, now):
    assert deliver_due(now) == ["sent"]
    bodies = [json.loads(r["body"]) for r in aws_mock.posts()]
    item_ids = sorted(aws_notice.items.values_list("url_id", flat=True))
    assert [b["clientToken"] for b in bodies] == [f"{aws_notice.reference}-u{pk}" for pk in item_ids]
    assert {b["correlationId"] for b in bodies} == {aws_notice.reference}
    report = bodies[0]["report"]
    assert (report["category"], report["type"], report["url"]) == (
        "content",
        "csam",
        "http://files.polder.example/a.html",
    )
    assert "evidence" not in report
    assert aws_mock.posts()[0]["headers"]["authorization"].startswith(
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/"
    )
    assert len(aws_mock.reports) == 2
    assert set(ChannelReport.objects.filter(notice=aws_notice).values_list("remote_id", flat=True)) == set(
        aws_mock.reports
    )


def test_aws_lost_answer_and_throttling_file_each_report_once(aws_notice, aws_mock, now):
    aws_mock.script = [("lost", 500), (429, {"Retry-After": "120"})]
    assert deliver_due(now) == ["pending"]  # filed at AWS, but the answer was a 500
    (message,) = aws_notice.messages.all()
    assert deliver_due(message.next_attempt_at) == ["pending"]  # throttled
    message.refresh_from_db()
    assert deliver_due(message.next_attempt_at) == ["sent"]
    assert len(aws_mock.reports) == 2  # the client token made the repeat the same report
    assert [json.loads(r["body"])["clientToken"] for r in aws_mock.posts()].count(
        f"{aws_notice.reference}-u{min(aws_notice.items.values_list('url_id', flat=True))}"
    ) == 3


def test_aws_bad_signature_is_refused_by_the_mock(aws_notice, aws_provider, aws_mock, now):
    set_channel(
        aws_provider,
        "aws_abuse",
        aws_provider.channel_config,
        {"access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": "not-the-secret"},
    )
    assert deliver_due(now) == ["failed"]
    report = ChannelReport.objects.filter(notice=aws_notice).first()
    assert report.last_error == (
        "HTTP 403: AccessDeniedException: The request signature we calculated does not match the signature "
        "you provided"
    )
    assert aws_mock.reports == {}


def test_aws_status_polling_records_events_acknowledges_and_claims_removed(aws_notice, aws_mock, now):
    assert deliver_due(now) == ["sent"]
    ids = sorted(aws_notice.items.values_list("url_id", flat=True))
    later = now + timedelta(hours=1)
    assert poll_due(now=later, limit=10) == 2  # QUEUED, as filed: nothing changed
    assert kinds(aws_notice).count("notice.channel_status") == 0
    assert poll_due(now=later + timedelta(hours=1), limit=10) == 2  # PROCESSING: acknowledged
    aws_notice.refresh_from_db()
    assert aws_notice.acknowledged_at is not None and aws_notice.status == "acknowledged"
    done = later + timedelta(hours=2)
    assert poll_due(now=done, limit=10) == 2  # COMPLETED, ACTIONED: a removed claim, checked at once
    assert poll_due(now=done + timedelta(days=1), limit=10) == 0  # completed reports are not polled again
    assert (
        list(NoticeItem.objects.filter(notice=aws_notice).values_list("status", flat=True))
        == [ItemStatus.REPORTED_REMOVED] * 2
    )
    assert list(Url.objects.filter(pk__in=ids).values_list("next_check_at", flat=True)) == [done, done]
    assert list(Url.objects.filter(pk__in=ids).values_list("removal_confirmed_at", flat=True)) == [None, None]
    events = Event.objects.filter(notice=aws_notice, kind="notice.channel_status").order_by("at", "id")
    statuses = [e.data["status"] for e in events]
    assert statuses == ["PROCESSING", "PROCESSING", "COMPLETED", "COMPLETED"]
    responses = list(aws_notice.responses.order_by("pk").values_list("action", flat=True))
    assert responses == ["acknowledge", "removed", "removed"]


def test_aws_outcome_not_resolvable_is_recorded_as_not_our_customer(aws_notice, aws_mock, now):
    aws_mock.statuses = [("COMPLETED", "NOT_RESOLVABLE_TO_AWS")]
    deliver_due(now)
    poll_due(now=now + timedelta(hours=1), limit=10)
    aws_notice.refresh_from_db()
    assert aws_notice.status == "disputed"
    assert set(aws_notice.responses.values_list("action", flat=True)) == {"not_our_customer"}


# --- The webhook as a channel -------------------------------------------------------------------------------


def test_webhook_channel_posts_the_signed_notice_once_through_the_outbox(
    make_case, provider, make_notice, now, settings
):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    from notices.delivery import webhooks
    from notices.delivery.webhooks import enqueue_new_deliveries, register_webhook
    from notices.models import WebhookDelivery
    from tests.notices.delivery.channels.mocks import MockServer

    class Receiver(MockServer):
        def handle(self, method, path, headers, body):
            return (200 if self.requests else 500), {}, {}

    receiver = Receiver().start()
    try:
        endpoint = register_webhook(provider=provider, url=f"{receiver.base}/hook", created_by=None, now=now)
        provider.channel = "webhook"
        provider.save(update_fields=["channel"])
        notice = make_notice(make_case(provider=provider, when=now), now=now)
        receiver.requests.append({"warm": True})  # the first delivery below is answered 200
        assert deliver_due(now) == ["sent"]
        (request,) = receiver.requests[1:]
        signature = request["headers"]["x-takedown-signature"]
        timestamp = int(signature.split(",")[0].removeprefix("t="))
        assert signature == webhooks.sign(endpoint.secret, request["body"], timestamp)
        assert json.loads(request["body"])["notice"]["reference"] == notice.reference
        assert request["headers"]["x-takedown-delivery"] == notice.messages.get().message_id
        assert enqueue_new_deliveries(now=now + timedelta(minutes=1), limit=10) == 0  # no second delivery
        assert WebhookDelivery.objects.count() == 0
    finally:
        receiver.stop()


def test_channel_attempts_read_in_words_on_the_timeline(two_hosts, cloudflare_mock, now):
    from notices.selectors.timeline import event_text

    cloudflare_mock.script = [(503, {})]
    deliver_due(now)
    deliver_due(two_hosts.messages.get().next_attempt_at)
    events = Event.objects.filter(notice=two_hosts).order_by("at", "pk")
    words = {e.kind: event_text(e) for e in events if e.kind != "notice.channel_accepted"}
    assert words["notice.delivery_retry"].startswith(
        "The notice was not taken yet (attempt 1); retried later: HTTP 503: 1000"
    )
    (first, _second) = [event_text(e) for e in events if e.kind == "notice.channel_accepted"]
    report = ChannelReport.objects.get(notice=two_hosts, position=0).remote_id
    assert first == (
        f"Filed with the provider's abuse API (cloudflare): cdn.polder.example, 1 URL(s), report {report}."
    )
    assert words["notice.sent"].startswith("Notice delivered")
