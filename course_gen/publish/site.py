"""``python3 course.py site OUT``: the course as a static web site, built from the committed notebooks.

The site is plain HTML files in one folder: ``index.html`` (the notebooks, one line each, and the
README's sections on teaching and homework), one page per notebook (``00_tour.html`` ...) and
``run.html`` ("Run it yourself": the README's Quickstart commands). Every page has a navigation bar
(index, previous, next, run it yourself) with relative links only, so the folder works from any static
file host and from ``file://``, offline.

Why nbconvert's HTML exporter and not Jupyter Book: Jupyter Book (Sphinx, MyST-NB) would be a large
new dependency tree, takes tens of seconds to minutes for nine heavy notebooks on 2 cores, and its
default theme fetches fonts and scripts; its extras (search, launch buttons) need a hosted Binder or a
JavaScript search index. nbconvert is already installed (JupyterLab depends on it), converts the nine
committed, executed notebooks in about 15 s, and its ``lab`` template inlines its CSS, so each page is
self-contained: figures are embedded PNGs (``data:`` URIs). We do not re-execute anything: the pages
show the committed outputs.

Widgets: ``metadata.widgets`` (the saved widget state) is removed before export, so nbconvert does not
add the widget manager scripts (fetched from a CDN) and shows, for each widget output, the static
``image/png`` frame the course saves beside the live widget. Cells with such a frame get the tag
``widget-frame`` (nbconvert turns it into the CSS class ``celltag_widget-frame``).

Formulas: the ``lab`` template loads MathJax 2 (and require.js, needed only for widgets) from cdnjs,
so offline the formulas would show as raw TeX. No standalone MathJax is installed (JupyterLab bundles
its MathJax 3 inside webpack chunks; the PyPI package ``mathjax`` is an empty stub), and reveal.js-style
vendoring of MathJax (megabytes of fonts) is not worth it for a site. Instead the builder converts the
TeX of every Markdown cell to MathML with ``latex2mathml`` (small, pure Python) and drops both CDN
scripts: browsers render MathML natively (Chromium since 109, Firefox, Safari), offline, and the pages
fetch nothing. A formula latex2mathml cannot convert stays as its TeX source, which is still readable.
"""

from __future__ import annotations

import html
import re
import shutil
import sys
import time
from pathlib import Path

