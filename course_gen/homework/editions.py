"""One source, two editions: the committed notebooks are the teacher edition, with nbgrader markers.

An exercise in a notebook is two code cells, with nbgrader's cell metadata (schema 3):

- the **solution cell** (``nbgrader.solution: true``, ``grade_id: "01-soft-threshold"``) defines a
  function whose body holds the solution between ``### BEGIN SOLUTION`` and ``### END SOLUTION``;
- the **test cell** (``nbgrader.grade: true``, ``grade_id: "01-soft-threshold-test"``, ``points``)
  runs the checker, ``feedback = check_…(fn)``, prints it, and ends with a hidden test
  (``### BEGIN HIDDEN TESTS`` … ``assert feedback`` … ``### END HIDDEN TESTS``) so that nbgrader's
  own autograder also gives the points only for a correct answer.

Cells tagged ``homework-setup`` (the imports) are what the exercises may use besides each other.
The student edition replaces each solution region by ``# YOUR CODE HERE`` and
``raise NotImplementedError()`` (as nbgrader's ``ClearSolutions`` does), removes the hidden tests and
clears the outputs of exercise cells; the checker then reports "not attempted yet" and the notebook
runs on.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
SETUP_TAG = "homework-setup"
TEST_SUFFIX = "-test"
EDITION_KEY = "course_gen"  # notebook metadata: {"course_gen": {"edition": "student"}}


@dataclass(frozen=True)
class Exercise:
    """One graded exercise: its id, the points its test cell is worth, and its two cells."""

    grade_id: str
    points: float
    solution_cell: int
    test_cell: int


def nbgrader(cell: dict) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def is_solution(cell: dict) -> bool:
    return bool(nbgrader(cell).get("solution"))


def is_test(cell: dict) -> bool:
    return bool(nbgrader(cell).get("grade")) and not is_solution(cell)


def is_setup(cell: dict) -> bool:
    return SETUP_TAG in cell.get("metadata", {}).get("tags", [])


def source(cell: dict) -> str:
    text = cell.get("source", "")
    return "".join(text) if isinstance(text, list) else text


def exercises(notebook: dict) -> list[Exercise]:
    """The notebook's exercises in order, each a solution cell followed by its test cell.

    Raises ``ValueError`` for a test cell without its solution cell (or without points), or for a
    grade id used twice: the teacher edition must be consistent before it is handed out.
    """
    cells = notebook["cells"]
    solutions = {nbgrader(c)["grade_id"]: i for i, c in enumerate(cells) if is_solution(c)}
    if len(solutions) != sum(is_solution(c) for c in cells):
        raise ValueError("two solution cells share a grade_id")
    found = []
    for index, cell in enumerate(cells):
        if not is_test(cell):
            continue
        test_id, points = nbgrader(cell).get("grade_id", ""), nbgrader(cell).get("points")
        grade_id = test_id.removesuffix(TEST_SUFFIX)
        if not test_id.endswith(TEST_SUFFIX) or grade_id not in solutions:
            raise ValueError(f"test cell {test_id!r} needs a solution cell with grade_id {grade_id!r} before it")
        if not isinstance(points, (int, float)) or points <= 0:
            raise ValueError(f"test cell {test_id!r} needs positive points, has {points!r}")
        if solutions[grade_id] > index:
            raise ValueError(f"the solution cell of {grade_id!r} comes after its test cell")
        found.append(Exercise(grade_id, float(points), solutions[grade_id], index))
    return found


def _replace_regions(text: str, begin: str, end: str, replacement: tuple[str, ...]) -> str:
    """Replace every ``begin`` ... ``end`` block of lines (markers included) by ``replacement``,
    indented like the ``begin`` marker. Unbalanced markers raise ``ValueError``."""
    out, inside, indent = [], False, ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped == begin:
            if inside:
                raise ValueError(f"{begin!r} twice without {end!r}")
            inside, indent = True, line[: len(line) - len(line.lstrip())]
            out.extend(indent + r for r in replacement)
        elif stripped == end:
            if not inside:
                raise ValueError(f"{end!r} without {begin!r}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{begin!r} without {end!r}")
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


def strip_solution(text: str) -> str:
    """The solution regions of a cell's source replaced by the stub the student completes."""
    return _replace_regions(text, BEGIN_SOLUTION, END_SOLUTION, STUB)


