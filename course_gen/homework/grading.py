"""Grade a class: one folder per student, each holding submitted notebooks, into ``grades.csv``.

For every student and every course notebook with exercises, :func:`grade_class`

- reads the submission (never writes to it) and builds the cells that grade it: the teacher's setup and
  test cells around the student's answer cells (:func:`~course_gen.homework.editions.grading_cells`);
- runs them in a fresh working folder, in a process of its own (:mod:`course_gen.homework.sandbox`)
  with a time limit for the notebook and for each cell, fast mode, no network;
- turns what came back into one row per exercise: points, maximum points, the checker's message.

A submission that is missing, is not a notebook, crashes, loops, or tries to delete files gets 0 for
what it could not earn, with the reason, and the rest of the class is still graded.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import astuple, dataclass, fields
from pathlib import Path

from course_gen.homework.editions import Exercise, defined_names, exercises, grading_cells, is_solution, source

MAX_NOTEBOOK_BYTES = 50_000_000
CSV_COLUMNS = ("student", "notebook", "exercise", "points", "max_points", "feedback")


@dataclass(frozen=True)
class Grade:
    """One row of ``grades.csv``."""

    student: str
    notebook: str
    exercise: str
    points: float
    max_points: float
    feedback: str


def assignments(notebooks: list[Path]) -> dict[str, dict]:
    """The teacher notebooks that have exercises, by file name."""
    found = {}
    for path in notebooks:
        notebook = json.loads(Path(path).read_text(encoding="utf-8"))
        if exercises(notebook):
            found[Path(path).name] = notebook
    return found


def _all_zero(student: str, name: str, teacher: dict, reason: str) -> list[Grade]:
    return [Grade(student, name, e.grade_id, 0.0, e.points, reason) for e in exercises(teacher)]


def _read_submission(path: Path) -> dict:
    """The submitted notebook as a dict; ``ValueError`` saying why it is not a notebook."""
    if path.stat().st_size > MAX_NOTEBOOK_BYTES:
        raise ValueError(f"not graded: the file is {path.stat().st_size / 1e6:.0f} MB, larger than a notebook can be")
    try:
        notebook = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"not a notebook: the file is not valid notebook JSON ({error})") from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise ValueError("not a notebook: the JSON has no list of cells")
    return notebook


def _run_sandbox(cells: list[dict], timeout: float, cell_timeout: float) -> tuple[list[dict], str | None]:
    """Run the grading cells in a fresh working folder and process; return the records and, if the
    process did not finish normally, why."""
    scratch = Path(tempfile.mkdtemp(prefix="course_gen_grade_"))
    work, results = scratch / "work", scratch / "results.jsonl"
    work.mkdir()
    (work / "grading.ipynb").write_text(json.dumps({"cells": cells}), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COURSE_GEN_", "JPY_", "JUPYTER_"))}
    env.update(COURSE_GEN_FAST="1", COURSE_GEN_DEVICE="cpu", MPLBACKEND="Agg", TQDM_DISABLE="1", HOME=str(work),
               TMPDIR=str(work), PYTHONDONTWRITEBYTECODE="1", OMP_NUM_THREADS="1", PYTHONHASHSEED="0")
    command = [sys.executable, "-m", "course_gen.homework.sandbox", "grading.ipynb", str(results), str(cell_timeout)]
    problem = None
    with open(scratch / "log.txt", "wb") as log:
        process = subprocess.Popen(command, cwd=work, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        try:
            code = process.wait(timeout=timeout)
            if code != 0:
                tail = (scratch / "log.txt").read_text(errors="replace").strip().splitlines()[-1:] or [""]
                problem = f"the notebook's process stopped with exit code {code} ({tail[0][:200]})"
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()
            problem = f"the notebook ran past the time limit of {timeout:g} s and was stopped"
    records = [json.loads(line) for line in results.read_text().splitlines() if line.strip()] if results.exists() else []
    shutil.rmtree(scratch, ignore_errors=True)
    return records, problem


def _describe(exercise: Exercise, record: dict | None, solution: dict | None, teacher: dict, problem: str | None) -> str:
    """The feedback for one exercise from what the sandbox reported."""
    if record is None:
        return f"not graded: {problem or 'the notebook stopped before this exercise'}"
    message = record.get("message")
    if record.get("error") and (not message or message == "correct"):
        message = f"the check could not run: {record['error']}"
    message = message or "no feedback came back from the checker"
    if not record["passed"] and solution and solution.get("error"):
        names = ", ".join(defined_names(source(teacher["cells"][exercise.solution_cell]))) or "your answer"
        message = f"the cell defining {names} raised {solution['error']}; {message}"
    return message


def _answered_elsewhere(submission: dict, solution: str) -> str:
    """A hint when the student defined the exercise's function in a cell of their own, which the
    grader does not read."""
    names = defined_names(solution)
    for cell in submission.get("cells", []):
        if cell.get("cell_type") == "code" and not is_solution(cell) and set(defined_names(source(cell))) & set(names):
            return (f" (your notebook defines {', '.join(names)} in another cell: the grader reads only the "
                    "answer cell, the one that said # YOUR CODE HERE; move your code there)")
    return ""


def grade_notebook(student: str, name: str, teacher: dict, path: Path | None, timeout: float = 300,
                   cell_timeout: float = 60) -> list[Grade]:
    """Grade one student's notebook ``path`` (``None``: not submitted) against the teacher edition."""
    if path is None:
        return _all_zero(student, name, teacher, "not submitted")
    try:
        submission = _read_submission(path)
    except (OSError, ValueError) as error:
        return _all_zero(student, name, teacher, str(error))
    cells, missing = grading_cells(teacher, submission)
    records, problem = _run_sandbox(cells, timeout, min(cell_timeout, timeout))
    tests = {r["grade_id"]: r for r in records if r["kind"] == "test"}
    solutions = {r["grade_id"]: r for r in records if r["kind"] == "solution"}
    setup_errors = [r["error"] for r in records if r["kind"] == "setup" and r["error"]]
    grades = []
    for exercise in exercises(teacher):
        if exercise.grade_id in missing:
            grades.append(Grade(student, name, exercise.grade_id, 0.0, exercise.points, missing[exercise.grade_id]))
            continue
        record = tests.get(exercise.grade_id + "-test")
        if setup_errors:  # the course's own cells failed: say so rather than blame the answer
            record, problem = None, f"the notebook's setup cell failed ({setup_errors[0]})"
        message = _describe(exercise, record, solutions.get(exercise.grade_id), teacher, problem)
        passed = bool(record and record["passed"])
        if message.startswith("not attempted"):
            message += _answered_elsewhere(submission, source(teacher["cells"][exercise.solution_cell]))
        grades.append(Grade(student, name, exercise.grade_id, exercise.points if passed else 0.0, exercise.points, message))
    return grades


