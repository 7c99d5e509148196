"""Every course notebook follows DESIGN.md: it teaches, the package works.

Checked on the committed files, so a notebook that slips plumbing in fails here before review.
"""

from __future__ import annotations

import re

import nbformat
import pytest

from course_gen.notebook_runner import course_notebooks

NOTEBOOKS = course_notebooks()
MODEL_CLASS = re.compile(r"^class \w+\((?:torch\.)?(?:nn\.)?Module\)", re.M)
OPTIMIZER_STEP = re.compile(r"\b\w*(?:opt|optim|optimizer)\w*\.step\(")
#: A number standing on its own (not the 2 of "L2"): 3, -0.25, 1.5e-03, 97.4%.
NUMBER = re.compile(r"(?<![A-Za-z_\d.])[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?![A-Za-z_\d])")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def code_cells(path):
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def is_exercise(source: str) -> bool:
    return "NotImplementedError" in source or "exercise" in source.lower()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_models_or_training_loops_outside_exercises(path):
    for cell in code_cells(path):
        if is_exercise(cell.source):
            continue
        assert not MODEL_CLASS.search(cell.source), f"{path.name}: a model class belongs in course_gen:\n{cell.source}"
        assert not OPTIMIZER_STEP.search(cell.source), f"{path.name}: use course_gen.train.train:\n{cell.source}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_opens_with_a_title_and_checks_numbers(path):
    notebook = nbformat.read(path, as_version=4)
    assert notebook.cells[0].cell_type == "markdown" and notebook.cells[0].source.startswith("# ")
    checked = [c for c in code_cells(path) if c.source.startswith("# NBVAL_CHECK_OUTPUT")]
    assert checked, f"{path.name} has no '# NBVAL_CHECK_OUTPUT' cell printing a verifiable number"
    for cell in checked:
        printed = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
        assert printed, f"{path.name}: a checked cell prints nothing to compare:\n{cell.source}"
        assert NUMBER.search(printed), (
            f"{path.name}: a checked cell prints no number, only words or booleans:\n{cell.source}\n---\n{printed}"
        )


def test_number_pattern():
    assert NUMBER.search("KL = 0.125") and NUMBER.search("error -1.5e-03") and NUMBER.search("(3, 4)")
    assert not NUMBER.search("True False") and not NUMBER.search("L2 layer_3 x1")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_widget_leaves_a_static_picture(path):
    """A reader without a kernel (GitHub, a static site) sees each widget's saved frame."""
    for cell in code_cells(path):
        for output in cell.outputs:
            data = output.get("data", {})
            if WIDGET_VIEW in data:
                assert "image/png" in data, f"{path.name}: this widget shows nothing without a kernel:\n{cell.source}"


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if not p.name.startswith("00_")], ids=lambda p: p.stem)
def test_lecture_notebooks_have_exercises_with_checkers(path):
    sources = [c.source for c in code_cells(path)]
    exercises = [s for s in sources if "raise NotImplementedError" in s]
    checkers = [s for s in sources if re.search(r"exercises\.\w*check_\w+\(|\bcheck_\w+\(", s)]
    assert len(exercises) >= 3, f"{path.name} has {len(exercises)} exercises, the course asks for at least 3"
    assert len(checkers) >= 3, f"{path.name} calls {len(checkers)} checkers"
