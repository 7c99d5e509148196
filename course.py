#!/usr/bin/env python3
"""Set up and run the course with nothing but Python (3.10 or newer).

    python3 course.py lab     # make .venv, install course_gen, open the notebooks in JupyterLab
    python3 course.py test    # make .venv, install course_gen, run the package and notebook tests
    python3 course.py execute [NOTEBOOK ...]   # re-run notebooks in place (full mode), for committing
    python3 course.py student OUT             # write the student edition (no solutions) to the folder OUT
    python3 course.py grade SUBMISSIONS [--out DIR]   # grade SUBMISSIONS/<student>/<notebook>.ipynb
    python3 course.py slides [NOTEBOOK ...] [--out DIR]   # reveal.js decks (build/slides/NAME.slides.html), offline
    python3 course.py site OUT                # the course as a static site (OUT/index.html), offline, from file://

Extra arguments go to JupyterLab or pytest (``python3 course.py lab --no-browser``,
``python3 course.py test -k flows``). The environment lives in ``.venv`` next to this file
(``COURSE_GEN_VENV`` chooses another folder) and is reinstalled only when ``pyproject.toml``
or ``constraints.txt`` change. If ``.venv`` already has a torch (say a CUDA build you
installed yourself), it is kept; otherwise the version pinned in ``constraints.txt`` is used.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("COURSE_GEN_VENV", ROOT / ".venv"))
STAMP_INPUTS = ("pyproject.toml", "constraints.txt")


def venv_python() -> Path:
    folder = "Scripts" if os.name == "nt" else "bin"
    return VENV / folder / ("python.exe" if os.name == "nt" else "python")


def run(*args, **kwargs) -> None:
    print("+", " ".join(str(a) for a in args), flush=True)
    subprocess.run([str(a) for a in args], check=True, **kwargs)


def install_stamp() -> str:
    digest = hashlib.sha256()
    for name in STAMP_INPUTS:
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def has_torch(python: Path) -> bool:
    probe = subprocess.run([str(python), "-c", "import torch"], capture_output=True)
    return probe.returncode == 0


def ensure_environment() -> Path:
    """Create the virtual environment and install course_gen (editable) with its test extras."""
    if sys.version_info < (3, 10):
        sys.exit(f"course_gen needs Python 3.10 or newer; this is {sys.version.split()[0]}")
    python = venv_python()
    if not python.exists():
        print(f"Creating the virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    stamp_file = VENV / ".course_gen_installed"
    stamp = install_stamp()
    if stamp_file.exists() and stamp_file.read_text() == stamp:
        return python
    pins = [] if has_torch(python) else ["-c", ROOT / "constraints.txt"]
    run(python, "-m", "pip", "install", "--quiet", *pins, "-e", f"{ROOT}[test]")
    stamp_file.write_text(stamp)
    return python


def lab(python: Path, extra: list[str]) -> int:
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in extra:
        extra = [*extra, "--allow-root"]  # containers and cloud machines often run as root
    # course_gen.labsetup: the course's JupyterLab settings (no news prompt, marks' font), tour open.
    return subprocess.call([str(python), "-m", "course_gen.labsetup", *extra], cwd=ROOT / "notebooks")


def test(python: Path, extra: list[str]) -> int:
    env = dict(os.environ, COURSE_GEN_FAST="1")
    return subprocess.call([str(python), "-m", "pytest", *extra], cwd=ROOT, env=env)


def execute(python: Path, extra: list[str]) -> int:
    code = (
        "import sys; from course_gen.notebook_runner import course_notebooks, execute_notebook\n"
        "for path in sys.argv[1:] or course_notebooks():\n"
        "    print(f'{path}: {execute_notebook(path, fast=False, write=True):.1f} s', flush=True)\n"
    )
    return subprocess.call([str(python), "-c", code, *extra], cwd=ROOT)


def homework(command: str):
    """``student`` and ``grade``: see ``python -m course_gen.homework --help``."""

    def run_homework(python: Path, extra: list[str]) -> int:
        return subprocess.call([str(python), "-m", "course_gen.homework", command, *extra])

    return run_homework


def publish(command: str):
    """``slides`` and ``site``: see ``python -m course_gen.publish``."""

    def run_publish(python: Path, extra: list[str]) -> int:
        return subprocess.call([str(python), "-m", "course_gen.publish", command, *extra], cwd=ROOT)

    return run_publish


COMMANDS = {"lab": lab, "test": test, "execute": execute, "student": homework("student"), "grade": homework("grade"),
            "slides": publish("slides"), "site": publish("site")}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(__doc__)
        return 2
    python = ensure_environment()
    return COMMANDS[argv[0]](python, argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
