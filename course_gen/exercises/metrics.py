"""Checkers for the exercises of notebook 07 (evaluating generative models).

- :func:`check_bits_per_dim`: ``nll_nats / (n_dims ln 2)``;
- :func:`check_frechet_distance`: ``||m1 - m2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))``;
- :func:`check_inception_score`: ``exp(mean_x KL(p(y|x) || p(y)))``;
- :func:`check_memorisation_question`: which score exposes a model that copies its training set;
- :func:`check_fid`: the larger task, FID from two feature matrices (n, d): means, unbiased
  covariances, Fréchet distance.

Each runs the student's function on cases with known answers (computed with the package's
:mod:`course_gen.metrics`, outside the student's call) and names the mistakes it recognises (a log
base mix-up, a missing trace or mean term, a KL in the wrong direction, a missing exp, transposed
features, a biased covariance, ...). An answer that calls the package's own implementation of the
exercise earns nothing; NaN, inf and wrong types are "not correct". None of them raises.
"""

from __future__ import annotations

import math

import torch

from course_gen import metrics
from course_gen.exercises._feedback import (
    Feedback,
    Mistake,
    answer,
    as_number,
    check_choice,
    expect_number,
    run_checks,
)

__all__ = [
    "check_bits_per_dim",
    "check_fid",
    "check_frechet_distance",
    "check_inception_score",
    "check_memorisation_question",
]

#: The package's implementations that an answer may not call (each does the exercise, or its hard part).
BITS_FORBIDDEN = (metrics.bits_per_dim, metrics.nats_to_bits)
FRECHET_FORBIDDEN = (metrics.frechet_distance, metrics.trace_sqrt_product, metrics.fid)
IS_FORBIDDEN = (metrics.inception_score, metrics._kl_rows)
FID_FORBIDDEN = (metrics.fid, metrics.gaussian_stats, metrics.frechet_distance, metrics.trace_sqrt_product)


# ============================================================================ bits per dimension


def check_bits_per_dim(fn) -> Feedback:
    """Check ``fn(nll_nats, n_dims) -> float``: negative log-likelihood of an image in nats to bits/dim."""

    def checks() -> None:
        student = answer(fn, "my_bits_per_dim", forbidden=BITS_FORBIDDEN)
        for nll, dims in [(44.36, 64), (80.0, 784), (5000.0, 3072)]:
            what = f"bits/dim for {nll} nats over {dims} dimensions"
            expected = nll / (dims * math.log(2))
            expect_number(student(nll, dims), expected, what, [
                (nll * math.log(2) / dims, "log base mix-up: you MULTIPLIED by ln 2 (or divided by log2(e) = "
                                           "1/ln 2); going from nats to bits DIVIDES by ln 2 (1 bit = ln 2 nats "
                                           "= 0.693 nats), i.e. multiplies by log2(e)"),
                (nll / dims, "that is nats per dimension: divide by ln 2 as well to get bits"),
                (nll / (dims * math.log(10)), "log base mix-up: ln 10 converts to decimal digits (bans); bits "
                                              "use ln 2"),
                (nll / math.log(2), "that is bits per IMAGE: divide by the number of dimensions too"),
                (-expected, "the sign is flipped: a negative log-likelihood gives positive bits/dim"),
            ])

    return run_checks("bits per dimension", checks)


# ============================================================================ Fréchet distance


def _frechet_cases() -> list[tuple[torch.Tensor, ...]]:
    g = torch.Generator().manual_seed(7)
    cases = []
    for d in (3, 5):
        a = torch.randn(d, d + 2, generator=g, dtype=torch.float64)
        b = torch.randn(d, d + 2, generator=g, dtype=torch.float64)
        mu1 = torch.randn(d, generator=g, dtype=torch.float64)
        mu2 = torch.randn(d, generator=g, dtype=torch.float64)
        cases.append((mu1, a @ a.T / d, mu2, b @ b.T / d))
    return cases


