"""RDAP (RFC 9083) look-up for addresses outside the imported data: network, holder, country, abuse contact.

Only configured servers are contacted (SSRF-safe): RDAP_BASE_URL, or the server an IANA bootstrap file
(RDAP_BOOTSTRAP_FILE) names for the address; a redirect is followed only to one of those. Requests go through
the guarded HTTP client (`notices.infra.http`), so a configured name whose DNS leads to a private or reserved
address is refused too (RDAP_ALLOW_PRIVATE_TARGETS: tests, the demo, a mirror on our own network). Every
failure — timeout, refused connection, HTTP error, bad JSON, a redirect elsewhere — comes back as an `error`
in the answer, never as an exception: the trace records it and goes on.
"""

from __future__ import annotations

import ipaddress
import json
from functools import lru_cache
from http.client import HTTPException
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from django.conf import settings

from notices.canonical import registered_domain
from notices.hosting.importers.rpsl import EMAIL
from notices.hosting.rules import country_code
from notices.infra import http as http_client
from notices.infra.ssrf import BlockedTarget, Guard

MAX_BYTES = 1 << 20
MAX_REDIRECTS = 3
ACCEPT = "application/rdap+json, application/json;q=0.9"


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


@lru_cache(maxsize=4)
def _bootstrap(path: str) -> list[tuple[ipaddress._BaseNetwork, str]]:
    """(network, server) pairs from an IANA bootstrap file, most specific first; https preferred."""
    if not path:
        return []
    services = json.loads(Path(path).read_text()).get("services", [])
    pairs = []
    for networks, urls in services:
        server = next((u for u in urls if u.startswith("https://")), urls[0] if urls else "")
        pairs += [(ipaddress.ip_network(n), server) for n in networks if server]
    return sorted(pairs, key=lambda pair: -pair[0].prefixlen)


def servers_for(ip: str) -> tuple[str, set]:
    """The server to ask about `ip` and the set of allowed origins (scheme, host, port)."""
    bootstrap = _bootstrap(settings.RDAP_BOOTSTRAP_FILE)
    allowed = {_origin(settings.RDAP_BASE_URL)} if settings.RDAP_BASE_URL else set()
    allowed |= {_origin(server) for _, server in bootstrap}
    address = ipaddress.ip_address(ip)
    server = next((s for n, s in bootstrap if n.version == address.version and address in n), "")
    return server or settings.RDAP_BASE_URL, allowed


def lookup(ip: str) -> dict:
    """Ask RDAP about `ip`. Returns the trace's `answer` dict: network, org, country, abuse_emails, or
    error."""
    server, allowed = servers_for(ip)
    if not server:
        return {"error": "no RDAP server configured"}
    url = urljoin(server if server.endswith("/") else server + "/", f"ip/{ip}")
    try:
        data = _fetch(url, allowed)
    except RdapError as exc:
        return {"url": url, "error": str(exc)}
    return {"url": url, **parse_network(data)}


class RdapError(Exception):
    pass


def _fetch(url: str, allowed: set) -> dict:
    """GET `url` through the guarded HTTP client, following redirects only to the allowed servers."""
    if _origin(url) not in allowed:
        raise RdapError(f"refused: {urlsplit(url).netloc} is not a configured RDAP server")
    try:
        response = http_client.request(
            "GET",
            url,
            guard=Guard(allow_private=settings.RDAP_ALLOW_PRIVATE_TARGETS),
            timeout=settings.RDAP_TIMEOUT,
            headers={"Accept": ACCEPT},
            max_bytes=MAX_BYTES,
            max_redirects=MAX_REDIRECTS,
            may_follow=lambda target: _origin(target) in allowed,
        )
    except http_client.RedirectRefused as exc:
        raise RdapError(f"refused: {urlsplit(exc.url).netloc} is not a configured RDAP server") from None
    except http_client.TooManyRedirects:
        raise RdapError("too many redirects") from None
    except (OSError, BlockedTarget, HTTPException, ValueError) as exc:
        raise RdapError(f"unreachable: {exc}") from None
    if not 200 <= response.status < 300:
        raise RdapError(f"HTTP {response.status}")
    if response.truncated:
        raise RdapError("response too large")
    try:
        return json.loads(response.body)
    except ValueError:
        raise RdapError("not JSON") from None


def parse_network(data: dict) -> dict:
    """The parts of an RDAP `ip network` the trace uses; the abuse entity may be nested in another entity."""
    if not isinstance(data, dict) or data.get("objectClassName") != "ip network":
        return {"error": "not an RDAP ip network object"}
    entities = list(_entities(data.get("entities") or []))
    abuse = [e for e in entities if "abuse" in (e.get("roles") or [])]
    holder = next(
        (
            e
            for e in entities
            if "registrant" in (e.get("roles") or [])
            and not str(e.get("handle", "")).upper().endswith("-MNT")
        ),
        None,
    )
    cidrs = [
        f"{c.get('v4prefix') or c.get('v6prefix')}/{c.get('length')}" for c in data.get("cidr0_cidrs") or []
    ]
    return {
        "handle": str(data.get("handle", "")),
        "name": str(data.get("name", "")),
        "range": f"{data.get('startAddress', '')} - {data.get('endAddress', '')}",
        "cidrs": cidrs,
        "country": country_code(str(data.get("country", ""))),
        "org_handle": str(holder.get("handle", "")).upper() if holder else "",
        "org_name": _vcard(holder, "fn")[0] if holder and _vcard(holder, "fn") else "",
        "abuse_emails": list(
            dict.fromkeys(a.lower() for e in abuse for a in _vcard(e, "email") if EMAIL.fullmatch(a))
        ),
        "abuse_handle": str(abuse[0].get("handle", "")).upper() if abuse else "",
        "abuse_name": _vcard(abuse[0], "fn")[0] if abuse and _vcard(abuse[0], "fn") else "",
    }


