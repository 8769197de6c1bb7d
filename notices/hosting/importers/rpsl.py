"""Streaming RPSL parser for RIPE database split dumps (RFC 2622 as the RIPE database writes it).

What real dumps contain and how it is read:
- `%` and `#` lines are comments, wherever they stand; they never end an object.
- Objects are separated by blank (or whitespace-only) lines.
- `key: value`; a key may repeat (`mnt-by`, `abuse-mailbox`, …) and every occurrence is kept in order.
- A line starting with a space, a tab or `+` continues the previous attribute's value.
- `#` after a value starts a comment (`country: DE # comment`); `value()` strips it.
- Dumps are latin-1; the personal data in them is replaced by dummies (`DUMY-RIPE`, `unread@ripe.net`), which
  the importer never needs.

The parser is one tight loop (P3: millions of lines a minute) and yields plain tuples; what a class needs from
an object is decided in notices/hosting/importers/ripe.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import NamedTuple

ATTRIBUTE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*\Z")
EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`|~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+"
)


class RpslObject(NamedTuple):
    line: int  # line number of the object's first attribute
    attributes: list[list[str]]  # [key, raw value] in file order, continuation lines joined with a space
    malformed: tuple[int, str] | None  # first malformed line in the object (line number, what was wrong)
    at_eof: bool  # the file ended inside this object (no blank line after it)


def parse_objects(lines: Iterable[str]) -> Iterator[RpslObject]:
    """Objects from an iterable of lines (streamed: only the current object is held in memory)."""
    attributes: list[list[str]] | None = None
    start = 0
    malformed = None
    number = 0
    for number, line in enumerate(lines, 1):
        first = line[:1]
        if first == "\n" or first == "\r":
            if attributes is not None:
                yield RpslObject(start, attributes, malformed, False)
                attributes, malformed = None, None
        elif first == "%" or first == "#":
            continue
        elif first == " " or first == "\t" or first == "+":
            rest = line[1:].strip()
            if first != "+" and not rest:  # whitespace-only line: a separator
                if attributes is not None:
                    yield RpslObject(start, attributes, malformed, False)
                    attributes, malformed = None, None
            elif attributes:
                attributes[-1][1] = f"{attributes[-1][1]} {rest}" if rest else attributes[-1][1]
            elif malformed is None:
                malformed = (number, "continuation line outside an attribute")
        else:
            colon = line.find(":")
            if attributes is None:
                attributes, start = [], number
            if colon <= 0:
                malformed = malformed or (number, "not an attribute line (no `key:`)")
                continue
            attributes.append([line[:colon], line[colon + 1 :].strip()])
    if attributes is not None:
        yield RpslObject(start, attributes, malformed, True)


# Continuation and comment lines: the fast path leaves such objects to `parse_objects`.
SLOW_MARKERS = ("\n ", "\n\t", "\n+", "\n%", "\n#", "\r")


def parse_blocks(blocks: Iterable[str]) -> Iterator[RpslObject]:
    """The same objects as `parse_objects`, from text blocks that end at line ends, with less work per line.

    Objects are cut at blank lines with str.split (C); an object without continuation or comment lines (nearly
    all of a dump) is split into attributes by comprehensions; any other goes through `parse_objects`.
    """
    line, pending = 1, ""
    for block in blocks:
        text = pending + block
        cut = text.rfind("\n\n")
        if cut < 0:
            pending = text
            continue
        pending = text[cut + 2 :]
        yield from _split(text[: cut + 1], line, at_eof=False)
        line += text[: cut + 2].count("\n")
    if pending.strip():
        yield from _split(pending, line, at_eof=True)


def _split(text: str, line: int, *, at_eof: bool) -> Iterator[RpslObject]:
    """Objects of `text` (whole objects, blank-line separated), the first one starting at `line`."""
    parts = text.split("\n\n")
    last = len(parts) - 1
    for i, part in enumerate(parts):
        stripped = part.lstrip("\n")
        line += len(part) - len(stripped)
        if stripped:
            yield from _one(stripped.rstrip("\n"), line, at_eof and i == last)
        line += part.count("\n") - (len(part) - len(stripped)) + 2


def _one(part: str, line: int, at_eof: bool) -> Iterator[RpslObject]:
    if part[:1] not in " \t+%#" and not any(marker in part for marker in SLOW_MARKERS):
        pairs = [row.partition(":") for row in part.split("\n")]
        if all(p[1] and p[0] for p in pairs):  # else a line without `key:`: the slow path says which
            yield RpslObject(line, [[p[0], p[2].strip()] for p in pairs], None, at_eof)
            return
    for obj in parse_objects(row + "\n" for row in part.split("\n")):
        at_end = at_eof and obj.at_eof
        yield RpslObject(
            obj.line + line - 1,
            obj.attributes,
            (obj.malformed[0] + line - 1, obj.malformed[1]) if obj.malformed else None,
            at_end,
        )


def value(raw: str) -> str:
    """The value without an end-of-line comment (`DE # comment` → `DE`)."""
    hash_at = raw.find("#")
    return (raw[:hash_at] if hash_at >= 0 else raw).strip()


def first_token(raw: str) -> str:
    """First whitespace-separated token of the value, upper-case (`de # x` → `DE`, `NL ES` → `NL`)."""
    parts = value(raw).split(None, 1)
    return parts[0].upper() if parts else ""


def emails(raw: str) -> list[str]:
    """Every address in an abuse-mailbox value, lower-case, in order, once each.

    Real values: `a@x b@y`, `a@x, b@y`, `a@x,` and `a@x (preferred)`.
    """
    seen: list[str] = []
    for found in EMAIL.findall(value(raw)):
        address = found.lower()
        if address not in seen:
            seen.append(address)
    return seen


def is_attribute_name(key: str) -> bool:
    return ATTRIBUTE_NAME.match(key) is not None
