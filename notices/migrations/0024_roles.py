"""Staff roles (README "Roles"): the groups Analyst, Supervisor and Auditor with the permissions of the role
table in notices/services/roles.py; members of the old all-permissions group "Analysts" become Analysts.

Django creates content types and permissions only after all migrations have run (post_migrate), so on a new
database they are created here first; every later migrate syncs the groups again (notices/apps.py)."""

from django.contrib.auth.management import create_permissions
from django.contrib.contenttypes.management import create_contenttypes
from django.db import migrations

from notices.services.roles import ANALYST, sync_roles

OLD_GROUP = "Analysts"


def create_roles(apps, schema_editor):
    using = schema_editor.connection.alias
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_contenttypes(app_config, verbosity=0, using=using, apps=apps)
        create_permissions(app_config, verbosity=0, using=using, apps=apps)
        app_config.models_module = None
    sync_roles(apps=apps, using=using)
    group = apps.get_model("auth", "Group")
    old = group.objects.using(using).filter(name=OLD_GROUP).first()
    if old is not None:
        analyst = group.objects.using(using).get(name=ANALYST)
        analyst.user_set.add(*old.user_set.all())
        old.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("notices", "0023_lifecycle"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
