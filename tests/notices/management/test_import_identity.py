"""`manage.py import_reports`: how an input is recognised. A resume goes on only after the lines it skips hash
to what the earlier run committed; inputs that share their first MiB (a cumulative daily export, a file
rewritten in place) are never skipped silently; `--restart`."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from notices.models import ImportRun, Report
from notices.services.imports import HEAD_BYTES, ImportInterrupted, import_reports
from tests.conftest import ROOT, database_url_for_children

pytestmark = pytest.mark.django_db


class _Source(io.RawIOBase):
    """Bytes read as a pipe (not seekable) or a file (seekable); `interrupt_at`: a Ctrl-C when reading
    reaches that byte."""

    def __init__(self, data: bytes, *, seekable: bool, interrupt_at: int | None = None):
        self._data, self._seekable, self._interrupt_at, self._pos = data, seekable, interrupt_at, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._seekable

    def seek(self, offset: int, whence: int = 0) -> int:
        if not self._seekable:
            raise io.UnsupportedOperation("seek")
        self._pos = {0: offset, 1: self._pos + offset, 2: len(self._data) + offset}[whence]
        return self._pos

    def tell(self) -> int:
        if not self._seekable:
            raise io.UnsupportedOperation("tell")
        return self._pos

    def readinto(self, buffer) -> int:
        end = min(len(self._data), self._pos + len(buffer))
        if self._interrupt_at is not None:
            if self._pos >= self._interrupt_at:
                raise KeyboardInterrupt
            end = min(end, self._interrupt_at)
        size = end - self._pos
        buffer[:size] = self._data[self._pos : end]
        self._pos = end
        return size


def pipe(data: bytes, interrupt_at: int | None = None) -> io.BufferedReader:
    return io.BufferedReader(_Source(data, seekable=False, interrupt_at=interrupt_at))


def command(*args: str, stdin: io.BufferedReader | bytes | None = None) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of `import_reports ARGS`, standard input read from `stdin`."""
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdin
    if stdin is not None:
        sys.stdin = io.TextIOWrapper(stdin if isinstance(stdin, io.BufferedReader) else io.BytesIO(stdin))
    try:
        call_command("import_reports", *args, stdout=out, stderr=err)
        status = 0
    except CommandError as exc:
        status, err = 1, io.StringIO(err.getvalue() + str(exc))
    except SystemExit as exc:
        status = exc.code
    finally:
        sys.stdin = saved
    return status, out.getvalue(), err.getvalue()


def jsonl(tag: str, count: int, *, start: int = 0) -> bytes:
    """`count` reports (about 8 KB each, so some hundred lines pass the first MiB), refs `tag-N`."""
    return b"".join(
        json.dumps(
            {"url": f"http://{tag}.example/{i}", "external_ref": f"{tag}-{i}", "notes": "n" * 8000}
        ).encode()
        + b"\n"
        for i in range(start, start + count)
    )


HEAD = jsonl("head", 140)  # the same first MiB for every input below
assert len(HEAD) > HEAD_BYTES


def refs(tag: str) -> list[str]:
    return sorted(
        Report.objects.filter(external_ref__startswith=f"{tag}-").values_list("external_ref", flat=True),
        key=lambda ref: int(ref.rsplit("-", 1)[1]),
    )


def test_stdin_stream_sharing_the_first_mib_with_a_finished_one_is_refused_not_skipped():
    first, second = HEAD + jsonl("day1", 20), HEAD + jsonl("day2", 20)  # same size, other later lines
    assert command("-", stdin=pipe(first))[0] == 0

    status, out, err = command("-", stdin=pipe(second))

    assert (status, out) == (1, "")
    assert err == (
        "-:160: not the input an earlier import of it read (they differ by line 160), and a stream cannot be "
        "read again from line 1; nothing was recorded. Run the command again with --restart to import it "
        "from line 1 as a new run."
    )
    assert refs("day2") == [] and Report.objects.count() == 160
    assert ImportRun.objects.count() == 1


def test_stdin_stream_with_another_line_after_an_interrupted_one_is_refused_not_resumed(settings):
    settings.IMPORT_BATCH_LINES = 10
    first, second = HEAD + jsonl("a", 40), HEAD + jsonl("b", 40)
    status, _, err = command("-", stdin=pipe(first, interrupt_at=len(HEAD) + 25 * 8100))
    assert status == 130, err
    interrupted = ImportRun.objects.get()
    assert 140 <= interrupted.lines_done < 180 and interrupted.finished_at is None

    status, _, err = command("-", stdin=pipe(second))

    assert status == 1
    assert err.startswith(f"-:{interrupted.lines_done}: not the input an earlier import of it read")
    assert refs("b") == []
    assert ImportRun.objects.get().lines_done == interrupted.lines_done  # the run is left to resume


