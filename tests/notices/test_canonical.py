import contextlib
import hashlib
import ipaddress
import random
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notices.canonical import MAX_URL_LENGTH, CanonicalUrl, InvalidUrl, canonicalize, defang


def is_address(host: str) -> bool:
    """Whether a canonical host is an IP address (an IPv6 host without its brackets)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


# --- Google Safe Browsing vectors (tests/fixtures/NOTICE names their source and licence) ---

VECTOR_FILE = Path(__file__).resolve().parent.parent / "fixtures" / "safe-browsing" / "whatwg_sb_canon.tsv"
BAD_HOST = "host is not a valid domain name or IP address"
NOT_FQDN = "host needs a dot and a top-level domain of letters (such as files.example.test), or an IP address"
BAD_IDN = "host has an xn-- label that is not valid IDNA (punycode)"
NO_HOST = "URL has no host"

# Our identity keeps a non-default port (PRODUCT.md "URL identity"); Safe Browsing drops it.
KEPT_PORT = {26: "http://www.gotaport.com:1234/"}
# Safe Browsing escapes these hosts and carries on; we refuse hosts that cannot be a domain name or address,
# because the hosting trace could never resolve them: '#' (9), control bytes (24), a space (28, 29, 30).
REFUSED_HOST = {9, 24, 28, 29, 30}
# These test path escaping on the single-label host "host", which cannot be a public host name: they are
# refused as they stand and checked with the host "host.example" instead.
SINGLE_LABEL = {1, 2, 3, 4, 5}


def _unescape_field(field: str) -> str:
    """Turn the file's \\t \\r \\n \\\\ \\xNN escapes into characters; raw bytes are read as latin-1."""
    escapes = {"t": b"\t", "r": b"\r", "n": b"\n", "\\": b"\\"}

    def byte(match: re.Match[bytes]) -> bytes:
        code = match[1].decode()
        return escapes[code] if code in escapes else bytes([int(code[1:], 16)])

    return re.sub(rb"\\(x[0-9A-Fa-f]{2}|[trn\\])", byte, field.encode("ascii")).decode("latin-1")


def _load_vectors() -> list[tuple[int, str, str | None]]:
    rows = []
    for line in VECTOR_FILE.read_text(encoding="ascii").splitlines()[3:]:
        vector_id, raw, expected, want_err = line.split("\t")
        rows.append((int(vector_id), _unescape_field(raw), None if want_err == "true" else expected))
    return rows


def _has_other_scheme(raw: str) -> bool:
    match = re.match(r"\s*([A-Za-z][A-Za-z0-9+.\-]*)://", raw)
    return match is not None and match[1].lower() not in ("http", "https")


VECTORS = _load_vectors()
SKIPPED = [row for row in VECTORS if _has_other_scheme(row[1])]
ACCEPTED = [
    (vector_id, raw, KEPT_PORT.get(vector_id, expected))
    for vector_id, raw, expected in VECTORS
    if vector_id not in REFUSED_HOST | SINGLE_LABEL and expected is not None and not _has_other_scheme(raw)
]
REFUSED = [(vector_id, raw) for vector_id, raw, expected in VECTORS if vector_id in REFUSED_HOST]
RENAMED = [
    (
        vector_id,
        raw,
        raw.replace("//host/", "//host.example/"),
        expected.replace("//host/", "//host.example/"),
    )
    for vector_id, raw, expected in VECTORS
    if vector_id in SINGLE_LABEL
]


def test_safe_browsing_vectors_all_accounted_for():
    assert len(VECTORS) == 33
    assert len(ACCEPTED) == 23
    assert len(REFUSED) == 5
    assert len(RENAMED) == 5
    assert len(SKIPPED) == 0
    assert len(ACCEPTED) + len(REFUSED) + len(RENAMED) + len(SKIPPED) == len(VECTORS)


@pytest.mark.parametrize(
    ("vector_id", "raw", "renamed", "expected"), RENAMED, ids=[f"sb{r[0]}" for r in RENAMED]
)
def test_canonicalize_safe_browsing_vector_single_label_refused_and_path_rules_hold(
    vector_id, raw, renamed, expected
):
    with pytest.raises(InvalidUrl) as error:
        canonicalize(raw)
    assert str(error.value) == NOT_FQDN
    assert canonicalize(renamed).canonical == expected


