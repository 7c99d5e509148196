"""``python3 course.py slides [NOTEBOOK ...] [--out DIR]``: reveal.js slides of the course notebooks.

Each notebook becomes one self-contained ``NAME.slides.html`` (nbconvert's naming) in ``DIR`` (default
``build/slides/``). The cells' ``metadata.slideshow.slide_type`` (set by
:mod:`course_gen.publish.slide_types`) cut the deck into slides. The decks work offline, opened from
``file://``: reveal.js 4.6.1, its white theme and MathJax 3.2.2 (SVG output) are inlined from
``course_gen/publish/vendor/`` (see the README there), and the widgets' state is dropped so that each
widget shows its static PNG frame.
"""

from __future__ import annotations

import argparse
import copy
import re
from pathlib import Path

from course_gen.publish.slide_types import notebook_paths

HERE = Path(__file__).resolve().parent
VENDOR = HERE / "vendor"
TEMPLATES = HERE / "templates"
DEFAULT_OUT = HERE.parents[1] / "build" / "slides"
SLIDE_WIDTH, SLIDE_HEIGHT = 1280, 720
URL_SENTINEL = "COURSE-GEN-OFFLINE-REVEAL"  # stands for the CDN prefix; the links are replaced by inline CSS

# Smaller than nbconvert's slide fonts so that a cell and its figure share a 1280x720 slide.
COURSE_CSS = """
:root { --jp-content-font-size1: 17px; --jp-ui-font-size1: 17px; --jp-code-font-size: 14px;
        --jp-cell-prompt-width: 64px; }
.reveal { font-size: 100%; }
.reveal .slides section { padding: 8px 16px; box-sizing: border-box; }
.reveal h1 { font-size: 1.9em; } .reveal h2 { font-size: 1.5em; } .reveal h3 { font-size: 1.2em; }
.reveal p, .reveal li { line-height: 1.35; }
.reveal .jp-RenderedImage img { max-width: 100%; height: auto; }
.reveal .slides { text-align: left; }
"""


def strip_widgets(notebook):
    """A copy of ``notebook`` without widget state, so each widget's static PNG frame is what shows."""
    notebook = copy.deepcopy(notebook)
    notebook.metadata.pop("widgets", None)
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            output.get("data", {}).pop("application/vnd.jupyter.widget-view+json", None)
    return notebook


def vendored(name: str) -> str:
    """The text of a vendored file, ``</script`` escaped so it can sit inside a ``<script>`` element."""
    return (VENDOR / name).read_text(encoding="utf-8").replace("</script", "<\\/script")


def offline_resources() -> dict:
    """The inlined assets the ``course_reveal`` template puts into each deck."""
    return {"reveal_js": vendored("reveal.js"), "mathjax_js": vendored("mathjax-tex-svg.js"),
            "course_css": COURSE_CSS}


def inline_stylesheets(html: str) -> str:
    """Replace the template's links to reveal's CSS (under ``URL_SENTINEL``) with the vendored CSS inline."""
    theme = re.sub(r"@import url\([^)]*\);", "", (VENDOR / "reveal-theme-white.css").read_text(encoding="utf-8"))
    for href, css in ((f"{URL_SENTINEL}/dist/reveal.css", (VENDOR / "reveal.css").read_text(encoding="utf-8")),
                      (f"{URL_SENTINEL}/dist/theme/white.css", theme)):
        html, count = re.subn(rf'<link[^>]*href="{re.escape(href)}"[^>]*>',
                              lambda _: f"<style>{css}</style>", html)
        if count != 1:
            raise RuntimeError(f"the reveal template no longer links {href} once (found {count})")
    if URL_SENTINEL in html:
        raise RuntimeError("a reveal.js asset is still linked, not inlined")
    return html


def exporter():
    """nbconvert's SlidesExporter with the offline ``course_reveal`` template."""
    from nbconvert import SlidesExporter

    return SlidesExporter(extra_template_basedirs=[str(TEMPLATES)], template_name="course_reveal",
                          reveal_url_prefix=URL_SENTINEL, reveal_theme="white", reveal_transition="none",
                          reveal_number="c/t", reveal_width=str(SLIDE_WIDTH), reveal_height=str(SLIDE_HEIGHT),
                          reveal_scroll=False)


def convert(path: Path, out: Path) -> Path:
    """Write the deck of the notebook at ``path`` to ``out/NAME.slides.html``; return its path."""
    import nbformat

    notebook = strip_widgets(nbformat.read(str(path), as_version=4))
    html, _ = exporter().from_notebook_node(notebook, resources={"offline": offline_resources(),
                                                                  "metadata": {"name": path.stem}})
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{path.stem}.slides.html"
    target.write_text(inline_stylesheets(html), encoding="utf-8")
    return target


def main(argv: list[str]) -> int:
    """``slides [NOTEBOOK ...] [--out DIR]``: write one deck per notebook (all nine by default)."""
    parser = argparse.ArgumentParser(prog="course.py slides", description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", metavar="NOTEBOOK",
                        help="a name like 08 or 08_diffusion_and_flow_matching, or a path (default: all)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    try:
        paths = notebook_paths(args.notebooks)
    except ValueError as error:
        print(error)
        return 2
    for path in paths:
        print(convert(path, args.out))
    return 0
