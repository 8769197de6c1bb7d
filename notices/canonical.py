"""Canonical URL identity: one string per resource, so that many reports of it make one case.

The rules are Google Safe Browsing's published canonicalisation (strip tab/CR/LF and the fragment, unescape
repeatedly and re-escape minimally, normalise the host and the path), because hotlines and blocklists already
compare URLs that way. Three differences, all because they identify what a provider has to take down: the
scheme, a non-default port and the query are kept. Internationalised hosts become punycode so that the string
is plain ASCII and the same whichever form a report used.

The work is done on UTF-8 bytes after the URL is split into its parts, so that an escaped "/" in the host or
an escaped "?" in the path cannot move text from one part into another. Before the split, a backslash before
the query is a slash, as browsers read http and https URLs (WHATWG URL Standard, "special" schemes).

A case must name something on the public internet that the hosting trace can resolve, so the host is an IP
address (IPv4 in any notation, bracketed IPv6) or a host name that DNS can hold: labels of letters, digits and
hyphens (not at either end, at most 63 characters, the name at most 253), every "xn--" label valid punycode of
an IDNA label, at least two labels, and a top-level label of letters or "xn--". Single-label names
("localhost", "intranet", a bare word) and an empty authority ("http:///path") are refused.

The site of a URL (`site_of`) is its registrable domain by the Public Suffix List, private section included
(so "alice.blogspot.com" and "bob.blogspot.com" are two sites, not one), read from tldextract's bundled
snapshot and never fetched; a host under no listed suffix takes its last label as the suffix (the list's
implicit "*" rule), and an IP address is its own site.

This module is pure Python on purpose: the API, the importers and the benchmarks call it without Django.
"""

import hashlib
import ipaddress
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from urllib.parse import unquote_to_bytes

import idna
import tldextract

MAX_URL_LENGTH = 4096

_DEFAULT_PORTS = {"http": 80, "https": 443}
_BAD_HOST = "host is not a valid domain name or IP address"
_BAD_IDN = "host has an xn-- label that is not valid IDNA (punycode)"
_NOT_FQDN = (
    "host needs a dot and a top-level domain of letters (such as files.example.test), or an IP address"
)
_NO_HOST = "URL has no host"

# C0 controls, Unicode spaces and zero-width characters that come along when a URL is pasted from a document.
_EDGE_CHARS = (
    "".join(map(chr, [*range(0x21), *range(0x2000, 0x200E)]))
    + "\x85\xa0\u1680\u2028\u2029\u202f\u205f\u2060\u3000\ufeff"
)
_TAB_CR_LF = str.maketrans("", "", "\t\r\n")
_SCHEME = re.compile(rb"([A-Za-z][A-Za-z0-9+.\-]*):")
# "example.test:8080/a" has no scheme: what looks like one is a host followed by a port.
_HOST_PORT = re.compile(rb"[0-9]+(?:[/\\?]|\Z)")
_AUTHORITY_END = re.compile(rb"/")
# Label separators that UTS 46 maps to "." (ideographic, full-width and half-width full stops).
_UNICODE_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})
_DOT_RUN = re.compile(r"\.{2,}")
# RFC 1123 host name label: letters, digits and inner hyphens, 1-63 characters.
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_TOP_LABEL = re.compile(r"[a-z]{2,63}")
_ACE_PREFIX = "xn--"
# A host whose last label is a number is an IPv4 address or nothing (as in browsers).
_NUMBER_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")
_IPV4_PART = re.compile(r"0x(?P<hex>[0-9a-f]*)|0(?P<oct>[0-7]+)|(?P<dec>0|[1-9][0-9]*)")
# defang(): optional scheme (only if slashes follow: "example.test:8080" is a host), host, the rest.
_DEFANG_PARTS = re.compile(
    r"\s*(?:(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*):(?=[/\\]))?"
    r"(?P<slashes>[/\\]*)(?P<host>[^/\\?#]*)(?P<tail>.*)",
    re.DOTALL,
)
# A dot not already defanged, so that defanging twice changes nothing.
_BARE_DOT = re.compile(r"(?<!\[)\.(?!\])")


