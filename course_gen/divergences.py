"""Divergences between discrete distributions, in nats: Kullback-Leibler and Jensen-Shannon.

- :func:`kl`: ``KL(p || q) = sum_i p_i log(p_i / q_i)``, with ``0 log(0 / q) = 0`` and
  ``+inf`` as soon as some ``p_i > 0`` meets ``q_i = 0`` (``p`` puts mass where ``q`` has none);
- :func:`jsd`: ``JSD(p || q) = 1/2 KL(p || m) + 1/2 KL(q || m)`` with ``m = (p + q) / 2``;
  always finite, symmetric, and ``0 <= JSD <= log 2`` (``log 2`` exactly when the supports
  are disjoint, where KL is infinite).

Both take tensors or NumPy arrays whose LAST axis holds a distribution (entries >= 0,
summing to 1); leading axes are batch axes, so ``(B, K)`` inputs give ``(B,)`` results.
Tensors give tensors (in the input's floating dtype, float64 for integer input, on the
input's device); arrays and lists give NumPy values. Natural logarithms: divide by
``log 2`` for bits.

    >>> jsd(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0]))   # doctest: +SKIP
    tensor(0.6931)        # log 2, while kl of the same pair is inf

For SAMPLES of a 2-D distribution (a GAN's points, a toy data set), :func:`histogram2d` bins them
on a square grid into a discrete distribution and :func:`binned_jsd` compares two sample sets that
way: the JSD of the binned distributions, a plug-in estimate that needs no discriminator (biased
upwards by the sampling noise of the bins, equally for every pair of sets of the same sizes).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from course_gen._checks import check_int, check_positive_number, check_tensor

__all__ = ["SUM_TOLERANCE", "as_distribution", "as_float64", "binned_jsd", "histogram2d", "jsd", "kl"]

#: How far a distribution's entries may sum from 1 (float32 rounding of a softmax stays well within).
SUM_TOLERANCE = 1e-4
#: The most bins per side :func:`histogram2d` takes (a grid of a million cells).
MAX_BINS = 1000


def as_float64(name: str, value) -> torch.Tensor:
    """``value`` (a tensor, NumPy array or list of real numbers) as a detached float64 tensor;
    a ``TypeError`` for anything else, a ``ValueError`` for NaN or inf."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a str (the argument's name for messages), got {type(name).__name__}")
    if isinstance(value, torch.Tensor):
        tensor = value.detach()
    elif isinstance(value, (np.ndarray, list, tuple)):
        try:
            tensor = torch.as_tensor(np.asarray(value, dtype=np.float64))
        except (TypeError, ValueError) as err:
            raise TypeError(f"{name} must be a tensor or an array of numbers, got {value!r}") from err
    else:
        raise TypeError(f"{name} must be a torch.Tensor or a NumPy array, got {type(value).__name__}")
    if tensor.dtype == torch.bool or tensor.is_complex():
        raise TypeError(f"{name} must hold real numbers, got dtype {tensor.dtype}")
    tensor = tensor.to(torch.float64)
    if bool(torch.isnan(tensor).any()):
        raise ValueError(f"{name} contains NaN")
    if bool(torch.isinf(tensor).any()):
        raise ValueError(f"{name} contains inf: expected finite numbers")
    return tensor


def as_distribution(name: str, value) -> torch.Tensor:
    """``value`` as a float64 tensor whose last axis holds distributions (entries >= 0 summing to 1
    within :data:`SUM_TOLERANCE`), checked as :func:`kl` and :func:`jsd` check their inputs."""
    return _as_distribution(name, value)[0]


def _as_distribution(name: str, value) -> tuple[torch.Tensor, bool]:
    """``value`` as a float64 tensor checked to be distributions along its last axis,
    and whether the caller gave a tensor (so the answer should be one too)."""
    is_tensor = isinstance(value, torch.Tensor)
    tensor = as_float64(name, value)
    if tensor.ndim == 0 or tensor.shape[-1] == 0:
        raise ValueError(
            f"{name} must have a last axis holding a distribution (shape (K,) or (..., K)), "
            f"got shape {tuple(tensor.shape)}"
        )
    if bool(torch.isinf(tensor).any()):
        raise ValueError(f"{name} contains inf: probabilities must be finite numbers in [0, 1]")
    if bool((tensor < 0).any()):
        smallest = float(tensor.min())
        raise ValueError(f"{name} has negative entries (smallest {smallest:.4g}): probabilities must be >= 0")
    sums = tensor.sum(dim=-1)
    worst = (sums - 1).abs().max()
    if float(worst) > SUM_TOLERANCE:
        bad = sums.reshape(-1)[(sums - 1).abs().reshape(-1).argmax()]
        raise ValueError(
            f"{name} must sum to 1 along its last axis (a distribution), but a row sums to {float(bad):.6g}"
        )
    return tensor, is_tensor


