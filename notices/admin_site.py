"""The admin site: navigation grouped by the analyst's tasks instead of Django's one list per app.

The index and the sidebar of every admin page show the groups of `NAVIGATION` in order (intake, cases,
notices, providers, registry data, statistics and reports, settings, audit), each with its models and pages
in the order an analyst uses them. Each entry is shown only to a user who may see it: a model as Django
decides (view or change permission), a page by the permission it names. A registered model no group names
goes to "Other", so nothing registered is ever unreachable. `/admin/<app>/` keeps Django's per-app list.

Installed by `TrackerAdminConfig` (in INSTALLED_APPS instead of "django.contrib.admin"): a module outside
`notices.admin`, so the admin package's own imports (which register models on this site) never run while the
site is being made.
"""

from __future__ import annotations

from django.contrib.admin import AdminSite
from django.contrib.admin.apps import AdminConfig
from django.urls import reverse

# Group key → (title, what it is for, entries). An entry is a model ("app_label.ModelName") or a page
# ("page:URL name|permission|title").
NAVIGATION = [
    (
        "intake",
        "Intake",
        "Reports coming in: by hand, by API, by mail.",
        [
            "page:admin:notices_url_enter|notices.add_report|Enter reports",
            "notices.Report",
            "notices.InboundMessage",
            "notices.Partner",
        ],
    ),
    (
        "cases",
        "Cases",
        "Each URL reported: assessment, hosting trace, checks, escalation, timeline.",
        [
            "notices.Url",
            "notices.Assessment",
            "notices.HostingTrace",
            "notices.HostingOverride",
            "notices.Check",
            "notices.Escalation",
            "notices.StepRun",
            "notices.Referral",
            "notices.ClockStop",
            "notices.AnalystAlert",
            "notices.Event",
        ],
    ),
    (
        "notices",
        "Notices",
        "Notices to providers, their mail, and what providers answered.",
        [
            "notices.Notice",
            "notices.RemovalOrder",
            "notices.OutgoingMessage",
            "notices.ProviderResponse",
            "notices.ProviderQuestion",
            "notices.AnalystReply",
        ],
    ),
    (
        "providers",
        "Providers",
        "Hosting providers, their contacts, portal accounts and webhooks.",
        [
            "notices.HostingProvider",
            "notices.ProviderContact",
            "notices.ProviderMembership",
            "notices.Invitation",
            "notices.WebhookEndpoint",
            "notices.WebhookDelivery",
        ],
    ),
    (
        "registry",
        "Registry data",
        "Address blocks and the imports they came from.",
        ["notices.RoutingPrefix", "notices.RegistryImport"],
    ),
    (
        "reports",
        "Statistics and reports",
        "The dashboard, and the reports a hotline publishes.",
        [
            "page:dashboard|notices.view_statssnapshot|Dashboard",
            "page:transparency|notices.view_statssnapshot|Transparency report",
            "page:trusted_flagger_report|notices.view_statssnapshot|DSA Art. 22(3) trusted-flagger report",
        ],
    ),
    (
        "settings",
        "Settings",
        "Templates, escalation ladders, retention, API keys, staff and roles.",
        [
            "notices.NoticeTemplate",
            "notices.EscalationPolicy",
            "notices.RetentionPolicy",
            "notices.ApiKey",
            "auth.User",
            "auth.Group",
        ],
    ),
    ("audit", "Audit", "Who read and changed what.", ["notices.AuditEvent"]),
]
OTHER = ("other", "Other", "Pages no group names.")


class TrackerAdminSite(AdminSite):
    site_header = "Takedown notice tracker"
    site_title = "Takedown notice tracker"
    index_title = "Analyst workspace"

    def get_app_list(self, request, app_label=None):
        if app_label is not None:
            return super().get_app_list(request, app_label)
        models = {
            f"{app['app_label']}.{entry['object_name']}": entry
            for app in self._build_app_dict(request).values()
            for entry in app["models"]
        }
        groups = []
        for key, title, about, entries in NAVIGATION:
            shown = [item for entry in entries if (item := _entry(request, entry, models)) is not None]
            if shown:
                groups.append(_group(key, title, about, shown))
        rest = [models[label] for label in sorted(models) if label not in _NAMED]
        if rest:
            groups.append(_group(*OTHER, rest))
        return groups


_NAMED = {entry for _key, _title, _about, entries in NAVIGATION for entry in entries}


def _entry(request, entry: str, models: dict) -> dict | None:
    if not entry.startswith("page:"):
        return models.get(entry)
    name, permission, title = entry.removeprefix("page:").split("|")
    if not request.user.has_perm(permission):
        return None
    return {
        "name": title,
        "object_name": name.rsplit(":", 1)[-1],
        "admin_url": reverse(name),
        "add_url": None,
        "view_only": True,
        "perms": {"view": True},
    }


def _group(key: str, title: str, about: str, entries: list[dict]) -> dict:
    return {
        "name": title,
        "app_label": key,
        "app_url": f"{reverse('admin:index')}#group-{key}",
        "description": about,
        "has_module_perms": True,
        "models": entries,
    }


class TrackerAdminConfig(AdminConfig):
    default_site = "notices.admin_site.TrackerAdminSite"
