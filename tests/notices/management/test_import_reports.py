"""`manage.py import_reports`: CSV and JSON lines, standard input, per-line errors, resuming without
duplicates."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from django.core.management import CommandError, call_command

from notices.models import ImportRun, Partner, Report, Url
from tests.conftest import ROOT, database_url_for_children

pytestmark = pytest.mark.django_db


def run(*args, stdin: bytes | None = None) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    if stdin is None:
        call_command("import_reports", *args, stdout=out, stderr=err)
        return out.getvalue(), err.getvalue()
    saved = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin))
    try:
        call_command("import_reports", *args, stdout=out, stderr=err)
    finally:
        sys.stdin = saved
    return out.getvalue(), err.getvalue()


@pytest.fixture
def partner():
    return Partner.objects.create(name="Hotline Example")


def test_import_reports_csv_records_every_valid_line_as_the_partners(tmp_path, partner):
    path = tmp_path / "reports.csv"
    path.write_text(
        "url,reported_at,external_ref,notes\r\n"
        "http://files.example/a.jpg,2026-01-02T03:04:05Z,ref-1,\r\n"
        'http://files.example/b.jpg,,ref-2,"a note, with a comma"\r\n'
        "HTTP://FILES.EXAMPLE/a.jpg,,ref-3,\r\n",
        encoding="utf-8",
    )
    out, err = run(str(path), "--partner", partner.name)

    assert err == ""
    assert f"{path}: read 4 lines" in out and "3 reports accepted (1 of a URL already known), 0 lines" in out
    reports = list(Report.objects.order_by("external_ref").values_list("external_ref", "partner", "notes"))
    assert reports == [
        ("ref-1", partner.pk, ""),
        ("ref-2", partner.pk, "a note, with a comma"),
        ("ref-3", partner.pk, ""),
    ]
    assert Url.objects.count() == 2
    assert Report.objects.get(external_ref="ref-1").reported_at.isoformat() == "2026-01-02T03:04:05+00:00"


def test_import_reports_names_each_bad_line_with_its_number_and_reason(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_bytes(
        b"url,external_ref\n"
        b"http://ok.example/1,good-1\n"
        b"not a url,bad-url\n"
        b"\n"
        b"http://ok.example/2,good-2,extra\n"
        b'"http://ok.example/3,unclosed\n'
        b"http://ok.example/\xff,bad-bytes\n"
        b"http://ok.example/4,good-4\n"
    )
    out, err = run(str(path))

    lines = err.splitlines()
    assert [line.split(": ", 1)[0] for line in lines] == [f"{path}:3", f"{path}:5", f"{path}:6", f"{path}:7"]
    assert lines[0].endswith("url: host is not a valid domain name or IP address")
    assert "the row has 3 fields; the header has 2 columns" in lines[1]
    assert "unexpected end of data" in lines[2]
    assert lines[3].endswith("not UTF-8 text (byte 0xff at column 19)")
    assert "2 reports accepted" in out and "4 lines rejected" in out
    assert sorted(Report.objects.values_list("external_ref", flat=True)) == ["good-1", "good-4"]


def test_import_reports_defanged_url_is_a_line_error_naming_the_refanged_form(tmp_path):
    path = tmp_path / "defanged.jsonl"
    path.write_text(
        json.dumps({"url": "hxxps://files[.]polder[.]example/a.jpg"})
        + "\n"
        + json.dumps({"url": "http://files.polder.example/b.jpg"})
        + "\n",
        encoding="utf-8",
    )
    out, err = run(str(path))

    assert err.splitlines() == [
        f"{path}:1: url: This URL looks defanged (hxxp, [.] or [:] written in place of http, a dot or a "
        "colon), so it cannot be tracked as it is. Submit it refanged: https://files.polder.example/a.jpg"
    ]
    assert "1 reports accepted" in out and "1 lines rejected" in out
    assert list(Url.objects.values_list("canonical", flat=True)) == ["http://files.polder.example/b.jpg"]


def test_import_reports_json_lines_from_standard_input():
    lines = [
        json.dumps({"url": "http://stdin.example/1", "external_ref": "j1", "notes": "two\nlines"}),
        json.dumps({"url": "http://stdin.example/2", "hashes": [{"algorithm": "md5", "value": "a" * 32}]}),
        json.dumps({"url": 5}),
        "[1, 2]",
        "{not json",
        json.dumps({"url": "http://stdin.example/3", "hashes": [{"algorithm": "md5", "value": "xyz"}]}),
        "[" * 5000 + "]" * 5000,
    ]
    out, err = run("-", stdin="\n".join(lines).encode())

    assert err.splitlines() == [
        "-:3: url: Not a valid string.",
        "-:4: expected a JSON object with the report's fields",
        "-:5: not JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        "-:6: hashes[0].value: Not a valid md5 hex digest.",
        "-:7: JSON nested too deeply",
    ]
    assert "2 reports accepted" in out and "5 lines rejected" in out
    assert Report.objects.get(external_ref="j1").notes == "two\nlines"
    assert Report.objects.exclude(external_ref="j1").get().hashes == [{"algorithm": "md5", "value": "a" * 32}]


def test_import_reports_refuses_a_huge_line_and_goes_on_in_constant_memory(tmp_path, settings):
    from notices.services.imports import MAX_LINE_BYTES

    path = tmp_path / "huge.jsonl"
    with path.open("wb") as f:
        f.write(json.dumps({"url": "http://big.example/1"}).encode() + b"\n")
        f.write(b'{"url": "http://big.example/' + b"x" * (MAX_LINE_BYTES * 3) + b'"}\n')
        f.write(b"\x00\x01garbage\x02" * 10 + b"\n")
        f.write(json.dumps({"url": "http://big.example/2"}).encode())  # no final line break
    out, err = run(str(path))

    assert err.splitlines()[0] == f"{path}:2: line longer than {MAX_LINE_BYTES} bytes"
    assert err.splitlines()[1].startswith(f"{path}:3: not JSON")
    assert "2 reports accepted" in out
    assert sorted(Url.objects.values_list("canonical", flat=True)) == [
        "http://big.example/1",
        "http://big.example/2",
    ]


def test_import_reports_again_after_it_finished_records_nothing_twice(tmp_path):
    path = tmp_path / "once.csv"
    path.write_text("url\nhttp://once.example/1\nhttp://once.example/2\n")
    run(str(path))
    out, _ = run(str(path))

    assert "imported completely before (3 lines, 2 reports accepted, 0 lines rejected)" in out
    assert Report.objects.count() == 2


def test_import_reports_fatal_errors_exit_non_zero_with_file_and_line(tmp_path):
    bad_header = tmp_path / "bad.csv"
    bad_header.write_text("address,notes\nhttp://x.example/\n")
    with pytest.raises(
        CommandError, match=r"bad\.csv:1: CSV needs a header row with at least a 'url' column"
    ):
        run(str(bad_header))
    with pytest.raises(CommandError, match="No such file or directory"):
        run(str(tmp_path / "missing.csv"))
    with pytest.raises(CommandError, match="No partner named 'Nobody'"):
        run(str(bad_header), "--partner", "Nobody")
    assert Report.objects.count() == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_import_reports_ctrl_c_says_where_it_stopped_and_resumes_there(tmp_path):
    """A real process interrupted as Ctrl-C does (SIGINT): one line naming the last recorded line and how to
    resume, no traceback, exit status 130; the same command again finishes the file, nothing twice."""
    total = 30_000
    path = tmp_path / "big.jsonl"
    with path.open("w") as f:
        for i in range(total):
            f.write(json.dumps({"url": f"http://host{i % 50}.example/c/{i}", "external_ref": f"c{i}"}) + "\n")
    env = {**os.environ, "DATABASE_URL": database_url_for_children(), "IMPORT_BATCH_LINES": "500"}
    command = [sys.executable, "manage.py", "import_reports", str(path)]
    proc = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if (ImportRun.objects.values_list("lines_done", flat=True).first() or 0) >= 2_000:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    interrupted = ImportRun.objects.get()
    assert proc.returncode == 130, err
    assert 2_000 <= interrupted.lines_done < total
    assert err.strip().splitlines()[-1] == (
        f"{path}: interrupted after line {interrupted.lines_done:,}; run the same command again to resume "
        f"after line {interrupted.lines_done:,}."
    )
    assert "Traceback" not in err
    assert Report.objects.count() == interrupted.lines_done

    finished = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr
    assert f"Resumed after line {interrupted.lines_done:,}" in finished.stdout
    refs = list(Report.objects.values_list("external_ref", flat=True))
    assert len(refs) == len(set(refs)) == total


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_import_reports_killed_midway_resumes_without_duplicates(tmp_path):
    """A real process, SIGKILLed after some batches committed; the second run completes the file and every
    line is recorded exactly once."""
    total = 30_000
    path = tmp_path / "big.jsonl"
    with path.open("w") as f:
        for i in range(total):
            f.write(json.dumps({"url": f"http://host{i % 50}.example/p/{i}", "external_ref": f"r{i}"}) + "\n")
    env = {**os.environ, "DATABASE_URL": database_url_for_children(), "IMPORT_BATCH_LINES": "500"}
    command = [sys.executable, "manage.py", "import_reports", str(path)]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done = ImportRun.objects.values_list("lines_done", flat=True).first() or 0
        if done >= 2_000:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    interrupted = ImportRun.objects.get()
    assert 2_000 <= interrupted.lines_done < total and interrupted.finished_at is None
    assert Report.objects.count() == interrupted.lines_done  # each batch committed with its progress

    finished = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)

    assert finished.returncode == 0, finished.stderr
    assert f"Resumed after line {interrupted.lines_done:,}" in finished.stdout
    refs = list(Report.objects.values_list("external_ref", flat=True))
    assert len(refs) == len(set(refs)) == total
    assert ImportRun.objects.get().accepted == total
