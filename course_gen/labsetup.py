"""JupyterLab set up for class: what ``python3 course.py lab`` adds to ``jupyter lab``.

- the course's own settings (``course_gen/lab_settings/overrides.json``, passed as
  ``--LabApp.app_settings_dir``): no "Would you like to get notified about official Jupyter news?"
  prompt and no update check, and jupyterlab-rise's slides in reveal.js's "white" theme (the default theme
  fetches Google fonts); the user's ``~/.jupyter`` is neither read for this nor written;
- the tour notebook opens with JupyterLab (``LabApp.default_url``);
- the checkers' marks (U+2714, U+2718) render on machines without a font that has them: this
  module is also a Jupyter server extension that serves ``lab_settings/custom/custom.css`` and the
  DejaVu Sans Mono font matplotlib ships (``--LabApp.custom_css=True`` makes the page load it).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SETTINGS_DIR = Path(__file__).resolve().parent / "lab_settings"
CUSTOM_DIR = SETTINGS_DIR / "custom"
TOUR = "00_tour.ipynb"


def font_dir() -> Path:
    """The folder holding matplotlib's ``DejaVuSansMono.ttf`` (a course dependency, so always there)."""
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def lab_arguments(extra: list[str]) -> list[str]:
    """``jupyter lab`` arguments (run in ``notebooks/``): the course's settings, then ``extra``.

    The tour opens through ``LabApp.default_url``: the browser JupyterLab opens, the URL it prints
    (for ``--no-browser``) and ``/`` all lead to ``/lab/tree/00_tour.ipynb``. An option the user
    gives in ``extra`` (``--name=value``) wins over the course's.
    """
    ours = {
        "--LabApp.app_settings_dir": str(SETTINGS_DIR),
        "--LabApp.custom_css": "True",
        "--LabApp.default_url": f"/lab/tree/{TOUR}",
        "--ServerApp.jpserver_extensions": "course_gen.labsetup=True",
    }
    given = {arg.split("=", 1)[0] for arg in extra if arg.startswith("--")}
    return [f"{name}={value}" for name, value in ours.items() if name not in given] + list(extra)


def _jupyter_server_extension_points() -> list[dict]:
    return [{"module": "course_gen.labsetup"}]


def _load_jupyter_server_extension(serverapp) -> None:
    """Serve ``/custom/`` from the course (CSS) and matplotlib's fonts, before the user's own.

    Extensions load in name order, so this runs before JupyterLab's, which reads
    ``static_custom_path`` when it adds its ``/custom/`` handler.
    """
    settings = serverapp.web_app.settings
    settings["static_custom_path"] = [str(CUSTOM_DIR), str(font_dir()), *settings.get("static_custom_path", [])]


def main(argv: list[str]) -> int:
    """Run ``jupyter lab`` with the course's arguments in the current folder (``course.py lab``)."""
    command = [sys.executable, "-m", "jupyter", "lab", *lab_arguments(argv)]
    if os.name == "posix":
        os.execv(sys.executable, command)  # JupyterLab gets Ctrl-C and the terminal directly
    return subprocess.call(command)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
