"""Execute the course notebooks from Python: refresh committed outputs, time fast and full runs.

Used by ``python3 course.py execute`` (re-run notebooks in place so the committed outputs are
current) and by ``benchmarks/run.py`` (execution times). Needs nbclient (the ``test`` extra).
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"


def course_notebooks(directory: Path = NOTEBOOK_DIR) -> list[Path]:
    """The course notebooks in order (``00_tour.ipynb``, ``01_…``, …)."""
    return sorted(p for p in Path(directory).glob("[0-9][0-9]_*.ipynb"))


@contextmanager
def environment(**variables: str):
    """Set environment variables (inherited by the kernel) for the duration of the block."""
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def execute_notebook(path: Path, fast: bool, write: bool = False, timeout: int = 900) -> float:
    """Run every cell of the notebook at ``path`` in a fresh kernel; return the seconds it took.

    ``fast`` sets ``COURSE_GEN_FAST`` for the kernel. ``write=True`` saves the executed
    notebook (outputs included) back to ``path``. A failing cell raises nbclient's
    ``CellExecutionError`` naming the cell.
    """
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no notebook at {path}")
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    with environment(COURSE_GEN_FAST="1" if fast else "0", TQDM_DISABLE="1"):
        start = time.perf_counter()
        client.execute()
        seconds = time.perf_counter() - start
    if write:
        nbformat.write(notebook, path)
    return seconds
