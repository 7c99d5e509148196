"""Assign reveal.js slide types (``metadata.slideshow.slide_type``) to the cells of the course notebooks.

The rules, one slide per idea:

- a markdown cell starting with a ``#`` or ``##`` heading starts a ``slide``; one with ``###`` (or deeper)
  a ``subslide``; other markdown continues the slide (``-``) after markdown, and starts a ``subslide``
  after code (new text after a result is a new idea);
- plumbing code (only imports, or any code before the first ``##`` section without a figure or widget)
  is ``skip``;
- any other code cell shows with the text before it (``-``), unless the estimated height of the slide
  with it would not fit a 1280x720 slide, when it starts a ``subslide``;
- ``OVERRIDES`` fixes cells where these rules are wrong, by notebook name and cell id.

Run ``python -m course_gen.publish.slide_types [NOTEBOOK ...]`` after editing a notebook: it rewrites only
the ``slideshow`` metadata, keeping the file's JSON layout (``indent=1``, non-ASCII kept, trailing newline).
``--check`` reports notebooks whose metadata differs from the rules and exits 1, writing nothing.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import struct
import sys
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
SLIDE_TYPES = ("slide", "subslide", "fragment", "skip", "notes", "-")

# Estimated heights, in pixels of a 1280x720 reveal slide (calibrated on the rendered decks).
SLIDE_HEIGHT = 720
BUDGET = 620  # leave room for margins and the controls
TEXT_LINE_PX = 27  # a markdown line
TEXT_CHARS_PER_LINE = 105
HEADING_PX = 60
CODE_LINE_PX = 19  # a line of code input or printed output
CELL_PAD_PX = 16
FIGURE_WIDTH_PX = 1180  # an image wider than this is scaled down to it
PNG_SCALE = 1.0  # a PNG shows at its pixel size (up to FIGURE_WIDTH_PX)

# Cells the rules get wrong: {notebook stem: {cell id: slide type}}.
OVERRIDES: dict[str, dict[str, str]] = {}

IMPORT_LINE = re.compile(r"^\s*(import\s|from\s+\S+\s+import\s)")


def source(cell: dict) -> str:
    """The cell's source as one string."""
    text = cell.get("source", "")
    return text if isinstance(text, str) else "".join(text)


def heading_level(cell: dict) -> int:
    """The level of the markdown heading the cell starts with (0 for none or for a code cell)."""
    if cell["cell_type"] != "markdown":
        return 0
    match = re.match(r"(#{1,6})\s", source(cell).lstrip())
    return len(match.group(1)) if match else 0


def png_size(data) -> tuple[int, int]:
    """Width and height of a base64 PNG, read from its IHDR chunk."""
    text = data if isinstance(data, str) else "".join(data)
    head = base64.b64decode(text[:44].replace("\n", ""))
    return struct.unpack(">II", head[16:24])


def has_figure(cell: dict) -> bool:
    """Whether a code cell shows a picture or a widget."""
    return any("image/png" in out.get("data", {}) or "application/vnd.jupyter.widget-view+json" in out.get("data", {})
               for out in cell.get("outputs", []))


