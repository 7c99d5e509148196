"""Walking through a latent space: interpolation between two codes, and a 2-D latent map.

Written once for every model with a decoder (autoencoders, VAEs, GANs):

- :func:`lerp` and :func:`slerp`, the two paths between codes ``z_a`` and ``z_b`` (defined in
  :mod:`course_gen.latent`, re-exported here);
- :func:`interpolation`: a slider (and play button) moving ``t`` from 0 to 1 along the
  path, redrawing the decoded image, next to the pixel-space blend ``(1 - t) x_a + t x_b``;
- :func:`latent_map`: for a 2-D code, the codes of the data as a scatter plot next to a
  grid of images decoded from a regular grid of codes;
- :func:`latent_explorer`: two sliders pick a code on that map and show what it decodes to,
  also outside the region the data occupies (off the data manifold).

``decode`` is any callable mapping codes ``(T, k)`` to images ``(T, C, H, W)``, ``(T, H, W)``
or flat ``(T, D)`` (give ``image_shape`` when ``D`` is not a square number). When it is a
module or a module's method (``model.decode``), codes are moved to that module's device.
"""

from __future__ import annotations

import math

import ipywidgets as w
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.patches import Rectangle

from course_gen._checks import (check_choice, check_int, check_nonnegative, check_ordered_pair, check_probability,
                                check_tensor)
from course_gen.latent import PATHS, check_codes, check_t, interpolation_path, lerp, slerp
from course_gen.plotting import make_grid
from course_gen.runtime import model_device
from course_gen.widgets._figure_view import figure_view

__all__ = [
    "PATHS",
    "draw_interpolation",
    "extent_of",
    "interpolation",
    "interpolation_path",
    "latent_explorer",
    "latent_map",
    "lerp",
    "slerp",
]

# ============================================================================ decoding


def _check_decode(decode) -> None:
    if not callable(decode):
        raise TypeError(f"decode must be callable (codes -> images), got {type(decode).__name__}")


def _check_image_shape(image_shape):
    if image_shape is None:
        return None
    shape = tuple(int(s) for s in image_shape)
    if len(shape) not in (2, 3) or any(s < 1 for s in shape):
        raise ValueError(f"image_shape must be (H, W) or (C, H, W) with C in {{1, 3}}, got {image_shape!r}")
    return shape if len(shape) == 3 else (1, *shape)


def _as_images(values, image_shape, what: str) -> torch.Tensor:
    """``values`` ``(T, ...)`` as images ``(T, C, H, W)`` on the CPU."""
    if not isinstance(values, torch.Tensor):
        raise TypeError(f"{what} must be a torch.Tensor, got {type(values).__name__}")
    values = values.detach().to("cpu", torch.float32)
    count = values.shape[0] if values.ndim else 0
    if image_shape is not None:
        if math.prod(values.shape[1:]) != math.prod(image_shape):
            raise ValueError(
                f"{what} has shape {tuple(values.shape)}: cannot view it as images {image_shape}"
            )
        return values.reshape(count, *image_shape)
    if values.ndim == 4 and values.shape[1] in (1, 3):
        return values
    if values.ndim == 3:
        return values[:, None]
    if values.ndim == 2 and math.isqrt(values.shape[1]) ** 2 == values.shape[1]:
        side = math.isqrt(values.shape[1])
        return values.reshape(count, 1, side, side)
    raise ValueError(
        f"{what} has shape {tuple(values.shape)}: expected images (T, C, H, W), (T, H, W) or "
        "(T, D) with D a square number; pass image_shape=(C, H, W)"
    )


def _single_code(z: torch.Tensor) -> torch.Tensor:
    """A code without a leading batch axis of 1: ``(1, k)`` -> ``(k,)``."""
    return z[0] if z.ndim >= 2 and z.shape[0] == 1 else z


