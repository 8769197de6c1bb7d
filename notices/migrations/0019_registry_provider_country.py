"""Providers created from registry data before this release have no country, so they counted as outside the
EU. Give each one without a country the country the data already in the database names for it, in the trace's
precedence: its organisation's (active RIPE generation), else its most specific inetnum's, else the country its
most recent traces located it in (registry, RIR delegated, MMDB or routing data; never an override, which is
about one URL, nor the provider's own). "EU" and the like mean unknown. Providers with a country keep it.
"""

from django.db import migrations
from django.db.models import F, Func, IntegerField

UNKNOWN_COUNTRIES = frozenset({"", "EU", "ZZ", "AP", "XX"})
LOCATING_SOURCES = ("registry", "delegated", "mmdb", "routing")


def usable_country(raw: str | None) -> str:
    """The first token, upper-case, if it is an ISO 3166-1 alpha-2 code and not one meaning unknown."""
    tokens = (raw or "").split()
    token = tokens[0].upper() if tokens else ""
    return token if len(token) == 2 and token.isalpha() and token not in UNKNOWN_COUNTRIES else ""


def _registry_country(apps, generation_id: int | None, handles: list[str]) -> str:
    if generation_id is None or not handles:
        return ""
    organisations = apps.get_model("notices", "Organisation").objects.filter(generation_id=generation_id)
    for handle in handles:
        for raw in organisations.filter(handle=handle).values_list("country", flat=True):
            if code := usable_country(raw):
                return code
    inetnums = (
        apps.get_model("notices", "Inetnum")
        .objects.filter(generation_id=generation_id, org__in=handles)
        .annotate(masklen=Func(F("cidr"), function="masklen", output_field=IntegerField()))
        .order_by("-masklen", "-first_ip")
    )
    for raw in inetnums.values_list("country", flat=True).iterator():
        if code := usable_country(raw):
            return code
    return ""


def _traced_country(apps, provider_id: int) -> str:
    traces = apps.get_model("notices", "HostingTrace").objects.filter(
        provider_id=provider_id, country_source__in=LOCATING_SOURCES
    )
    for raw in traces.order_by("-traced_at", "-id").values_list("country", flat=True)[:20]:
        if code := usable_country(raw):
            return code
    return ""


def fill_provider_countries(apps, schema_editor) -> None:
    provider_model = apps.get_model("notices", "HostingProvider")
    generation_id = (
        apps.get_model("notices", "RegistryImport")
        .objects.filter(dataset="ripe", status="active")
        .values_list("pk", flat=True)
        .first()
    )
    for pk, handles in provider_model.objects.filter(country="").values_list("pk", "org_handles").iterator():
        handles = [h for h in handles or [] if isinstance(h, str) and h]
        code = _registry_country(apps, generation_id, handles) or _traced_country(apps, pk)
        if code:
            provider_model.objects.filter(pk=pk, country="").update(country=code)


class Migration(migrations.Migration):
    dependencies = [("notices", "0018_outbox_rendered_parts")]

    operations = [
        # Not reversible in meaning (which rows were empty is not kept); reversing leaves the countries.
        migrations.RunPython(fill_provider_countries, migrations.RunPython.noop, elidable=True),
    ]
