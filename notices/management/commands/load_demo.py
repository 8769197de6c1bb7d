from django.core.management.base import BaseCommand

from notices.demo.data import demo_loaded, load_demo_data


class Command(BaseCommand):
    help = "Load the demo providers, networks, users and a few reports (reserved names only). Idempotent."

    def handle(self, *args, **options) -> None:
        if demo_loaded():
            self.stderr.write("Demo data already loaded.")
            return
        load_demo_data()
        self.stderr.write(self.style.SUCCESS("Demo data loaded."))