def _frechet_mistakes(mu1, s1, mu2, s2) -> list[tuple[float, str]]:
    mean_term = float(((mu1 - mu2) ** 2).sum())
    cross = float(metrics.trace_sqrt_product(s1, s2))
    traces = float(torch.trace(s1) + torch.trace(s2))
    elementwise = float(torch.sqrt((s1 * s2).abs()).trace())
    product_sqrt = float(torch.trace(s1 @ s2).sqrt())
    return [
        (mean_term, "the trace term is missing: d^2 = ||m1 - m2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)); two "
                    "Gaussians with equal means but different covariances are not at distance 0"),
        (traces - 2 * cross, "the mean term ||m1 - m2||^2 is missing"),
        (math.sqrt(mean_term) + traces - 2 * cross, "the mean term must be SQUARED: ||m1 - m2||^2"),
        (mean_term + traces - cross, "the factor 2 in front of Tr((S1 S2)^(1/2)) is missing"),
        (mean_term + traces + 2 * cross, "the sign of the cross term: it is MINUS 2 Tr((S1 S2)^(1/2))"),
        (mean_term + traces - 2 * elementwise, "(S1 S2)^(1/2) is the MATRIX square root of the matrix product "
                                               "S1 @ S2 (e.g. scipy.linalg.sqrtm), not an elementwise sqrt"),
        (mean_term + traces - 2 * product_sqrt, "Tr((S1 S2)^(1/2)) is not sqrt(Tr(S1 S2)): take the matrix square "
                                                "root first, then the trace"),
        (mean_term + traces - 2 * float(torch.trace(s1 @ s2)), "the square root of S1 S2 is missing"),
    ]


def check_frechet_distance(fn) -> Feedback:
    """Check ``fn(mu1, sigma1, mu2, sigma2) -> float``: the squared Fréchet distance of two Gaussians."""

    def checks() -> None:
        student = answer(fn, "my_frechet_distance", forbidden=FRECHET_FORBIDDEN)
        cases = _frechet_cases()
        for mu1, s1, mu2, s2 in cases:
            expected = metrics.frechet_distance(mu1, s1, mu2, s2)
            got = student(mu1.clone(), s1.clone(), mu2.clone(), s2.clone())
            expect_number(got, expected, f"the Fréchet distance in {mu1.shape[0]} dimensions",
                          _frechet_mistakes(mu1, s1, mu2, s2))
        mu, s = cases[0][:2]
        same = as_number(student(mu.clone(), s.clone(), mu.clone(), s.clone()), "the Fréchet distance")
        if abs(same) > 1e-5 * float(torch.trace(s)):  # round-off only (float32 allowed)
            raise Mistake(f"a Gaussian's distance to itself must be 0, got {same:.4g}")

    return run_checks("Fréchet distance", checks)


# ============================================================================ Inception Score


def _is_cases() -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(11)
    confident = torch.softmax(4 * torch.randn(40, 10, generator=g, dtype=torch.float64), dim=1)
    vague = torch.softmax(0.5 * torch.randn(25, 4, generator=g, dtype=torch.float64), dim=1)
    return [confident, vague]


def _is_mistakes(p: torch.Tensor) -> list[tuple[float, str]]:
    marginal = p.mean(dim=0, keepdim=True)
    kl = (p * (p.log() - marginal.log())).sum(1)
    reverse = (marginal * (marginal.log() - p.log())).sum(1)
    entropy_marginal = float(-(marginal * marginal.log()).sum())
    mean_entropy = float(-(p * p.log()).sum(1).mean())
    return [
        (float(reverse.mean().exp()), "the KL is in the wrong direction: IS uses KL(p(y|x) || p(y)) = "
                                      "sum_y p(y|x) log(p(y|x) / p(y)), weighted by the CONDITIONAL p(y|x)"),
        (float(kl.mean()), "the exp is missing: IS = exp(E_x KL(p(y|x) || p(y)))"),
        (float(kl.exp().mean()), "exp and mean are swapped: IS = exp(MEAN of the KLs), not the mean of exp(KL)"),
        (math.exp(entropy_marginal), "that is exp(H(p(y))) only: subtract the mean entropy of p(y|x) "
                                     "(E_x KL(p(y|x) || p(y)) = H(p(y)) - E_x H(p(y|x)))"),
        (math.exp(mean_entropy), "that is exp(E_x H(p(y|x))): the KL compares each p(y|x) with the "
                                 "marginal p(y) = mean over images of p(y|x)"),
        (float((p * (p.log() - p.mean(dim=1, keepdim=True).log())).sum(1).mean().exp()),
         "the marginal p(y) is the mean over IMAGES (dim 0) of p(y|x), not over the classes"),
    ]


