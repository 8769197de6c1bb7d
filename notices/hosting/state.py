"""What one trace has gathered so far: the networks around the address and every source consulted."""

from __future__ import annotations

from dataclasses import dataclass, field

from notices.hosting import registry
from notices.models import HostingProvider, Inetnum, RoutingPrefix, Url


@dataclass
class Network:
    """A registry-level candidate (imported object, hand-entered prefix or RDAP network), for steps 6–8."""

    specificity: tuple[int, int]  # (mask length, 1 for hand-entered: it wins a tie)
    prefix: str
    org_handle: str = ""
    org_name: str = ""
    provider: HostingProvider | None = None
    country: str = ""
    abuse_emails: list[str] = field(default_factory=list)
    inetnum: Inetnum | None = None
    netname: str = ""
    abuse_handle: str = ""  # RDAP: the abuse entity's handle and name
    abuse_name: str = ""


@dataclass
class TraceState:
    """What one trace has found so far; `note()` records each source in the order consulted."""

    url: Url
    generations: dict[str, int] = field(default_factory=registry.active_generations)
    sources: list[dict] = field(default_factory=list)
    ip: str | None = None
    asn: int | None = None
    asn_specificity: int = -1
    announced: str = ""
    origin_as_org: str = ""
    networks: list[Network] = field(default_factory=list)
    local_routing: list[RoutingPrefix] = field(default_factory=list)
    organisations: dict = field(default_factory=dict)

    def note(self, source: str, query: str, answer: dict) -> None:
        self.sources.append({"source": source, "query": query, "answer": answer})


def organisation(state: TraceState, handle: str):
    """An imported organisation, fetched once per trace and recorded as a source."""
    if handle not in state.organisations:
        org = registry.organisation(handle, state.generations)
        state.organisations[handle] = org
        if org is not None:
            state.note(
                "ripe-organisation",
                handle,
                {"name": org.name, "org_type": org.org_type, "country": org.country, "abuse_c": org.abuse_c},
            )
    return state.organisations[handle]
