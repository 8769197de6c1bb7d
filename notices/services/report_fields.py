"""What a report may say, checked the same way on every channel (the API, bulk intake, `import_reports`).

`ReportCreateSerializer` is the definition: every problem is a field error with its message. `plain_report`
is the fast path the bulk channels take first: a row that is certainly valid by the same rules (strings
only, no hashes, nothing the serializer would refuse) becomes a `ReportInput` without a serializer, roughly
ten times faster; anything else returns None and the serializer judges it, with its messages.
tests/notices/services/test_report_fields.py checks that both agree.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework import serializers

from notices.canonical import CanonicalUrl, InvalidUrl, canonicalize, refanged_form
from notices.enums import HashAlgorithm
from notices.services.intake import ReportInput, reported_at_problem

HASH_PATTERNS = {
    HashAlgorithm.MD5: re.compile(r"[0-9a-fA-F]{32}"),
    HashAlgorithm.SHA1: re.compile(r"[0-9a-fA-F]{40}"),
    HashAlgorithm.SHA256: re.compile(r"[0-9a-fA-F]{64}"),
    HashAlgorithm.PDQ: re.compile(r"[0-9a-fA-F]{64}"),  # 256 bits
}
# A perceptual value (PhotoDNA) is opaque: printable ASCII without spaces (never media, nor markup in
# disguise).
OPAQUE_VALUE = re.compile(r"[!-~]{1,1024}")
URL_MAX_LENGTH = 4096
EXTERNAL_REF_MAX_LENGTH = 200
NOTES_MAX_LENGTH = 10_000
LONE_SURROGATE = "Text contains a lone UTF-16 surrogate, which is not Unicode."
_SURROGATE = re.compile("[\ud800-\udfff]")


def has_lone_surrogate(value) -> bool:
    """True when `value` (JSON data: str, list, dict, nested) holds a lone UTF-16 surrogate anywhere."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


class StringField(serializers.CharField):
    """A CharField that takes only JSON strings (DRF's own turns the number 123 into the URL "123")."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class HashSerializer(serializers.Serializer):
    """A hash value of one media item (values only, never the media): hex digests by their length, a
    perceptual value as an opaque string of at most 1,024 printable ASCII characters."""

    algorithm = serializers.ChoiceField(choices=HashAlgorithm.choices)
    value = StringField(max_length=1024, trim_whitespace=False)

    def validate(self, attrs):
        algorithm = attrs["algorithm"]
        pattern = HASH_PATTERNS.get(algorithm)
        if pattern and not pattern.fullmatch(attrs["value"]):
            raise serializers.ValidationError({"value": [f"Not a valid {algorithm} hex digest."]})
        if not OPAQUE_VALUE.fullmatch(attrs["value"]):
            raise serializers.ValidationError(
                {"value": ["A hash value is 1 to 1024 printable ASCII characters without spaces."]}
            )
        return attrs


class ReportCreateSerializer(serializers.Serializer):
    """One report. Text is stored as sent (no trimming); every problem is a field error, so a bulk batch
    fails only the items that have one."""

    url = StringField(max_length=URL_MAX_LENGTH, trim_whitespace=False)
    reported_at = serializers.DateTimeField(required=False)
    external_ref = serializers.CharField(
        max_length=EXTERNAL_REF_MAX_LENGTH,
        required=False,
        allow_blank=True,
        default="",
        trim_whitespace=False,
    )
    notes = serializers.CharField(
        max_length=NOTES_MAX_LENGTH, required=False, allow_blank=True, default="", trim_whitespace=False
    )
    hashes = HashSerializer(many=True, required=False, default=list, max_length=100)

    def to_internal_value(self, data):
        # A lone surrogate (JSON "\ud800") can be neither stored nor echoed in an error message: refuse the
        # field holding one before any field's own validation could quote it back.
        if isinstance(data, Mapping):
            unstorable = {
                name: [LONE_SURROGATE] for name in self.fields if has_lone_surrogate(data.get(name))
            }
            if unstorable:
                raise serializers.ValidationError(unstorable)
        return super().to_internal_value(data)

    canonical: CanonicalUrl | None = None

    def validate_url(self, value: str) -> str:
        try:
            self.canonical = canonicalize(value)  # kept, so that intake does not canonicalise it again
        except InvalidUrl as exc:
            raise serializers.ValidationError(defanged_message(value) or exc.message) from None
        return value

    def validate_reported_at(self, value):
        problem = reported_at_problem(value, timezone.now())
        if problem:
            raise serializers.ValidationError(problem)
        return value


def defanged_message(url: str) -> str | None:
    """The field error for a URL that cannot be tracked because it is written defanged (`hxxp://`, `[.]`,
    `[:]//`), naming the form to submit; None for a URL that is not. Never accepted as it is: the reporter
    sends the real URL, so that what is recorded is what was reported."""
    refanged = refanged_form(url)
    if refanged is None:
        return None
    return (
        "This URL looks defanged (hxxp, [.] or [:] written in place of http, a dot or a colon), so it cannot "
        f"be tracked as it is. Submit it refanged: {refanged}"
    )


def report_input(data: Mapping, *, canonical: CanonicalUrl | None = None) -> ReportInput:
    """The ReportInput of a serializer's validated data (`canonical`: the URL's canonical form when the
    serializer made it)."""
    return ReportInput(
        url=data["url"],
        reported_at=data.get("reported_at"),
        external_ref=data.get("external_ref", ""),
        notes=data.get("notes", ""),
        hashes=tuple(dict(h) for h in data.get("hashes", [])),
        canonical=canonical,
    )


def validate_report(data, *, now: datetime | None = None) -> tuple[ReportInput | None, dict]:
    """(the report, {}) when `data` is a valid report, else (None, field errors): the fast path first.
    `now` (default: the current time) bounds `reported_at`; a batch passes one for all its rows."""
    item = plain_report(data, now=now or timezone.now())
    if item is not None:
        return item, {}
    serializer = ReportCreateSerializer(data=data)
    if serializer.is_valid():
        return report_input(serializer.validated_data, canonical=serializer.canonical), {}
    return None, serializer.errors


_PLAIN_KEYS = frozenset({"url", "reported_at", "external_ref", "notes", "hashes"})


def _plain_text(value, max_length: int) -> bool:
    return (
        type(value) is str
        and len(value) <= max_length
        and "\x00" not in value
        and not _SURROGATE.search(value)
    )


def plain_report(data, *, now: datetime) -> ReportInput | None:
    """The ReportInput of a row that is certainly valid (see the module docstring), else None."""
    if not isinstance(data, dict) or not data.keys() <= _PLAIN_KEYS or data.get("hashes", []) != []:
        return None
    url = data.get("url")
    external_ref, notes = data.get("external_ref", ""), data.get("notes", "")
    if not (
        _plain_text(url, URL_MAX_LENGTH)
        and _plain_text(external_ref, EXTERNAL_REF_MAX_LENGTH)
        and _plain_text(notes, NOTES_MAX_LENGTH)
    ):
        return None
    reported_at = None
    if "reported_at" in data:
        raw = data["reported_at"]
        reported_at = parse_datetime(raw) if type(raw) is str else None
        if reported_at is None or reported_at.tzinfo is None or reported_at_problem(reported_at, now):
            return None
    try:
        canonical = canonicalize(url)
    except InvalidUrl:
        return None
    return ReportInput(
        url=url, reported_at=reported_at, external_ref=external_ref, notes=notes, canonical=canonical
    )
