"""Working the queue on the URL list: the queues with their live counts, the filters, and the search.

Queues (`?queue=KEY`, notices/selectors/queues.py) are links with counts above the list and on the admin
index. Filters: queue, status, provider, hosting country, EU member state (yes/no), ASN, notice type, and date
ranges (reported, first notice, removed). The search box takes a notice reference, a case id, a host (every
case on it), an IP address, a provider's name, or a URL pasted as it came — defanged
("hxxps://evil[.]example/…") too: it is refanged and canonicalised, and finds its case by the canonical URL's
hash.
"""

from __future__ import annotations

import ipaddress
import re

from django.db.models import Q
from django.utils import timezone

from notices.admin.audit import InputFilter, _moment
from notices.admin.common import OfferedChoicesFilter
from notices.canonical import InvalidUrl, canonicalize, refang
from notices.checks.classify import Outcome
from notices.enums import NoticeType, ReportChannel
from notices.models import EU_COUNTRIES, HostingProvider, HostingTrace, NoticeItem, Report
from notices.selectors.queues import QUEUES, active_queues, queue_condition

_REFERENCE = re.compile(r"TN-\d{4}-\d+", re.I)
_COUNTRY = re.compile(r"[A-Za-z]{2}")
_ASN = re.compile(r"(?:AS)?(\d{1,10})", re.I)
_CASE_ID = re.compile(r"#?(\d{1,18})")


class QueueFilter(OfferedChoicesFilter):
    title = "queue"
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return list(active_queues().items())

    def offered_values(self) -> list[str]:
        return list(QUEUES)  # "to verify" applies while four-eyes verification is off too (it is not shown)

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        return queryset.filter(queue_condition(value, now=timezone.now()))


class AssignedFilter(OfferedChoicesFilter):
    """Whose cases: mine (the signed-in analyst's), nobody's, or anybody's assigned."""

    title = "assigned to"
    parameter_name = "assigned"

    def lookups(self, request, model_admin):
        return [("me", "Me (my cases)"), ("nobody", "Nobody"), ("anybody", "Anybody")]

    def queryset(self, request, queryset):
        if self.value() == "me":
            return queryset.filter(assigned_to=request.user)
        if self.value() == "nobody":
            return queryset.filter(assigned_to__isnull=True)
        if self.value() == "anybody":
            return queryset.filter(assigned_to__isnull=False)
        return queryset


def _hosting_country(countries) -> Q:
    """Cases hosted in one of `countries`: the current trace's country, else the provider's (as routing
    decides, notices.services.routing.hosting_country)."""
    untraced_country = Q(current_trace__isnull=True) | Q(current_trace__country="")
    return Q(current_trace__country__in=countries) | (untraced_country & Q(provider__country__in=countries))


class HostingCountryFilter(InputFilter):
    title = "hosting country"
    parameter_name = "country"
    placeholder = "ISO code, e.g. NL"

    def filter(self, queryset, value):
        if not _COUNTRY.fullmatch(value):
            raise ValueError(f"{value!r} is not a two-letter country code")
        return queryset.filter(_hosting_country([value.upper()]))


class EuFilter(OfferedChoicesFilter):
    title = "hosted in an EU member state"
    parameter_name = "eu"

    def lookups(self, request, model_admin):
        return [("yes", "Yes"), ("no", "No (hosting country known, outside the EU)")]

    def queryset(self, request, queryset):
        in_eu = _hosting_country(sorted(EU_COUNTRIES))
        if self.value() == "yes":
            return queryset.filter(in_eu)
        if self.value() == "no":
            known = Q(current_trace__country__gt="") | Q(provider__country__gt="")
            return queryset.filter(known).exclude(in_eu)
        return queryset


class AsnFilter(InputFilter):
    title = "ASN (current trace)"
    parameter_name = "asn"
    placeholder = "e.g. AS64500"

    def filter(self, queryset, value):
        match = _ASN.fullmatch(value)
        if match is None or int(match[1]) >= 2**32:
            raise ValueError(f"{value!r} is not an AS number")
        return queryset.filter(current_trace__asn=int(match[1]))


class NoticeTypeFilter(OfferedChoicesFilter):
    title = "notice type"
    parameter_name = "notice_type"

    def lookups(self, request, model_admin):
        return NoticeType.choices

    def queryset(self, request, queryset):
        if self.value() not in NoticeType.values:
            return queryset
        items = NoticeItem.objects.filter(notice__notice_type=self.value())
        return queryset.filter(pk__in=items.values("url_id"))


