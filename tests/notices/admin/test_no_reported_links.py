"""No admin page links to or embeds a reported URL: every page of every registered model (list, change,
history), the index and the staff pages outside the admin site, walked as a superuser over the demo data
(its reported URLs included) — no href, src, action, formaction, srcset, poster, data or background attribute
holds a reported URL or its host, fanged or not."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse

from notices.canonical import defang
from notices.models import HostingProvider, Notice, Report, Url

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(300)]

LINKING = {
    "href",
    "src",
    "action",
    "formaction",
    "srcset",
    "poster",
    "data",
    "background",
    "xlink:href",
    "ping",
}


class _Attributes(HTMLParser):
    def __init__(self):
        super().__init__()
        self.values: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name.lower() in LINKING and value:
                self.values.append((tag, name, value))

    handle_startendtag = handle_starttag


def _linking_attributes(html: str) -> list[tuple[str, str, str]]:
    parser = _Attributes()
    parser.feed(html)
    return parser.values


def _reported() -> tuple[set[str], set[str]]:
    """Every reported URL and every reported host, as stored and defanged, lower-cased."""
    urls, hosts = set(), set()
    for url in Url.objects.filter(purged_at=None):
        urls |= {url.canonical, url.original}
        hosts.add(url.host)
    urls |= set(Report.objects.exclude(original_url="").values_list("original_url", flat=True))
    urls |= {defang(value) for value in urls}
    hosts |= {defang(value) for value in hosts}
    return {v.lower() for v in urls if v}, {v.lower() for v in hosts if v}


def _problem(value: str, urls: set[str], hosts: set[str]) -> str | None:
    """What a linking attribute's value wrongly holds: a reported URL anywhere in it; a reported host as its
    target, or anywhere but the query of a link to this site (the admin's own search links carry the
    analyst's search term, a host, as `?q=`)."""
    value = value.lower()
    if hit := next((u for u in urls if u in value), None):
        return hit
    parts = urlsplit(value)
    outside_query = value if parts.scheme or parts.netloc else value.split("?", 1)[0]
    return next((h for h in hosts if h in outside_query), None)


def _pages(objects: dict) -> list[str]:
    pages = [
        reverse("admin:index"),
        "/admin/dashboard/",
        "/admin/transparency/",
        "/admin/trusted-flagger-report/",
    ]
    pages += [f"/admin/scorecard/{slug}/" for slug in HostingProvider.objects.values_list("slug", flat=True)]
    for model in admin.site._registry:
        info = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        pages.append(reverse(f"{info}_changelist"))
        obj = objects.get(model)
        for pk in {obj.pk} if obj is not None else set():
            pages += [reverse(f"{info}_change", args=[pk]), reverse(f"{info}_history", args=[pk])]
    for case in Url.objects.filter(purged_at=None).order_by("pk")[:40]:
        pages += [
            reverse("admin:notices_url_change", args=[case.pk]),
            reverse("admin:notices_url_assess", args=[case.pk]),
            reverse("admin:notices_url_override", args=[case.pk]),
            reverse("admin:notices_url_dispute", args=[case.pk]),
        ]
    for notice in Notice.objects.order_by("pk")[:20]:
        pages.append(reverse("admin:notices_notice_change", args=[notice.pk]))
    for case in Url.objects.filter(purged_at=None).order_by("pk")[:10]:  # searches by the URL and its host
        pages += [
            reverse("admin:notices_url_changelist") + f"?q={case.host}",
            reverse("admin:notices_url_changelist") + "?queue=new",
        ]
    return pages


def test_the_walk_finds_a_link_it_looks_for():
    urls, hosts = {"http://files.polder.example/x"}, {"files.polder.example"}
    assert _problem("http://files.polder.example/x", urls, hosts)
    assert _problem("//files.polder.example/", urls, hosts)
    assert _problem("/admin/go/files.polder.example/", urls, hosts)
    assert _problem("?q=files.polder.example", urls, hosts) is None  # the admin's search link
    assert _problem("?next=http://files.polder.example/x", urls, hosts)
    assert _linking_attributes('<a href="http://files.polder.example/x">x</a><img srcset="a 1x">') == [
        ("a", "href", "http://files.polder.example/x"),
        ("img", "srcset", "a 1x"),
    ]


def test_no_admin_page_links_to_or_embeds_a_reported_url(client, demo_world):
    urls, hosts = _reported()
    assert len(urls) > 10 and len(hosts) > 3  # the demo's reported URLs and their hosts
    root = get_user_model().objects.create_superuser("walker", "walker@hotline.example", "walker-pass-1")
    client.force_login(root)
    pages = _pages(demo_world)
    wrong, shown = [], 0
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        html = response.content.decode()
        shown += any(value in html.lower() for value in urls if "[.]" in value)  # shown defanged, as text
        for tag, name, value in _linking_attributes(html):
            if hit := _problem(value, urls, hosts):
                wrong.append(f"{path}: <{tag} {name}={value!r}> holds {hit!r}")
    assert not wrong, "\n".join(wrong[:30])
    assert shown > 0  # the walk did see pages with reported URLs on them (as defanged text)
    assert len(pages) > 100
