"""RIPE database split dumps → COPY rows for inetnum/inet6num, organisation, role, aut-num, route/route6.

Bad input, per case (the summary lists every reason with its count and the first file:line):
- unreadable file, corrupt or truncated gzip → stop (ImportFailed; nothing is activated);
- the file ends inside an object that lacks a mandatory attribute or has a malformed line → stop: the file
  was cut off, and importing it would replace good data with part of it;
- a malformed line inside an object (no `key:`, a continuation line before any attribute) → that object is
  skipped;
- an invalid range or prefix (bad address, end before start, host bits set), an invalid AS number → skipped;
- an object without a mandatory attribute (`source:`; `nic-hdl:` for roles; `org-name:` for organisations;
  `origin:` for routes) → skipped;
- a role without an abuse-mailbox (or none with a valid address) → skipped: it cannot serve as abuse-c, and
  the trace says so when an abuse-c names it;
- an unknown attribute, or an attribute name with characters RPSL does not allow → ignored (the object is
  kept): RIPE adds attributes from time to time;
- other object classes (person, mntner, domain, …) → skipped; nothing personal is ever stored.
"""

from __future__ import annotations

from notices.hosting import ipnet
from notices.hosting.importers.errors import ImportFailed, Skips
from notices.hosting.importers.rpsl import (
    RpslObject,
    emails,
    first_token,
    is_attribute_name,
    parse_blocks,
    value,
)

_COMMON = {
    "descr",
    "remarks",
    "notify",
    "mnt-by",
    "created",
    "last-modified",
    "source",
    "changed",
    "org",
    "admin-c",
    "tech-c",
}
_NETWORK = _COMMON | {
    "netname",
    "country",
    "geofeed",
    "geoloc",
    "language",
    "sponsoring-org",
    "abuse-c",
    "status",
    "assignment-size",
    "mnt-lower",
    "mnt-routes",
    "mnt-domains",
    "mnt-irt",
}
_ROUTE = _COMMON | {
    "origin",
    "pingable",
    "ping-hdl",
    "holes",
    "member-of",
    "inject",
    "aggr-mtd",
    "aggr-bndry",
    "export-comps",
    "components",
    "mnt-lower",
    "mnt-routes",
}
ATTRIBUTES = {
    "inetnum": _NETWORK | {"inetnum"},
    "inet6num": _NETWORK | {"inet6num"},
    "organisation": _COMMON | {"organisation", "org-name", "org-type", "address", "country", "phone",
                               "fax-no", "e-mail", "geoloc", "language", "abuse-c", "ref-nfy", "mnt-ref",
                               "abuse-mailbox"},
    "role": _COMMON | {"role", "address", "phone", "fax-no", "e-mail", "nic-hdl", "abuse-mailbox", "mnt-ref"},
    "aut-num": _COMMON | {"aut-num", "as-name", "member-of", "import-via", "import", "mp-import",
                          "export-via", "export", "mp-export", "default", "mp-default", "sponsoring-org",
                          "abuse-c", "status", "mnt-lower", "mnt-routes"},
    "route": _ROUTE | {"route"},
    "route6": _ROUTE | {"route6"},
}  # fmt: skip
MANDATORY = {
    "inetnum": ("source",),
    "inet6num": ("source",),
    "organisation": ("org-name", "source"),
    "role": ("nic-hdl", "source"),
    "aut-num": ("source",),
    "route": ("origin", "source"),
    "route6": ("origin", "source"),
}
REPEATED = {"mnt-by", "abuse-mailbox"}
TABLE = {"inetnum": "inetnum", "inet6num": "inetnum", "organisation": "organisation", "role": "role",
         "aut-num": "autnum", "route": "route", "route6": "route"}  # fmt: skip
# Column order of each table's COPY (notices.models.registry).
COLUMNS = {
    "inetnum": "cidr, first_ip, last_ip, netname, country, org, abuse_c, status, mnt_by",
    "organisation": "handle, name, org_type, country, abuse_c",
    "role": "nic_hdl, name, abuse_mailboxes",
    "autnum": "asn, as_name, org, abuse_c",
    "route": "prefix, origin",
}


class BadObject(Exception):
    """An object that is skipped; the message is the skip reason."""


