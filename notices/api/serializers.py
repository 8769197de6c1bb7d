"""Request and response shapes of the REST API."""

from __future__ import annotations

import math

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from notices.canonical import defang
from notices.enums import (
    WITHDRAW_CHOICES,
    AgeBand,
    CheckOutcome,
    Classification,
    ClockStart,
    CloseReason,
    DetectionMethod,
    HashAlgorithm,
    LegalBasis,
    Legality,
    MediaType,
    NetworkClassification,
    NoticeStatus,
    NoticeType,
    OrderPauseReason,
    OutcomeReason,
    PaymentMethod,
    ResponseAction,
    SiteType,
    UrlStatus,
    VictimGender,
)
from notices.models import Check, ClockStop, HostingTrace, RemovalOrder, Url
from notices.selectors.matching import same_material
from notices.selectors.representations import (  # noqa: F401 (the API's serializers, re-exported)
    NoticeItemSerializer,
    NoticeSerializer,
    ProviderSerializer,
    ResponseSerializer,
)
from notices.services import blocklist
from notices.services.lifecycle import NOTE_MAX_LENGTH, reason_problems
from notices.services.orders import clock
from notices.services.report_fields import ReportCreateSerializer  # noqa: F401 (re-exported)


class UrlBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    canonical = serializers.CharField()
    status = serializers.ChoiceField(choices=UrlStatus.choices)


class ReportResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    receipt = serializers.CharField()
    duplicate = serializers.BooleanField()
    url = UrlBriefSerializer()
    same_material_as = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="Ids of other cases holding one of the report's hash values (the same material).",
    )


class IntervalSerializer(serializers.Serializer):
    low = serializers.DateTimeField(allow_null=True)
    high = serializers.DateTimeField(allow_null=True)


class SecondsIntervalSerializer(serializers.Serializer):
    low = serializers.IntegerField(allow_null=True)
    high = serializers.IntegerField(allow_null=True)


class CaseStateSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=UrlStatus.choices)
    purged = serializers.BooleanField(help_text="The case's URL was removed by the retention purge.")
    first_notice_sent_at = serializers.DateTimeField(
        allow_null=True, help_text="First notice sent (INTERFACES.md): accepted by SMTP, or handed off."
    )
    removal_confirmed_at = serializers.DateTimeField(allow_null=True)
    removed = IntervalSerializer(
        help_text="The removal interval: [last live, first gone]; null until removed."
    )
    ttr = SecondsIntervalSerializer(
        help_text="Time to removal in seconds: last live − sent, first gone − sent; null until removed."
    )
    closed_at = serializers.DateTimeField(allow_null=True, help_text="Closed by an analyst.")


class ReceiptStatusSerializer(serializers.Serializer):
    receipt = serializers.CharField()
    external_ref = serializers.CharField(allow_blank=True)
    reported_at = serializers.DateTimeField()
    received_at = serializers.DateTimeField()
    duplicate = serializers.BooleanField()
    url = UrlBriefSerializer()
    case = CaseStateSerializer()


class BulkItemResultSerializer(serializers.Serializer):
    index = serializers.IntegerField(
        help_text="The item's position in the batch (the CSV data row's, from 0)."
    )
    line = serializers.IntegerField(
        required=False, help_text="CSV only: the line the row starts on (header: 1)."
    )
    id = serializers.IntegerField(required=False)
    receipt = serializers.CharField(required=False)
    duplicate = serializers.BooleanField(required=False)
    url = UrlBriefSerializer(required=False)
    same_material_as = serializers.ListField(child=serializers.IntegerField(), required=False)
    errors = serializers.DictField(
        child=serializers.JSONField(),
        required=False,
        help_text=(
            "Field errors by field: a list of messages, or for a nested field (hashes) its errors by item "
            'index, e.g. `{"hashes": {"0": {"value": ["…"]}}}`.'
        ),
    )


class BulkResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    rejected = serializers.IntegerField()
    results = BulkItemResultSerializer(many=True)


