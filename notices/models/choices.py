"""The real lists behind country, language and time-zone fields, and validators for analyst-entered patterns.

Countries are ISO 3166-1 alpha-2 (the table below, plus XK for Kosovo: a user-assigned code the EU and the
RIRs use). Stored country fields hold a code from this table or "" for unknown; registry data's "EU", "ZZ",
"AP" … mean unknown and are stored as "" (`notices.hosting.rules.country_code`), never as themselves.
Languages are the portal's (`settings.LANGUAGES`). Time zones are the IANA names the installed tz database
knows (`zoneinfo.available_timezones()`): that list changes with tzdata, so it is a validator, not a
database constraint.
"""

from __future__ import annotations

import re
import zoneinfo
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models

# ISO 3166-1 alpha-2: code → English short name.
ISO_COUNTRIES: dict[str, str] = {
    "AD": "Andorra", "AE": "United Arab Emirates", "AF": "Afghanistan", "AG": "Antigua and Barbuda",
    "AI": "Anguilla", "AL": "Albania", "AM": "Armenia", "AO": "Angola", "AQ": "Antarctica", "AR": "Argentina",
    "AS": "American Samoa", "AT": "Austria", "AU": "Australia", "AW": "Aruba", "AX": "Åland Islands",
    "AZ": "Azerbaijan", "BA": "Bosnia and Herzegovina", "BB": "Barbados", "BD": "Bangladesh", "BE": "Belgium",
    "BF": "Burkina Faso", "BG": "Bulgaria", "BH": "Bahrain", "BI": "Burundi", "BJ": "Benin",
    "BL": "Saint Barthélemy", "BM": "Bermuda", "BN": "Brunei Darussalam", "BO": "Bolivia",
    "BQ": "Bonaire, Sint Eustatius and Saba", "BR": "Brazil", "BS": "Bahamas", "BT": "Bhutan",
    "BV": "Bouvet Island", "BW": "Botswana", "BY": "Belarus", "BZ": "Belize", "CA": "Canada",
    "CC": "Cocos (Keeling) Islands", "CD": "Congo (Democratic Republic)", "CF": "Central African Republic",
    "CG": "Congo", "CH": "Switzerland", "CI": "Côte d'Ivoire", "CK": "Cook Islands", "CL": "Chile",
    "CM": "Cameroon", "CN": "China", "CO": "Colombia", "CR": "Costa Rica", "CU": "Cuba", "CV": "Cabo Verde",
    "CW": "Curaçao", "CX": "Christmas Island", "CY": "Cyprus", "CZ": "Czechia", "DE": "Germany",
    "DJ": "Djibouti", "DK": "Denmark", "DM": "Dominica", "DO": "Dominican Republic", "DZ": "Algeria",
    "EC": "Ecuador", "EE": "Estonia", "EG": "Egypt", "EH": "Western Sahara", "ER": "Eritrea", "ES": "Spain",
    "ET": "Ethiopia", "FI": "Finland", "FJ": "Fiji", "FK": "Falkland Islands", "FM": "Micronesia",
    "FO": "Faroe Islands", "FR": "France", "GA": "Gabon", "GB": "United Kingdom", "GD": "Grenada",
    "GE": "Georgia", "GF": "French Guiana", "GG": "Guernsey", "GH": "Ghana", "GI": "Gibraltar",
    "GL": "Greenland", "GM": "Gambia", "GN": "Guinea", "GP": "Guadeloupe", "GQ": "Equatorial Guinea",
    "GR": "Greece", "GS": "South Georgia and the South Sandwich Islands", "GT": "Guatemala", "GU": "Guam",
    "GW": "Guinea-Bissau", "GY": "Guyana", "HK": "Hong Kong", "HM": "Heard Island and McDonald Islands",
    "HN": "Honduras", "HR": "Croatia", "HT": "Haiti", "HU": "Hungary", "ID": "Indonesia", "IE": "Ireland",
    "IL": "Israel", "IM": "Isle of Man", "IN": "India", "IO": "British Indian Ocean Territory", "IQ": "Iraq",
    "IR": "Iran", "IS": "Iceland", "IT": "Italy", "JE": "Jersey", "JM": "Jamaica", "JO": "Jordan",
    "JP": "Japan", "KE": "Kenya", "KG": "Kyrgyzstan", "KH": "Cambodia", "KI": "Kiribati", "KM": "Comoros",
    "KN": "Saint Kitts and Nevis", "KP": "Korea (Democratic People's Republic)", "KR": "Korea (Republic)",
    "KW": "Kuwait", "KY": "Cayman Islands", "KZ": "Kazakhstan", "LA": "Lao People's Democratic Republic",
    "LB": "Lebanon", "LC": "Saint Lucia", "LI": "Liechtenstein", "LK": "Sri Lanka", "LR": "Liberia",
    "LS": "Lesotho", "LT": "Lithuania", "LU": "Luxembourg", "LV": "Latvia", "LY": "Libya", "MA": "Morocco",
    "MC": "Monaco", "MD": "Moldova", "ME": "Montenegro", "MF": "Saint Martin (French part)",
    "MG": "Madagascar", "MH": "Marshall Islands", "MK": "North Macedonia", "ML": "Mali", "MM": "Myanmar",
    "MN": "Mongolia", "MO": "Macao", "MP": "Northern Mariana Islands", "MQ": "Martinique", "MR": "Mauritania",
    "MS": "Montserrat", "MT": "Malta", "MU": "Mauritius", "MV": "Maldives", "MW": "Malawi", "MX": "Mexico",
    "MY": "Malaysia", "MZ": "Mozambique", "NA": "Namibia", "NC": "New Caledonia", "NE": "Niger",
    "NF": "Norfolk Island", "NG": "Nigeria", "NI": "Nicaragua", "NL": "Netherlands", "NO": "Norway",
    "NP": "Nepal", "NR": "Nauru", "NU": "Niue", "NZ": "New Zealand", "OM": "Oman", "PA": "Panama",
    "PE": "Peru", "PF": "French Polynesia", "PG": "Papua New Guinea", "PH": "Philippines", "PK": "Pakistan",
    "PL": "Poland", "PM": "Saint Pierre and Miquelon", "PN": "Pitcairn", "PR": "Puerto Rico",
    "PS": "Palestine", "PT": "Portugal", "PW": "Palau", "PY": "Paraguay", "QA": "Qatar", "RE": "Réunion",
    "RO": "Romania", "RS": "Serbia", "RU": "Russian Federation", "RW": "Rwanda", "SA": "Saudi Arabia",
    "SB": "Solomon Islands", "SC": "Seychelles", "SD": "Sudan", "SE": "Sweden", "SG": "Singapore",
    "SH": "Saint Helena, Ascension and Tristan da Cunha", "SI": "Slovenia", "SJ": "Svalbard and Jan Mayen",
    "SK": "Slovakia", "SL": "Sierra Leone", "SM": "San Marino", "SN": "Senegal", "SO": "Somalia",
    "SR": "Suriname", "SS": "South Sudan", "ST": "Sao Tome and Principe", "SV": "El Salvador",
    "SX": "Sint Maarten (Dutch part)", "SY": "Syria", "SZ": "Eswatini", "TC": "Turks and Caicos Islands",
    "TD": "Chad", "TF": "French Southern Territories", "TG": "Togo", "TH": "Thailand", "TJ": "Tajikistan",
    "TK": "Tokelau", "TL": "Timor-Leste", "TM": "Turkmenistan", "TN": "Tunisia", "TO": "Tonga",
    "TR": "Türkiye", "TT": "Trinidad and Tobago", "TV": "Tuvalu", "TW": "Taiwan", "TZ": "Tanzania",
    "UA": "Ukraine", "UG": "Uganda", "UM": "United States Minor Outlying Islands", "US": "United States",
    "UY": "Uruguay", "UZ": "Uzbekistan", "VA": "Holy See", "VC": "Saint Vincent and the Grenadines",
    "VE": "Venezuela", "VG": "Virgin Islands (British)", "VI": "Virgin Islands (U.S.)", "VN": "Viet Nam",
    "VU": "Vanuatu", "WF": "Wallis and Futuna", "WS": "Samoa", "YE": "Yemen", "YT": "Mayotte",
    "ZA": "South Africa", "ZM": "Zambia", "ZW": "Zimbabwe",
}  # fmt: skip

