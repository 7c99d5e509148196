"""Notebook 01's pictures: the sparse code explorer (pick a patch and a lambda, see the code,
the reconstruction and the sparsity / error trade-off), a code drawn as a sum of atoms, and
atoms next to their best-fitting Gabor functions."""

from __future__ import annotations

import math

import ipywidgets as w
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from course_gen._checks import check_int, check_positive_number, check_tensor
from course_gen.sparse_coding import code_formula, gabor, gabor_fit, lasso_path, sparse_encode
from course_gen.sparse_coding._inputs import _check_matrix
from course_gen.sparse_coding.gabor import MAX_SIDE
from course_gen.widgets._figure_view import LiveFigure, live_view

#: The lambda slider's step, in powers of ten (its lambdas are also the trade-off curve's points).
LAM_STEP = 0.05
#: Dots per inch of the explorer's picture (shown 1:1).
DPI = 80


def _check_atoms_and_patch(D, x) -> torch.Tensor:
    """``D`` ``(k, d)`` and one patch ``x`` ``(d,)``, both finite."""
    D = _check_matrix("D", D, "(k, d): one atom per row")
    check_tensor("x", x, shape=(D.shape[1],), what="(one patch (d,), d the atoms' length)")
    return D


def _check_indices(indices, n_atoms: int) -> list[int]:
    """A non-empty list of atom numbers in ``[0, n_atoms)``."""
    if isinstance(indices, torch.Tensor):
        check_tensor("indices", indices, ndim=1, dtype="integer")
        indices = indices.tolist()
    if isinstance(indices, (str, bytes)) or not isinstance(indices, (list, tuple, range, np.ndarray)):
        raise TypeError(f"indices must be a sequence of atom numbers, got {type(indices).__name__}")
    indices = [check_int("atom index", i, minimum=0, maximum=n_atoms - 1) for i in np.asarray(indices).tolist()]
    if not indices:
        raise ValueError("indices must name at least one atom")
    return indices


def _check_lams(lams) -> np.ndarray:
    """Lambdas as a non-empty 1-D array of finite numbers > 0."""
    if isinstance(lams, torch.Tensor):
        check_tensor("lams", lams, ndim=1)
        lams = lams.detach().cpu().numpy()
    if not isinstance(lams, (np.ndarray, list, tuple)):
        raise TypeError(f"lams must be an array of lambdas, got {type(lams).__name__}")
    values = np.asarray(lams)
    if values.ndim != 1 or not len(values) or values.dtype.kind not in "fiu" or not (values > 0).all() \
            or not np.isfinite(values).all():
        raise ValueError(f"lams must be a non-empty 1-D array of finite numbers > 0, got {lams!r}")
    return values.astype(np.float64)


def _show_patch(ax, values: np.ndarray, scale: float, title: str) -> None:
    side = math.isqrt(values.size)
    ax.imshow(values.reshape(side, side), cmap="gray", vmin=-scale, vmax=scale, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=12)


def draw_code_terms(x: torch.Tensor, code: torch.Tensor, D: torch.Tensor, n_terms: int = 4):
    """The lecture's picture of a code: ``x ~ a_i phi_i + a_j phi_j + ...``, the ``n_terms``
    largest coefficients with their atoms, and the whole reconstruction ``a D`` at the end."""
    D = _check_atoms_and_patch(D, x)
    check_tensor("code", code, shape=(D.shape[0],), what="(one coefficient per atom (k,))")
    n_terms = check_int("n_terms", n_terms, minimum=1)
    values = code.detach().double().cpu()
    atoms = D.detach().double().cpu()
    used = [int(i) for i in torch.argsort(values.abs(), descending=True, stable=True) if values[i] != 0]
    shown = used[:n_terms]
    patch = x.detach().double().cpu().numpy()
    scale = float(np.abs(patch).max()) or 1.0
    panels = 2 + len(shown)
    fig, axes = plt.subplots(1, panels, figsize=(2.1 * panels + 0.6, 2.6), gridspec_kw={"wspace": 0.5})
    _show_patch(axes[0], patch, scale, "x")
    for ax, index in zip(axes[1:], shown):
        atom = atoms[index].numpy()
        _show_patch(ax, atom, float(np.abs(atom).max()) or 1.0, f"{float(values[index]):+.2f} * phi_{index}")
    _show_patch(axes[-1], (values @ atoms).numpy(), scale, f"a D, all {len(used)} atoms")
    symbols = ["\u2248"] + ["+"] * (len(shown) - 1) + ["+\u2026" if len(used) > len(shown) else "="]
    for i, symbol in enumerate(symbols):
        middle = (axes[i].get_position().x1 + axes[i + 1].get_position().x0) / 2
        fig.text(middle, 0.45, symbol, ha="center", va="center", fontsize=16)
    return fig


