"""``course.py site OUT`` builds a static site that works offline from ``file://``, checked in headless Chromium.

The site is built once (all nine notebooks, 12-25 s on 2 busy cores). Every page is opened from
``file://`` with every network request refused, and checked: no broken image, no error text, every
navigation link points to a page that exists, and the widget cells show their saved static frame, and formulas are MathML.
Skips without Chromium or Playwright, fails instead when ``COURSE_GEN_BROWSER_TESTS=1`` (as
``test_browser.py``).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest

from course_gen.publish import site
from test_browser import chromium_path, launch_chromium, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
#: The README's screenshots are refreshed only on request (COURSE_GEN_SCREENSHOTS=1): a test run leaves tracked files alone.
SCREENSHOTS = ROOT / "docs" if os.environ.get("COURSE_GEN_SCREENSHOTS") == "1" else None
ERROR_TEXT = ("Traceback", "Error displaying widget", "NameError", "ModuleNotFoundError", "FileNotFoundError",
              "Exception", "Error:")
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("site") / "out"
    assert site.main([str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def browser():
    executable = chromium_path()
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright, executable)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def pages(built, browser):
    """``{file name: facts}`` for every page, read in Chromium from ``file://`` without network."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    refused = []

    def refuse(route):
        refused.append(route.request.url)
        route.abort()

    context.route(re.compile(r"^https?://"), refuse)
    page = context.new_page()
    facts = {}
    for path in sorted(built.glob("*.html")):
        page.goto(path.as_uri(), wait_until="load")
        facts[path.name] = page.evaluate("""() => ({
            images: [...document.images].map(img => ({complete: img.complete, width: img.naturalWidth,
                                                       src: img.src.slice(0, 60)})),
            text: document.body.innerText,
            nav: [...document.querySelectorAll('nav.course-nav a')].map(a => a.getAttribute('href')),
            links: [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href')),
            widgetFrames: [...document.querySelectorAll('.celltag_widget-frame')].map(cell =>
                [...cell.querySelectorAll('.jp-OutputArea-output img')].map(img => img.naturalWidth)),
            title: document.title,
            math: document.querySelectorAll('.jp-MarkdownOutput math').length,
            markdownText: [...document.querySelectorAll('.jp-MarkdownOutput')].map(m => m.innerText).join('\\n'),
        })""")
        if SCREENSHOTS is not None and path.name in ("index.html", "04_change_of_variables.html"):
            SCREENSHOTS.mkdir(exist_ok=True)
            shot = SCREENSHOTS / f"site_{path.stem.split('_')[0]}.png"
            page.screenshot(path=str(shot), type="png")
    context.close()
    return facts, refused


def test_main_builds_every_notebook_and_the_two_extra_pages(built):
    names = {p.name for p in built.glob("*.html")}
    assert names == {f"{nb.stem}.html" for nb in NOTEBOOKS} | {"index.html", "run.html"}


def test_refuses_a_folder_it_did_not_build_and_rebuilds_its_own(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert site.main([str(tmp_path), "00"]) == 2
    assert "not empty" in capsys.readouterr().err
    assert (tmp_path / "notes.txt").read_text() == "mine"
    out = tmp_path / "site"
    assert site.main([str(out), "00"]) == 0
    assert site.main([str(out), "01_sparse_coding"]) == 0  # a previous build is replaced
    assert sorted(p.name for p in out.glob("*.html")) == ["01_sparse_coding.html", "index.html", "run.html"]
    assert site.main([str(tmp_path / "other"), "99_nothing"]) == 2
    assert "unknown notebook '99_nothing'" in capsys.readouterr().err
    assert not (tmp_path / "other").exists()


def test_no_broken_images(pages):
    facts, _ = pages
    for name, page in facts.items():
        broken = [img["src"] for img in page["images"] if not (img["complete"] and img["width"] > 0)]
        assert not broken, f"{name}: broken images {broken}"
    figures = sum(len(page["images"]) for page in facts.values())
    assert figures > 100, f"only {figures} images in the whole site"


def test_no_error_text(pages):
    facts, _ = pages
    for name, page in facts.items():
        for marker in ERROR_TEXT:
            assert marker not in page["text"], f"{name} shows {marker!r}"


def test_navigation_links_resolve(built, pages):
    facts, _ = pages
    order = ["index.html"] + [f"{nb.stem}.html" for nb in NOTEBOOKS] + ["run.html"]
    for i, name in enumerate(order):
        nav = facts[name]["nav"]
        assert nav[0] == "index.html"
        if 0 < i:
            assert order[i - 1] in nav, f"{name} has no link to the previous page"
        if i < len(order) - 1:
            assert order[i + 1] in nav, f"{name} has no link to the next page"
        for href in facts[name]["links"]:
            if urlparse(href).scheme or href.startswith("#"):
                continue  # external links (the README's) and anchors are not site pages
            assert (built / href.split("#")[0]).is_file(), f"{name} links to missing {href}"


def test_widget_cells_show_their_static_frame(pages):
    facts, _ = pages
    for name in ("04_change_of_variables.html", "06_gan_minimax_jsd.html"):
        frames = facts[name]["widgetFrames"]
        stem = name[:-5]
        saved = sum(1 for cell in json.loads((ROOT / "notebooks" / f"{stem}.ipynb").read_text())["cells"]
                    if any("application/vnd.jupyter.widget-view+json" in o.get("data", {})
                           for o in cell.get("outputs", [])))
        assert len(frames) == saved > 0, f"{name}: {len(frames)} widget cells on the page, {saved} saved"
        for widths in frames:
            assert widths and min(widths) > 100, f"{name}: a widget cell without its picture {widths}"


def test_index_and_run_pages_come_from_the_readme(pages):
    facts, _ = pages
    readme = (ROOT / "README.md").read_text()
    index = facts["index.html"]["text"]
    for nb in NOTEBOOKS:
        assert f"{nb.stem}.html" in facts["index.html"]["links"]
    assert "Teaching with it in class" in index and "Homework" in index
    assert "python3 course.py student OUT" in index  # the Homework section's code block
    for command in site.quickstart_commands(readme):
        assert command in facts["run.html"]["text"]
    assert site.quickstart_commands(readme) == ["python3 course.py lab", "python3 course.py test"]


def test_pages_need_nothing_from_the_network(built, pages):
    _, refused = pages
    assert not refused, f"pages requested {refused}"
    for path in built.glob("*.html"):
        sources = re.findall(r'<(?:script|link|img|iframe)[^>]+(?:src|href)="(https?://[^"]+)"', path.read_text())
        assert not sources, f"{path.name} needs {sources}"


def test_formulas_are_mathml_not_raw_tex(pages):
    facts, _ = pages
    page = facts["04_change_of_variables.html"]
    assert page["math"] > 100, f"only {page['math']} MathML formulas on notebook 04"
    raw = re.findall(r"\$[^$\n]{1,40}\$", page["markdownText"])
    assert len(raw) <= 2, f"formulas left as TeX: {raw}"
