"""Diagnostics of a trained GAN: mode collapse, memorisation, factors of what it drew, and the
bilinear game that shows why simultaneous gradient steps circle instead of converging."""

from __future__ import annotations

import numpy as np
import torch

from course_gen._checks import check_bool, check_finite_number, check_int, check_positive_number, check_tensor

__all__ = ["MAX_GAME_STEPS", "bilinear_game", "mode_coverage", "nearest_neighbour_factors", "nearest_neighbours"]

#: The most steps :func:`bilinear_game` plays (a Python loop: 10**6 steps take about a second).
MAX_GAME_STEPS = 10**6


def _check_rows(name: str, x, what: str, ndim: int | None = None) -> torch.Tensor:
    """``x`` checked to be a non-empty finite floating tensor ``(n, ...)``."""
    x = check_tensor(name, x, dtype="float", what=what)
    if x.ndim < 2 or (ndim is not None and x.ndim != ndim) or len(x) == 0:
        raise ValueError(f"{name} must be a non-empty tensor {what}, got shape {tuple(x.shape)}")
    return x


def mode_coverage(
    samples: torch.Tensor, centres: torch.Tensor, radius: float, min_fraction: float = 0.01
) -> tuple[int, float]:
    """How many modes the samples cover, and the fraction of samples that are near some mode.

    A sample belongs to its nearest centre if it lies within ``radius`` of it (e.g. 3 standard
    deviations); a mode is covered when at least ``min_fraction`` of the samples belong to it.
    Returns ``(covered_modes, fraction_near_a_mode)``. Mode collapse: few modes covered
    although most samples look fine (high fraction). ``samples`` ``(n, d)`` and ``centres``
    ``(m, d)``: finite, floating, not empty.
    """
    samples = _check_rows("samples", samples, "of points (n, d)", ndim=2)
    centres = _check_rows("centres", centres, f"of mode centres (m, {samples.shape[1]})", ndim=2)
    if centres.shape[1] != samples.shape[1]:
        raise ValueError(f"centres must have shape (m, {samples.shape[1]}) like the samples, got {tuple(centres.shape)}")
    radius = check_positive_number("radius", radius)
    min_fraction = check_finite_number("min_fraction", min_fraction)
    if not 0 < min_fraction < 1:
        raise ValueError(f"min_fraction must lie in (0, 1), got {min_fraction}")
    distances = torch.cdist(samples.detach().double().cpu(), centres.detach().double().cpu())
    nearest, which = distances.min(dim=1)
    close = nearest <= radius
    counts = torch.bincount(which[close], minlength=len(centres))
    covered = int((counts >= min_fraction * len(samples)).sum())
    return covered, float(close.double().mean())


def _k_nearest(queries: torch.Tensor, pool: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    queries = _check_rows("queries", queries, "(n, ...)")
    pool = _check_rows("pool", pool, "(n, ...)")
    if queries.shape[1:] != pool.shape[1:]:
        raise ValueError(
            f"queries and pool must have the same shape per item, got {tuple(queries.shape)} and {tuple(pool.shape)}"
        )
    k = check_int("k", k, minimum=1, maximum=len(pool))
    distances = torch.cdist(queries.detach().flatten(1).double().cpu(), pool.detach().flatten(1).double().cpu())
    best, index = distances.topk(k, dim=1, largest=False)
    return index, best


def nearest_neighbours(queries: torch.Tensor, pool: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For each query, the index of its nearest row of ``pool`` (Euclidean, flattened) and the
    distance: ``(indices (q,), distances (q,))``. Generated images identical to their nearest
    training image would mean the GAN memorised the data. Both: finite floating ``(n, ...)``."""
    index, best = _k_nearest(queries, pool, 1)
    return index[:, 0], best[:, 0]


def nearest_neighbour_factors(
    images: torch.Tensor, pool: torch.Tensor, pool_factors: dict[str, torch.Tensor], k: int = 5
) -> dict[str, torch.Tensor]:
    """Read the factors of ``images`` off their ``k`` nearest images in a labelled ``pool``
    (Euclidean distance in pixel space): a k-nearest-neighbour classifier and regressor.

    ``pool_factors``: dict of ``(len(pool),)`` tensors; integer ones (e.g. ``"shape"``) get the
    majority vote of the neighbours (ties: the smallest value), floating ones (``"scale"``,
    ``"x"``, ...) their mean (they must be finite). Returns the same keys, one value per image.
    Use it to measure what a generator drew, e.g. the shape and size of generated shapes.
    """
    if not isinstance(pool_factors, dict) or not pool_factors:
        raise TypeError("pool_factors must be a non-empty dict of per-image factor tensors")
    index, _ = _k_nearest(images, pool, k)
    result = {}
    for name, values in pool_factors.items():
        if not isinstance(values, torch.Tensor) or values.shape != (len(pool),):
            got = tuple(values.shape) if isinstance(values, torch.Tensor) else type(values).__name__
            raise ValueError(f"pool_factors[{name!r}] must have shape ({len(pool)},), one value per pool image, got {got}")
        check_tensor(f"pool_factors[{name!r}]", values, what="(one value per pool image)")
        neighbours = values[index.to(values.device)]  # (n, k)
        result[name] = neighbours.mean(dim=1) if values.is_floating_point() else neighbours.mode(dim=1).values
    return result


def bilinear_game(x0: float, y0: float, lr: float, steps: int, simultaneous: bool = True) -> np.ndarray:
    """Gradient play on ``min_x max_y x * y`` (equilibrium at 0): the simplest game where
    gradient steps fail to converge. Returns the trajectory ``(steps + 1, 2)``.

    Simultaneous steps ``x <- x - lr y``, ``y <- y + lr x`` multiply the distance to the
    equilibrium by exactly ``sqrt(1 + lr^2)`` each step: the players spiral OUT. Alternating
    steps (``y`` sees the new ``x``) stay on a closed orbit around it, never reaching it.
    ``steps`` at most :data:`MAX_GAME_STEPS`; a ``ValueError`` if the spiral leaves the range
    of floating-point numbers.
    """
    x, y = check_finite_number("x0", x0), check_finite_number("y0", y0)
    lr = check_positive_number("lr", lr)
    steps = check_int("steps", steps, minimum=1, maximum=MAX_GAME_STEPS)
    simultaneous = check_bool("simultaneous", simultaneous)
    path = [(x, y)]
    for _ in range(steps):
        if simultaneous:
            x, y = x - lr * y, y + lr * x
        else:
            x = x - lr * y
            y = y + lr * x
        path.append((x, y))
    path = np.array(path)
    if not np.isfinite(path).all():
        first = int(np.argmin(np.isfinite(path).all(axis=1)))
        raise ValueError(f"the players left the floating-point range at step {first} (lr={lr}): use fewer steps or a smaller lr")
    return path
