"""``python3 course.py lab`` opens ready for class, checked in a headless Chromium.

JupyterLab starts with the arguments ``course.py lab`` gives it (``course_gen.labsetup``), on a
copy of the tour notebook and a notebook whose saved outputs hold the checkers' marks. The page
must show no "official Jupyter news" prompt, must open on the tour notebook, and must draw the
marks U+2714 and U+2718 as glyphs from the course's font, not as the box a missing glyph gets.
Chromium sees only the installed fonts that lack the marks (as on a machine with Liberation fonts
only, where the marks showed as boxes), so that check fails unless the course's font works.
The tour's toolbar button of ``jupyterlab-rise`` must render it as a reveal.js deck, offline,
with the slides and subslides its cells' ``slideshow`` metadata asks for.
Skips without Chromium or Playwright unless ``COURSE_GEN_BROWSER_TESTS=1`` (then it fails).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lab_server import LAB_TOKEN, get_json, running_lab, skip_without_jupyter
from test_browser import TIMEOUT_MS, chromium_path, launch_chromium, sync_playwright

from course_gen.labsetup import TOUR

ROOT = Path(__file__).resolve().parents[1]
MARKS = "marks.ipynb"
NEWS = "official Jupyter news"
#: The README's screenshot is refreshed only on request (COURSE_GEN_SCREENSHOTS=1), as in tests/test_site.py.
SCREENSHOTS = ROOT / "docs" if os.environ.get("COURSE_GEN_SCREENSHOTS") == "1" else None
CURRENT_TAB = "#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current"
#: jupyterlab-rise's toolbar button "Render the current notebook as Reveal Slideshow" (its View menu's item).
RISE_BUTTON = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Toolbar-item[data-jp-item-name='RISE-button'] [data-command='RISE:preview']"
#: Requests that leave this machine (anything but the lab on 127.0.0.1); the slides test refuses them.
EXTERNAL = re.compile(r"^(?!https?://127\.0\.0\.1[:/])[a-z]+://")


def write_marks_notebook(folder: Path) -> None:
    """A notebook saved with a checker's printed feedback and a repr'd ``Feedback``."""
    outputs = [
        {"name": "stdout", "output_type": "stream", "text": ["\u2714 lasso objective: correct\n",
                                                             "\u2718 ISTA step: wrong sign\n"]},
    ]
    notebook = {
        "cells": [{"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": outputs,
                   "source": "print(feedback)"}],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }
    (folder / MARKS).write_text(json.dumps(notebook), encoding="utf-8")


def fonts_without_marks(folder: Path) -> dict[str, str]:
    """Chromium's environment for a machine with no font for U+2714 (only Liberation, say).

    Links every installed font that lacks the mark into ``folder`` and points fontconfig there, so
    the page shows a box unless the course brings its own font. Without ``fc-list``: no change.
    """
    if shutil.which("fc-list") is None:
        return {}
    def files(*pattern: str) -> set[str]:
        listing = subprocess.run(["fc-list", *pattern, "--format", "%{file}\\n"], capture_output=True, text=True)
        return set(filter(None, listing.stdout.splitlines()))
    fonts = folder / "fonts"
    fonts.mkdir()
    for index, font in enumerate(sorted(files() - files(":charset=2714") - files(":charset=2718"))):
        (fonts / f"{index}{Path(font).suffix}").symlink_to(font)
    (folder / "fonts.conf").write_text(
        f'<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig><dir>{fonts}</dir>'
        f'<cachedir>{folder / "cache"}</cachedir></fontconfig>')
    return {"FONTCONFIG_FILE": str(folder / "fonts.conf")}


#: How ``course.py lab`` starts JupyterLab: through the course's launcher, with its settings.
COURSE_LAB = (sys.executable, "-m", "course_gen.labsetup")


@pytest.fixture(scope="module")
def lab_page(tmp_path_factory):
    """A Chromium page on the course's JupyterLab, opened at ``/`` as a student would."""
    executable = chromium_path()
    skip_without_jupyter()
    folder = tmp_path_factory.mktemp("class")
    shutil.copy(ROOT / "notebooks" / TOUR, folder / TOUR)
    write_marks_notebook(folder)
    with running_lab(folder, launcher=COURSE_LAB) as base, sync_playwright() as playwright:
        env = dict(os.environ, **fonts_without_marks(tmp_path_factory.mktemp("fonts")))
        browser = launch_chromium(playwright, executable, env=env)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 700})
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(f"{base}/?token={LAB_TOKEN}")
            # The first tab of the main area: the tour's, or the Launcher if nothing was opened.
            page.locator(CURRENT_TAB).wait_for()
            yield base, page
        finally:
            browser.close()


def test_the_tour_notebook_is_open(lab_page):
    _, page = lab_page
    assert f"/lab/tree/{TOUR}" in page.url
    assert page.locator(CURRENT_TAB).inner_text().strip() == TOUR
    if SCREENSHOTS is not None:
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "lab_ready.png"))


