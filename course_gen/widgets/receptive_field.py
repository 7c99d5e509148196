"""Receptive fields of PixelCNN and Gated PixelCNN, computed with gradients; the blind spot marked.

- :func:`draw_receptive_fields`: for each model, ``|d out(i, j) / d x|`` on a log colour scale
  (:func:`course_gen.autoregressive.receptive_field`), the output pixel framed in red, the
  nominal receptive field outlined and the blind spot (nominal field, zero gradient) crossed.
- :class:`FieldProbe`: a model's fields pixel by pixel, one forward pass for all (cached).
- :func:`receptive_field_viewer`: choose the models, kernel size, number of layers and the
  output pixel; plain and gated side by side, drawn once and redrawn in place
  (:class:`ReceptiveFieldViewer`, ``live_view``), the fields of a model computed once for all pixels.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterable, Sequence

import ipywidgets as w
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from course_gen._checks import check_choice, check_int, check_seed
from course_gen.autoregressive import (
    GatedPixelCNN,
    PixelCNN,
    nominal_receptive_field,
    receptive_field,
)
from course_gen.runtime import model_device, seeded
from course_gen.widgets._figure_view import FigureBox, KeptLiveFigure, live_view

__all__ = ["draw_receptive_fields", "FieldProbe", "layers_label", "MODEL_CHOICES", "random_model",
           "receptive_field_viewer", "ReceptiveFieldViewer"]

#: What :func:`receptive_field_viewer` can show.
MODEL_CHOICES = ("PixelCNN | Gated PixelCNN", "PixelCNN", "Gated PixelCNN")
#: Dots per inch of the viewer's picture: shown at its own size (1 px : 1 px).
DPI = 90
#: Where the viewer's panels sit (figure fractions), for one panel and for two.
_PANEL_BOXES = {1: [(0.28, 0.03, 0.44, 0.78)], 2: [(0.03, 0.03, 0.44, 0.78), (0.53, 0.03, 0.44, 0.78)]}


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


def _outline_segments(mask: np.ndarray) -> np.ndarray:
    """The boundary of the True region of ``mask`` along pixel edges, as segments ``(N, 2, 2)`` of (x, y) points."""
    padded = np.pad(np.asarray(mask, dtype=bool), 1)
    inside = padded[1:-1, 1:-1]
    segments = []
    # (neighbour that must be outside, the edge's two corners relative to the pixel centre)
    for neighbour, corners in ((padded[:-2, 1:-1], ((-0.5, -0.5), (0.5, -0.5))),   # above: top edge
                               (padded[2:, 1:-1], ((-0.5, 0.5), (0.5, 0.5))),      # below: bottom edge
                               (padded[1:-1, :-2], ((-0.5, -0.5), (-0.5, 0.5))),   # left: left edge
                               (padded[1:-1, 2:], ((0.5, -0.5), (0.5, 0.5)))):     # right: right edge
        rows, cols = np.nonzero(inside & ~neighbour)
        centre = np.column_stack([cols, rows]).astype(float)[:, None, :]
        segments.append(centre + np.asarray(corners)[None])
    return np.concatenate(segments)


class _FieldPanel:
    """One panel of :func:`draw_receptive_fields` on ``ax`` for images of ``shape``: built once, redrawn by
    :meth:`show` (the field on a log colour scale, the nominal outline, the blind spot, the output pixel)."""

    def __init__(self, ax, shape):
        height, width = shape
        self.ax = ax
        ax.set_facecolor("#e8e8e8")  # zero gradient: light grey
        self.image = ax.imshow(np.zeros(shape), cmap="viridis", interpolation="nearest")
        self.outline = ax.add_collection(LineCollection(np.empty((0, 2, 2)), colors="black", linewidths=1.5))
        self.blind = ax.scatter(np.empty(0), np.empty(0), marker="x", color="orangered", s=40, linewidths=2,
                                label="blind spot")
        self.pixel = ax.add_patch(Rectangle((0, 0), 1, 1, fill=False, edgecolor="red", linewidth=2.5))
        ax.set_xlim(-0.5, width - 0.5)
        ax.set_ylim(height - 0.5, -0.5)
        ax.set_xticks([])
        ax.set_yticks([])

    def show(self, title: str, grad: np.ndarray, nominal: np.ndarray, pixel) -> int:
        """Draw ``grad`` = ``|d out(pixel) / d x|`` (H, W) and the ``nominal`` field (bool (H, W)); returns the
        number of blind-spot pixels (nominal, zero gradient), which the title gives under ``title``."""
        seen = grad > 0
        spot = nominal & ~seen
        self.image.set_visible(bool(seen.any()))
        if seen.any():
            shown = np.full(grad.shape, np.nan)
            shown[seen] = np.log10(grad[seen])
            self.image.set_data(shown)
            self.image.set_clim(shown[seen].min(), shown[seen].max())
        self.outline.set_segments(_outline_segments(nominal))
        rows, cols = np.nonzero(spot)
        self.blind.set_offsets(np.column_stack([cols, rows]).astype(float))
        i, j = pixel
        self.pixel.set_xy((j - 0.5, i - 0.5))
        n_blind = int(spot.sum())
        self.ax.set_title(f"{title}\nblind spot: {n_blind} pixel{'' if n_blind == 1 else 's'}", fontsize=11, y=1.0)
        return n_blind


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
    fields = [(title, receptive_field(model, shape, pixel).numpy(),  # checks model, shape and pixel
               nominal_receptive_field(model, shape, pixel).numpy()) for title, model in models]
    nrows = -(-len(models) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.1 * ncols, 3.4 * nrows), squeeze=False)
    for ax, (title, grad, nominal) in zip(axes.flat, fields):
        _FieldPanel(ax, grad.shape).show(title, grad, nominal, pixel)
    for ax in list(axes.flat)[len(models):]:
        ax.axis("off")
    fig.tight_layout()
    return fig


class FieldProbe:
    """What output pixels see in one model: :func:`~course_gen.autoregressive.receptive_field` per pixel, fast.

    ``FieldProbe(model, shape=(12, 12), seed=0)`` runs the forward pass once (a float64 copy of the model in
    eval mode, at the same seeded binary image as ``receptive_field``) and keeps its graph; :meth:`field`
    is then one backward pass per output pixel (cached), :meth:`nominal` the nominal field (cached).
    """

    def __init__(self, model, shape=(12, 12), seed: int = 0):
        self.model = model
        self.shape = _check_pair("shape", shape, minimum=1, maximum=64)
        nominal_receptive_field(model, self.shape, (0, 0))  # checks the model
        probe = copy.deepcopy(model).to(torch.float64).eval()
        generator = torch.Generator().manual_seed(check_seed(seed))
        x = torch.randint(0, probe.n_levels, (1, probe.channels, *self.shape), generator=generator)
        self.x = x.to(model_device(probe), torch.float64).requires_grad_(True)
        with torch.enable_grad():
            self.logits = probe(self.x)
        self._fields: dict[tuple[int, int], np.ndarray] = {}
        self._nominal: dict[tuple[int, int], np.ndarray] = {}

    def field(self, pixel) -> np.ndarray:
        """``|d out(i, j) / d x|`` summed over channels, (H, W) float64: ``receptive_field(model, shape, pixel)``."""
        pixel = self._pixel(pixel)
        if pixel not in self._fields:
            i, j = pixel
            (grad,) = torch.autograd.grad(self.logits[..., i, j].sum(), self.x, retain_graph=True)
            self._fields[pixel] = grad.abs().sum(dim=(0, 1)).cpu().numpy()
        return self._fields[pixel]

    def nominal(self, pixel) -> np.ndarray:
        """Bool (H, W): ``nominal_receptive_field(model, shape, pixel)``."""
        pixel = self._pixel(pixel)
        if pixel not in self._nominal:
            self._nominal[pixel] = nominal_receptive_field(self.model, self.shape, pixel).numpy()
        return self._nominal[pixel]

    def _pixel(self, pixel) -> tuple[int, int]:
        i, j = _check_pair("pixel", pixel, minimum=0)
        if i >= self.shape[0] or j >= self.shape[1]:
            raise ValueError(f"pixel must lie in the image {self.shape}, got {pixel!r}")
        return i, j


def _check_pair(name: str, value, minimum: int, maximum: int | None = None) -> tuple[int, int]:
    """Two ints in [minimum, maximum] (a tuple or list)."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f"{name} must be two ints, got {value!r}")
    return tuple(check_int(f"{name} entry", v, minimum=minimum, maximum=maximum) for v in value)