@pytest.mark.parametrize(("vector_id", "raw", "expected"), ACCEPTED, ids=[f"sb{row[0]}" for row in ACCEPTED])
def test_canonicalize_safe_browsing_vector_matches(vector_id, raw, expected):
    assert canonicalize(raw).canonical == expected


@pytest.mark.parametrize(("vector_id", "raw"), REFUSED, ids=[f"sb{row[0]}" for row in REFUSED])
def test_canonicalize_safe_browsing_vector_with_bad_host_refused(vector_id, raw):
    with pytest.raises(InvalidUrl) as error:
        canonicalize(raw)
    assert str(error.value) == BAD_HOST


# --- identity: what merges and what stays apart ---


@pytest.mark.parametrize(
    "raw",
    [
        "HTTP://Example.TEST:80/a/../b#frag",
        "http://example.test/b",
        "example.test/b",
        "  http://example.test/./b  ",
        "http://user:secret@example.test//b",
        "http://EXAMPLE.test.../%62",
        "http://example.test/%2562",
        "http://..example..test/c/../b",
        "http://exa\tmple.test/\nb",
        "//example.test/b",
        "http:/example.test/b",
    ],
)
def test_canonicalize_variants_same_canonical(raw):
    assert canonicalize(raw).canonical == "http://example.test/b"


def test_canonicalize_trailing_slash_kept():
    assert canonicalize("HTTP://Example.TEST:80/a/../b/#frag").canonical == "http://example.test/b/"


def test_canonicalize_parts_returned():
    assert canonicalize("HTTPS://Example.TEST:8443/a/./b/../c?x=1&y=2#top") == CanonicalUrl(
        canonical="https://example.test:8443/a/c?x=1&y=2",
        scheme="https",
        host="example.test",
        port=8443,
        path="/a/c",
        query="x=1&y=2",
    )


def test_canonicalize_hash_is_sha256_of_canonical():
    url = canonicalize("http://example.test/a")
    assert url.hash == hashlib.sha256(b"http://example.test/a").digest()
    assert len(url.hash) == 32


def test_canonicalize_scheme_kept():
    assert canonicalize("https://example.test/").canonical == "https://example.test/"
    assert canonicalize("http://example.test/").canonical == "http://example.test/"


@pytest.mark.parametrize(
    ("raw", "canonical", "port"),
    [
        ("http://example.test:8080/", "http://example.test:8080/", 8080),
        ("http://example.test:443/", "http://example.test:443/", 443),
        ("https://example.test:80/", "https://example.test:80/", 80),
        ("https://example.test:443/", "https://example.test/", None),
        ("http://example.test:0080/", "http://example.test/", None),
        ("http://example.test:/", "http://example.test/", None),
        ("example.test:8080/a", "http://example.test:8080/a", 8080),
        ("192.0.2.1:8080", "http://192.0.2.1:8080/", 8080),
    ],
)
def test_canonicalize_port_kept_unless_default(raw, canonical, port):
    url = canonicalize(raw)
    assert (url.canonical, url.port) == (canonical, port)


@pytest.mark.parametrize(
    ("raw", "query"),
    [
        ("http://example.test/a?b=2&a=1", "b=2&a=1"),
        ("http://example.test/a?", ""),
        ("http://example.test/a", None),
        ("http://example.test?q", "q"),
        ("http://example.test/a?x=%2520y", "x=%20y"),
        ("http://example.test/a?x=caf\u00e9", "x=caf%C3%A9"),
        ("http://example.test/a?p=//x/../y/./z", "p=//x/../y/./z"),
        ("http://example.test/a?h=%23", "h=%23"),
    ],
)
def test_canonicalize_query_kept(raw, query):
    assert canonicalize(raw).query == query


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ("http://example.test", "/"),
        ("http://example.test/a/b/../../..", "/"),
        ("http://example.test/a/./b/.", "/a/b/"),
        ("http://example.test///a///b", "/a/b"),
        ("http://example.test/%2E%2E/a", "/a"),
        ("http://example.test/a%3Fb", "/a%3Fb"),
        ("http://example.test/a%2Fb", "/a/b"),
        ("http://example.test/\u00fc", "/%C3%BC"),
        ("http://example.test/a b", "/a%20b"),
        ("http://example.test/%zz%4", "/%25zz%254"),
        ("http://example.test/" + "%25" + "25" * 1500, "/%25"),
    ],
)
def test_canonicalize_path_normalised(raw, path):
    assert canonicalize(raw).path == path


