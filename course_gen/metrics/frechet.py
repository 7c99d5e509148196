"""The Fréchet distance between Gaussians (FID on a classifier's features) and the covariance checks it needs."""

from __future__ import annotations

import torch

from course_gen.metrics._inputs import _as_tensor, _check_features, _check_pair

__all__ = ["PSD_TOLERANCE", "fid", "frechet_distance", "gaussian_stats", "sqrtm_psd", "trace_sqrt_product"]

#: A symmetric matrix counts as positive semi-definite when its smallest eigenvalue is at least
#: ``-PSD_TOLERANCE`` times its largest absolute eigenvalue (round-off of a singular covariance).
PSD_TOLERANCE = 1e-6


def _check_covariance(name: str, sigma, d: int | None = None, match: str = "") -> torch.Tensor:
    """``sigma`` as a float64 ``(d, d)`` matrix checked to be a covariance: finite, symmetric and
    positive semi-definite (eigenvalues >= 0 up to :data:`PSD_TOLERANCE`)."""
    sigma = _as_tensor(name, sigma)
    if sigma.ndim != 2 or sigma.shape[0] != sigma.shape[1] or sigma.shape[0] == 0:
        raise ValueError(f"{name} must be a square (d, d) covariance matrix, got shape {tuple(sigma.shape)}")
    if d is not None and sigma.shape[0] != d:
        raise ValueError(f"{name} must be a ({d}, {d}) covariance matrix{match}, got shape {tuple(sigma.shape)}")
    if not torch.allclose(sigma, sigma.T, rtol=1e-6, atol=1e-8 * max(1.0, float(sigma.abs().max()))):
        raise ValueError(f"{name} must be symmetric (a covariance matrix)")
    if int(torch.linalg.cholesky_ex(sigma)[1]) != 0:  # not positive definite: look at the eigenvalues
        eigenvalues = torch.linalg.eigvalsh((sigma + sigma.T) / 2)
        if float(eigenvalues[0]) < -PSD_TOLERANCE * float(eigenvalues.abs().max()):
            raise ValueError(
                f"{name} must be positive semi-definite (a covariance matrix), "
                f"got an eigenvalue of {float(eigenvalues[0]):.4g}"
            )
    return sigma


def _check_mean_cov(mu, sigma, which: str) -> tuple[torch.Tensor, torch.Tensor]:
    mu = _as_tensor(f"mu{which}", mu)
    if mu.ndim != 1 or mu.shape[0] == 0:
        raise ValueError(f"mu{which} must be a vector of shape (d,), got shape {tuple(mu.shape)}")
    d = mu.shape[0]
    sigma = _check_covariance(f"sigma{which}", sigma, d, f" to match mu{which}")
    return mu, sigma


def _sqrtm_psd(sigma: torch.Tensor) -> torch.Tensor:
    eigenvalues, vectors = torch.linalg.eigh(sigma)
    return (vectors * eigenvalues.clamp_min(0).sqrt()) @ vectors.T


def sqrtm_psd(sigma: torch.Tensor) -> torch.Tensor:
    """The symmetric square root ``V diag(sqrt(max(l, 0))) V^T`` of a symmetric PSD matrix.

    From ``torch.linalg.eigh``; eigenvalues below 0 (round-off) are set to 0. ``sigma`` must be
    finite, square, symmetric and positive semi-definite (a ``ValueError`` otherwise); computed
    in float64 and returned in ``sigma``'s floating dtype (float64 for integer input).
    """
    dtype = sigma.dtype if isinstance(sigma, torch.Tensor) and sigma.is_floating_point() else torch.float64
    return _sqrtm_psd(_check_covariance("sigma", sigma)).to(dtype)


def _factor(sigma: torch.Tensor) -> torch.Tensor:
    """A matrix ``F`` with ``F F^T = sigma``: the Cholesky factor when ``sigma`` is positive definite
    (cheap), else the symmetric square root (:func:`sqrtm_psd`, for singular covariances)."""
    factor, info = torch.linalg.cholesky_ex(sigma)
    return factor if int(info) == 0 else _sqrtm_psd(sigma)


def _trace_sqrt_product(sigma1: torch.Tensor, sigma2: torch.Tensor) -> torch.Tensor:
    factor = _factor(sigma1)
    middle = factor.T @ sigma2 @ factor
    eigenvalues = torch.linalg.eigvalsh((middle + middle.T) / 2)
    return eigenvalues.clamp_min(0).sqrt().sum()


def trace_sqrt_product(sigma1: torch.Tensor, sigma2: torch.Tensor) -> torch.Tensor:
    """``Tr((S1 S2)^(1/2))`` for symmetric PSD ``S1``, ``S2``, exactly and stably.

    With ``S1 = F F^T`` (Cholesky, or ``F = S1^(1/2)`` when S1 is singular), ``S1 S2 = F (F^T S2 F) F^-1``
    is similar to the symmetric PSD ``M = F^T S2 F`` (by continuity also for singular S1), so both
    have the same non-negative eigenvalues ``l_i`` and ``Tr((S1 S2)^(1/2)) = sum_i sqrt(l_i)``:
    a Cholesky factorisation and the eigenvalues of a symmetric matrix, instead of a general
    (Schur) matrix square root of a non-symmetric product. Both must be covariance matrices of
    one size (finite, symmetric, PSD); the result is a float64 0-d tensor.
    """
    sigma1 = _check_covariance("sigma1", sigma1)
    sigma2 = _check_covariance("sigma2", sigma2, sigma1.shape[0], " like sigma1").to(sigma1.device)
    return _trace_sqrt_product(sigma1, sigma2)


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """``||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))``: the squared Fréchet (2-Wasserstein)
    distance between the Gaussians ``N(mu1, S1)`` and ``N(mu2, S2)``, in float64.

    0 for equal inputs, symmetric in its two Gaussians. See :func:`trace_sqrt_product`.
    """
    mu1, sigma1 = _check_mean_cov(mu1, sigma1, "1")
    mu2, sigma2 = _check_mean_cov(mu2, sigma2, "2")
    if mu1.shape != mu2.shape:
        raise ValueError(f"the two Gaussians must have the same dimension, got {mu1.shape[0]} and {mu2.shape[0]}")
    mu2, sigma2 = mu2.to(mu1.device), sigma2.to(mu1.device)
    mean_term = ((mu1 - mu2) ** 2).sum()
    trace_term = torch.trace(sigma1) + torch.trace(sigma2) - 2 * _trace_sqrt_product(sigma1, sigma2)
    return max(float(mean_term + trace_term), 0.0)


def gaussian_stats(features) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean (d,) and unbiased covariance (d, d) (divided by n - 1) of ``features`` (n, d), float64."""
    x = _check_features("features", features, min_rows=2)
    mu = x.mean(dim=0)
    centred = x - mu
    return mu, centred.T @ centred / (x.shape[0] - 1)


def fid(features_real, features_fake) -> float:
    """Fréchet distance between Gaussians fitted to two sets of features (n, d) each.

    ``frechet_distance(*gaussian_stats(features_real), *gaussian_stats(features_fake))``. On
    Inception-v3 pool features this is the FID; note it is biased: even two samples of one
    distribution give a positive value that shrinks roughly like 1/n.
    """
    real, fake = _check_pair(features_real, features_fake)
    return frechet_distance(*gaussian_stats(real), *gaussian_stats(fake))