class ReceptiveFieldViewer:
    """The state of :func:`receptive_field_viewer`: one or two panels built once, every field cached.

    ``ReceptiveFieldViewer(shape=(12, 12), hidden_channels=8)``. :meth:`show` picks the models
    (:data:`MODEL_CHOICES`), kernel size, depth and output pixel; the fields of all pixels of a (model,
    kernel, depth) come from one forward pass and one backward pass per pixel, all kept (:class:`FieldProbe`).
    :meth:`png` renders the picture at its own size (``DPI``); the last pictures drawn are kept
    (:class:`~course_gen.widgets.masks.KeptLiveFigure`), so dragging back over pixels seen costs nothing.
    """

    def __init__(self, shape=(12, 12), hidden_channels: int = 8):
        self.shape = _check_pair("shape", shape, minimum=2, maximum=32)
        self.hidden_channels = check_int("hidden_channels", hidden_channels, minimum=1, maximum=64)
        self._probes: dict[tuple[str, int, int], FieldProbe] = {}
        fig = Figure(figsize=(6.6, 3.6), dpi=DPI)
        self.panels = [_FieldPanel(fig.add_axes(_PANEL_BOXES[2][k]), self.shape) for k in range(2)]
        self.settings = ()
        self.figure, self.live = fig, KeptLiveFigure(fig, key=lambda: self.settings)

    def probe(self, kind: str, kernel_size: int, n_layers: int) -> FieldProbe:
        """The :class:`FieldProbe` of ``random_model(kind, n_layers, kernel_size, hidden_channels)`` (cached)."""
        key = (kind, kernel_size, n_layers)
        if key not in self._probes:
            self._probes[key] = FieldProbe(random_model(kind, n_layers, kernel_size, self.hidden_channels), self.shape)
        return self._probes[key]

    def show(self, model: str, kernel_size: int, n_layers: int, row: int, col: int) -> None:
        """Panels for ``model`` (one of :data:`MODEL_CHOICES`) and output pixel ``(row, col)``."""
        check_choice("model", model, MODEL_CHOICES)
        kernel_size = check_int("kernel_size", kernel_size, minimum=1, maximum=11)
        n_layers = check_int("n_layers", n_layers, minimum=1, maximum=12)
        row = check_int("row", row, minimum=0, maximum=self.shape[0] - 1)
        col = check_int("col", col, minimum=0, maximum=self.shape[1] - 1)
        self.settings = (model, kernel_size, n_layers, row, col)
        if self.settings in self.live:
            return  # drawn before: png() gives the kept picture
        kinds = ("PixelCNN", "Gated PixelCNN") if model == MODEL_CHOICES[0] else (model,)
        for index, panel in enumerate(self.panels):
            panel.ax.set_visible(index < len(kinds))
            if index < len(kinds):
                panel.ax.set_position(_PANEL_BOXES[len(kinds)][index])
                probe = self.probe(kinds[index], kernel_size, n_layers)
                panel.show(f"{kinds[index]}, {layers_label(n_layers)}", probe.field((row, col)),
                           probe.nominal((row, col)), (row, col))

    def png(self) -> bytes:
        """The current picture, PNG bytes."""
        return self.live.png()


