"""An in-process radix tree over the active generations: address → (ASN, provider, country) in a microsecond.

After every registry import each open case's traced address is asked again (notices.services.reevaluation):
a million database round trips would take many minutes, the index answers them in about a second.
`build_index()` reads the active data once and precomputes, for every prefix in the union of all layers, the
answer the trace would give for addresses whose longest match it is:

1. collect entries from each layer (announced prefixes, country blocks, inetnums, hand-entered prefixes,
   prefix overrides, intermediary prefixes), each as (version, network, length, layer, …);
2. sort them so every prefix comes after the prefixes containing it (and, within one prefix, in the order
   the trace ranks them: imported before hand-entered, wider ranges before narrower);
3. sweep with a stack of enclosing prefixes; each node inherits its parent's state and lets its own entries
   replace what they know (most specific wins, per field — as the trace's rules in notices.hosting.rules);
4. insert a node into the tree only if its answer differs from its parent's (most nodes don't).
A lookup is then one longest-prefix match in pytricia (C, the `fast` extra) and returns a shared,
precomputed tuple; without pytricia a pure-Python table answers the same, more slowly.

URL and host overrides are not per address and are not in the index; the trace applies them. Where no
registry network (imported or hand-entered) covers an address the trace asks RDAP live, when configured: the
answer then says `rdap` and its provider and country are only what the local data knows.
"""

from __future__ import annotations

import time
from collections import namedtuple

from django.conf import settings
from django.db import connection

from notices.hosting import ipnet
from notices.hosting.registry import active_generations
from notices.hosting.rules import DERIVED_PREFIX, country_code, intermediaries, real_contacts
from notices.models import HostingOverride, HostingProvider, RoutingPrefix

# `rdap`: no registry network covers the address and RDAP is configured, so the trace takes provider and
# country from a live RDAP answer the index does not have (the ASN still comes from the routing data).
IpAnswer = namedtuple("IpAnswer", "asn provider_id country org_handle intermediary rdap", defaults=(False,))

# Layers in the order they apply within one prefix (later wins a tie).
ROUTED, LOCAL_ROUTING, DELEGATED, MMDB, INETNUM, LOCAL_NETWORK, OVERRIDE, INTERMEDIARY = range(8)
# Node state: what is known at a prefix from it and everything containing it.
# `derived`: handles of providers derived from abuse contacts (networks naming no organisation), most specific
# first; used only where no network names one, as the trace does. `networked`: some registry network (an
# inetnum or a hand-entered network prefix) covers the prefix, so the trace does not ask RDAP.
State = namedtuple(
    "State", "asn namer net_country delegated mmdb routing_country override intermediary derived networked"
)
EMPTY = State(None, None, "", "", "", "", None, False, (), False)


class PrefixTable:
    """Longest-prefix match in pure Python (one dict per prefix length): the stand-in for pytricia when that C
    extension is not installed (it needs a compiler; it comes with the `fast` extra)."""

    def __init__(self) -> None:
        self._tables: dict[tuple[int, int], dict[int, object]] = {}
        self._lengths: dict[int, list[int]] = {4: [], 6: []}

    def __setitem__(self, cidr: str, value: object) -> None:
        version, network, length = ipnet.parse_cidr(cidr)
        if (version, length) not in self._tables:
            self._tables[(version, length)] = {}
            self._lengths[version] = sorted({*self._lengths[version], length}, reverse=True)
        self._tables[(version, length)][network] = value

    def __len__(self) -> int:
        return sum(len(table) for table in self._tables.values())

    def get(self, ip: str, default=None):
        version, address = ipnet.parse_ip(ip)
        bits = ipnet.BITS[version]
        for length in self._lengths[version]:
            network = address >> (bits - length) << (bits - length)
            found = self._tables[(version, length)].get(network)
            if found is not None:
                return found
        return default


def _new_tree():
    try:
        import pytricia  # noqa: PLC0415 (optional: the `fast` extra)
    except ImportError:
        return PrefixTable()
    return pytricia.PyTricia(128)


class IpIndex:
    """`lookup(ip)` → IpAnswer or None. With pytricia `lookup` is its own `get`, bound: no Python frame per
    call. `unknown` is what the trace answers for an address no prefix of the data covers."""

    def __init__(
        self, tree, generations: dict[str, int], unknown: IpAnswer, nodes: int, seconds: float
    ) -> None:
        self.lookup = tree.get
        self.generations, self.unknown, self.nodes, self.build_seconds = generations, unknown, nodes, seconds


