"""JupyterLab serves the course notebooks with the widget and plotly extensions installed."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab_server import LAB_TOKEN as TOKEN
from lab_server import get_json, running_lab, skip_without_jupyter

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.fixture(scope="module")
def lab_url():
    skip_without_jupyter()
    with running_lab(NOTEBOOKS) as base:
        yield base


def test_lab_lists_the_course_notebooks(lab_url):
    listing = get_json(f"{lab_url}/api/contents?token={TOKEN}")
    served = {item["name"] for item in listing["content"]}
    assert {p.name for p in NOTEBOOKS.glob("*.ipynb")} <= served
    assert "00_tour.ipynb" in served


def test_lab_has_the_widget_and_plotly_extensions(lab_url):
    extensions = {item["name"] for item in get_json(f"{lab_url}/lab/api/extensions?token={TOKEN}")}
    needed = {"jupyter-widgets-jupyterlab-manager", "jupyterlab-plotly", "anywidget"}
    assert needed <= extensions, f"missing JupyterLab extensions: {sorted(needed - extensions)}"
