"""Synthetic registry data in the real formats (RIPE split dumps, pyasn ipasn) for P2, P3 and P11.

Addresses come from 240.0.0.0/4 (reserved, never routed) so that a million objects fit; names are `*.example`.
The hierarchy is RIPE's: per /16 allocation (ALLOCATED PA, maintained by RIPE NCC, an LIR organisation)
100 /24 assignments (ASSIGNED PA; every fourth with its own customer organisation), and three /28
sub-assignments in every second /24 — 251 inetnum objects per allocation. Every organisation has an abuse
role. Objects carry the dummy admin-c/tech-c and the 7-line "THIS OBJECT IS MODIFIED" trailer of public dumps.
"""

from __future__ import annotations

import gzip
import random
from collections.abc import Iterator
from pathlib import Path

PER_ALLOCATION = 251
COUNTRIES = ["NL", "DE", "BG", "RO", "FR", "US", "EU", "GB", "SE", "PL"]
TRAILER = (
    "remarks:        ****************************\n"
    "remarks:        * THIS OBJECT IS MODIFIED\n"
    "remarks:        * Please note that all data that is generally regarded as personal\n"
    "remarks:        * data has been removed from this object.\n"
    "remarks:        * To view the original object, please query the RIPE Database at:\n"
    "remarks:        * http://www.ripe.net/whois\n"
    "remarks:        ****************************\n"
)


def allocations_for(inetnums: int) -> int:
    return max(1, inetnums // PER_ALLOCATION)


def base(k: int) -> str:
    return f"{240 + k // 256}.{k % 256}"


def _inetnum(
    first: str, last: str, netname: str, country: str, status: str, mnt: str, org: str = "", abuse_c: str = ""
) -> str:
    lines = [
        f"inetnum:        {first} - {last}",
        f"netname:        {netname}",
        f"descr:          {netname} network",
        f"country:        {country}",
    ]
    if org:
        lines.append(f"org:            {org}")
    lines += ["admin-c:        DUMY-RIPE", "tech-c:         DUMY-RIPE"]
    if abuse_c:
        lines.append(f"abuse-c:        {abuse_c}")
    lines += [
        f"status:         {status}",
        f"mnt-by:         {mnt}",
        "created:        2010-07-12T08:00:00Z",
        "last-modified:  2024-01-01T00:00:00Z",
        "source:         RIPE",
    ]
    return "\n".join(lines) + "\n" + TRAILER + "\n"


def inetnum_objects(allocations: int, rng: random.Random) -> Iterator[str]:
    for k in range(allocations):
        b = base(k)
        yield _inetnum(
            f"{b}.0.0",
            f"{b}.255.255",
            f"LIR-{k}",
            rng.choice(COUNTRIES),
            "ALLOCATED PA",
            f"RIPE-NCC-HM-MNT\nmnt-by:         LIR{k}-MNT",
            org=f"ORG-L{k}-TEST",
        )
        for j in range(100):
            org = f"ORG-C{k}X{j}-TEST" if j % 4 == 0 else ""
            yield _inetnum(
                f"{b}.{j}.0",
                f"{b}.{j}.255",
                f"NET-{k}-{j}",
                rng.choice(COUNTRIES),
                "ASSIGNED PA",
                f"LIR{k}-MNT",
                org=org,
                abuse_c=f"AC{k}X{j}-TEST" if j % 3 == 0 else "",
            )
            if j % 2 == 0:
                for s in range(3):
                    yield _inetnum(
                        f"{b}.{j}.{s * 16}",
                        f"{b}.{j}.{s * 16 + 15}",
                        f"CUST-{k}-{j}-{s}",
                        "EU",
                        "ASSIGNED PA",
                        f"LIR{k}-MNT",
                    )


def organisation_handles(allocations: int) -> Iterator[str]:
    for k in range(allocations):
        yield f"ORG-L{k}-TEST"
        yield from (f"ORG-C{k}X{j}-TEST" for j in range(0, 100, 4))


def organisation_objects(allocations: int) -> Iterator[str]:
    for handle in organisation_handles(allocations):
        role = "AR" + handle[4:]
        yield (
            f"organisation:   {handle}\norg-name:       Hosting {handle[4:-5]} Ltd\norg-type:       OTHER\n"
            f"country:        NL\nabuse-c:        {role}\nmnt-ref:        LIR-MNT\nmnt-by:         LIR-MNT\n"
            "created:        2010-07-12T08:00:00Z\n"
            "last-modified:  2024-01-01T00:00:00Z\nsource:         RIPE\n\n"
        )


def role_objects(allocations: int) -> Iterator[str]:
    handles = ["AR" + h[4:] for h in organisation_handles(allocations)]
    handles += [f"AC{k}X{j}-TEST" for k in range(allocations) for j in range(0, 100, 3)]
    for handle in handles:
        yield (
            f"role:           Abuse-C Role\naddress:        Dummy address for {handle}\n"
            f"e-mail:         unread@ripe.net\nnic-hdl:        {handle}\n"
            f"abuse-mailbox:  abuse@{handle.lower()}.example\nmnt-by:         LIR-MNT\n"
            "created:        2014-04-14T12:26:22Z\n"
            "last-modified:  2021-05-12T10:08:29Z\nsource:         RIPE\n" + TRAILER + "\n"
        )


def write_ripe_dump(directory: Path, inetnums: int, *, seed: int = 1729) -> tuple[list[str], int]:
    """ripe.db.inetnum.gz, ripe.db.organisation.gz, ripe.db.role.gz; returns (paths, objects). Cached on
    disk."""
    allocations = allocations_for(inetnums)
    directory.mkdir(parents=True, exist_ok=True)
    parts = {
        "inetnum": lambda: inetnum_objects(allocations, random.Random(seed)),
        "organisation": lambda: organisation_objects(allocations),
        "role": lambda: role_objects(allocations),
    }
    paths, objects = [], 0
    for name, make in parts.items():
        path = directory / f"ripe.db.{name}.{allocations}.gz"
        count = sum(1 for _ in make())
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            with gzip.open(tmp, "wt", encoding="latin-1", compresslevel=1) as handle:
                handle.write(
                    "#\n# The contents of this file are subject to\n# RIPE Database Terms and "
                    "Conditions\n#\n\n"
                )
                for chunk in make():
                    handle.write(chunk)
            tmp.rename(path)
        paths.append(str(path))
        objects += count
    return paths, objects


def write_ipasn(directory: Path, allocations: int) -> str:
    """A pyasn ipasn file: each /16 announced by its LIR's AS, every fourth /24 by a customer AS."""
    path = directory / f"ipasn.{allocations}.dat"
    if not path.exists():
        with open(path, "w") as handle:
            handle.write("; IP-ASN32-DAT file\n; Original file : rib.20260301.0600.bz2\n;\n")
            for k in range(allocations):
                handle.write(f"{base(k)}.0.0/16\t{64500 + k % 1000}\n")
                handle.writelines(f"{base(k)}.{j}.0/24\t{4200000000 + k}\n" for j in range(0, 100, 4))
    return str(path)


def sample_addresses(n: int, allocations: int, *, seed: int = 7) -> list[str]:
    """Addresses inside the data (95 %) and just outside it (5 %)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        k = rng.randrange(allocations) if rng.random() < 0.95 else allocations + rng.randrange(100)
        out.append(f"{base(k)}.{rng.randrange(256)}.{rng.randrange(256)}")
    return out
