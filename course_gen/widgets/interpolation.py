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
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from course_gen._checks import (check_choice, check_int, check_nonnegative, check_ordered_pair, check_probability,
                                check_tensor)
from course_gen.latent import PATHS, check_codes, check_t, interpolation_path, lerp, slerp
from course_gen.plotting import make_grid
from course_gen.runtime import model_device
from course_gen.widgets._figure_view import FigureBox, LiveFigure, live_view

#: Dots per inch of the widgets' pictures: they are shown at their own size (1 px : 1 px).
DPI = 90

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


def _shown(array: np.ndarray, vmin: float, vmax: float) -> np.ndarray:
    """What a picture is shown as: grey ``(H, W)`` as it is (``vmin``..``vmax`` black..white), RGB
    ``(H, W, 3)`` mapped from ``vmin``..``vmax`` to [0, 1]."""
    return array if array.ndim == 2 else np.clip((array - vmin) / (vmax - vmin), 0, 1)


def _image_array(image: torch.Tensor, vmin: float, vmax: float) -> np.ndarray:
    """One image ``(C, H, W)`` as shown (:func:`_shown`)."""
    array = image.numpy()
    return _shown(array[0] if array.shape[0] == 1 else np.transpose(array, (1, 2, 0)), vmin, vmax)


def _bare(ax, title: str, **title_kwargs):
    """No ticks; returns the title ``Text``."""
    ax.set_xticks([])
    ax.set_yticks([])
    return ax.set_title(title, fontsize=12, **title_kwargs)


def _show(ax, image: torch.Tensor, title: str, vmin: float, vmax: float):
    """``image`` ``(C, H, W)`` on ``ax`` without ticks, titled; returns the ``AxesImage`` and the title."""
    shown = ax.imshow(_image_array(image, vmin, vmax), cmap="gray", vmin=vmin, vmax=vmax, interpolation="nearest")
    return shown, _bare(ax, title)


def _filmstrip(ax, frames: torch.Tensor, current: int, title: str, vmin: float, vmax: float):
    """Frames side by side, the one nearest the slider framed in red; returns the ``AxesImage``, the red
    ``Rectangle`` and the title."""
    grid = _shown(make_grid(frames, nrow=len(frames), pad=1, pad_value=vmax), vmin, vmax)
    shown = ax.imshow(grid, cmap="gray", vmin=vmin, vmax=vmax, interpolation="nearest")
    height, width = frames.shape[-2:]
    frame = ax.add_patch(
        Rectangle((current * (width + 1) - 0.5, -0.5), width, height, fill=False, edgecolor="red", linewidth=2.5)
    )
    return shown, frame, _bare(ax, title, loc="left")


def _decoded_title(path: str, t: float, norm: float) -> str:
    return f"decoded, {path}\nt = {t:.2f}, |z| = {norm:.2f}"