def _rows(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _entries(generations: dict[str, int]) -> list[tuple]:
    """Step 1: (version, network, length, layer, tiebreak, payload) for every prefix of every layer."""
    entries = []

    def add(cidr: str, layer: int, payload, tiebreak=(0, 0)) -> None:
        version, network, length = ipnet.parse_cidr(cidr)
        entries.append((version, network, length, layer, tiebreak, payload))

    for dataset in ("pyasn", "mmdb-asn"):
        if dataset in generations:
            for cidr, asn in _rows(
                "SELECT prefix, asn FROM notices_routedprefix WHERE generation_id = %s",
                [generations[dataset]],
            ):
                add(cidr, ROUTED, asn)
    for dataset, layer in (("delegated", DELEGATED), ("mmdb-country", MMDB)):
        if dataset in generations:
            for cidr, country in _rows(
                "SELECT prefix, country FROM notices_countryblock WHERE generation_id = %s",
                [generations[dataset]],
            ):
                add(cidr, layer, country_code(country))
    if "ripe" in generations:
        sql = (
            "SELECT cidr, first_ip, last_ip, org, country, abuse_c FROM notices_inetnum "
            "WHERE generation_id = %s"
        )
        for cidr, first, last, org, country, abuse_c in _rows(sql, [generations["ripe"]]):
            tiebreak = (ipnet.parse_ip(first)[1], -ipnet.parse_ip(last)[1])
            derived = f"{DERIVED_PREFIX}abuse-c:{abuse_c}" if abuse_c and not org else None
            add(cidr, INETNUM, (("org", org) if org else None, country_code(country), derived), tiebreak)
    _local_entries(add)
    return entries


def _local_entries(add) -> None:
    for row in RoutingPrefix.objects.all():
        network = row.source != RoutingPrefix.Source.ROUTING
        namer = derived = None
        if network and row.provider_id:
            namer = ("provider", row.provider_id)
        elif network and row.org_handle:
            namer = ("org", row.org_handle)
        elif network and (emails := real_contacts(list(row.abuse_emails))):
            derived = f"{DERIVED_PREFIX}abuse-mailbox:{emails[0]}"
        add(
            str(row.prefix),
            LOCAL_NETWORK if network else LOCAL_ROUTING,
            (row.asn, namer, country_code(row.country), derived),
        )
    for override in HostingOverride.objects.filter(scope="prefix"):
        add(str(override.prefix), OVERRIDE, (override.provider_id, country_code(override.country)))
    for network in intermediaries(tuple(settings.HOSTING_INTERMEDIARIES))[1]:
        add(str(network), INTERMEDIARY, True)


def _apply(state: State, layer: int, payload) -> State:
    """Step 3 for one entry: what a more specific entry of this layer replaces."""
    if layer == ROUTED:
        return state._replace(asn=payload)
    if layer in (DELEGATED, MMDB):
        return (
            state._replace(**{"delegated" if layer == DELEGATED else "mmdb": payload}) if payload else state
        )
    if layer == INETNUM:
        namer, country, derived = payload
        state = state._replace(derived=(derived, *state.derived)) if derived else state
        return state._replace(
            namer=namer or state.namer, net_country=country or state.net_country, networked=True
        )
    if layer in (LOCAL_NETWORK, LOCAL_ROUTING):
        asn, namer, country, derived = payload
        state = state._replace(derived=(derived, *state.derived)) if derived else state
        state = state._replace(asn=asn or state.asn, namer=namer or state.namer)
        if layer == LOCAL_ROUTING:
            return state._replace(routing_country=state.routing_country or country)
        return state._replace(net_country=country or state.net_country, networked=True)
    if layer == OVERRIDE:
        return state._replace(override=payload)
    return state._replace(intermediary=True)


class _Answers:
    """Step 3's answer of a node, from its state, with the provider tables the trace would use."""

    def __init__(self) -> None:
        self.by_handle, self.countries, self.handles = {}, {}, {}
        for pk, handles, country in HostingProvider.objects.values_list("pk", "org_handles", "country"):
            self.countries[pk], self.handles[pk] = country, handles[0] if handles else ""
            for handle in handles:
                self.by_handle.setdefault(handle, pk)
        self.asn_overrides = {
            o.asn: (o.provider_id, country_code(o.country))
            for o in HostingOverride.objects.filter(scope="asn").order_by("pk")
        }
        self.intermediary_asns = intermediaries(tuple(settings.HOSTING_INTERMEDIARIES))[0]
        self.rdap = bool(settings.RDAP_BASE_URL or settings.RDAP_BOOTSTRAP_FILE)
        self.shared: dict[IpAnswer, IpAnswer] = {}

    def __call__(self, s: State) -> IpAnswer:
        kind, value = s.namer or (None, None)
        provider = value if kind == "provider" else self.by_handle.get(value)
        org = value if kind == "org" else self.handles.get(provider, "")
        if (
            s.namer is None
        ):  # no org: the first derived provider along the abuse-c climb, as the trace finds it
            provider = next((self.by_handle[h] for h in s.derived if h in self.by_handle), None)
        if s.intermediary or s.asn in self.intermediary_asns:
            answer = IpAnswer(s.asn, None, "", org, True)
        else:
            country = (
                s.net_country
                or s.delegated
                or s.mmdb
                or s.routing_country
                or self.countries.get(provider, "")
            )
            override = s.override or self.asn_overrides.get(s.asn)
            if override is not None:
                provider, country = override[0] or provider, override[1] or country
            answer = IpAnswer(s.asn, provider, country, org, False, self.rdap and not s.networked)
        return self.shared.setdefault(answer, answer)


def build_index() -> IpIndex:
    """Read the active generations and build the tree (steps 2–4)."""
    started = time.perf_counter()
    generations = active_generations()
    entries = _entries(generations)
    entries.sort(key=lambda e: e[:5])
    tree, answer_of = _new_tree(), _Answers()
    stack: list[tuple[int, int, int, State, IpAnswer | None]] = []  # (version, network, last, state, answer)
    i = 0
    while i < len(entries):
        version, network, length = entries[i][:3]
        bits = ipnet.BITS[version]
        while stack and not (stack[-1][0] == version and stack[-1][1] <= network <= stack[-1][2]):
            stack.pop()
        state, parent_answer = (stack[-1][3], stack[-1][4]) if stack else (EMPTY, None)
        while i < len(entries) and entries[i][:3] == (version, network, length):
            state = _apply(state, entries[i][3], entries[i][5])
            i += 1
        answer = answer_of(state)
        if answer != parent_answer:
            tree[ipnet.cidr_text(version, network, length)] = answer
        stack.append((version, network, network | ((1 << (bits - length)) - 1), state, answer))
    return IpIndex(tree, generations, answer_of(EMPTY), len(tree), time.perf_counter() - started)
