"""Hash values per media item on reports (single and bulk) and matching: a report whose value an earlier
case holds links to it, across hosts and providers; the URL detail lists the same material both ways."""

from __future__ import annotations

import pytest
from django.db import connection

from notices.models import MediaHash, Report, Url
from notices.selectors.matching import same_material

pytestmark = pytest.mark.django_db

SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
MD5 = "0123456789abcdef0123456789abcdef"
SHA1 = "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"
PDQ = "f" * 64
PHOTODNA = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0-Pw=="


def first_hash_errors(errors) -> dict:
    """The field errors of the first hash item, whether DRF lists the items or keys them by index (the
    schema work of issue 18 settles the shape)."""
    return errors[0] if isinstance(errors, list) else errors["0"]


def post(client, url: str, *hashes: tuple[str, str]):
    body = {"url": url, "hashes": [{"algorithm": a, "value": v} for a, v in hashes]}
    return client.post("/api/v1/reports/", body, format="json")


@pytest.mark.parametrize(
    ("algorithm", "value", "stored"),
    [
        ("md5", MD5.upper(), MD5),
        ("sha1", SHA1, SHA1),
        ("sha256", SHA256.upper(), SHA256),
        ("pdq", PDQ.upper(), PDQ),
        ("photodna", PHOTODNA, PHOTODNA),  # opaque: kept exactly, case included
    ],
)
def test_report_hash_values_stored_per_media_item(partner_api, algorithm, value, stored):
    response = post(partner_api, "http://files.polder.example/a.html", (algorithm, value))
    assert response.status_code == 201, response.content
    row = MediaHash.objects.get()
    report = Report.objects.get()
    assert (row.report_id, row.url_id, row.algorithm, row.value) == (
        report.pk,
        report.url_id,
        algorithm,
        stored,
    )
    assert report.hashes == [{"algorithm": algorithm, "value": value}]  # as sent, too