class _InterpolationPicture:
    """The figure of :func:`draw_interpolation`, laid out once on a figure by :meth:`build`; :meth:`show`
    moves it to a path and a ``t``.

    The decodings along a path are computed once, in one batch: the filmstrip's ``frames`` and the image
    at each of ``ts`` (the slider's positions); any other ``t`` is decoded when first shown, and kept.
    ``moving`` lists what ``t`` and the path change (the decoded image and the pixel blend with their titles
    and frames, the latent filmstrip with its title, the red frames); the end images and the pixel path
    are drawn once.
    """

    def __init__(self, decode, z_a, z_b, x_a, x_b, frames: int, image_shape, vmin: float, vmax: float,
                 path: str, t: float, ts=()):
        self.decode, self.z_a, self.z_b = decode, _single_code(z_a), _single_code(z_b)
        self.frames, self.image_shape, self.vmin, self.vmax = frames, image_shape, vmin, vmax
        self.frame_ts = torch.linspace(0, 1, frames, dtype=torch.float64)
        self.ts = torch.tensor([float(s) for s in ts], dtype=torch.float64)
        self._paths: dict[str, tuple[torch.Tensor, dict[float, tuple[torch.Tensor, float]]]] = {}
        self.path, self.t = path, t
        shape = tuple(self.decoded(path, t)[0].shape)
        self.ends = None if x_a is None else (_single_image(x_a, shape, "x_a"), _single_image(x_b, shape, "x_b"))

    # ------------------------------------------------------------------ decoding, cached

    def path_frames(self, path: str) -> torch.Tensor:
        """The filmstrip's decoded frames along ``path``, ``(frames, C, H, W)``."""
        return self._decode_path(path)[0]

    def decoded(self, path: str, t: float) -> tuple[torch.Tensor, float]:
        """The decoding of ``z(t)`` along ``path`` ``(C, H, W)`` and the norm ``|z(t)|``."""
        at = self._decode_path(path)[1]
        if t not in at:
            at[t] = self._decode(path, torch.tensor([t], dtype=torch.float64))[0]
        return at[t]

    def _decode(self, path: str, ts: torch.Tensor) -> list[tuple[torch.Tensor, float]]:
        codes = interpolation_path(self.z_a, self.z_b, ts, path)
        images = _decode_images(self.decode, codes, self.image_shape)
        norms = codes.reshape(len(ts), -1).double().norm(dim=1).tolist()
        return list(zip(images, norms))

    def _decode_path(self, path: str):
        if path not in self._paths:
            decoded = self._decode(path, torch.cat([self.frame_ts, self.ts, torch.tensor([self.t], dtype=torch.float64)]))
            frames = torch.stack([image for image, _ in decoded[:self.frames]])
            at = dict(zip([*self.ts.tolist(), self.t], decoded[self.frames:]))
            self._paths[path] = frames, at
        return self._paths[path]

    # ------------------------------------------------------------------ picture

    def _top_panels(self) -> list[tuple[torch.Tensor, str]]:
        frames, t = self.path_frames(self.path), self.t
        image, norm = self.decoded(self.path, t)
        current = (image, _decoded_title(self.path, t, norm))
        if self.ends is None:
            return [(frames[0], "decode(z_a)"), current, (frames[-1], "decode(z_b)")]
        end_a, end_b = self.ends
        return [(end_a, "x_a"), current, ((1 - t) * end_a + t * end_b, f"pixel blend\nt = {t:.2f}"), (end_b, "x_b")]

    def build(self, figure):
        """Lay the picture out on ``figure`` (empty) at the current path and ``t``; returns the figure."""
        self.figure = figure
        top = self._top_panels()
        strips = 1 if self.ends is None else 2
        grid = figure.add_gridspec(1 + strips, len(top), height_ratios=[2.6] + [1.0] * strips, hspace=0.45,
                                   left=0.03, right=0.97, bottom=0.03, top=0.88)
        panels = [_show(figure.add_subplot(grid[0, column]), image, title, self.vmin, self.vmax)
                  for column, (image, title) in enumerate(top)]
        current = self._frame_index(self.t)
        strip = _filmstrip(figure.add_subplot(grid[1, :]), self.path_frames(self.path), current,
                           f"latent path ({self.path})", self.vmin, self.vmax)
        self.latent_strip, self.strip_title = strip[0], strip[2]
        self.red_frames = [strip[1]]
        moving_panels = [panels[1]]
        if self.ends is not None:
            blend_frames = torch.stack([(1 - s) * self.ends[0] + s * self.ends[1] for s in self.frame_ts.tolist()])
            self.red_frames.append(_filmstrip(figure.add_subplot(grid[2, :]), blend_frames, current, "pixel path",
                                              self.vmin, self.vmax)[1])
            moving_panels.append(panels[2])
        self.current, self.blend = moving_panels[0], moving_panels[1] if self.ends is not None else None
        spines = [spine for artist, _ in moving_panels for spine in artist.axes.spines.values()]
        strip_spines = [spine for frame in self.red_frames for spine in frame.axes.spines.values()]
        self.moving = [*(artist for pair in moving_panels for artist in pair), *spines, self.latent_strip,
                       *self.red_frames, *strip_spines, self.strip_title]
        return figure

    def _frame_index(self, t: float) -> int:
        return int(round(t * (self.frames - 1)))

    def show(self, path: str, t: float) -> None:
        """Move the picture to ``t`` along ``path`` (only ``moving`` artists change)."""
        new_path, self.path, self.t = path != self.path, path, t
        image, norm = self.decoded(path, t)
        self.current[0].set_data(_image_array(image, self.vmin, self.vmax))
        self.current[1].set_text(_decoded_title(path, t, norm))
        if self.blend is not None:
            end_a, end_b = self.ends
            self.blend[0].set_data(_image_array((1 - t) * end_a + t * end_b, self.vmin, self.vmax))
            self.blend[1].set_text(f"pixel blend\nt = {t:.2f}")
        width = self.path_frames(path).shape[-1]
        for frame in self.red_frames:
            frame.set_x(self._frame_index(t) * (width + 1) - 0.5)
        if new_path:
            grid = make_grid(self.path_frames(path), nrow=self.frames, pad=1, pad_value=self.vmax)
            self.latent_strip.set_data(_shown(grid, self.vmin, self.vmax))
            self.strip_title.set_text(f"latent path ({path})")


