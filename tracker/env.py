"""Small helpers that read settings from environment variables and fail loudly on bad values."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("TRACKER_VAR_DIR", BASE_DIR / "var"))

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use true/false)")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} must be at least {minimum}")
    return value


def env_seconds(name: str, default: float) -> float:
    """A duration in seconds; accepts a plain number or a suffix s/m/h/d (`90`, `10m`, `24h`)."""
    raw = os.environ.get(name)
    if raw is None:
        return float(default)
    return parse_duration(raw, name=name)


def parse_duration(raw: str, *, name: str = "duration") -> float:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    text = raw.strip().lower()
    factor = 1
    if text and text[-1] in units:
        factor = units[text[-1]]
        text = text[:-1]
    try:
        value = float(text) * factor
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a duration (e.g. 600, 10m, 24h)") from None
    if value < 0:
        raise ImproperlyConfigured(f"{name}={raw!r} must not be negative")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_intermediaries(name: str, default: list[str]) -> list[str]:
    """A list of ASNs (`AS13335`) and CIDR prefixes; anything else stops the start."""

    items = env_list(name, default)
    for item in items:
        if item.upper().startswith("AS") and item[2:].isdigit():
            continue
        try:
            ipaddress.ip_network(item, strict=True)
        except ValueError:
            raise ImproperlyConfigured(
                f"{name}: {item!r} is neither an ASN (AS123) nor a CIDR prefix"
            ) from None
    return [item.upper() if item.upper().startswith("AS") else item for item in items]


_RATE_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(raw: str, *, name: str = "rate") -> tuple[int, int]:
    """`N/period` (DRF's form: `6000/min`, `60/m`, `10/s`, `1000/hour`, `5000/day`) → (N, period seconds)."""
    count, _, period = raw.strip().partition("/")
    unit = period.strip().lower()[:1]
    if not count.strip().isdigit() or int(count) < 1 or unit not in _RATE_PERIODS:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a rate (e.g. 6000/min, 10/s, 1000/hour)")
    return int(count), _RATE_PERIODS[unit]


def env_rate(name: str, default: str) -> str:
    """A rate as `parse_rate` reads it, checked at start-up."""
    raw = env_str(name, default)
    parse_rate(raw, name=name)
    return raw
