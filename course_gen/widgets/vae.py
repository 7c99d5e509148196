"""Latent traversal: move one latent of a VAE's code and watch what changes in the image.

Start from the posterior mean ``mu(x)`` of an image, replace coordinate ``j`` by a value ``v``
and decode. In a disentangled model (a beta-VAE on data with known factors) each active latent
moves one factor (position, size, ...) and inactive latents (KL ~ 0) change nothing.

- :func:`draw_latent_traversal`: the figure for one image, one latent and one value;
- :func:`latent_traversal`: a widget with sliders for the image, the latent and the value.
"""

from __future__ import annotations

import ipywidgets as w
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from course_gen._checks import check_finite_number, check_int, check_positive_number, check_tensor
from course_gen.plotting import make_grid
from course_gen.runtime import evaluating, model_device
from course_gen.vae import VAE, kl_per_dimension
from course_gen.widgets._figure_view import FigureBox, LiveFigure, live_view

__all__ = ["draw_latent_traversal", "latent_traversal", "traverse"]


def _check_model_and_images(model, x) -> None:
    """A VAE and a batch of images it takes (the model's own checks: shape, range, finiteness)."""
    if not isinstance(model, VAE):
        raise TypeError(f"model must be a course_gen.vae.VAE, got {type(model).__name__}")
    model._check_input(x, "encode")


def _check_values(values) -> torch.Tensor:
    if isinstance(values, torch.Tensor):
        check_tensor("values", values, finite=False)
    try:
        values = torch.as_tensor(values, dtype=torch.float32).reshape(-1)
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(f"values must be a sequence of numbers, got {type(values).__name__}") from err
    if values.numel() < 2 or not bool(torch.isfinite(values).all()):
        raise ValueError(f"values must hold at least 2 finite numbers, got {values.tolist()}")
    return values


@torch.no_grad()
def traverse(model: VAE, x: torch.Tensor, values) -> torch.Tensor:
    """Images ``(k, V, *image_shape)``: row ``j`` decodes ``mu(x)`` with latent ``j`` set to each
    of the ``V`` ``values`` (``x``: one image, batch of 1)."""
    _check_model_and_images(model, x)
    values = _check_values(values).to(model_device(model))
    k = model.latent_dim
    with evaluating(model):
        mu, _ = model.encode(x[:1])
        codes = mu.repeat(k * len(values), 1).reshape(k, len(values), k)
        for j in range(k):
            codes[j, :, j] = values
        images = model.decode(codes.reshape(-1, k))
    return images.reshape(k, len(values), *model.image_shape).cpu()


#: Dots per inch of the widget's picture: it is shown at its own size (1 px : 1 px).
DPI = 80
#: Inches of the picture: the column of images, the grid's row labels, the side margins, below and above the grid.
PANEL_IN, LABELS_IN, MARGIN_IN, BOTTOM_IN, TOP_IN = 1.4, 1.0, 0.1, 0.65, 0.45