# User-assigned codes in use for real places (not in ISO 3166-1 itself, but in registry data and EU lists).
USER_ASSIGNED_COUNTRIES: dict[str, str] = {"XK": "Kosovo"}

COUNTRIES: dict[str, str] = {**ISO_COUNTRIES, **USER_ASSIGNED_COUNTRIES}
COUNTRY_CODES: tuple[str, ...] = tuple(sorted(COUNTRIES))

# Model choices: "" is "unknown" (blank=True fields), then every code, ordered by code.
COUNTRY_CHOICES: list[tuple[str, str]] = [(code, f"{code} — {COUNTRIES[code]}") for code in COUNTRY_CODES]


def language_codes() -> tuple[str, ...]:
    """The portal's languages (notices and portal pages exist in each)."""
    return tuple(code for code, _ in settings.LANGUAGES)


@lru_cache(maxsize=1)
def time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(time_zones())]


def validate_time_zone(value: str) -> None:
    """An IANA time-zone name the installed tz database knows (e.g. Europe/Amsterdam)."""
    if value not in time_zones():
        raise ValidationError(
            "“%(value)s” is not a time zone of the tz database (e.g. Europe/Amsterdam, UTC).",
            code="invalid_time_zone",
            params={"value": value[:100]},
        )


def validate_regex(value: str) -> None:
    """A Python regular expression that compiles."""
    try:
        re.compile(value)
    except (re.error, RecursionError, OverflowError) as exc:
        raise ValidationError(
            "Not a valid regular expression: %(error)s.", code="invalid_regex", params={"error": exc}
        ) from None


