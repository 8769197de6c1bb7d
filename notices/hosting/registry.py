"""Reads of the imported registry and routing data, always from the active generations (selectors)."""

from __future__ import annotations

from notices.models import AutNum, CountryBlock, Inetnum, Organisation, RegistryImport, Role, RoutedPrefix

ROUTING_DATASETS = (RegistryImport.Dataset.PYASN, RegistryImport.Dataset.MMDB_ASN)  # tie: pyasn first


def active_generations() -> dict[str, int]:
    """dataset → id of its active generation (datasets never imported are missing)."""
    rows = RegistryImport.objects.filter(status=RegistryImport.Status.ACTIVE).values_list("dataset", "pk")
    return dict(rows)


# Raw SQL through Model.objects.raw(): these run several times per trace and the ORM's query compilation
# would cost more than PostgreSQL's answer. Each query filters on the active generation (one partition).


def announced_prefix(ip: str, generations: dict[str, int]) -> tuple[str, RoutedPrefix] | None:
    """Longest-prefix match over the active routing datasets: (dataset, announced prefix) or None."""
    best = None
    for dataset in ROUTING_DATASETS:
        if dataset not in generations:
            continue
        rows = RoutedPrefix.objects.raw(
            "SELECT *, masklen(prefix) AS masklen FROM notices_routedprefix "
            "WHERE generation_id = %s AND prefix >>= %s::inet ORDER BY masklen(prefix) DESC LIMIT 1",
            [generations[dataset], ip],
        )
        row = next(iter(rows), None)
        if row is not None and (best is None or row.masklen > best[1].masklen):
            best = (dataset, row)
    return best


def inetnum_chain(ip: str, generations: dict[str, int]) -> list[Inetnum]:
    """Every inetnum/inet6num containing `ip`, most specific first, each object once."""
    if RegistryImport.Dataset.RIPE not in generations:
        return []
    rows = Inetnum.objects.raw(
        "SELECT *, masklen(cidr) AS masklen FROM notices_inetnum "
        "WHERE generation_id = %s AND cidr >>= %s::inet "
        "ORDER BY masklen(cidr) DESC, first_ip DESC, last_ip",
        [generations[RegistryImport.Dataset.RIPE], ip],
    )
    chain, seen = [], set()
    for row in rows:
        key = (row.first_ip, row.last_ip)
        if key not in seen:
            seen.add(key)
            chain.append(row)
    return chain


def _one(model, sql: str, params: list):
    return next(iter(model.objects.raw(sql, params)), None)


def organisation(handle: str, generations: dict[str, int]) -> Organisation | None:
    if not handle or RegistryImport.Dataset.RIPE not in generations:
        return None
    return _one(
        Organisation,
        "SELECT * FROM notices_organisation WHERE generation_id = %s AND handle = %s LIMIT 1",
        [generations[RegistryImport.Dataset.RIPE], handle],
    )


def role(nic_hdl: str, generations: dict[str, int]) -> Role | None:
    if not nic_hdl or RegistryImport.Dataset.RIPE not in generations:
        return None
    return _one(
        Role,
        "SELECT * FROM notices_role WHERE generation_id = %s AND nic_hdl = %s LIMIT 1",
        [generations[RegistryImport.Dataset.RIPE], nic_hdl],
    )


def aut_num(asn: int | None, generations: dict[str, int]) -> AutNum | None:
    if asn is None or RegistryImport.Dataset.RIPE not in generations:
        return None
    return _one(
        AutNum,
        "SELECT * FROM notices_autnum WHERE generation_id = %s AND asn = %s LIMIT 1",
        [generations[RegistryImport.Dataset.RIPE], asn],
    )


def country_block(ip: str, dataset: str, generations: dict[str, int]) -> CountryBlock | None:
    """The most specific block of a country dataset (delegated or mmdb-country) containing `ip`."""
    if dataset not in generations:
        return None
    return _one(
        CountryBlock,
        "SELECT *, masklen(prefix) AS masklen FROM notices_countryblock WHERE generation_id = %s "
        "AND prefix >>= %s::inet ORDER BY masklen(prefix) DESC LIMIT 1",
        [generations[dataset], ip],
    )
