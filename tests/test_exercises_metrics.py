"""Notebook 07's checkers accept the reference answers and name each known mistake."""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg
import torch

import course_gen.exercises as exercises
from course_gen.exercises.metrics import check_bits_per_dim, check_frechet_distance, check_inception_score

from exercise_helpers import assert_rejected, not_attempted


def test_checkers_are_exported():
    for name in ("check_bits_per_dim", "check_frechet_distance", "check_inception_score"):
        assert name in exercises.__all__ and callable(getattr(exercises, name))


# ============================================================================ bits per dim


def test_bits_per_dim_accepts_the_reference_and_tensors():
    assert check_bits_per_dim(lambda nll, d: nll / (d * math.log(2))).passed
    assert check_bits_per_dim(lambda nll, d: torch.tensor(nll) * math.log2(math.e) / d).passed


def test_bits_per_dim_rejects_log_base_mix_ups():
    assert_rejected(check_bits_per_dim(lambda nll, d: nll * math.log(2) / d), "log base mix-up", "MULTIPLIED")
    assert_rejected(check_bits_per_dim(lambda nll, d: nll / (d * math.log(10))), "log base mix-up", "ln 10")
    assert_rejected(check_bits_per_dim(lambda nll, d: nll / d), "nats per dimension")


def test_bits_per_dim_rejects_other_mistakes():
    assert_rejected(check_bits_per_dim(lambda nll, d: nll / math.log(2)), "bits per IMAGE")
    assert_rejected(check_bits_per_dim(lambda nll, d: -nll / (d * math.log(2))), "sign")
    assert_rejected(check_bits_per_dim(lambda nll, d: nll / (d * 0.7)), "is off")
    assert_rejected(check_bits_per_dim(lambda nll, d: "1.0"), "should be a number")
    assert_rejected(check_bits_per_dim(not_attempted), "not attempted")


# ============================================================================ Fréchet distance


def frechet_reference(mu1, s1, mu2, s2):
    covmean = scipy.linalg.sqrtm(s1.numpy() @ s2.numpy()).real
    return float(((mu1 - mu2) ** 2).sum() + torch.trace(s1) + torch.trace(s2) - 2 * np.trace(covmean))


def test_frechet_accepts_the_scipy_reference():
    assert check_frechet_distance(frechet_reference).passed


def test_frechet_rejects_a_missing_trace_term():
    assert_rejected(check_frechet_distance(lambda m1, s1, m2, s2: float(((m1 - m2) ** 2).sum())),
                    "trace term is missing")


def test_frechet_rejects_other_mistakes():
    def no_two(m1, s1, m2, s2):
        covmean = scipy.linalg.sqrtm(s1.numpy() @ s2.numpy()).real
        return float(((m1 - m2) ** 2).sum() + torch.trace(s1) + torch.trace(s2) - np.trace(covmean))

    def elementwise(m1, s1, m2, s2):
        return float(((m1 - m2) ** 2).sum() + torch.trace(s1) + torch.trace(s2) - 2 * torch.sqrt((s1 * s2).abs()).trace())

    def unsquared(m1, s1, m2, s2):
        return frechet_reference(m1, s1, m2, s2) - float(((m1 - m2) ** 2).sum()) + float((m1 - m2).norm())

    assert_rejected(check_frechet_distance(no_two), "factor 2")
    assert_rejected(check_frechet_distance(elementwise), "MATRIX square root")
    assert_rejected(check_frechet_distance(unsquared), "SQUARED")
    assert_rejected(check_frechet_distance(lambda m1, s1, m2, s2: frechet_reference(m1, s1, m2, s2) - float(((m1 - m2) ** 2).sum())),
                    "mean term")
    assert_rejected(check_frechet_distance(lambda *a: torch.ones(2)), "one number")
    assert_rejected(check_frechet_distance(not_attempted), "not attempted")


# ============================================================================ Inception Score


def is_reference(p):
    marginal = p.mean(0, keepdim=True)
    return float(torch.exp(torch.xlogy(p, p).sum(1).mean() - (p * marginal.log()).sum(1).mean()))


def test_inception_score_accepts_the_reference():
    assert check_inception_score(is_reference).passed


def test_inception_score_rejects_a_kl_in_the_wrong_direction():
    def reverse(p):
        marginal = p.mean(0, keepdim=True)
        return float((marginal * (marginal.log() - p.log())).sum(1).mean().exp())

    assert_rejected(check_inception_score(reverse), "wrong direction")


def test_inception_score_rejects_other_mistakes():
    def no_exp(p):
        return math.log(is_reference(p))

    def naive_log(p):  # 0 log 0 gives NaN on one-hot predictions
        marginal = p.mean(0, keepdim=True)
        return float((p * (p.log() - marginal.log())).sum(1).mean().exp())

    def marginal_over_classes(p):
        m = p.mean(1, keepdim=True)
        return float((p * (p.log() - m.log())).sum(1).mean().exp())

    assert_rejected(check_inception_score(no_exp), "exp is missing")
    assert_rejected(check_inception_score(naive_log), "0 log 0")
    assert_rejected(check_inception_score(marginal_over_classes), "over IMAGES")
    assert_rejected(check_inception_score(lambda p: 3.0), "is off")
    assert_rejected(check_inception_score(not_attempted), "not attempted")
