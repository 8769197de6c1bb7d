from django.apps import AppConfig


class NoticesConfig(AppConfig):
    name = "notices"
    verbose_name = "Takedown notices"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here, not at the top: these modules load models, and the app registry is ready only now.
        from notices import system_checks  # noqa: F401, PLC0415 (registers the system checks)
        from notices.demo.takedown import on_removal_reported  # noqa: PLC0415 (see above)
        from notices.services.signals import removal_reported  # noqa: PLC0415 (see above)

        removal_reported.connect(on_removal_reported, dispatch_uid="demo-take-down")
