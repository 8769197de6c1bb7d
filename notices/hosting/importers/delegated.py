"""RIR delegated(-extended) statistics → country per address block (CountryBlock).

Format: `version|registry|serial|records|startdate|enddate|UTCoffset`, summary lines `…|*|ipv4|*|N|summary`,
then `registry|cc|type|start|value|date|status[|opaque-id[|extensions]]`; for ipv4 `value` is a count of
addresses (not always a power of two: such a block is stored as its CIDRs), for ipv6 a prefix length.

Bad input: a record with too few fields, an unknown type, an invalid start address or value → skipped and
counted; the same on a last line without a final newline → stop (cut off); `available`/`reserved` blocks and
asn records carry no hosting country and are left out (counted); unreadable file, corrupt gzip → stop.
"""

from __future__ import annotations

from contextlib import closing
from datetime import UTC, datetime

from notices.hosting import ipnet
from notices.hosting.importers.errors import Skips, skip_line


def data_time(infile) -> datetime | None:
    """The end date of the statistics from the version line (`2|ripencc|…|startdate|enddate|+0100`)."""
    with closing(infile.lines()) as lines:
        for line in lines:
            if line.startswith("#") or not line.strip():
                continue
            fields = line.strip().split("|")
            if len(fields) >= 6 and fields[0][:1].isdigit() and fields[5].isdigit() and len(fields[5]) == 8:
                return datetime.strptime(fields[5], "%Y%m%d").replace(tzinfo=UTC)
            return None
    return None


def record_rows(fields: list[str]) -> list[str]:
    """COPY rows (prefix, country, registry, status) for one record; ValueError(reason) if it is bad."""
    registry, country, kind, start, size = fields[:5]
    status = fields[6].strip().lower() if len(fields) > 6 else ""
    try:
        if kind == "ipv4":
            version, first = ipnet.parse_ip(start)
            if version != 4 or not size.isdigit() or int(size) < 1:
                raise ValueError
            blocks = ipnet.range_to_cidrs(4, first, first + int(size) - 1)
        else:
            version, network, length = ipnet.parse_cidr(f"{start}/{size}")
            if version != 6:
                raise ValueError
            blocks = [(network, length)]
    except ValueError:
        raise ValueError(f"invalid {kind} record (skipped)") from None
    return [
        f"{ipnet.cidr_text(version, n, length)}\t{country.upper()[:8]}\t{registry[:16]}\t{status[:16]}\n"
        for n, length in blocks
    ]


def _classify(line: str) -> list[str] | str | None:
    """Fields of an address record; a skip reason for a bad or unused line; None for
    header/summary/comment."""
    stripped = line.strip()
    if not stripped or stripped.startswith("#"):
        return None
    fields = stripped.split("|")
    if fields[0][:1].isdigit() or (len(fields) >= 6 and fields[5] == "summary"):
        return None
    if len(fields) < 7:
        return "malformed record (too few fields; skipped)"
    if fields[2] == "asn":
        return "asn records (not used)"
    if fields[2] not in ("ipv4", "ipv6"):
        return f"unknown record type `{fields[2][:10]}` (skipped)"
    if fields[6].strip().lower() in ("available", "reserved") or not fields[1]:
        return "available/reserved blocks (no country; left out)"
    return fields


def load(generation, inputs, skips: Skips) -> int:
    count = 0
    for infile in inputs:
        for number, line in enumerate(infile.lines(), 1):
            fields = _classify(line)
            if fields is None:
                continue
            count += 1
            try:
                if isinstance(fields, str):
                    raise ValueError(fields)
                generation.add("country", record_rows(fields))
            except ValueError as exc:
                unused = "not used" in str(exc) or "left out" in str(exc)
                skip_line(skips, infile.path, number, line, str(exc), fatal_if_cut=not unused)
    return count
