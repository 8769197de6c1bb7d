"""Routing data: pyasn `ipasn` files and MaxMind-format (MMDB) ASN / country databases.

pyasn bad input: a line that is not `prefix<TAB>asn`, an invalid prefix (bad address, host bits set) or an
invalid AS number → skipped and counted; the same at the very end of a file without a final newline → stop
(the file was cut off); unreadable file, corrupt or truncated gzip → stop.
MMDB bad input: a file maxminddb cannot open (corrupt, not MMDB) or a database type that is neither ASN nor
country → stop; a network without an AS number / country code → skipped and counted.
"""

from __future__ import annotations

import ipaddress
import re
from contextlib import closing
from datetime import UTC, datetime

import maxminddb

from notices.hosting import ipnet
from notices.hosting.importers.errors import ImportFailed, Skips, skip_line
from notices.hosting.importers.ripe import copy_text
from notices.models import RegistryImport
from tracker.progress import progress_bar

PYASN_RIB_TIME = re.compile(r"(\d{8})\.(\d{4})")
# MMDB trees alias IPv4 space inside IPv6 (IPv4-mapped, IPv4-compatible, 6to4, Teredo); keep the IPv4 copy
# only.
MMDB_ALIASES = [ipaddress.ip_network(n) for n in ("::/96", "::ffff:0:0/96", "2002::/16", "2001::/32")]


# --- pyasn -------------------------------------------------------------------------------------------------


def pyasn_data_time(infile) -> datetime | None:
    """The RIB dump's time from the header (`; Original file : …rib.20140513.0600.bz2`), if it has one."""
    with closing(infile.lines()) as lines:
        for line in lines:
            if not line.startswith(";"):
                break
            if "original file" in line.lower() and (match := PYASN_RIB_TIME.search(line)):
                return datetime.strptime("".join(match.groups()), "%Y%m%d%H%M").replace(tzinfo=UTC)
    return None


def pyasn_row(line: str) -> str:
    """`prefix<TAB>asn` → a COPY row for RoutedPrefix; ValueError(reason) when the line is bad."""
    parts = line.split()
    if len(parts) != 2:
        raise ValueError("malformed line (not `prefix<TAB>asn`; skipped)")
    try:
        version, network, length = ipnet.parse_cidr(parts[0])
    except ValueError:
        raise ValueError("invalid prefix (skipped)") from None
    if not parts[1].isdigit() or not 0 < int(parts[1]) < 1 << 32:
        raise ValueError("invalid AS number (skipped)")
    return f"{ipnet.cidr_text(version, network, length)}\t{int(parts[1])}\t\n"


def load_pyasn(generation, inputs, skips: Skips) -> int:
    count = 0
    for infile in inputs:
        number, line = 0, ""
        for number, line in enumerate(infile.lines(), 1):
            if line.startswith(";") or not line.strip():
                continue
            count += 1
            try:
                generation.add("routed", [pyasn_row(line)])
            except ValueError as exc:
                skip_line(skips, infile.path, number, line, str(exc))
    return count


# --- MMDB --------------------------------------------------------------------------------------------------


def open_mmdb(path: str) -> maxminddb.Reader:
    try:
        return maxminddb.open_database(path, maxminddb.MODE_FILE)
    except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
        raise ImportFailed(path, None, f"not a readable MMDB database: {exc}") from None


def mmdb_dataset(reader: maxminddb.Reader, path: str) -> str:
    kind = reader.metadata().database_type
    if "ASN" in kind.upper():
        return RegistryImport.Dataset.MMDB_ASN
    if "COUNTRY" in kind.upper() or "CITY" in kind.upper():
        return RegistryImport.Dataset.MMDB_COUNTRY
    raise ImportFailed(path, None, f"MMDB database type {kind!r} is neither an ASN nor a country database")


def mmdb_data_time(reader: maxminddb.Reader) -> datetime:
    return datetime.fromtimestamp(reader.metadata().build_epoch, tz=UTC)


def _asn_row(record: dict) -> str | None:
    asn = record.get("autonomous_system_number")
    if not isinstance(asn, int) or asn <= 0:
        return None
    return f"{asn}\t{copy_text(str(record.get('autonomous_system_organization') or ''), 300)}\n"


def _country_row(record: dict) -> str | None:
    country = (record.get("country") or record.get("registered_country") or {}).get("iso_code")
    return f"{copy_text(country.upper(), 8)}\tmmdb\t\n" if isinstance(country, str) and country else None


def load_mmdb(generation, reader: maxminddb.Reader, path: str, skips: Skips, *, show_progress=None) -> int:
    """Every network of the database into RoutedPrefix (ASN) or CountryBlock (country)."""
    is_asn = generation.record.dataset == RegistryImport.Dataset.MMDB_ASN
    table, make_row = ("routed", _asn_row) if is_asn else ("country", _country_row)
    count = 0
    try:
        for network, record in progress_bar(reader, desc=path, unit="networks", enabled=show_progress):
            if network.version == 6 and any(network.subnet_of(alias) for alias in MMDB_ALIASES):
                continue
            count += 1
            row = make_row(record) if isinstance(record, dict) else None
            if row is None:
                skips.add("network without " + ("an AS number" if is_asn else "a country code"), path, count)
                continue
            generation.add(table, [f"{network}\t{row}"])
    except (maxminddb.InvalidDatabaseError, ValueError) as exc:
        raise ImportFailed(path, None, f"corrupt MMDB database after {count} networks: {exc}") from None
    return count
