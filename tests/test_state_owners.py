"""One owner per state change: a URL's status is written only by notices/services/urls.py, a notice's only by
notices/services/notices.py (README "Architecture"). Everything else asks them. This test reads the source and
fails on any other write: an assignment, an ORM update/create, a row dict or an UPDATE statement."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from notices.enums import NOTICE_TRANSITIONS, URL_TRANSITIONS, NoticeStatus, UrlStatus

ROOT = Path(__file__).resolve().parent.parent
OWNERS = {
    "UrlStatus": "notices/services/urls.py",
    "NoticeStatus": "notices/services/notices.py",
}
TABLES = {
    "UrlStatus": r"Url\._meta\.db_table|url_table",
    "NoticeStatus": r"Notice\._meta\.db_table|notice_table",
}
WRITING_CALLS = {"update", "create", "bulk_create", "get_or_create", "update_or_create", "Url", "Notice"}
SQL_WRITES = {
    kind: re.compile(
        rf"\bUPDATE\s+\{{({table})\}}[^;]*?\bSET\b[^;]*?\bstatus\s*=|"
        rf"\bINSERT\s+INTO\s+\{{({table})\}}\s*\([^)]*\bstatus\b",
        re.S | re.I,
    )
    for kind, table in TABLES.items()
}


def _mentions(node: ast.AST | None, source: str) -> set[str]:
    text = ast.get_source_segment(source, node) or "" if node is not None else ""
    return {kind for kind in OWNERS if kind in text}


def status_writes(source: str) -> list[tuple[int, str]]:
    """(line, which status) of every write of a URL or notice status in `source`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                for element in target.elts if isinstance(target, ast.Tuple) else [target]:
                    if isinstance(element, ast.Attribute) and element.attr == "status":
                        found += [(node.lineno, kind) for kind in _mentions(node.value, source)]
        elif isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in WRITING_CALLS:
                for keyword in node.keywords:
                    if keyword.arg == "status":
                        found += [(node.lineno, kind) for kind in _mentions(keyword.value, source)]
            for value in (
                node.args[2:3] if name == "new_instance" else ()
            ):  # new_instance(model, alias, {field: value}): a row to insert
                if isinstance(value, ast.Dict):
                    for key, item in zip(value.keys, value.values, strict=True):
                        if isinstance(key, ast.Constant) and key.value == "status":
                            found += [(node.lineno, kind) for kind in _mentions(item, source)]
        elif isinstance(node, ast.JoinedStr):
            text = ast.get_source_segment(source, node) or ""
            found += [(node.lineno, kind) for kind, pattern in SQL_WRITES.items() if pattern.search(text)]
    return sorted(set(found))


def test_status_writes_only_in_their_owner():
    elsewhere = {}
    for path in sorted((ROOT / "notices").rglob("*.py")):
        relative = str(path.relative_to(ROOT))
        if "migrations" in path.parts:
            continue
        writes = [(line, kind) for line, kind in status_writes(path.read_text()) if OWNERS[kind] != relative]
        if writes:
            elsewhere[relative] = writes
    assert elsewhere == {}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("url.status = UrlStatus.NOTIFIED", [(1, "UrlStatus")]),
        ("notice.status, notice.queued_at = NoticeStatus.QUEUED, now", [(1, "NoticeStatus")]),
        ("Url.objects.filter(pk=1).update(status=UrlStatus.REMOVED)", [(1, "UrlStatus")]),
        ("Notice.objects.create(status=NoticeStatus.DRAFT)", [(1, "NoticeStatus")]),
        ("row = new_instance(Url, alias, {'status': UrlStatus.NEW.value})", [(1, "UrlStatus")]),
        (
            'sql = f"INSERT INTO {url_table} (original, status) SELECT o, %(status)s FROM v"',
            [(1, "UrlStatus")],
        ),
        ("params = {'status': UrlStatus.NOTIFIED.value}", []),  # a query parameter
        ('sql = f"UPDATE {Notice._meta.db_table} SET sent_at = %s, status = %s"', [(1, "NoticeStatus")]),
        ("Url.objects.filter(status=UrlStatus.NOTIFIED).count()", []),  # a read
        ("progress.status = response.status", []),  # an HTTP status
        ('sql = f"UPDATE {table} SET status = %s"', []),  # another table (the outbox's own)
        ('sql = f"INSERT INTO {table} (notice_id, status) SELECT n.id FROM {Notice._meta.db_table} n"', []),
    ],
)
def test_the_scan_finds_each_kind_of_write(source, expected):
    assert status_writes(source) == expected


def test_transition_tables_cover_every_status():
    assert set(URL_TRANSITIONS) == set(UrlStatus)
    assert set(NOTICE_TRANSITIONS) == set(NoticeStatus)
    for table in (URL_TRANSITIONS, NOTICE_TRANSITIONS):
        assert all(set(targets) <= set(table) for targets in table.values())