# --- hosts ---


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("http://b\u00fccher.example/", "http://xn--bcher-kva.example/"),
        ("http://B\u00dcCHER.example/", "http://xn--bcher-kva.example/"),
        ("http://b%C3%BCcher.example/", "http://xn--bcher-kva.example/"),
        ("http://xn--bcher-kva.example/", "http://xn--bcher-kva.example/"),
        ("http://b\u00fccher\u3002example/", "http://xn--bcher-kva.example/"),
        ("http://\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.test/", "http://example.test/"),
        ("http://\u2603.example/", "http://xn--n3h.example/"),
    ],
)
def test_canonicalize_idn_host_punycode(raw, canonical):
    assert canonicalize(raw).canonical == canonical


@pytest.mark.parametrize(
    "raw",
    [
        "http://192.0.2.1/",
        "http://3221225985/",
        "http://0xC0000201/",
        "http://0xc0.0x0.0x2.0x1/",
        "http://0300.0.02.01/",
        "http://192.0.513/",
        "http://192.513/",
        "http://%31%39%32.0.2.1/",
        "http://192.0.2.1./",
        "http://\uff11\uff19\uff12.0.2.1/",
    ],
)
def test_canonicalize_ipv4_forms_dotted_quad(raw):
    url = canonicalize(raw)
    assert (url.canonical, url.host, is_address(url.host)) == ("http://192.0.2.1/", "192.0.2.1", True)


@pytest.mark.parametrize(
    ("raw", "canonical", "host"),
    [
        ("http://[2001:DB8:0:0:0:0:0:1]:8080/x", "http://[2001:db8::1]:8080/x", "2001:db8::1"),
        ("https://[2001:db8::1]:443/", "https://[2001:db8::1]/", "2001:db8::1"),
        ("http://[2001:db8:0:0:1:0:0:1]/", "http://[2001:db8::1:0:0:1]/", "2001:db8::1:0:0:1"),
        ("http://[2001:db8:1:0:1:0:1:1]/", "http://[2001:db8:1:0:1:0:1:1]/", "2001:db8:1:0:1:0:1:1"),
        ("http://[::ffff:192.0.2.1]/", "http://[::ffff:c000:201]/", "::ffff:c000:201"),
        ("[2001:db8::a]/p", "http://[2001:db8::a]/p", "2001:db8::a"),
    ],
)
def test_canonicalize_ipv6_compressed(raw, canonical, host):
    url = canonicalize(raw)
    assert (url.canonical, url.host, is_address(url.host)) == (canonical, host, True)


def test_canonicalize_domain_host_not_ip():
    assert is_address(canonicalize("http://192.0.2.1.example/").host) is False


