"""The homework machinery on a small teacher notebook: editions, and a class with every kind of bad submission.

The course's own notebooks are graded in tests/test_homework_course.py.
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest

from course_gen.homework import editions
from course_gen.homework.grading import grade_class, write_reports

SOLUTION = "    return torch.sign(z) * torch.clamp(z.abs() - t, min=0)"


def cell(text: str, nbgrader: dict | None = None, tags: list[str] | None = None, kind: str = "code") -> dict:
    metadata = {"nbgrader": nbgrader} if nbgrader else {}
    if tags:
        metadata["tags"] = tags
    made = {"cell_type": kind, "id": hashlib.md5(text.encode()).hexdigest()[:8], "metadata": metadata, "source": text}
    if kind == "code":
        made.update(outputs=[{"output_type": "stream", "name": "stdout", "text": "old output\n"}], execution_count=3)
    return made


def solution_cell(grade_id: str, body: str) -> dict:
    meta = {"grade": False, "grade_id": grade_id, "locked": False, "schema_version": 3, "solution": True, "task": False}
    return cell(body, meta)


def checker_cell(grade_id: str, call: str, points: float) -> dict:
    meta = {"grade": True, "grade_id": grade_id + "-test", "locked": True, "points": points, "schema_version": 3,
            "solution": False, "task": False}
    return cell(f"feedback = {call}\nprint(feedback)\n### BEGIN HIDDEN TESTS\nassert feedback, feedback.message\n"
                "### END HIDDEN TESTS\n", meta)


def teacher_notebook() -> dict:
    cells = [
        cell("# A toy assignment\n", kind="markdown"),
        cell("import torch\nfrom course_gen.exercises import check_soft_threshold\nfrom course_gen.exercises._feedback import check_choice\n",
             tags=["homework-setup"]),
        cell("slow_demonstration = sum(range(10))  # the grader skips cells like this one\n"),
        solution_cell("99-soft", f'def soft_threshold(z, t):\n    """sign(z) max(|z| - t, 0)"""\n    ### BEGIN SOLUTION\n'
                                 f"{SOLUTION}\n    ### END SOLUTION\n"),
        checker_cell("99-soft", "check_soft_threshold(soft_threshold)", 2),
        solution_cell("99-question", "def which():\n    ### BEGIN SOLUTION\n    return 'B'\n    ### END SOLUTION\n"),
        checker_cell("99-question", "check_choice('toy question', which, {'A': 'a', 'B': 'b'}, 'B', {'A': 'A is wrong'})", 1),
    ]
    return {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                          "language": "python"}}, "nbformat": 4, "nbformat_minor": 5}


@pytest.fixture()
def course(tmp_path) -> Path:
    folder = tmp_path / "teacher"
    folder.mkdir()
    (folder / "99_toy.ipynb").write_text(json.dumps(teacher_notebook(), indent=1))
    return folder


# ----------------------------------------------------------------------------- editions


def test_exercises_pair_solution_and_test_cells():
    found = editions.exercises(teacher_notebook())
    assert [(e.grade_id, e.points, e.solution_cell, e.test_cell) for e in found] == [
        ("99-soft", 2.0, 3, 4), ("99-question", 1.0, 5, 6)]


def test_inconsistent_teacher_edition_is_refused():
    notebook = teacher_notebook()
    del notebook["cells"][3]  # the solution of 99-soft
    with pytest.raises(ValueError, match="needs a solution cell with grade_id '99-soft'"):
        editions.exercises(notebook)
    notebook = teacher_notebook()
    notebook["cells"][4]["metadata"]["nbgrader"]["points"] = 0
    with pytest.raises(ValueError, match="positive points"):
        editions.exercises(notebook)


def test_student_edition_strips_solutions_hidden_tests_and_outputs():
    teacher = teacher_notebook()
    before = json.dumps(teacher)
    student = editions.student_edition(teacher)
    assert json.dumps(teacher) == before, "the teacher notebook was changed"
    text = json.dumps(student)
    for secret in ("torch.clamp", "return 'B'", "BEGIN SOLUTION", "HIDDEN TESTS", "assert feedback"):
        assert secret not in text
    soft = editions.source(student["cells"][3])
    assert soft.endswith('"""\n    # YOUR CODE HERE\n    raise NotImplementedError()\n')  # indented like the body
    assert editions.source(student["cells"][4]) == "feedback = check_soft_threshold(soft_threshold)\nprint(feedback)\n"
    assert student["cells"][4]["outputs"] == [] and student["cells"][4]["execution_count"] is None
    assert student["cells"][2]["outputs"], "outputs of cells that are not exercises are kept"


