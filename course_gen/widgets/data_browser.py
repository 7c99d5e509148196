"""A browser for the embedded data sets: pick a set and a seed, see a page of examples.

The browser's figure is built once with two panels, an image grid (digits, shapes, patches) and a
scatter plot (the 2-D toy sets), and shows the one the chosen set needs; a change of set or seed
replaces the grid's pixels or the scatter's points in place (:class:`~course_gen.widgets._figure_view.LiveFigure`).
"""

from __future__ import annotations

import math

import ipywidgets as w
import torch
from matplotlib.figure import Figure

from course_gen import data
from course_gen.plotting import image_grid, make_grid, plot_samples_2d
from course_gen.widgets._figure_view import LiveFigure, live_view

IMAGE_SETS = ("digits", "shapes", "patches")
DATA_SETS = IMAGE_SETS + tuple(f"toy2d: {name}" for name in data.TOY2D_NAMES)
#: Images per row of the grid; dots per inch of the browser's picture (shown 1:1).
NROW, DPI = 8, 80


def _examples(name: str, n: int, seed: int) -> torch.Tensor:
    """``n`` images ``(n, 1, H, W)`` of an image set, or ``50 n`` points ``(50 n, 2)`` of a toy set."""
    if name not in DATA_SETS:
        raise ValueError(f"unknown data set {name!r}; choose one of {', '.join(DATA_SETS)}")
    if name == "digits":
        images, _ = data.digits("train")
        return images[(seed * n + torch.arange(n)) % len(images)]
    if name == "shapes":
        return data.shapes(n, size=32, seed=seed)[0]
    if name == "patches":
        return data.patches(n, size=8, seed=seed).reshape(n, 1, 8, 8)
    return data.toy2d(name.split(": ", 1)[1], 50 * n, seed=seed)


def draw_data_set(name: str, n: int = 32, seed: int = 0):
    """A matplotlib figure of ``n`` examples of the data set ``name`` (one of ``DATA_SETS``)."""
    examples = _examples(name, n, seed)
    if name in IMAGE_SETS:
        return image_grid(examples, nrow=NROW)
    return plot_samples_2d(examples, title=name.split(": ", 1)[1])


class _BrowserFigure:
    """The browser's figure: an image grid panel over the whole figure and a square scatter panel in
    its middle, one of them visible. :meth:`show` puts a set's examples in the panel it needs."""

    def __init__(self, n: int):
        ncols, nrows = min(NROW, n), math.ceil(n / NROW)
        tile = min(8.0 / ncols, 6.0 / nrows, 1.0)  # inches per tile, as image_grid sizes its figure
        width, height = max(4.0, ncols * tile), max(4.0, nrows * tile)
        self.figure = Figure(figsize=(width, height), dpi=DPI)
        self.grid_ax = self.figure.add_axes((0.01, 0.01, 0.98, 0.98))
        image_grid(torch.zeros(n, 1, 8, 8), nrow=NROW, ax=self.grid_ax)
        side = min(0.82 * height, 0.85 * width)  # inches: the scatter panel is square, with room for title and ticks
        self.toy_ax = self.figure.add_axes((0.5 - side / width / 2 + 0.03, 0.07, side / width, side / height))
        # the look of plot_samples_2d (dots of area 4 pt^2, alpha 0.5), as markers of one line: drawn faster
        (self.points,) = self.toy_ax.plot([], [], "o", markersize=2, markeredgewidth=0, alpha=0.5, color="C0")
        self.toy_ax.set_aspect("equal", adjustable="box")  # a square window (below) in a square panel
        self.live = LiveFigure(self.figure)

    def show(self, name: str, examples: torch.Tensor) -> None:
        is_image = name in IMAGE_SETS
        self.grid_ax.set_visible(is_image)
        self.toy_ax.set_visible(not is_image)
        if is_image:
            grid = make_grid(examples, nrow=NROW, pad_value=1.0)
            picture = self.grid_ax.images[0]
            picture.set_data(grid)
            picture.set_extent((-0.5, grid.shape[1] - 0.5, grid.shape[0] - 0.5, -0.5))
            self.grid_ax.set_xlim(-0.5, grid.shape[1] - 0.5)
            self.grid_ax.set_ylim(grid.shape[0] - 0.5, -0.5)
            return
        points = examples.numpy()
        self.points.set_data(points[:, 0], points[:, 1])
        low, high = points.min(0), points.max(0)
        centre, half = (low + high) / 2, 0.55 * (high - low).max()
        self.toy_ax.set_xlim(centre[0] - half, centre[0] + half)
        self.toy_ax.set_ylim(centre[1] - half, centre[1] + half)
        self.toy_ax.set_title(name.split(": ", 1)[1])


def data_browser(n: int = 32) -> w.VBox:
    """A dropdown of data sets and a seed slider above ``n`` examples of the chosen set (an image grid,
    8 a row, or a scatter plot of ``50 n`` points of a 2-D toy set); the picture redraws on every change.

    Attributes for tests and notebooks: ``dropdown``, ``seed``, ``image`` (an
    ``ipywidgets.Image`` holding the PNG that was drawn last).
    """
    if not isinstance(n, int) or not 1 <= n <= 256:
        raise ValueError(f"n must be an int between 1 and 256, got {n!r}")
    dropdown = w.Dropdown(options=DATA_SETS, value="digits", description="data set")
    seed = w.IntSlider(value=0, min=0, max=20, description="seed", continuous_update=False)
    picture = _BrowserFigure(n)
    return live_view(picture.live, {"dropdown": dropdown, "seed": seed},
                     lambda: picture.show(dropdown.value, _examples(dropdown.value, n, seed.value)))
