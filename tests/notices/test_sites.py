"""Sites: the registrable domain of a host by the Public Suffix List bundled with tldextract (private section
on, never fetched), the key that groups the http/https/www variants and every URL of one site."""

from __future__ import annotations

import importlib
import socket

import pytest
import tldextract
from django.apps import apps

from notices.canonical import _PSL, canonicalize, site_of
from notices.models import Url
from notices.services.intake import ReportInput, submit_reports

# A real private suffix of the bundled list (GitHub Pages): each user's site under it is a site of its own.
PRIVATE_SUFFIX = "github.io"


@pytest.mark.parametrize(
    ("raw", "site"),
    [
        ("http://files.polder.example/a", "polder.example"),  # no listed suffix: the implicit "*" rule
        ("https://www.polder.example/b", "polder.example"),
        ("HTTP://WWW.Polder.Example:80/c", "polder.example"),
        ("http://a.b.c.polder.example/", "polder.example"),
        ("http://polder.example/", "polder.example"),
        ("http://shop.example.co.uk/", "example.co.uk"),  # an ICANN suffix of two labels
        ("http://co.uk/", "co.uk"),  # a public suffix itself
        ("http://198.51.100.7/x", "198.51.100.7"),
        ("http://0xc6.51.100.7/x", "198.51.100.7"),
        ("http://[2001:db8::7]/x", "2001:db8::7"),
        ("http://b\u00fccher.example/", "xn--bcher-kva.example"),
    ],
)
def test_site_of_url(raw, site):
    assert canonicalize(raw).site == site


def test_site_private_suffix_keeps_neighbours_apart():
    assert PRIVATE_SUFFIX in _PSL._get_tld_extractor().private_tlds  # from the bundled snapshot
    alice, bob = f"alice.{PRIVATE_SUFFIX}", f"bob.{PRIVATE_SUFFIX}"
    assert site_of(alice) == alice
    assert site_of(f"www.{alice}") == alice
    assert site_of(bob) == bob
    assert site_of(PRIVATE_SUFFIX) == PRIVATE_SUFFIX
    # Without the private section they would be one site: the reason it is on.
    icann_only = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=False)
    assert icann_only(alice).top_domain_under_public_suffix == icann_only(bob).top_domain_under_public_suffix


def test_site_list_is_never_fetched(monkeypatch):
    """The extractor is configured offline: no suffix list URL, no cache directory; a fresh one answers with
    every socket refused."""
    assert (tuple(_PSL.suffix_list_urls), _PSL._cache.enabled) == ((), False)

    def refuse(*args, **kwargs):
        raise AssertionError("the Public Suffix List must never be fetched")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    fresh = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True)
    assert fresh("x.alice.github.io").top_domain_under_public_suffix == "alice.github.io"


@pytest.mark.django_db
def test_site_stored_at_intake_and_backfilled_by_the_migration(now):
    submit_reports(
        items=[ReportInput(url=u) for u in ("http://www.polder.example/1", "https://files.polder.example/2")],
        now=now,
    )
    assert set(Url.objects.values_list("site", flat=True)) == {"polder.example"}
    Url.objects.update(site="")
    migration = importlib.import_module("notices.migrations.0030_intake_public")
    migration.backfill_sites(apps, None)
    assert set(Url.objects.values_list("site", flat=True)) == {"polder.example"}


def test_the_registrars_domain_counts_icann_suffixes_only():
    """The registrar step asks RDAP for the domain a registrar holds: under co.uk one label more, and for a
    host under a private (shared-hosting) suffix the operator's domain, not the user's site."""
    from notices.canonical import registered_domain

    assert registered_domain("files.cdn.example.co.uk") == "example.co.uk"
    assert registered_domain("alice.github.io") == "github.io"
    assert registered_domain("www.polder.example") == "polder.example"
