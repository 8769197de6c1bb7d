"""PostgreSQL network types the ORM lacks: `cidr` with a longest-prefix-match lookup."""

from __future__ import annotations

import ipaddress

from django import forms
from django.core.exceptions import ValidationError
from django.db import models

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_cidr(value) -> Network:
    """An IPv4 or IPv6 network in CIDR notation, strictly: host bits set is an error, never silently cut.

    `10.0.0.1/8` could mean the /8 or the single address; the message names the network it would be, so the
    analyst decides (PostgreSQL's `cidr` type refuses it the same way). A bare address is its /32 or /128.
    """
    if isinstance(value, Network):
        return value
    text = str(value).strip()
    if not text or len(text) > 64:
        raise ValidationError("Enter a network in CIDR notation, e.g. 198.51.100.0/24.", code="invalid_cidr")
    try:
        return ipaddress.ip_network(text, strict=True)
    except ValueError:
        pass
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ValidationError(
            "“%(value)s” is not a network in CIDR notation (e.g. 198.51.100.0/24 or 2001:db8::/32).",
            code="invalid_cidr",
            params={"value": text},
        ) from None
    raise ValidationError(
        "“%(value)s” has host bits set: the network is %(network)s (or give a single address as /%(bits)s).",
        code="cidr_host_bits",
        params={"value": text, "network": network, "bits": network.max_prefixlen},
    )


def validate_cidr(value) -> None:
    parse_cidr(value)


class CidrFormField(forms.CharField):
    """A text input for a network; cleans to an ip_network, with the field error of `parse_cidr`."""

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", forms.TextInput(attrs={"maxlength": 64}))
        kwargs.setdefault("help_text", "CIDR notation, e.g. 198.51.100.0/24 or 2001:db8::/32.")
        super().__init__(**kwargs)

    def prepare_value(self, value):
        return "" if value is None else str(value)

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        return parse_cidr(value)


class CidrField(models.Field):
    """A PostgreSQL `cidr` column holding an IPv4 or IPv6 network.

    Every value goes through `parse_cidr`: forms, serializers and `full_clean` get a field error for
    "hello", "10.0.0.0/33" or "10.0.0.1/8" instead of a database error.
    """

    description = "IPv4 or IPv6 network (PostgreSQL cidr)"
    default_validators = [validate_cidr]

    def db_type(self, connection) -> str:
        return "cidr"

    def from_db_value(self, value, expression, connection):
        return None if value is None else ipaddress.ip_network(value)

    def to_python(self, value):
        if value is None or isinstance(value, Network):
            return value
        if value == "" and self.null:
            return None
        return parse_cidr(value)

    def get_prep_value(self, value):
        if value is None:
            return None
        try:
            return str(self.to_python(value))
        except ValidationError as exc:  # code that writes without full_clean gets the ORM's usual error type
            raise ValueError(exc.messages[0]) from None

    def formfield(self, **kwargs):
        kwargs.pop("max_length", None)
        return super().formfield(**{"form_class": CidrFormField, **kwargs})


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
