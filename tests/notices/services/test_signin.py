"""The sign-in limits (notices/services/signin.py) with time as a parameter: per name and client with growing
delays, per client, per name for unseen clients; names nobody has behave like real ones; attempts under way
count."""

from __future__ import annotations

from datetime import timedelta

import pytest

from notices.enums import SignInOutcome
from notices.infra import ratelimit
from notices.models import AuditEvent, LoginAttempt, RateCounter
from notices.services import signin
from notices.tasks import purge_limit_records

pytestmark = pytest.mark.django_db

ATTACKER, OWNER = "192.0.2.10", "198.51.100.20"


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create_user("desk-owner", password="owner-pass-2026")


@pytest.fixture
def policy(settings):
    settings.SIGNIN_FREE_FAILURES = 2
    settings.SIGNIN_DELAY = 10
    settings.SIGNIN_DELAY_MAX = 80
    settings.SIGNIN_FAILURE_MEMORY = 86400
    settings.SIGNIN_ADDRESS_LIMIT = 100
    settings.SIGNIN_ADDRESS_WINDOW = 300
    settings.SIGNIN_ACCOUNT_LIMIT = 100
    settings.SIGNIN_ACCOUNT_WINDOW = 3600
    settings.SIGNIN_KNOWN_CLIENT_AGE = 90 * 86400
    return settings


def fail(name: str, ip: str, at) -> signin.Refusal | None:
    """One attempt as a login view makes it: ask, and when allowed, fail. Returns the refusal, if any."""
    refused = signin.refusal(username=name, ip=ip, now=at)
    if refused is None:
        signin.record_failure(username=name, ip=ip, now=at)
    return refused


def wait_of(name: str, ip: str, at) -> float | None:
    """Seconds this attempt must wait, or None when it may be made (it is then ended as passed)."""
    refused = signin.refusal(username=name, ip=ip, now=at)
    if refused is None:
        LoginAttempt.objects.filter(outcome=SignInOutcome.PENDING).update(outcome=SignInOutcome.PASSED)
        return None
    assert refused.status == 429
    return (refused.until - at).total_seconds()


def test_delays_grow_by_doubling_up_to_the_cap(policy, owner, now):
    at = now
    assert [fail("desk-owner", ATTACKER, at) for _ in range(2)] == [None, None]  # free
    waits = []
    for _ in range(6):
        wait = wait_of("desk-owner", ATTACKER, at)
        waits.append(wait)
        at += timedelta(seconds=wait)
        assert wait_of("desk-owner", ATTACKER, at - timedelta(seconds=1)) == pytest.approx(1)  # not earlier
        assert fail("desk-owner", ATTACKER, at) is None
    assert waits == [10, 20, 40, 80, 80, 80]
    assert delay_table() == [0, 0, 10, 20, 40, 80, 80]


def delay_table() -> list[float]:
    return [signin.delay_after(n).total_seconds() for n in range(7)]


def test_a_wrong_password_from_one_address_does_not_lock_the_owner_out_of_another(policy, owner, now):
    for i in range(10):
        fail("desk-owner", ATTACKER, now + timedelta(seconds=100 * i))
    later = now + timedelta(seconds=901)  # a second after the tenth failure
    assert wait_of("desk-owner", ATTACKER, later) == 79
    assert wait_of("desk-owner", OWNER, later) is None


def test_unknown_and_known_names_get_the_same_answers(policy, owner, now):
    def answers(name: str, ip: str) -> list:
        seen = []
        for i in range(8):
            at = now + timedelta(seconds=7 * i)
            refused = fail(name, ip, at)
            seen.append(None if refused is None else (refused.status, refused.until - at))
        return seen

    known = answers("desk-owner", "192.0.2.30")
    unknown = answers("nobody-here", "192.0.2.31")
    assert known == unknown
    assert known[:2] == [None, None] and known[2] == (429, timedelta(seconds=3))  # 10 s after the 2nd at 7 s


def test_a_success_from_that_client_starts_over(policy, owner, now):
    fail("desk-owner", ATTACKER, now)
    fail("desk-owner", ATTACKER, now)
    assert wait_of("desk-owner", ATTACKER, now) == 10
    later = now + timedelta(seconds=10)
    assert signin.refusal(username="desk-owner", ip=ATTACKER, now=later) is None
    signin.record_success(user=owner, ip=ATTACKER, now=later)
    assert fail("desk-owner", ATTACKER, later) is None
    assert wait_of("desk-owner", ATTACKER, later) is None  # one failure since the success: still free


def test_failures_older_than_the_memory_no_longer_count(policy, owner, now):
    policy.SIGNIN_FAILURE_MEMORY = 3600
    fail("desk-owner", ATTACKER, now)
    fail("desk-owner", ATTACKER, now)
    assert wait_of("desk-owner", ATTACKER, now + timedelta(seconds=5)) == 5
    assert wait_of("desk-owner", ATTACKER, now + timedelta(seconds=3601)) is None


def test_the_client_limit_counts_every_name(policy, now):
    policy.SIGNIN_ADDRESS_LIMIT = 5
    for i in range(5):
        assert fail(f"name-{i}", ATTACKER, now + timedelta(seconds=i)) is None
    at = now + timedelta(seconds=10)
    assert wait_of("name-new", ATTACKER, at) == 290  # until the oldest of the five leaves the window
    assert wait_of("name-new", "192.0.2.11", at) is None  # another client