def _escape_table(extra: bytes) -> list[str]:
    """Safe Browsing's minimal escaping: only bytes <= 0x20, >= 0x7f, '#' and '%' (plus `extra`)."""
    special = b"#%" + extra
    return [f"%{b:02X}" if b <= 0x20 or b >= 0x7F or b in special else chr(b) for b in range(256)]


_QUERY_ESCAPES = _escape_table(b"")
# A '?' unescaped from the path must stay escaped, or the canonical string would read back with a query; a
# '\\' likewise, or it would read back as a slash.
_PATH_ESCAPES = _escape_table(b"?\\")


class InvalidUrl(ValueError):
    """A URL that cannot become a case. `message` says why, for the person who sent it: every caller turns it
    into a field error on `url` (API, bulk JSON and CSV rows)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class CanonicalUrl:
    """The parts of a canonical URL; `host` is punycode, a dotted-quad IPv4 or an IPv6 without brackets."""

    canonical: str
    scheme: str
    host: str
    port: int | None
    path: str
    query: str | None

    @cached_property
    def site(self) -> str:
        """The site this URL belongs to (see `site_of`)."""
        return site_of(self.host)

    @cached_property
    def hash(self) -> bytes:
        """SHA-256 of the canonical string: a fixed-size key for the unique index and for partners' lists."""
        return hashlib.sha256(self.canonical.encode("utf-8")).digest()


# The Public Suffix List from the snapshot tldextract ships: no suffix list URLs and no cache directory, so it
# never downloads and never writes; the private section on, so that shared-hosting suffixes count.
_PSL = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True)


# Pure, and a bulk intake names the same few hosts thousands of times: remembered per process (the suffix
# lookup cost more than the rest of recording a report).
@lru_cache(maxsize=65_536)
def site_of(host: str) -> str:
    """The site of a canonical host: its registrable domain (one label more than its public suffix), the
    host itself when it is a public suffix or an IP address."""
    if ":" in host or _NUMBER_LABEL.fullmatch(host.rpartition(".")[2]):
        return host  # IPv6, or the dotted quad canonicalize() writes
    parts = _PSL.extract_str(host)
    if parts.suffix:
        return f"{parts.domain}.{parts.suffix}" if parts.domain else host
    return ".".join(host.rsplit(".", 2)[-2:])


def registered_domain(host: str) -> str:
    """The domain a registrar holds for `host`: one label more than its ICANN public suffix (`co.uk` counts;
    private suffixes such as a shared-hosting domain do not: their operator's registrar holds the domain),
    the last two labels under no listed suffix."""
    host = host.lower().rstrip(".")
    parts = _PSL.extract_str(host, include_psl_private_domains=False)
    if parts.suffix and parts.domain:
        return f"{parts.domain}.{parts.suffix}"
    return ".".join(host.rsplit(".", 2)[-2:])


def canonicalize(raw: str) -> CanonicalUrl:
    """Return the canonical form of `raw`, or raise InvalidUrl saying why it cannot be tracked.

    Never raises anything else for any str, because it runs on untrusted input from the API and from imports.
    """
    scheme, rest = _split_scheme(_prepare(raw))
    authority, raw_path, raw_query = _split_rest(rest)
    raw_host, port = _split_authority(authority)
    host = _canonical_host(raw_host)
    if port == _DEFAULT_PORTS[scheme]:
        port = None
    path = "".join(map(_PATH_ESCAPES.__getitem__, _resolve_path(_unescape(raw_path))))
    query = None if raw_query is None else "".join(map(_QUERY_ESCAPES.__getitem__, _unescape(raw_query)))
    canonical = _assemble(scheme, host, port, path, query)
    if len(canonical) > MAX_URL_LENGTH:
        raise InvalidUrl(f"URL is longer than {MAX_URL_LENGTH} characters")
    return CanonicalUrl(canonical=canonical, scheme=scheme, host=host, port=port, path=path, query=query)


def _prepare(raw: str) -> bytes:
    """Check the length, strip what is never part of a URL (edges, tab/CR/LF, fragment) and encode."""
    if len(raw) > MAX_URL_LENGTH:
        raise InvalidUrl(f"URL is longer than {MAX_URL_LENGTH} characters")
    text = raw.translate(_TAB_CR_LF).strip(_EDGE_CHARS).partition("#")[0]
    if not text:
        raise InvalidUrl("URL is empty")
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidUrl("URL contains characters that are not valid Unicode") from None


