"""Staff roles: Analyst, Supervisor, Auditor — Django groups whose permissions come from one table, `ROLES`.

A role is a group of model permissions. Django's admin checks them on every page (`has_*_permission`), the
admin actions name the ones they need (`allowed_permissions`), and a staff API key acts with its user's
(notices/api/auth.py). The table says, per role, which actions on which models the role may take:

- `view` reads, `add` creates, `change` edits and runs the actions that move a case or a notice on
  (assess, trace, check, send …), `delete` deletes; `export` is a model's own `export_<model>` permission
  (declared in its Meta.permissions, e.g. the audit log's CSV export).
- A model is named `app_label.model_name`; a name may end in `*` (`notices.*` is every model of the app,
  `notices.retention*` every model whose name starts so), so models and permissions added later are granted
  as soon as migrate creates them.
- A permission is granted by its codename (`<action>_<model_name>`) when it exists; one the table names
  but the database lacks is simply not granted yet.

`sync_roles` makes the groups hold exactly what the table says: migration 0024 calls it, and so does every
`migrate` afterwards (post_migrate, notices/apps.py), because Django creates the permissions of new models
only after the migrations have run. A permission given to a role group by hand is taken away at the next
migrate: the table is the truth. Superusers are for set-up only (`manage.py create_staff`, README "Roles").
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from django.apps import apps as global_apps
from django.contrib.auth.models import Group
from django.db import transaction

from notices.infra.events import audit

ANALYST, SUPERVISOR, AUDITOR = "Analyst", "Supervisor", "Auditor"

READ = frozenset({"view"})
EVERYTHING = frozenset({"view", "add", "change", "delete"})

_ANALYST = {
    # Intake: reports from partners, the report form or the analyst's own key; partners are looked up.
    "notices.report": {"view", "add"},
    "notices.partner": READ,
    # Cases: assessing, tracing, checking, referring and handing off change the case (URL); its assessments
    # and traces are added, hosting overrides made and corrected. Nothing of a case is ever deleted.
    "notices.url": {"view", "change"},
    "notices.assessment": {"view", "add"},
    "notices.hostingtrace": {"view", "add"},
    "notices.hostingoverride": {"view", "add", "change"},
    "notices.check": READ,
    "notices.removalcycle": READ,
    "notices.event": READ,
    "notices.escalation": READ,
    "notices.escalationpolicy": READ,
    "notices.escalationstep": READ,
    "notices.steprun": READ,
    "notices.referral": {"view", "change"},  # change: export the referred URLs
    "notices.networklink": READ,  # other hotlines' references (written by hand-off and import)
    "notices.analystalert": {"view", "change"},  # change: acknowledge, resolve
    # Law-enforcement holds (placed from the cases' page) and pauses: change clears and ends them. Removal
    # orders recorded on their notices, their clocks paused and resumed.
    "notices.clockstop": {"view", "add", "change"},
    "notices.removalorder": {"view", "add", "change"},
    "notices.orderpause": READ,
    # Notices: created from cases and sent (queued in the outbox); their mails are read.
    "notices.notice": {"view", "add", "change"},
    "notices.noticeitem": READ,
    "notices.outgoingmessage": READ,
    # Provider threads and disputes: responses and questions read, replies written, mail received.
    "notices.providerresponse": READ,
    "notices.providerquestion": READ,
    "notices.analystreply": {"view", "add"},
    "notices.inboundmessage": {"view", "add"},
    # Providers, their contacts, portal users, webhooks, routing data and the notice templates: read only.
    "notices.hostingprovider": READ,
    "notices.providercontact": READ,
    "notices.providermembership": READ,
    "notices.invitation": READ,
    "notices.webhookendpoint": READ,
    "notices.webhookdelivery": READ,
    "notices.routingprefix": READ,
    "notices.registryimport": READ,
    "notices.noticetemplate": READ,
    # Statistics (the dashboard and GET /api/v1/stats/…).
    "notices.statssnapshot": READ,
}

_SUPERVISOR_ALSO = {
    # Providers with their contacts, dispatch and escalation settings (merging providers deletes the merged).
    "notices.hostingprovider": EVERYTHING,
    "notices.providercontact": EVERYTHING,
    "notices.providermembership": EVERYTHING,
    "notices.routingprefix": EVERYTHING,
    "notices.hostingoverride": EVERYTHING,
    "notices.partner": {"view", "add", "change"},
    "notices.invitation": {"view", "add", "change"},
    "notices.webhookendpoint": {"view", "change"},
    "notices.noticetemplate": EVERYTHING,
    "notices.escalationpolicy": EVERYTHING,
    "notices.escalationstep": EVERYTHING,
    # API keys (revoked here; created with `create_api_key`).
    "notices.apikey": {"view", "change"},
    # Staff users and their roles (never superuser rights, never a group's permissions: UserAdmin).
    "auth.user": {"view", "add", "change"},
    "auth.group": READ,
    # Retention settings, the audit log, and every export a model declares (reports, the audit log …).
    "notices.retention*": {"view", "add", "change"},
    "notices.auditevent": {"view", "export"},
    "notices.*": {"export"},
}

_AUDITOR = {
    # Read-only everywhere, staff users and roles included; the audit log read and exported.
    "notices.*": READ,
    "auth.user": READ,
    "auth.group": READ,
    "notices.auditevent": {"view", "export"},
}


def _union(*tables: dict) -> dict[str, frozenset[str]]:
    merged: dict[str, frozenset[str]] = {}
    for table in tables:
        for model, actions in table.items():
            merged[model] = merged.get(model, frozenset()) | frozenset(actions)
    return merged


# role (group name) → model (`app_label.model_name`, may end in `*`) → actions.
ROLES: dict[str, dict[str, frozenset[str]]] = {
    ANALYST: _union(_ANALYST),
    SUPERVISOR: _union(_ANALYST, _SUPERVISOR_ALSO),
    AUDITOR: _union(_AUDITOR),
}
# The names `create_staff --role` takes.
ROLE_NAMES = {name.lower(): name for name in ROLES}


def grants(role: str, *, app_label: str, model: str, codename: str) -> bool:
    """Whether `role` holds the permission `codename` of `app_label.model` (a codename `<action>_<model>`)."""
    action, _, rest = codename.partition("_")
    if rest != model:
        return False
    label = f"{app_label}.{model}"
    return any(fnmatchcase(label, pattern) and action in acts for pattern, acts in ROLES[role].items())


def sync_roles(*, apps=global_apps, using: str = "default") -> None:
    """Create the role groups and give each exactly the permissions `ROLES` names that exist (see above)."""
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    permissions = list(
        permission_model.objects.using(using).values_list(
            "pk", "codename", "content_type__app_label", "content_type__model"
        )
    )
    with transaction.atomic(using=using):
        for role in ROLES:
            group, _ = group_model.objects.using(using).get_or_create(name=role)
            wanted = {
                pk
                for pk, codename, app_label, model in permissions
                if grants(role, app_label=app_label, model=model, codename=codename)
            }
            held = set(group.permissions.values_list("pk", flat=True))
            if wanted != held:
                group.permissions.remove(*(held - wanted))
                group.permissions.add(*(wanted - held))


def roles_of(user) -> list[str]:
    """The user's roles (the role groups it is in), in the table's order."""
    names = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
    return [role for role in ROLES if role in names]


def assign_role(*, user, role: str, actor: str) -> None:
    """Make `role` (one of `ROLES`) the user's only role, and the user staff: it leaves the other role
    groups (groups that are not roles stay). Writes the audit row `staff.roles`."""
    with transaction.atomic():
        user.is_staff = True
        user.save(update_fields=["is_staff"])
        user.groups.remove(*Group.objects.filter(name__in=ROLES).exclude(name=role))
        user.groups.add(Group.objects.get(name=role))
        record_role_change(user=user, actor=actor)


def record_role_change(*, user, actor: str, ip: str | None = None) -> None:
    """Audit row `staff.roles` with the user's roles as they are now (after a change in the admin or by
    `create_staff`)."""
    audit(actor=actor, action="staff.roles", obj=user, ip=ip, data={"roles": roles_of(user)})