def test_no_news_prompt(lab_page):
    base, page = lab_page
    settings = get_json(f"{base}/lab/api/settings/@jupyterlab/apputils-extension:notification?token={LAB_TOKEN}")
    defaults = {name: spec.get("default") for name, spec in settings["schema"]["properties"].items()}
    assert defaults["fetchNews"] == "false" and defaults["checkForUpdates"] is False  # the course's overrides
    page.wait_for_timeout(3000)  # JupyterLab asks a moment after start-up
    toasts = " ".join(page.locator(".Toastify__toast").all_inner_texts())
    assert NEWS not in toasts, f"JupyterLab asks about news: {toasts!r}"


def rise_deck(cells: list[dict]) -> list[int]:
    """The reveal.js deck RISE builds from ``cells``: per slide (left to right), its number of vertical sections.

    As ``jupyterlab-rise`` 0.43 does it: the first shown cell (neither "skip" nor "notes") opens the first
    slide whatever its type; after it a "slide" cell opens a new slide and a "subslide" cell a new section
    below; other cells go into the current section. So a notebook that starts with a "slide" cell has one
    slide per "slide" cell, one that does not gets one more.
    """
    deck, started = [1], False
    for cell in cells:
        kind = cell["metadata"].get("slideshow", {}).get("slide_type", "-")
        if not started:
            started = kind not in ("skip", "notes")
        elif kind == "slide":
            deck.append(1)
        elif kind == "subslide":
            deck[-1] += 1
    return deck


def test_tour_renders_as_slides_offline(lab_page):
    base, page = lab_page
    cells = json.loads((ROOT / "notebooks" / TOUR).read_text(encoding="utf-8"))["cells"]
    expected = rise_deck(cells)
    assert len(expected) == sum(c["metadata"]["slideshow"]["slide_type"] == "slide" for c in cells)  # opens on a slide
    title = next(line[2:].strip() for line in "".join(cells[0]["source"]).splitlines() if line.startswith("# "))
    refused = []

    def refuse(route):
        refused.append(route.request.url)
        route.abort("internetdisconnected")

    page.route(EXTERNAL, refuse)  # as in a classroom without network (the lab's own requests pass)
    try:
        page.goto(f"{base}/lab/tree/{TOUR}?token={LAB_TOKEN}")
        page.locator(RISE_BUTTON).click()  # what a teacher does; RISE opens the deck in a panel on the right
        slides = page.frame_locator("iframe[src*='/rise/']").locator(".reveal .slides > section")
        slides.first.locator("h1").wait_for()
        deck = slides.evaluate_all("slides => slides.map(s => s.querySelectorAll(':scope > section').length)")
        present = slides.evaluate_all("slides => slides.map(s => s.classList.contains('present'))")
        heading = slides.first.locator("h1")
        shown_title = heading.text_content().replace("\u00b6", "").strip()  # less the heading's anchor link
        visible = heading.is_visible()
    finally:
        page.unroute(EXTERNAL, refuse)
    assert not refused, f"RISE asks for these files from outside: {refused}"
    assert deck == expected, f"RISE's slides (sections per slide) {deck}, the metadata asks for {expected}"
    assert present.index(True) == 0 and visible, "the deck does not open on its first slide"
    assert shown_title == title


def test_checker_marks_render_as_glyphs(lab_page, tmp_path):
    base, page = lab_page
    page.goto(f"{base}/lab/tree/{MARKS}?token={LAB_TOKEN}")
    page.locator(".jp-OutputArea-output pre", has_text="lasso objective").wait_for()
    page.evaluate("document.fonts.ready")
    # The marks' font is the course's: it loads (unicode-range) because the page shows a mark.
    assert page.evaluate("""() => [...document.fonts].some(
        f => f.family.replace(/"/g, '') === 'Course Marks' && f.status === 'loaded')"""), \
        "the course's mark font did not load (custom.css not served, or not applied)"
    # Drawn in the output's font, each mark must differ from the box of a character no font has.
    pictures = {}
    for name, char in {"check": "\u2714", "cross": "\u2718", "missing": "\U000F0000"}.items():
        page.evaluate("""([char]) => {
            const pre = [...document.querySelectorAll('.jp-OutputArea-output pre')]
                .find(p => p.textContent.includes('lasso objective'));
            let probe = document.getElementById('mark-probe');
            if (!probe) { probe = document.createElement('span'); probe.id = 'mark-probe';
                          probe.style.fontSize = '40px'; pre.appendChild(probe); }
            probe.textContent = char; }""", [char])
        pictures[name] = page.locator("#mark-probe").screenshot()
    boxes = [name for name in ("check", "cross") if pictures[name] == pictures["missing"]]
    assert not boxes, f"these marks render as the missing-glyph box: {boxes}"
