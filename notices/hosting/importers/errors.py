"""What an importer does with bad input: stop (ImportFailed) or skip and count (Skips)."""

from __future__ import annotations

from dataclasses import dataclass, field


class ImportFailed(Exception):
    """Fatal input error: the import stops, nothing is activated, the command exits non-zero."""

    def __init__(self, path: str, line: int | None, message: str) -> None:
        self.path, self.line, self.message = path, line, message
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {message}")


class ImportRefused(Exception):
    """The import was not started (older data than the active generation, another import running)."""


@dataclass
class Skips:
    """Input left out, counted per reason, with the first place each reason occurred ("file:line")."""

    reasons: dict[str, dict] = field(default_factory=dict)

    def add(self, reason: str, path: str, line: int) -> None:
        if not reason.isprintable():  # names read from a damaged file; the reasons are stored as JSON
            reason = "".join(c if c.isprintable() else "?" for c in reason)
        entry = self.reasons.get(reason)
        if entry is None:
            self.reasons[reason] = {"count": 1, "first": f"{path}:{line}"}
        else:
            entry["count"] += 1

    def total(self) -> int:
        return sum(entry["count"] for entry in self.reasons.values())


def skip_line(
    skips: Skips, path: str, number: int, line: str, reason: str, *, fatal_if_cut: bool = True
) -> None:
    """A bad line of a line-per-record file: skipped and counted — unless it is the file's last line and has
    no line end, which means the file was cut off there (ImportFailed)."""
    if fatal_if_cut and not line.endswith("\n"):
        cause = reason.replace("; skipped", "").replace(" (skipped)", "")
        raise ImportFailed(path, number, f"truncated last line: {cause}")
    skips.add(reason, path, number)
