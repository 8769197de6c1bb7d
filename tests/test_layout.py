"""Source layout: no line over the configured length, and `# fmt: skip` / `# fmt: off` only on tables.

Lines: every line of every Python file in notices/, tracker/, benchmarks/, tests/ and the repository root fits
in `line-length` of pyproject's [tool.ruff] (110), comments, docstrings and strings too: `ruff format` only
wraps code, and E501 is off because the formatter owns code lines. Django's generated migrations are left out,
as [tool.ruff] extend-exclude leaves them out of ruff.

Tables: `ruff format` lays out every statement except one ending on a `# fmt: skip` comment or between
`# fmt: off` and `# fmt: on`. That is kept for tables a reader scans by column, and the rule here is:

1. The comment ends a simple statement (an assignment, expression, `return`) or a decorator; never a `def`,
   `class`, `if` or `with` header.
2. The statement's value is a table: a dict display of two or more entries, or a list, tuple or set display of
   two or more rows (each row itself a display or a call). A decorator may instead be a call with such a
   table among its arguments (`@pytest.mark.parametrize(names, [rows])`).
3. The table holds only literal data: constants, names and attribute references (enum members, constants,
   functions in a dispatch table), operators on those, displays of those, and calls whose arguments are
   those but for lower-case names, which are variables there (`timedelta(days=1)`, `frozenset({...})`,
   `re.compile(r"...", re.I)`). A comprehension, lambda, subscript, f-string with fields, or a call on
   variables is code, and code is laid out by the formatter.
"""

from __future__ import annotations

import ast
import io
import tokenize
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ["notices", "tracker", "benchmarks", "tests"]
GENERATED = ROOT / "notices" / "migrations"
LINE_LENGTH = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]["line-length"]


def python_files() -> list[Path]:
    files = sorted(ROOT.glob("*.py"))
    for folder in FOLDERS:
        files += sorted(p for p in (ROOT / folder).rglob("*.py") if GENERATED not in p.parents)
    return files


def long_lines(path: Path, limit: int = LINE_LENGTH) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [
        f"{path.relative_to(ROOT)}:{n}: {len(line)}" for n, line in enumerate(lines, 1) if len(line) > limit
    ]


def _data(node: ast.AST, *, argument: bool = False) -> bool:
    """Literal data (rule 3). In a call's arguments a lower-case name is a variable, so it is code there."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Name | ast.Attribute):
        name = node.id if isinstance(node, ast.Name) else node.attr
        inner = isinstance(node, ast.Name) or _data(node.value, argument=argument)
        return inner and not (argument and name.islower())
    if isinstance(node, ast.UnaryOp):
        return _data(node.operand, argument=argument)
    if isinstance(node, ast.BinOp):
        return _data(node.left, argument=argument) and _data(node.right, argument=argument)
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        return all(_data(element, argument=argument) for element in node.elts)
    if isinstance(node, ast.Dict):
        parts = [*node.keys, *node.values]
        return None not in node.keys and all(_data(part, argument=argument) for part in parts)
    if isinstance(node, ast.Call):
        arguments = [*node.args, *(keyword.value for keyword in node.keywords)]
        return isinstance(node.func, ast.Name | ast.Attribute) and all(
            _data(value, argument=True) for value in arguments
        )
    return False


def _table(node: ast.AST) -> bool:
    """A table display of literal data (rules 2 and 3)."""
    rows = (ast.List, ast.Tuple, ast.Set, ast.Dict, ast.Call)
    if isinstance(node, ast.Dict):
        return len(node.keys) >= 2 and _data(node)
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        return len(node.elts) >= 2 and all(isinstance(e, rows) for e in node.elts) and _data(node)
    return False


def _statements_by_last_line(tree: ast.Module) -> dict[int, tuple[ast.AST, ast.AST | None]]:
    """line → (simple statement or decorator ending there, its value); the outermost one wins."""
    found: dict[int, tuple[ast.AST, ast.AST | None]] = {}
    for node in ast.walk(tree):
        candidates = [(d, d) for d in getattr(node, "decorator_list", [])]
        if isinstance(node, ast.stmt) and not hasattr(node, "body"):
            candidates.append((node, getattr(node, "value", None)))
        for statement, value in candidates:
            known = found.get(statement.end_lineno)
            if known is None or statement.lineno < known[0].lineno:
                found[statement.end_lineno] = (statement, value)
    return found


def _is_table_statement(statement: ast.AST, value: ast.AST | None) -> bool:
    if value is None:
        return False
    if _table(value):
        return True
    decorator = isinstance(statement, ast.expr)
    return decorator and isinstance(value, ast.Call) and _data(value) and any(map(_table, value.args))


def format_skips_off_tables(source: str, name: str = "<source>") -> list[str]:
    """Every `# fmt: skip` not ending a table statement, and every statement inside `# fmt: off` that is not
    a table (the module docstring's rules), as `name:line`."""
    tree = ast.parse(source)
    by_last_line = _statements_by_last_line(tree)
    problems = []
    off_since = None
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type != tokenize.COMMENT:
            continue
        line, text = token.start[0], token.string.lstrip("#").strip()
        if text == "fmt: skip" or text.endswith("# fmt: skip"):
            statement, value = by_last_line.get(line, (None, None))
            if statement is None or not _is_table_statement(statement, value):
                problems.append(f"{name}:{line}")
        elif text == "fmt: off":
            off_since = line
        elif text == "fmt: on" and off_since is not None:
            for node in ast.walk(tree):
                inside = isinstance(node, ast.stmt) and off_since < node.lineno < line
                if inside and not _is_table_statement(node, getattr(node, "value", None)):
                    problems.append(f"{name}:{node.lineno}")
            off_since = None
    return problems


def test_no_line_is_longer_than_the_configured_length():
    assert LINE_LENGTH == 110
    assert [problem for path in python_files() for problem in long_lines(path)] == []


def test_long_lines_are_found():
    sample = ROOT / "tests" / "test_layout.py"
    assert long_lines(sample, limit=20) != []


def test_format_skip_and_off_only_on_tables():
    problems = []
    for path in python_files():
        problems += format_skips_off_tables(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert problems == []


def test_format_skip_rule_tells_tables_from_code():
    tables = """
CADENCE = ((timedelta(days=1), "FIRST_DAY"), (timedelta(days=7), "FIRST_WEEK"),
           (None, "LATER"))  # fmt: skip
TYPES = {"image": "CONTENT_TYPE_IMAGE", "video": "CONTENT_TYPE_VIDEO",
         "text": "CONTENT_TYPE_TEXT"}  # fmt: skip
# fmt: off
MOVES = {
    Status.NEW: frozenset({Status.DONE}),  Status.DONE: frozenset(),
}
# fmt: on


@pytest.mark.parametrize(("raw", "code"), [("nl", "NL"), ("EU", ""),
                                           ("XK", "XK")])  # fmt: skip
def test_x(raw, code):
    pass
"""
    code = """
def f(a,
      b):  # fmt: skip
    result = render(request, "page.html", {"rows": rows,
                                           "form": form})  # fmt: skip
    data = {"key": names.get(k, k),
            "count": count}  # fmt: skip
    other = [x for x in range(3)]  # fmt: skip
    return {"one": a, "two": [b]}[a]  # fmt: skip
# fmt: off
handle(a,
       b)
# fmt: on
"""
    assert format_skips_off_tables(tables) == []
    assert format_skips_off_tables(code) == [f"<source>:{n}" for n in (3, 5, 7, 8, 9, 11)]