def _is_nan(value) -> bool:
    """Whether ``value`` is a NaN float or a tensor holding a NaN (what ``0 * log 0`` gives)."""
    if isinstance(value, torch.Tensor):
        return value.is_floating_point() and bool(torch.isnan(value).any())
    return isinstance(value, float) and math.isnan(value)


def check_inception_score(fn) -> Feedback:
    """Check ``fn(probs) -> float``: ``exp(mean_x KL(p(y|x) || p(y)))`` for probs (n, classes), one split."""

    def checks() -> None:
        student = answer(fn, "my_inception_score", forbidden=IS_FORBIDDEN)
        for p in _is_cases():
            expected = metrics.inception_score(p, splits=1)[0]
            expect_number(student(p.clone()), expected,
                          f"the Inception Score of {p.shape[0]} predictions over {p.shape[1]} classes",
                          _is_mistakes(p))
        one_hot = torch.eye(5, dtype=torch.float64).repeat(3, 1)
        perfect = student(one_hot.clone())
        if _is_nan(perfect):
            raise Mistake("confident predictions (zeros in p(y|x)) gave NaN: use the convention 0 log 0 = 0, "
                          "e.g. torch.xlogy or a where(p > 0, ...)")
        expect_number(perfect, 5.0, "the Inception Score of one-hot predictions spread evenly over 5 classes "
                      "(it should be 5)")

    return run_checks("Inception Score", checks)


# ============================================================================ conceptual question

MEMORISATION_OPTIONS = {
    "A": "the Inception Score of its samples",
    "B": "the FID of its samples against the test digits",
    "C": "its test log-likelihood (bits/dim of the held-out test digits)",
    "D": "the precision and recall of its samples against the test digits",
}
MEMORISATION_WHY_NOT = {
    "A": "the Inception Score only looks at the classifier's predictions on the samples: training digits are "
         "classified confidently and use all classes evenly, so the copies score as well as real data "
         "(section 3: it never sees the training or the test set)",
    "B": "training digits and test digits come from the same distribution, so their feature statistics agree: "
         "the 'real train digits' row scores the best FID of all (section 8); FID cannot tell a copy from a "
         "new sample",
    "D": "copies of real digits lie inside the real digits' manifold (high precision) and cover it as well as "
         "any real sample does (high recall): the 'real train digits' row of section 6",
}


def check_memorisation_question(fn) -> Feedback:
    """Check ``fn() -> "C"``: only the test log-likelihood exposes a model that hands back its
    training images (it gives a new test digit probability 0: an infinite NLL)."""
    return check_choice("memorisation question", fn, MEMORISATION_OPTIONS, "C", MEMORISATION_WHY_NOT)


# ============================================================================ FID from features (larger task)