def receptive_field_viewer(shape=(12, 12), max_layers: int = 6, hidden_channels: int = 8) -> FigureBox:
    """Receptive fields of untrained PixelCNN and Gated PixelCNN, side by side (see :class:`ReceptiveFieldViewer`).

    Controls: ``model`` (both, or one of them), ``kernel_size`` (3 or 5), ``n_layers``
    (1..max_layers), ``row`` and ``col`` of the output pixel. Attributes: those controls, ``viewer``
    (the state) and ``image`` (the picture, as :func:`draw_receptive_fields` draws it).
    """
    max_layers = check_int("max_layers", max_layers, minimum=1, maximum=12)
    viewer = ReceptiveFieldViewer(shape, hidden_channels)
    height, width = viewer.shape
    model = w.ToggleButtons(options=MODEL_CHOICES, value=MODEL_CHOICES[0], description="model")
    kernel = w.ToggleButtons(options=[3, 5], value=3, description="kernel")
    layers = w.IntSlider(value=min(3, max_layers), min=1, max=max_layers, description="layers",
                         continuous_update=False)
    row = w.IntSlider(value=(2 * height) // 3, min=0, max=height - 1, description="row", continuous_update=False)
    col = w.IntSlider(value=width // 2, min=0, max=width - 1, description="column", continuous_update=False)

    def update() -> None:
        viewer.show(model.value, kernel.value, layers.value, row.value, col.value)

    controls = {"model": model, "kernel_size": kernel, "n_layers": layers, "row": row, "col": col}
    box = live_view(viewer.live, controls, update, rows=[[model], [kernel, layers], [row, col]])
    box.viewer = viewer
    return box
