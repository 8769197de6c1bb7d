"""RPSL parsing as RIPE's split dumps write it: comments, continuation lines, repeated attributes, latin-1."""

from __future__ import annotations

import tracemalloc

import pytest

from notices.hosting.importers.rpsl import emails, first_token, parse_blocks, parse_objects, value


def parsed(text: str) -> list[tuple]:
    return [tuple(obj) for obj in parse_objects(text.splitlines(keepends=True))]


def test_parse_objects_skips_comment_lines_anywhere():
    text = "% header\n# more\n\ninetnum: 192.0.2.0 - 192.0.2.255\n# inside\n% inside too\nnetname: NET\n\n"

    assert parsed(text) == [(4, [["inetnum", "192.0.2.0 - 192.0.2.255"], ["netname", "NET"]], None, False)]


def test_parse_objects_joins_continuation_lines_space_tab_and_plus():
    text = "organisation: ORG-A1-TEST\norg-name: Polder\n  Hosting\n\tB.V.\n+\n+ Amsterdam\nsource: RIPE\n"

    (obj,) = parse_objects(text.splitlines(keepends=True))

    assert obj.attributes == [
        ["organisation", "ORG-A1-TEST"],
        ["org-name", "Polder Hosting B.V. Amsterdam"],
        ["source", "RIPE"],
    ]


def test_parse_objects_keeps_repeated_attributes_in_order():
    text = (
        "role: R\nnic-hdl: R1-TEST\nabuse-mailbox: a@x.example\nmnt-by: A-MNT\nabuse-mailbox: b@x.example\n"
    )

    (obj,) = parse_objects(text.splitlines(keepends=True))

    assert [a for a in obj.attributes if a[0] == "abuse-mailbox"] == [
        ["abuse-mailbox", "a@x.example"],
        ["abuse-mailbox", "b@x.example"],
    ]


def test_parse_objects_whitespace_only_line_separates_objects():
    text = "role: A\nnic-hdl: A1\n   \nrole: B\nnic-hdl: B1\n"

    assert [obj.attributes[0] for obj in parse_objects(text.splitlines(keepends=True))] == [
        ["role", "A"],
        ["role", "B"],
    ]


def test_parse_objects_crlf_line_endings():
    text = "role: A\r\nnic-hdl: A1\r\n\r\nrole: B\r\n"

    assert [obj.line for obj in parse_objects(text.splitlines(keepends=True))] == [1, 4]


def test_parse_objects_flags_a_line_without_key():
    text = "inetnum: 192.0.2.0 - 192.0.2.255\nthis line has no key\nsource: RIPE\n\n"

    (obj,) = parse_objects(text.splitlines(keepends=True))

    assert obj.malformed == (2, "not an attribute line (no `key:`)")


def test_parse_objects_flags_a_continuation_before_any_attribute():
    (obj,) = parse_objects(["+ orphan\n", "role: A\n"])

    assert obj.malformed == (1, "continuation line outside an attribute")


def test_parse_objects_marks_the_object_the_file_ends_in():
    objects = list(parse_objects(["role: A\n", "\n", "role: B\n", "nic-hdl: B1"]))

    assert [(obj.line, obj.at_eof) for obj in objects] == [(1, False), (3, True)]


def test_parse_objects_reads_latin1_names():
    raw = "organisation: ORG-Z1-TEST\norg-name: Zürich Hosting Société\n".encode("latin-1")

    (obj,) = parse_objects(raw.decode("latin-1").splitlines(keepends=True))

    assert obj.attributes[1] == ["org-name", "Zürich Hosting Société"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("DE # comment", "DE"), ("de", "DE"), ("NL ES", "NL"), ("  eu  ", "EU"), ("# only a comment", "")],
)
def test_first_token_strips_comments_and_upper_cases(raw, expected):
    assert first_token(raw) == expected


def test_value_strips_end_of_line_comment():
    assert value("ORG-A1-TEST   # the holder") == "ORG-A1-TEST"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("abuse@example.com abuse@example.net", ["abuse@example.com", "abuse@example.net"]),
        ("abuse@example.com, abuse@example.net", ["abuse@example.com", "abuse@example.net"]),
        ("abuse@crimea.example,", ["abuse@crimea.example"]),
        ("abuse@cxl.example (preferred)", ["abuse@cxl.example"]),
        ("Abuse@Example.COM abuse@example.com", ["abuse@example.com"]),
        ("not an address", []),
        ("abuse@example.com # abuse@commented.example", ["abuse@example.com"]),
    ],
)
def test_emails_reads_every_real_abuse_mailbox_spelling(raw, expected):
    assert emails(raw) == expected


def test_parse_objects_streams_in_bounded_memory():
    """200,000 objects from a generator: only the current object is held (a 2 GB dump works the same)."""

    def lines():
        for i in range(200_000):
            yield f"inetnum:        192.0.2.{i % 256} - 192.0.2.{i % 256}\n"
            yield "netname:        NET\n"
            yield "remarks:        * THIS OBJECT IS MODIFIED\n"
            yield "\n"

    tracemalloc.start()
    count = sum(1 for _ in parse_objects(lines()))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    assert count == 200_000
    assert peak < 1_000_000


TRICKY = (
    "% header\n#\n\n\ninetnum: 192.0.2.0 - 192.0.2.255\nnetname: A\n\n"
    "organisation: ORG-A1-TEST\norg-name: Polder\n  Hosting\n+ B.V.\nsource: RIPE\n   \nrole: R\n"
    "# comment inside\nnic-hdl: R1\n\n\n\nrole: broken\nno key here\nsource: RIPE\n\n"
    "aut-num: AS1\nas-name: X: with colon\n\n+orphan\nrole: S\n\nrole: last\nnic-hdl: L1"
)


@pytest.mark.parametrize("size", [1, 7, 40, 100_000])
def test_parse_blocks_gives_the_same_objects_as_parse_objects(size):
    blocks = []
    rest = TRICKY
    while rest:  # blocks end at line ends, as InputFile.blocks() makes them
        cut = rest.find("\n", size - 1)
        cut = len(rest) if cut < 0 else cut + 1
        blocks.append(rest[:cut])
        rest = rest[cut:]

    assert list(parse_blocks(blocks)) == list(parse_objects(TRICKY.splitlines(keepends=True)))
