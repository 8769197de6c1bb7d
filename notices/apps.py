from django.apps import AppConfig


class NoticesConfig(AppConfig):
    name = "notices"
    verbose_name = "Takedown notices"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from notices import system_checks  # noqa: F401 - registers the system checks
        from notices.demo.takedown import on_removal_reported
        from notices.services.signals import removal_reported

        removal_reported.connect(on_removal_reported, dispatch_uid="demo-take-down")