class TraceSerializer(serializers.ModelSerializer):
    provider = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    intermediary = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = HostingTrace
        fields = [
            "id",
            "traced_at",
            "host",
            "ips",
            "cnames",
            "ip",
            "prefix",
            "asn",
            "provider",
            "country",
            "is_eu",
            "abuse_emails",
            "sources",
            "error",
            "is_hop",
            "org_handle",
            "allocation_holder",
            "origin_as_org",
            "country_source",
            "intermediary",
            "origin_unknown",
            "override",
        ]


class CheckSerializer(serializers.ModelSerializer):
    outcome = serializers.ChoiceField(choices=CheckOutcome.choices)

    class Meta:
        model = Check
        fields = [
            "checked_at",
            "outcome",
            "status_code",
            "final_url",
            "error_class",
            "resolved_ip",
            "elapsed_ms",
            "redirects",
            "vantage",
        ]


class AssessmentSerializer(serializers.Serializer):
    legality = serializers.ChoiceField(choices=Legality.choices)
    classification = serializers.ChoiceField(choices=Classification.choices, required=False, allow_blank=True)
    detection_method = serializers.ChoiceField(choices=DetectionMethod.choices, default="manual_review")
    media_type = serializers.ChoiceField(choices=MediaType.choices, required=False, allow_blank=True)
    severity = serializers.IntegerField(min_value=1, max_value=5, required=False, allow_null=True)
    legal_basis = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    notes = serializers.CharField(max_length=10_000, required=False, allow_blank=True, default="")
    created_at = serializers.DateTimeField(read_only=True)
    # The hotline network's shared vocabulary (ICCAM); `network_classification` follows from `legality`.
    network_classification = serializers.ChoiceField(choices=NetworkClassification.choices, read_only=True)
    age_band = serializers.ChoiceField(choices=AgeBand.choices, required=False, allow_blank=True, default="")
    victim_gender = serializers.ChoiceField(
        choices=VictimGender.choices, required=False, allow_blank=True, default=""
    )
    virtual_content = serializers.BooleanField(required=False, default=False)
    user_generated = serializers.BooleanField(required=False, default=False)
    child_modelling = serializers.BooleanField(required=False, default=False)
    site_type = serializers.ChoiceField(
        choices=SiteType.choices, required=False, allow_blank=True, default=""
    )
    commercial = serializers.BooleanField(required=False, allow_null=True, default=None)
    payment_methods = serializers.ListField(
        child=serializers.ChoiceField(choices=PaymentMethod.choices),
        required=False,
        default=list,
        max_length=20,
    )
    outcome_reason = serializers.ChoiceField(
        choices=OutcomeReason.choices, required=False, allow_blank=True, default=""
    )

    def validate(self, attrs: dict) -> dict:
        if attrs.get("payment_methods") and attrs.get("commercial") is False:
            raise serializers.ValidationError(
                {"payment_methods": ["Payment methods are seen only on a commercial site."]}
            )
        return attrs


class UrlSerializer(serializers.ModelSerializer):
    status = serializers.ChoiceField(choices=UrlStatus.choices)
    defanged = serializers.SerializerMethodField()
    provider = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    country = serializers.SerializerMethodField()
    removal = serializers.SerializerMethodField()
    ttr = serializers.SerializerMethodField()

    class Meta:
        model = Url
        fields = [
            "id",
            "canonical",
            "defanged",
            "original",
            "host",
            "site",
            "status",
            "provider",
            "country",
            "first_reported_at",
            "assessed_at",
            "first_notice_sent_at",
            "removal_confirmed_at",
            "closed_at",
            "removal",
            "ttr",
            "reappearance_count",
            "last_checked_at",
            "last_outcome",
            "next_check_at",
            "purged_at",
        ]

    def get_defanged(self, url: Url) -> str:
        return defang(url.canonical)

    def get_country(self, url: Url) -> str:
        return url.current_trace.country if url.current_trace else ""

    @extend_schema_field(IntervalSerializer)
    def get_removal(self, url: Url) -> dict:
        return {"low": url.removed_low, "high": url.removed_high}

    @extend_schema_field(SecondsIntervalSerializer)
    def get_ttr(self, url: Url) -> dict:
        return {"low": url.ttr_low, "high": url.ttr_high}


