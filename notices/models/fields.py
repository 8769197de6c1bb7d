"""PostgreSQL network types the ORM lacks: `cidr` with a longest-prefix-match lookup."""

from __future__ import annotations

import ipaddress

from django.db import models


class CidrField(models.Field):
    """A PostgreSQL `cidr` column holding an IPv4 or IPv6 network."""

    description = "IPv4 or IPv6 network (PostgreSQL cidr)"

    def db_type(self, connection) -> str:
        return "cidr"

    def from_db_value(self, value, expression, connection):
        return None if value is None else ipaddress.ip_network(value)

    def to_python(self, value):
        if value is None or isinstance(value, ipaddress.IPv4Network | ipaddress.IPv6Network):
            return value
        return ipaddress.ip_network(value, strict=True)

    def get_prep_value(self, value):
        return None if value is None else str(self.to_python(value))


@CidrField.register_lookup
class ContainsOrEquals(models.Lookup):
    """`prefix__net_contains=ip` → `prefix >>= ip::inet` (served by the GiST inet_ops index)."""

    lookup_name = "net_contains"

    def get_prep_lookup(self):
        return (
            str(ipaddress.ip_address(self.rhs)) if not hasattr(self.rhs, "resolve_expression") else self.rhs
        )

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} >>= ({rhs})::inet", [*lhs_params, *rhs_params]
