"""`manage.py create_staff USERNAME --role analyst|supervisor|auditor [--email ADDRESS] [--password-stdin]`:
create a staff user with a role, or give an existing user that role (README "Roles"). The first supervisor is
made this way; later staff are made by a supervisor in the admin or here."""

import getpass
import sys

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from notices.services.roles import ROLE_NAMES, assign_role


class Command(BaseCommand):
    help = (
        "Create a staff user with a role (analyst, supervisor or auditor), or give an existing user that "
        "role. A new user's password is asked for twice, or read from the first line of stdin with "
        "--password-stdin."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=sorted(ROLE_NAMES), help="The user's role.")
        parser.add_argument("--email", default="", help="E-mail address (new users).")
        parser.add_argument(
            "--password-stdin",
            action="store_true",
            help="Read the password from stdin (for a new user; for an existing one it replaces the old).",
        )

    def handle(self, *args, **options) -> None:
        users = get_user_model().objects
        user = users.filter(username=options["username"]).first()
        created = user is None
        password = None
        if created or options["password_stdin"]:
            password = self._password(options, user or get_user_model()(username=options["username"]))
        with transaction.atomic():
            if created:
                user = users.create_user(options["username"], options["email"], password)
            elif password is not None:
                user.set_password(password)
                user.save(update_fields=["password"])
            role = ROLE_NAMES[options["role"]]
            assign_role(user=user, role=role, actor="system:create_staff")
        self.stderr.write(f"{'Created' if created else 'Updated'} staff user {user.username!r} ({role}).")
        if not user.is_active:
            self.stderr.write("The user is inactive: it cannot sign in until a supervisor activates it.")

    def _password(self, options, user) -> str:
        if options["password_stdin"]:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = getpass.getpass("Password: ")
            if getpass.getpass("Password (again): ") != password:
                raise CommandError("The two passwords differ.")
        if not password:
            raise CommandError("The password is empty.")
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        return password
