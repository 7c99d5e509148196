"""Every public widget renders and redraws in a real JupyterLab, driven by a headless Chromium.

The widget tests elsewhere set ``control.value`` in Python; this one checks the whole round
trip a student sees: the front end shows the widget's picture (no "Error displaying widget"), a
click on a control or a slider moved with the keyboard goes to the kernel, and the redrawn picture
comes back to the page. One JupyterLab, one page and one notebook serve all widgets (:data:`WIDGETS`,
small inputs built in the cells); a guard test keeps the table in step with ``course_gen.widgets``.
It needs Chromium (Debian's ``chromium``) and Playwright; without them it skips, unless
``COURSE_GEN_BROWSER_TESTS=1`` (CI sets it after installing Chromium), when it fails instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from dataclasses import dataclass

import pytest

from lab_server import LAB_TOKEN, running_lab, skip_without_jupyter

from course_gen.labsetup import SETTINGS_DIR

REQUIRED = os.environ.get("COURSE_GEN_BROWSER_TESTS", "") == "1"
TIMEOUT_MS = int(os.environ.get("COURSE_GEN_BROWSER_TIMEOUT_MS", 120_000))  # a cold kernel on a busy 2-core machine


def chromium_path() -> str:
    path = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
    if path is None:
        if REQUIRED:
            pytest.fail("COURSE_GEN_BROWSER_TESTS=1 but no chromium executable is on PATH")
        pytest.skip("no chromium executable on PATH (apt-get install chromium)")
    return path


def launch_chromium(playwright, executable: str, **options):
    """Headless Chromium from ``executable`` (flags a container needs), ``options`` passed to ``launch``."""
    return playwright.chromium.launch(executable_path=executable, args=["--no-sandbox", "--disable-dev-shm-usage"],
                                      **options)


def sync_playwright():
    try:
        from playwright.sync_api import sync_playwright as start
    except ImportError:
        if REQUIRED:
            pytest.fail("COURSE_GEN_BROWSER_TESTS=1 but playwright is not installed")
        pytest.skip("playwright is not installed")
    return start()


def write_notebook(folder, cells: list[str]) -> str:
    notebook = {
        "cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                   "source": source} for source in cells],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }
    (folder / "widget_check.ipynb").write_text(json.dumps(notebook))
    return "widget_check.ipynb"


@dataclass(frozen=True)
class WidgetCase:
    """One public widget in the page: ``build`` (an expression, small inputs from :data:`SETUP`) is shown in a
    cell; a student changes one control, ``control`` = ``(kind, label)``: a click on the button or toggle
    button labelled ``label`` (kind ``"button"``), or ArrowRight on the handle of the slider described by
    ``label`` (kind ``"slider"``); then the kernel must print ``expected`` for ``check`` (``box`` is the widget)."""

    build: str
    control: tuple[str, str]
    check: str
    expected: str


#: The inputs the widgets' cells use: shipped weights and embedded data, as the notebooks load them.
SETUP = """\
import torch
from course_gen import data, diffusion, pretrained, widgets

