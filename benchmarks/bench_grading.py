"""Grading a class with ``course.py grade``: seconds per submitted notebook, and a whole class.

A class of ``COURSE_GEN_BENCH_STUDENTS`` students (default 30) hands in every notebook that has
exercises: every other student the teacher edition (all answers right), the others the student edition
(nothing attempted). The reference is one grading process that runs only ``import course_gen`` (process
start, imports, the sandbox): what every submission costs before its first exercise.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from course_gen.homework.editions import exercises, student_edition
from course_gen.homework.grading import _run_sandbox, grade_class, grade_notebook
from course_gen.notebook_runner import course_notebooks

try:  # run by benchmarks/run.py, which puts this folder on sys.path
    from run import print_table
except ImportError:  # pragma: no cover - imported some other way
    from benchmarks.run import print_table


def reference_seconds() -> float:
    setup = {"cell_type": "code", "metadata": {"tags": ["homework-setup"]}, "source": "import course_gen"}
    start = time.perf_counter()
    _run_sandbox([setup], timeout=120, cell_timeout=120)
    return time.perf_counter() - start


def grading_table() -> None:
    students = int(os.environ.get("COURSE_GEN_BENCH_STUDENTS", "30"))
    teachers = {p.name: json.loads(p.read_text()) for p in course_notebooks()}
    teachers = {name: nb for name, nb in teachers.items() if exercises(nb)}
    reference = reference_seconds()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for name, teacher in teachers.items():
            for edition, notebook in (("teacher", teacher), ("student", student_edition(teacher))):
                (root / edition).mkdir(exist_ok=True)
                (root / edition / name).write_text(json.dumps(notebook))
            times = {}
            for edition in ("teacher", "student"):
                start = time.perf_counter()
                grades = grade_notebook(edition, name, teacher, root / edition / name)
                times[edition] = time.perf_counter() - start
                assert sum(g.points for g in grades) == (sum(g.max_points for g in grades) if edition == "teacher" else 0)
            rows.append([name, len(exercises(teacher)), times["teacher"], times["student"], times["teacher"] / reference])
        print_table(f"Grading one submitted notebook (s, one process each); reference = sandbox start + "
                    f"import course_gen, {reference:.2f} s", ["notebook", "exercises", "all right s",
                                                             "none attempted s", "all right / ref"], rows)
        for k in range(students):
            edition = "teacher" if k % 2 == 0 else "student"
            (root / "class" / f"student{k:02d}").mkdir(parents=True)
            for name in teachers:
                (root / "class" / f"student{k:02d}" / name).write_text((root / edition / name).read_text())
        jobs = os.cpu_count() or 1
        start = time.perf_counter()
        grades = grade_class(root / "class", course_notebooks(), jobs=jobs, progress=False)
        seconds = time.perf_counter() - start
    notebooks = students * len(teachers)
    print_table(f"A class: {students} students x {len(teachers)} notebooks, {jobs} at once",
                ["notebooks", "rows", "wall s", "s per notebook", "median s per notebook (1 process)"],
                [[notebooks, len(grades), seconds, seconds / notebooks,
                  statistics.median([r[2] for r in rows] + [r[3] for r in rows])]])


TABLES = {"grading": grading_table}
