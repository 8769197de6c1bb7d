"""The demo network: providers in three EU member states and one outside, their prefixes, hosts and users.

Plain constants (no Django imports) so the supervisor can start the demo DNS and web hosts before Django is
set up. Only reserved names and documentation addresses (safety rule 5).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoProvider:
    slug: str
    name: str
    country: str
    language: str
    time_zone: str
    prefix: str
    asn: int
    abuse: str
    portal_user: str = ""


PROVIDERS = [
    DemoProvider("polder-hosting", "Polder Hosting B.V.", "NL", "nl", "Europe/Amsterdam",
                 "198.51.100.0/26", 64500, "abuse@polder-hosting.example", "polder"),
    DemoProvider("balkan-cloud", "Balkan Cloud EOOD", "BG", "en", "Europe/Sofia",
                 "198.51.100.64/26", 64501, "abuse@balkan-cloud.example", "balkan"),
    DemoProvider("carpathia-hosting", "Carpathia Hosting SRL", "RO", "en", "Europe/Bucharest",
                 "198.51.100.128/26", 64502, "noc@carpathia-hosting.example"),
    DemoProvider("pacific-example", "Pacific Example Hosting Inc.", "US", "en", "America/Los_Angeles",
                 "203.0.113.0/24", 64503, "abuse@pacific-hosting.example"),
]  # fmt: skip

# The transit network announcing the whole /24: longest-prefix match must still find the customer block; its
# abuse desk gets the escalation ladder's notice to the upstream network.
TRANSIT = {
    "prefix": "198.51.100.0/24",
    "asn": 64496,
    "org_name": "Example Transit AS",
    "abuse_emails": ["abuse@example-transit.example"],
}

DNS_ZONE = {
    "files.polder-hosting.example": {"A": ["198.51.100.10"]},
    "img.balkan-cloud.example": {"A": ["198.51.100.70"], "AAAA": ["2001:db8:64::70"]},
    "share.carpathia-hosting.example": {"A": ["198.51.100.130"]},
    "cdn.pacific-hosting.example": {"A": ["203.0.113.20"]},
    "www.forum.test": {"CNAME": "files.polder-hosting.example"},
}
LIVE_HOSTS = sorted(DNS_ZONE)

DEMO_REPORTS = [
    "http://files.polder-hosting.example/gallery/7f3a9c/index.html",
    "http://files.polder-hosting.example/u/2291/album.php?id=18",
    "http://img.balkan-cloud.example/i/q8Zr2.jpg",
    "http://share.carpathia-hosting.example/f/e71c0b",
    "http://cdn.pacific-hosting.example/assets/v/338104.mp4",
    "http://www.forum.test/thread/5512",
]

USERS = {
    "analyst": "demo-analyst-2026",
    "supervisor": "demo-supervisor-2026",
    "auditor": "demo-auditor-2026",
    "polder": "demo-polder-2026",
    "balkan": "demo-balkan-2026",
}
PARTNER_NAME = "Demo Partner Hotline"
