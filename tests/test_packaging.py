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