def draw_orientation_summary(stats: dict[str, np.ndarray], keep: np.ndarray, size: int = 8):
    """Where and how the atoms ``keep`` (a bool mask) are tuned, from :func:`atom_statistics`:
    a histogram of edge orientations, and each atom drawn as a short bar at its Gabor centre,
    along its edges (V1-like tiling of positions and orientations)."""
    if not isinstance(stats, dict) or not {"theta", "x0", "y0"} <= set(stats):
        raise TypeError("stats must be the dict of atom_statistics(D), with 'theta', 'x0' and 'y0'")
    keep = np.asarray(keep)
    if keep.dtype != bool or keep.shape != np.shape(stats["theta"]):
        raise ValueError(f"keep must be a boolean array with one entry per atom {np.shape(stats['theta'])}, "
                         f"got {keep.dtype} {keep.shape}")
    size = check_int("size", size, minimum=1, maximum=MAX_SIDE)
    edge = np.mod(stats["theta"][keep] + np.pi / 2, np.pi)  # the stripes run across theta
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), gridspec_kw={"width_ratios": [1.4, 1]})
    axes[0].hist(np.degrees(edge), bins=np.arange(0, 181, 15), color="C0")
    axes[0].set_xlabel("edge orientation (degrees)")
    axes[0].set_ylabel("atoms")
    x0, y0 = stats["x0"][keep], stats["y0"][keep]
    dx, dy = 0.6 * np.cos(edge), 0.6 * np.sin(edge)
    axes[1].plot(np.stack([x0 - dx, x0 + dx]), np.stack([y0 - dy, y0 + dy]), color="C3", linewidth=2)
    axes[1].set_xlim(-0.5, size - 0.5)
    axes[1].set_ylim(size - 0.5, -0.5)  # image coordinates: row 0 at the top
    axes[1].set_aspect("equal")
    axes[1].set_title("centre and edge direction", fontsize=12)
    axes[1].set_xticks([])
    axes[1].set_yticks([])
    for spine in axes[1].spines.values():  # the patch's border
        spine.set_visible(True)
    return fig


def draw_gabor_fits(D: torch.Tensor, indices) -> plt.Figure:
    """Atoms ``D[indices]`` (top row) above the Gabor functions fitted to them (bottom row),
    each titled with the fraction of its variance the Gabor explains (R^2)."""
    D = _check_matrix("D", D, "(k, d): one flattened square atom per row")
    indices = _check_indices(indices, len(D))
    fig, axes = plt.subplots(2, len(indices), figsize=(1.4 * len(indices) + 0.4, 3.3), squeeze=False)
    for column, index in enumerate(indices):
        atom = D[index].detach().double().cpu().numpy()
        side = math.isqrt(atom.size)
        params, r2 = gabor_fit(atom)
        scale = float(np.abs(atom).max()) or 1.0
        _show_patch(axes[0, column], atom, scale, f"phi_{index}")
        _show_patch(axes[1, column], gabor((side, side), *params.values()).ravel(), scale, f"R2 {r2:.2f}")
    axes[0, 0].set_ylabel("atom")
    axes[1, 0].set_ylabel("Gabor fit")
    return fig