def _split_scheme(data: bytes) -> tuple[str, bytes]:
    """Return the lower-case scheme and the rest; a URL without a scheme is taken as http."""
    match = _SCHEME.match(data)
    if match is None:
        return "http", data
    scheme = match[1].decode("ascii").lower()
    if scheme in _DEFAULT_PORTS:
        return scheme, data[match.end() :]
    if _HOST_PORT.match(data, match.end()):
        return "http", data
    raise InvalidUrl("only http and https URLs can be tracked")


def _split_rest(rest: bytes) -> tuple[bytes, bytes, bytes | None]:
    """Split what follows the scheme into authority, path and query (None when there is no '?').

    Up to two slashes may lead to the authority (browsers take "http:example.test" and "http:/example.test"
    too); a third means the authority is empty ("http:///path"), which names no host.
    """
    before_query, question_mark, query = rest.partition(b"?")
    before_query = before_query.replace(b"\\", b"/")
    authority_start = before_query.lstrip(b"/")
    if len(before_query) - len(authority_start) > 2:
        raise InvalidUrl(_NO_HOST)
    match = _AUTHORITY_END.search(authority_start)
    end = match.start() if match else len(authority_start)
    return authority_start[:end], authority_start[end:], (query if question_mark else None)


def _split_authority(authority: bytes) -> tuple[bytes, int | None]:
    """Drop the userinfo (never part of the identity) and split host and port."""
    host_port = authority.rpartition(b"@")[2]
    if host_port.startswith(b"["):
        host, bracket, after = host_port.partition(b"]")
        if after and not after.startswith(b":"):
            raise InvalidUrl(_BAD_HOST)
        return host + bracket, _parse_port(after[1:])
    if b":" not in host_port:
        return host_port, None
    host, _, port_text = host_port.rpartition(b":")
    return host, _parse_port(port_text)


def _parse_port(text: bytes) -> int | None:
    """An empty port means the default (as in browsers); anything else must be 1-65535."""
    if not text:
        return None
    if not text.isdigit() or len(text.lstrip(b"0")) > 5 or not 0 < int(text) <= 65535:
        raise InvalidUrl("port must be a number from 1 to 65535")
    return int(text)


def _unescape(data: bytes) -> bytes:
    """Percent-unescape until nothing changes, so that double-escaped forms meet the plain one."""
    while True:
        unescaped = unquote_to_bytes(data)
        if unescaped == data:
            return data
        data = unescaped


# Pure and deterministic, and bulk intake names the same few hosts thousands of times (one site, many URLs):
# remembered per process. An InvalidUrl is raised again each time (exceptions are not cached).
@lru_cache(maxsize=65_536)
def _canonical_host(raw_host: bytes) -> str:
    """Normalise the host: bracketed IPv6, IPv4 in any notation, or a lower-case punycode domain name."""
    if raw_host.startswith(b"["):
        return _ipv6_host(raw_host)
    try:
        text = _unescape(raw_host).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidUrl(_BAD_HOST) from None
    host = _collapse_dots(text.translate(_UNICODE_DOTS))
    if not host:
        raise InvalidUrl(_NO_HOST)
    if not host.isascii():
        host = _collapse_dots(_punycode(host))
    host = host.lower()
    if _NUMBER_LABEL.fullmatch(host.rpartition(".")[2]):
        return _ipv4_host(host)
    _check_host_name(host)
    return host


def _check_host_name(host: str) -> None:
    """Raise InvalidUrl unless `host` (lower-case ASCII) is a host name DNS can hold and the public internet
    can reach: RFC 1123 labels, valid punycode, two labels or more, a top-level label of letters or xn--."""
    labels = host.split(".")
    if not all(_valid_ace_label(label) for label in labels if label.startswith(_ACE_PREFIX)):
        raise InvalidUrl(_BAD_IDN)
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise InvalidUrl(_BAD_HOST)
    top = labels[-1]
    if len(labels) < 2 or not (_TOP_LABEL.fullmatch(top) or top.startswith(_ACE_PREFIX)):
        raise InvalidUrl(_NOT_FQDN)