def _single_image(x, shape: tuple[int, ...], name: str) -> torch.Tensor:
    """One image ``x`` (any layout with the right number of pixels) as ``shape`` on the CPU."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor image, got {type(x).__name__}")
    if x.numel() != math.prod(shape):
        raise ValueError(
            f"{name} must be one image with {math.prod(shape)} pixels like the decoded ones {shape}, "
            f"got shape {tuple(x.shape)}"
        )
    return x.detach().to("cpu", torch.float32).reshape(shape)


@torch.no_grad()
def _decode_images(decode, codes: torch.Tensor, image_shape) -> torch.Tensor:
    """``decode(codes)`` as images on the CPU; codes go to the device of the module behind ``decode``."""
    owner = decode if isinstance(decode, torch.nn.Module) else getattr(decode, "__self__", None)
    device = model_device(owner) if isinstance(owner, torch.nn.Module) else torch.device("cpu")
    images = decode(codes.to(device))
    return _as_images(images, image_shape, "decode(z)")


# ============================================================================ drawing


def _show(ax, image: torch.Tensor, title: str, vmin: float, vmax: float) -> None:
    array = image.numpy()
    if array.shape[0] == 1:
        ax.imshow(array[0], cmap="gray", vmin=vmin, vmax=vmax, interpolation="nearest")
    else:
        ax.imshow(
            np.clip((np.transpose(array, (1, 2, 0)) - vmin) / (vmax - vmin), 0, 1), interpolation="nearest"
        )
    ax.set_title(title, fontsize=12)
    ax.set_xticks([])
    ax.set_yticks([])


def _filmstrip(ax, frames: torch.Tensor, current: int, title: str, vmin: float, vmax: float) -> None:
    """Frames side by side, the one nearest the slider framed in red."""
    grid = make_grid(frames, nrow=len(frames), pad=1, pad_value=vmax)
    if grid.ndim == 2:
        ax.imshow(grid, cmap="gray", vmin=vmin, vmax=vmax, interpolation="nearest")
    else:
        ax.imshow(np.clip((grid - vmin) / (vmax - vmin), 0, 1), interpolation="nearest")
    height, width = frames.shape[-2:]
    ax.add_patch(
        Rectangle(
            (current * (width + 1) - 0.5, -0.5), width, height, fill=False, edgecolor="red", linewidth=2.5
        )
    )
    ax.set_title(title, fontsize=12, loc="left")
    ax.set_xticks([])
    ax.set_yticks([])


def draw_interpolation(
    decode,
    z_a,
    z_b,
    t: float,
    path: str = "linear",
    x_a=None,
    x_b=None,
    frames: int = 9,
    image_shape=None,
    vmin: float = 0.0,
    vmax: float = 1.0,
):
    """The figure :func:`interpolation` shows for slider position ``t`` and ``path``.

    Top: ``x_a`` (or the decoding of ``z_a``), the decoding of ``z(t)`` with its norm, the
    pixel blend ``(1 - t) x_a + t x_b`` (when both images are given), ``x_b``. Bottom: the
    whole latent path (and the pixel path) in ``frames`` steps, the frame nearest ``t`` in red.
    """
    _check_decode(decode)
    check_codes(z_a, z_b)
    check_choice("path", path, PATHS)
    vmin, vmax = check_ordered_pair("vmin", vmin, "vmax", vmax)
    ts, scalar = check_t(t)
    if not scalar:
        raise ValueError(f"t must be one number in [0, 1] (the slider position), got {ts.tolist()}")
    t = float(ts[0])
    frames = check_int("frames", frames, minimum=2, maximum=32)
    image_shape = _check_image_shape(image_shape)
    have_images = x_a is not None and x_b is not None
    if (x_a is None) != (x_b is None):
        raise ValueError("give both x_a and x_b (the two images) or neither")

    z_a, z_b = _single_code(z_a), _single_code(z_b)
    frame_ts = torch.linspace(0, 1, frames, dtype=torch.float64)
    codes = interpolation_path(z_a, z_b, torch.cat([frame_ts, ts]), path)  # (frames + 1, *code shape)
    decoded = _decode_images(decode, codes, image_shape)
    path_frames, current_image = decoded[:-1], decoded[-1]
    norm = float(codes[-1].double().norm())
    current = int(round(t * (frames - 1)))

    if have_images:
        end_a = _single_image(x_a, tuple(current_image.shape), "x_a")
        end_b = _single_image(x_b, tuple(current_image.shape), "x_b")
        blend = (1 - t) * end_a + t * end_b
        blend_frames = torch.stack([(1 - s) * end_a + s * end_b for s in frame_ts.tolist()])
        top = [
            (end_a, "x_a"),
            (current_image, f"decoded, {path}\nt = {t:.2f}, |z| = {norm:.2f}"),
            (blend, f"pixel blend\nt = {t:.2f}"),
            (end_b, "x_b"),
        ]
    else:
        top = [
            (path_frames[0], "decode(z_a)"),
            (current_image, f"decoded, {path}\nt = {t:.2f}, |z| = {norm:.2f}"),
            (path_frames[-1], "decode(z_b)"),
        ]

    strips = 2 if have_images else 1
    fig = plt.figure(figsize=(8.0, 3.2 + 1.1 * strips))
    grid = fig.add_gridspec(1 + strips, len(top), height_ratios=[2.6] + [1.0] * strips, hspace=0.45)
    for column, (image, title) in enumerate(top):
        _show(fig.add_subplot(grid[0, column]), image, title, vmin, vmax)
    _filmstrip(fig.add_subplot(grid[1, :]), path_frames, current, f"latent path ({path})", vmin, vmax)
    if have_images:
        _filmstrip(fig.add_subplot(grid[2, :]), blend_frames, current, "pixel path", vmin, vmax)
    return fig


def interpolation(
    decode,
    z_a: torch.Tensor,
    z_b: torch.Tensor,
    x_a: torch.Tensor | None = None,
    x_b: torch.Tensor | None = None,
    steps: int = 20,
    image_shape=None,
    path: str = "linear",
    frames: int = 9,
    vmin: float = 0.0,
    vmax: float = 1.0,
) -> w.VBox:
    """A widget walking from ``z_a`` (t = 0) to ``z_b`` (t = 1) and showing ``decode(z(t))``.

    ``z_a``, ``z_b``: codes of the same shape ``(k,)`` (or ``(1, k)``). ``x_a``, ``x_b``
    (optional): the two images, for the pixel-space blend ``(1 - t) x_a + t x_b`` next to the
    decoded image. ``steps``: slider positions ``0, 1/steps, ..., 1``.

    Attributes for tests and notebooks: ``slider`` (t in [0, 1]), ``play`` (an
    ``ipywidgets.Play`` counting 0..steps, kept in step with the slider), ``path``
    (ToggleButtons ``"linear"``/``"spherical"``, see :func:`lerp` and :func:`slerp`) and
    ``image`` (an ``ipywidgets.Image`` with the PNG drawn last by :func:`draw_interpolation`).
    """
    _check_decode(decode)
    check_codes(z_a, z_b)
    steps = check_int("steps", steps, minimum=1, maximum=1000)
    check_choice("path", path, PATHS)
    vmin, vmax = check_ordered_pair("vmin", vmin, "vmax", vmax)
    image_shape = _check_image_shape(image_shape)
    draw_kwargs = dict(x_a=x_a, x_b=x_b, frames=frames, image_shape=image_shape, vmin=vmin, vmax=vmax)

    slider = w.FloatSlider(
        value=0.0,
        min=0.0,
        max=1.0,
        step=1.0 / steps,
        description="t",
        readout_format=".2f",
        continuous_update=True,
        layout=w.Layout(width="420px"),
    )
    play = w.Play(value=0, min=0, max=steps, step=1, interval=120, description="play")
    path_buttons = w.ToggleButtons(options=PATHS, value=path, description="path")

    def play_moved(change):
        slider.value = change["new"] / steps

    def slider_moved(change):
        play.value = int(round(change["new"] * steps))

    play.observe(play_moved, names="value")
    slider.observe(slider_moved, names="value")
    return figure_view(
        lambda: draw_interpolation(decode, z_a, z_b, slider.value, path_buttons.value, **draw_kwargs),
        {"slider": slider, "path": path_buttons},
        others={"play": play},
        rows=[[play, slider], [path_buttons]],
    )


# ============================================================================ 2-D latent map


def _check_extent(extent) -> tuple[tuple[float, float], tuple[float, float]]:
    if isinstance(extent, (int, float)) and not isinstance(extent, bool):
        if not (math.isfinite(extent) and extent > 0):
            raise ValueError(f"extent must be a positive number a (meaning [-a, a]^2), got {extent}")
        return (-float(extent), float(extent)), (-float(extent), float(extent))
    try:
        (x0, x1), (y0, y1) = ((float(a), float(b)) for a, b in extent)
    except (TypeError, ValueError) as err:
        raise TypeError(f"extent must be a number a or ((x0, x1), (y0, y1)), got {extent!r}") from err
    if not all(math.isfinite(v) for v in (x0, x1, y0, y1)) or x0 >= x1 or y0 >= y1:
        raise ValueError(f"extent must be finite with x0 < x1 and y0 < y1, got {extent!r}")
    return (x0, x1), (y0, y1)


def _codes_2d(codes, labels):
    if codes is None:
        if labels is not None:
            raise ValueError("labels need codes: pass codes=(N, 2) too")
        return None, None
    if not isinstance(codes, torch.Tensor) or codes.ndim != 2 or codes.shape[1] != 2:
        got = tuple(codes.shape) if isinstance(codes, torch.Tensor) else type(codes).__name__
        raise ValueError(f"codes must be a tensor of shape (N, 2), got {got}")
    check_tensor("codes", codes, dtype="float", what="(N, 2)")
    if len(codes) == 0:
        raise ValueError("codes is empty: expected at least one code (N, 2)")
    points = codes.detach().to("cpu", torch.float64).numpy()
    if labels is not None:
        if not isinstance(labels, torch.Tensor) or labels.shape != (len(points),):
            got = tuple(labels.shape) if isinstance(labels, torch.Tensor) else type(labels).__name__
            raise ValueError(f"labels must be a tensor of shape ({len(points)},), one per code, got {got}")
        labels = labels.detach().cpu().numpy()
    return points, labels


def extent_of(codes: torch.Tensor, margin: float = 0.1, quantile: float = 0.01):
    """A box around the bulk of 2-D ``codes``: their ``quantile`` and ``1 - quantile``
    quantiles per axis, widened by ``margin`` times the width on each side."""
    if codes is None:
        raise TypeError("codes must be a tensor of shape (N, 2), got None")
    points, _ = _codes_2d(codes, None)
    margin = check_nonnegative("margin", margin)
    quantile = check_probability("quantile", quantile)
    if quantile >= 0.5:
        raise ValueError(f"quantile must lie in [0, 0.5) (the box spans quantile .. 1 - quantile), got {quantile}")
    low, high = np.quantile(points, quantile, axis=0), np.quantile(points, 1 - quantile, axis=0)
    pad = margin * (high - low)
    return (float(low[0] - pad[0]), float(high[0] + pad[0])), (
        float(low[1] - pad[1]),
        float(high[1] + pad[1]),
    )


def _scatter_codes(ax, points, labels, xlim, ylim) -> None:
    if points is not None:
        if labels is None:
            ax.scatter(points[:, 0], points[:, 1], s=8, alpha=0.6, linewidths=0)
        else:
            scatter = ax.scatter(
                points[:, 0],
                points[:, 1],
                c=labels,
                cmap="tab10",
                s=10,
                alpha=0.8,
                linewidths=0,
                vmin=-0.5,
                vmax=9.5,
            )
            ax.figure.colorbar(scatter, ax=ax, ticks=range(10), fraction=0.046, pad=0.04)
    ax.add_patch(
        Rectangle(
            (xlim[0], ylim[0]),
            xlim[1] - xlim[0],
            ylim[1] - ylim[0],
            fill=False,
            edgecolor="black",
            linestyle="--",
            linewidth=1,
        )
    )
    ax.set_xlabel("z1")
    ax.set_ylabel("z2")


def _resolve_extent(extent, codes, margin: float):
    """``extent`` checked, or when None: :func:`extent_of` the codes (or ``[-3, 3]^2`` without codes)."""
    if extent is not None:
        return _check_extent(extent)
    if codes is None:
        return _check_extent(3.0)
    if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not 0 <= margin <= 10:
        raise ValueError(
            f"margin must be a number in [0, 10] (a fraction of the data's width), got {margin!r}"
        )
    return _check_extent(extent_of(codes, margin=margin))


@torch.no_grad()
def latent_map(
    decode,
    extent=None,
    n: int = 15,
    codes: torch.Tensor | None = None,
    labels: torch.Tensor | None = None,
    margin: float = 0.1,
    image_shape=None,
    vmin: float = 0.0,
    vmax: float = 1.0,
    figsize: tuple[float, float] = (11.0, 4.9),
):
    """A figure: codes of the data (left, coloured by ``labels``) and images decoded from an
    ``n x n`` grid of 2-D codes spanning ``extent`` (right, z2 increasing upwards), ``figsize`` inches.

    ``extent``: ``a`` for ``[-a, a]^2``, ``((z1_min, z1_max), (z2_min, z2_max))``, or None:
    the box around the ``codes`` from :func:`extent_of`, widened by ``margin`` times its
    width on each side (``[-3, 3]^2`` without codes). The dashed box on the left is the
    region decoded on the right: widen it (``margin=1``) to see what the decoder does off
    the data manifold.
    """
    _check_decode(decode)
    xlim, ylim = _resolve_extent(extent, codes, margin)
    vmin, vmax = check_ordered_pair("vmin", vmin, "vmax", vmax)
    n = check_int("n", n, minimum=2, maximum=40)
    image_shape = _check_image_shape(image_shape)
    points, labels = _codes_2d(codes, labels)
    z1 = torch.linspace(xlim[0], xlim[1], n)
    z2 = torch.linspace(ylim[1], ylim[0], n)  # top row = largest z2
    grid_codes = torch.stack(torch.meshgrid(z2, z1, indexing="ij")[::-1], dim=-1).reshape(-1, 2)
    images = _decode_images(decode, grid_codes, image_shape)
    if not (isinstance(figsize, (tuple, list)) and len(figsize) == 2 and all(isinstance(v, (int, float)) and v > 0 for v in figsize)):
        raise ValueError(f"figsize must be (width, height) in inches, got {figsize!r}")
    fig, (left, right) = plt.subplots(1, 2, figsize=tuple(figsize), gridspec_kw={"width_ratios": [1.15, 1]})
    _scatter_codes(left, points, labels, xlim, ylim)
    left.set_title("codes of the data")
    mosaic = make_grid(images, nrow=n, pad=1, pad_value=(vmin + vmax) / 2)  # grey lines between tiles
    right.imshow(
        mosaic,
        cmap="gray",
        vmin=vmin,
        vmax=vmax,
        interpolation="nearest",
        extent=(xlim[0], xlim[1], ylim[0], ylim[1]),
        aspect="auto",
    )
    right.set_title(f"decoded {n} x {n} grid of codes")
    right.set_xlabel("z1")
    right.set_ylabel("z2")
    fig.tight_layout()
    return fig


def _axis_slider(name: str, limits: tuple[float, float]) -> w.FloatSlider:
    """A slider over ``limits`` in 100 steps, starting in the middle."""
    low, high = limits
    return w.FloatSlider(
        value=(low + high) / 2, min=low, max=high, step=(high - low) / 100, description=name,
        continuous_update=False,
    )


def latent_explorer(
    decode,
    codes: torch.Tensor | None = None,
    labels: torch.Tensor | None = None,
    extent=None,
    margin: float = 0.5,
    image_shape=None,
    vmin: float = 0.0,
    vmax: float = 1.0,
) -> w.VBox:
    """Two sliders pick a 2-D code ``(z1, z2)`` within ``extent`` (as in :func:`latent_map`;
    by default half the data's width beyond it on each side, so one can leave the data);
    the figure shows the code on the map of the data's codes (left) and its decoding (right).

    Attributes: ``z1``, ``z2`` (FloatSliders) and ``image`` (the ``ipywidgets.Image`` redrawn).
    """
    _check_decode(decode)
    xlim, ylim = _resolve_extent(extent, codes, margin)
    vmin, vmax = check_ordered_pair("vmin", vmin, "vmax", vmax)
    image_shape = _check_image_shape(image_shape)
    points, point_labels = _codes_2d(codes, labels)
    z1, z2 = _axis_slider("z1", xlim), _axis_slider("z2", ylim)

    def draw():
        code = torch.tensor([[z1.value, z2.value]], dtype=torch.float32)
        decoded = _decode_images(decode, code, image_shape)[0]
        fig, (left, right) = plt.subplots(1, 2, figsize=(9.5, 4.2), gridspec_kw={"width_ratios": [1.4, 1]})
        _scatter_codes(left, points, point_labels, xlim, ylim)
        left.plot([z1.value], [z2.value], marker="*", color="red", markersize=18, markeredgecolor="black")
        left.set_xlim(xlim[0], xlim[1])
        left.set_ylim(ylim[0], ylim[1])
        _show(right, decoded, f"decode(({z1.value:.1f}, {z2.value:.1f}))", vmin, vmax)
        fig.tight_layout()
        return fig

    return figure_view(draw, {"z1": z1, "z2": z2})
