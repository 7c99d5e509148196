"""The notebook runner executes in a fresh kernel with the requested mode and saves outputs."""

from __future__ import annotations

import nbformat
import pytest

from course_gen.notebook_runner import NOTEBOOK_DIR, course_notebooks, execute_notebook


def test_course_notebooks_are_found_in_order():
    names = [p.name for p in course_notebooks()]
    assert names and names[0] == "00_tour.ipynb"
    assert names == sorted(names)


@pytest.mark.parametrize("fast", [True, False])
def test_execute_sets_the_mode_and_writes_outputs(tmp_path, fast):
    path = tmp_path / "01_probe.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import course_gen; print(course_gen.FAST)")]), path)
    seconds = execute_notebook(path, fast=fast, write=True)
    assert seconds > 0
    (cell,) = nbformat.read(path, as_version=4).cells
    assert cell.outputs[0]["text"].strip() == str(fast)


def test_missing_notebook_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no notebook at"):
        execute_notebook(tmp_path / "nope.ipynb", fast=True)


def test_committed_notebooks_are_executed_and_small():
    for path in course_notebooks(NOTEBOOK_DIR):
        notebook = nbformat.read(path, as_version=4)
        code_cells = [c for c in notebook.cells if c.cell_type == "code"]
        assert all(c.execution_count for c in code_cells), f"{path.name} has unexecuted cells"
        assert path.stat().st_size < 3_000_000, f"{path.name} is {path.stat().st_size} bytes"  # figures at 28x28 digits
