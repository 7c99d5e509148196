"""Improved precision and recall (Kynkäänniemi et al. 2019) with k-nearest-neighbour manifolds."""

from __future__ import annotations

from typing import NamedTuple

import torch

from course_gen._checks import check_int, check_tensor
from course_gen.metrics._inputs import _check_features, _check_pair

__all__ = ["PrecisionRecall", "kth_neighbour_radius", "precision_recall"]

class PrecisionRecall(NamedTuple):
    """Precision (fidelity: samples inside the real manifold) and recall (diversity: real data
    inside the samples' manifold), both in [0, 1]."""

    precision: float
    recall: float


def kth_neighbour_radius(x: torch.Tensor, k: int = 3) -> torch.Tensor:
    """Distance from each row of ``x`` (features ``(n, d)``, n > k) to its k-th nearest other row: the radii of
    ``x``'s k-NN manifold."""
    k = check_int("k", k, minimum=1)
    x = _check_features("x", x, min_rows=k + 1)
    return _kth_radius(x, k)


def _kth_radius(x: torch.Tensor, k: int) -> torch.Tensor:
    distances = torch.cdist(x, x)
    return distances.kthvalue(k + 1, dim=1).values  # +1: the row itself is at distance 0


def _coverage(reference: torch.Tensor, radius: torch.Tensor, queries: torch.Tensor) -> float:
    """Fraction of ``queries`` within ``radius[i]`` of some ``reference[i]``."""
    inside = (torch.cdist(queries, reference) <= radius[None, :]).any(dim=1)
    return float(inside.double().mean())


def precision_recall(features_real, features_fake, k: int = 3, real_radius=None) -> PrecisionRecall:
    """Improved precision and recall (Kynkäänniemi et al. 2019) with k-NN manifolds.

    The manifold of a set is the union of balls around its points, each with the radius to the
    point's k-th nearest neighbour in the same set. ``precision`` = fraction of fake points in
    the real manifold; ``recall`` = fraction of real points in the fake manifold. ``real_radius``:
    ``kth_neighbour_radius(features_real, k)`` computed once, to score many fake sets against one real set.
    """
    k = check_int("k", k, minimum=1)
    real, fake = _check_pair(features_real, features_fake, min_rows=k + 1)
    if real_radius is None:
        real_radius = _kth_radius(real, k)
    else:
        real_radius = check_tensor("real_radius", real_radius, ndim=1, shape=(len(real),), dtype="float", low=0.0,
                                   what="(kth_neighbour_radius(features_real, k))").to(real)
    precision = _coverage(real, real_radius, fake)
    recall = _coverage(fake, _kth_radius(fake, k), real)
    return PrecisionRecall(precision, recall)