def copy_text(text: str, limit: int) -> str:
    """A value for PostgreSQL's COPY text format, cut to the column's width."""
    text = text[:limit]
    if "\\" in text or "\t" in text or "\x00" in text:
        text = text.replace("\\", "\\\\").replace("\t", " ").replace("\x00", "")
    return text


def parse_asn(raw: str) -> int:
    text = value(raw).upper()
    number = text[2:] if text.startswith("AS") else text
    if not number.isdigit() or not 0 < int(number) < 1 << 32:
        raise BadObject("invalid AS number (object skipped)")
    return int(number)


def _inetnum_range(raw: str) -> tuple[int, int, int, str, str]:
    """(4, first, last, first text, last text); the texts as written, once validated (PostgreSQL
    normalises)."""
    start, dash, end = value(raw).partition("-")
    start, end = start.strip(), end.strip()
    try:
        if not dash:
            version, network, length = ipnet.parse_cidr(start)
            if version != 4:
                raise ValueError("not IPv4")
            last = network | ((1 << (32 - length)) - 1)
            return 4, network, last, ipnet.ip_text(4, network), ipnet.ip_text(4, last)
        version_a, first = ipnet.parse_ip(start)
        version_b, last = ipnet.parse_ip(end)
    except ValueError:
        raise BadObject("invalid range (object skipped)") from None
    if version_a != 4 or version_b != 4 or first > last:
        raise BadObject("invalid range (object skipped)")
    return 4, first, last, start, end


def _inet6num_range(raw: str) -> tuple[int, int, int, str, str]:
    try:
        version, network, length = ipnet.parse_cidr(value(raw))
    except ValueError:
        raise BadObject("invalid range (object skipped)") from None
    if version != 6:
        raise BadObject("invalid range (object skipped)")
    last = network | ((1 << (128 - length)) - 1)
    return 6, network, last, ipnet.ip_text(6, network), ipnet.ip_text(6, last)


def network_rows(cls: str, found: dict) -> list[str]:
    """One COPY row per CIDR of the object's range (most ranges are one CIDR)."""
    version, first, last, first_text, last_text = (_inetnum_range if cls == "inetnum" else _inet6num_range)(
        found[cls]
    )
    tail = "\t".join(
        (
            first_text,
            last_text,
            copy_text(value(found.get("netname", "")), 100),
            copy_text(first_token(found.get("country", "")), 8),
            copy_text(value(found.get("org", "")).upper(), 64),
            copy_text(value(found.get("abuse-c", "")).upper(), 64),
            copy_text(value(found.get("status", "")).upper(), 40),
            copy_text(" ".join(value(m).upper() for m in found.get("mnt-by", ())), 1000),
        )
    )
    blocks = ipnet.range_to_cidrs(version, first, last)
    if len(blocks) == 1:  # nearly every object: its own start address names the CIDR
        return [f"{first_text}/{blocks[0][1]}\t{tail}\n"]
    return [f"{ipnet.cidr_text(version, net, length)}\t{tail}\n" for net, length in blocks]


def organisation_rows(cls: str, found: dict) -> list[str]:
    return [
        "\t".join(
            (
                copy_text(value(found["organisation"]).upper(), 64),
                copy_text(value(found["org-name"]), 300),
                copy_text(value(found.get("org-type", "")).upper(), 20),
                copy_text(first_token(found.get("country", "")), 8),
                copy_text(value(found.get("abuse-c", "")).upper(), 64),
            )
        )
        + "\n"
    ]


def role_rows(cls: str, found: dict) -> list[str]:
    addresses = [a for raw in found.get("abuse-mailbox", ()) for a in emails(raw) if len(a) <= 254]
    if not addresses:
        raise BadObject("role without abuse-mailbox (not usable as abuse-c; skipped)")
    array = "{" + ",".join(dict.fromkeys(addresses)) + "}"
    return [
        f"{copy_text(value(found['nic-hdl']).upper(), 64)}\t{copy_text(value(found['role']), 300)}\t{array}\n"
    ]


def autnum_rows(cls: str, found: dict) -> list[str]:
    return [
        f"{parse_asn(found['aut-num'])}\t{copy_text(value(found.get('as-name', '')), 100)}\t"
        f"{copy_text(value(found.get('org', '')).upper(), 64)}\t"
        f"{copy_text(value(found.get('abuse-c', '')).upper(), 64)}\n"
    ]


