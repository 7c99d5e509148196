"""``course.py slides``: reveal.js decks of the notebooks that work offline and fit a 1280x720 screen.

The metadata checks cover all nine notebooks; the conversion and browser checks convert three (the tour,
the ELBO lecture and the diffusion lecture, the one with the tallest figures) to stay fast, or all nine
with ``COURSE_GEN_ALL_DECKS=1`` (about a minute more). The browser part needs Chromium and Playwright, with
the skip/fail policy of ``test_browser.py`` (it fails instead of skipping when ``COURSE_GEN_BROWSER_TESTS=1``).
"""

from __future__ import annotations

import os
import hashlib
import json
import re
from pathlib import Path

import pytest

from course_gen.publish import slide_types, slides
from test_browser import chromium_path, launch_chromium, sync_playwright

NOTEBOOKS = sorted(slide_types.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
CONVERTED = (tuple(path.stem for path in NOTEBOOKS) if os.environ.get("COURSE_GEN_ALL_DECKS") == "1"
             else ("00_tour", "05_elbo", "08_diffusion_and_flow_matching"))
MIN_FIT_SCALE = 0.8  # a slide zoomed out further than this is too small to read on a projector
VENDORED = {  # sha256 of the files in course_gen/publish/vendor (see its README)
    "reveal.js": "73d4b64d59eded6de6a49500e7b709eb8d92c0d1d88d911319ce551c31341e9f",
    "reveal.css": "fa4713396db8274bc0f1def50767464b6d98e61f4f83d17f4de6417210b25901",
    "reveal-theme-white.css": "bf59df9ecd8563ac1da668571397dd454048f493e0feddcc565df7eedc40fad4",
    "mathjax-tex-svg.js": "d4295dc33744836935c1399feece5159577b34c5c8ffb9f1c6324cd82e03a882",
}


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def shown_slide_count(notebook: dict) -> int:
    """Slides a reader steps through: one per ``slide`` or ``subslide`` cell."""
    return sum(kind in ("slide", "subslide") for kind in slide_types.current(notebook))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_cell_has_slide_metadata_from_the_rules(path):
    notebook = load(path)
    kinds = slide_types.current(notebook)
    assert all(kind in slide_types.SLIDE_TYPES for kind in kinds), "a cell lacks metadata.slideshow.slide_type"
    assert kinds[0] == "slide"
    assert kinds == slide_types.assign(notebook, path.stem), (
        f"stale slide types: run python -m course_gen.publish.slide_types {path.stem[:2]}")


def test_rules_on_a_small_notebook():
    cell = lambda kind, text, outputs=(): {"cell_type": kind, "source": text, "metadata": {}, "outputs": list(outputs)}
    figure = {"output_type": "display_data", "data": {"image/png": slides_png(1000, 400)}}
    notebook = {"cells": [cell("markdown", "# Title"), cell("code", "import torch"), cell("code", "x = 1"),
                          cell("markdown", "## Part"), cell("code", "plot()", [figure]),
                          cell("markdown", "Then"), cell("markdown", "### Exercise"), cell("code", "f()", [figure]),
                          cell("code", "g()", [figure])]}
    assert slide_types.assign(notebook) == ["slide", "skip", "skip", "slide", "-", "subslide", "subslide", "-",
                                            "subslide"]


def slides_png(width: int, height: int) -> str:
    """A base64 PNG header of the given size (enough for :func:`slide_types.png_size`)."""
    import base64
    import struct

    return base64.b64encode(b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR"
                            + struct.pack(">II", width, height) + b"\x08\x02\x00\x00\x00").decode()


def test_vendored_assets_are_the_recorded_files():
    for name, digest in VENDORED.items():
        assert hashlib.sha256((slides.VENDOR / name).read_bytes()).hexdigest() == digest, name


def test_unknown_notebook_is_a_clear_error(tmp_path, capsys):
    assert slides.main(["99_nothing", "--out", str(tmp_path)]) == 2
    message = capsys.readouterr().out
    assert "unknown notebook '99_nothing'" in message and "08_diffusion_and_flow_matching" in message
    assert not list(tmp_path.iterdir())


@pytest.fixture(scope="module")
def decks(tmp_path_factory):
    """The converted decks, {notebook stem: path}, written by ``main`` with names and a number."""
    out = tmp_path_factory.mktemp("slides")
    assert slides.main([CONVERTED[0], *(name[:2] for name in CONVERTED[1:]), "--out", str(out)]) == 0
    return {name: out / f"{name}.slides.html" for name in CONVERTED}


@pytest.mark.parametrize("name", CONVERTED)
def test_deck_has_one_section_per_slide_and_embeds_figures(decks, name):
    notebook = load(slide_types.NOTEBOOKS / f"{name}.ipynb")
    html = decks[name].read_text(encoding="utf-8")
    kinds = slide_types.current(notebook)
    # nbconvert opens an outer <section> per slide and an inner one per slide or subslide.
    assert html.count("<section") == kinds.count("slide") + shown_slide_count(notebook)
    figures = sum("image/png" in output.get("data", {}) for cell, kind in zip(notebook["cells"], kinds)
                  if kind != "skip" for output in cell.get("outputs", []))
    assert figures > 0 and html.count("data:image/png;base64,") >= figures
    assert "application/vnd.jupyter.widget-state+json" not in html  # widgets show their PNG frame


@pytest.mark.parametrize("name", CONVERTED)
def test_deck_needs_no_network(decks, name):
    html = decks[name].read_text(encoding="utf-8")
    remote = re.findall(r"<(?:script|link|img|iframe)\b[^>]*?(?:src|href)=[\"']?(?:https?:)?//[^>]*>", html)
    assert remote == []
    assert "Reveal.initialize" in html and "MathJax" in html


MEASURE = """() => {
  const rows = [];
  for (const slide of Reveal.getSlides()) {
    const index = Reveal.getIndices(slide);
    Reveal.slide(index.h, index.v, 999);
    const current = Reveal.getCurrentSlide();
    let bottom = 0, right = 0;
    for (const child of current.children) {
      const box = child.getBoundingClientRect();
      bottom = Math.max(bottom, box.bottom); right = Math.max(right, box.right);
    }
    rows.push({h: index.h, v: index.v, bottom: bottom, right: right,
               scale: parseFloat(current.dataset.fitScale || '1'),
               text: (current.innerText || '').trim().slice(0, 60)});
  }
  return rows;
}"""


def test_decks_open_offline_and_every_slide_fits_1280x720(decks):
    executable = chromium_path()
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, executable)
        try:
            for name, path in decks.items():
                page = browser.new_page(viewport={"width": 1280, "height": 720})
                remote, errors = [], []
                page.route(re.compile(r"^https?://"), lambda route: (remote.append(route.request.url), route.abort()))
                page.on("pageerror", lambda error: errors.append(str(error)))
                page.goto(path.as_uri())
                page.wait_for_function("() => window.Reveal && Reveal.isReady()", timeout=60_000)
                page.evaluate("() => MathJax.startup.promise")
                expected = shown_slide_count(load(slide_types.NOTEBOOKS / f"{name}.ipynb"))
                assert page.evaluate("() => Reveal.getTotalSlides()") == expected, name
                rows = page.evaluate(MEASURE)
                assert len(rows) == expected
                outside = [row for row in rows if row["bottom"] > 720.5 or row["right"] > 1280.5]
                assert outside == [], f"{name}: slides outside the 1280x720 viewport: {outside}"
                tiny = [row for row in rows if row["scale"] < MIN_FIT_SCALE]
                assert tiny == [], f"{name}: slides zoomed out below {MIN_FIT_SCALE} to fit: {tiny}"
                if name != "00_tour":
                    assert page.evaluate("() => document.querySelectorAll('mjx-container').length") > 0
                assert page.evaluate("() => document.querySelectorAll('mjx-merror').length") == 0
                assert remote == [] and errors == [], (name, remote, errors)
                if os.environ.get("COURSE_GEN_SCREENSHOTS") == "1" and name == "05_elbo":  # the README's picture
                    page.evaluate("""() => { const slide = Reveal.getSlides().find(s => s.querySelector('img'));
                                             const at = Reveal.getIndices(slide); Reveal.slide(at.h, at.v); }""")
                    page.wait_for_timeout(1000)
                    page.screenshot(path=str(Path(__file__).resolve().parents[1] / "docs" / "slide_05.png"))
                page.close()
        finally:
            browser.close()