def _bare_image(ax, picture: torch.Tensor, title: str):
    """One grey image ``(1, H, W)`` in [0, 1] without ticks, titled; returns the ``AxesImage`` and the title."""
    shown = ax.imshow(picture[0].numpy(), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    return shown, ax.set_title(title, fontsize=11)


class _TraversalPicture:
    """The figure of :func:`draw_latent_traversal`, laid out once by :meth:`build`; :meth:`show` moves it.

    What depends only on the image (its code ``mu``, its reconstruction, the traversal grid) is computed
    once per image index and kept; a new latent or value decodes one code. ``moving`` lists what the
    controls change: the pictures, the red frame on the grid, the image's and the moved decoding's titles.
    """

    def __init__(self, model: VAE, x: torch.Tensor, values: torch.Tensor, kl: torch.Tensor | None):
        self.model, self.x, self.values, self.kl = model, x, values, kl
        self._images: dict[int, tuple[torch.Tensor, torch.Tensor, torch.Tensor, np.ndarray]] = {}

    @torch.no_grad()
    def of_image(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, np.ndarray]:
        """For ``x[index]``: the image ``(1, H, W)``, its code ``mu`` ``(1, k)``, its reconstruction
        ``decode(mu)`` and the traversal grid's mosaic (computed once)."""
        if index not in self._images:
            image = self.x[index:index + 1]
            grid_images = traverse(self.model, image, self.values)
            with evaluating(self.model):
                mu, _ = self.model.encode(image)
                reconstruction = self.model.decode(mu).cpu()[0]
            k, count = grid_images.shape[:2]
            mosaic = make_grid(grid_images.reshape(k * count, *self.model.image_shape), nrow=count, pad=1,
                               pad_value=0.5)
            self._images[index] = image.reshape(self.model.image_shape).cpu(), mu, reconstruction, mosaic
        return self._images[index]

    @torch.no_grad()
    def moved(self, index: int, latent: int, value: float) -> torch.Tensor:
        """``decode(mu)`` of ``x[index]`` with latent ``latent`` set to ``value``, ``(1, H, W)``."""
        code = self.of_image(index)[1].clone()
        code[0, latent] = value
        with evaluating(self.model):
            return self.model.decode(code).cpu()[0]

    def build(self, figure, index: int, latent: int, value: float):
        """Lay the picture out on ``figure`` (empty) for ``index``, ``latent`` and ``value``; returns the figure."""
        self.figure, self.index = figure, index
        image, _, reconstruction, mosaic = self.of_image(index)
        width_in, height_in = figure.get_size_inches()
        grid_width = width_in - (PANEL_IN + LABELS_IN + 2 * MARGIN_IN)
        outer = figure.add_gridspec(1, 2, width_ratios=[PANEL_IN, grid_width],
                                    wspace=LABELS_IN / ((PANEL_IN + grid_width) / 2), left=MARGIN_IN / width_in,
                                    right=1 - MARGIN_IN / width_in, bottom=BOTTOM_IN / height_in,
                                    top=1 - TOP_IN / height_in)
        left = outer[0].subgridspec(3, 1, hspace=0.5)
        panels = [(image, f"image {index}"), (reconstruction, "reconstruction"),
                  (self.moved(index, latent, value), f"z{latent} = {float(value):+.1f}")]
        self.panels = [_bare_image(figure.add_subplot(left[row]), *panel) for row, panel in enumerate(panels)]

        ax = figure.add_subplot(outer[1])
        self.mosaic = ax.imshow(mosaic, cmap="gray", vmin=0, vmax=1, interpolation="nearest", zorder=1)
        ax.set_axisbelow(True)  # tick marks under the grid, as in the background it is redrawn over
        k, count = self.model.latent_dim, len(self.values)
        height, width = self.model.image_shape[-2:]
        self.frame = ax.add_patch(Rectangle((-0.5, latent * (height + 1) - 0.5), count * (width + 1) - 1, height,
                                            fill=False, edgecolor="red", linewidth=2.5))
        kl = self.kl
        labels = [f"z{j}" + (f" ({float(kl[j]):.2f})" if kl is not None else "") for j in range(k)]
        ax.set_yticks(np.arange(k) * (height + 1) + (height - 1) / 2, labels, fontsize=10)
        ax.set_xticks(np.arange(count) * (width + 1) + (width - 1) / 2,
                      [f"{v:+.1f}" for v in self.values.tolist()], fontsize=9)
        ax.set_xlabel("value of the latent")
        ax.set_title("each row moves one latent" + (" (KL in nats)" if kl is not None else ""), fontsize=12)
        # the pictures (with their frames), the red frame, the image's and the moved decoding's titles: the
        # axes, labels and other titles are drawn once
        images = [self.panels[0][0], self.panels[1][0], self.panels[2][0], self.mosaic]
        self.moving = [*images, self.frame, *(spine for shown in images for spine in shown.axes.spines.values()),
                       self.panels[0][1], self.panels[2][1]]
        return figure

    def show(self, index: int, latent: int, value: float) -> None:
        """Move the picture to ``index``, ``latent`` and ``value`` (only ``moving`` artists change)."""
        new_image, self.index = index != self.index, index
        moved, moved_title = self.panels[2]
        moved.set_data(self.moved(index, latent, value)[0].numpy())
        moved_title.set_text(f"z{latent} = {float(value):+.1f}")
        height = self.model.image_shape[-2]
        self.frame.set_y(latent * (height + 1) - 0.5)
        if new_image:
            image, _, reconstruction, mosaic = self.of_image(index)
            self.panels[0][0].set_data(image[0].numpy())
            self.panels[0][1].set_text(f"image {index}")
            self.panels[1][0].set_data(reconstruction[0].numpy())
            self.mosaic.set_data(mosaic)


def _traversal_size(model: VAE, values: torch.Tensor) -> tuple[float, float]:
    """The figure's inches: as tall as the latents need, as wide as the grid's rows then are (at most 11)."""
    height = 0.55 * model.latent_dim + 2.6
    rows, columns = model.latent_dim, len(values)
    tile_height, tile_width = model.image_shape[-2:]
    aspect = (columns * (tile_width + 1) - 1) / (rows * (tile_height + 1) - 1)
    grid_width = aspect * (height - BOTTOM_IN - TOP_IN)
    return min(PANEL_IN + LABELS_IN + 2 * MARGIN_IN + grid_width, 11.0), height


def draw_latent_traversal(model: VAE, x: torch.Tensor, index: int = 0, latent: int = 0, value: float = 0.0,
                          values=None, kl=None):
    """The figure :func:`latent_traversal` shows (a new pyplot figure).

    Left: image ``x[index]``, its reconstruction ``decode(mu)``, and ``decode(mu)`` with latent
    ``latent`` set to ``value``. Right: the traversal grid (:func:`traverse`) of every latent over
    ``values`` (default -3..3), the chosen latent framed in red, each row labelled with its
    average KL (``kl``, nats; inactive latents are near 0 and change nothing).
    """
    _check_model_and_images(model, x)
    index = check_int("index", index, minimum=0, maximum=x.shape[0] - 1)
    latent = check_int("latent", latent, minimum=0, maximum=model.latent_dim - 1)
    values = _check_values(torch.linspace(-3, 3, 9) if values is None else values)
    value = check_finite_number("value", value)
    if kl is not None:
        kl = check_tensor("kl", kl, shape=(model.latent_dim,), what="(one KL per latent)")
    picture = _TraversalPicture(model, x, values, kl)
    return picture.build(plt.figure(figsize=_traversal_size(model, values)), index, latent, value)


def latent_traversal(model: VAE, x: torch.Tensor, values=None, limit: float = 3.0) -> FigureBox:
    """A widget: sliders ``index`` (which image of ``x``), ``latent`` (which coordinate) and
    ``value`` (what it is set to, in ``[-limit, limit]``) above :func:`draw_latent_traversal`'s picture,
    drawn once and redrawn in place (the KL per latent computed once, each image's code, reconstruction
    and traversal grid once; a new latent or value decodes one code). The rows are labelled with each
    latent's average KL over ``x``.

    Attributes: ``index``, ``latent``, ``value``, ``image`` (the redrawn ``ipywidgets.Image``), ``picture``
    (the cached decodings and the figure's artists) and ``live`` (its
    :class:`~course_gen.widgets._figure_view.LiveFigure`).
    """
    _check_model_and_images(model, x)
    if check_positive_number("limit", limit) > 10:
        raise ValueError(f"limit must be a number in (0, 10], got {limit!r}")
    values = _check_values(torch.linspace(-limit, limit, 9) if values is None else values)
    with evaluating(model):
        kl = kl_per_dimension(model, x).cpu()
    index = w.IntSlider(value=0, min=0, max=x.shape[0] - 1, description="image", continuous_update=False)
    latent = w.IntSlider(value=int(kl.argmax()), min=0, max=model.latent_dim - 1, description="latent",
                         continuous_update=False)
    value = w.FloatSlider(value=0.0, min=-limit, max=limit, step=limit / 20, description="value",
                          continuous_update=False)
    picture = _TraversalPicture(model, x, values, kl)
    figure = Figure(figsize=_traversal_size(model, values), dpi=DPI)
    live = LiveFigure(picture.build(figure, index.value, latent.value, value.value), picture.moving)
    box = live_view(live, {"index": index, "latent": latent, "value": value},
                    lambda: picture.show(index.value, latent.value, value.value), rows=[[index, latent, value]])
    box.picture, box.live = picture, live
    return box
