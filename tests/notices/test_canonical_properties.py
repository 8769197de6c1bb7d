"""Property tests of URL identity (hypothesis): canonicalising twice changes nothing, and equivalent spellings
of one URL — scheme and host case, default port, escaped unreserved characters, dot segments, doubled
slashes, trailing dots, a fragment, userinfo, pasted whitespace — make one canonical URL (one case).

The published Safe Browsing vectors are in test_canonical.py (tests/fixtures/NOTICE: Apache-2.0)."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from notices.canonical import InvalidUrl, canonicalize

_LABEL = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=10)
_HOST = st.builds(
    lambda labels, top: ".".join([*labels, top]),
    st.lists(_LABEL, min_size=1, max_size=3),
    st.sampled_from(["example", "test", "invalid"]),
)
_SEGMENT = st.text(string.ascii_letters + string.digits + "-_~!$&'()*+,;=:@", min_size=1, max_size=8)
_QUERY = st.one_of(st.none(), st.text(string.ascii_letters + string.digits + "=&", max_size=12))


@st.composite
def urls(draw) -> tuple[str, str, list[str], str | None, int | None]:
    scheme = draw(st.sampled_from(["http", "https"]))
    port = draw(st.one_of(st.none(), st.integers(1, 65535)))
    return scheme, draw(_HOST), draw(st.lists(_SEGMENT, max_size=4)), draw(_QUERY), port


def plain(scheme, host, segments, query, port) -> str:
    port_text = "" if port is None else f":{port}"
    return f"{scheme}://{host}{port_text}/{'/'.join(segments)}" + ("" if query is None else f"?{query}")


def _escape_some(text: str, mask: list[bool]) -> str:
    return (
        "".join(f"%{ord(c):02X}" if flag else c for c, flag in zip(text, mask, strict=False))
        + text[len(mask) :]
    )


@st.composite
def spellings(draw, url):
    """Another spelling of the same URL."""
    scheme, host, segments, query, port = url
    default = {"http": 80, "https": 443}[scheme]
    port_text = draw(st.sampled_from(["", f":{default}"])) if port is None else f":{port}"
    if port is not None and port == default:
        port_text = draw(st.sampled_from(["", f":{port}"]))
    scheme_text = "".join(c.upper() if draw(st.booleans()) else c for c in scheme)
    host_text = "".join(c.upper() if draw(st.booleans()) else c for c in host) + draw(
        st.sampled_from(["", "."])
    )
    userinfo = draw(st.sampled_from(["", "user@", "user:secret@"]))
    parts = []
    for segment in segments:
        mask = draw(st.lists(st.booleans(), max_size=len(segment)))
        parts.append(draw(st.sampled_from(["", "./", "x/../", "/"])) + _escape_some(segment, mask))
    path = "/" + "/".join(parts)
    tail = "" if query is None else f"?{query}"
    fragment = draw(st.sampled_from(["", "#", "#frag", "#a#b"]))
    edge = draw(st.sampled_from(["", " ", "\t", "\n"]))
    return f"{edge}{scheme_text}://{userinfo}{host_text}{port_text}{path}{tail}{fragment}{edge}"


@settings(max_examples=300, deadline=None)
@given(st.data(), urls())
def test_equivalent_spellings_canonicalise_together(data, url):
    expected = canonicalize(plain(*url))
    other = data.draw(spellings(url))
    assert canonicalize(other).canonical == expected.canonical, other
    assert canonicalize(other).hash == expected.hash
    assert canonicalize(other).site == expected.site


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=60))
def test_canonicalising_twice_changes_nothing(raw):
    try:
        once = canonicalize(raw)
    except InvalidUrl:
        return
    assert canonicalize(once.canonical) == once


@settings(max_examples=200, deadline=None)
@given(urls())
def test_canonical_of_a_generated_url_is_itself_and_stable(url):
    once = canonicalize(plain(*url))
    assert canonicalize(once.canonical) == once
