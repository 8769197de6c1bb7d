"""Registry and routing data importers behind `manage.py import_registry` (streamed, one generation each).

- `ripe`: RIPE database split dumps (inetnum, inet6num, organisation, role, aut-num, route, route6).
- `pyasn`: pyasn `ipasn` files (announced prefix → origin AS), IPv4 and IPv6.
- `mmdb`: MaxMind-format ASN or country databases (read with maxminddb).
- `delegated`: RIR delegated(-extended) statistics (country per block).
Each module's docstring lists what it does with bad input: skip and count, or stop.
"""

from notices.hosting.importers.errors import ImportFailed, ImportRefused
from notices.hosting.importers.run import FORMATS, ImportSummary, import_files

__all__ = ["FORMATS", "ImportFailed", "ImportRefused", "ImportSummary", "import_files"]
