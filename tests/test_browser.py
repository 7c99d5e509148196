"""Widgets render and redraw in a real JupyterLab, driven by a headless Chromium.

The widget tests elsewhere set ``control.value`` in Python; this one checks the whole round
trip a student sees: the front end shows the widget's picture, a click on a control goes to the
kernel, and the redrawn picture comes back to the page. It needs Chromium (Debian's
``chromium``) and Playwright; without them it skips, unless ``COURSE_GEN_BROWSER_TESTS=1``
(CI sets it after installing Chromium), when it fails instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil

import pytest

from lab_server import LAB_TOKEN, running_lab, skip_without_jupyter

REQUIRED = os.environ.get("COURSE_GEN_BROWSER_TESTS", "") == "1"
TIMEOUT_MS = int(os.environ.get("COURSE_GEN_BROWSER_TIMEOUT_MS", 120_000))  # a cold kernel on a busy 2-core machine


def chromium_path() -> str:
    path = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
    if path is None:
        if REQUIRED:
            pytest.fail("COURSE_GEN_BROWSER_TESTS=1 but no chromium executable is on PATH")
        pytest.skip("no chromium executable on PATH (apt-get install chromium)")
    return path


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


CELLS = [
    "from course_gen.widgets import gan_playground, mask_viewer\nviewer = mask_viewer()\nviewer",
    "print('ordering is', viewer.ordering.value)",
    "playground = gan_playground(steps_per_click=20)\nplayground",
    "print('steps done:', playground.playground.steps_done)",
]


@pytest.fixture(scope="module")
def notebook_page(tmp_path_factory):
    """A JupyterLab page showing a notebook of ``CELLS``, its kernel connected and idle."""
    executable = chromium_path()
    skip_without_jupyter()
    folder = tmp_path_factory.mktemp("lab")
    name = write_notebook(folder, CELLS)
    with running_lab(folder) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable,
                                             args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(f"{base}/lab/tree/{name}?token={LAB_TOKEN}")
            page.locator(".jp-Notebook").wait_for()
            # The status bar says "Idle" once the kernel is connected (not merely started).
            page.locator(".jp-StatusBar-Widget", has_text=re.compile(r"\| Idle")).first.wait_for()
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
    """The widget picture of cell ``cell`` once it is decoded and drawn (not a broken image)."""
    picture = page.locator(".jp-Cell").nth(cell).locator("img.widget-image").first
    picture.wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth > 100", arg=picture.element_handle())
    return picture


def wait_for_redraw(page, picture, before: str) -> None:
    page.wait_for_function("([img, before]) => img.src !== before && img.complete && img.naturalWidth > 100",
                           arg=[picture.element_handle(), before])


def test_mask_viewer_renders_and_redraws_in_jupyterlab(notebook_page, tmp_path):
    page = notebook_page
    with screenshot_on_failure(page, tmp_path / "failure.png"):
        run_cell(page, 0)
        picture = shown_picture(page, 0)
        assert page.get_by_text("Error displaying widget").count() == 0
        before = picture.get_attribute("src")

        page.locator(".jp-Cell").nth(0).locator("button.widget-toggle-button", has_text="random").click()
        wait_for_redraw(page, picture, before)

        # The click reached the kernel: the control's value there changed too.
        run_cell(page, 1)
        page.get_by_text("ordering is random").wait_for()


def test_gan_playground_step_button_trains_and_redraws(notebook_page, tmp_path):
    page = notebook_page
    with screenshot_on_failure(page, tmp_path / "failure.png"):
        run_cell(page, 2)
        picture = shown_picture(page, 2)
        before = picture.get_attribute("src")

        page.locator(".jp-Cell").nth(2).locator("button", has_text="step").first.click()
        wait_for_redraw(page, picture, before)

        run_cell(page, 3)
        page.get_by_text("steps done: 20").wait_for()
