"""Notebook 01's pictures: the sparse code explorer (pick a patch and a lambda, see the code,
the reconstruction and the sparsity / error trade-off), a code drawn as a sum of atoms, and
atoms next to their best-fitting Gabor functions."""

from __future__ import annotations

import math

import ipywidgets as w
import matplotlib.pyplot as plt
import numpy as np
import torch

from course_gen._checks import check_int, check_positive_number, check_tensor
from course_gen.sparse_coding import code_formula, gabor, gabor_fit, lasso_path, sparse_encode
from course_gen.sparse_coding._inputs import _check_matrix
from course_gen.sparse_coding.gabor import MAX_SIDE
from course_gen.widgets._figure_view import figure_view

#: Number of lambda values on the trade-off curve.
PATH_POINTS = 25


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
    reconstruction = (code @ D).numpy()
    patch = x.numpy()
    scale = float(np.abs(patch).max()) or 1.0
    error = float(((patch - reconstruction) ** 2).sum() / max((patch**2).sum(), 1e-300))
    nonzero = int((code != 0).sum())

    fig = plt.figure(figsize=(13, 3.6))
    grid = fig.add_gridspec(1, 4, width_ratios=[1.3, 1.3, 2.6, 2.2], wspace=0.35)
    _show_patch(fig.add_subplot(grid[0]), patch, scale, "patch x")
    _show_patch(fig.add_subplot(grid[1]), reconstruction, scale, f"a D (error {error:.0%})")

    stem = fig.add_subplot(grid[2])
    values = code.numpy()
    stem.axhline(0, color="0.6", linewidth=1)
    active = np.flatnonzero(values)
    if len(active):
        stem.vlines(active, 0, values[active], color="C0", linewidth=1.5)
        stem.plot(active, values[active], "o", color="C0", markersize=4)
    stem.set_xlim(-1, len(values))
    stem.set_xlabel("atom k")
    stem.set_title(f"code a: {nonzero} of {len(values)} non-zero", fontsize=12)

    trade = fig.add_subplot(grid[3])
    counts = (path != 0).sum(1).numpy()
    errors = ((patch[None] - (path @ D).numpy()) ** 2).sum(1) / max((patch**2).sum(), 1e-300)
    trade.plot(lams, counts, color="C0")
    trade.set_xscale("log")
    trade.set_xlabel("lambda")
    trade.set_ylabel("non-zeros", color="C0")
    other = trade.twinx()
    other.plot(lams, errors, color="C3")
    other.set_ylabel("relative error", color="C3")
    other.set_ylim(0, 1.05)
    trade.axvline(lam, color="k", linestyle="--", linewidth=1)
    trade.set_title("sparsity vs error", fontsize=12)
    fig.suptitle(code_formula(code), fontsize=13, y=1.04)
    return fig


def sparse_code_explorer(
    D: torch.Tensor, patches: torch.Tensor, lam: float = 0.1, lam_range: tuple[float, float] = (0.005, 2.0)
) -> w.VBox:
    """A lambda slider (log scale) and a patch picker; the figure redraws on every change.

    ``D``: the dictionary ``(k, d)``; ``patches``: the patches to pick from ``(n, d)``,
    in the space ``D`` was learned in (e.g. whitened). Attributes for tests and notebooks:
    ``lam`` (the slider), ``patch`` (the picker), ``image`` (an ``ipywidgets.Image`` with
    the PNG drawn last).
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
    D = D.detach().double().cpu()
    patches = patches.detach().double().cpu()
    lams = np.logspace(math.log10(low), math.log10(high), PATH_POINTS)
    lam_slider = w.FloatLogSlider(
        value=lam, base=10, min=math.log10(low), max=math.log10(high), step=0.05,
        description="lambda", continuous_update=False, readout_format=".3f",
    )
    patch_picker = w.IntSlider(value=0, min=0, max=len(patches) - 1, description="patch", continuous_update=False)
    paths: dict[int, torch.Tensor] = {}  # lasso path per patch, computed on first view

    def draw():
        index = patch_picker.value
        if index not in paths:
            paths[index] = lasso_path(patches[index], D, lams)
        return draw_sparse_code(D, patches[index], lam_slider.value, lams, paths[index])

    return figure_view(draw, {"lam": lam_slider, "patch": patch_picker}, max_width="1000px")
