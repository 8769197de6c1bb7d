"""The statistics answers' shapes, as the schema publishes them (so the schema conformance run checks them):
`GET /api/v1/stats/time-to-removal/`, `…/stats/yearly/` and `…/providers/{slug}/scorecard/`
(notices/selectors/stats.py and reports.py build them). Times are seconds; a bound that is not known yet (a
percentile landing on a case still up) is null."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from notices.api.serializers import STATS_GROUP_BY, SecondsIntervalSerializer


def _counts_by_day(name: str, days: tuple[str, ...]) -> type[serializers.Serializer]:
    """A serializer whose fields are day counts ("1", "7" …: not Python names), each the cases still up
    after that many days."""
    fields = {
        day: serializers.IntegerField(help_text=f"Cases still up {day} d after notice.") for day in days
    }
    return type(name, (serializers.Serializer,), fields)


StillUpAfterDaysSerializer = _counts_by_day("StillUpAfterDaysSerializer", ("1", "3", "7", "30"))
StillUpAfterWeekMonthSerializer = _counts_by_day("StillUpAfterWeekMonthSerializer", ("7", "30"))


class ShareBoundsSerializer(serializers.Serializer):
    """A share as {low, high}: `low` from the high TTR bounds, `high` from the low ones."""

    low = serializers.FloatField()
    high = serializers.FloatField()


class SurvivalPointSerializer(serializers.Serializer):
    t = serializers.IntegerField(help_text="Seconds after the first notice.")
    low = serializers.FloatField(help_text="Kaplan–Meier share still up, from the low bounds.")
    high = serializers.FloatField(help_text="The same from the high bounds.")


@extend_schema_field(
    {
        "oneOf": [{"type": "string"}, {"type": "integer"}, {"type": "boolean"}],
        "nullable": True,
        "description": "The group: a provider's slug, an ASN, a country code, a month (YYYY-MM), a member "
        "state, a vocabulary value (true / false for the flags); null: none recorded (no provider, no "
        "assessment, an empty value, no payment method seen).",
    }
)
class GroupKeyField(serializers.Field):
    def to_representation(self, value):
        return value


class _Figures(serializers.Serializer):
    """The figures every statistics group has."""

    count = serializers.IntegerField()
    removed = serializers.IntegerField()
    still_up = serializers.IntegerField()
    median = SecondsIntervalSerializer()
    share_under_24h = ShareBoundsSerializer()
    share_under_72h = ShareBoundsSerializer()
    still_up_after_days = StillUpAfterDaysSerializer()


class TtrGroupSerializer(_Figures):
    """One group of the time-to-removal statistics (INTERFACES.md "Statistics")."""

    key = GroupKeyField()
    reappeared = serializers.IntegerField(help_text="Finished cycles: the content came back after removal.")
    closed = serializers.IntegerField(help_text="Noticed cases an analyst closed (outside the figures).")
    p75 = SecondsIntervalSerializer()
    p90 = SecondsIntervalSerializer()
    max = SecondsIntervalSerializer()
    share_over_7d = ShareBoundsSerializer()
    survival = SurvivalPointSerializer(many=True)
    share = serializers.FloatField(
        required=False, help_text="By member state only: of every case the filters select, in the EU or not."
    )


class _Freshness(serializers.Serializer):
    """How old the figures are: computed at `as_of`, from the snapshot or live."""

    computed_at = serializers.DateTimeField(help_text="When the figures were computed (= `as_of`).")
    as_of = serializers.DateTimeField()
    age_seconds = serializers.IntegerField()
    source = serializers.ChoiceField(choices=["snapshot", "live"])
    unit = serializers.ChoiceField(choices=["seconds"])


class TtrStatsSerializer(_Freshness):
    """The time-to-removal statistics, one entry per group."""

    group_by = serializers.ChoiceField(choices=STATS_GROUP_BY)
    groups = TtrGroupSerializer(many=True)


class MemberStateYearSerializer(_Figures):
    """One EU member state's figures of the year."""

    key = serializers.CharField(help_text="ISO 3166-1 alpha-2 code of an EU member state.")
    share = serializers.FloatField(help_text="Of the year's cases, in the EU or not.")


class LawEnforcementSerializer(serializers.Serializer):
    urls = serializers.IntegerField()
    referred_within_3_days = serializers.IntegerField()
    share = serializers.FloatField(allow_null=True)


class YearlyStatsSerializer(serializers.Serializer):
    """The figures a hotline publishes for a year: the cases whose first notice was sent in it (UTC)."""

    year = serializers.IntegerField()
    computed_at = serializers.DateTimeField()
    unit = serializers.ChoiceField(choices=["seconds"])
    urls_actioned = serializers.IntegerField()
    share_eu = serializers.FloatField(allow_null=True, help_text="Null: no case that year.")
    urls_eu = serializers.IntegerField()
    removed = serializers.IntegerField()
    still_up = serializers.IntegerField()
    median = SecondsIntervalSerializer()
    share_removed_same_day = ShareBoundsSerializer(allow_null=True, help_text="Within 24 h; null: no case.")
    share_removed_within_3_days = ShareBoundsSerializer(allow_null=True, help_text="Within 72 h.")
    law_enforcement = LawEnforcementSerializer()
    member_states = MemberStateYearSerializer(many=True)


class ScorecardProviderSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    country = serializers.CharField(allow_blank=True, help_text="ISO 3166-1 alpha-2; empty: unknown.")
    is_eu = serializers.BooleanField()


class ScorecardCasesSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    removed = serializers.IntegerField()
    still_up = serializers.IntegerField()
    reappeared = serializers.IntegerField()
    closed = serializers.IntegerField()


class ScorecardNoticesSerializer(serializers.Serializer):
    sent = serializers.IntegerField()
    acknowledged = serializers.IntegerField()
    time_to_acknowledge_median = SecondsIntervalSerializer()
    disputed = serializers.IntegerField()
    dispute_rate = serializers.FloatField(allow_null=True)
    refused_not_illegal = serializers.IntegerField()
    not_illegal_rate = serializers.FloatField(allow_null=True)


class ScorecardSlaSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    cases_with_stopped_clock = serializers.IntegerField()
    stopped_seconds = serializers.IntegerField()
    median = SecondsIntervalSerializer()
    p90 = SecondsIntervalSerializer()


class ScorecardSerializer(_Freshness):
    """One provider's scorecard. `computed_at` (= `as_of`): when its time-to-removal figures were computed
    (the snapshot's time, or now when live); the notice and SLA figures are computed on every request."""

    provider = ScorecardProviderSerializer()
    cases = ScorecardCasesSerializer()
    median = SecondsIntervalSerializer()
    p90 = SecondsIntervalSerializer()
    still_up_after_days = StillUpAfterWeekMonthSerializer()
    survival = SurvivalPointSerializer(many=True)
    reappearance_rate = serializers.FloatField(allow_null=True, help_text="Of its removals; null: none.")
    notices = ScorecardNoticesSerializer()
    sla = ScorecardSlaSerializer()
