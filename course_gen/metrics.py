"""Evaluating generative models: likelihoods, Inception Score, FID, KID, precision/recall (notebook 07).

Two families of numbers:

- **Likelihood of test data** (explicit models only). ``-log p(x)`` in nats (natural log) or bits
  (log base 2: ``bits = nats / ln 2``); divided by the number of dimensions D it is comparable
  across image sizes: ``bits/dim = nll_nats / (D ln 2)``. A continuous density fitted to
  dequantised data ``y = (x + u) / K`` (``x`` in ``{0..K-1}``, ``u ~ U[0, 1)``) gives a bound on the
  discrete likelihood after adding ``D ln K`` nats (:func:`discrete_nll`). Implicit models (GANs)
  have no ``p(x)`` and so no such number; the Parzen-window estimate
  (:func:`parzen_log_likelihood`) that replaced it for a while is badly biased.
- **Statistics of samples**, computed on a classifier's outputs (Inception v3 for ImageNet-sized
  images; :mod:`course_gen.classifier` for the course's 8x8 digits):

  - Inception Score ``IS = exp(E_x KL(p(y|x) || p(y)))``, ``p(y) = E_x p(y|x)``: high when every
    sample is classified confidently and the classes are used evenly (between 1 and C).
  - Fréchet distance between Gaussians fitted to features,
    ``d^2 = ||m1 - m2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))`` (FID when the features are Inception's).
  - KID: the unbiased squared MMD with the cubic kernel ``k(a, b) = (a.b / d + 1)^3``, averaged over
    random subsets; unlike FID its expectation is 0 for two samples of one distribution.
  - Precision and recall with k-NN manifolds (Kynkäänniemi et al. 2019): precision = the fraction
    of samples inside the real data's manifold (fidelity), recall = the fraction of real data
    inside the samples' manifold (diversity).

Features may be torch tensors or NumPy arrays of shape ``(n, d)``; the sample statistics are
computed in float64 on the features' device (on the CPU for MPS, which has no float64).

Probes for the notebook's experiments: :func:`add_noise`, :func:`blur`, :func:`fade` and
:func:`drop_classes` degrade a set of images in one controlled way each.
"""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import numpy as np
import torch

from course_gen._checks import (
    check_finite_number,
    check_int,
    check_positive_number,
    check_probability,
    check_seed,
    check_tensor,
)

__all__ = [
    "PrecisionRecall",
    "add_noise",
    "bits_per_dim",
    "blur",
    "bits_to_nats",
    "dequantization_offset",
    "discrete_nll",
    "drop_classes",
    "fade",
    "fid",
    "frechet_distance",
    "gaussian_stats",
    "inception_score",
    "kid",
    "nats_to_bits",
    "parzen_log_likelihood",
    "polynomial_kernel",
    "precision_recall",
    "select_parzen_bandwidth",
    "sqrtm_psd",
    "trace_sqrt_product",
]

LN2 = math.log(2.0)
#: A symmetric matrix counts as positive semi-definite when its smallest eigenvalue is at least
#: ``-PSD_TOLERANCE`` times its largest absolute eigenvalue (round-off of a singular covariance).
PSD_TOLERANCE = 1e-6
#: Bounds that keep :func:`kid` finite and finishing: subsets drawn, and the kernel's degree.
MAX_SUBSETS, MAX_DEGREE = 10_000, 10


# ============================================================================ input checks


def _float64(x: torch.Tensor) -> torch.Tensor:
    """``x`` as float64 (a new tensor), on the CPU when its device has no float64 (MPS)."""
    if x.device.type == "mps":
        x = x.cpu()
    return x.to(torch.float64, copy=True)


def _as_tensor(name: str, value) -> torch.Tensor:
    if isinstance(value, np.ndarray):
        value = torch.from_numpy(value)
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor or a numpy array, got {type(value).__name__}")
    if value.dtype == torch.bool or value.is_complex():
        raise TypeError(f"{name} must hold real numbers, got dtype {value.dtype}")
    value = _float64(value)
    if not bool(torch.isfinite(value).all()):
        raise ValueError(f"{name} contains NaN or infinite values")
    return value


def _check_features(name: str, value, min_rows: int = 1) -> torch.Tensor:
    """``value`` as a float64 ``(n, d)`` tensor with ``n >= min_rows``; clear errors otherwise."""
    x = _as_tensor(name, value)
    if x.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array of shape (n, d), one row per image, got shape {tuple(x.shape)}")
    if x.shape[0] < min_rows or x.shape[1] < 1:
        raise ValueError(f"{name} needs at least {min_rows} rows and 1 column, got shape {tuple(x.shape)}")
    return x


def _check_pair(real, fake, min_rows: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    a = _check_features("features_real", real, min_rows)
    b = _check_features("features_fake", fake, min_rows)
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"features_real and features_fake must have the same feature size, got {a.shape[1]} and {b.shape[1]}"
        )
    return a, b.to(a.device)