def route_rows(cls: str, found: dict) -> list[str]:
    try:
        version, network, length = ipnet.parse_cidr(value(found[cls]))
    except ValueError:
        raise BadObject("invalid prefix (object skipped)") from None
    if (version == 6) != (cls == "route6"):
        raise BadObject("invalid prefix (object skipped)")
    return [f"{ipnet.cidr_text(version, network, length)}\t{parse_asn(found['origin'])}\n"]


ROWS = {"inetnum": network_rows, "inet6num": network_rows, "organisation": organisation_rows,
        "role": role_rows, "aut-num": autnum_rows, "route": route_rows, "route6": route_rows}  # fmt: skip


class RipeObjects:
    """Turns parsed objects into COPY rows, deciding per object: keep, skip (counted) or stop."""

    def __init__(self, skips: Skips) -> None:
        self.skips = skips
        self.objects = 0
        self.classes_seen: set[str] = set()

    def rows(self, obj: RpslObject, path: str) -> tuple[str, list[str]] | None:
        """(table, COPY rows) for an object worth keeping, else None (skipped and counted)."""
        self.objects += 1
        cls = obj.attributes[0][0].lower() if obj.attributes else ""
        allowed = ATTRIBUTES.get(cls)
        if allowed is None:
            self._skip_or_stop(obj, path, f"other object class `{cls or '?'}` (skipped)")
            return None
        self.classes_seen.add(cls)
        found = self._collect(obj, cls, allowed, path)
        if found is None:
            return None
        try:
            return TABLE[cls], ROWS[cls](cls, found)
        except BadObject as exc:
            self.skips.add(str(exc), path, obj.line)
            return None

    def _collect(self, obj: RpslObject, cls: str, allowed: set, path: str) -> dict | None:
        """The attributes the tables need: first value of each, every value of the repeated ones."""
        if obj.malformed:
            self._skip_or_stop(
                obj, path, f"malformed line: {obj.malformed[1]} (object skipped)", obj.malformed[0]
            )
            return None
        found: dict = {}
        for key, raw in obj.attributes:
            if key not in allowed:
                key = key.lower()
                if key not in allowed:
                    self._unknown(key, cls, obj, path)
                    continue
            if key in REPEATED:
                found.setdefault(key, []).append(raw)
            elif key not in found:
                found[key] = raw
        missing = [name for name in MANDATORY[cls] if name not in found]
        if missing:
            self._skip_or_stop(obj, path, f"incomplete {cls}: no `{missing[0]}:` (object skipped)")
            return None
        return found

    def _unknown(self, key: str, cls: str, obj: RpslObject, path: str) -> None:
        if is_attribute_name(key):
            self.skips.add(f"unknown attribute `{key}` in {cls} (ignored)", path, obj.line)
        else:
            self.skips.add(f"bad attribute name `{key[:40]}` in {cls} (ignored)", path, obj.line)

    def _skip_or_stop(self, obj: RpslObject, path: str, reason: str, line: int | None = None) -> None:
        if obj.at_eof and not reason.startswith("other object class"):
            raise ImportFailed(
                path, line or obj.line, f"truncated object at end of file: {reason.rsplit(' (', 1)[0]}"
            )
        self.skips.add(reason, path, line or obj.line)


def load(generation, inputs, skips: Skips) -> int:
    """Parse every file and buffer its rows into the generation; returns the number of objects read.

    Tables none of whose object classes occur in the files are carried over from the active generation
    (see `carry_over`), so importing only `ripe.db.role.gz` does not empty the inetnums.
    """
    objects = RipeObjects(skips)
    add = generation.add
    for infile in inputs:
        path = infile.path
        rows = objects.rows
        for obj in parse_blocks(infile.blocks()):
            result = rows(obj, path)
            if result is not None:
                add(*result)
    generation.classes_seen = objects.classes_seen
    return objects.objects


def carry_over(generation) -> tuple[str, ...]:
    seen = {TABLE[cls] for cls in generation.classes_seen}
    return tuple(table for table in COLUMNS if table not in seen)