def _valid_ace_label(label: str) -> bool:
    """An "xn--" label is valid when its punycode decodes to a non-ASCII label that encodes back to exactly
    this label (so "xn--", undecodable tails, upper-case or unmapped forms are not)."""
    try:
        decoded = label[len(_ACE_PREFIX) :].encode("ascii").decode("punycode")
    except UnicodeError:
        return False
    if decoded.isascii():
        return False
    try:
        return _punycode(decoded) == label
    except InvalidUrl:
        return False


def _collapse_dots(host: str) -> str:
    """Trim leading and trailing dots and collapse runs of dots (Safe Browsing host rule)."""
    return _DOT_RUN.sub(".", host).strip(".")


def _punycode(host: str) -> str:
    """Encode an internationalised host with IDNA 2008 (UTS 46).

    Falls back to Python's IDNA 2003 codec, which still accepts hosts that browsers open but IDNA 2008 refuses
    (symbols such as emoji, an underscore next to a non-ASCII label).
    """
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError:
        pass
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidUrl(_BAD_HOST) from None


def _ipv4_host(host: str) -> str:
    """Read decimal, octal, hex and short (a.b, a.b.c, single number) forms and return the dotted quad."""
    parts = host.split(".")
    numbers = [_ipv4_number(part) for part in parts]
    if len(numbers) > 4 or any(n > 255 for n in numbers[:-1]) or numbers[-1] >= 256 ** (5 - len(numbers)):
        raise InvalidUrl(_BAD_HOST)
    value = numbers[-1] + sum(n << (8 * (3 - i)) for i, n in enumerate(numbers[:-1]))
    return str(ipaddress.IPv4Address(value))


def _ipv4_number(part: str) -> int:
    """One IPv4 part: "0x" prefix is hex, a leading zero is octal, anything else decimal."""
    match = _IPV4_PART.fullmatch(part)
    if match is None:
        raise InvalidUrl(_BAD_HOST)
    if match["hex"] is not None:
        return int(match["hex"] or "0", 16)
    if match["oct"] is not None:
        return int(match["oct"], 8)
    return int(match["dec"])


def _ipv6_host(raw_host: bytes) -> str:
    """Parse a bracketed IPv6 address; zone ids are refused because they mean nothing off the local link."""
    if not raw_host.endswith(b"]") or b"%" in raw_host:
        raise InvalidUrl(_BAD_HOST)
    try:
        packed = ipaddress.IPv6Address(raw_host[1:-1].decode("ascii")).packed
    except (UnicodeDecodeError, ValueError):
        raise InvalidUrl(_BAD_HOST) from None
    return _format_ipv6(packed)


def _format_ipv6(packed: bytes) -> str:
    """RFC 5952 text (lower-case hex, longest zero run as "::"), the same on every Python version.

    Python 3.13 started writing IPv4-mapped addresses in dotted form, which would change stored identities.
    """
    groups = [f"{int.from_bytes(packed[i : i + 2], 'big'):x}" for i in range(0, 16, 2)]
    best_start, best_length, start = 0, 0, None
    for i, group in enumerate([*groups, "end"]):
        if group == "0" and start is None:
            start = i
        elif group != "0" and start is not None:
            if i - start > best_length:
                best_start, best_length = start, i - start
            start = None
    if best_length < 2:
        return ":".join(groups)
    return ":".join(groups[:best_start]) + "::" + ":".join(groups[best_start + best_length :])


def _resolve_path(path: bytes) -> bytes:
    """Resolve "." and ".." segments and collapse repeated slashes; the empty path becomes "/"."""
    segments = path.split(b"/")
    kept: list[bytes] = []
    for segment in segments:
        if segment == b"..":
            if kept:
                kept.pop()
        elif segment not in (b"", b"."):
            kept.append(segment)
    trailing_slash = bool(kept) and segments[-1] in (b"", b".", b"..")
    return b"/" + b"/".join(kept) + (b"/" if trailing_slash else b"")