def _code_summary(D: torch.Tensor, x: torch.Tensor, code: torch.Tensor) -> dict:
    """What the explorer shows of one code (float64 CPU tensors): the reconstruction ``a D``, the
    patch's grey scale (its largest |value|), the relative squared error and the count of non-zeros."""
    reconstruction = (code @ D).numpy()
    patch = x.numpy()
    error = float(((patch - reconstruction) ** 2).sum() / max((patch**2).sum(), 1e-300))
    return {"reconstruction": reconstruction, "scale": float(np.abs(patch).max()) or 1.0, "error": error,
            "nonzero": int((code != 0).sum())}


def _tradeoff(D: torch.Tensor, x: torch.Tensor, path: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Non-zeros and relative squared error of each code of ``path`` (float64 CPU tensors)."""
    patch = x.numpy()
    counts = (path != 0).sum(1).numpy()
    errors = ((patch[None] - (path @ D).numpy()) ** 2).sum(1) / max((patch**2).sum(), 1e-300)
    return counts, errors


def _stem_axes(ax, n_atoms: int) -> None:
    ax.axhline(0, color="0.6", linewidth=1)
    ax.set_xlim(-1, n_atoms)
    ax.set_xlabel("atom k")
    ax.set_title(" ", fontsize=12)  # the code's summary, written by the caller (same size as the other titles)


def _tradeoff_axes(trade, lams: np.ndarray, counts: np.ndarray, errors: np.ndarray, lam: float):
    """The trade-off panel: non-zeros (left axis) and relative error (right axis) against lambda,
    a dashed line at ``lam``. Returns the two curves, the line and the right axes."""
    (count_line,) = trade.plot(lams, counts, color="C0")
    trade.set_xscale("log")
    trade.set_xlabel("lambda")
    trade.set_ylabel("non-zeros", color="C0")
    other = trade.twinx()
    (error_line,) = other.plot(lams, errors, color="C3")
    other.set_ylabel("relative error", color="C3")
    other.set_ylim(0, 1.05)
    marker = trade.axvline(lam, color="k", linestyle="--", linewidth=1)
    trade.set_title("sparsity vs error", fontsize=12)
    return count_line, error_line, marker


def draw_sparse_code(D: torch.Tensor, x: torch.Tensor, lam: float, lams: np.ndarray, path: torch.Tensor):
    """The explorer's figure for one patch ``x`` ``(d,)`` and one ``lam``: the patch, its
    reconstruction ``a D``, the code ``a`` as a stem plot, and the trade-off curve
    (non-zeros and relative error against lambda, ``path`` = :func:`lasso_path` on ``lams``)."""
    D = _check_atoms_and_patch(D, x)
    lam = check_positive_number("lam", lam)
    lams = _check_lams(lams)
    check_tensor("path", path, shape=(len(lams), len(D)), what="(the codes of x for each lambda)")
    D, x, path = (t.detach().double().cpu() for t in (D, x, path))
    code = sparse_encode(x[None], D, lam)[0]
    shown = _code_summary(D, x, code)
    scale = shown["scale"]

    fig = plt.figure(figsize=(13, 3.6))
    grid = fig.add_gridspec(1, 4, width_ratios=[1.3, 1.3, 2.6, 2.2], wspace=0.35)
    _show_patch(fig.add_subplot(grid[0]), x.numpy(), scale, "patch x")
    _show_patch(fig.add_subplot(grid[1]), shown["reconstruction"], scale, f"a D (error {shown['error']:.0%})")

    stem = fig.add_subplot(grid[2])
    values = code.numpy()
    _stem_axes(stem, len(values))
    active = np.flatnonzero(values)
    if len(active):
        stem.vlines(active, 0, values[active], color="C0", linewidth=1.5)
        stem.plot(active, values[active], "o", color="C0", markersize=4)
    stem.set_title(f"code a: {shown['nonzero']} of {len(values)} non-zero", fontsize=12)

    _tradeoff_axes(fig.add_subplot(grid[3]), lams, *_tradeoff(D, x, path), lam)
    fig.suptitle(code_formula(code), fontsize=13, y=1.04)
    return fig


def _slider_lams(low: float, high: float, step: float, *extra: float) -> np.ndarray:
    """The lambdas a log slider from ``low`` to ``high`` with exponent ``step`` offers (``low * 10**(step k)``
    and ``high``), with ``extra`` ones (the starting value), sorted."""
    count = int(math.floor((math.log10(high) - math.log10(low)) / step + 1e-9)) + 1
    return np.unique(np.concatenate([10 ** (math.log10(low) + step * np.arange(count)), [high, *extra]]))


class _SparseCodeFigure:
    """The explorer's figure, built once (at :data:`DPI`, no wider than ~900 px): patch, reconstruction,
    stem plot of the code, trade-off curve, the code's formula on top. :meth:`show` updates it in place.

    Codes come from a lasso path per patch over the slider's own lambdas (computed on the first view of
    the patch, then kept): a lambda the slider offers is a look-up; any other one is solved warm-started
    from the nearest code of the path (the same optimum, to the solver's tolerance)."""

    def __init__(self, D: torch.Tensor, patches: torch.Tensor, lams: np.ndarray):
        self.D, self.patches, self.lams = D, patches, lams
        self.paths: dict[int, torch.Tensor] = {}
        self.curves: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        n_atoms, side = len(D), math.isqrt(D.shape[1])
        fig = self.figure = Figure(figsize=(11, 3.3), dpi=DPI)
        grid = fig.add_gridspec(1, 4, width_ratios=[1.3, 1.3, 2.6, 2.2], wspace=0.35,
                                left=0.02, right=0.93, bottom=0.17, top=0.76)
        axes = [fig.add_subplot(grid[i]) for i in range(4)]
        blank = np.zeros(side * side)
        _show_patch(axes[0], blank, 1.0, "patch x")
        _show_patch(axes[1], blank, 1.0, " ")
        self.patch_ax, self.reconstruction_ax, self.stem_ax, self.trade_ax = axes
        _stem_axes(self.stem_ax, n_atoms)
        self.stems = self.stem_ax.vlines([], [], [], color="C0", linewidth=1.5)
        (self.heads,) = self.stem_ax.plot([], [], "o", color="C0", markersize=4)
        self.count_line, self.error_line, self.marker = _tradeoff_axes(
            self.trade_ax, lams, np.zeros(len(lams)), np.zeros(len(lams)), float(lams[0]))
        self.trade_ax.set_ylim(-0.05 * n_atoms, 1.05 * n_atoms)  # 0 to all atoms non-zero: the same for every patch
        self.title = fig.suptitle(" ", fontsize=13, y=0.96)
        self.index = None
        self.live = LiveFigure(fig, moving=[  # the code's y-axis too: a new patch need not redraw the rest
            *(ax.images[0] for ax in axes[:2]), self.reconstruction_ax.title, self.stem_ax.yaxis, self.stem_ax.lines[0],
            self.stems, self.heads, self.stem_ax.title, self.count_line, self.error_line,
            self.marker, self.title,
        ])

    def path(self, index: int) -> torch.Tensor:
        if index not in self.paths:
            self.paths[index] = lasso_path(self.patches[index], self.D, self.lams)
            self.curves[index] = _tradeoff(self.D, self.patches[index], self.paths[index])
        return self.paths[index]

    def code(self, index: int, lam: float) -> torch.Tensor:
        """The code of patch ``index`` at ``lam``."""
        path = self.path(index)
        nearest = int(np.abs(np.log(self.lams) - math.log(lam)).argmin())
        if math.isclose(self.lams[nearest], lam, rel_tol=1e-9):
            return path[nearest]
        return sparse_encode(self.patches[index][None], self.D, lam, init=path[nearest][None])[0]

    def show(self, index: int, lam: float) -> None:
        """Patch ``index`` and its code at ``lam``; only the artists that move with them are redrawn
        (blitting: the axes' frames, x-axes, labels and the error axis stay)."""
        x, code = self.patches[index], self.code(index, lam)
        if index != self.index:
            self._show_patch(index)
        shown = _code_summary(self.D, x, code)
        side = math.isqrt(x.numel())
        self.reconstruction_ax.images[0].set_data(shown["reconstruction"].reshape(side, side))
        self.reconstruction_ax.title.set_text(f"a D (error {shown['error']:.0%})")
        values = code.numpy()
        active = np.flatnonzero(values)
        self.stems.set_segments([[(k, 0.0), (k, values[k])] for k in active])
        self.heads.set_data(active, values[active])
        self.stem_ax.title.set_text(f"code a: {shown['nonzero']} of {len(values)} non-zero")
        self.marker.set_xdata([lam, lam])
        self.title.set_text(code_formula(code))

    def _show_patch(self, index: int) -> None:
        """The parts that change with the patch only: its picture, grey scale and curves, and the code's
        y-axis (all of them moving artists)."""
        self.index, x, path = index, self.patches[index], self.path(index)
        side, scale = math.isqrt(x.numel()), float(x.abs().max()) or 1.0
        self.patch_ax.images[0].set_data(x.numpy().reshape(side, side))
        for ax in (self.patch_ax, self.reconstruction_ax):
            ax.images[0].set_clim(-scale, scale)
        counts, errors = self.curves[index]
        self.count_line.set_ydata(counts)
        self.error_line.set_ydata(errors)
        top, bottom = max(float(path.max()), 0.0), min(float(path.min()), 0.0)
        margin = 0.05 * (top - bottom) or 0.05
        self.stem_ax.set_ylim(bottom - margin, top + margin)  # every code of the path fits


def sparse_code_explorer(
    D: torch.Tensor, patches: torch.Tensor, lam: float = 0.1, lam_range: tuple[float, float] = (0.005, 2.0)
) -> w.VBox:
    """A lambda slider (log scale) and a patch picker above the patch, its reconstruction ``a D``, the
    code ``a`` as a stem plot and the sparsity / error trade-off of that patch against lambda, titled
    with the code's formula; the figure redraws in place on every change.

    ``D``: the dictionary ``(k, d)``; ``patches``: the patches to pick from ``(n, d)``,
    in the space ``D`` was learned in (e.g. whitened). Attributes for tests and notebooks:
    ``lam`` (the slider), ``patch`` (the picker), ``image`` (an ``ipywidgets.Image`` with
    the PNG drawn last), ``explorer`` (the figure and its codes: ``explorer.code(patch, lam)``).
    """
    D = _check_matrix("D", D, "(k, d): one atom per row")
    patches = _check_matrix("patches", patches, f"(n, {D.shape[1]}): one patch per row")
    if D.shape[1] != patches.shape[1]:
        raise ValueError(
            f"D must be (k, d) and patches (n, d) with the same d and n >= 1, "
            f"got D {tuple(D.shape)} and patches {tuple(patches.shape)}"
        )
    lam = check_positive_number("lam", lam)
    if isinstance(lam_range, (str, bytes)) or not isinstance(lam_range, (tuple, list)) or len(lam_range) != 2:
        raise TypeError(f"lam_range must be a pair (low, high) of numbers, got {lam_range!r}")
    low, high = (check_positive_number(f"lam_range[{i}]", v) for i, v in enumerate(lam_range))
    if not (0 < low < high) or not (low <= lam <= high):
        raise ValueError(f"need 0 < lam_range[0] <= lam <= lam_range[1], got lam={lam}, lam_range={lam_range}")
    lam_slider = w.FloatLogSlider(
        value=lam, base=10, min=math.log10(low), max=math.log10(high), step=LAM_STEP,
        description="lambda", continuous_update=False, readout_format=".3f",
    )
    patch_picker = w.IntSlider(value=0, min=0, max=len(patches) - 1, description="patch", continuous_update=False)
    picture = _SparseCodeFigure(D.detach().double().cpu(), patches.detach().double().cpu(),
                                _slider_lams(low, high, LAM_STEP, lam))
    box = live_view(picture.live, {"lam": lam_slider, "patch": patch_picker},
                    lambda: picture.show(patch_picker.value, lam_slider.value))
    box.explorer = picture
    return box
