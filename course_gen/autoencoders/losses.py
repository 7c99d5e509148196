"""Reconstruction losses: how far ``x_hat`` is from ``x``, by the kind of data (``likelihood``).

- ``"bernoulli"`` (alias ``"bce"``): inputs in [0, 1] read as probabilities of binary pixels;
  ``l(x) = -sum_k [x_k log x_hat_k + (1 - x_k) log(1 - x_hat_k)]`` (:func:`bce_loss`, or
  :func:`bce_with_logits_loss` from the decoder's logits, stably);
- ``"gaussian"`` (alias ``"mse"``): real-valued inputs; ``l(x) = 1/2 sum_k (x_hat_k - x_k)^2``
  (:func:`squared_error_loss`).

Each is summed over the pixels of an example and averaged over the batch. The public functions
check their inputs (finite floating tensors of the same shape, targets in [0, 1] for the
cross-entropy, probabilities in [0, 1]); the private ``_bce_with_logits`` and
``_half_squared_error`` are the same formulas unchecked, for a model's training loss, whose output
may diverge to NaN (which the training loop then reports).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from course_gen._checks import check_choice, check_tensor

#: Reconstruction likelihoods (and their loss-name aliases).
LIKELIHOODS = ("bernoulli", "gaussian")
_LIKELIHOOD_ALIASES = {"bce": "bernoulli", "mse": "gaussian"}

#: Probabilities are clamped to [EPS, 1 - EPS] before taking logs in :func:`bce_loss`.
EPS = 1e-7


def _check_likelihood(likelihood: str) -> str:
    """The likelihood's name, with the aliases ``"bce"``/``"mse"`` mapped to their likelihood."""
    check_choice("likelihood", likelihood, LIKELIHOODS + tuple(_LIKELIHOOD_ALIASES))
    return _LIKELIHOOD_ALIASES.get(likelihood, likelihood)


def _check_same_shape(x_hat: torch.Tensor, x: torch.Tensor) -> None:
    if x_hat.shape != x.shape:
        raise ValueError(
            f"the reconstruction and the input must have the same shape, got {tuple(x_hat.shape)} "
            f"and {tuple(x.shape)}"
        )
    if x.ndim < 1 or x.shape[0] == 0:
        raise ValueError(f"expected a non-empty batch (B, ...), got shape {tuple(x.shape)}")


def _check_pair(name: str, first, x, *, low: float | None = None, high: float | None = None,
                targets_are_probabilities: bool = False) -> None:
    """``first`` (``x_hat`` or logits) and ``x``: finite floating tensors of one shape, a non-empty batch."""
    check_tensor(name, first, dtype="float", low=low, high=high)
    if targets_are_probabilities:
        check_tensor("x", x, dtype="float", low=0.0, high=1.0, what="(targets of a cross-entropy)")
    else:
        check_tensor("x", x, dtype="float")
    _check_same_shape(first, x)


def _sum_over_example(values: torch.Tensor) -> torch.Tensor:
    """Sum every dimension but the first (batch) one: one number per example."""
    return values.reshape(values.shape[0], -1).sum(dim=1)


def _bce_with_logits(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return _sum_over_example(F.binary_cross_entropy_with_logits(logits, x, reduction="none")).mean()


def _half_squared_error(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return 0.5 * _sum_over_example((x_hat - x) ** 2).mean()


def bce_loss(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Cross-entropy for binary (or [0, 1]) inputs, from probabilities ``x_hat``.

    ``mean_over_batch( -sum_k [x_k log x_hat_k + (1 - x_k) log(1 - x_hat_k)] )``, with
    ``x_hat`` clamped to ``[EPS, 1 - EPS]``. Prefer :func:`bce_with_logits_loss` for training.
    Both ``x_hat`` and ``x`` must lie in [0, 1] (outside, the formula is no cross-entropy: it
    can be negative).
    """
    _check_pair("x_hat", x_hat, x, low=0.0, high=1.0, targets_are_probabilities=True)
    p = x_hat.clamp(EPS, 1 - EPS)
    per_pixel = -(x * torch.log(p) + (1 - x) * torch.log1p(-p))
    return _sum_over_example(per_pixel).mean()


def bce_with_logits_loss(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """:func:`bce_loss` of ``x_hat = sigm(logits)``, computed stably from the logits ``a``:

    ``-[x log sigm(a) + (1 - x) log(1 - sigm(a))] = softplus(a) - x a`` per pixel. The targets
    ``x`` must lie in [0, 1].
    """
    _check_pair("logits", logits, x, targets_are_probabilities=True)
    return _bce_with_logits(logits, x)


def squared_error_loss(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Squared error for real-valued inputs: ``mean_over_batch( 1/2 sum_k (x_hat_k - x_k)^2 )``."""
    _check_pair("x_hat", x_hat, x)
    return _half_squared_error(x_hat, x)
