"""Imported registry and routing data, one generation per import.

Every import (`manage.py import_registry …`, see notices/hosting/importers/) writes a new `RegistryImport`
generation and makes it the dataset's active one in the same transaction that loaded it, so readers see the
old data or the new, never half an import. The data tables are PostgreSQL tables partitioned by
`generation_id` (LIST): an import loads a bare table without indexes by COPY, attaches it as a partition
(PostgreSQL builds the partition's indexes then, in bulk) and the superseded generation's partition is
dropped afterwards. Readers always filter on the active `generation_id`, which prunes to one partition.

Partitioned tables cannot carry a primary key that leaves out the partition column, so the `id` columns here
are plain sequence-backed columns without a unique index: the ORM and the admin use them, nothing else does.
The generation foreign keys have no database constraint (a constraint would be checked row by row on COPY
and validated again on every ATTACH).
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GistIndex, OpClass
from django.db import models

from notices.models.fields import CidrField


class RegistryImport(models.Model):
    """One generation of one dataset: what was imported, from which files, and whether it is the active
    one."""

    class Dataset(models.TextChoices):
        RIPE = "ripe", "RIPE database split dump"
        PYASN = "pyasn", "Routing table (pyasn ipasn)"
        MMDB_ASN = "mmdb-asn", "MMDB ASN database"
        MMDB_COUNTRY = "mmdb-country", "MMDB country database"
        DELEGATED = "delegated", "RIR delegated statistics"

    class Status(models.TextChoices):
        LOADING = "loading", "Loading"
        ACTIVE = "active", "Active"
        SUPERSEDED = "superseded", "Superseded"
        FAILED = "failed", "Failed"

    dataset = models.CharField(max_length=16, choices=Dataset.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.LOADING)
    data_time = models.DateTimeField(
        help_text="When the data was produced (dump time, MMDB build, stats date)."
    )
    files = models.JSONField(default=list)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    counts = models.JSONField(default=dict, blank=True, help_text="Rows loaded per table.")
    skipped = models.JSONField(
        default=dict, blank=True, help_text='{reason: {"count": n, "first": "file:line"}} — input skipped.'
    )
    message = models.TextField(blank=True, help_text="Why the import failed, with file and line.")

    class Meta:
        verbose_name = "registry import"
        constraints = [
            # "Only one active generation per dataset": the switch happens in one transaction.
            models.UniqueConstraint(
                fields=["dataset"],
                condition=models.Q(status="active"),
                name="registry_one_active_per_dataset",
            )
        ]
        indexes = [
            # Active generation of a dataset: WHERE dataset = %s AND status = 'active'.
            models.Index(fields=["dataset", "status"], name="registry_import_active_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.dataset} #{self.pk} ({self.status}, data of {self.data_time:%Y-%m-%d %H:%M})"


def _generation() -> models.ForeignKey:
    return models.ForeignKey(
        RegistryImport, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )


class Inetnum(models.Model):
    """An inetnum or inet6num object; a range that is not one CIDR is stored once per CIDR of its cover.

    `first_ip`/`last_ip` are the whole object's range: among objects sharing a CIDR the one with the
    narrower range is the more specific (nested RIPE objects never overlap otherwise).
    """

    generation = _generation()
    cidr = CidrField()
    first_ip = models.GenericIPAddressField()
    last_ip = models.GenericIPAddressField()
    netname = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=8, blank=True, help_text="First token, upper-case, as registered.")
    org = models.CharField(max_length=64, blank=True)
    abuse_c = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=40, blank=True)
    mnt_by = models.TextField(blank=True, help_text="Maintainers, space-separated.")

    class Meta:
        verbose_name = "inetnum / inet6num"
        verbose_name_plural = "inetnums / inet6nums"
        indexes = [
            # The trace's chain of objects around an address:
            # WHERE generation_id = %s AND cidr >>= %s::inet ORDER BY masklen(cidr) DESC, first_ip DESC.
            GistIndex(OpClass("cidr", name="inet_ops"), name="inetnum_cidr_gist"),
        ]

    def __str__(self) -> str:
        return f"{self.first_ip} - {self.last_ip} ({self.netname})"

    @property
    def range_text(self) -> str:
        """The object's key as RIPE writes it: `a - b` for inetnum, the prefix for inet6num."""
        return str(self.cidr) if ":" in str(self.first_ip) else f"{self.first_ip} - {self.last_ip}"