def test_unbalanced_or_stray_markers_are_refused():
    with pytest.raises(ValueError, match="without"):
        editions.strip_solution("def f():\n    ### BEGIN SOLUTION\n    return 1\n")
    notebook = teacher_notebook()
    notebook["cells"][2]["source"] = "### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n"  # no nbgrader metadata
    with pytest.raises(ValueError, match="without nbgrader metadata"):
        editions.student_edition(notebook)


def test_student_edition_never_overwrites_the_teacher_edition_or_foreign_files(course, tmp_path):
    notebooks = [course / "99_toy.ipynb"]
    with pytest.raises(ValueError, match="teacher edition"):
        editions.write_student_edition(notebooks, course)
    out = tmp_path / "student"
    out.mkdir()
    (out / "99_toy.ipynb").write_text("a student's own work")
    with pytest.raises(ValueError, match="not a student edition"):
        editions.write_student_edition(notebooks, out)
    assert (out / "99_toy.ipynb").read_text() == "a student's own work"
    (out / "99_toy.ipynb").unlink()
    editions.write_student_edition(notebooks, out)
    editions.write_student_edition(notebooks, out)  # a student edition written earlier is replaced
    assert "YOUR CODE HERE" in (out / "99_toy.ipynb").read_text()


def test_nbgrader_generate_assignment_releases_what_we_release(course, tmp_path):
    """Our teacher edition is a valid nbgrader source, and nbgrader's release equals our student edition."""
    import os
    import subprocess
    import sys

    pytest.importorskip("nbgrader")
    root = tmp_path / "nbgrader_course"
    (root / "source" / "ps1").mkdir(parents=True)
    (root / "source" / "ps1" / "99_toy.ipynb").write_text((course / "99_toy.ipynb").read_text())
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", "ps1", f"--CourseDirectory.root={root}",
                    f"--CourseDirectory.db_url=sqlite:///{root / 'gradebook.db'}"], check=True, env=env, cwd=root,
                   capture_output=True)
    released = json.loads((root / "release" / "ps1" / "99_toy.ipynb").read_text())
    ours = editions.student_edition(teacher_notebook())
    assert [editions.source(c).rstrip() for c in released["cells"]] == [editions.source(c).rstrip() for c in ours["cells"]]


# ----------------------------------------------------------------------------- grading a class


def submissions(root: Path, teacher: dict, canary: Path) -> Path:
    """A class with one student per kind of submission."""
    student = editions.student_edition(teacher)

    def answer(text: str) -> dict:
        notebook = json.loads(json.dumps(teacher))
        notebook["cells"][3]["source"] = text
        return notebook

    malicious = (f"import os, shutil, socket, subprocess\nshutil.rmtree(os.getcwd())\n"
                 f"for attempt in (lambda: os.remove({str(canary)!r}), lambda: open({str(canary)!r}, 'w'),\n"
                 "                lambda: socket.create_connection(('pypi.org', 443)), lambda: subprocess.run(['ls'])):\n"
                 "    try:\n        attempt()\n    except PermissionError as error:\n        print(error)\n"
                 "def soft_threshold(z, t):\n    return torch.sign(z) * torch.clamp(z.abs() - t, min=0)\n")
    tampering = ("from course_gen.exercises import Feedback\ncheck_soft_threshold = lambda f: Feedback('x', True, 'correct')\n"
                 "import course_gen.exercises._feedback as fb\nfb.run_checks = lambda name, checks: Feedback(name, True, 'ok')\n"
                 "def soft_threshold(z, t):\n    return z\n")
    work = {
        "alice": teacher,  # the teacher edition: full marks
        "bob": student,  # untouched student edition
        "carol": answer("import os\nos._exit(3)\n"),  # crashes the process
        "dave": answer("def soft_threshold(z, t):\n    while True:\n        pass\n"),  # loops forever
        "eve": answer(malicious),
        "frank": "this is { not a notebook",
        "henry": answer("import course_gen.sparse_coding as sc\ndef soft_threshold(z, t):\n    return sc.soft_threshold(z, t)\n"),
        "ivan": answer(tampering),
        "judy": answer("def soft_threshold(z, t):\n    return z * (z.abs() > t)\n"),  # a named mistake
        "ken": answer("def soft_threshold(z, t)\n    return z\n"),  # syntax error
        "lea": student | {"cells": student["cells"] + [cell("def soft_threshold(z, t):\n    return z\n")]},
    }
    for name, notebook in work.items():
        (root / name).mkdir(parents=True)
        text = notebook if isinstance(notebook, str) else json.dumps(notebook)
        (root / name / "99_toy.ipynb").write_text(text)
    (root / "grace" / "nested").mkdir(parents=True)  # submitted nothing
    return root


