"""No dead code: vulture finds nothing unused in notices/, tracker/ and benchmarks/ (migrations aside).

What a framework uses without a visible call — admin options, DRF hooks, Celery tasks, settings — is named in
vulture_whitelist.py at the repository root; everything else vulture reports (at 60 % confidence or more) is
code nothing runs, and is deleted rather than listed. Code used only by tests counts as dead: a test exercises
the production function instead.
"""

from __future__ import annotations

import ast
from pathlib import Path

import vulture

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ["notices", "tracker", "benchmarks"]
WHITELIST = ROOT / "vulture_whitelist.py"
MIN_CONFIDENCE = 60


def unused() -> list[str]:
    """vulture's findings over the scanned folders with the whitelist, as `path:line: message`."""
    scanner = vulture.Vulture()
    scanner.scavenge(
        [str(ROOT / folder) for folder in SCANNED] + [str(WHITELIST)], exclude=["notices/migrations"]
    )
    items = scanner.get_unused_code(min_confidence=MIN_CONFIDENCE)
    return [f"{Path(item.filename).relative_to(ROOT)}:{item.first_lineno}: {item.message}" for item in items]


def test_vulture_finds_no_dead_code():
    assert unused() == []


def test_vulture_reports_an_unused_function(tmp_path):
    module = tmp_path / "notices_extra.py"
    module.write_text('def forgotten_helper() -> int:\n    """Nothing calls this."""\n    return 1\n')
    scanner = vulture.Vulture()
    scanner.scavenge([str(module), str(WHITELIST)])
    found = scanner.get_unused_code(min_confidence=MIN_CONFIDENCE)

    assert [(item.name, item.typ) for item in found] == [("forgotten_helper", "function")]


def test_every_whitelisted_name_is_defined_in_the_scanned_code():
    """A name whose code was deleted leaves the whitelist too, so the list never hides a later definition."""
    listed = {
        node.attr
        for node in ast.walk(ast.parse(WHITELIST.read_text()))
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "_"
    }
    scanner = vulture.Vulture()
    scanner.scavenge([str(ROOT / folder) for folder in SCANNED], exclude=["notices/migrations"])
    defined = {
        item.name
        for collection in (
            scanner.defined_attrs,
            scanner.defined_classes,
            scanner.defined_funcs,
            scanner.defined_methods,
            scanner.defined_props,
            scanner.defined_vars,
        )
        for item in collection
    }

    assert sorted(listed - defined) == []
