"""A browser for the embedded data sets: pick a set and a seed, see a page of examples."""

from __future__ import annotations

import ipywidgets as w
import torch

from course_gen import data
from course_gen.plotting import image_grid, plot_samples_2d
from course_gen.widgets._figure_view import figure_view

IMAGE_SETS = ("digits", "shapes", "patches")
DATA_SETS = IMAGE_SETS + tuple(f"toy2d: {name}" for name in data.TOY2D_NAMES)


def draw_data_set(name: str, n: int = 32, seed: int = 0):
    """A matplotlib figure of ``n`` examples of the data set ``name`` (one of ``DATA_SETS``)."""
    if name not in DATA_SETS:
        raise ValueError(f"unknown data set {name!r}; choose one of {', '.join(DATA_SETS)}")
    if name == "digits":
        images, _ = data.digits("train")
        pick = images[(seed * n + torch.arange(n)) % len(images)]
        return image_grid(pick, nrow=8)
    if name == "shapes":
        images, _ = data.shapes(n, size=32, seed=seed)
        return image_grid(images, nrow=8)
    if name == "patches":
        patches = data.patches(n, size=8, seed=seed)
        return image_grid(patches.reshape(n, 1, 8, 8), nrow=8)
    toy_name = name.split(": ", 1)[1]
    return plot_samples_2d(data.toy2d(toy_name, 50 * n, seed=seed), title=toy_name)


def data_browser(n: int = 32) -> w.VBox:
    """A dropdown of data sets and a seed slider; the picture redraws on every change.

    Attributes for tests and notebooks: ``dropdown``, ``seed``, ``image`` (an
    ``ipywidgets.Image`` holding the PNG that was drawn last).
    """
    if not isinstance(n, int) or not 1 <= n <= 256:
        raise ValueError(f"n must be an int between 1 and 256, got {n!r}")
    dropdown = w.Dropdown(options=DATA_SETS, value="digits", description="data set")
    seed = w.IntSlider(value=0, min=0, max=20, description="seed", continuous_update=False)
    return figure_view(
        lambda: draw_data_set(dropdown.value, n=n, seed=seed.value),
        {"dropdown": dropdown, "seed": seed},
        max_width="640px",
    )