from course_gen.publish.slide_types import notebook_paths

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
MARKER = ".course_gen_site"  # written into OUT: a folder holding it may be cleared and rebuilt
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
WIDGET_TAG = "widget-frame"
REQUIRE_JS = re.compile(r'<script src="https://cdnjs\.cloudflare\.com/ajax/libs/require\.js/[^"]*"></script>\s*')
MATHJAX = re.compile(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->\s*", re.S)
MARKDOWN_OUTPUT = 'jp-MarkdownOutput" data-mime-type="text/markdown">'
CELL_START = '<div class="jp-Cell'
MATH = re.compile(r"\$\$(.+?)\$\$|\$([^$\n]+?)\$", re.S)
CODE = re.compile(r"(<code>.*?</code>|<pre>.*?</pre>)", re.S)
SITE_CSS = """
nav.course-nav { position: sticky; top: 0; z-index: 10; display: flex; gap: 1.5em; align-items: center;
  padding: 0.6em 1.2em; background: #1f3b57; font: 15px/1.4 system-ui, sans-serif; }
nav.course-nav a { color: #fff; text-decoration: none; }
nav.course-nav a:hover { text-decoration: underline; }
nav.course-nav .here { color: #c9d7e3; margin-left: auto; }
main.course-page { max-width: 60em; margin: 1.5em auto; padding: 0 1.2em; font: 16px/1.55 system-ui, sans-serif; }
main.course-page pre { background: #f4f4f4; padding: 0.8em; overflow-x: auto; }
main.course-page code { background: #f4f4f4; padding: 0 0.2em; }
ul.notebooks li { margin: 0.4em 0; }
"""


class SiteError(Exception):
    """A problem with the command line or the output folder, reported without a traceback."""


# --- reading the README ---------------------------------------------------------------------------

def readme_section(text: str, title: str) -> str:
    """The Markdown body of the README's ``## title`` section (up to the next ``## ``)."""
    match = re.search(rf"^## {re.escape(title)}\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    if match is None:
        raise SiteError(f"README.md has no '## {title}' section")
    return match.group(1).strip()


def quickstart_commands(text: str) -> list[str]:
    """The commands of the first code block in the README's Quickstart section."""
    block = re.search(r"^```[^\n]*\n(.*?)^```", readme_section(text, "Quickstart"), re.M | re.S)
    if block is None:
        raise SiteError("README.md's Quickstart section has no code block")
    return [line.strip() for line in block.group(1).splitlines() if line.strip()]


def shorten(text: str, limit: int = 110) -> str:
    """``text`` cut at a clause boundary (comma, semicolon, colon) before ``limit`` characters."""
    if len(text) <= limit:
        return text
    cut = max(text.rfind(sep, 0, limit) for sep in (",", ";", ":"))
    return (text[:cut] if cut > 40 else text[:limit].rsplit(" ", 1)[0]) + " ..."


def notebook_blurbs(text: str) -> dict[str, str]:
    """``{notebook stem: shortened "what it teaches"}`` from the README's notebook table."""
    rows = re.findall(r"^\| \[[^\]]+\]\(notebooks/([^)]+)\.ipynb\) \| ([^|]+) \|", text, re.M)
    return {stem: shorten(blurb.strip()) for stem, blurb in rows}


def markdown_to_html(text: str) -> str:
    import mistune  # nbconvert's own Markdown renderer

    return mistune.html(text)


# --- pages ----------------------------------------------------------------------------------------

def nav_bar(pages: list[tuple[str, str]], here: int) -> str:
    """Links to the index, the previous and next page, and "Run it yourself"; ``pages`` is (file, title)."""
    links = ['<a href="index.html">Index</a>']
    if here > 0:
        links.append(f'<a href="{pages[here - 1][0]}" rel="prev">&larr; {html.escape(pages[here - 1][1])}</a>')
    if here < len(pages) - 1:
        links.append(f'<a href="{pages[here + 1][0]}" rel="next">{html.escape(pages[here + 1][1])} &rarr;</a>')
    if pages[here][0] != "run.html":
        links.append('<a href="run.html">Run it yourself</a>')
    links.append(f'<span class="here">{html.escape(pages[here][1])}</span>')
    return '<nav class="course-nav">' + "".join(links) + "</nav>"


def simple_page(title: str, body: str, nav: str) -> str:
    """A hand-written page (index, run it yourself) in the site's style."""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1.0">'
            f"<title>{html.escape(title)}</title><style>{SITE_CSS}</style></head>"
            f'<body style="margin:0">{nav}<main class="course-page">{body}</main></body></html>\n')


def index_body(notebooks: list[Path], titles: dict[str, str], readme: str) -> str:
    blurbs = notebook_blurbs(readme)
    items = "".join(
        f'<li><a href="{nb.stem}.html">{html.escape(titles[nb.stem])}</a>'
        f"{': ' + html.escape(blurbs[nb.stem]) if nb.stem in blurbs else ''}</li>" for nb in notebooks)
    return ("<h1>Deep generative models, taught with code that runs</h1>"
            "<p>The course's notebooks, executed, with their figures and the first picture of each widget. "
            'To run them and play with the widgets, see <a href="run.html">Run it yourself</a>.</p>'
            f'<h2>The notebooks</h2><ul class="notebooks">{items}</ul>'
            f"<h2>Teaching with it in class</h2>{markdown_to_html(readme_section(readme, 'Teaching with it in class'))}"
            f"<h2>Homework</h2>{markdown_to_html(readme_section(readme, 'Homework'))}")


def run_body(readme: str) -> str:
    commands = html.escape("\n".join(quickstart_commands(readme)))
    return ("<h1>Run it yourself</h1>"
            "<p>The pages of this site show the notebooks as they were run; the widgets are their first "
            "picture. To run the notebooks and use the widgets, get a copy of the course's repository; "
            "with Python 3.10 or newer, from its folder:</p>"
            f"<pre><code>{commands}</code></pre>"
            "<p>The first command sets up a virtual environment in <code>.venv</code> and opens the notebooks "
            "in JupyterLab (start with <code>00_tour.ipynb</code>); the second runs the course's tests.</p>")


def notebook_title(nb) -> str:
    """The first Markdown heading of the notebook, without the leading ``#``."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return ""


def prepare(nb, stems: set[str]):
    """Drop the saved widget state, tag cells that show a widget's static frame, link notebooks to pages."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type == "code" and any(
                WIDGET_MIME in out.get("data", {}) and "image/png" in out["data"] for out in cell.get("outputs", [])):
            tags = cell.metadata.setdefault("tags", [])
            if WIDGET_TAG not in tags:
                tags.append(WIDGET_TAG)
        if cell.cell_type == "markdown":
            cell.source = re.sub(r"\]\((\d\d_[\w-]+)\.ipynb", lambda m: f"]({m.group(1)}.html"
                                 if m.group(1) in stems else m.group(0), cell.source)
    return nb


