"""`create_api_key` and `load_demo`: the commands INTERFACES.md and `make run` rely on."""

import io

import pytest
from django.core.management import CommandError, call_command

from notices.models import ApiKey, HostingProvider, Partner
from notices.services.keys import find_api_key


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_create_api_key_partner_prints_only_the_key_and_creates_the_partner():
    out, err = run("create_api_key", "--partner", "Hotline Example")

    key = out.strip()
    assert "\n" not in key and key.startswith("tt_")
    assert find_api_key(key).partner == Partner.objects.get(name="Hotline Example")
    assert "Created partner" in err
    assert ApiKey.objects.get().key_hash != key  # stored hashed


@pytest.mark.django_db
def test_create_api_key_provider_and_user_must_exist(provider, analyst, django_user_model):
    out, _ = run("create_api_key", "--provider", provider.slug)
    assert find_api_key(out.strip()).provider == provider
    out, _ = run("create_api_key", "--user", analyst.username)
    assert find_api_key(out.strip()).user == analyst
    with pytest.raises(CommandError, match="No hosting provider"):
        run("create_api_key", "--provider", "no-such-provider")
    django_user_model.objects.create_user("visitor", password="visitor-pass-123")
    with pytest.raises(CommandError, match="No active staff user"):
        run("create_api_key", "--user", "visitor")
    assert ApiKey.objects.count() == 2


@pytest.mark.django_db
def test_load_demo_is_idempotent_and_uses_reserved_names_only():
    run("load_demo")
    _, err = run("load_demo")

    assert "already loaded" in err
    assert HostingProvider.objects.count() == 4
    for provider in HostingProvider.objects.prefetch_related("contacts"):
        assert all(contact.email.endswith(".example") for contact in provider.contacts.all())


@pytest.mark.django_db
def test_load_demo_makes_one_staff_user_per_role_and_no_superuser(django_user_model):
    from notices.demo.network import USERS
    from notices.services.roles import roles_of

    run("load_demo")

    for username, role in (("analyst", "Analyst"), ("supervisor", "Supervisor"), ("auditor", "Auditor")):
        user = django_user_model.objects.get(username=username)
        assert (user.is_staff, user.is_superuser, roles_of(user)) == (True, False, [role])
        assert user.check_password(USERS[username])
    assert not django_user_model.objects.filter(is_superuser=True).exists()


# --- create_staff -------------------------------------------------------------------------------------------


def _create_staff(monkeypatch, *args, stdin: str = "") -> str:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return run("create_staff", *args)[1]


@pytest.mark.django_db
def test_create_staff_makes_the_first_supervisor_with_the_password_from_stdin(monkeypatch, django_user_model):
    from notices.models import AuditEvent
    from notices.services.roles import roles_of

    args = ["chief", "--role", "supervisor", "--email", "chief@hotline.example", "--password-stdin"]
    err = _create_staff(monkeypatch, *args, stdin="a long pass phrase 2026\n")

    user = django_user_model.objects.get(username="chief")
    assert (user.is_staff, user.is_superuser, user.email) == (True, False, "chief@hotline.example")
    assert user.check_password("a long pass phrase 2026")
    assert roles_of(user) == ["Supervisor"]
    assert "Created staff user 'chief' (Supervisor)." in err
    assert AuditEvent.objects.get(action="staff.roles").actor == "system:create_staff"


@pytest.mark.django_db
def test_create_staff_prompts_twice_and_refuses_different_passwords(monkeypatch, django_user_model):
    answers = iter(["a long pass phrase 2026", "another pass phrase 2026"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    with pytest.raises(CommandError, match="The two passwords differ"):
        run("create_staff", "chief", "--role", "analyst")
    assert not django_user_model.objects.filter(username="chief").exists()

    answers = iter(["a long pass phrase 2026"] * 2)
    run("create_staff", "chief", "--role", "analyst")
    assert django_user_model.objects.get(username="chief").check_password("a long pass phrase 2026")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("password", "message"), [("", "The password is empty"), ("chief", "too similar|too short|too common")]
)
def test_create_staff_refuses_an_empty_or_weak_password(monkeypatch, django_user_model, password, message):
    with pytest.raises(CommandError, match=message):
        _create_staff(monkeypatch, "chief", "--role", "auditor", "--password-stdin", stdin=password + "\n")
    assert not django_user_model.objects.filter(username="chief").exists()


@pytest.mark.django_db
def test_create_staff_gives_an_existing_user_its_one_new_role_and_keeps_the_password(monkeypatch, analyst):
    from notices.services.roles import roles_of

    err = _create_staff(monkeypatch, "analyst", "--role", "auditor")

    analyst.refresh_from_db()
    assert roles_of(analyst) == ["Auditor"]
    assert analyst.check_password("analyst-pass-123")
    assert "Updated staff user 'analyst' (Auditor)." in err


@pytest.mark.django_db
def test_create_staff_refuses_an_unknown_role(monkeypatch):
    with pytest.raises(CommandError, match="invalid choice: 'root'"):
        _create_staff(monkeypatch, "chief", "--role", "root", "--password-stdin", stdin="x\n")


@pytest.mark.django_db
def test_create_api_key_refuses_a_staff_user_without_a_role(django_user_model):
    from tests.conftest import staff_with_role

    staff_with_role("roleless", None)
    with pytest.raises(CommandError, match="has no role"):
        run("create_api_key", "--user", "roleless")
    with pytest.raises(CommandError, match="has no role"):
        run("create_api_key", "--user", "roleless", "--inbound-mail")
    staff_with_role("root", None, superuser=True)
    with pytest.raises(CommandError, match="has no role"):
        run("create_api_key", "--user", "root")
    assert ApiKey.objects.count() == 0


@pytest.mark.django_db
def test_create_api_key_blocklist_scopes_need_a_partner():
    out, _ = run("create_api_key", "--partner", "Blocking ISP", "--blocklist", "hashes")
    key = find_api_key(out.strip())
    assert (key.scope, key.partner.name) == ("blocklist", "Blocking ISP")
    out, _ = run("create_api_key", "--partner", "Blocking ISP", "--blocklist", "urls")
    assert find_api_key(out.strip()).scope == "blockurls"
    with pytest.raises(CommandError, match="--blocklist needs --partner"):
        run("create_api_key", "--user", "nobody", "--blocklist", "hashes")