def validate_removed_page_rules(value) -> None:
    """A provider's "removed page" rules: a list of {"final_url": regex, "status": HTTP status or null}.

    The checker counts a response as gone when its status matches (or the rule has none) and the regex is
    found in the final URL; an empty regex would match every URL, so it is refused here.
    """
    if not isinstance(value, list):
        raise ValidationError('A list of rules: [{"status": 200, "final_url": "regex"}].', code="invalid")
    errors = []
    for number, rule in enumerate(value, 1):
        if not isinstance(rule, dict):
            errors.append(f'Rule {number}: an object {{"status": …, "final_url": …}}.')
            continue
        unknown = sorted(set(rule) - {"status", "final_url"})
        if unknown:
            errors.append(f"Rule {number}: unknown key(s) {', '.join(map(str, unknown))}.")
        pattern = rule.get("final_url")
        if not isinstance(pattern, str) or not pattern:
            errors.append(f'Rule {number}: "final_url" must be a non-empty regular expression.')
        else:
            try:
                validate_regex(pattern)
            except ValidationError as exc:
                errors.append(f'Rule {number}: "final_url": {exc.messages[0]}')
        status = rule.get("status")
        if status is not None and (
            isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599
        ):
            errors.append(f'Rule {number}: "status" must be an HTTP status (100–599) or null.')
    if errors:
        raise ValidationError(errors, code="invalid")


def country_constraint(field: str, name: str) -> models.CheckConstraint:
    """The database keeps `field` to "" (unknown) or a code of COUNTRIES."""
    return models.CheckConstraint(
        condition=models.Q(**{field: ""}) | models.Q(**{f"{field}__in": COUNTRY_CODES}),
        name=name,
        violation_error_message="Not an ISO 3166-1 alpha-2 country code.",
    )


def language_constraint(field: str, name: str, *, blank: bool = False) -> models.CheckConstraint:
    """The database keeps `field` to a portal language (settings.LANGUAGES), or "" where that is allowed."""
    condition = models.Q(**{f"{field}__in": language_codes()})
    return models.CheckConstraint(
        condition=condition | models.Q(**{field: ""}) if blank else condition,
        name=name,
        violation_error_message="Not a language of the portal.",
    )


def validate_string_list(value) -> None:
    """A JSON list of non-empty strings (e.g. registry organisation handles)."""
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise ValidationError('A list of non-empty strings, e.g. ["ORG-EX1-TEST"].', code="invalid")


def validate_email_list(value) -> None:
    """A JSON list of e-mail addresses."""

    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError('A list of e-mail addresses, e.g. ["abuse@example.net"].', code="invalid")
    for item in value:
        try:
            validate_email(item)
        except ValidationError:
            raise ValidationError(
                "“%(value)s” is not an e-mail address.", code="invalid", params={"value": item[:100]}
            ) from None


def choice_constraint(field: str, choices: type[models.TextChoices], name: str) -> models.CheckConstraint:
    """The database keeps `field` to "" (not recorded) or a value of `choices` (a vocabulary enum)."""
    return models.CheckConstraint(
        condition=models.Q(**{field: ""}) | models.Q(**{f"{field}__in": choices.values}),
        name=name,
        violation_error_message=f"Not a value of {choices.__name__}.",
    )


def choice_list_constraint(
    field: str, choices: type[models.TextChoices], name: str
) -> models.CheckConstraint:
    """The database keeps the array `field` to values of `choices` (`<@`: contained in)."""
    return models.CheckConstraint(
        condition=models.Q(**{f"{field}__contained_by": list(choices.values)}),
        name=name,
        violation_error_message=f"Not values of {choices.__name__}.",
    )