class SameMaterialSerializer(serializers.Serializer):
    """Another case sharing a hash value with this one: the same material, on its own host and provider."""

    id = serializers.IntegerField()
    canonical = serializers.CharField(help_text="Empty once the retention purge removed the URL.")
    site = serializers.CharField()
    status = serializers.ChoiceField(choices=UrlStatus.choices)
    provider = serializers.CharField(allow_null=True, help_text="The provider's slug, or null (not traced).")
    algorithms = serializers.ListField(child=serializers.ChoiceField(choices=HashAlgorithm.choices))


class UrlDetailSerializer(UrlSerializer):
    assessment = serializers.SerializerMethodField()
    trace = TraceSerializer(source="current_trace", read_only=True)
    hops = serializers.SerializerMethodField()
    notices = serializers.SerializerMethodField()
    checks = serializers.SerializerMethodField()
    reports = serializers.IntegerField(source="reports.count", read_only=True)
    same_material = serializers.SerializerMethodField()

    class Meta(UrlSerializer.Meta):
        fields = [
            *UrlSerializer.Meta.fields,
            "assessment",
            "trace",
            "hops",
            "notices",
            "checks",
            "reports",
            "same_material",
        ]

    @extend_schema_field(SameMaterialSerializer(many=True))
    def get_same_material(self, url: Url):
        return [
            {
                "id": match.url.pk,
                "canonical": match.url.canonical,
                "site": match.url.site,
                "status": match.url.status,
                "provider": match.url.provider.slug if match.url.provider else None,
                "algorithms": list(match.algorithms),
            }
            for match in same_material(url.pk)
        ]

    @extend_schema_field(AssessmentSerializer(allow_null=True))
    def get_assessment(self, url: Url):
        return AssessmentSerializer(url.current_assessment).data if url.current_assessment else None

    @extend_schema_field(TraceSerializer(many=True))
    def get_hops(self, url: Url):
        return TraceSerializer(url.traces.filter(is_hop=True).order_by("-traced_at")[:50], many=True).data

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_notices(self, url: Url):
        return [
            {
                "reference": i.notice.reference,
                "status": i.notice.status,
                "item_status": i.status,
                "sent_at": i.notice.sent_at,
            }
            for i in url.notice_items.select_related("notice").order_by("-notice_id")
        ]

    @extend_schema_field(CheckSerializer(many=True))
    def get_checks(self, url: Url):
        return CheckSerializer(url.checks.order_by("-checked_at")[:50], many=True).data


class NoticeCreateSerializer(serializers.Serializer):
    urls = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1, max_length=1000)
    notice_type = serializers.ChoiceField(choices=NoticeType.choices, default=NoticeType.HOTLINE_NOTICE)
    deadline_at = serializers.DateTimeField(required=False)
    send = serializers.BooleanField(default=False, help_text="Queue each notice for delivery at once.")


class _ReasonSerializer(serializers.Serializer):
    """A reason and a note, checked as the lifecycle service checks them (the note is required with
    `other`)."""

    reason_choices: list = []
    note = serializers.CharField(
        max_length=NOTE_MAX_LENGTH,
        required=False,
        allow_blank=True,
        default="",
        help_text="Free text for the timeline; required when the reason is `other`.",
    )

    def validate(self, attrs):
        problems = reason_problems(attrs["reason"], attrs["note"], self.reason_choices)
        if problems:
            raise serializers.ValidationError(problems)
        return attrs


class CloseSerializer(_ReasonSerializer):
    reason_choices = CloseReason.choices
    reason = serializers.ChoiceField(choices=CloseReason.choices, help_text="Why the case is closed.")


class WithdrawSerializer(_ReasonSerializer):
    reason_choices = WITHDRAW_CHOICES
    reason = serializers.ChoiceField(
        choices=WITHDRAW_CHOICES, help_text="Why the notice is withdrawn (the provider sees it)."
    )


class ResponseCreateSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=ResponseAction.choices)
    urls = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, max_length=1000)
    message = serializers.CharField(max_length=10_000, required=False, allow_blank=True, default="")
    statement_of_reasons = serializers.DictField(required=False, default=dict)

    def validate(self, attrs):
        if (
            attrs["action"] in {ResponseAction.REFUSED, ResponseAction.NEED_INFO}
            and not attrs["message"].strip()
        ):
            raise serializers.ValidationError({"message": ["Say why (a reason or what you need)."]})
        return attrs

    def validate_statement_of_reasons(self, value: dict) -> dict:
        problem = _unstorable_json(value)
        if problem:
            raise serializers.ValidationError(problem)
        return value


def _unstorable_json(value) -> str | None:
    """Why PostgreSQL's jsonb would reject `value` (a 500 if it reached the database), or None.

    jsonb stores no NUL character and no Infinity/NaN (JsonParser already refuses lone surrogates and depth).
    """
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, float) and not math.isfinite(item):
            return "Numbers must be finite."
        elif isinstance(item, str) and "\x00" in item:
            return "Text must not contain NUL characters."
    return None


class StrictQuerySerializer(serializers.Serializer):
    """Query parameters where an unknown one is a 400 with a message under its name, never silently ignored
    (`format` is the renderer's own)."""

    def to_internal_value(self, data):
        known = set(self.fields) | {"format"}
        unknown = sorted(set(data) - known)
        if unknown:
            known_list = ", ".join(sorted(self.fields))
            message = f"Unknown parameter. Known: {known_list}." if known_list else "No parameter is taken."
            raise serializers.ValidationError({name: [message] for name in unknown})
        return super().to_internal_value(data)


class FlagQueryField(serializers.BooleanField):
    """A yes/no filter: `true` or `false` (or 1 / 0 …); absent or empty (as a form sends it), no filter. Any
    other value, `null` too, is a 400: never a filter silently left out."""

    def __init__(self, **kwargs):
        super().__init__(required=False, default=None, **kwargs)
        # Absent from the query: the default (None, no filter), not the form convention of False.
        self.default_empty_html = empty


# The hotline network's vocabulary, as statistics dimensions (notices/selectors/stats.py NETWORK_GROUPS).
NETWORK_GROUP_BY = [
    "classification",
    "site_type",
    "age_band",
    "victim_gender",
    "virtual_content",
    "user_generated",
    "child_modelling",
    "commercial",
    "payment_method",
    "outcome_reason",
]
STATS_GROUP_BY = ["provider", "asn", "country", "month", "member_state", *NETWORK_GROUP_BY]