class Organisation(models.Model):
    generation = _generation()
    handle = models.CharField(max_length=64)
    name = models.CharField(max_length=300, blank=True)
    org_type = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=8, blank=True)
    abuse_c = models.CharField(max_length=64, blank=True)

    class Meta:
        indexes = [
            # The trace's org of an inetnum / aut-num: WHERE generation_id = %s AND handle = %s.
            models.Index(fields=["handle"], name="registry_org_handle_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.handle} ({self.name})"


class Role(models.Model):
    """A role object usable as abuse-c (only roles with an abuse-mailbox are imported)."""

    generation = _generation()
    nic_hdl = models.CharField(max_length=64)
    name = models.CharField(max_length=300, blank=True)
    abuse_mailboxes = ArrayField(models.CharField(max_length=254), default=list)

    class Meta:
        indexes = [
            # abuse-c → role: WHERE generation_id = %s AND nic_hdl = %s.
            models.Index(fields=["nic_hdl"], name="registry_role_nic_hdl_idx"),
        ]

    def __str__(self) -> str:
        return self.nic_hdl


class AutNum(models.Model):
    generation = _generation()
    asn = models.BigIntegerField()
    as_name = models.CharField(max_length=100, blank=True)
    org = models.CharField(max_length=64, blank=True)
    abuse_c = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = "aut-num"
        indexes = [
            # The origin AS's organisation: WHERE generation_id = %s AND asn = %s.
            models.Index(fields=["asn"], name="registry_autnum_asn_idx"),
        ]

    def __str__(self) -> str:
        return f"AS{self.asn} ({self.as_name})"


class RouteObject(models.Model):
    """A route / route6 object from the RIPE database (IRR): which AS may originate a prefix."""

    generation = _generation()
    prefix = CidrField()
    origin = models.BigIntegerField()

    class Meta:
        verbose_name = "route / route6 object"
        indexes = [
            # Registered origins around an address: WHERE generation_id = %s AND prefix >>= %s::inet.
            GistIndex(OpClass("prefix", name="inet_ops"), name="route_object_prefix_gist"),
        ]

    def __str__(self) -> str:
        return f"{self.prefix} AS{self.origin}"


class RoutedPrefix(models.Model):
    """An announced prefix and its origin AS (pyasn ipasn file or MMDB ASN database)."""

    generation = _generation()
    prefix = CidrField()
    asn = models.BigIntegerField()
    as_org = models.CharField(max_length=300, blank=True, help_text="AS organisation (MMDB only).")

    class Meta:
        verbose_name = "announced prefix"
        verbose_name_plural = "announced prefixes"
        indexes = [
            # Longest-prefix match: WHERE generation_id = %s AND prefix >>= %s::inet ORDER BY masklen DESC.
            GistIndex(OpClass("prefix", name="inet_ops"), name="routed_prefix_gist"),
        ]

    def __str__(self) -> str:
        return f"{self.prefix} AS{self.asn}"


class CountryBlock(models.Model):
    """Country per address block (RIR delegated-extended stats or an MMDB country database)."""

    generation = _generation()
    prefix = CidrField()
    country = models.CharField(max_length=8, blank=True)
    registry = models.CharField(max_length=16, blank=True)
    status = models.CharField(max_length=16, blank=True)

    class Meta:
        indexes = [
            # Country of an address: WHERE generation_id = %s AND prefix >>= %s::inet ORDER BY masklen DESC.
            GistIndex(OpClass("prefix", name="inet_ops"), name="country_block_prefix_gist"),
        ]

    def __str__(self) -> str:
        return f"{self.prefix} {self.country}"
