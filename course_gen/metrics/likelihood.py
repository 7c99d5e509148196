"""Likelihoods in nats, bits and bits per dimension; the dequantisation offset; Parzen windows."""

from __future__ import annotations

import math

import numpy as np
import torch

from course_gen._checks import check_int, check_positive_number
from course_gen.metrics._inputs import _as_tensor, _number_or_tensor

__all__ = ["bits_per_dim", "bits_to_nats", "dequantization_offset", "discrete_nll", "nats_to_bits", "parzen_log_likelihood", "select_parzen_bandwidth"]

LN2 = math.log(2.0)


def nats_to_bits(nats):
    """``nats / ln 2``: a log-likelihood (or its negative) from natural log to log base 2."""
    return _number_or_tensor("nats", nats) / LN2


def bits_to_nats(bits):
    """``bits * ln 2``: from log base 2 back to natural log."""
    return _number_or_tensor("bits", bits) * LN2


def bits_per_dim(nll_nats, n_dims: int):
    """``nll_nats / (n_dims * ln 2)``: negative log-likelihood per image (nats) in bits per dimension.

    ``nll_nats`` is a number or a tensor (one value per image); ``n_dims`` the number of
    dimensions of one image (C * H * W; 64 for the 8x8 digits).
    """
    n_dims = check_int("n_dims", n_dims, minimum=1)
    return _number_or_tensor("nll_nats", nll_nats) / (n_dims * LN2)


def dequantization_offset(n_dims: int, n_levels: int = 256) -> float:
    """``n_dims * ln(n_levels)`` nats: the change of volume from ``[0, K)^D`` to ``[0, 1)^D``.

    A density ``p(y)`` on ``y = (x + u) / K`` in the unit cube is ``K^D`` times larger than the
    same density on ``x + u`` in ``[0, K)^D``.
    """
    n_dims = check_int("n_dims", n_dims, minimum=1)
    n_levels = check_int("n_levels", n_levels, minimum=2)
    return n_dims * math.log(n_levels)


def discrete_nll(continuous_nll_nats, n_dims: int, n_levels: int = 256):
    """An upper bound on the discrete ``-log P(x)`` (nats) from a dequantised continuous model.

    With uniform dequantisation ``y = (x + u) / K``, ``u ~ U[0, 1)^D``, Jensen's inequality gives
    ``log P(x) >= E_u log p(y) - D ln K``, so ``-log P(x) <= -log p(y) + D ln K``: this adds
    :func:`dequantization_offset` to the continuous model's nll (``-log p(y)`` in nats).
    """
    return _number_or_tensor("continuous_nll_nats", continuous_nll_nats) + dequantization_offset(n_dims, n_levels)


def parzen_log_likelihood(x, samples, bandwidth: float, batch_size: int = 512) -> torch.Tensor:
    """Log-density of each row of ``x`` under a Gaussian Parzen window (kernel density estimate)
    centred on the model's ``samples``, in nats:

        log p(x) = logsumexp_i(-||x - s_i||^2 / (2 h^2)) - log N - (D/2) log(2 pi h^2).

    ``x`` and ``samples`` may be images (n, ...) (flattened here). This was once used to give
    GANs a "log-likelihood"; Theis et al. (2016) show it ranks models badly even in low
    dimensions (a blurry model can beat the data itself). Returns a float64 tensor (n,);
    a ``ValueError`` when ``bandwidth`` is so small that some ``x`` gets density 0 (``-inf``).
    """
    h = check_positive_number("bandwidth", bandwidth)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    x = _as_tensor("x", x)
    s = _as_tensor("samples", samples).to(x.device)
    if x.ndim < 2 or s.ndim < 2 or len(x) == 0 or len(s) == 0:
        raise ValueError(f"x and samples need a batch dimension and at least one row each, "
                         f"got shapes {tuple(x.shape)} and {tuple(s.shape)}")
    x, s = x.flatten(1), s.flatten(1)
    if x.shape[1] != s.shape[1]:
        raise ValueError(f"x and samples must have the same number of dimensions per row, got {x.shape[1]} and {s.shape[1]}")
    n, dims = s.shape
    if h * h == 0:
        raise ValueError(f"bandwidth {h:g} is too small: its square underflows to 0")
    constant = math.log(n) + dims / 2 * math.log(2 * math.pi * h * h)
    out = [
        torch.logsumexp(-torch.cdist(chunk, s) ** 2 / (2 * h * h), dim=1) - constant
        for chunk in torch.split(x, batch_size)
    ]
    result = torch.cat(out)
    if not bool(torch.isfinite(result).all()):
        raise ValueError(f"bandwidth {h:g} is too small: some x get density 0 under every sample (log p = -inf)")
    return result


def select_parzen_bandwidth(validation, samples, bandwidths) -> float:
    """The bandwidth among ``bandwidths`` with the highest mean Parzen log-likelihood of ``validation``
    (the usual protocol: tune h on held-out data, then report the test log-likelihood)."""
    if isinstance(bandwidths, torch.Tensor):
        bandwidths = bandwidths.tolist() if bandwidths.ndim == 1 else bandwidths
    if not isinstance(bandwidths, (list, tuple, np.ndarray)):
        raise TypeError(f"bandwidths must be a list of candidate bandwidths, got {type(bandwidths).__name__}")
    bandwidths = [check_positive_number("bandwidth", float(h) if isinstance(h, np.floating) else h) for h in bandwidths]
    if not bandwidths:
        raise ValueError("bandwidths is empty: give at least one candidate")
    scores = [float(parzen_log_likelihood(validation, samples, h).mean()) for h in bandwidths]
    return bandwidths[int(np.argmax(scores))]
