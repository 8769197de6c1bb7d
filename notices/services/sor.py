"""Statements of reasons in the DSA Transparency Database vocabulary (Art. 17 / Art. 24(5) DSA), version 2.

A provider that removes notified content states what it did in the Transparency Database's own terms, so the
statement can be forwarded there unchanged. `validate_statement` is the one validation the portal and the API
share: it checks the values against the database's enumerations and its conditional rules and returns the
statement normalised. `tdb_statements` builds the JSON the database's multi-statement endpoint takes
(`{"statements": [...]}`), each statement checked again and given its `puid`.

Source of this copy of the vocabulary and field set: the Transparency Database's own code and documentation,
github.com/digital-services-act/transparency-database @ 69e80a0b (app/Models/Statement.php for the values,
app/Http/Requests/StatementStoreRequest.php for the field rules, resources/markdown/api-documentation.md and
additional-explanation-for-statement-attributes.md; documentation CC-BY-4.0 © European Union). That is the
schema of API v2, in force since 1 July 2025 (the database's "Migration to API v2" page: the categories and
keywords of the Implementing Regulation on transparency reporting templates, e.g. the cyber-violence and
consumer-information categories, KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE, and the new `content_id` with
EAN-13 codes; v1 values such as STATEMENT_CATEGORY_PORNOGRAPHY_OR_SEXUALIZED_CONTENT or
KEYWORD_IMAGE_BASED_SEXUAL_ABUSE are gone). The field rules kept from it: `puid` required on export (letters,
digits, "-", "_"), every date between its floor and 2038-01-01, `territorial_scope` optional, a text limit
per field, "required if …" and "excluded unless …" (a field that does not apply — e.g. the
incompatible-content fields with an illegal-content ground, `source_identity` with SOURCE_VOLUNTARY — is
left out, as the database leaves it out), `decision_ground_reference_url` a URL, `content_id` only
{"EAN-13": 13 digits}. One rule is ours, not the database's: on a notice from a trusted flagger the source
type is SOURCE_TRUSTED_FLAGGER.

Labels are English, the portal translates the ones it shows.
"""

from __future__ import annotations

import re
from datetime import date

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from notices.enums import NoticeType


def _words(text: str) -> frozenset[str]:
    """A set of codes written as one whitespace-separated block (long vocabularies stay readable)."""
    return frozenset(text.split())