# --- refusals ---


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "URL is empty"),
        (" \t\r\n ", "URL is empty"),
        ("#fragment", "URL is empty"),
        ("javascript:alert(1)", "only http and https URLs can be tracked"),
        ("JavaScript:alert(1)", "only http and https URLs can be tracked"),
        ("ftp://example.test/a", "only http and https URLs can be tracked"),
        ("data:text/html,hello", "only http and https URLs can be tracked"),
        ("file:///etc/hosts", "only http and https URLs can be tracked"),
        ("mailto:abuse@example.test", "only http and https URLs can be tracked"),
        ("http://", "URL has no host"),
        ("http:///", "URL has no host"),
        ("http://.../a", "URL has no host"),
        ("http://user@:8080/", "URL has no host"),
        ("http://example.test:99999/", "port must be a number from 1 to 65535"),
        ("http://example.test:0/", "port must be a number from 1 to 65535"),
        ("http://example.test:8o/", "port must be a number from 1 to 65535"),
        ("http://exa mple.test/", BAD_HOST),
        ("http://exa%20mple.test/", BAD_HOST),
        ("http://exa\x00mple.test/", BAD_HOST),
        ("http://a<b>.example/", BAD_HOST),
        ('http://a"b.example/', BAD_HOST),
        ("http://a{b}.example/", BAD_HOST),
        ("http://a|b.example/", BAD_HOST),
        ("http://a_b.example/", BAD_HOST),
        ("http://my_site.b\u00fccher.example/", BAD_HOST),
        ("http://-a.example/", BAD_HOST),
        ("http://a-.example/", BAD_HOST),
        ("http://files.-example/", BAD_HOST),
        ("http://files.example-/", BAD_HOST),
        ("http://-.example/", BAD_HOST),
        ("http://xn--.example/", BAD_IDN),
        ("http://XN--.example/", BAD_IDN),
        ("http://files.xn--/", BAD_IDN),
        ("http://xn--zz.example/", BAD_IDN),
        ("http://xn--abc-.example/", BAD_IDN),
        ("http://xn--a.example/", BAD_IDN),
        ("http://xn--wca.example/", BAD_IDN),
        ("http://xn--99.example/", BAD_IDN),
        ("hello", NOT_FQDN),
        ("Hello/", NOT_FQDN),
        ("http://hello/", NOT_FQDN),
        ("https://intranet:8443/x", NOT_FQDN),
        ("http://localhost/", NOT_FQDN),
        ("http://localhost.:8080/", NOT_FQDN),
        ("http://a\\b.example/", NOT_FQDN),
        ("http://files.example.c/", NOT_FQDN),
        ("http://files.example.t3st/", NOT_FQDN),
        ("http://files.example.te-st/", NOT_FQDN),
        ("http://files.123abc/", NOT_FQDN),
        ("http:///path", NO_HOST),
        ("http:///files.example/a", NO_HOST),
        ("https:////files.example/a", NO_HOST),
        ("///files.example/a", NO_HOST),
        ("http:\\\\\\files.example/a", NO_HOST),
        ("http:/\\/files.example/a", NO_HOST),
        ("http://a^b.example/", BAD_HOST),
        ("http://a`b.example/", BAD_HOST),
        ("http://a%2Fb.example/", BAD_HOST),
        ("http://a%FFb.example/", BAD_HOST),
        ("http://" + "a" * 64 + ".example/", BAD_HOST),
        ("http://192.0.2.256/", BAD_HOST),
        ("http://192.0.2.1.5/", BAD_HOST),
        ("http://4294967296/", BAD_HOST),
        ("http://192.0.2.09/", BAD_HOST),
        ("http://example.0x1/", BAD_HOST),
        ("http://[2001:db8::1/", BAD_HOST),
        ("http://[2001:db8::1]x/", BAD_HOST),
        ("http://[2001:db8::g]/", BAD_HOST),
        ("http://[fe80::1%25eth0]/", BAD_HOST),
        ("http://2001:db8::1/", BAD_HOST),
        ("http://\u200d.example/", BAD_HOST),
        ("http://example.test/\ud800", "URL contains characters that are not valid Unicode"),
        ("http://example.test/" + "a" * (MAX_URL_LENGTH - 19), "URL is longer than 4096 characters"),
        ("http://example.test/" + "\u00fc" * 1000, "URL is longer than 4096 characters"),
    ],
)
def test_canonicalize_bad_input_raises_invalid_url(raw, message):
    with pytest.raises(InvalidUrl) as error:
        canonicalize(raw)
    assert str(error.value) == message


LONGEST_NAME = ("a" * 62 + ".") * 3 + "a" * 59 + ".test"  # 253 characters


@pytest.mark.parametrize(
    ("accepted", "refused", "message"),
    [
        ("http://files.example/", "http://files-.example/", BAD_HOST),
        ("http://a.test/", "http://a.t3st/", NOT_FQDN),
        ("http://x.invalid/", "http://x.i/", NOT_FQDN),
        ("http://demo.localhost:8080/", "http://localhost:8080/", NOT_FQDN),
        ("http://3com.example/", "http://-3com.example/", BAD_HOST),
        ("http://a-b.c--d.example/", "http://a_b.c--d.example/", BAD_HOST),
        ("http://" + "a" * 63 + ".example/", "http://" + "a" * 62 + "-.example/", BAD_HOST),
        ("http://" + LONGEST_NAME + "/", "http://_" + LONGEST_NAME[1:] + "/", BAD_HOST),
        ("http://files.example.xn--p1ai/", "http://files.example.xn--/", BAD_IDN),
        ("http://xn--e1afmkfd.xn--p1ai/", "http://xn--e1afmkfd.xn--p1ai0/", BAD_IDN),
        ("http://xn--bcher-kva.example/", "http://xn--bcher-kva-.example/", BAD_IDN),
        ("http://xn--n3h.example/", "http://xn--wca.example/", BAD_IDN),
        ("http://198.51.100.7/", "http:///198.51.100.7/", NO_HOST),
        ("http://[2001:db8::7]/", "http:///[2001:db8::7]/", NO_HOST),
    ],
)
def test_canonicalize_host_names_accepted_and_their_near_misses_refused(accepted, refused, message):
    url = canonicalize(accepted)
    assert url.canonical == accepted
    assert len(url.host) <= 253
    with pytest.raises(InvalidUrl) as error:
        canonicalize(refused)
    assert error.value.message == message