def _assemble(scheme: str, host: str, port: int | None, path: str, query: str | None) -> str:
    """Write the canonical string from its canonical parts."""
    url_host = f"[{host}]" if ":" in host else host
    port_text = "" if port is None else f":{port}"
    query_text = "" if query is None else f"?{query}"
    return f"{scheme}://{url_host}{port_text}{path}{query_text}"


def defang(url: str) -> str:
    """Return `url` in a form no page or mail client turns into a link (safety rule 2).

    "http"/"https" become "hxxp"/"hxxps" and every dot in the host becomes "[.]"; path and query are kept so
    an analyst can still read them. Works on raw reported URLs too, and defanging twice changes nothing.
    """
    fast = _defang_plain_http(url)
    if fast is not None:
        return fast
    return _defang_parts(url)


# refang(): the defanged scheme ("hxxp", "hXXps", "hxxp[:]//", "hxxp[://]") and the bracketed separators
# people write in place of a dot, colon or slash ("[.]", "(.)", "{.}", "[dot]", "[:]", "[/]").
_DEFANGED_SCHEME = re.compile(r"\A\s*h(?:xx|XX|tt)p(s?)(?:\[:\]|\[://\]|:)", re.I)
_DEFANGED_SEPARATORS = re.compile(r"\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\)|\[:\]|\[/\]", re.I)


def refang(text: str) -> str:
    """Undo `defang` and the usual hand-written variants, so that a defanged URL pasted into a search or a
    report form can be canonicalised: "hxxps://evil[.]example/a" → "https://evil.example/a". A URL that
    was not defanged comes back unchanged (an IPv6 host in brackets too)."""
    text = _DEFANGED_SCHEME.sub(lambda m: f"http{m[1].lower()}:" + "//" * ("://" in m[0]), text, count=1)
    return _DEFANGED_SEPARATORS.sub(lambda m: "." if "." in m[0] or "dot" in m[0].lower() else m[0][1], text)


def refanged_form(raw: str) -> str | None:
    """The URL to submit instead of `raw` when `raw` cannot be tracked as it is but looks defanged (`refang`
    changes it, and what it makes can be tracked), else None. Intake never refangs by itself: a reporter
    who pastes a defanged URL is told what to send (notices/services/report_fields.py)."""
    refanged = refang(raw).strip()
    if refanged == raw.strip():
        return None
    try:
        canonicalize(refanged)
    except InvalidUrl:
        return None
    return refanged


# URL-like tokens in free text (an SMTP reply quoting what a filter refused, a provider's message): with a
# scheme (defanged `hxxp://` too), or host/path.
URL_LIKE = re.compile(r"[a-z][a-z0-9+.-]*://[^\s<>\"']+|\b[\w-]+(?:\.[\w-]+)+/[^\s<>\"']*", re.I)
_HOST_END = re.compile(r"[/\\?#]")


def _defang_plain_http(url: str) -> str | None:
    """`defang` of the URLs notices show by the ten thousand: canonical ones, `http://` or `https://` in lower
    case, no tab, CR or LF, a host without brackets. None for anything else, which `_defang_parts` takes.
    A test holds both paths to the same output over random input."""
    if url.startswith("http://"):
        start = 7
    elif url.startswith("https://"):
        start = 8
    else:
        return None
    if url[start : start + 1] in ("/", "\\", "") or "\t" in url or "\r" in url or "\n" in url:
        return None
    end = _HOST_END.search(url, start)
    end = len(url) if end is None else end.start()
    host = url[start:end]
    if "[" in host or "]" in host:
        return None
    return "hxxp" + url[4:start] + host.replace(".", "[.]") + url[end:]


def _defang_parts(url: str) -> str:
    # Tab/CR/LF are dropped first, as canonicalize() does, so "ht<TAB>tp://" cannot slip past as no scheme.
    parts = _DEFANG_PARTS.fullmatch(url.translate(_TAB_CR_LF))
    assert parts is not None  # every part of the pattern may be empty, so any string matches
    scheme = parts["scheme"]
    if scheme is None:
        prefix = ""
    elif scheme.lower() in _DEFAULT_PORTS:
        prefix = "hxx" + scheme.lower()[3:] + ":"
    else:
        prefix = scheme + ":"
    return prefix + parts["slashes"] + _BARE_DOT.sub("[.]", parts["host"]) + parts["tail"]