def test_stdin_redirected_from_a_file_is_imported_again_from_line_1_when_it_is_another_input():
    """Standard input that can seek (`import_reports - < FILE`) is read again from the start, as a file."""
    command("-", stdin=HEAD + jsonl("old", 20))

    status, out, err = command("-", stdin=HEAD + jsonl("new", 20))

    assert status == 0
    assert err.splitlines() == [
        "-:160: not the input an earlier import of it read (they differ by line 160); importing it from "
        "line 1 as a new run"
    ]
    assert "read 160 lines" in out and "160 reports accepted (140 of a URL already known)" in out
    assert refs("new") == [f"new-{i}" for i in range(20)]
    assert ImportRun.objects.count() == 2


def test_interrupted_stdin_import_resumes_with_the_same_stream_recording_every_line_once(settings):
    settings.IMPORT_BATCH_LINES = 10
    data = HEAD + jsonl("same", 60)
    status, _, err = command("-", stdin=pipe(data, interrupt_at=len(HEAD) + 33 * 8100))
    done = ImportRun.objects.get().lines_done
    assert status == 130
    assert err.strip().splitlines()[-1] == (
        f"-: interrupted after line {done:,}; run the same command again to resume after line {done:,}."
    )
    assert 150 <= done < 200 and Report.objects.count() == done

    status, out, err = command("-", stdin=pipe(data))

    assert (status, err) == (0, "")
    assert f"Resumed after line {done:,}" in out
    assert refs("head") == [f"head-{i}" for i in range(140)]
    assert refs("same") == [f"same-{i}" for i in range(60)]
    run = ImportRun.objects.get()
    assert run.finished_at is not None and (run.lines_done, run.consumed_bytes, run.accepted) == (
        200,
        len(data),
        200,
    )


@pytest.mark.parametrize("earlier", ["finished", "interrupted"])
def test_file_rewritten_with_the_same_size_and_head_is_imported_again_from_line_1(
    tmp_path, settings, earlier
):
    settings.IMPORT_BATCH_LINES = 10
    path = tmp_path / "export.jsonl"
    before, after = HEAD + jsonl("v1", 30), HEAD + jsonl("v2", 30)
    assert len(before) == len(after)
    path.write_bytes(before)
    if earlier == "finished":
        assert command(str(path))[0] == 0
    else:
        with pytest.raises(ImportInterrupted):
            import_reports(
                io.BufferedReader(_Source(before, seekable=True, interrupt_at=len(HEAD) + 25 * 8100)),
                name=str(path),
                partner=None,
            )
    done = ImportRun.objects.get().lines_done
    path.write_bytes(after)

    status, out, err = command(str(path))

    assert status == 0
    assert err.splitlines() == [
        f"{path}:{done}: not the input an earlier import of it read (they differ by line {done}); importing "
        "it from line 1 as a new run"
    ]
    assert "read 170 lines" in out
    assert refs("v2") == [f"v2-{i}" for i in range(30)]
    latest = ImportRun.objects.latest("pk")
    assert (ImportRun.objects.count(), latest.lines_done, latest.accepted) == (2, 170, 170)


def test_longer_stream_with_the_start_of_a_finished_one_reads_on_after_it_as_a_new_run():
    """A cumulative export: yesterday's lines are the same bytes, so only today's are new; the whole
    stream again is "already done"."""
    yesterday = HEAD + jsonl("c", 20)
    today = yesterday + jsonl("c", 15, start=20)
    command("-", stdin=pipe(yesterday))

    status, out, err = command("-", stdin=pipe(today))

    assert (status, err) == (0, "")
    assert "read 15 lines" in out and "15 reports accepted (0 of a URL already known)" in out
    assert (
        "Lines 1–160 are those of an earlier import of this input that finished; read on after line 160"
        in out
    )
    assert refs("c") == [f"c-{i}" for i in range(35)]
    runs = list(ImportRun.objects.order_by("pk").values_list("lines_done", "consumed_bytes", "accepted"))
    assert runs == [(160, len(yesterday), 160), (175, len(today), 175)]  # counts cover lines 1–lines_done
    assert "All runs of this file: 175 accepted, 0 rejected." in out

    status, out, _ = command("-", stdin=pipe(today))
    assert status == 0 and "imported completely before (175 lines, 175 reports accepted" in out
    assert Report.objects.count() == 175


