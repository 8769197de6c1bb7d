from django.apps import AppConfig


class NoticesConfig(AppConfig):
    name = "notices"
    verbose_name = "Takedown notices"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from notices import system_checks  # noqa: F401 - registers the system checks