def test_an_ipv6_client_is_its_slash_64(policy, now):
    policy.SIGNIN_ADDRESS_LIMIT = 2
    fail("a", "2001:db8:0:7::1", now)
    fail("b", "2001:db8:0:7:ffff::2", now)
    assert wait_of("c", "2001:db8:0:7::3", now) == 300
    assert wait_of("c", "2001:db8:0:8::1", now) is None
    assert set(LoginAttempt.objects.values_list("client", flat=True)) == {"2001:db8:0:7::", "2001:db8:0:8::"}


def test_the_account_cap_holds_back_only_clients_the_owner_never_used(policy, owner, now):
    policy.SIGNIN_ACCOUNT_LIMIT = 5
    signin.refusal(username="desk-owner", ip=OWNER, now=now - timedelta(days=30))
    signin.record_success(user=owner, ip=OWNER, now=now - timedelta(days=30))
    for i in range(5):  # a botnet: one guess per address, never enough for the per-client delays
        assert fail("desk-owner", f"203.0.113.{i}", now + timedelta(seconds=i)) is None
    at = now + timedelta(seconds=60)
    assert wait_of("desk-owner", "203.0.113.99", at) == 3600 - 60
    assert wait_of("nobody-here", "203.0.113.99", at) is None  # another name
    assert wait_of("desk-owner", OWNER, at) is None  # where the owner signed in before
    # The owner somewhere new resets the password from there (signin.record_success): let in at once.
    signin.record_success(user=owner, ip="192.0.2.77", now=at)
    assert wait_of("desk-owner", "192.0.2.77", at) is None
    assert wait_of("desk-owner", "203.0.113.99", at + timedelta(seconds=3540)) is None  # the window moved on


def test_the_account_cap_treats_unknown_names_alike(policy, owner, now):
    policy.SIGNIN_ACCOUNT_LIMIT = 3
    for name in ("desk-owner", "nobody-here"):
        for i in range(3):
            fail(name, f"203.0.113.{i}", now)
    assert wait_of("desk-owner", "203.0.113.50", now) == wait_of("nobody-here", "203.0.113.50", now) == 3600


def test_attempts_under_way_count_before_their_passwords_are_checked(policy, owner, now):
    policy.SIGNIN_FREE_FAILURES = 1
    assert signin.refusal(username="desk-owner", ip=ATTACKER, now=now) is None  # its request still runs
    parallel = signin.refusal(username="desk-owner", ip=ATTACKER, now=now)
    assert parallel is not None and parallel.until == now + timedelta(seconds=10)
    # A request that died leaves its attempt under way: it stops counting after OPEN_ATTEMPT_TIMEOUT.
    assert signin.refusal(username="desk-owner", ip=ATTACKER, now=now + signin.OPEN_ATTEMPT_TIMEOUT) is None


def test_an_ended_attempt_is_the_one_under_way(policy, owner, now):
    assert signin.refusal(username="desk-owner", ip=ATTACKER, now=now) is None
    signin.record_failure(username="desk-owner", ip=ATTACKER, now=now + timedelta(seconds=1))
    # A failure recorded without asking first is recorded all the same.
    signin.record_failure(username="desk-owner", ip=ATTACKER, now=now + timedelta(seconds=2))
    assert signin.refusal(username="desk-owner", ip=OWNER, now=now) is None
    signin.record_first_factor(user=owner, ip=OWNER, now=now)
    rows = LoginAttempt.objects.order_by("pk").values_list("client", "outcome")
    assert list(rows) == [(ATTACKER, "failed"), (ATTACKER, "failed"), (OWNER, "passed")]


def test_the_first_delay_is_audited_once_for_a_real_account(policy, owner, now):
    for i in range(6):
        fail("desk-owner", ATTACKER, now + timedelta(minutes=10 * i))
        fail("nobody-here", ATTACKER, now + timedelta(minutes=10 * i))
    (row,) = AuditEvent.objects.filter(action="signin.delayed")
    assert (row.object_id, row.ip, row.data) == (str(owner.pk), ATTACKER, {"failures": 2})


def test_purge_forgets_what_no_limit_counts(policy, owner, now):
    old, recent = now - timedelta(days=2), now - timedelta(minutes=5)
    for at in (old, recent):
        signin.record_failure(username="desk-owner", ip=ATTACKER, now=at)
    signin.record_success(user=owner, ip=OWNER, now=now - timedelta(days=89))
    signin.record_success(user=owner, ip=OWNER, now=now - timedelta(days=91))
    ratelimit.count("api-addr:192.0.2.1", "5/min", now=now.timestamp() - 3 * 86400)
    ratelimit.count("api-addr:192.0.2.2", "5/min", now=now.timestamp())
    assert purge_limit_records() == 3
    assert sorted(LoginAttempt.objects.values_list("outcome", "at")) == [
        ("failed", recent),
        ("succeeded", now - timedelta(days=89)),
    ]
    assert list(RateCounter.objects.values_list("bucket", flat=True)) == ["api-addr:192.0.2.2"]
