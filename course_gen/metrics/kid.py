"""The Kernel Inception Distance: the unbiased squared MMD with a cubic polynomial kernel, over random subsets."""

from __future__ import annotations

import numpy as np
import torch

from course_gen._checks import check_finite_number, check_int, check_seed
from course_gen.metrics._inputs import _check_features, _check_pair

__all__ = ["MAX_DEGREE", "MAX_SUBSETS", "kid", "polynomial_kernel"]

#: Bounds that keep :func:`kid` finite and finishing: subsets drawn, and the kernel's degree.
MAX_SUBSETS, MAX_DEGREE = 10_000, 10


def _polynomial_kernel(a: torch.Tensor, b: torch.Tensor, degree: int, coef0: float = 1.0) -> torch.Tensor:
    return (a @ b.T / a.shape[1] + coef0) ** degree


def polynomial_kernel(a: torch.Tensor, b: torch.Tensor, degree: int = 3, coef0: float = 1.0) -> torch.Tensor:
    """``k(a, b) = (a . b / d + coef0) ** degree`` for every pair of rows: shape (len(a), len(b)).

    ``a`` ``(n, d)`` and ``b`` ``(m, d)``: finite real features (tensors or arrays), computed in
    float64; ``degree`` an int in [1, :data:`MAX_DEGREE`]; ``ValueError`` if a value overflows.
    """
    a, b = _check_features("a", a), _check_features("b", b)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"a and b must have the same number of columns, got {tuple(a.shape)} and {tuple(b.shape)}")
    degree = check_int("degree", degree, minimum=1, maximum=MAX_DEGREE)
    kernel = _polynomial_kernel(a, b.to(a.device), degree, check_finite_number("coef0", coef0))
    if not bool(torch.isfinite(kernel).all()):
        raise ValueError(f"the kernel overflows float64 (degree {degree}): scale the features down")
    return kernel


def _mmd2_unbiased(x: torch.Tensor, y: torch.Tensor, degree: int) -> float:
    """``sum_{i!=j} k(x_i,x_j)/(m(m-1)) + sum_{i!=j} k(y_i,y_j)/(n(n-1)) - 2 mean k(x_i,y_j)``."""
    m, n = x.shape[0], y.shape[0]
    k_xx, k_yy, k_xy = _polynomial_kernel(x, x, degree), _polynomial_kernel(y, y, degree), _polynomial_kernel(x, y, degree)
    term_x = (k_xx.sum() - k_xx.diagonal().sum()) / (m * (m - 1))
    term_y = (k_yy.sum() - k_yy.diagonal().sum()) / (n * (n - 1))
    return float(term_x + term_y - 2 * k_xy.mean())


def kid(
    features_real,
    features_fake,
    n_subsets: int = 100,
    subset_size: int = 1000,
    degree: int = 3,
    seed: int = 0,
) -> tuple[float, float]:
    """Kernel Inception Distance (Bińkowski et al. 2018): ``(mean, std)`` of the unbiased MMD^2.

    For each of ``n_subsets`` subsets, ``m = min(subset_size, n_real, n_fake)`` rows are drawn
    without replacement from each set and the unbiased squared MMD with the polynomial kernel
    ``k(a, b) = (a . b / d + 1) ** degree`` is computed (:func:`_mmd2_unbiased`, diagonal terms
    left out). Unbiased: its expectation is exactly 0 when both sets come from one distribution,
    so small samples can give negative values. Seeded. ``n_subsets`` at most :data:`MAX_SUBSETS`,
    ``degree`` at most :data:`MAX_DEGREE`; a ``ValueError`` if the kernel overflows.
    """
    real, fake = _check_pair(features_real, features_fake)
    n_subsets = check_int("n_subsets", n_subsets, minimum=1, maximum=MAX_SUBSETS)
    subset_size = check_int("subset_size", subset_size, minimum=2)
    degree = check_int("degree", degree, minimum=1, maximum=MAX_DEGREE)
    generator = torch.Generator().manual_seed(check_seed(seed))
    m = min(subset_size, real.shape[0], fake.shape[0])
    values = []
    for _ in range(n_subsets):
        pick_real = torch.randperm(real.shape[0], generator=generator)[:m].to(real.device)
        pick_fake = torch.randperm(fake.shape[0], generator=generator)[:m].to(fake.device)
        values.append(_mmd2_unbiased(real[pick_real], fake[pick_fake], degree))
    values = np.array(values)
    if not np.isfinite(values).all():
        raise ValueError(f"the kernel overflows float64 (degree {degree}): scale the features down")
    return float(values.mean()), float(values.std())