def _number_or_tensor(name: str, value):
    """A finite number (as a float) or a finite real tensor (NumPy arrays become tensors)."""
    if isinstance(value, np.ndarray):
        value = torch.from_numpy(value)
    if isinstance(value, torch.Tensor):
        if value.dtype == torch.bool:
            raise TypeError(f"{name} must hold real numbers, got dtype {value.dtype}")
        return check_tensor(name, value, what="(a number or a tensor of them)")
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number or a tensor, got {type(value).__name__}")
    return check_finite_number(name, value)


# ============================================================================ likelihoods


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


# ============================================================================ Inception Score


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


# ============================================================================ Fréchet distance


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


# ============================================================================ KID


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


# ============================================================================ precision / recall


class PrecisionRecall(NamedTuple):
    """Precision (fidelity: samples inside the real manifold) and recall (diversity: real data
    inside the samples' manifold), both in [0, 1]."""

    precision: float
    recall: float


def _kth_neighbour_radius(x: torch.Tensor, k: int) -> torch.Tensor:
    """Distance from each row of ``x`` to its k-th nearest other row."""
    distances = torch.cdist(x, x)
    return distances.kthvalue(k + 1, dim=1).values  # +1: the row itself is at distance 0


def _coverage(reference: torch.Tensor, radius: torch.Tensor, queries: torch.Tensor) -> float:
    """Fraction of ``queries`` within ``radius[i]`` of some ``reference[i]``."""
    inside = (torch.cdist(queries, reference) <= radius[None, :]).any(dim=1)
    return float(inside.double().mean())


def precision_recall(features_real, features_fake, k: int = 3) -> PrecisionRecall:
    """Improved precision and recall (Kynkäänniemi et al. 2019) with k-NN manifolds.

    The manifold of a set is the union of balls around its points, each with the radius to the
    point's k-th nearest neighbour in the same set. ``precision`` = fraction of fake points in
    the real manifold; ``recall`` = fraction of real points in the fake manifold.
    """
    k = check_int("k", k, minimum=1)
    real, fake = _check_pair(features_real, features_fake, min_rows=k + 1)
    precision = _coverage(real, _kth_neighbour_radius(real, k), fake)
    recall = _coverage(fake, _kth_neighbour_radius(fake, k), real)
    return PrecisionRecall(precision, recall)


# ============================================================================ Parzen windows


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


# ============================================================================ probes: corrupted images


def _check_images(images) -> torch.Tensor:
    images = check_tensor("images", images, ndim=4, dtype="float", what="(n, C, H, W)")
    if len(images) == 0:
        raise ValueError("images is empty: expected at least one image (n, C, H, W)")
    return images


def add_noise(images: torch.Tensor, std: float, seed: int = 0) -> torch.Tensor:
    """``clamp(x + std * eps, 0, 1)``, ``eps ~ N(0, I)`` (seeded): new images, ``images`` untouched."""
    images = _check_images(images)
    std = check_finite_number("std", std)
    std = std if std == 0 else check_positive_number("std", std)
    generator = torch.Generator().manual_seed(check_seed(seed))
    noise = torch.randn(images.shape, generator=generator, dtype=images.dtype).to(images.device)
    return (images + std * noise).clamp(0, 1)


def blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur with standard deviation ``sigma`` pixels (a 5x5 kernel, replicated borders)."""
    images = _check_images(images)
    if check_finite_number("sigma", sigma) == 0:
        return images.clone()
    sigma = check_positive_number("sigma", sigma)
    offsets = torch.arange(-2, 3, dtype=images.dtype, device=images.device)
    weights = torch.exp(-offsets**2 / (2 * sigma**2))
    kernel = torch.outer(weights, weights)
    kernel = (kernel / kernel.sum()).expand(images.shape[1], 1, 5, 5)
    padded = torch.nn.functional.pad(images, (2, 2, 2, 2), mode="replicate")
    return torch.nn.functional.conv2d(padded, kernel, groups=images.shape[1])


def fade(images: torch.Tensor, amount: float) -> torch.Tensor:
    """``(1 - amount) x + amount * mean image``: washed-out images, every one closer to the average."""
    images = _check_images(images)
    amount = check_probability("amount", amount, include_one=True)
    return (1 - amount) * images + amount * images.mean(dim=0, keepdim=True)


def drop_classes(images: torch.Tensor, labels: torch.Tensor, keep: int, n: int, seed: int = 0) -> torch.Tensor:
    """``n`` images drawn without replacement from the classes ``0 .. keep - 1`` only: a model that
    dropped modes (each image still perfect). ``ValueError`` if those classes hold fewer than ``n``."""
    images = _check_images(images)
    labels = check_tensor("labels", labels, dtype="integer", low=0, what="(class indices >= 0)")
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise ValueError(f"labels must be a 1-D tensor with one label per image ({images.shape[0]}), got shape {tuple(labels.shape)}")
    keep = check_int("keep", keep, minimum=1)
    n = check_int("n", n, minimum=1)
    pool = torch.nonzero(labels.cpu() < keep).flatten()
    if len(pool) < n:
        raise ValueError(f"classes 0..{keep - 1} hold {len(pool)} images, fewer than n = {n}")
    generator = torch.Generator().manual_seed(check_seed(seed))
    pick = pool[torch.randperm(len(pool), generator=generator)[:n]]
    return images[pick.to(images.device)].clone()