def _figure_height(x_a) -> float:
    """Inches: the top row and one filmstrip, or two with the pixel path."""
    return 3.2 + 1.1 * (1 if x_a is None else 2)


def _check_interpolation(decode, z_a, z_b, path, vmin, vmax, frames, image_shape, x_a, x_b):
    """The checks :func:`draw_interpolation` and :func:`interpolation` share; returns the checked
    ``vmin, vmax, frames, image_shape``."""
    _check_decode(decode)
    check_codes(z_a, z_b)
    check_choice("path", path, PATHS)
    vmin, vmax = check_ordered_pair("vmin", vmin, "vmax", vmax)
    frames = check_int("frames", frames, minimum=2, maximum=32)
    image_shape = _check_image_shape(image_shape)
    if (x_a is None) != (x_b is None):
        raise ValueError("give both x_a and x_b (the two images) or neither")
    return vmin, vmax, frames, image_shape


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
    """The figure :func:`interpolation` shows for slider position ``t`` and ``path`` (a new pyplot figure).

    Top: ``x_a`` (or the decoding of ``z_a``), the decoding of ``z(t)`` with its norm, the
    pixel blend ``(1 - t) x_a + t x_b`` (when both images are given), ``x_b``. Bottom: the
    whole latent path (and the pixel path) in ``frames`` steps, the frame nearest ``t`` in red.
    """
    vmin, vmax, frames, image_shape = _check_interpolation(decode, z_a, z_b, path, vmin, vmax, frames, image_shape,
                                                           x_a, x_b)
    ts, scalar = check_t(t)
    if not scalar:
        raise ValueError(f"t must be one number in [0, 1] (the slider position), got {ts.tolist()}")
    picture = _InterpolationPicture(decode, z_a, z_b, x_a, x_b, frames, image_shape, vmin, vmax, path, float(ts[0]))
    return picture.build(plt.figure(figsize=(8.0, _figure_height(x_a))))


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
) -> FigureBox:
    """A widget walking from ``z_a`` (t = 0) to ``z_b`` (t = 1) and showing ``decode(z(t))``.

    ``z_a``, ``z_b``: codes of the same shape ``(k,)`` (or ``(1, k)``). ``x_a``, ``x_b``
    (optional): the two images, for the pixel-space blend ``(1 - t) x_a + t x_b`` next to the
    decoded image. ``steps``: slider positions ``0, 1/steps, ..., 1``.

    The picture is :func:`draw_interpolation`'s, drawn once and redrawn in place: each path is decoded
    once (all slider positions in one batch), a move of ``t`` redraws only what moves.

    Attributes for tests and notebooks: ``slider`` (t in [0, 1]), ``play`` (an
    ``ipywidgets.Play`` counting 0..steps, kept in step with the slider), ``path``
    (ToggleButtons ``"linear"``/``"spherical"``, see :func:`lerp` and :func:`slerp`) and
    ``image`` (an ``ipywidgets.Image`` with the current picture as PNG); ``picture`` (the decodings and the
    figure's artists) and ``live`` (the :class:`~course_gen.widgets._figure_view.LiveFigure`).
    """
    steps = check_int("steps", steps, minimum=1, maximum=1000)
    vmin, vmax, frames, image_shape = _check_interpolation(decode, z_a, z_b, path, vmin, vmax, frames, image_shape,
                                                           x_a, x_b)
    picture = _InterpolationPicture(decode, z_a, z_b, x_a, x_b, frames, image_shape, vmin, vmax, path, 0.0,
                                    ts=[i / steps for i in range(steps + 1)])
    live = LiveFigure(picture.build(Figure(figsize=(8.0, _figure_height(x_a)), dpi=DPI)), picture.moving)

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
    box = live_view(live, {"slider": slider, "path": path_buttons},
                    lambda: picture.show(path_buttons.value, slider.value), others={"play": play},
                    rows=[[play, slider], [path_buttons]])
    box.picture, box.live = picture, live
    return box


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
) -> FigureBox:
    """Two sliders pick a 2-D code ``(z1, z2)`` within ``extent`` (as in :func:`latent_map`;
    by default half the data's width beyond it on each side, so one can leave the data);
    the figure shows the code on the map of the data's codes (left) and its decoding (right).
    The map is drawn once; a move redraws the star and the decoded image over it.

    Attributes: ``z1``, ``z2`` (FloatSliders), ``image`` (the ``ipywidgets.Image`` redrawn) and ``live``
    (the :class:`~course_gen.widgets._figure_view.LiveFigure`).
    """
    _check_decode(decode)
    xlim, ylim = _resolve_extent(extent, codes, margin)
    vmin, vmax = check_ordered_pair("vmin", vmin, "vmax", vmax)
    image_shape = _check_image_shape(image_shape)
    points, point_labels = _codes_2d(codes, labels)
    z1, z2 = _axis_slider("z1", xlim), _axis_slider("z2", ylim)

    fig = Figure(figsize=(9.5, 4.2), dpi=DPI)
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.4, 1], "left": 0.1, "right": 0.98,
                                                   "bottom": 0.13, "top": 0.9, "wspace": 0.12})
    _scatter_codes(left, points, point_labels, xlim, ylim)
    (marker,) = left.plot([z1.value], [z2.value], marker="*", color="red", markersize=18, markeredgecolor="black")
    for limits, set_limits in ((xlim, left.set_xlim), (ylim, left.set_ylim)):
        room = 0.05 * (limits[1] - limits[0])  # the star stays whole at the sliders' ends
        set_limits(limits[0] - room, limits[1] + room)
    def decoded_code() -> tuple[torch.Tensor, str]:
        code = torch.tensor([[z1.value, z2.value]], dtype=torch.float32)
        return _decode_images(decode, code, image_shape)[0], f"decode(({z1.value:.1f}, {z2.value:.1f}))"

    decoded, title = _show(right, *decoded_code(), vmin, vmax)
    # the map is drawn once; the star, the decoded image (with its frame) and its title move
    live = LiveFigure(fig, [marker, decoded, *right.spines.values(), title])

    def update() -> None:
        image, text = decoded_code()
        marker.set_data([z1.value], [z2.value])
        decoded.set_data(_image_array(image, vmin, vmax))
        title.set_text(text)

    box = live_view(live, {"z1": z1, "z2": z2}, update)
    box.live = live
    return box