def _pair(p, q) -> tuple[torch.Tensor, torch.Tensor, object]:
    """Both inputs checked, on one device, and a function turning a float64 result back
    into the caller's kind (tensor of the input dtype, or NumPy)."""
    p64, p_tensor = _as_distribution("p", p)
    q64, q_tensor = _as_distribution("q", q)
    if p64.shape != q64.shape:
        raise ValueError(
            f"p and q must have the same shape (distributions over the same outcomes), "
            f"got {tuple(p64.shape)} and {tuple(q64.shape)}"
        )
    if p_tensor and q_tensor and p.device != q.device:
        raise ValueError(f"p and q must be on the same device, got {p.device} and {q.device}")
    device = p.device if p_tensor else (q.device if q_tensor else torch.device("cpu"))
    p64, q64 = p64.to(device), q64.to(device)
    floats = [t.dtype for t in (p, q) if isinstance(t, torch.Tensor) and t.is_floating_point()]
    out_dtype = floats[0] if floats else torch.float64

    def finish(result: torch.Tensor):
        if p_tensor or q_tensor:
            return result.to(out_dtype)
        array = result.cpu().numpy()
        return float(array) if array.ndim == 0 else array

    return p64, q64, finish


def _kl64(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    # xlogy(0, .) = 0 gives the 0 log 0 = 0 convention; xlogy(p > 0, 0) = -inf gives +inf.
    return (torch.xlogy(p, p) - torch.xlogy(p, q)).sum(dim=-1)


def kl(p, q):
    """Kullback-Leibler divergence ``KL(p || q) = sum_i p_i log(p_i / q_i)`` in nats.

    ``p``, ``q``: tensors or arrays of the same shape, each row along the last axis a
    distribution (entries >= 0 summing to 1 within :data:`SUM_TOLERANCE`). Returns one value
    per row (a 0-d tensor or a float for 1-D input): ``>= 0``, zero iff ``p == q``, and
    ``inf`` where ``p`` puts mass on an outcome ``q`` gives probability 0. Not symmetric.
    ``ValueError`` for negative entries, NaN, rows not summing to 1 or mismatched shapes.
    """
    p64, q64, finish = _pair(p, q)
    return finish(_kl64(p64, q64).clamp_min(0.0))  # clamp: rounding can give -1e-17


def jsd(p, q):
    """Jensen-Shannon divergence in nats:
    ``JSD(p || q) = 1/2 KL(p || m) + 1/2 KL(q || m)``, ``m = (p + q) / 2``.

    Same inputs and output shape as :func:`kl`. Symmetric, always finite, between 0
    (``p == q``) and ``log 2`` (disjoint supports); in bits divide by ``log 2`` (then <= 1).
    """
    p64, q64, finish = _pair(p, q)
    m = (p64 + q64) / 2
    value = 0.5 * _kl64(p64, m) + 0.5 * _kl64(q64, m)
    return finish(value.clamp(0.0, math.log(2.0)))


def _check_points(name: str, points) -> torch.Tensor:
    points = check_tensor(name, points, dtype="float", finite=False, what="of 2-D points (n, 2)")
    if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0:
        raise ValueError(f"{name} must have shape (n, 2) with n >= 1 points, got {tuple(points.shape)}")
    check_tensor(name, points, what="of 2-D points (n, 2)")  # finite coordinates
    return points.detach().to("cpu", torch.float64)


def histogram2d(points: torch.Tensor, bins: int = 40, limit: float = 4.0) -> torch.Tensor:
    """The fraction of ``points`` ``(n, 2)`` in each cell of a ``bins x bins`` grid over
    ``[-limit, limit]^2``, as a flat float64 distribution ``(bins * bins,)``.

    Points outside the square are clipped into the border cells, so every point counts and
    the result sums to 1: ``p_cell = #points in the cell / n``. ``points``: finite floating
    ``(n, 2)``, ``n >= 1``; ``bins`` at most :data:`MAX_BINS`.
    """
    points = _check_points("points", points)
    bins = check_int("bins", bins, minimum=1, maximum=MAX_BINS)
    limit = check_positive_number("limit", limit)
    cell = ((points + limit) / (2 * limit) * bins).floor().long().clamp(0, bins - 1)
    counts = torch.bincount(cell[:, 0] * bins + cell[:, 1], minlength=bins * bins).to(torch.float64)
    return counts / len(points)


def binned_jsd(x: torch.Tensor, y: torch.Tensor, bins: int = 40, limit: float = 4.0) -> float:
    """``JSD(hist(x) || hist(y))`` in nats: the Jensen-Shannon divergence between two sets of 2-D
    points, each binned by :func:`histogram2d` on the same grid. In [0, log 2]; ``log 2`` when
    no cell holds points of both sets. A plug-in estimate: finite samples give a small positive
    value even for the same distribution, so compare it between sets of equal sizes."""
    return float(jsd(histogram2d(x, bins, limit), histogram2d(y, bins, limit)))