def _fid_cases() -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Two fixed pairs of feature sets (n, d): equal sizes (12 and 12 images, 4 features), then
    different sizes (20 and 15 images, 5 features)."""
    g = torch.Generator().manual_seed(21)
    cases = []
    for n_real, n_fake, d in ((12, 12, 4), (20, 15, 5)):
        mix_real = torch.randn(d, d, generator=g, dtype=torch.float64)
        mix_fake = torch.randn(d, d, generator=g, dtype=torch.float64)
        real = torch.randn(n_real, d, generator=g, dtype=torch.float64) @ mix_real + 1.0
        fake = torch.randn(n_fake, d, generator=g, dtype=torch.float64) @ mix_fake + 1.5
        cases.append((real, fake))
    return cases


def _distance(mu1, s1, mu2, s2) -> float:
    """The squared Fréchet distance, computed term by term (no shape checks): also for the wrong
    (n, n) covariances of transposed features."""
    return float(((mu1 - mu2) ** 2).sum() + torch.trace(s1) + torch.trace(s2)
                 - 2 * metrics.trace_sqrt_product(s1, s2))


def _fid_mistakes(real: torch.Tensor, fake: torch.Tensor) -> list[tuple[float, str]]:
    (mu1, s1), (mu2, s2) = metrics.gaussian_stats(real), metrics.gaussian_stats(fake)
    expected = _distance(mu1, s1, mu2, s2)
    mean_term = float(((mu1 - mu2) ** 2).sum())
    traces = float(torch.trace(s1) + torch.trace(s2))
    n1, n2 = real.shape[0], fake.shape[0]
    mistakes = []
    if n1 == n2:  # transposed features give (n, n) "covariances"; only comparable when both n agree
        transposed = "the features are transposed: they are (n, d), one ROW per image, so the covariance " \
                     "must be d x d (centred.T @ centred), not the n x n matrix of the images"

        def by_columns(x):  # centred over images, but the product the wrong way round
            c = x - x.mean(dim=0)
            return c @ c.T / (x.shape[0] - 1)

        def by_rows(x):  # torch.cov(x): rows treated as the variables
            c = x - x.mean(dim=1, keepdim=True)
            return c @ c.T / (x.shape[1] - 1)

        for cov in (by_columns, by_rows):
            for mean in (lambda x: x.mean(dim=0), lambda x: x.mean(dim=1)):
                mistakes.append((_distance(mean(real), cov(real), mean(fake), cov(fake)), transposed))
    mistakes += [
        (_distance(mu1, s1 * (n1 - 1) / n1, mu2, s2 * (n2 - 1) / n2),
         "the covariance is biased: divide the sum of the centred outer products by n - 1 (the unbiased "
         "estimator, as the FID's reference code does), not by n"),
        (mean_term + traces - 2 * float(torch.trace(s1 @ s2)),
         "the square root of the product is missing: the cross term is -2 Tr((S1 S2)^(1/2)), with the MATRIX "
         "square root of S1 @ S2"),
        (mean_term, "that compares the means only: the FID also compares the covariances, "
                    "+ Tr(S1 + S2 - 2 (S1 S2)^(1/2))"),
        (_distance(mu1, real.T @ real / (n1 - 1), mu2, fake.T @ fake / (n2 - 1)),
         "the covariance is not centred: subtract the mean feature vector from every row before x.T @ x"),
        (_distance(mu1, torch.diag(torch.diagonal(s1)), mu2, torch.diag(torch.diagonal(s2))),
         "only the variances (the diagonal of each covariance) count in your result: the FID fits a full d x d "
         "covariance matrix (or your Fréchet distance takes an elementwise square root of S1 * S2 instead of "
         "the matrix square root of S1 @ S2)"),
        (math.sqrt(expected), "that is the Fréchet distance d, and the FID is its square d^2: do not take the "
                              "square root at the end"),
    ]
    return mistakes + [(value, f"in the Fréchet distance: {message}")
                       for value, message in _frechet_mistakes(mu1, s1, mu2, s2)]


def check_fid(fn) -> Feedback:
    """Check ``fn(features_real, features_fake) -> float``: the FID of two feature matrices (n, d):
    ``frechet(mean, unbiased covariance of each)``, against :func:`course_gen.metrics.fid`."""

    def checks() -> None:
        student = answer(fn, "my_fid", forbidden=FID_FORBIDDEN)
        cases = _fid_cases()
        for real, fake in cases:
            expected = metrics.fid(real, fake)
            got = student(real.clone(), fake.clone())
            what = f"the FID of {real.shape[0]} against {fake.shape[0]} feature vectors of size {real.shape[1]}"
            try:
                expect_number(got, expected, what, _fid_mistakes(real, fake), rtol=1e-4)
            except Mistake as mistake:
                if "is off" in str(mistake):
                    raise Mistake(f"{mistake} (if you reuse my_frechet_distance, make sure its checker "
                                  "passes first)") from None
                raise
        real = cases[1][0]
        same = as_number(student(real.clone(), real.clone()), "the FID of a feature set against itself")
        if abs(same) > 1e-5 * float(torch.trace(metrics.gaussian_stats(real)[1])):  # round-off only (float32 allowed)
            raise Mistake(f"the FID of a feature set against itself must be 0, got {same:.4g}")

    return run_checks("FID from features", checks)
