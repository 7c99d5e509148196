"""The install files agree with each other and with what the package imports."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11; the check itself needs no 3.10 run

ROOT = Path(__file__).resolve().parents[1]
# conda-forge names the torch package differently from PyPI.
CONDA_TO_PYPI = {"pytorch": "torch"}


def requirement_name_and_spec(text: str) -> tuple[str, str]:
    match = re.match(r"\s*([A-Za-z0-9_.\-]+)\s*(.*)", text)
    assert match, f"cannot parse requirement {text!r}"
    return match.group(1).lower().replace("_", "-"), match.group(2).replace(" ", "")


def pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = project["dependencies"] + project["optional-dependencies"]["test"]
    return dict(requirement_name_and_spec(line) for line in lines)


def conda_requirements() -> dict[str, str]:
    """The conda dependencies of environment.yml (a tiny YAML subset: '  - name>=x' lines)."""
    found = {}
    text = (ROOT / "environment.yml").read_text()
    for line in text.split("\ndependencies:\n", 1)[1].splitlines():
        match = re.match(r"^  - ([A-Za-z0-9_.\-]+.*)$", line)
        if not match:
            continue
        name, spec = requirement_name_and_spec(match.group(1))
        if name not in {"python", "pip"}:
            found[CONDA_TO_PYPI.get(name, name)] = spec
    return found


def test_environment_yml_matches_pyproject():
    assert conda_requirements() == pyproject_requirements()


def test_python_version_matches():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.10"
    assert "  - python>=3.10" in (ROOT / "environment.yml").read_text()


def test_constraints_pin_only_torch():
    pins = [
        line.strip()
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert len(pins) == 1 and re.fullmatch(r"torch==\d+\.\d+\.\d+", pins[0])


def test_import_course_gen_does_not_import_plotly_or_ipywidgets():
    code = (
        "import sys, course_gen, course_gen.data, course_gen.train, course_gen.plotting;"
        "heavy = sorted(m for m in ('plotly', 'ipywidgets') if m in sys.modules);"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import pulled in {out.stdout.strip()}"


def test_readme_quickstart_is_called_by_ci():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Quickstart", 1)[1].split("```")[1]
    commands = [line for line in block.splitlines()[1:] if line.strip() and not line.startswith("#")]
    assert len(commands) == 2, commands
    assert commands[1] in (ROOT / ".ci" / "run").read_text()