def strip_hidden_tests(text: str) -> str:
    """A test cell's source without its hidden tests (and without the blank lines they leave)."""
    return _replace_regions(text, BEGIN_HIDDEN, END_HIDDEN, ())


def student_edition(notebook: dict) -> dict:
    """The student edition of a teacher notebook (a new dict; the argument is left unchanged)."""
    exercises(notebook)  # refuse an inconsistent teacher edition
    student = copy.deepcopy(notebook)
    for cell in student["cells"]:
        text = source(cell)
        if is_solution(cell):
            text = strip_solution(text)
        if is_test(cell):
            text = strip_hidden_tests(text)
        if BEGIN_SOLUTION in text or BEGIN_HIDDEN in text:
            raise ValueError(f"solution or hidden-test marker in a cell without nbgrader metadata:\n{text[:200]}")
        cell["source"] = text
        if cell["cell_type"] == "code" and (is_solution(cell) or is_test(cell)):
            cell["outputs"], cell["execution_count"] = [], None
    student.setdefault("metadata", {})[EDITION_KEY] = {"edition": "student"}
    return student


def _is_student_edition(path: Path) -> bool:
    import json

    try:
        return json.loads(path.read_text(encoding="utf-8"))["metadata"][EDITION_KEY]["edition"] == "student"
    except (OSError, ValueError, KeyError, TypeError):
        return False


def write_student_edition(notebooks: list[Path], out: Path) -> list[Path]:
    """Write the student edition of each notebook into the folder ``out``; return the new files.

    ``out`` may not be the folder of the teacher notebooks, and a file there that is not a student
    edition written earlier is never overwritten (``ValueError`` names it).
    """
    import nbformat

    out = Path(out)
    sources = {Path(p).resolve().parent for p in notebooks}
    if out.resolve() in sources:
        raise ValueError(f"{out} holds the teacher edition; write the student edition to another folder")
    clashes = [out / p.name for p in notebooks if (out / p.name).exists() and not _is_student_edition(out / p.name)]
    if clashes:
        raise ValueError(f"{', '.join(map(str, clashes))} exist(s) and is not a student edition written by "
                         "`course.py student`; choose an empty folder")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in notebooks:
        notebook = nbformat.read(path, as_version=4)
        nbformat.write(nbformat.from_dict(student_edition(notebook)), out / Path(path).name)
        written.append(out / Path(path).name)
    return written


def grading_cells(teacher: dict, submission: dict) -> tuple[list[dict], dict[str, str]]:
    """The cells that grade a submission: the teacher's setup and test cells (hidden tests kept)
    around the student's solution cells, matched by ``grade_id``.

    Returns the cells and, per exercise, a problem found before running (a solution cell missing
    from the submission). Everything else in the submission is ignored: students cannot change
    the tests, and the notebook's long demonstrations do not have to run again.
    """
    submitted = {nbgrader(c).get("grade_id"): c for c in submission.get("cells", []) if is_solution(c)}
    cells, problems = [], {}
    for cell in teacher["cells"]:
        if is_setup(cell) or is_test(cell):
            cells.append(copy.deepcopy(cell))
        elif is_solution(cell):
            grade_id = nbgrader(cell)["grade_id"]
            if grade_id in submitted:
                cells.append(copy.deepcopy(submitted[grade_id]))
            else:
                problems[grade_id] = (f"the answer cell '{grade_id}' is missing from the submission "
                                      "(deleted, or its cell metadata was removed)")
    return cells, problems


def defined_names(text: str) -> list[str]:
    """The top-level function names a solution cell defines (for messages about missing answers)."""
    return re.findall(r"^def\s+(\w+)\s*\(", text, flags=re.MULTILINE)


__all__ = [
    "BEGIN_HIDDEN", "BEGIN_SOLUTION", "END_HIDDEN", "END_SOLUTION", "Exercise", "SETUP_TAG", "STUB",
    "defined_names", "exercises", "grading_cells", "is_setup", "is_solution", "is_test", "source",
    "strip_hidden_tests", "strip_solution", "student_edition", "write_student_edition",
]