DECISION_VISIBILITY = {
    "DECISION_VISIBILITY_CONTENT_REMOVED": _("Removal of content"),
    "DECISION_VISIBILITY_CONTENT_DISABLED": _("Disabling access to content"),
    "DECISION_VISIBILITY_CONTENT_DEMOTED": _("Demotion of content"),
    "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED": _("Age restricted content"),
    "DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED": _("Restricting interaction with content"),
    "DECISION_VISIBILITY_CONTENT_LABELLED": _("Labelled content"),
    "DECISION_VISIBILITY_OTHER": _("Other restriction (please specify)"),
}
DECISION_MONETARY = {
    "DECISION_MONETARY_SUSPENSION": "Suspension of monetary payments",
    "DECISION_MONETARY_TERMINATION": "Termination of monetary payments",
    "DECISION_MONETARY_OTHER": "Other restriction (please specify)",
}
DECISION_PROVISION = {
    "DECISION_PROVISION_PARTIAL_SUSPENSION": _("Partial suspension of the provision of the service"),
    "DECISION_PROVISION_TOTAL_SUSPENSION": _("Total suspension of the provision of the service"),
    "DECISION_PROVISION_PARTIAL_TERMINATION": _("Partial termination of the provision of the service"),
    "DECISION_PROVISION_TOTAL_TERMINATION": _("Total termination of the provision of the service"),
}
DECISION_ACCOUNT = {
    "DECISION_ACCOUNT_SUSPENDED": _("Suspension of the account"),
    "DECISION_ACCOUNT_TERMINATED": _("Termination of the account"),
}
ACCOUNT_TYPE = {"ACCOUNT_TYPE_BUSINESS": "Business", "ACCOUNT_TYPE_PRIVATE": "Private"}
DECISION_GROUND = {
    "DECISION_GROUND_ILLEGAL_CONTENT": _("Illegal content"),
    "DECISION_GROUND_INCOMPATIBLE_CONTENT": _("Content incompatible with terms and conditions"),
}
YES_NO = {"Yes": _("Yes"), "No": _("No")}
CONTENT_TYPE = {
    "CONTENT_TYPE_APP": _("App"),
    "CONTENT_TYPE_AUDIO": _("Audio"),
    "CONTENT_TYPE_IMAGE": _("Image"),
    "CONTENT_TYPE_PRODUCT": _("Product"),
    "CONTENT_TYPE_SYNTHETIC_MEDIA": _("Synthetic media"),
    "CONTENT_TYPE_TEXT": _("Text"),
    "CONTENT_TYPE_VIDEO": _("Video"),
    "CONTENT_TYPE_OTHER": _("Other"),
}
CATEGORY = {
    "STATEMENT_CATEGORY_ANIMAL_WELFARE": _("Animal welfare"),
    "STATEMENT_CATEGORY_CONSUMER_INFORMATION": _("Consumer information infringements"),
    "STATEMENT_CATEGORY_CYBER_VIOLENCE": _("Cyber violence"),
    "STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN": _("Cyber violence against women"),
    "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS": _("Data protection and privacy violations"),
    "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH": _("Illegal or harmful speech"),
    "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS": _("Intellectual property infringements"),
    "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS": _(
        "Negative effects on civic discourse or elections"
    ),
    "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE": _(
        "Type of alleged illegal content not specified by the notifier"
    ),
    "STATEMENT_CATEGORY_OTHER_VIOLATION_TC": _("Other violation of provider’s terms and conditions"),
    "STATEMENT_CATEGORY_PROTECTION_OF_MINORS": _("Protection of minors"),
    "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY": _("Risk for public security"),
    "STATEMENT_CATEGORY_SCAMS_AND_FRAUD": _("Scams and/or fraud"),
    "STATEMENT_CATEGORY_SELF_HARM": _("Self-harm"),
    "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS": _("Unsafe, non-compliant or prohibited products"),
    "STATEMENT_CATEGORY_VIOLENCE": _("Violence"),
}
# The keywords a CSAM notice calls for, with translated labels: the portal offers these; the API takes all.
MINORS_KEYWORDS = {
    "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL": _("Child sexual abuse material"),
    "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE": _(
        "Child sexual abuse material containing deepfake or similar technology"
    ),
    "KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS": _("Grooming/sexual enticement of minors"),
    "KEYWORD_AGE_SPECIFIC_RESTRICTIONS_MINORS": _("Age-specific restrictions concerning minors"),
    "KEYWORD_OTHER": _("Not captured by any other keyword"),
}
KEYWORDS = _words(
    """KEYWORD_ADULT_SEXUAL_MATERIAL KEYWORD_AGE_SPECIFIC_RESTRICTIONS
    KEYWORD_AGE_SPECIFIC_RESTRICTIONS_MINORS KEYWORD_ANIMAL_HARM KEYWORD_BIOMETRIC_DATA_BREACH
    KEYWORD_BULLYING_AGAINST_GIRLS KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL
    KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE KEYWORD_CONTENT_PROMOTING_EATING_DISORDERS
    KEYWORD_COORDINATED_HARM KEYWORD_COPYRIGHT_INFRINGEMENT KEYWORD_CYBER_BULLYING_INTIMIDATION
    KEYWORD_CYBER_HARASSMENT KEYWORD_CYBER_HARASSMENT_AGAINST_WOMEN KEYWORD_CYBER_INCITEMENT
    KEYWORD_CYBER_STALKING KEYWORD_CYBER_STALKING_AGAINST_WOMEN KEYWORD_DATA_FALSIFICATION KEYWORD_DEFAMATION
    KEYWORD_DESIGN_INFRINGEMENT KEYWORD_DISCRIMINATION KEYWORD_FEMALE_GENDERED_DISINFORMATION
    KEYWORD_GEOGRAPHIC_INDICATIONS_INFRINGEMENT KEYWORD_GEOGRAPHICAL_REQUIREMENTS
    KEYWORD_GOODS_SERVICES_NOT_PERMITTED KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS KEYWORD_HATE_SPEECH
    KEYWORD_HIDDEN_ADVERTISEMENT KEYWORD_HUMAN_EXPLOITATION KEYWORD_HUMAN_TRAFFICKING
    KEYWORD_ILLEGAL_ORGANIZATIONS KEYWORD_IMPERSONATION_ACCOUNT_HIJACKING KEYWORD_INAUTHENTIC_ACCOUNTS
    KEYWORD_INAUTHENTIC_LISTINGS KEYWORD_INAUTHENTIC_USER_REVIEWS KEYWORD_INCITEMENT_AGAINST_WOMEN
    KEYWORD_INCITEMENT_VIOLENCE_HATRED KEYWORD_INSUFFICIENT_INFORMATION_ON_TRADERS
    KEYWORD_LANGUAGE_REQUIREMENTS KEYWORD_MISINFORMATION_DISINFORMATION
    KEYWORD_MISLEADING_INFO_CONSUMER_RIGHTS KEYWORD_MISLEADING_INFO_GOODS_SERVICES
    KEYWORD_MISSING_PROCESSING_GROUND KEYWORD_NON_CONSENSUAL_IMAGE_SHARING
    KEYWORD_NON_CONSENSUAL_IMAGE_SHARING_AGAINST_WOMEN KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE
    KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE_AGAINST_WOMEN KEYWORD_NONCOMPLIANCE_PRICING KEYWORD_NUDITY
    KEYWORD_PATENT_INFRINGEMENT KEYWORD_PHISHING KEYWORD_PROHIBITED_PRODUCTS KEYWORD_PYRAMID_SCHEMES
    KEYWORD_RIGHT_TO_BE_FORGOTTEN KEYWORD_RISK_ENVIRONMENTAL_DAMAGE KEYWORD_RISK_PUBLIC_HEALTH
    KEYWORD_SELF_MUTILATION KEYWORD_STALKING KEYWORD_SUICIDE KEYWORD_TERRORIST_CONTENT
    KEYWORD_TRADE_SECRET_INFRINGEMENT KEYWORD_TRADEMARK_INFRINGEMENT KEYWORD_TRAFFICKING_WOMEN_GIRLS
    KEYWORD_UNLAWFUL_SALE_ANIMALS KEYWORD_UNSAFE_CHALLENGES KEYWORD_UNSAFE_PRODUCTS KEYWORD_VIOLATION_EU_LAW
    KEYWORD_VIOLATION_NATIONAL_LAW KEYWORD_OTHER"""
)
SOURCE_TYPE = {
    "SOURCE_ARTICLE_16": _("Notice submitted in accordance with Article 16 DSA"),
    "SOURCE_TRUSTED_FLAGGER": _("Notice submitted by a trusted flagger"),
    "SOURCE_TYPE_OTHER_NOTIFICATION": _("Other type of notification"),
    "SOURCE_VOLUNTARY": _("Own voluntary initiative"),
}
AUTOMATED_DECISION = {
    "AUTOMATED_DECISION_FULLY": _("Fully automated"),
    "AUTOMATED_DECISION_PARTIALLY": _("Partially automated"),
    "AUTOMATED_DECISION_NOT_AUTOMATED": _("Not automated"),
}
# territorial_scope: EU and EEA member states (the database's EUROPEAN_COUNTRY_CODES).
EU_COUNTRY_CODES = tuple(
    sorted(_words("AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK"))
)
EUROPEAN_COUNTRY_CODES = frozenset([*EU_COUNTRY_CODES, "IS", "LI", "NO"])
# content_language: ISO 639-1, upper case (the database's ALL_LANGUAGES keys).
LANGUAGE_CODES = _words(
    """AB AA AF AK SQ AM AR AN HY AS AV AE AY AZ BM BA EU BE BN BH BI BS BR BG MY CA KM CH CE NY ZH CU CV KW
    CO CR HR CS DA DV NL DZ EN EO ET EE FO FJ FI FR FF GD GL LG KA DE KI EL KL GN GU HT HA HE HZ HI HO HU IS
    IO IG ID IA IE IU IK GA IT JA JV KN KR KS KK RW KV KG KO KJ KU KY LO LA LV LB LI LN LT LU MK MG MS ML MT
    GV MI MR MH RO MN NA NV ND NG NE SE NO NB NN II OC OJ OR OM OS PI PA PS FA PL PT QU RM RN RU SM SG SA SC
    SR SN SD SI SK SL SO ST NR ES SU SW SS SV TL TY TG TA TT TE TH BO TI TO TS TN TR TK TW UG UK UR UZ VE VI
    VO WA CY FY WO XH YI YO ZA ZU"""
)

