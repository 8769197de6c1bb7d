"""The abuse contact of an address, by RIPE's own rule (as RIPE's whois server applies it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from notices.hosting import registry
from notices.hosting.rules import is_rs_maintained, real_contacts
from notices.hosting.state import Network, organisation


@dataclass(frozen=True)
class AbuseContact:
    """Where to write: the addresses, the network the climb found them at, the role (or RDAP abuse entity)
    listing them — handle and name, empty for a hand-entered network."""

    emails: list[str] = field(default_factory=list)
    network: Network | None = None
    handle: str = ""
    name: str = ""


def find_abuse_contact(state) -> AbuseContact:
    """Abuse addresses for the trace's networks (sorted most specific first); every address found is kept.

    1. A hand-entered network: its abuse addresses, else its provider's abuse contacts. An RDAP network: the
       abuse entity's addresses.
    2. An imported inetnum/inet6num: the role its own `abuse-c` names → that role's `abuse-mailbox`.
    3. Else the role its organisation's (`org:`) `abuse-c` names.
    4. Addresses on the placeholder list (HOSTING_PLACEHOLDER_CONTACTS) are skipped; a role with nothing
       else counts as no contact.
    5. Nothing yet: stop if the object is maintained by RIPE NCC (HOSTING_RS_MAINTAINERS: allocations and
       RIPE NCC's own blocks — the climb never reaches the RIR's placeholders), else go on with the next less
       specific network from step 1.
    """
    for network in state.networks:
        if network.inetnum is None:
            found = real_contacts(network.abuse_emails) or _contacts(network.provider)
            handle, name = network.abuse_handle, network.abuse_name
        else:
            found, handle, name = _from_object(state, network)
        if found:
            return AbuseContact(found, network, handle, name)
        if network.inetnum is not None and is_rs_maintained(network.inetnum.mnt_by):
            break
    return AbuseContact()


def _contacts(provider) -> list[str]:
    if provider is None:
        return []
    return list(provider.contacts.filter(is_abuse=True, failing=False).values_list("email", flat=True))


def _from_object(state, network) -> tuple[list[str], str, str]:
    """Steps 2–4 for one imported object: (addresses, handle and name of the role listing them)."""
    handles = [("abuse-c", network.inetnum.abuse_c)]
    if network.inetnum.org:
        org = organisation(state, network.inetnum.org)
        handles.append(("org abuse-c", org.abuse_c if org else ""))
    for how, handle in handles:
        if handle:
            found, name = _role_addresses(state, handle, how)
            if found:
                return found, handle, name
    return [], "", ""


def _role_addresses(state, handle: str, how: str) -> tuple[list[str], str]:
    """(the role's real abuse addresses, its name)."""
    role = registry.role(handle, state.generations)
    if role is None:
        state.note(
            "ripe-role", handle, {"via": how, "error": "no role with an abuse-mailbox in the imported data"}
        )
        return [], ""
    addresses = real_contacts(list(role.abuse_mailboxes))
    skipped = [a for a in role.abuse_mailboxes if a not in addresses]
    state.note(
        "ripe-role",
        handle,
        {"via": how, "name": role.name, "abuse_mailboxes": addresses, "placeholders_skipped": skipped},
    )
    return addresses, role.name