@pytest.mark.parametrize(
    ("hashes", "errors"),
    [
        ([{"algorithm": "md5", "value": MD5[:-1]}], {"value": ["Not a valid md5 hex digest."]}),
        ([{"algorithm": "sha1", "value": SHA1 + "0"}], {"value": ["Not a valid sha1 hex digest."]}),
        ([{"algorithm": "sha256", "value": "g" * 64}], {"value": ["Not a valid sha256 hex digest."]}),
        ([{"algorithm": "pdq", "value": "f" * 63}], {"value": ["Not a valid pdq hex digest."]}),
        (
            [{"algorithm": "photodna", "value": "two words"}],
            {"value": ["A hash value is 1 to 1024 printable ASCII characters without spaces."]},
        ),
        (
            [{"algorithm": "photodna", "value": "é" * 10}],
            {"value": ["A hash value is 1 to 1024 printable ASCII characters without spaces."]},
        ),
        (
            [{"algorithm": "photodna", "value": "x" * 1025}],
            {"value": ["Ensure this field has no more than 1024 characters."]},
        ),
        ([{"algorithm": "photodna", "value": 12345}], {"value": ["Not a valid string."]}),
        ([{"algorithm": "crc32", "value": "abcd"}], {"algorithm": ['"crc32" is not a valid choice.']}),
        ([{"algorithm": "md5"}], {"value": ["This field is required."]}),
    ],
)
def test_report_bad_hash_value_is_a_field_error(partner_api, hashes, errors):
    response = partner_api.post(
        "/api/v1/reports/", {"url": "http://files.polder.example/a.html", "hashes": hashes}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["hashes"]
    assert first_hash_errors(response.json()["hashes"]) == errors
    assert (Report.objects.count(), MediaHash.objects.count()) == (0, 0)


def test_report_more_than_100_hash_values_refused(partner_api):
    hashes = [{"algorithm": "md5", "value": f"{n:032x}"} for n in range(101)]
    response = partner_api.post(
        "/api/v1/reports/", {"url": "http://files.polder.example/a", "hashes": hashes}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["hashes"]


def test_report_matching_hash_links_to_the_earlier_case_across_hosts_and_providers(
    partner_api, staff_api, make_case, provider, other_provider, now
):
    first = make_case("http://files.polder.example/a.jpg", provider=provider, when=now)
    post(partner_api, first.canonical, ("sha256", SHA256), ("md5", MD5))  # a report of the same case
    unrelated = post(partner_api, "http://cdn.balkan.example/other.jpg", ("sha256", "0" * 64)).json()
    moved = post(partner_api, "https://mirror.carpathia.example/x/y.jpg", ("sha256", SHA256.upper())).json()
    assert moved["same_material_as"] == [first.pk]
    assert unrelated["same_material_as"] == []
    again = post(partner_api, "http://cdn.balkan.example/z.jpg", ("md5", MD5.upper()), ("sha256", SHA256))
    assert again.json()["same_material_as"] == [first.pk, moved["url"]["id"]]

    detail = staff_api.get(f"/api/v1/urls/{first.pk}/").json()
    assert detail["same_material"] == [
        {
            "id": moved["url"]["id"],
            "canonical": "https://mirror.carpathia.example/x/y.jpg",
            "site": "carpathia.example",
            "status": "new",
            "provider": None,
            "algorithms": ["sha256"],
        },
        {
            "id": again.json()["url"]["id"],
            "canonical": "http://cdn.balkan.example/z.jpg",
            "site": "balkan.example",
            "status": "new",
            "provider": None,
            "algorithms": ["md5", "sha256"],
        },
    ]
    back = staff_api.get(f"/api/v1/urls/{moved['url']['id']}/").json()["same_material"]
    assert [(m["id"], m["provider"], m["algorithms"]) for m in back] == [
        (first.pk, "polder", ["sha256"]),
        (again.json()["url"]["id"], None, ["sha256"]),
    ]
    assert staff_api.get(f"/api/v1/urls/{unrelated['url']['id']}/").json()["same_material"] == []


def test_report_perceptual_values_match_exactly_only(partner_api):
    first = post(partner_api, "http://files.polder.example/p.jpg", ("photodna", PHOTODNA)).json()
    other_case = post(partner_api, "http://cdn.balkan.example/p.jpg", ("photodna", PHOTODNA.lower())).json()
    same = post(partner_api, "http://cdn.balkan.example/q.jpg", ("photodna", PHOTODNA)).json()
    assert other_case["same_material_as"] == []
    assert same["same_material_as"] == [first["url"]["id"]]
    # Another algorithm with an equal string is no match either.
    md5_like = post(partner_api, "http://a.polder.example/1", ("md5", MD5)).json()
    assert post(partner_api, "http://b.polder.example/1", ("pdq", MD5 * 2)).json()["same_material_as"] == []
    assert md5_like["same_material_as"] == []


def test_bulk_reports_carry_hashes_and_match_inside_the_batch(partner_api):
    rows = [
        {"url": "http://files.polder.example/1.jpg", "hashes": [{"algorithm": "sha1", "value": SHA1}]},
        {"url": "http://cdn.balkan.example/1.jpg", "hashes": [{"algorithm": "sha1", "value": SHA1.upper()}]},
        {"url": "http://cdn.balkan.example/2.jpg", "hashes": [{"algorithm": "sha1", "value": "bad"}]},
    ]
    body = partner_api.post("/api/v1/reports/bulk/", rows, format="json").json()
    first, second, bad = body["results"]
    assert first["same_material_as"] == [second["url"]["id"]]
    assert second["same_material_as"] == [first["url"]["id"]]
    assert (bad["index"], list(bad["errors"])) == (2, ["hashes"])
    assert first_hash_errors(bad["errors"]["hashes"]) == {"value": ["Not a valid sha1 hex digest."]}
    assert Report.objects.filter(channel="bulk").count() == 2
    assert MediaHash.objects.count() == 2


def test_same_material_lookup_uses_the_value_index(partner_api):
    post(partner_api, "http://files.polder.example/a.jpg", ("sha256", SHA256))
    url = Url.objects.get()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            """EXPLAIN SELECT other.url_id FROM notices_mediahash mine
               JOIN notices_mediahash other ON other.algorithm = mine.algorithm AND other.value = mine.value
               WHERE mine.url_id = %s AND other.url_id <> %s""",
            [url.pk, url.pk],
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "mediahash_url_idx" in plan
    assert "mediahash_value_idx" in plan
    assert same_material(url.pk) == []


def test_same_material_page_in_the_admin(client, analyst, partner_api):
    a = post(partner_api, "http://files.polder.example/a.jpg", ("sha256", SHA256)).json()
    b = post(partner_api, "http://cdn.balkan.example/b.jpg", ("sha256", SHA256)).json()
    client.force_login(analyst)
    page = client.get(f"/admin/notices/url/{a['url']['id']}/change/").content.decode()
    assert f'<a href="/admin/notices/url/{b["url"]["id"]}/change/">case {b["url"]["id"]}</a>' in page
    assert "hxxp://cdn[.]balkan[.]example/b.jpg" in page
    assert 'href="http://cdn.balkan.example' not in page