def notebook_page(nb, nav: str) -> str:
    """nbconvert's ``lab`` HTML of ``nb`` with the navigation bar and without require.js."""
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    body = MATHJAX.sub("", REQUIRE_JS.sub("", body))
    body = markdown_math_to_mathml(body)
    body = body.replace("</head>", f"<style>{SITE_CSS}</style></head>", 1)
    return re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + nav, body, count=1)


def tex_to_mathml(match: re.Match) -> str:
    """One ``$...$`` or ``$$...$$`` (HTML-escaped TeX) as MathML; unchanged if it cannot be converted."""
    from latex2mathml.converter import convert

    tex = match.group(1) or match.group(2)
    if "<" in tex or '"' in tex:  # spans tags or an attribute: not a formula
        return match.group(0)
    try:
        return convert(html.unescape(tex), display="block" if match.group(1) else "inline")
    except Exception:  # noqa: BLE001 - latex2mathml raises many kinds; keep the TeX, it is readable
        return match.group(0)


def markdown_math_to_mathml(page: str) -> str:
    """Convert the formulas of the Markdown cells of an nbconvert page (not code, not outputs) to MathML."""
    try:
        import latex2mathml  # noqa: F401
    except ImportError:
        print("site: latex2mathml is not installed (pip install latex2mathml): formulas stay as TeX",
              file=sys.stderr)
        return page
    parts = page.split(MARKDOWN_OUTPUT)
    for i in range(1, len(parts)):
        markdown, cell_start, rest = parts[i].partition(CELL_START)
        pieces = CODE.split(markdown)  # odd pieces are <code>/<pre>: keep their dollars
        pieces[::2] = [MATH.sub(tex_to_mathml, piece) for piece in pieces[::2]]
        parts[i] = "".join(pieces) + cell_start + rest
    return MARKDOWN_OUTPUT.join(parts)


# --- the output folder ----------------------------------------------------------------------------

def prepare_out(out: Path) -> None:
    """Make ``out`` an empty folder; refuse a non-empty one that is not a previous site build."""
    if out.exists() and not out.is_dir():
        raise SiteError(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not (out / MARKER).is_file():
            raise SiteError(f"{out} is not empty and is not a site built by this command; "
                            "give an empty or new folder")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("built by python3 course.py site; this folder is cleared on the next build\n")


def select(names: list[str]) -> list[Path]:
    """The notebooks to publish: all by default, or those named (``04``, ``04_change_of_variables``, a path), in
    course order (:func:`~course_gen.publish.slide_types.notebook_paths` resolves the names)."""
    try:
        return sorted(set(notebook_paths(names)))
    except ValueError as error:
        raise SiteError(str(error)) from error


def build(out: Path, notebooks: list[Path], log=print) -> list[Path]:
    """Write the site for ``notebooks`` into ``out``; return the pages written."""
    import nbformat

    readme = README.read_text(encoding="utf-8")
    prepare_out(out)
    loaded = {nb.stem: nbformat.read(nb, as_version=4) for nb in notebooks}
    titles = {stem: notebook_title(nb) or stem for stem, nb in loaded.items()}
    pages = [("index.html", "Index")] + [(f"{s}.html", titles[s].split(":")[0]) for s in loaded] + [
        ("run.html", "Run it yourself")]
    written = []
    for i, (file, title) in enumerate(pages):
        nav = nav_bar(pages, i)
        if file == "index.html":
            text = simple_page("Deep generative models: the course", index_body(notebooks, titles, readme), nav)
        elif file == "run.html":
            text = simple_page(title, run_body(readme), nav)
        else:
            start = time.perf_counter()
            text = notebook_page(prepare(loaded[file[:-5]], set(loaded)), nav)
            log(f"{file}  ({time.perf_counter() - start:.1f} s)")
        (out / file).write_text(text, encoding="utf-8")
        written.append(out / file)
    copy_readme_images(readme, out)
    return written


def copy_readme_images(readme: str, out: Path) -> None:
    """Copy the pictures the README shows by relative path (``![...](docs/x.png)``) to the same place in ``out``,
    so the index page's README sections find them."""
    for target in re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", readme):
        source = (ROOT / target).resolve()
        if "://" in target or ROOT not in source.parents or not source.is_file():
            continue
        (out / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, out / target)


def main(argv: list[str]) -> int:
    """``site OUT [NOTEBOOK ...]``: build the site into the folder ``OUT``."""
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python3 course.py site OUT [NOTEBOOK ...]\n\n" + __doc__.split("\n\n")[1])
        return 0 if argv else 2
    out, names = Path(argv[0]), argv[1:]
    start = time.perf_counter()
    try:
        pages = build(out, select(names))
    except SiteError as error:
        print(f"site: {error}", file=sys.stderr)
        return 2
    print(f"wrote {len(pages)} pages to {out} in {time.perf_counter() - start:.0f} s; open {out / 'index.html'}")
    return 0