@pytest.mark.parametrize(
    ("raw", "canonical", "broken"),
    [
        ("http://XN--BCHER-KVA.example/", "http://xn--bcher-kva.example/", "http://XN--.example/"),
        (
            "http://\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444/",
            "http://xn--e1afmkfd.xn--p1ai/",
            "http://xn--e1afmkfd.xn--p1ai-/",
        ),
    ],
)
def test_canonicalize_ace_and_unicode_hosts_meet_while_bad_ace_is_refused(raw, canonical, broken):
    assert canonicalize(raw).canonical == canonical
    with pytest.raises(InvalidUrl) as error:
        canonicalize(broken)
    assert error.value.message == BAD_IDN


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("http:\\\\files.example\\a\\b", "http://files.example/a/b"),
        ("http://files.example\\a", "http://files.example/a"),
        ("https:/\\files.example/x\\", "https://files.example/x/"),
        ("http:\\files.example\\", "http://files.example/"),
        ("http://files.example\\@evil.example/", "http://files.example/@evil.example/"),
        ("http://user:pw@files.example\\x", "http://files.example/x"),
        ("http://files.example/a\\..\\b", "http://files.example/b"),
        ("http://files.example/a\\.\\b", "http://files.example/a/b"),
        ("http://files.example:8080\\x", "http://files.example:8080/x"),
        ("files.example\\x", "http://files.example/x"),
        ("\\\\files.example\\x", "http://files.example/x"),
        ("http://files.example/a%5Cb", "http://files.example/a%5Cb"),
        ("http://files.example/a%255Cb", "http://files.example/a%5Cb"),
        ("http://files.example\\a?x=\\y", "http://files.example/a?x=\\y"),
        ("http://files.example\\?x=\\y\\z", "http://files.example/?x=\\y\\z"),
    ],
)
def test_canonicalize_backslash_read_as_browsers_do(raw, canonical):
    url = canonicalize(raw)
    assert url.canonical == canonical
    assert canonicalize(url.canonical) == url


def test_invalid_url_carries_its_message():
    with pytest.raises(InvalidUrl) as error:
        canonicalize("http://hello/")
    assert error.value.message == NOT_FQDN == str(error.value)
    assert error.value.args == (NOT_FQDN,)


def test_canonicalize_longest_input_accepted():
    raw = "http://example.test/" + "a" * (MAX_URL_LENGTH - 20)
    assert canonicalize(raw).canonical == raw


def test_invalid_url_is_value_error():
    assert issubclass(InvalidUrl, ValueError)


# --- defang ---


@pytest.mark.parametrize(
    ("url", "defanged"),
    [
        ("http://example.test/path", "hxxp://example[.]test/path"),
        ("https://www.example.test/a.html?b=c.d", "hxxps://www[.]example[.]test/a.html?b=c.d"),
        ("http://192.0.2.1/", "hxxp://192[.]0[.]2[.]1/"),
        ("http://[2001:db8::1]:8080/x.y", "hxxp://[2001:db8::1]:8080/x.y"),
        ("http://example.test:8080/", "hxxp://example[.]test:8080/"),
        ("HTTP://Example.TEST/", "hxxp://Example[.]TEST/"),
        ("  http://example.test/", "hxxp://example[.]test/"),
        ("example.test/a.b", "example[.]test/a.b"),
        ("example.test:8080/a.b", "example[.]test:8080/a.b"),
        ("ftp://example.test/a.b", "ftp://example[.]test/a.b"),
        ("http://example.test#x.y", "hxxp://example[.]test#x.y"),
        ("hxxp://example[.]test/", "hxxp://example[.]test/"),
        ("ht\ttp://exa\nmple.test/", "hxxp://example[.]test/"),
        ("", ""),
    ],
)
def test_defang_output(url, defanged):
    assert defang(url) == defanged


