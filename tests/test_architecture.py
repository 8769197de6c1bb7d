"""The import order holds (README "Architecture"): no cycle among the project's modules, counting every import
a reader meets (in functions too), and every in-function import says why it is not at the top.

The layers themselves are checked by `lint-imports` (the contracts in pyproject.toml), which `make test`
runs."""

from __future__ import annotations

import ast
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["notices", "tracker"]


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iteratively: the components of more than one module (each is a cycle)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    return components


def import_graph() -> dict[str, set[str]]:
    graph = grimp.build_graph(*PACKAGES, include_external_packages=False)
    modules = {m for m in graph.modules if not m.startswith("notices.migrations")}
    return {m: {i for i in graph.find_modules_directly_imported_by(m) if i in modules} for m in modules}


def test_strongly_connected_finds_a_cycle():
    """The detector itself: a → b → c → a is one component; d → a is not part of it."""
    assert strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert strongly_connected({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    cycles = strongly_connected(import_graph())
    assert cycles == [], "import cycles: " + "; ".join(" ↔ ".join(c) for c in cycles)


def in_function_imports(path: Path) -> list[tuple[int, str]]:
    """(line, source line) of every import inside a function of `path` that carries no reason: a
    `# noqa: … PLC0415 (reason)` on its line, or a comment line just above it."""
    source = path.read_text()
    lines = source.splitlines()
    missing = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for inner in ast.walk(node):
            if not isinstance(inner, ast.Import | ast.ImportFrom):
                continue
            line = lines[inner.lineno - 1]
            above = lines[inner.lineno - 2].strip() if inner.lineno > 1 else ""
            reason_here = "PLC0415 (" in line
            reason_above = "PLC0415" in line and above.startswith("#")
            shared = "PLC0415 (see above)" in line
            if not (reason_here or reason_above or shared):
                missing.append((inner.lineno, line.strip()))
    return missing


def test_every_in_function_import_says_why():
    missing = {
        str(path.relative_to(ROOT)): found
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if "migrations" not in path.parts and (found := in_function_imports(path))
    }
    assert missing == {}


def test_the_reason_check_can_fail(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "def f():\n"
        "    import os  # noqa: PLC0415\n"
        "    import sys  # noqa: PLC0415 (needed late)\n"
        "    # Imported here: only in workers.\n"
        "    import json  # noqa: PLC0415\n"
        "    return os, sys, json\n"
    )
    assert in_function_imports(sample) == [(2, "import os  # noqa: PLC0415")]