def is_plumbing(cell: dict, before_first_section: bool) -> bool:
    """Imports only, or setup code before the first ``##`` section that shows no figure."""
    if cell["cell_type"] != "code":
        return False
    lines = [line for line in source(cell).splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if lines and all(IMPORT_LINE.match(line) for line in lines):
        return True
    return before_first_section and not has_figure(cell)


def estimated_height(cell: dict) -> int:
    """A rough height in pixels of the cell on a 1280x720 slide."""
    text = source(cell)
    if cell["cell_type"] == "markdown":
        height = HEADING_PX if heading_level(cell) else 0
        for line in text.splitlines():
            height += TEXT_LINE_PX * max(1, -(-len(line) // TEXT_CHARS_PER_LINE)) if line.strip() else TEXT_LINE_PX // 2
        return height
    height = CELL_PAD_PX + CODE_LINE_PX * len(text.splitlines())
    for out in cell.get("outputs", []):
        data = out.get("data", {})
        if "image/png" in data:
            width, tall = png_size(data["image/png"])
            width, tall = width * PNG_SCALE, tall * PNG_SCALE
            height += CELL_PAD_PX + int(tall * min(1.0, FIGURE_WIDTH_PX / max(width, 1)))
        elif out.get("output_type") == "stream":
            height += CELL_PAD_PX + CODE_LINE_PX * len(source({"source": out.get("text", "")}).splitlines())
        elif "text/plain" in data:
            height += CELL_PAD_PX + CODE_LINE_PX * len(source({"source": data["text/plain"]}).splitlines())
    return height


def assign(notebook: dict, name: str = "") -> list[str]:
    """The slide type of every cell of ``notebook`` by the rules, with ``OVERRIDES[name]`` applied."""
    types: list[str] = []
    height = 0
    seen_section = False
    previous = None  # the type of the previous shown cell ("markdown" or "code")
    overrides = OVERRIDES.get(name, {})
    for cell in notebook["cells"]:
        level = heading_level(cell)
        if level == 2:
            seen_section = True
        cell_height = estimated_height(cell)
        if level in (1, 2):
            kind = "slide"
        elif level >= 3:
            kind = "subslide"
        elif is_plumbing(cell, before_first_section=not seen_section):
            kind = "skip"
        elif cell["cell_type"] == "markdown":
            kind = "subslide" if previous == "code" or height + cell_height > BUDGET else "-"
        else:
            kind = "subslide" if height + cell_height > BUDGET and height > 0 else "-"
        kind = overrides.get(cell.get("id", ""), kind)
        if kind not in SLIDE_TYPES:
            raise ValueError(f"{name}: cell {cell.get('id')}: unknown slide type {kind!r}")
        if kind in ("slide", "subslide"):
            height = 0
        if kind not in ("skip", "notes"):
            height += cell_height
            previous = cell["cell_type"]
        types.append(kind)
    return types


def current(notebook: dict) -> list[str | None]:
    """The slide type each cell has now (None where it has none)."""
    return [cell.get("metadata", {}).get("slideshow", {}).get("slide_type") for cell in notebook["cells"]]


def apply(path: Path, write: bool = True) -> bool:
    """Set the slide types of the notebook at ``path`` by :func:`assign`; True if anything changed.

    Only ``metadata.slideshow`` of each cell changes; the file is written back in its own layout.
    """
    notebook = json.loads(path.read_text(encoding="utf-8"))
    types = assign(notebook, path.stem)
    if types == current(notebook):
        return False
    if write:
        for cell, kind in zip(notebook["cells"], types):
            cell.setdefault("metadata", {})["slideshow"] = {"slide_type": kind}
        path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return True


def notebook_paths(names: list[str]) -> list[Path]:
    """The course notebooks named by ``names`` (``08``, ``08_diffusion_and_flow_matching`` or a path); all if empty."""
    available = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if not names:
        return available
    paths = []
    for name in names:
        path = Path(name)
        if path.suffix == ".ipynb" and path.is_file():
            paths.append(path)
            continue
        matches = [p for p in available if p.stem == name or p.stem.split("_")[0] == name]
        if len(matches) != 1:
            valid = ", ".join(p.stem for p in available)
            raise ValueError(f"unknown notebook {name!r}: give a path or one of {valid} (or its number)")
        paths.append(matches[0])
    return paths


def main(argv: list[str] | None = None) -> int:
    """Rewrite (or with ``--check`` only compare) the slide types of the named notebooks."""
    parser = argparse.ArgumentParser(prog="python -m course_gen.publish.slide_types", description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", help="names like 08 or paths (default: all)")
    parser.add_argument("--check", action="store_true", help="only report notebooks whose slide types differ")
    args = parser.parse_args(argv)
    try:
        paths = notebook_paths(args.notebooks)
    except ValueError as error:
        print(error)
        return 2
    stale = [path for path in paths if apply(path, write=not args.check)]
    for path in stale:
        print(f"{'stale' if args.check else 'updated'}: {path.name}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
