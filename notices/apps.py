from django.apps import AppConfig
from django.apps import apps as global_apps
from django.db.models.signals import post_migrate


def _sync_roles(sender, using, apps=global_apps, **kwargs) -> None:
    """After every migrate (and every flush: it empties the groups too) the role groups hold the role table's
    permissions, those of models added since included: Django creates permissions only after migrations."""
    from notices.services.roles import sync_roles  # noqa: PLC0415 (loads models; runs after ready())

    try:
        apps.get_model("auth", "Group")
    except LookupError:  # migrated back before auth: no groups to hold roles
        return
    sync_roles(apps=apps, using=using)


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
        # On every app's signal, not only this one's: auth's permissions (staff users) are created in its own,
        # which comes after this app's.
        post_migrate.connect(_sync_roles, dispatch_uid="notices-sync-roles")
