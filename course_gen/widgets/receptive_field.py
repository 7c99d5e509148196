"""Receptive fields of PixelCNN and Gated PixelCNN, computed with gradients; the blind spot marked.

- :func:`draw_receptive_fields`: for each model, ``|d out(i, j) / d x|`` on a log colour scale
  (:func:`course_gen.autoregressive.receptive_field`), the output pixel framed in red, the
  nominal receptive field outlined and the blind spot (nominal field, zero gradient) crossed.
- :func:`receptive_field_viewer`: choose the models, kernel size, number of layers and the
  output pixel; plain and gated side by side (built with ``figure_view``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence

import ipywidgets as w
import matplotlib.pyplot as plt
import numpy as np
import torch

from course_gen._checks import check_choice, check_int
from course_gen.autoregressive import (
    GatedPixelCNN,
    PixelCNN,
    blind_spot,
    nominal_receptive_field,
    receptive_field,
)
from course_gen.runtime import seeded
from course_gen.widgets._figure_view import figure_view

__all__ = ["MODEL_CHOICES", "draw_receptive_fields", "layers_label", "random_model", "receptive_field_viewer"]

#: What :func:`receptive_field_viewer` can show.
MODEL_CHOICES = ("PixelCNN | Gated PixelCNN", "PixelCNN", "Gated PixelCNN")


def layers_label(n_layers: int) -> str:
    """``"1 layer"``, ``"2 layers"``, ...: the depth as a title says it."""
    n_layers = check_int("n_layers", n_layers, minimum=0)
    return f"{n_layers} layer" if n_layers == 1 else f"{n_layers} layers"


@functools.lru_cache(maxsize=64)
def random_model(kind: str, n_layers: int, kernel_size: int = 3, hidden_channels: int = 8, seed: int = 0):
    """An untrained ``"PixelCNN"`` or ``"Gated PixelCNN"`` with seeded random weights (cached).

    Which pixels an output can see depends on the architecture only, so random weights show it.
    """
    check_choice("kind", kind, ("PixelCNN", "Gated PixelCNN"))
    model_class = PixelCNN if kind == "PixelCNN" else GatedPixelCNN
    with seeded(seed):  # the caller's random stream is left as it was
        return model_class(n_layers=n_layers, hidden_channels=hidden_channels, kernel_size=kernel_size).eval()


def _outline(ax, mask: np.ndarray, colour: str) -> None:
    """Draw the boundary of the True region of ``mask`` along pixel edges."""
    height, width = mask.shape
    padded = np.pad(mask, 1)
    for i in range(height):
        for j in range(width):
            if not mask[i, j]:
                continue
            if not padded[i, j + 1]:
                ax.plot([j - 0.5, j + 0.5], [i - 0.5, i - 0.5], color=colour, linewidth=1.5)
            if not padded[i + 2, j + 1]:
                ax.plot([j - 0.5, j + 0.5], [i + 0.5, i + 0.5], color=colour, linewidth=1.5)
            if not padded[i + 1, j]:
                ax.plot([j - 0.5, j - 0.5], [i - 0.5, i + 0.5], color=colour, linewidth=1.5)
            if not padded[i + 1, j + 2]:
                ax.plot([j + 0.5, j + 0.5], [i - 0.5, i + 0.5], color=colour, linewidth=1.5)


def _draw_one(ax, model, title: str, shape, pixel) -> int:
    grad = receptive_field(model, shape, pixel).numpy()  # checks model, shape and pixel
    spot = blind_spot(model, shape, pixel).numpy()
    nominal = nominal_receptive_field(model, shape, pixel).numpy()
    seen = grad > 0
    shown = np.full(grad.shape, np.nan)
    shown[seen] = np.log10(grad[seen])
    ax.set_facecolor("#e8e8e8")  # zero gradient: light grey
    if seen.any():
        ax.imshow(shown, cmap="viridis", interpolation="nearest")
    _outline(ax, nominal, "black")
    rows, cols = np.nonzero(spot)
    ax.scatter(cols, rows, marker="x", color="orangered", s=40, linewidths=2, label="blind spot")
    i, j = pixel
    ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2.5))
    ax.set_xlim(-0.5, shape[1] - 0.5)
    ax.set_ylim(shape[0] - 0.5, -0.5)
    ax.set_xticks([])
    ax.set_yticks([])
    n_blind = int(spot.sum())
    ax.set_title(f"{title}\nblind spot: {n_blind} pixel{'' if n_blind == 1 else 's'}", fontsize=11)
    return int(spot.sum())


def draw_receptive_fields(models: Sequence[tuple[str, torch.nn.Module]], shape=(12, 12), pixel=(8, 6), ncols=None):
    """One panel per ``(title, model)``: which input pixels output ``pixel`` depends on.

    Colour: ``log10 |d out(i, j) / d x|`` where non-zero (light grey: exactly zero). Red square: the
    output pixel; outline: the nominal receptive field; orange crosses: the blind spot (inside the
    nominal field, before the pixel, yet zero gradient).
    """
    if isinstance(models, (str, bytes)) or not isinstance(models, Iterable):
        raise TypeError(f"models must be a list of (title, model) pairs, got {type(models).__name__}")
    models = list(models)
    if not models:
        raise ValueError("models must hold at least one (title, model) pair")
    for entry in models:
        if not isinstance(entry, tuple) or len(entry) != 2:
            raise TypeError(f"models must be a list of (title, model) pairs, got an entry {entry!r:.80}")
    ncols = len(models) if ncols is None else check_int("ncols", ncols, minimum=1, maximum=len(models))
    nrows = -(-len(models) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.1 * ncols, 3.4 * nrows), squeeze=False)
    try:
        for ax, (title, model) in zip(axes.flat, models):
            _draw_one(ax, model, title, shape, pixel)
    except (TypeError, ValueError):
        plt.close(fig)
        raise
    for ax in list(axes.flat)[len(models):]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def receptive_field_viewer(shape=(12, 12), max_layers: int = 6, hidden_channels: int = 8) -> w.VBox:
    """Receptive fields of untrained PixelCNN and Gated PixelCNN, side by side.

    Controls: ``model`` (both, or one of them), ``kernel_size`` (3 or 5), ``n_layers``
    (1..max_layers), ``row`` and ``col`` of the output pixel. Attributes: those controls and
    ``image`` (the PNG drawn last by :func:`draw_receptive_fields`).
    """
    if isinstance(shape, (str, bytes)) or not isinstance(shape, Sequence) or len(shape) != 2:
        raise ValueError(f"shape must be (H, W), got {shape!r}")
    height, width = (check_int("shape entry", s, minimum=2, maximum=32) for s in shape)
    max_layers = check_int("max_layers", max_layers, minimum=1, maximum=12)
    hidden_channels = check_int("hidden_channels", hidden_channels, minimum=1, maximum=64)
    model = w.ToggleButtons(options=MODEL_CHOICES, value=MODEL_CHOICES[0], description="model")
    kernel = w.ToggleButtons(options=[3, 5], value=3, description="kernel")
    layers = w.IntSlider(value=min(3, max_layers), min=1, max=max_layers, description="layers",
                         continuous_update=False)
    row = w.IntSlider(value=(2 * height) // 3, min=0, max=height - 1, description="row", continuous_update=False)
    col = w.IntSlider(value=width // 2, min=0, max=width - 1, description="column", continuous_update=False)

    def draw():
        kinds = ("PixelCNN", "Gated PixelCNN") if model.value == MODEL_CHOICES[0] else (model.value,)
        panels = [
            (f"{kind}, {layers_label(layers.value)}", random_model(kind, layers.value, kernel.value, hidden_channels))
            for kind in kinds
        ]
        return draw_receptive_fields(panels, (height, width), (row.value, col.value))

    controls = {"model": model, "kernel_size": kernel, "n_layers": layers, "row": row, "col": col}
    return figure_view(draw, controls, rows=[[model], [kernel, layers], [row, col]])
