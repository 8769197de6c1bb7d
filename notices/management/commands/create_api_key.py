"""`manage.py create_api_key (--partner NAME | --provider SLUG | --user USERNAME [--inbound-mail])
[--rate N/PERIOD]`: prints only the key."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from notices.enums import KeyScope
from notices.models import HostingProvider, Partner
from notices.models.accounts import validate_key_rate
from notices.services.keys import create_api_key
from notices.services.roles import roles_of


class Command(BaseCommand):
    help = "Create an API key and print it (once) on stdout. The key is stored hashed."

    def add_arguments(self, parser) -> None:
        owner = parser.add_mutually_exclusive_group(required=True)
        owner.add_argument("--partner", help="Partner (intake client) name; created if it does not exist.")
        owner.add_argument("--provider", help="Hosting provider slug (as GET /api/v1/providers/ lists it).")
        owner.add_argument(
            "--user", help="Username of an active staff user with a role; the key acts with its role."
        )
        parser.add_argument("--name", default="", help="A label for the key.")
        parser.add_argument(
            "--rate",
            default="",
            help="The key's own request rate instead of API_THROTTLE_RATE: N/s, N/min, N/hour or N/day "
            "(e.g. 15000/min for a partner posting 200 reports a second).",
        )
        parser.add_argument(
            "--inbound-mail",
            action="store_true",
            help="With --user: a key that can only POST mail to /api/v1/inbound/mail/ (for an MTA pipe).",
        )

        parser.add_argument(
            "--blocklist",
            choices=["hashes", "urls"],
            help="With --partner: a key for GET /api/v1/blocklist/ only (hashes, or the plain URLs).",
        )

    def handle(self, *args, **options) -> None:
        try:
            if options["rate"].strip():
                validate_key_rate(options["rate"].strip())
        except ValidationError as exc:
            raise CommandError(f"--rate {options['rate']!r}: {' '.join(exc.messages)}") from None
        if options["blocklist"] and not options["partner"]:
            raise CommandError("--blocklist needs --partner (the partner who blocks).")
        if options["inbound_mail"] and not options["user"]:
            raise CommandError("--inbound-mail needs --user (the staff user who owns the key).")
        if options["partner"]:
            partner, created = Partner.objects.get_or_create(name=options["partner"])
            if created:
                self.stderr.write(f"Created partner {partner.name!r}.")
            scope = {None: KeyScope.PARTNER, "hashes": KeyScope.BLOCKLIST, "urls": KeyScope.BLOCKLIST_URLS}
            owner = {"scope": scope[options["blocklist"]], "partner": partner}
        elif options["provider"]:
            provider = HostingProvider.objects.filter(slug=options["provider"]).first()
            if provider is None:
                raise CommandError(f"No hosting provider with slug {options['provider']!r}.")
            owner = {"scope": KeyScope.PROVIDER, "provider": provider}
        else:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None or not user.is_active or not user.is_staff:
                raise CommandError(f"No active staff user {options['user']!r}.")
            if not roles_of(user):
                raise CommandError(
                    f"Staff user {user.username!r} has no role: give it one first "
                    f"(manage.py create_staff {user.username} --role analyst|supervisor|auditor)."
                )
            owner = {"scope": KeyScope.INBOUND if options["inbound_mail"] else KeyScope.USER, "user": user}
        key, plaintext = create_api_key(name=options["name"], rate=options["rate"], **owner)
        rate = f", rate {key.rate}" if key.rate else ""
        self.stderr.write(f"Created {key.scope} key {key.prefix}…{rate} (shown once).")
        self.stdout.write(plaintext)
