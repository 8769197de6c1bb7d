import pytest

@pytest.mark.django_db
@pytest.mark.parametrize("cs", ["rot13", "hex", "base64", "bz2", "zlib", "uu", "utf-16", "idna", "punycode", "unicode_escape", "raw_unicode_escape", "quopri", "utf-7", "cp037", "undefined", "mbcs", "palmos", "koi8_u", "utf_32"])
def test_probe(partner_api, cs):
    r = partner_api.post("/api/v1/reports/", b'{"url": "http://a.example/"}', content_type=f"application/json; charset={cs}")
    print("P>", cs, r.status_code, r.content[:150])
    r = partner_api.post("/api/v1/reports/bulk/", b'url\nhttp://a.example/\n', content_type=f"text/csv; charset={cs}")
    print("P> csv", cs, r.status_code, r.content[:150])