def find_submission(folder: Path, name: str) -> Path | None:
    """The student's file called ``name``, anywhere in their folder (the shallowest one)."""
    matches = sorted((p for p in folder.rglob(name) if p.is_file()), key=lambda p: (len(p.parts), str(p)))
    return matches[0] if matches else None


def grade_class(submissions: Path, notebooks: list[Path], timeout: float = 300, cell_timeout: float = 60,
                jobs: int | None = None, progress: bool = True) -> list[Grade]:
    """Grade every student folder in ``submissions`` on every notebook with exercises."""
    from tqdm.auto import tqdm

    submissions = Path(submissions)
    if not submissions.is_dir():
        raise FileNotFoundError(f"SUBMISSIONS should be a folder with one sub-folder per student, got {submissions}")
    teachers = assignments(notebooks)
    students = sorted(p for p in submissions.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not students:
        raise ValueError(f"{submissions} has no student folders (one sub-folder per student, holding their notebooks)")
    tasks = [(s.name, name, teacher, find_submission(s, name)) for s in students for name, teacher in teachers.items()]
    jobs = jobs or os.cpu_count() or 1
    grades: dict[int, list[Grade]] = {}
    with ThreadPoolExecutor(max_workers=jobs) as pool, tqdm(total=len(tasks), desc="grading", unit="notebook",
                                                            disable=not progress, file=sys.stderr) as bar:
        futures = {pool.submit(grade_notebook, *task, timeout, cell_timeout): i for i, task in enumerate(tasks)}
        for future in as_completed(futures):
            grades[futures[future]] = future.result()
            bar.update(1)
    return [g for i in range(len(tasks)) for g in grades[i]]


def write_reports(grades: list[Grade], out: Path) -> dict[str, Path]:
    """Write ``grades.csv`` (one row per exercise), ``totals.csv`` and ``feedback/STUDENT.md``."""
    out = Path(out)
    (out / "feedback").mkdir(parents=True, exist_ok=True)
    with open(out / "grades.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([f.name for f in fields(Grade)])
        writer.writerows(astuple(g) for g in grades)
    students = sorted({g.student for g in grades})
    with open(out / "totals.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "points", "max_points"])
        for student in students:
            mine = [g for g in grades if g.student == student]
            writer.writerow([student, sum(g.points for g in mine), sum(g.max_points for g in mine)])
    for student in students:
        mine = [g for g in grades if g.student == student]
        lines = [f"# Homework feedback: {student}", "",
                 f"Total: {sum(g.points for g in mine):g} of {sum(g.max_points for g in mine):g} points", ""]
        for notebook in dict.fromkeys(g.notebook for g in mine):
            rows = [g for g in mine if g.notebook == notebook]
            lines += [f"## {notebook}: {sum(g.points for g in rows):g} / {sum(g.max_points for g in rows):g}", ""]
            lines += [f"- {'✔' if g.points == g.max_points else '✘'} {g.exercise} ({g.points:g}/{g.max_points:g}): "
                      f"{g.feedback}" for g in rows]
            lines.append("")
        (out / "feedback" / f"{student}.md").write_text("\n".join(lines), encoding="utf-8")
    return {"grades": out / "grades.csv", "totals": out / "totals.csv", "feedback": out / "feedback"}


__all__ = ["CSV_COLUMNS", "Grade", "assignments", "find_submission", "grade_class", "grade_notebook", "write_reports"]
