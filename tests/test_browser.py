"""Widgets render and redraw in a real JupyterLab, driven by a headless Chromium.

The widget tests elsewhere set ``control.value`` in Python; this one checks the whole round
trip a student sees: the front end shows the widget's picture, a click on a control goes to the
kernel, and the redrawn picture comes back to the page. It needs Chromium (Debian's
``chromium``) and Playwright; without them it skips, unless ``COURSE_GEN_BROWSER_TESTS=1``
(CI sets it after installing Chromium), when it fails instead.
"""

from __future__ import annotations

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


def picture_source(page) -> str:
    return page.locator("img.widget-image").first.get_attribute("src") or ""


def test_mask_viewer_renders_and_redraws_in_jupyterlab(tmp_path):
    executable = chromium_path()
    skip_without_jupyter()
    name = write_notebook(tmp_path, [
        "from course_gen.widgets import mask_viewer\nviewer = mask_viewer()\nviewer",
        "print('ordering is', viewer.ordering.value)",
    ])
    with running_lab(tmp_path) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable,
                                             args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(f"{base}/lab/tree/{name}?token={LAB_TOKEN}")
            page.locator(".jp-Notebook").wait_for()
            # The status bar says "Idle" once the kernel is connected (not merely started).
            page.locator(".jp-StatusBar-Widget", has_text=re.compile(r"\| Idle")).first.wait_for()

            page.locator(".jp-Cell").first.click()
            page.keyboard.press("Escape")  # command mode: Shift+Enter runs the cell and moves on
            page.keyboard.press("Shift+Enter")

            picture = page.locator("img.widget-image").first
            picture.wait_for()
            page.wait_for_function(
                "() => (document.querySelector('img.widget-image')?.naturalWidth ?? 0) > 100")
            before = picture_source(page)
            assert page.get_by_text("Error displaying widget").count() == 0

            page.locator("button.widget-toggle-button", has_text="random").click()
            page.wait_for_function(
                "before => document.querySelector('img.widget-image').src !== before", arg=before)
            page.wait_for_function(
                "() => (document.querySelector('img.widget-image')?.naturalWidth ?? 0) > 100")

            # The click reached the kernel: the control's value there changed too.
            page.locator(".jp-Cell").nth(1).click()
            page.keyboard.press("Escape")
            page.keyboard.press("Shift+Enter")
            page.get_by_text("ordering is random").wait_for()
        except Exception:
            page.screenshot(path=str(tmp_path / "failure.png"))
            print("screenshot of the failure:", tmp_path / "failure.png")
            raise
        finally:
            browser.close()
