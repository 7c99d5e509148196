"""Measuring what a model does: reconstruction error, how much noise passes, distance to the data,
how smooth the learned filters are.

``reconstruct`` is any map from a batch to its reconstruction of the same shape: a model (its
``forward``; it is run in eval mode, so without input noise, and its mode is restored after), a
:class:`~course_gen.autoencoders.pca.PCA`, or any function. Inputs are moved to a model's device.
Inputs must be finite floating-point tensors; a reconstruction with NaN or inf raises ``ValueError``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from contextlib import nullcontext

import torch
from torch import nn

from course_gen._checks import check_int, check_nonnegative, check_seed, check_tensor
from course_gen.autoencoders.losses import _check_same_shape, _sum_over_example
from course_gen.runtime import evaluating, model_device


def _prepare(reconstruct, x) -> tuple[torch.Tensor, object]:
    """Check ``reconstruct`` and ``x``; return ``x`` on the model's device and the eval-mode context."""
    if not callable(reconstruct):
        raise TypeError(f"reconstruct must be callable, got {type(reconstruct).__name__}")
    check_tensor("x", x, dtype="float")
    if isinstance(reconstruct, nn.Module):
        return x.to(model_device(reconstruct)), evaluating(reconstruct)
    return x, nullcontext()


def _reconstruction(reconstruct, x: torch.Tensor) -> torch.Tensor:
    """``reconstruct(x)``, checked: a finite tensor of ``x``'s shape."""
    x_hat = reconstruct(x)
    check_tensor("the reconstruction (what reconstruct returned)", x_hat, dtype="float")
    _check_same_shape(x_hat, x)
    return x_hat


