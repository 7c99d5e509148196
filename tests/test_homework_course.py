"""The course's own homework: the teacher edition earns full marks, the student edition 0 and runs clean,
a planted mistake in each notebook comes back with its checker's message, and nbgrader accepts the source."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from course_gen.homework import editions
from course_gen.homework.grading import grade_class, write_reports
from course_gen.notebook_runner import course_notebooks, execute_notebook

GRADED = [p for p in course_notebooks() if editions.exercises(json.loads(p.read_text(encoding="utf-8")))]

#: notebook -> (exercise, a wrong body for its solution region, a phrase of the checker's message)
PLANTED = {
    "01_sparse_coding.ipynb": ("01-dictionary-update", "return torch.linalg.lstsq(A, X).solution",
                               "the atoms are not unit norm"),
    "02_autoencoders.ipynb": ("02-bce-loss", "p = x_hat.clamp(1e-7, 1 - 1e-7)\n"
                              "return -(x * torch.log(p) + (1 - x) * torch.log(1 - p)).mean()", "averaged over the pixels"),
    "03_pixelcnn_blind_spot.ipynb": ("03-made-mask", "return (degrees_out[:, None] >= degrees_in[None, :]).float()",
                                     "STRICT inequality"),
    "04_change_of_variables.ipynb": ("04-coupling-log-det", "return s.flatten(1).sum(1)", "the mask is missing"),
    "05_elbo.ipynb": ("05-gaussian-kl", "return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).mean(dim=1)",
                      "averaged over the latent dimensions"),
    "06_gan_minimax_jsd.ipynb": ("06-generator-loss", "return torch.log(1 - d_fake).mean()", "SATURATING loss"),
    "07_evaluation_metrics.ipynb": ("07-inception-score", "marginal = probs.mean(dim=0, keepdim=True).expand_as(probs)\n"
                                    "kl = (torch.xlogy(marginal, marginal) - torch.xlogy(marginal, probs)).sum(dim=1)\n"
                                    "return float(torch.exp(kl.mean()))", "wrong direction"),
    "08_diffusion_and_flow_matching.ipynb": ("08-q-sample", "abar = torch.cumprod(1 - betas, dim=0)[t - 1]"
                                             ".reshape(-1, *[1] * (x0.dim() - 1))\nreturn abar * x0 + (1 - abar) * noise",
                                             "square roots are missing"),
}


def plant(notebook: dict, grade_id: str, body: str) -> dict:
    """A copy of ``notebook`` whose solution region for ``grade_id`` holds ``body`` instead."""
    planted = json.loads(json.dumps(notebook))
    for cell in planted["cells"]:
        if editions.is_solution(cell) and editions.nbgrader(cell)["grade_id"] == grade_id:
            lines = editions.source(cell).splitlines()
            begin = next(i for i, line in enumerate(lines) if line.strip() == editions.BEGIN_SOLUTION)
            end = next(i for i, line in enumerate(lines) if line.strip() == editions.END_SOLUTION)
            indent = lines[begin][: len(lines[begin]) - len(lines[begin].lstrip())]
            cell["source"] = "\n".join(lines[:begin] + [indent + b for b in body.splitlines()] + lines[end + 1:])
            return planted
    raise KeyError(f"no solution cell {grade_id}")


def test_every_graded_notebook_has_a_planted_mistake():
    assert sorted(PLANTED) == sorted(p.name for p in GRADED)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("course_class")
    for path in GRADED:
        teacher = json.loads(path.read_text(encoding="utf-8"))
        grade_id, body, _ = PLANTED[path.name]
        for student, notebook in (("teacher", teacher), ("student", editions.student_edition(teacher)),
                                  ("planted", plant(teacher, grade_id, body))):
            (root / "submissions" / student).mkdir(parents=True, exist_ok=True)
            (root / "submissions" / student / path.name).write_text(json.dumps(notebook), encoding="utf-8")
    grades = grade_class(root / "submissions", GRADED, timeout=240, cell_timeout=60, jobs=2, progress=False)
    write_reports(grades, root / "out")
    return list(csv.DictReader(open(root / "out" / "grades.csv", encoding="utf-8")))


def test_teacher_edition_gets_full_marks(graded):
    rows = [r for r in graded if r["student"] == "teacher"]
    assert len(rows) >= 4 * len(GRADED)
    wrong = [(r["notebook"], r["exercise"], r["feedback"]) for r in rows if r["points"] != r["max_points"]]
    assert not wrong, wrong


def test_student_edition_gets_zero(graded):
    rows = [r for r in graded if r["student"] == "student"]
    assert rows and all(float(r["points"]) == 0 for r in rows)
    assert all("not attempted" in r["feedback"] for r in rows), [r["feedback"] for r in rows]


@pytest.mark.parametrize("name", sorted(PLANTED))
def test_planted_mistake_gets_its_checkers_message(graded, name):
    grade_id, _, phrase = PLANTED[name]
    rows = {r["exercise"]: r for r in graded if r["student"] == "planted" and r["notebook"] == name}
    assert float(rows[grade_id]["points"]) == 0 and phrase in rows[grade_id]["feedback"], rows[grade_id]
    others = [r for gid, r in rows.items() if gid != grade_id and r["points"] != r["max_points"]]
    assert not others, others


@pytest.mark.parametrize("path", GRADED, ids=lambda p: p.stem)
def test_student_edition_runs_top_to_bottom(path, tmp_path):
    """Every cell runs (fast mode); each exercise says "not attempted yet" and the notebook goes on."""
    (written,) = editions.write_student_edition([path], tmp_path)
    execute_notebook(written, fast=True, write=True)
    notebook = json.loads(written.read_text(encoding="utf-8"))
    tests = [c for c in notebook["cells"] if editions.is_test(c)]
    printed = ["".join("".join(o.get("text", "")) for o in c["outputs"]) for c in tests]  # one text per cell
    assert len(printed) == len(tests) and all("not attempted yet" in text for text in printed), printed


def test_nbgrader_releases_a_course_notebook_without_its_solutions(tmp_path):
    pytest.importorskip("nbgrader")
    path = GRADED[0]
    teacher = json.loads(path.read_text(encoding="utf-8"))
    (tmp_path / "source" / "ps1").mkdir(parents=True)
    (tmp_path / "source" / "ps1" / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", "ps1", f"--CourseDirectory.root={tmp_path}",
                    f"--CourseDirectory.db_url=sqlite:///{tmp_path / 'gradebook.db'}"], check=True, env=env,
                   cwd=tmp_path, capture_output=True)
    released = (tmp_path / "release" / "ps1" / path.name).read_text(encoding="utf-8")
    solution_lines = set()
    for exercise in editions.exercises(teacher):
        text = editions.source(teacher["cells"][exercise.solution_cell])
        region = text.split(editions.BEGIN_SOLUTION, 1)[1].split(editions.END_SOLUTION, 1)[0]
        solution_lines |= {line.strip() for line in region.splitlines() if len(line.strip()) > 12}
    assert solution_lines, "found no solution text to look for"
    leaked = [line for line in solution_lines if json.dumps(line)[1:-1] in released]
    assert not leaked, f"nbgrader's release contains solution lines: {leaked}"
    assert "BEGIN HIDDEN TESTS" not in released and "YOUR CODE HERE" in released