class ChannelFilter(OfferedChoicesFilter):
    """Cases with a report that came by one channel: `?channel=public` is the public form's queue (the
    partial index `report_public_idx` serves it)."""

    title = "reported via"
    parameter_name = "channel"

    def lookups(self, request, model_admin):
        return ReportChannel.choices

    def queryset(self, request, queryset):
        if self.value() not in ReportChannel.values:
            return queryset
        return queryset.filter(pk__in=Report.objects.filter(channel=self.value()).values("url_id"))


class SiteFilter(InputFilter):
    """Every case of one site (a registrable domain or an IP address, notices.canonical.site_of): a host or
    URL typed here is reduced to its site."""

    title = "site"
    parameter_name = "site"
    placeholder = "e.g. example.com"

    def filter(self, queryset, value):
        return queryset.filter(site=site_of_input(value))


def site_of_input(value: str) -> str:
    """The site a typed site, host or URL (defanged too) names; ValueError when it names none."""
    try:
        return canonicalize(refang(value.strip())).site
    except InvalidUrl as exc:
        raise ValueError(exc.message) from None


def _date_filter(field: str, label: str, name: str, *, until: bool) -> type[InputFilter]:
    """A filter on `field` from a date (inclusive) or until a date (inclusive)."""

    def filter_(self, queryset, value):
        lookup = f"{field}__lt" if until else f"{field}__gte"
        return queryset.filter(**{lookup: _moment(value, end_of_day=until)})

    title = f"{label} {'until (inclusive)' if until else 'from'}"
    attrs = {"title": title, "parameter_name": name, "input_type": "date", "filter": filter_}
    return type(f"{name.title().replace('_', '')}Filter", (InputFilter,), attrs)


DATE_FILTERS = [
    _date_filter(field, label, f"{key}_{end}", until=end == "until")
    for field, label, key in (
        ("first_reported_at", "reported", "reported"),
        ("first_notice_sent_at", "first notice", "notified"),
        ("removed_high", "removed", "removed"),
    )
    for end in ("from", "until")
]


class LastOutcomeFilter(OfferedChoicesFilter):
    """The last check's outcome, from the checker's list (Django's field filter would read every distinct
    value of the column on each page: a scan of the whole URL table)."""

    title = "last check"
    parameter_name = "last_outcome"

    def lookups(self, request, model_admin):
        return [("none", "never checked"), *((o.value, o.value.replace("_", " ")) for o in Outcome)]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "none":
            return queryset.filter(last_outcome="")
        if value in {o.value for o in Outcome}:
            return queryset.filter(last_outcome=value)
        return queryset


URL_FILTERS = [
    QueueFilter,
    AssignedFilter,
    ChannelFilter,
    SiteFilter,
    "status",
    "provider",
    HostingCountryFilter,
    EuFilter,
    AsnFilter,
    NoticeTypeFilter,
    *DATE_FILTERS,
    LastOutcomeFilter,
]


def search_condition(term: str) -> Q:
    """The cases a search term finds (see the module's docstring); the URL itself by its canonical hash (the
    unique index), never by a substring scan of the URLs. Every alternative is a condition on the URL table
    an index answers, so PostgreSQL ORs their index scans: the providers named are looked up first (a small
    table) and matched by the index on the provider, a host by `url_host_idx`, an IP address by
    `trace_ip_idx`."""
    term = term.strip()
    named = list(HostingProvider.objects.filter(name__icontains=term).values_list("pk", flat=True)[:1000])
    found = Q(provider_id__in=named) if named else Q(pk__in=[])
    if _REFERENCE.fullmatch(term):
        items = NoticeItem.objects.filter(notice__reference=term.upper())
        return Q(pk__in=items.values("url_id"))
    if _CASE_ID.fullmatch(term):
        found |= Q(pk=int(_CASE_ID.fullmatch(term)[1]))
    try:
        address = ipaddress.ip_address(term.strip("[]"))
    except ValueError:
        pass
    else:
        traced = Q(pk__in=HostingTrace.objects.filter(ip=str(address)).values("url_id"))
        return (found | traced) if named else traced
    try:
        canon = canonicalize(refang(term))
    except InvalidUrl:
        return found
    found |= Q(canonical_hash=canon.hash)
    if canon.path == "/" and canon.query is None:  # a host (or a site's root): every case on the host
        found |= Q(host=canon.host)
    return found
