"""Checkers for the exercises of notebook 07 (evaluating generative models).

- :func:`check_bits_per_dim`: ``nll_nats / (n_dims ln 2)``;
- :func:`check_frechet_distance`: ``||m1 - m2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))``;
- :func:`check_inception_score`: ``exp(mean_x KL(p(y|x) || p(y)))``.

Each runs the student's function on cases with known answers and names the mistakes it
recognises (a log base mix-up, a missing trace or mean term, a KL in the wrong direction, a
missing exp, ...); none raises.
"""

from __future__ import annotations

import math
import numbers

import torch

from course_gen import metrics
from course_gen.exercises._feedback import Feedback, Mistake, run_checks

__all__ = ["check_bits_per_dim", "check_frechet_distance", "check_inception_score"]


def _as_float(got, what: str) -> float:
    """``got`` as a Python float: a number or a one-element tensor; :class:`Mistake` otherwise."""
    if isinstance(got, torch.Tensor):
        if got.numel() != 1:
            raise Mistake(f"{what} should be one number, got a tensor of shape {tuple(got.shape)}")
        got = got.item()
    if isinstance(got, bool) or not isinstance(got, numbers.Real):
        raise Mistake(f"{what} should be a number, got {type(got).__name__}")
    if isinstance(got, complex) or not math.isfinite(float(got)):
        raise Mistake(f"{what} should be a finite number, got {got}")
    return float(got)


def _close(a: float, b: float, rel: float = 1e-5) -> bool:
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-12) + 1e-9


def _diagnose(got: float, expected: float, what: str, mistakes: list[tuple[float, str]]) -> None:
    """Pass if ``got`` equals ``expected``; else raise the message of the first matching mistake."""
    if _close(got, expected):
        return
    for wrong, message in mistakes:
        if math.isfinite(wrong) and _close(got, wrong):
            raise Mistake(message)
    raise Mistake(f"{what} is off: expected {expected:.6g}, got {got:.6g}")


# ============================================================================ bits per dimension


def check_bits_per_dim(fn) -> Feedback:
    """Check ``fn(nll_nats, n_dims) -> float``: negative log-likelihood of an image in nats to bits/dim."""

    def checks() -> None:
        for nll, dims in [(44.36, 64), (80.0, 784), (5000.0, 3072)]:
            got = _as_float(fn(nll, dims), f"bits/dim for {nll} nats over {dims} dimensions")
            expected = nll / (dims * math.log(2))
            _diagnose(got, expected, f"bits/dim for {nll} nats over {dims} dimensions", [
                (nll * math.log(2) / dims, "log base mix-up: you MULTIPLIED by ln 2; going from nats to bits "
                                           "DIVIDES by ln 2 (1 bit = ln 2 nats = 0.693 nats)"),
                (nll / dims, "that is nats per dimension: divide by ln 2 as well to get bits"),
                (nll / (dims * math.log(10)), "log base mix-up: ln 10 converts to decimal digits (bans); bits "
                                              "use ln 2"),
                (nll / math.log(2), "that is bits per IMAGE: divide by the number of dimensions too"),
                (nll / (dims * math.log2(math.e)), "log base mix-up: you divided by log2(e) = 1/ln 2; "
                                                   "bits = nats / ln 2 = nats * log2(e)"),
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
        for mu1, s1, mu2, s2 in _frechet_cases():
            got = _as_float(fn(mu1.clone(), s1.clone(), mu2.clone(), s2.clone()), "the Fréchet distance")
            expected = metrics.frechet_distance(mu1, s1, mu2, s2)
            _diagnose(got, expected, f"the Fréchet distance in {mu1.shape[0]} dimensions",
                      _frechet_mistakes(mu1, s1, mu2, s2))
        mu, s = _frechet_cases()[0][:2]
        same = _as_float(fn(mu.clone(), s.clone(), mu.clone(), s.clone()), "the Fréchet distance")
        if abs(same) > 1e-6:
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


def check_inception_score(fn) -> Feedback:
    """Check ``fn(probs) -> float``: ``exp(mean_x KL(p(y|x) || p(y)))`` for probs (n, classes), one split."""

    def checks() -> None:
        for p in _is_cases():
            got = _as_float(fn(p.clone()), "the Inception Score")
            expected = metrics.inception_score(p, splits=1)[0]
            _diagnose(got, expected, f"the Inception Score of {p.shape[0]} predictions over {p.shape[1]} classes",
                      _is_mistakes(p))
        one_hot = torch.eye(5, dtype=torch.float64).repeat(3, 1)
        perfect = fn(one_hot.clone())
        if isinstance(perfect, torch.Tensor) and bool(torch.isnan(perfect).any()) or (
            isinstance(perfect, float) and math.isnan(perfect)
        ):
            raise Mistake("confident predictions (zeros in p(y|x)) gave NaN: use the convention 0 log 0 = 0, "
                          "e.g. torch.xlogy or a where(p > 0, ...)")
        _diagnose(_as_float(perfect, "the Inception Score"), 5.0, "the Inception Score of one-hot predictions "
                  "spread evenly over 5 classes (it should be 5)", [])

    return run_checks("Inception Score", checks)