def test_whole_stream_is_already_done_only_when_it_is_all_of_the_finished_runs_bytes():
    """The same lines but one without its final line break: not the same input's end."""
    data = HEAD + jsonl("end", 5)
    command("-", stdin=pipe(data))

    status, out, err = command("-", stdin=pipe(data[:-1] + b" \n"))

    assert status == 1 and out == ""
    assert err.startswith("-:145: not the input an earlier import of it read (they differ by line 145)")


@pytest.mark.parametrize("earlier", ["finished", "interrupted"])
def test_restart_imports_from_line_1_as_a_new_run(tmp_path, settings, earlier):
    settings.IMPORT_BATCH_LINES = 10
    data = HEAD + jsonl("r", 10)
    if earlier == "finished":
        assert command("-", stdin=pipe(data))[0] == 0
    else:
        assert command("-", stdin=pipe(data, interrupt_at=len(HEAD) + 5 * 8100))[0] == 130
    before = Report.objects.count()

    status, out, err = command("-", "--restart", stdin=pipe(data))

    assert (status, err) == (0, "")
    assert "read 150 lines" in out and f"150 reports accepted ({before} of a URL already known)" in out
    assert "Resumed" not in out
    assert Report.objects.count() == before + 150  # the earlier run's reports stay
    assert ImportRun.objects.count() == 2
    assert ImportRun.objects.latest("pk").finished_at is not None


def test_restart_interrupted_says_to_resume_without_restart(settings):
    settings.IMPORT_BATCH_LINES = 10
    data = HEAD + jsonl("x", 30)

    status, _, err = command("-", "--restart", stdin=pipe(data, interrupt_at=len(HEAD) + 5 * 8100))

    done = ImportRun.objects.get().lines_done
    assert status == 130
    assert err.strip().endswith(f"run the command again without --restart to resume after line {done:,}.")
    status, out, _ = command("-", stdin=pipe(data))
    assert status == 0 and f"Resumed after line {done:,}" in out
    assert refs("x") == [f"x-{i}" for i in range(30)]


@pytest.mark.django_db(False)
def test_line_reader_digest_is_of_exactly_the_bytes_of_the_lines_read():
    """Across chunk boundaries, a line longer than a chunk, CRLF and a last line without its break."""
    from notices.services.imports import CHUNK_BYTES, _LineReader

    data = b"".join(
        [b"a\r\n", b"x" * (CHUNK_BYTES * 2 + 7) + b"\n", b"\n"]
        + [b"line %d %s\n" % (i, b"y" * (i % 977)) for i in range(3000)]
        + [b"last without a break"]
    )
    reader = _LineReader(data[:HEAD_BYTES], io.BytesIO(data[HEAD_BYTES:]))
    ends = []
    for number, (_, size) in enumerate(reader, start=1):
        ends.append((ends[-1] if ends else 0) + size)
        if number % 7 == 0 or number < 4 or size > CHUNK_BYTES:
            assert reader.digest() == (hashlib.sha256(data[: ends[-1]]).hexdigest(), ends[-1])
    assert reader.digest() == (hashlib.sha256(data).hexdigest(), len(data)) and ends[-1] == len(data)


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_real_pipe_with_another_stream_after_the_first_mib_exits_non_zero_and_records_nothing():
    """`zcat … | import_reports -` as a shell runs it: standard input is a pipe."""
    env = {**os.environ, "DATABASE_URL": database_url_for_children()}
    command_line = [sys.executable, "manage.py", "import_reports", "-"]
    first = subprocess.run(command_line, cwd=ROOT, env=env, input=HEAD + jsonl("p1", 5), capture_output=True)
    assert first.returncode == 0, first.stderr

    second = subprocess.run(command_line, cwd=ROOT, env=env, input=HEAD + jsonl("p2", 5), capture_output=True)

    assert second.returncode == 1
    assert (
        second.stderr.decode()
        .strip()
        .splitlines()[-1]
        .startswith(
            "CommandError: -:145: not the input an earlier import of it read (they differ by line 145)"
        )
    )
    assert "Traceback" not in second.stderr.decode()
    assert refs("p2") == [] and Report.objects.count() == 145
