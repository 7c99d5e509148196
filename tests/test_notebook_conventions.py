"""Every course notebook follows DESIGN.md: it teaches, the package works.

Checked on the committed files, so a notebook that slips plumbing in fails here before review.
"""

from __future__ import annotations

import json
import re

import nbformat
import pytest

from course_gen.homework import editions
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
    return "BEGIN SOLUTION" in source or "NotImplementedError" in source or "exercise" in source.lower()


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


LECTURE_NOTEBOOKS = [p for p in NOTEBOOKS if not p.name.startswith("00_")]


@pytest.mark.parametrize("path", LECTURE_NOTEBOOKS, ids=lambda p: p.stem)
def test_lecture_notebooks_have_graded_exercises(path):
    """At least 4 graded exercises, one conceptual question and one larger task, in nbgrader form."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    found = editions.exercises(notebook)  # raises on an inconsistent teacher edition
    assert len(found) >= 4, f"{path.name} has {len(found)} graded exercises, the course asks for at least 4"
    tests = [editions.source(notebook["cells"][e.test_cell]) for e in found]
    for text in tests:
        assert text.startswith("feedback = ") and "### BEGIN HIDDEN TESTS" in text, f"{path.name}: test cell\n{text}"
    assert any(re.search(r"check_\w*question\(", t) for t in tests), f"{path.name} has no conceptual question"
    assert any(e.points >= 4 for e in found), f"{path.name} has no larger task (4 points or more)"
    setup = [c for c in notebook["cells"] if editions.is_setup(c)]
    assert setup, f"{path.name}: tag the imports cell 'homework-setup' (the grader runs it before the exercises)"
    for exercise in found:
        solution = editions.source(notebook["cells"][exercise.solution_cell])
        assert editions.BEGIN_SOLUTION in solution, f"{path.name}: {exercise.grade_id} has no solution region"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_later_cells_do_not_use_the_students_functions(path):
    """In the student edition every answer raises NotImplementedError, so no demonstration may call one."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    answers = {name for c in notebook["cells"] if editions.is_solution(c)
               for name in editions.defined_names(editions.source(c))}
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code" or editions.is_solution(cell) or editions.is_test(cell):
            continue
        used = {name for name in answers if re.search(rf"(?<![.\w]){name}\(", editions.source(cell))}
        assert not used, f"{path.name}: this cell calls the exercise answer(s) {used}:\n{editions.source(cell)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_cell_has_an_id(path):
    notebook = json.loads(path.read_text(encoding="utf-8"))
    assert all(cell.get("id") for cell in notebook["cells"]), f"{path.name}: cells without an id (nbformat 4.5)"