# Text fields and their length limits (the database's StatementStoreRequest).
TEXT_LIMITS = {
    "decision_visibility_other": 500,
    "decision_monetary_other": 500,
    "decision_facts": 5000,
    "decision_ground_reference_url": 500,
    "illegal_content_legal_ground": 500,
    "illegal_content_explanation": 2000,
    "incompatible_content_ground": 500,
    "incompatible_content_explanation": 2000,
    "content_type_other": 500,
    "category_specification_other": 500,
    "source_identity": 500,
    "puid": 500,
}
SINGLE_CHOICES = {
    "decision_monetary": DECISION_MONETARY,
    "decision_provision": DECISION_PROVISION,
    "decision_account": DECISION_ACCOUNT,
    "account_type": ACCOUNT_TYPE,
    "decision_ground": DECISION_GROUND,
    "incompatible_content_illegal": YES_NO,
    "category": CATEGORY,
    "content_language": LANGUAGE_CODES,
    "source_type": SOURCE_TYPE,
    "automated_detection": YES_NO,
    "automated_decision": AUTOMATED_DECISION,
}
LIST_CHOICES = {
    "decision_visibility": DECISION_VISIBILITY,
    "content_type": CONTENT_TYPE,
    "category_addition": CATEGORY,
    "category_specification": KEYWORDS,
    "territorial_scope": EUROPEAN_COUNTRY_CODES,
}
# Every date of a statement: on or before this day (the database stores them as 32-bit timestamps).
DATE_CEILING = date(2038, 1, 1)
DATE_FLOORS = {
    "content_date": date(2000, 1, 1),
    "application_date": date(2020, 1, 1),
    "end_date_visibility_restriction": None,  # None: on or after the application date
    "end_date_monetary_restriction": None,
    "end_date_service_restriction": None,
    "end_date_account_restriction": None,
}
REQUIRED = (
    "decision_ground",
    "content_type",
    "category",
    "content_date",
    "application_date",
    "decision_facts",
    "source_type",
    "automated_detection",
    "automated_decision",
)
DECISIONS = ("decision_visibility", "decision_monetary", "decision_provision", "decision_account")
# "X is required if Y was chosen": (field, value that demands it, the field it demands).
REQUIRED_IF = (
    ("decision_visibility", "DECISION_VISIBILITY_OTHER", "decision_visibility_other"),
    ("decision_monetary", "DECISION_MONETARY_OTHER", "decision_monetary_other"),
    ("content_type", "CONTENT_TYPE_OTHER", "content_type_other"),
    ("decision_ground", "DECISION_GROUND_ILLEGAL_CONTENT", "illegal_content_legal_ground"),
    ("decision_ground", "DECISION_GROUND_ILLEGAL_CONTENT", "illegal_content_explanation"),
    ("decision_ground", "DECISION_GROUND_INCOMPATIBLE_CONTENT", "incompatible_content_ground"),
    ("decision_ground", "DECISION_GROUND_INCOMPATIBLE_CONTENT", "incompatible_content_explanation"),
)
# "X is excluded unless Y": (field, the field deciding, the value it needs), as the database drops them.
EXCLUDED_UNLESS = (
    ("decision_visibility_other", "decision_visibility", "DECISION_VISIBILITY_OTHER"),
    ("decision_monetary_other", "decision_monetary", "DECISION_MONETARY_OTHER"),
    ("content_type_other", "content_type", "CONTENT_TYPE_OTHER"),
    ("illegal_content_legal_ground", "decision_ground", "DECISION_GROUND_ILLEGAL_CONTENT"),
    ("illegal_content_explanation", "decision_ground", "DECISION_GROUND_ILLEGAL_CONTENT"),
    ("incompatible_content_ground", "decision_ground", "DECISION_GROUND_INCOMPATIBLE_CONTENT"),
    ("incompatible_content_explanation", "decision_ground", "DECISION_GROUND_INCOMPATIBLE_CONTENT"),
    ("incompatible_content_illegal", "decision_ground", "DECISION_GROUND_INCOMPATIBLE_CONTENT"),
)
KNOWN_FIELDS = frozenset([*TEXT_LIMITS, *SINGLE_CHOICES, *LIST_CHOICES, *DATE_FLOORS, "content_id"])
PUID = re.compile(r"[A-Za-z0-9_-]+")
EAN_13 = re.compile(r"[0-9]{13}")
REFERENCE_URL = re.compile(r"https?://[^\s/?#]+\.[^\s]*", re.IGNORECASE)
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class StatementError(ValueError):
    """Field errors of a statement: `{"field": ["message", …]}`, in the API's error shape."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


def validate_statement(statement: dict, *, trusted_flagger: bool = False) -> dict:
    """Check a statement of reasons against the Transparency Database's (v2) rules; return it normalised.

    Normalised: only fields given, text stripped, lists de-duplicated in the order given, fields the database
    excludes when they do not apply left out. `trusted_flagger`: the statement answers a trusted flagger's
    notice, so its source type must say so. Raises StatementError with every problem found (unknown fields
    included, so a typo never drops information silently).
    """
    if not isinstance(statement, dict):
        raise StatementError({"statement_of_reasons": [str(_("Must be an object of fields."))]})
    errors: dict[str, list[str]] = {}
    clean: dict = {}
    for field, value in statement.items():
        if field not in KNOWN_FIELDS:
            errors[field] = [str(_("Unknown field."))]
        elif value not in (None, "", []):
            problem, clean[field] = _check_field(field, value)
            if problem:
                errors[field] = [problem]
    _check_required(clean, errors)
    _check_end_dates(clean, errors)
    if trusted_flagger and clean.get("source_type") not in (None, "SOURCE_TRUSTED_FLAGGER"):
        errors.setdefault(
            "source_type", [str(_("The notice came from a trusted flagger: use SOURCE_TRUSTED_FLAGGER."))]
        )
    for field, decider, value in EXCLUDED_UNLESS:
        chosen = clean.get(decider)
        if field in clean and not (chosen == value or (isinstance(chosen, list) and value in chosen)):
            del clean[field]
    if clean.get("source_type") == "SOURCE_VOLUNTARY":
        clean.pop("source_identity", None)
    if errors:
        raise StatementError({field: errors[field] for field in sorted(errors)})
    return clean


def _check_field(field: str, value) -> tuple[str | None, object]:
    if field in TEXT_LIMITS:
        return _check_text(field, value)
    if field in SINGLE_CHOICES:
        ok = isinstance(value, str) and value in SINGLE_CHOICES[field]
        return (None if ok else str(_("“%(value)s” is not a valid choice.") % {"value": value})), value
    if field in LIST_CHOICES:
        return _check_list(field, value)
    if field in DATE_FLOORS:
        return _check_date(field, value)
    ok = isinstance(value, dict) and set(value) <= {"EAN-13"}
    if not ok:
        return str(_("Only {“EAN-13”: “code”} is accepted.")), value  # content_id
    if not all(isinstance(v, str) and EAN_13.fullmatch(v) for v in value.values()):
        return str(_("An EAN-13 code is 13 digits.")), value
    return None, value


def _check_text(field: str, value) -> tuple[str | None, object]:
    if not isinstance(value, str):
        return str(_("Must be text.")), value
    text = value.strip()
    if len(text) > TEXT_LIMITS[field]:
        return str(_("At most %(limit)d characters.") % {"limit": TEXT_LIMITS[field]}), text
    if field == "puid" and not PUID.fullmatch(text):
        return str(_("Only letters, digits, “-” and “_”.")), text
    if field == "decision_ground_reference_url" and text and not REFERENCE_URL.fullmatch(text):
        return str(_("Must be a web address (http:// or https://).")), text
    return None, text


def _check_list(field: str, value) -> tuple[str | None, object]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return str(_("Must be a list of values.")), value
    bad = [v for v in value if v not in LIST_CHOICES[field]]
    if bad:
        return str(_("“%(value)s” is not a valid choice.") % {"value": bad[0]}), value
    return None, list(dict.fromkeys(value))


def _check_date(field: str, value) -> tuple[str | None, object]:
    if not isinstance(value, str) or not ISO_DATE.fullmatch(value):
        return str(_("Use the form YYYY-MM-DD.")), value
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        return str(_("Use the form YYYY-MM-DD.")), value
    floor = DATE_FLOORS[field]
    if floor and parsed < floor:
        return str(_("Must be on or after %(date)s.") % {"date": floor.isoformat()}), value
    if parsed > DATE_CEILING:
        return str(_("Must be on or before %(date)s.") % {"date": DATE_CEILING.isoformat()}), value
    return None, value


def _check_required(clean: dict, errors: dict[str, list[str]]) -> None:
    required = _("This field is required.")
    for field in REQUIRED:
        if field not in clean and field not in errors:
            errors[field] = [str(required)]
    if not any(field in clean or field in errors for field in DECISIONS):
        errors["decision_visibility"] = [
            str(_("State at least one decision (visibility, monetary, service or account)."))
        ]
    for field, value, needed in REQUIRED_IF:
        chosen = clean.get(field)
        if (chosen == value or (isinstance(chosen, list) and value in chosen)) and needed not in clean:
            errors.setdefault(needed, [str(required)])


def _check_end_dates(clean: dict, errors: dict[str, list[str]]) -> None:
    start = clean.get("application_date")
    for field, floor in DATE_FLOORS.items():
        if floor is None and start and field in clean and field not in errors and clean[field] < start:
            errors[field] = [str(_("Must be on or after the application date."))]


MEDIA_CONTENT_TYPES = {"image": "CONTENT_TYPE_IMAGE", "video": "CONTENT_TYPE_VIDEO",
                       "audio": "CONTENT_TYPE_AUDIO", "text": "CONTENT_TYPE_TEXT"}  # fmt: skip


def default_statement(notice, items=None) -> dict:
    """The statement of reasons a removal on a hotline's CSAM notice gets unless the provider says otherwise.

    The portal prefills its form with it and a one-click "removed" stores it, so both give the same statement
    (in the statement's own shape: ISO dates, lists). Texts are in the active language, dates in the current
    time zone (the caller activates the provider's). `items`: the notice's items, if already loaded.
    """
    if items is None:
        items = list(notice.items.select_related("url__current_assessment"))
    media = {getattr(item.url.current_assessment, "media_type", "") for item in items} - {""}
    reported = min((item.url.first_reported_at for item in items), default=timezone.now())
    flagger = from_trusted_flagger(notice)
    names = {"hotline": settings.HOTLINE_NAME, "reference": notice.reference}
    statement = {
        "decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED"],
        "decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT",
        "illegal_content_legal_ground": gettext("Child sexual abuse material (Directive 2011/93/EU, Art. 5)"),
        "illegal_content_explanation": gettext(
            "Notified by %(hotline)s in notice %(reference)s as child sexual abuse "
            "material; the notice was checked and the content removed."
        )
        % names,
        "category": "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
        "category_specification": ["KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL"],
        "content_type": sorted(MEDIA_CONTENT_TYPES[m] for m in media if m in MEDIA_CONTENT_TYPES)
        or ["CONTENT_TYPE_IMAGE"],
        "territorial_scope": sorted(EUROPEAN_COUNTRY_CODES),
        "content_date": timezone.localdate(reported).isoformat(),
        "application_date": timezone.localdate().isoformat(),
        "decision_facts": gettext("Removed after notice %(reference)s from %(hotline)s.") % names,
        "source_type": "SOURCE_TRUSTED_FLAGGER" if flagger else "SOURCE_ARTICLE_16",
        "automated_detection": "No",
        "automated_decision": "AUTOMATED_DECISION_NOT_AUTOMATED",
    }
    if settings.HOTLINE_NAME:
        statement["source_identity"] = settings.HOTLINE_NAME
    return statement


def from_trusted_flagger(notice) -> bool:
    """Whether the notice came from a trusted flagger (its type, or the hotline's designation)."""
    return notice.notice_type == NoticeType.TRUSTED_FLAGGER or bool(settings.HOTLINE_TRUSTED_FLAGGER)


def tdb_statements(responses) -> dict:
    """The statements of these responses for the Transparency Database (API v2), each checked again by its
    rules (a statement stored before a rule changed may no longer pass): `{"statements": [...]}` — the body
    of its multi-statement endpoint (at most 100 per call there) — and `invalid`: [{"puid", "errors"}] for
    the ones it would refuse, which are left out."""
    valid, invalid = [], []
    for response in responses:
        if not response.statement_of_reasons:
            continue
        statement = export_statement(response)
        try:
            valid.append(validate_statement(statement))
        except StatementError as exc:
            invalid.append({"puid": statement["puid"], "errors": exc.errors})
    return {"statements": valid, "invalid": invalid}


def export_statement(response) -> dict:
    """One response's statement as the Transparency Database takes it, with a `puid` unique to the
    response."""
    statement = dict(response.statement_of_reasons)
    statement.setdefault("puid", f"{response.notice.reference}-{response.pk}")
    return statement


def export_statements(responses) -> dict:
    """`{"statements": [...]}` — the body of the database's multi-statement endpoint (at most 100 per
    call)."""
    return {"statements": [export_statement(r) for r in responses if r.statement_of_reasons]}
