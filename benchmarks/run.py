"""Course benchmarks: each prints a table; speed goals are read off these, never asserted in tests.

    .venv/bin/python benchmarks/run.py                 # every table
    .venv/bin/python benchmarks/run.py notebooks       # one table
    .venv/bin/python benchmarks/run.py notebooks --only 00_tour

Tables come from this file and from every ``benchmarks/bench_*.py`` module, which defines
``TABLES = {"name": function}``; each function prints its table with :func:`print_table`.

Times are wall-clock seconds on the machine that runs this. Each table also gives ratios
against a reference measured in the same run, so numbers from different machines compare.
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import torch

from course_gen.notebook_runner import course_notebooks, execute_notebook


def best_time(fn, repeats: int = 3) -> tuple[float, object]:
    """The best of ``repeats`` wall-clock times of ``fn()`` in seconds, and its last result."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def print_table(title: str, header: list[str], rows: list[list]) -> None:
    cells = [[str(c) for c in header]] + [[f"{c:.2f}" if isinstance(c, float) else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    print(f"\n## {title}\n")
    for k, row in enumerate(cells):
        print("| " + " | ".join(c.ljust(width) for c, width in zip(row, widths)) + " |")
        if k == 0:
            print("| " + " | ".join("-" * width for width in widths) + " |")


def reference_notebook_seconds() -> float:
    """The reference: a notebook that only starts a kernel and imports course_gen."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import course_gen")])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "00_reference.ipynb"
        nbformat.write(notebook, path)
        return execute_notebook(path, fast=True)


def notebooks_table(only: str | None = None) -> None:
    """Execution time of each notebook in fast (CI) and full (teacher) mode."""
    reference = reference_notebook_seconds()
    rows = []
    for path in course_notebooks():
        if only and only not in path.name:
            continue
        fast = execute_notebook(path, fast=True)
        full = execute_notebook(path, fast=False)
        rows.append([path.stem, fast, full, fast / reference, full / reference, full / fast])
    print_table(
        f"Notebook execution time (s); reference = kernel start + import, {reference:.2f} s",
        ["notebook", "fast s", "full s", "fast / ref", "full / ref", "full / fast"],
        rows,
    )


def all_tables() -> dict:
    """This file's table plus the ``TABLES`` of every ``bench_*.py`` module beside it."""
    tables = {"notebooks": notebooks_table}
    for path in sorted(Path(__file__).parent.glob("bench_*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        tables.update(module.TABLES)
    return tables


def main(argv: list[str]) -> None:
    tables = all_tables()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tables", nargs="*", help=f"tables to print, of {', '.join(tables)} (default: all)")
    parser.add_argument("--only", help="only notebooks whose file name contains this")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.tables) - set(tables))
    if unknown:
        parser.error(f"unknown table(s) {', '.join(unknown)}; choose from {', '.join(tables)}")
    print(f"python {platform.python_version()}, torch {torch.__version__}, {platform.machine()}, "
          f"{torch.get_num_threads()} threads, cuda: {torch.cuda.is_available()}")
    for name in args.tables or tables:
        tables[name](**({"only": args.only} if name == "notebooks" else {}))


if __name__ == "__main__":
    main(sys.argv[1:])
