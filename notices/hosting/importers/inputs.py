"""Opening import files: plain or gzip (by magic bytes, not name), streamed line by line, with progress."""

from __future__ import annotations

import gzip
import io
import os
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime

from tqdm import tqdm

from notices.hosting.importers.errors import ImportFailed
from tracker.progress import progress_bar

GZIP_MAGIC = b"\x1f\x8b"
BLOCK_BYTES = 1 << 16


class InputFile:
    """One input file. `lines()` yields text lines (latin-1, universal newlines) and turns read errors into
    ImportFailed naming the file and the line reached."""

    def __init__(self, path: str, *, encoding: str = "latin-1", show_progress: bool | None = None) -> None:
        self.path = str(path)
        self.encoding = encoding
        self.show_progress = show_progress
        try:
            self._raw = open(self.path, "rb")  # noqa: SIM115 - closed by close()
            self.size = os.fstat(self._raw.fileno()).st_size
            self.is_gzip = self._raw.read(2) == GZIP_MAGIC
            self._raw.seek(0)
        except OSError as exc:
            raise ImportFailed(self.path, None, f"cannot open: {exc.strerror or exc}") from None

    def __enter__(self) -> InputFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._raw.close()

    def binary(self) -> io.BufferedIOBase:
        return gzip.GzipFile(fileobj=self._raw, mode="rb") if self.is_gzip else self._raw

    def data_time(self) -> datetime:
        """When the file was produced: the gzip header's MTIME when set, else the file's modification time."""
        if self.is_gzip:
            header = self._raw.read(8)
            self._raw.seek(0)
            stamp = int.from_bytes(header[4:8], "little")
            if stamp:
                return datetime.fromtimestamp(stamp, tz=UTC)
        return datetime.fromtimestamp(os.fstat(self._raw.fileno()).st_mtime, tz=UTC)

    def lines(self) -> Iterator[str]:
        """Every line, streamed (memory stays bounded whatever the file size); the last may lack its line
        end."""
        for block in self.blocks():
            rows = block.split("\n")
            last = rows.pop()
            yield from (row + "\n" for row in rows)
            if last:
                yield last

    def blocks(self, size: int = BLOCK_BYTES) -> Iterator[str]:
        """The text in blocks of about `size` bytes, each ending at a line end (the fast RPSL path).

        Reads bytes and decodes each block itself, so a damaged gzip stream still yields every line before the
        damage and the error names the line reached. Line ends are normalised to "\\n".
        """
        self._raw.seek(0)
        stream = self.binary()
        bar = self._bar()
        lines, tail = 0, b""
        try:
            while chunk := stream.read1(size):
                data, tail = _whole_lines(tail + chunk)
                if data:
                    lines += data.count(b"\n")
                    bar.update(self._raw.tell() - bar.n)
                    yield data.decode(self.encoding)
            if tail:
                yield tail.replace(b"\r", b"\n").decode(self.encoding)
        except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
            raise ImportFailed(
                self.path, lines + 1, f"unreadable input (corrupt or truncated?): {exc}"
            ) from None
        finally:
            bar.close()
            if stream is not self._raw:
                stream.close()

    def _bar(self) -> tqdm:
        return progress_bar(
            total=self.size,
            unit="B",
            unit_scale=True,
            desc=os.path.basename(self.path),
            enabled=self.show_progress,
        )


def _whole_lines(data: bytes) -> tuple[bytes, bytes]:
    """(complete lines with "\\n" line ends, the rest). A final "\\r" waits: its "\\n" may follow."""
    held = b""
    if data.endswith(b"\r"):
        data, held = data[:-1], b"\r"
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    cut = data.rfind(b"\n") + 1
    return data[:cut], data[cut:] + held
