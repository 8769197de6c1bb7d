"""Progress bars that suit where the output goes. Every progress bar of the project comes from `progress_bar`.

On a terminal it is a live tqdm bar. Anywhere else (a pipe, a log file, CI) a live bar would write a new
status every tenth of a second — thousands of lines in a long run — so there it writes one plain line at most
every `PROGRESS_INTERVAL` seconds (default 10; 0 turns these lines off), and nothing at all for a loop that
ends sooner.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import IO, Any

from tqdm import tqdm

DEFAULT_INTERVAL = 10.0
LINE_FORMAT = "{desc}: {n_fmt}/{total_fmt} {unit} ({percentage:3.0f}%), {elapsed} elapsed, {rate_fmt}"
LINE_FORMAT_NO_TOTAL = "{desc}: {n_fmt} {unit}, {elapsed} elapsed, {rate_fmt}"


def line_interval() -> float:
    """Seconds between two progress lines when the output is not a terminal (`PROGRESS_INTERVAL`)."""
    raw = os.environ.get("PROGRESS_INTERVAL", "")
    try:
        value = float(raw) if raw.strip() else DEFAULT_INTERVAL
    except ValueError:
        raise ValueError(f"PROGRESS_INTERVAL={raw!r} is not a number of seconds") from None
    return max(value, 0.0)


def is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or closed
        return False


class _Lines:
    """A file for tqdm that turns its carriage-return redraws into whole lines (blank redraws are dropped)."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def write(self, text: str) -> None:
        line = text.replace("\r", "").strip()
        if line:
            self._stream.write(line + "\n")

    def flush(self) -> None:
        self._stream.flush()


def progress_bar(
    iterable: Iterable[Any] | None = None,
    *,
    total: float | None = None,
    desc: str = "",
    unit: str = "it",
    file: IO[str] | None = None,
    enabled: bool | None = None,
    **options: Any,
) -> tqdm:
    """A tqdm bar over `iterable` (or for manual `update()` calls): live on a terminal, else a line every few
    seconds. `enabled=False` shows nothing, `True` shows it even when the output is not a terminal (as lines),
    `None` (default) decides by the output. Other keyword arguments go to tqdm for the terminal bar."""
    stream = file if file is not None else sys.stderr
    if enabled is False:
        return tqdm(iterable, total=total, disable=True)
    if is_terminal(stream):
        return tqdm(iterable, total=total, desc=desc, unit=unit, file=stream, leave=False, **options)
    interval = line_interval()
    if interval == 0 and enabled is None:
        return tqdm(iterable, total=total, disable=True)
    interval = interval or DEFAULT_INTERVAL
    unit_scale = options.get("unit_scale", False)
    known_total = total if total is not None else _length(iterable)
    return tqdm(
        iterable,
        total=total,
        desc=desc or "progress",
        unit=unit,
        unit_scale=unit_scale,
        file=_Lines(stream),
        mininterval=interval,
        maxinterval=interval,
        delay=interval,  # a loop shorter than one interval prints nothing
        leave=True,  # one closing line with the totals, only if a line was printed before
        ascii=True,
        bar_format=LINE_FORMAT if known_total else LINE_FORMAT_NO_TOTAL,
    )


def _length(iterable: Iterable[Any] | None) -> int | None:
    try:
        return len(iterable)  # type: ignore[arg-type]
    except TypeError:
        return None