@torch.no_grad()
def reconstruction_error(reconstruct: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> float:
    """Mean over images of the summed squared pixel error ``sum_k (x_hat_k - x_k)^2``.

    ``reconstruct`` maps a batch to its reconstruction of the same shape: a model (its
    ``forward``), a :class:`PCA`, or any function. The same yardstick for every model,
    whatever loss it was trained with. A model is run in eval mode (no input noise).
    """
    x, mode = _prepare(reconstruct, x)
    with mode:
        x_hat = _reconstruction(reconstruct, x)
    return float(_sum_over_example((x_hat - x) ** 2).mean())


def relative_error(reconstruct: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> float:
    """The share of the inputs' energy a map gets wrong: ``sum_n |r(x_n) - x_n|^2 / sum_n |x_n|^2``.

    0 for the identity; about 1 for a map that returns (nearly) nothing or something unrelated
    to its input. Uses :func:`reconstruction_error` (eval mode, no input noise).
    """
    _prepare(reconstruct, x)
    if x.ndim < 1 or x.shape[0] == 0:
        raise ValueError(f"x must be a non-empty batch (B, ...), got shape {tuple(x.shape)}")
    energy = float(_sum_over_example(x.detach().to(torch.float64) ** 2).mean())
    if energy == 0:
        raise ValueError("x is all zeros: the relative error of an empty input is undefined")
    return reconstruction_error(reconstruct, x) / energy


def _perturbation(x: torch.Tensor, sigma: float, seed: int, mask) -> torch.Tensor:
    """``sigma * eps`` (``eps ~ N(0, I)`` from a generator seeded with ``seed``), times ``mask``."""
    generator = torch.Generator().manual_seed(seed)
    delta = sigma * torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device)
    if mask is None:
        return delta
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
        got = f"dtype {mask.dtype}" if isinstance(mask, torch.Tensor) else type(mask).__name__
        raise TypeError(f"mask must be a boolean tensor, got {got}")
    try:
        delta = delta * mask.to(x.device).expand(x.shape)
    except RuntimeError as error:
        raise ValueError(f"mask of shape {tuple(mask.shape)} does not broadcast to x's {tuple(x.shape)}") from error
    if not bool(mask.any()):
        raise ValueError("mask selects no pixel: the gain of a zero perturbation is undefined")
    return delta


@torch.no_grad()
def noise_gain(
    reconstruct: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    sigma: float = 0.1,
    seed: int = 0,
    mask: torch.Tensor | None = None,
) -> float:
    """How much of a small random perturbation of the input reaches the output:

    ``sum_n |r(x_n + delta_n) - r(x_n)|^2 / sum_n |delta_n|^2`` with ``delta_n = sigma eps_n``,
    ``eps_n ~ N(0, I)``, times ``mask`` when given (a boolean tensor broadcastable to ``x``:
    only those pixels are perturbed, e.g. the ink or the background of each image).

    1 for the identity (every perturbation passes unchanged), ``k / D`` for the orthogonal
    projection onto a k-dimensional subspace of R^D, near 0 for a map that ignores directions
    off the data. A model that "learned the identity" scores near 1 on any input.
    """
    x, mode = _prepare(reconstruct, x)
    sigma = check_nonnegative("sigma", sigma)
    if sigma == 0:
        raise ValueError("sigma must be positive: the gain of a zero perturbation is undefined")
    if x.ndim < 1 or x.numel() == 0:
        raise ValueError(f"x must be a non-empty batch (B, ...), got shape {tuple(x.shape)}")
    delta = _perturbation(x, sigma, check_seed(seed), mask)
    with mode:
        moved = _reconstruction(reconstruct, x + delta) - _reconstruction(reconstruct, x)
    return float((moved.double() ** 2).sum() / (delta.double() ** 2).sum())


@torch.no_grad()
def nearest_distance(x: torch.Tensor, database: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Euclidean distance from each row of ``x`` to its nearest row of ``database`` ``(N,)``.

    ``min_i |x_n - d_i|`` over flattened images, in batches of ``batch_size`` queries (the
    full distance matrix of 8,000 training digits would not fit comfortably otherwise). A
    simple "how far from the data" yardstick: compare with the same number for real test images.
    """
    check_tensor("x", x, dtype="float")
    check_tensor("database", database, dtype="float")
    if x.ndim < 2 or database.ndim < 2 or x.shape[0] == 0 or database.shape[0] == 0:
        raise ValueError(
            f"x and database must be non-empty batches (N, ...), got {tuple(x.shape)} and {tuple(database.shape)}"
        )
    q = x.detach().reshape(x.shape[0], -1).to("cpu", torch.float64)
    d = database.detach().reshape(database.shape[0], -1).to("cpu", torch.float64)
    if q.shape[1] != d.shape[1]:
        raise ValueError(f"x and database need the same dimension, got {q.shape[1]} and {d.shape[1]}")
    batch_size = check_int("batch_size", batch_size, minimum=1)
    return torch.cat([torch.cdist(q[i : i + batch_size], d).min(dim=1).values for i in range(0, len(q), batch_size)])


def neighbour_correlation(filters: torch.Tensor, image_shape: Sequence[int] = (8, 8)) -> float:
    """How smooth filters are: the mean over filters of ``sum_(i~j) w_i w_j / sum_i w_i^2``,
    with each filter centred (its mean removed) and ``i ~ j`` running over horizontally and
    vertically adjacent pixel pairs, averaged over the two directions.

    About 0 for white noise, near 1 for smooth blobs and strokes, negative for checkerboards.
    ``filters``: ``(n, H * W)`` (e.g. an encoder's weight matrix) or ``(n, H, W)``;
    ``image_shape``: ``(H, W)``.
    """
    check_tensor("filters", filters, dtype="float")
    if isinstance(image_shape, (str, bytes)) or not isinstance(image_shape, Sequence) or len(image_shape) != 2:
        raise TypeError(f"image_shape must be a pair of ints (H, W), got {image_shape!r}")
    height, width = (check_int("image_shape entry", s, minimum=1) for s in image_shape)
    if filters.ndim < 2 or filters.shape[0] == 0 or math.prod(filters.shape[1:]) != height * width:
        raise ValueError(
            f"filters must have shape (n, {height * width}) or (n, {height}, {width}), "
            f"got {tuple(filters.shape)}"
        )
    w = filters.detach().to("cpu", torch.float64).reshape(-1, height, width)
    w = w - w.mean(dim=(1, 2), keepdim=True)
    energy = (w**2).sum(dim=(1, 2)).clamp_min(1e-12)
    across = (w[:, :, 1:] * w[:, :, :-1]).sum(dim=(1, 2))
    down = (w[:, 1:, :] * w[:, :-1, :]).sum(dim=(1, 2))
    return float(((across + down) / (2 * energy)).mean())