def _entities(entities: list):
    for entity in entities:
        if isinstance(entity, dict):
            yield entity
            yield from _entities(entity.get("entities") or [])


def _vcard(entity: dict, name: str) -> list[str]:
    card = entity.get("vcardArray")
    if not (isinstance(card, list) and len(card) == 2 and isinstance(card[1], list)):
        return []
    return [str(item[3]) for item in card[1] if isinstance(item, list) and len(item) >= 4 and item[0] == name]


def registrable_domain(host: str) -> str:
    """The domain a registrar holds for `host`: its ICANN public suffix and one label (notices.canonical)."""
    return registered_domain(host)


def lookup_domain(host: str) -> dict:
    """Ask the configured RDAP server for domains (RDAP_DOMAIN_URL) about the domain of `host`: `domain`,
    `registrar` (its name), `abuse_emails` (the registrar's abuse contact, else its own addresses), `url`, or
    `error`. Never raises."""
    server = settings.RDAP_DOMAIN_URL
    domain = registrable_domain(host)
    if not server:
        return {"domain": domain, "error": "no RDAP server for domains configured (RDAP_DOMAIN_URL)"}
    url = urljoin(server if server.endswith("/") else server + "/", f"domain/{domain}")
    try:
        data = _fetch(url, {_origin(server)})
    except RdapError as exc:
        return {"domain": domain, "url": url, "error": str(exc)}
    registrar = next(
        (e for e in _entities(data.get("entities") or []) if "registrar" in (e.get("roles") or [])), None
    )
    if registrar is None:
        return {"domain": domain, "url": url, "error": "the RDAP answer names no registrar"}
    abuse = [
        email
        for e in _entities(registrar.get("entities") or [])
        if "abuse" in (e.get("roles") or [])
        for email in _vcard(e, "email")
    ]
    emails = [e for e in dict.fromkeys(abuse or _vcard(registrar, "email")) if EMAIL.match(e)]
    name = next(iter(_vcard(registrar, "fn")), "") or str(registrar.get("handle") or "the registrar")
    return {
        "domain": domain,
        "url": url,
        "registrar": name,
        "abuse_emails": emails,
        "language": registrar_language(registrar, data),
    }


# Where the registrar's country says its language unambiguously (a portal language).
COUNTRY_LANGUAGES = {"DE": "de", "AT": "de", "LI": "de", "NL": "nl", "SR": "nl", "FR": "fr", "MC": "fr"}


def registrar_language(registrar: dict, data: dict) -> str:
    """The registrar's language, if the RDAP answer tells it and the portal has it: the vCard's `lang`
    (preferred first), the `lang` of the registrar entity or of the domain object (RFC 9083 4.4), else the
    country of its vCard address (COUNTRY_LANGUAGES: only where that settles it). "" when unknown."""
    languages = {code for code, _name in settings.LANGUAGES}
    card = registrar.get("vcardArray")
    tagged = []
    if isinstance(card, list) and len(card) == 2 and isinstance(card[1], list):
        for item in card[1]:
            if isinstance(item, list) and len(item) >= 4 and item[0] == "lang":
                params = item[1] if isinstance(item[1], dict) else {}
                tagged.append((str(params.get("pref", "100")), str(item[3])))
    candidates = [tag for _pref, tag in sorted(tagged)]
    candidates += [str(registrar.get("lang") or ""), str(data.get("lang") or "")]
    for tag in candidates:
        primary = tag.split("-")[0].lower()
        if primary in languages:
            return primary
    for address in _adr(registrar):
        if address in COUNTRY_LANGUAGES:
            return COUNTRY_LANGUAGES[address]
    return ""


def _adr(entity: dict) -> list[str]:
    """The country codes of an entity's vCard addresses (the `cc` parameter, RFC 8605, or a two-letter
    country name)."""
    card = entity.get("vcardArray")
    if not (isinstance(card, list) and len(card) == 2 and isinstance(card[1], list)):
        return []
    codes = []
    for item in card[1]:
        if not (isinstance(item, list) and len(item) >= 4 and item[0] == "adr"):
            continue
        params = item[1] if isinstance(item[1], dict) else {}
        value = item[3] if isinstance(item[3], list) else []
        country = str(params.get("cc") or (value[6] if len(value) >= 7 else "")).strip().upper()
        if len(country) == 2:
            codes.append(country)
    return codes
