"""The Inception Score ``IS = exp(E_x KL(p(y|x) || p(y)))`` from a classifier's class probabilities."""

from __future__ import annotations

import math

import numpy as np
import torch

from course_gen._checks import check_int
from course_gen.metrics._inputs import _as_tensor

__all__ = ["inception_score"]

def _check_probs(probs) -> torch.Tensor:
    p = _as_tensor("probs", probs)
    if p.ndim != 2 or p.shape[0] < 1 or p.shape[1] < 2:
        raise ValueError(
            f"probs must be class probabilities of shape (n, classes) with classes >= 2, got shape {tuple(p.shape)}"
        )
    if bool((p < 0).any()):
        raise ValueError(f"probs must be >= 0, got a minimum of {float(p.min()):.4g}")
    sums = p.sum(dim=1)
    worst = float((sums - 1).abs().max())
    if worst > 1e-4:
        raise ValueError(
            f"every row of probs must sum to 1 (softmax outputs), got a row summing to {float(sums[(sums - 1).abs().argmax()]):.6g}; "
            "did you pass logits?"
        )
    return p


def _kl_rows(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """``KL(p_i || q) = sum_y p_i(y) (log p_i(y) - log q(y))`` per row, with ``0 log 0 = 0``."""
    log_ratio = torch.log(p.clamp_min(1e-300)) - torch.log(q.clamp_min(1e-300))
    return torch.where(p > 0, p * log_ratio, torch.zeros_like(p)).sum(dim=1)


def inception_score(probs, splits: int = 10) -> tuple[float, float]:
    """``IS = exp(E_x KL(p(y|x) || p(y)))`` from class probabilities ``probs`` (n, classes).

    As in Salimans et al. (2016), the n rows are cut into ``splits`` consecutive groups; in each
    ``p(y)`` is the group's mean prediction and the score is computed; returns the mean and the
    standard deviation (ddof 0) over the groups. IS lies in ``[1, classes]``: 1 when every image
    gets the same prediction, ``classes`` when each is classified with certainty and the classes
    are equally frequent.
    """
    p = _check_probs(probs)
    splits = check_int("splits", splits, minimum=1)
    if splits > p.shape[0]:
        raise ValueError(f"splits ({splits}) cannot exceed the number of rows of probs ({p.shape[0]})")
    scores = []
    for part in torch.tensor_split(p, splits, dim=0):
        marginal = part.mean(dim=0, keepdim=True)
        scores.append(math.exp(float(_kl_rows(part, marginal).mean())))
    scores = np.array(scores)
    return float(scores.mean()), float(scores.std())
