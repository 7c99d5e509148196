"""``python -m course_gen.homework student OUT`` and ``… grade SUBMISSIONS [--out DIR]``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from course_gen.notebook_runner import NOTEBOOK_DIR, course_notebooks


def student(args) -> int:
    from course_gen.homework.editions import write_student_edition

    written = write_student_edition(course_notebooks(args.notebooks), args.out)
    print(f"wrote the student edition of {len(written)} notebooks to {args.out}")
    return 0


def grade(args) -> int:
    from course_gen.homework.grading import grade_class, write_reports

    started = time.perf_counter()
    grades = grade_class(args.submissions, course_notebooks(args.notebooks), timeout=args.timeout,
                         cell_timeout=args.cell_timeout, jobs=args.jobs, progress=not args.quiet)
    paths = write_reports(grades, args.out)
    students = len({g.student for g in grades})
    notebooks = len({(g.student, g.notebook) for g in grades})
    seconds = time.perf_counter() - started
    print(f"graded {students} students, {notebooks} notebooks in {seconds:.0f} s "
          f"({seconds / max(notebooks, 1):.1f} s per notebook); wrote {paths['grades']}, {paths['totals']} "
          f"and {paths['feedback']}/")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_gen.homework", description=__doc__)
    parser.add_argument("--notebooks", type=Path, default=NOTEBOOK_DIR, help="the teacher edition (default: the course's)")
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("student", help="write the student edition (no solutions, no hidden tests) to OUT")
    make.add_argument("out", type=Path)
    make.set_defaults(run=student)
    marks = commands.add_parser("grade", help="grade SUBMISSIONS/<student>/<notebook>.ipynb into grades.csv")
    marks.add_argument("submissions", type=Path)
    marks.add_argument("--out", type=Path, default=Path("grades"), help="where grades.csv goes (default: ./grades)")
    marks.add_argument("--timeout", type=float, default=300, help="seconds per notebook (default 300)")
    marks.add_argument("--cell-timeout", type=float, default=60, help="seconds per cell (default 60)")
    marks.add_argument("--jobs", type=int, default=None, help="notebooks graded at once (default: CPU count)")
    marks.add_argument("--quiet", action="store_true", help="no progress bar")
    marks.set_defaults(run=grade)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
