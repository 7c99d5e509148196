"""Figures that are big and clear on a classroom projector.

Every matplotlib function returns its ``Figure`` and never calls ``plt.show()``; pass
``ax=`` to draw into an existing axes (the axes' figure is returned). Nothing changes
matplotlib's global style until :func:`use_course_style` is called. plotly is imported
only by :func:`surface_3d`.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Mapping, Sequence

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import torch

from course_gen._checks import (check_bool, check_finite_number, check_int, check_ordered_pair, check_positive_number,
                                check_probability, check_tensor)
from course_gen.runtime import model_device

__all__ = [
    "COURSE_STYLE",
    "density_grid",
    "figure_to_png",
    "image_grid",
    "make_grid",
    "plot_density_2d",
    "plot_history",
    "plot_samples_2d",
    "surface_3d",
    "use_course_style",
]

#: The most pixels between two tiles of :func:`make_grid`.
MAX_PAD = 64
#: The most grid points per axis of :func:`density_grid` (``n * n`` evaluations).
MAX_GRID = 2000

#: rcParams set by :func:`use_course_style`.
COURSE_STYLE = {
    "figure.dpi": 110,
    "savefig.dpi": 110,
    "figure.figsize": (7.0, 4.5),
    "font.size": 14,
    "axes.titlesize": 16,
    "axes.labelsize": 14,
    "xtick.labelsize": 12,
    "ytick.labelsize": 12,
    "legend.fontsize": 12,
    "lines.linewidth": 2.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "image.interpolation": "nearest",
}


def use_course_style() -> None:
    """Apply :data:`COURSE_STYLE` (big fonts, crisp dpi, no top/right spines) to matplotlib."""
    matplotlib.rcParams.update(COURSE_STYLE)


# ----------------------------------------------------------------------------- helpers


def _to_numpy(values, name: str) -> np.ndarray:
    """A real-valued tensor or array as a float numpy array (NaN and inf are the caller's to refuse)."""
    if isinstance(values, torch.Tensor):
        check_tensor(name, values, finite=False)
        return values.detach().cpu().float().numpy()
    if isinstance(values, np.ndarray):
        if values.dtype.kind not in "biuf":
            raise TypeError(f"{name} must hold real numbers, got dtype {values.dtype}")
        return values.astype(np.float64, copy=False) if values.dtype.kind in "biu" else values
    raise TypeError(f"{name} must be a torch.Tensor or numpy.ndarray, got {type(values).__name__}")


def _check_finite_array(array: np.ndarray, name: str) -> np.ndarray:
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite: got NaN or inf values")
    return array



def _new_axes(ax, figsize):
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax
    if not isinstance(ax, matplotlib.axes.Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    return ax.figure, ax


def _check_limits(limits, name: str) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in limits)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a pair (low, high) of numbers, got {limits!r}") from err
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(f"{name} must be finite with low < high, got {limits!r}")
    return low, high


# ----------------------------------------------------------------------------- images


def _images_nhwc(images) -> np.ndarray:
    """Images as ``(N, H, W, C)`` with C in {1, 3}; checks shape and NaNs."""
    array = _to_numpy(images, "images")
    if array.ndim == 3:
        array = array[:, None]
    if array.ndim != 4 or array.shape[1] not in (1, 3):
        raise ValueError(
            f"images must have shape (N, C, H, W) with C in {{1, 3}} or (N, H, W), "
            f"got shape {tuple(array.shape)}"
        )
    if array.shape[0] == 0:
        raise ValueError("images is empty: got 0 images")
    _check_finite_array(array, "images")
    return np.transpose(array, (0, 2, 3, 1))


def make_grid(images, nrow: int | None = None, pad: int = 1, pad_value: float = 1.0) -> np.ndarray:
    """Tile images into one array, ``nrow`` images per row (default ``ceil(sqrt(N))``).

    Image ``k`` sits at grid row ``k // nrow``, column ``k % nrow``, its top-left pixel at
    ``(row * (H + pad), col * (W + pad))``. The ``pad`` pixels between tiles and any empty
    tiles are ``pad_value``. Returns ``(rows*H + (rows-1)*pad, nrow*W + (nrow-1)*pad)`` for
    one channel, with a trailing axis of 3 for RGB.
    """
    tiles = _images_nhwc(images)
    count, height, width, channels = tiles.shape
    nrow = math.ceil(math.sqrt(count)) if nrow is None else check_int("nrow", nrow, minimum=1)
    pad = check_int("pad", pad, minimum=0, maximum=MAX_PAD)
    pad_value = check_finite_number("pad_value", pad_value)
    ncols, nrows = min(nrow, count), math.ceil(count / nrow)
    grid = np.full(
        (nrows * height + (nrows - 1) * pad, ncols * width + (ncols - 1) * pad, channels),
        pad_value,
        dtype=np.float32,
    )
    for k, tile in enumerate(tiles):
        top, left = (k // nrow) * (height + pad), (k % nrow) * (width + pad)
        grid[top:top + height, left:left + width] = tile
    return grid[..., 0] if channels == 1 else grid


def _label_tiles(ax, titles, count, nrow, height, width, pad) -> None:
    if len(titles) != count:
        raise ValueError(f"titles must have one entry per image ({count}), got {len(titles)}")
    for k, title in enumerate(titles):
        top, left = (k // nrow) * (height + pad), (k % nrow) * (width + pad)
        ax.text(
            left + 0.5, top + 0.5, str(title), va="top", ha="left", fontsize=10, color="black",
            bbox={"facecolor": "white", "alpha": 0.7, "pad": 1, "linewidth": 0},
        )


def image_grid(
    images,
    nrow: int | None = None,
    titles: str | Sequence[str] | None = None,
    ax=None,
    cmap: str = "gray",
    vmin: float = 0,
    vmax: float = 1,
    pad: int = 1,
):
    """Show images tiled by :func:`make_grid` as one picture without ticks.

    ``images``: ``(N, C, H, W)`` with C in {1, 3}, or ``(N, H, W)``. ``titles``: a string
    for the axes title, or one label per image drawn in its tile's corner. RGB values are
    mapped ``(x - vmin) / (vmax - vmin)`` and clipped to [0, 1].
    """
    tiles = _images_nhwc(images)
    count, height, width, channels = tiles.shape
    vmin, vmax = check_ordered_pair("vmin", vmin, "vmax", vmax)
    if not isinstance(cmap, matplotlib.colors.Colormap) and (not isinstance(cmap, str) or cmap not in matplotlib.colormaps):
        raise ValueError(f"unknown cmap {cmap!r}: expected a matplotlib colormap name such as 'gray' or 'viridis'")
    if titles is not None and not isinstance(titles, (str, Sequence)):
        raise TypeError(f"titles must be a str, one label per image or None, got {type(titles).__name__}")
    nrow = math.ceil(math.sqrt(count)) if nrow is None else check_int("nrow", nrow, minimum=1)
    grid = make_grid(images, nrow=nrow, pad=pad, pad_value=vmax)
    ncols, nrows = min(nrow, count), math.ceil(count / nrow)
    scale = min(10.0 / ncols, 8.0 / nrows, 1.5)
    fig, ax = _new_axes(ax, (max(2.5, ncols * scale), max(2.5, nrows * scale)))
    if channels == 3:
        ax.imshow(np.clip((grid - vmin) / (vmax - vmin), 0.0, 1.0), interpolation="nearest")
    else:
        ax.imshow(grid, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if isinstance(titles, str):
        ax.set_title(titles)
    elif titles is not None:
        _label_tiles(ax, list(titles), count, nrow, height, width, pad)
    return fig


# ----------------------------------------------------------------------------- 2-D densities


def density_grid(
    log_prob_fn: Callable[[torch.Tensor], torch.Tensor],
    xlim=(-4, 4),
    ylim=(-4, 4),
    n: int = 200,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Evaluate ``p(x, y) = exp(log_prob_fn(points))`` on an ``n x n`` grid.

    ``log_prob_fn`` gets a float32 tensor of shape ``(n*n, 2)`` (on the device of the
    module it belongs to, if any) and must return ``(n*n,)`` log-densities. Returns
    ``(xs, ys, density)`` with ``density[i, j] = p(xs[j], ys[i])``, so
    ``density.sum() * dx * dy`` approximates the probability mass inside the window.
    """
    if not callable(log_prob_fn):
        raise TypeError(f"log_prob_fn must be callable, got {type(log_prob_fn).__name__}")
    x0, x1 = _check_limits(xlim, "xlim")
    y0, y1 = _check_limits(ylim, "ylim")
    n = check_int("n", n, minimum=2, maximum=MAX_GRID)
    xs, ys = np.linspace(x0, x1, n), np.linspace(y0, y1, n)
    grid_x, grid_y = np.meshgrid(xs, ys)  # grid_x[i, j] = xs[j], grid_y[i, j] = ys[i]
    points = torch.as_tensor(np.stack([grid_x.ravel(), grid_y.ravel()], axis=1), dtype=torch.float32)
    owner = log_prob_fn if isinstance(log_prob_fn, torch.nn.Module) else getattr(log_prob_fn, "__self__", None)
    device = model_device(owner) if isinstance(owner, torch.nn.Module) else torch.device("cpu")
    with torch.no_grad():
        log_p = log_prob_fn(points.to(device))
    if not isinstance(log_p, torch.Tensor):
        raise TypeError(f"log_prob_fn must return a tensor, got {type(log_p).__name__}")
    if log_p.shape != (n * n,):
        raise ValueError(
            f"log_prob_fn must map ({n * n}, 2) points to shape ({n * n},), got {tuple(log_p.shape)}"
        )
    density = torch.exp(log_p.detach().double()).cpu().numpy().reshape(n, n)
    if np.isnan(density).any():
        raise ValueError("log_prob_fn returned NaN log-densities")
    return xs, ys, density


def plot_density_2d(
    log_prob_fn,
    xlim=(-4, 4),
    ylim=(-4, 4),
    n: int = 200,
    ax=None,
    samples=None,
    title: str | None = None,
):
    """Show the density ``exp(log_prob_fn)`` on a grid as an image, optionally with samples.

    Pixel ``(i, j)`` is centred on the grid point ``(xs[j], ys[i])``, with y pointing up.
    """
    xs, ys, density = density_grid(log_prob_fn, xlim, ylim, n)
    fig, ax = _new_axes(ax, (5.5, 5.0))
    dx, dy = (xs[1] - xs[0]) / 2, (ys[1] - ys[0]) / 2
    ax.imshow(
        density, origin="lower", cmap="viridis", aspect="equal", interpolation="nearest",
        extent=(xs[0] - dx, xs[-1] + dx, ys[0] - dy, ys[-1] + dy),
    )
    if samples is not None:
        points = _points_2d(samples, "samples")
        ax.scatter(points[:, 0], points[:, 1], s=4, c="white", alpha=0.6, linewidths=0)
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(ys[0], ys[-1])
    if title is not None:
        ax.set_title(title)
    return fig


def _points_2d(x, name: str) -> np.ndarray:
    points = _to_numpy(x, name)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"{name} must have shape (N, 2), got {tuple(points.shape)}")
    return _check_finite_array(points, name)


def plot_samples_2d(x, ax=None, title: str | None = None, s: float = 4, alpha: float = 0.5):
    """Scatter 2-D points ``x`` of shape ``(N, 2)`` with equal axis scales."""
    points = _points_2d(x, "x")
    s, alpha = check_positive_number("s", s), check_probability("alpha", alpha, include_one=True)
    fig, ax = _new_axes(ax, (5.0, 5.0))
    ax.scatter(points[:, 0], points[:, 1], s=s, alpha=alpha, linewidths=0)
    ax.set_aspect("equal", adjustable="datalim")
    if title is not None:
        ax.set_title(title)
    return fig


def surface_3d(log_prob_fn, xlim=(-4, 4), ylim=(-4, 4), n: int = 80, title: str | None = None):
    """A plotly ``go.Figure`` with the density ``exp(log_prob_fn)`` as a rotatable 3-D surface."""
    import plotly.graph_objects as go

    xs, ys, density = density_grid(log_prob_fn, xlim, ylim, n)
    fig = go.Figure(go.Surface(x=xs, y=ys, z=density, colorscale="Viridis", showscale=False))
    fig.update_layout(
        title=title,
        height=520,
        margin={"l": 0, "r": 0, "t": 40 if title else 10, "b": 0},
        scene={"xaxis_title": "x₁", "yaxis_title": "x₂", "zaxis_title": "p(x)"},
        font={"size": 14},
    )
    return fig


# ----------------------------------------------------------------------------- training curves


def _history_series(history_or_losses) -> dict[str, list[float]]:
    if hasattr(history_or_losses, "loss") and hasattr(history_or_losses, "metrics"):
        return {"loss": list(history_or_losses.loss), **dict(history_or_losses.metrics)}
    if isinstance(history_or_losses, Mapping):
        return {str(key): list(values) for key, values in history_or_losses.items()}
    if isinstance(history_or_losses, (np.ndarray, torch.Tensor)):
        values = _to_numpy(history_or_losses, "losses")
        if values.ndim != 1:
            raise ValueError(f"losses must be 1-D, one per step, got shape {tuple(values.shape)}")
        return {"loss": values.tolist()}
    if isinstance(history_or_losses, (list, tuple)):
        return {"loss": [float(v) for v in history_or_losses]}
    raise TypeError(
        "plot_history expects a History, a list of losses or a dict of lists, "
        f"got {type(history_or_losses).__name__}"
    )


def _moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean: ``out[t] = mean(values[max(0, t - window + 1) : t + 1])``."""
    cumulative = np.concatenate([[0.0], np.cumsum(values)])
    ends = np.arange(1, len(values) + 1)
    starts = np.maximum(0, ends - window)
    return (cumulative[ends] - cumulative[starts]) / (ends - starts)


def plot_history(history_or_losses, ax=None, keys=None, smooth: int = 0, logy: bool = False):
    """Plot training curves against the step number.

    Accepts a :class:`course_gen.train.History` (its loss and metrics), a list of losses, or
    a dict of lists. ``keys`` picks the series; ``smooth > 1`` adds a trailing moving
    average over that many steps (the raw curve stays, faint). ``logy`` uses a log y axis
    (symlog when some values are <= 0, as with negative log-likelihoods).
    """
    series = _history_series(history_or_losses)
    if keys is not None:
        keys = [keys] if isinstance(keys, str) else list(keys)
        unknown = [key for key in keys if key not in series]
        if unknown:
            raise ValueError(f"unknown keys {unknown}: available are {sorted(series)}")
        series = {key: series[key] for key in keys}
    smooth = check_int("smooth", smooth, minimum=0)
    check_bool("logy", logy)
    if not series or not any(len(values) for values in series.values()):
        raise ValueError("nothing to plot: the history has no values")
    fig, ax = _new_axes(ax, (7.0, 4.0))
    for index, (key, values) in enumerate(series.items()):
        values = _check_finite_array(np.asarray(values, dtype=np.float64), f"the values of {key!r}")
        steps = np.arange(1, len(values) + 1)
        color = f"C{index}"
        if smooth > 1:
            ax.plot(steps, values, color=color, alpha=0.25, linewidth=1)
            ax.plot(steps, _moving_average(values, smooth), color=color, label=key)
        else:
            ax.plot(steps, values, color=color, label=key)
    if logy:
        all_values = np.concatenate([np.asarray(v, dtype=np.float64) for v in series.values()])
        ax.set_yscale("log" if (all_values > 0).all() else "symlog")
    ax.set_xlabel("step")
    if len(series) > 1:
        ax.legend()
    else:
        ax.set_ylabel(next(iter(series)))
    return fig


# ----------------------------------------------------------------------------- export


def figure_to_png(fig, close: bool = False) -> bytes:
    """The figure rendered as PNG bytes (for an ``ipywidgets.Image``); ``close`` frees it."""
    check_bool("close", close)
    if isinstance(fig, matplotlib.axes.Axes):
        fig = fig.figure
    if not isinstance(fig, matplotlib.figure.Figure):
        raise TypeError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    if close:
        plt.close(fig)
    return buffer.getvalue()
