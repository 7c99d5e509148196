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
from matplotlib.patches import Rectangle

from course_gen._checks import check_finite_number, check_int, check_positive_number, check_tensor
from course_gen.plotting import make_grid
from course_gen.runtime import evaluating, model_device
from course_gen.vae import VAE, kl_per_dimension
from course_gen.widgets._figure_view import figure_view

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


@torch.no_grad()
def draw_latent_traversal(model: VAE, x: torch.Tensor, index: int = 0, latent: int = 0, value: float = 0.0,
                          values=None, kl=None):
    """The figure :func:`latent_traversal` shows.

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
    image = x[index:index + 1]
    grid_images = traverse(model, image, values)
    with evaluating(model):
        mu, _ = model.encode(image)
        moved = mu.clone()
        moved[0, latent] = value
        decoded = model.decode(torch.cat([mu, moved])).cpu()
    image_shape = model.image_shape

    fig = plt.figure(figsize=(11.0, 0.55 * model.latent_dim + 2.6))
    outer = fig.add_gridspec(1, 2, width_ratios=[1.0, 2.6], wspace=0.15)
    left = outer[0].subgridspec(3, 1, hspace=0.5)
    panels = [
        (image.reshape(image_shape).cpu(), f"image {index}"),
        (decoded[0], "reconstruction"),
        (decoded[1], f"z{latent} = {float(value):+.1f}"),
    ]
    for row, (picture, title) in enumerate(panels):
        ax = fig.add_subplot(left[row])
        ax.imshow(picture[0].numpy(), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(title, fontsize=11)
        ax.set_xticks([])
        ax.set_yticks([])

    ax = fig.add_subplot(outer[1])
    k, count = grid_images.shape[:2]
    mosaic = make_grid(grid_images.reshape(k * count, *image_shape), nrow=count, pad=1, pad_value=0.5)
    ax.imshow(mosaic, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    height, width = image_shape[-2:]
    ax.add_patch(Rectangle((-0.5, latent * (height + 1) - 0.5), count * (width + 1) - 1, height,
                           fill=False, edgecolor="red", linewidth=2.5))
    labels = [f"z{j}" + (f" ({float(kl[j]):.2f})" if kl is not None else "") for j in range(k)]
    ax.set_yticks(np.arange(k) * (height + 1) + (height - 1) / 2, labels, fontsize=10)
    ax.set_xticks(np.arange(count) * (width + 1) + (width - 1) / 2, [f"{v:+.1f}" for v in values.tolist()],
                  fontsize=9)
    ax.set_xlabel("value of the latent")
    ax.set_title("each row moves one latent" + (" (KL in nats)" if kl is not None else ""), fontsize=12)
    return fig


def latent_traversal(model: VAE, x: torch.Tensor, values=None, limit: float = 3.0) -> w.VBox:
    """A widget: sliders ``index`` (which image of ``x``), ``latent`` (which coordinate) and
    ``value`` (what it is set to, in ``[-limit, limit]``) above :func:`draw_latent_traversal`.
    The rows are labelled with each latent's average KL over ``x``.

    Attributes: ``index``, ``latent``, ``value`` and ``image`` (the redrawn ``ipywidgets.Image``).
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
    return figure_view(
        lambda: draw_latent_traversal(model, x, index.value, latent.value, value.value, values, kl),
        {"index": index, "latent": latent, "value": value},
        rows=[[index, latent, value]],
        max_width="900px",
    )