torch.set_num_threads(1)
digits, labels = data.mnist10k("test")
vae = pretrained.load("vae", "cpu")
codes, _ = vae.encode(digits[:2])
atoms = torch.randn(100, 64, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
"""

#: Every public widget of ``course_gen.widgets`` (test_every_public_widget_is_in_the_browser_table keeps it so).
WIDGETS = {
    "data_browser": WidgetCase("widgets.data_browser(n=16)", ("slider", "seed"), "box.seed.value", "1"),
    "sparse_code_explorer": WidgetCase(
        "widgets.sparse_code_explorer(atoms / atoms.norm(dim=1, keepdim=True), data.patches(20, size=8, seed=0).double())",
        ("slider", "patch"), "box.patch.value", "1"),
    "interpolation": WidgetCase("widgets.interpolation(vae.decode, codes[0], codes[1], x_a=digits[0], x_b=digits[1])",
                                ("button", "spherical"), "box.path.value", "spherical"),
    "latent_explorer": WidgetCase(
        "widgets.latent_explorer(lambda z: vae.decode(torch.cat([z, torch.zeros(len(z), 30)], 1)), "
        "codes=torch.randn(200, 2, generator=torch.Generator().manual_seed(0)), labels=labels[:200])",
        ("slider", "z1"), "box.z1.value > (box.z1.min + box.z1.max) / 2", "True"),
    "mask_viewer": WidgetCase("widgets.mask_viewer()", ("button", "random"), "box.ordering.value", "random"),
    "receptive_field_viewer": WidgetCase("widgets.receptive_field_viewer()", ("button", "5"), "box.kernel_size.value", "5"),
    "coupling_mask_viewer": WidgetCase("widgets.coupling_mask_viewer()", ("slider", "layers"), "box.n_layers.value", "5"),
    "flow_playground": WidgetCase("widgets.flow_playground()", ("button", "radial"), "box.kind.value", "radial"),
    "latent_traversal": WidgetCase("widgets.latent_traversal(vae, digits[:4])", ("slider", "value"),
                                   "round(box.value.value, 3)", "0.15"),
    "gan_playground": WidgetCase("widgets.gan_playground(steps_per_click=20)", ("button", "step"),
                                 "box.playground.steps_done", "20"),
    "damage_explorer": WidgetCase(
        "widgets.damage_explorer(digits[:400], labels[:400], digits[400:800], pretrained.load('mnist_classifier', 'cpu'), "
        "n=100, kid_subsets=2)", ("slider", "severity"), "round(box.severity.value, 2)", "0.4"),
    "diffusion_viewer": WidgetCase("widgets.diffusion_viewer(pretrained.load('ddpm', 'cpu'), (digits[:3] > 0.5).float())",
                                   ("slider", "t"), "box.t.index == len(box.t.options) // 2 + 1", "True"),
    "transport_playground": WidgetCase(
        "widgets.transport_playground(diffusion.shipped_toy('diffusion08_flow'), n=100, steps=10)",
        ("button", "step"), "box.frame.value", "1"),
}
NAMES = list(WIDGETS)
#: Public names of course_gen.widgets that are not widgets (pictures and helpers).
NOT_WIDGETS = {"draw_interpolation", "latent_map", "lerp", "slerp"}


def widget_cells() -> list[str]:
    """The notebook: the set-up, then per widget a cell showing it and a cell printing its check."""
    cells = [SETUP]
    for name, case in WIDGETS.items():
        cells += [f"{name} = {case.build}\n{name}", f"box = {name}\nprint('{name}:', {case.check})"]
    return cells


@pytest.fixture(scope="module")
def notebook_page(tmp_path_factory):
    """A JupyterLab page showing the notebook of :func:`widget_cells`, its kernel connected and its set-up run."""
    executable = chromium_path()
    skip_without_jupyter()
    folder = tmp_path_factory.mktemp("lab")
    name = write_notebook(folder, widget_cells())
    # the course's settings: no news prompt over the widgets
    with running_lab(folder, extra_args=[f"--LabApp.app_settings_dir={SETTINGS_DIR}"]) as base, \
            sync_playwright() as playwright:
        browser = launch_chromium(playwright, executable)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(f"{base}/lab/tree/{name}?token={LAB_TOKEN}")
            page.locator(".jp-Notebook").wait_for()
            # The status bar says "Idle" once the kernel is connected (not merely started).
            page.locator(".jp-StatusBar-Widget", has_text=re.compile(r"\| Idle")).first.wait_for()
            run_cell(page, 0)  # the set-up
            yield page
        finally:
            browser.close()


@contextlib.contextmanager
def screenshot_on_failure(page, path):
    try:
        yield
    except Exception:
        page.screenshot(path=str(path))
        print("screenshot of the failure:", path)
        raise


def run_cell(page, index: int) -> None:
    page.locator(".jp-Cell").nth(index).click()
    page.keyboard.press("Escape")  # command mode: Shift+Enter runs the cell
    page.keyboard.press("Shift+Enter")


def shown_picture(page, cell: int):
    """The widget picture of cell ``cell`` once it is decoded and drawn (not a broken image); fails at once
    if the front end says "Error displaying widget" instead."""
    output = page.locator(".jp-Cell").nth(cell)
    picture, error = output.locator("img.widget-image").first, output.get_by_text("Error displaying widget")
    picture.or_(error).first.wait_for()
    assert error.count() == 0, f"cell {cell}: {output.inner_text()[-2000:]}"
    page.wait_for_function("img => img.complete && img.naturalWidth > 100", arg=picture.element_handle())
    return picture


def wait_for_redraw(page, picture, before: str) -> None:
    page.wait_for_function("([img, before]) => img.src !== before && img.complete && img.naturalWidth > 100",
                           arg=[picture.element_handle(), before])


def change_control(cell, control: tuple[str, str]) -> None:
    """Use a control as a student does: click the (toggle) button, or focus the slider's handle and press
    ArrowRight (one step)."""
    kind, label = control
    if kind == "button":
        cell.locator("button", has_text=re.compile(rf"^\s*{re.escape(label)}\s*$")).first.click()
        return
    slider = cell.locator(".widget-slider", has=cell.page.locator(".widget-label", has_text=re.compile(f"^{re.escape(label)}$")))
    handle = slider.locator(".noUi-handle").first
    handle.focus()
    handle.press("ArrowRight")


@pytest.mark.parametrize("name", NAMES)
def test_widget_renders_and_redraws_in_jupyterlab(notebook_page, tmp_path, name):
    page, case, index = notebook_page, WIDGETS[name], 1 + 2 * NAMES.index(name)
    with screenshot_on_failure(page, tmp_path / "failure.png"):
        run_cell(page, index)
        picture = shown_picture(page, index)
        before = picture.get_attribute("src")

        change_control(page.locator(".jp-Cell").nth(index), case.control)
        wait_for_redraw(page, picture, before)

        # The change reached the kernel: the control's value there changed too.
        run_cell(page, index + 1)
        printed = re.compile(rf"^\s*{re.escape(f'{name}: {case.expected}')}\s*$")
        page.locator(".jp-Cell").nth(index + 1).locator(".jp-OutputArea-output", has_text=printed).wait_for()


def test_every_public_widget_is_in_the_browser_table():
    """A new widget in ``course_gen.widgets.__all__`` must get a row in :data:`WIDGETS` (or be declared no widget)."""
    import typing

    import ipywidgets

    widgets = pytest.importorskip("course_gen.widgets")

    def builds_a_widget(name: str) -> bool:
        returned = typing.get_type_hints(getattr(widgets, name)).get("return")
        return isinstance(returned, type) and issubclass(returned, ipywidgets.Widget)

    public = set(widgets.__all__)
    assert public - NOT_WIDGETS == set(WIDGETS), "every public widget needs a row in WIDGETS (tests/test_browser.py)"
    assert all(builds_a_widget(name) for name in WIDGETS), [name for name in WIDGETS if not builds_a_widget(name)]
    assert not any(builds_a_widget(name) for name in NOT_WIDGETS & public)