class StatsQuerySerializer(StrictQuerySerializer):
    group_by = serializers.ChoiceField(
        choices=STATS_GROUP_BY,
        default="provider",
        help_text="`member_state`: the EU member states only, each with its `share` of every case the "
        "filters select (in the EU or not). The hotline network's vocabulary, from each case's current "
        "assessment (computed live; a case without the value, or not assessed, is in the group whose key is "
        "null): `classification` (ICCAM: baseline / national / not_illegal), `site_type`, `age_band`, "
        "`victim_gender`, the flags `virtual_content`, `user_generated`, `child_modelling` and `commercial` "
        "(keys true / false; commercial null: not determined), `payment_method` (a case counts under every "
        "method seen on its site, so counts can add up to more than the cases) and `outcome_reason`.",
    )
    since = serializers.DateTimeField(required=False, help_text="First notice at or after.")
    until = serializers.DateTimeField(required=False, help_text="First notice before.")
    notice_type = serializers.ChoiceField(choices=NoticeType.choices, required=False)
    provider = serializers.SlugField(required=False, help_text="Provider at notice time (slug).")
    country = serializers.RegexField(r"^[A-Za-z]{2}$", required=False, help_text="Country at notice time.")
    asn = serializers.IntegerField(min_value=0, max_value=4_294_967_295, required=False)
    eu = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="`true`: cases hosted in an EU member state at notice time; `false`: all others.",
    )
    # The network vocabulary's filters: the case's current assessment has the value (computed live).
    classification = serializers.ChoiceField(
        choices=NetworkClassification.choices, required=False, help_text="ICCAM classification of the case."
    )
    site_type = serializers.ChoiceField(choices=SiteType.choices, required=False)
    age_band = serializers.ChoiceField(
        choices=AgeBand.choices,
        required=False,
        help_text="Apparent age band of the youngest person depicted.",
    )
    victim_gender = serializers.ChoiceField(choices=VictimGender.choices, required=False)
    virtual_content = FlagQueryField(help_text="Virtual, drawn or AI-generated material.")
    user_generated = FlagQueryField(help_text="Self- or user-generated material.")
    child_modelling = FlagQueryField(help_text="Child modelling material.")
    commercial = FlagQueryField(help_text="A commercial site (`false`: determined not commercial).")
    payment_method = serializers.ChoiceField(
        choices=PaymentMethod.choices,
        required=False,
        help_text="Cases where this payment method was seen on the site.",
    )
    outcome_reason = serializers.ChoiceField(choices=OutcomeReason.choices, required=False)
    fresh = serializers.BooleanField(
        default=False,
        help_text="Compute now instead of serving the snapshot (slow at scale). Without it the answer is the "
        "snapshot only while it includes every change and is recent, else live; `source`, `as_of` and "
        "`age_seconds` say which and how old.",
    )


class YearQuerySerializer(StrictQuerySerializer):
    year = serializers.IntegerField(min_value=2000, max_value=2100)


class TrustedFlaggerQuerySerializer(YearQuerySerializer):
    notice_type = serializers.ChoiceField(
        choices=[("trusted_flagger", "Trusted-flagger notices"), ("all", "Every notice type")],
        required=False,
        default="trusted_flagger",
    )


class ListQuerySerializer(serializers.Serializer):
    """Shared list filters: ISO 8601 `since`/`until`."""

    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)


class UrlListQuerySerializer(ListQuerySerializer):
    status = serializers.ChoiceField(choices=UrlStatus.choices, required=False)
    provider = serializers.SlugField(required=False)
    country = serializers.RegexField(r"^[A-Za-z]{2}$", required=False)


class NoticeListQuerySerializer(ListQuerySerializer):
    status = serializers.ChoiceField(choices=NoticeStatus.choices, required=False)
    provider = serializers.SlugField(required=False)


def bulk_limits() -> tuple[int, int]:
    return settings.API_BULK_MAX_ITEMS, settings.API_BULK_MAX_BYTES


# --- Holds, pauses and removal orders -----------------------------------------------------------------------


class HoldCreateSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, help_text="Why nothing may be sent for the case.")
    requester = serializers.CharField(max_length=200, help_text="Who asked: agency, officer, case number.")
    expires_at = serializers.DateTimeField(required=False, allow_null=True, help_text="Blank: until cleared.")


class HoldClearSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ClockStopSerializer(serializers.ModelSerializer):
    notice = serializers.SlugRelatedField(slug_field="reference", read_only=True)
    in_force = serializers.SerializerMethodField()

    class Meta:
        model = ClockStop
        fields = [
            "id",
            "kind",
            "url",
            "notice",
            "reason",
            "requester",
            "started_at",
            "expires_at",
            "ended_at",
            "end_note",
            "in_force",
        ]

    def get_in_force(self, stop: ClockStop) -> bool:
        end = stop.end()
        return end is None or end > self.context["now"]


class OrderCreateSerializer(serializers.Serializer):
    authority = serializers.CharField(max_length=200)
    reference = serializers.CharField(max_length=100)
    issued_at = serializers.DateTimeField()
    addressee = serializers.CharField(max_length=200)
    legal_basis = serializers.ChoiceField(choices=LegalBasis.choices)
    legal_basis_detail = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    time_allowed_seconds = serializers.IntegerField(
        min_value=1,
        max_value=365 * 86400,
        required=False,
        allow_null=True,
        help_text="The order's own deadline from receipt; blank: the legal default (TCO: 3600).",
    )
    clock_starts = serializers.ChoiceField(choices=ClockStart.choices, required=False)


class OrderPauseSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=OrderPauseReason.choices)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class OrderClockSerializer(serializers.Serializer):
    state = serializers.ChoiceField(
        choices=["not received", "running", "paused", "breached", "superseded", "removed in time"]
    )
    clock_starts = serializers.ChoiceField(choices=ClockStart.choices)
    time_allowed_seconds = serializers.IntegerField()
    received_at = serializers.DateTimeField(allow_null=True)
    due_at = serializers.DateTimeField(allow_null=True)
    remaining_seconds = serializers.IntegerField(allow_null=True)
    paused = serializers.DictField(allow_null=True)
    paused_seconds = serializers.IntegerField()
    breached_at = serializers.DateTimeField(allow_null=True)
    removed_at = serializers.DateTimeField(allow_null=True)
    superseded_at = serializers.DateTimeField(
        allow_null=True,
        help_text="Every URL of the order moved to another network before the clock ran out: it stopped, and "
        "no breach is recorded.",
    )


class OrderSerializer(serializers.ModelSerializer):
    notice = serializers.SlugRelatedField(slug_field="reference", read_only=True)
    clock = serializers.SerializerMethodField()

    class Meta:
        model = RemovalOrder
        fields = [
            "notice",
            "authority",
            "reference",
            "issued_at",
            "addressee",
            "legal_basis",
            "legal_basis_detail",
            "clock_starts",
            "created_at",
            "clock",
        ]

    @extend_schema_field(OrderClockSerializer)
    def get_clock(self, order: RemovalOrder) -> dict:
        return clock(order, now=self.context["now"])


class BlocklistQuerySerializer(StrictQuerySerializer):
    since = serializers.DateTimeField(
        required=False,
        help_text="Only what was added or removed after this time (the last pull's generated_at). With a "
        "cursor it may be left out (the cursor carries it); given, it must be the cursor's.",
    )
    limit = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=blocklist.MAX_LIMIT,
        default=blocklist.DEFAULT_LIMIT,
        help_text=f"Entries on a page (default {blocklist.DEFAULT_LIMIT}, at most {blocklist.MAX_LIMIT}).",
    )
    cursor = serializers.CharField(
        required=False,
        max_length=2000,
        help_text="Opaque: the position of a page, from the `next` or `previous` link of another page.",
    )

    def validate(self, attrs):
        if "cursor" in attrs:
            try:
                attrs["position"] = blocklist.read_cursor(attrs["cursor"], since=attrs.get("since"))
            except blocklist.CursorError as exc:
                raise serializers.ValidationError({"cursor": [str(exc)]}) from None
        return attrs


class BlocklistEntrySerializer(serializers.Serializer):
    sha256 = serializers.CharField(help_text="SHA-256 of the canonical URL, hex.")
    url = serializers.CharField(required=False, help_text="The canonical URL (the `blockurls` scope only).")
    added_at = serializers.DateTimeField()


class BlocklistRemovalSerializer(serializers.Serializer):
    sha256 = serializers.CharField()
    removed_at = serializers.DateTimeField()


class BlocklistSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=["sha256", "url"])
    generated_at = serializers.DateTimeField()
    since = serializers.DateTimeField(allow_null=True)
    count = serializers.IntegerField(help_text="URLs on the list now.")
    limit = serializers.IntegerField(help_text="Entries on a page at most.")
    next = serializers.URLField(
        allow_null=True, help_text="The following page of this pull (null: the last)."
    )
    previous = serializers.URLField(allow_null=True, help_text="The preceding page (null: the first).")
    entries = BlocklistEntrySerializer(many=True, help_text="On the list (with `since`: added since).")
    removed = BlocklistRemovalSerializer(many=True, help_text="With `since`: taken off the list since.")