def fingerprint(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*"))
            if p.is_file()}


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    course = root / "teacher"
    course.mkdir()
    (course / "99_toy.ipynb").write_text(json.dumps(teacher_notebook()))
    canary = root / "canary.txt"
    canary.write_text("keep me")
    folder = submissions(root / "submissions", teacher_notebook(), canary)
    before = fingerprint(folder)
    grades = grade_class(folder, [course / "99_toy.ipynb"], timeout=60, cell_timeout=10, jobs=2, progress=False)
    paths = write_reports(grades, root / "out")
    rows = list(csv.DictReader(open(paths["grades"], encoding="utf-8")))
    return {"rows": {(r["student"], r["exercise"]): r for r in rows}, "before": before, "after": fingerprint(folder),
            "canary": canary.read_text(), "out": root / "out", "grades": grades}


def row(graded, student: str, exercise: str = "99-soft") -> dict:
    return graded["rows"][(student, exercise)]


def test_teacher_edition_gets_full_marks_and_student_edition_zero(graded_class):
    assert [row(graded_class, "alice", e)["points"] for e in ("99-soft", "99-question")] == ["2.0", "1.0"]
    bob = [row(graded_class, "bob", e) for e in ("99-soft", "99-question")]
    assert [r["points"] for r in bob] == ["0.0", "0.0"] and all("not attempted" in r["feedback"] for r in bob)


def test_csv_columns_and_feedback_files(graded_class):
    header = (graded_class["out"] / "grades.csv").read_text().splitlines()[0]
    assert header == "student,notebook,exercise,points,max_points,feedback"
    alice = (graded_class["out"] / "feedback" / "alice.md").read_text()
    assert "Total: 3 of 3 points" in alice and "99-question (1/1): correct" in alice
    judy = (graded_class["out"] / "feedback" / "judy.md").read_text()
    assert "hard thresholding" in judy


def test_crash_loop_and_syntax_error_are_contained(graded_class):
    assert "exit code 3" in row(graded_class, "carol")["feedback"]
    dave = row(graded_class, "dave")
    assert dave["points"] == "0.0" and "limit of 10 s" in dave["feedback"]
    assert row(graded_class, "dave", "99-question")["points"] == "1.0", "the loop cost only its own exercise"
    assert "SyntaxError" in row(graded_class, "ken")["feedback"]
    assert row(graded_class, "ken", "99-question")["points"] == "1.0"


def test_an_answer_in_a_cell_of_its_own_gets_a_hint(graded_class):
    lea = row(graded_class, "lea")
    assert lea["points"] == "0.0" and "not attempted" in lea["feedback"] and "move your code there" in lea["feedback"]


def test_not_a_notebook_and_missing_submissions_get_zero_with_the_reason(graded_class):
    assert "not a notebook" in row(graded_class, "frank")["feedback"]
    assert row(graded_class, "grace")["feedback"] == "not submitted"
    assert row(graded_class, "grace")["max_points"] == "2.0"


def test_malicious_submission_is_contained(graded_class):
    eve = row(graded_class, "eve")
    assert eve["points"] == "2.0", f"deleting its own working copy is harmless: {eve['feedback']}"
    assert graded_class["canary"] == "keep me"
    assert graded_class["before"] == graded_class["after"], "grading changed the submitted files"


def test_delegating_and_tampering_answers_earn_nothing(graded_class):
    henry = row(graded_class, "henry")
    assert henry["points"] == "0.0" and "does the whole exercise" in henry["feedback"]
    ivan = row(graded_class, "ivan")
    assert ivan["points"] == "0.0" and "is off" in ivan["feedback"]
    judy = row(graded_class, "judy")
    assert judy["points"] == "0.0" and "hard thresholding" in judy["feedback"]