def test_defang_canonical_has_no_link():
    defanged = defang(canonicalize("https://b\u00fccher.example/a.b").canonical)
    assert defanged == "hxxps://xn--bcher-kva[.]example/a.b"


# --- fuzz ---

FUZZ_PIECES = [
    *["http://", "https://", "HTTP://", "ftp://", "javascript:", "//", "example.test", "b\u00fccher"],
    *[".", "..", "/", "\\", "?", "#", "@", ":", "[", "]", "%", "%2", "%25", "%2E", "%00", "%C3%BC", "%FF"],
    *["0x", "0", "1", "255", "4294967296", "8080", "99999", "2001:db8::1", " ", "\t", "\u3002", "\ufeff"],
]


def _fuzz_string(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randrange(1, 12)):
        if rng.random() < 0.6:
            parts.append(rng.choice(FUZZ_PIECES))
        else:
            parts.append("".join(chr(rng.randrange(0x110000)) for _ in range(rng.randrange(1, 4))))
    return "".join(parts)


def test_canonicalize_random_input_only_invalid_url():
    rng = random.Random(20240601)
    accepted = 0
    for _ in range(2000):
        raw = _fuzz_string(rng)
        defang(raw)
        try:
            url = canonicalize(raw)
        except InvalidUrl:
            continue
        accepted += 1
        assert canonicalize(url.canonical) == url, raw
        assert url.canonical.isascii(), raw
    assert accepted >= 100  # hosts must be full domain names, which random pieces seldom make


# Pieces a hostile or careless report is made of: hosts good and bad, slashes both ways, escapes, dots.
_HOSTS = st.sampled_from(
    [
        "files.example",
        "b\u00fccher.example",
        "xn--bcher-kva.example",
        "xn--.example",
        "hello",
        "localhost",
        "a_b.example",
        "-a.example",
        "a-.example",
        "x.t3st",
        "198.51.100.7",
        "[2001:db8::7]",
        "",
        "a..b.test",
        "FILES.Example.",
        "xn--n3h.test",
        "demo.localhost",
        "x.invalid",
        "0x7f.1",
        "user@files.example",
    ]
)
_PIECES = st.sampled_from(
    ["/", "\\", "//", "\\\\", "?", "#", "%5C", "%2F", "%2E", "..", ".", "a", "%", "%25", " ", "@"]
)
_URLS = st.builds(
    lambda scheme, slashes, host, port, rest: scheme + slashes + host + port + "".join(rest),
    st.sampled_from(["http:", "https:", "HTTP:", ""]),
    st.sampled_from(["", "/", "//", "///", "\\\\", "/\\", "\\\\\\"]),
    _HOSTS,
    st.sampled_from(["", ":8080", ":", ":0", ":80"]),
    st.lists(st.one_of(_PIECES, st.text(max_size=3)), max_size=8),
)


@settings(max_examples=400, deadline=None)
@given(_URLS)
def test_canonicalize_generated_urls_are_valid_and_stable(raw):
    """Over generated reports: only InvalidUrl with a message, and what is accepted has a host DNS can hold
    (or an address), no backslash before the query, and canonicalises to itself."""
    try:
        url = canonicalize(raw)
    except InvalidUrl as error:
        assert error.message and str(error) == error.message
        return
    assert canonicalize(url.canonical) == url
    assert "\\" not in url.canonical.partition("?")[0]
    if not is_address(url.host):
        labels = url.host.split(".")
        assert len(labels) >= 2 and len(url.host) <= 253
        assert all(re.fullmatch(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", label) for label in labels)
        assert re.fullmatch(r"[a-z]{2,63}|xn--[a-z0-9-]+", labels[-1])


def test_defang_fast_path_says_what_the_general_path_says():
    """`defang` takes a short cut for plain http(s) URLs; over random input, and over the canonical form of
    what canonicalize accepts, the short cut (where it applies) gives exactly the general path's output."""
    from notices.canonical import _defang_parts, _defang_plain_http

    rng = random.Random(20261128)
    took_short_cut = 0
    for _ in range(4000):
        raw = _fuzz_string(rng)
        candidates = [raw, "http://" + raw, "https://" + raw]
        with contextlib.suppress(InvalidUrl):
            candidates.append(canonicalize(raw).canonical)
        for url in candidates:
            fast = _defang_plain_http(url)
            if fast is not None:
                took_short_cut += 1
                assert fast == _defang_parts(url), url
    assert took_short_cut > 2000
