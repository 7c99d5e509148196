"""Notebook 07's checkers accept the reference answers, refuse the package's own implementations,
NaN and wrong types, and name each known mistake."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import torch

import course_gen.exercises as exercises
from course_gen import metrics
from course_gen.exercises.metrics import (
    check_bits_per_dim,
    check_fid,
    check_frechet_distance,
    check_inception_score,
    check_memorisation_question,
)

from exercise_helpers import assert_rejected, not_attempted

DELEGATES = "does the whole exercise"


def test_checkers_are_exported():
    for name in ("check_bits_per_dim", "check_frechet_distance", "check_inception_score",
                 "check_memorisation_question", "check_fid"):
        assert name in exercises.__all__ and callable(getattr(exercises, name))


# ============================================================================ bits per dim


def bpd_reference(nll, d):
    return nll / (d * math.log(2))


def test_bits_per_dim_accepts_the_reference_and_tensors():
    assert check_bits_per_dim(bpd_reference).passed
    assert check_bits_per_dim(lambda nll, d: torch.tensor(nll) * math.log2(math.e) / d).passed


def test_bits_per_dim_refuses_the_package():
    assert_rejected(check_bits_per_dim(metrics.bits_per_dim), DELEGATES, "metrics.bits_per_dim")
    assert_rejected(check_bits_per_dim(lambda nll, d: float(metrics.bits_per_dim(nll, d))), DELEGATES)
    assert_rejected(check_bits_per_dim(lambda nll, d: metrics.nats_to_bits(nll) / d), DELEGATES, "nats_to_bits")


def test_bits_per_dim_refuses_nan_inf_and_wrong_types():
    assert_rejected(check_bits_per_dim(lambda nll, d: float("nan")), "finite number", "nan")
    assert_rejected(check_bits_per_dim(lambda nll, d: torch.tensor(float("inf"))), "finite number", "inf")
    assert_rejected(check_bits_per_dim(lambda nll, d: "1.0"), "should be a number")
    assert_rejected(check_bits_per_dim(lambda nll, d: torch.ones(2)), "one number")
    assert_rejected(check_bits_per_dim(0.147), "should be a function")


def test_bits_per_dim_rejects_log_base_mix_ups():
    assert_rejected(check_bits_per_dim(lambda nll, d: nll * math.log(2) / d), "log base mix-up", "MULTIPLIED")
    assert_rejected(check_bits_per_dim(lambda nll, d: nll / (d * math.log(10))), "log base mix-up", "ln 10")
    assert_rejected(check_bits_per_dim(lambda nll, d: nll / (d * math.log2(math.e))), "log base mix-up", "log2(e)",
                    "MULTIPLIED")
    assert_rejected(check_bits_per_dim(lambda nll, d: nll / d), "nats per dimension")


def test_bits_per_dim_rejects_other_mistakes():
    assert_rejected(check_bits_per_dim(lambda nll, d: nll / math.log(2)), "bits per IMAGE")
    assert_rejected(check_bits_per_dim(lambda nll, d: -nll / (d * math.log(2))), "sign")
    assert_rejected(check_bits_per_dim(lambda nll, d: nll / (d * 0.7)), "is off")
    assert_rejected(check_bits_per_dim(not_attempted), "not attempted")


# ============================================================================ Fréchet distance


def frechet_reference(mu1, s1, mu2, s2):
    covmean = scipy.linalg.sqrtm(s1.numpy() @ s2.numpy()).real
    return float(((mu1 - mu2) ** 2).sum() + torch.trace(s1) + torch.trace(s2) - 2 * np.trace(covmean))


def test_frechet_accepts_the_scipy_reference():
    assert check_frechet_distance(frechet_reference).passed


def test_frechet_refuses_the_package():
    assert_rejected(check_frechet_distance(metrics.frechet_distance), DELEGATES, "metrics.frechet_distance")

    def with_package_cross_term(m1, s1, m2, s2):
        return float(((m1 - m2) ** 2).sum() + torch.trace(s1) + torch.trace(s2) - 2 * metrics.trace_sqrt_product(s1, s2))

    assert_rejected(check_frechet_distance(with_package_cross_term), DELEGATES, "trace_sqrt_product")


def test_frechet_refuses_nan_and_wrong_types():
    assert_rejected(check_frechet_distance(lambda *a: float("nan")), "finite number")
    assert_rejected(check_frechet_distance(lambda *a: torch.ones(2)), "one number")
    assert_rejected(check_frechet_distance(lambda *a: None), "should be a number", "NoneType")
    assert_rejected(check_frechet_distance("frechet"), "should be a function")


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

    def sqrt_of_trace(m1, s1, m2, s2):
        return float(((m1 - m2) ** 2).sum() + torch.trace(s1) + torch.trace(s2) - 2 * torch.trace(s1 @ s2).sqrt())

    def plus_sign(m1, s1, m2, s2):
        return 2 * float(((m1 - m2) ** 2).sum() + torch.trace(s1) + torch.trace(s2)) - frechet_reference(m1, s1, m2, s2)

    assert_rejected(check_frechet_distance(no_two), "factor 2")
    assert_rejected(check_frechet_distance(elementwise), "MATRIX square root")
    assert_rejected(check_frechet_distance(unsquared), "SQUARED")
    assert_rejected(check_frechet_distance(sqrt_of_trace), "not sqrt(Tr(S1 S2))")
    assert_rejected(check_frechet_distance(plus_sign), "MINUS")
    assert_rejected(check_frechet_distance(lambda m1, s1, m2, s2: frechet_reference(m1, s1, m2, s2) - float(((m1 - m2) ** 2).sum())),
                    "mean term")
    assert_rejected(check_frechet_distance(not_attempted), "not attempted")


# ============================================================================ Inception Score


def is_reference(p):
    marginal = p.mean(0, keepdim=True)
    return float(torch.exp(torch.xlogy(p, p).sum(1).mean() - (p * marginal.log()).sum(1).mean()))


def test_inception_score_accepts_the_reference():
    assert check_inception_score(is_reference).passed


def test_inception_score_refuses_the_package():
    assert_rejected(check_inception_score(lambda p: metrics.inception_score(p, splits=1)[0]), DELEGATES,
                    "metrics.inception_score")
    assert_rejected(check_inception_score(lambda p: math.exp(float(metrics._kl_rows(p, p.mean(0, keepdim=True)).mean()))),
                    DELEGATES)


def test_inception_score_refuses_nan_and_wrong_types():
    assert_rejected(check_inception_score(lambda p: torch.tensor(float("nan"))), "finite number")
    assert_rejected(check_inception_score(lambda p: float("inf")), "finite number")
    assert_rejected(check_inception_score(lambda p: [1.0]), "should be a number", "list")
    assert_rejected(check_inception_score(None), "should be a function")


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

    def exp_then_mean(p):
        marginal = p.mean(0, keepdim=True)
        return float((torch.xlogy(p, p) - p * marginal.log()).sum(1).exp().mean())

    assert_rejected(check_inception_score(no_exp), "exp is missing")
    assert_rejected(check_inception_score(naive_log), "0 log 0")
    assert_rejected(check_inception_score(marginal_over_classes), "over IMAGES")
    assert_rejected(check_inception_score(exp_then_mean), "swapped")
    assert_rejected(check_inception_score(lambda p: 3.0), "is off")
    assert_rejected(check_inception_score(not_attempted), "not attempted")


# ============================================================================ conceptual question


def test_memorisation_question_accepts_c():
    assert check_memorisation_question(lambda: "C").passed
    assert check_memorisation_question(lambda: " c ").passed


@pytest.mark.parametrize("letter, phrase", [("A", "never sees"), ("B", "cannot tell a copy"), ("D", "high recall")])
def test_memorisation_question_explains_each_wrong_answer(letter, phrase):
    assert_rejected(check_memorisation_question(lambda: letter), f"not {letter}", phrase)


def test_memorisation_question_refuses_other_answers():
    assert_rejected(check_memorisation_question(lambda: "E"), "return one of")
    assert_rejected(check_memorisation_question(lambda: 3), "return one of")
    assert_rejected(check_memorisation_question(lambda: float("nan")), "return one of")
    assert_rejected(check_memorisation_question("C"), "should be a function")
    assert_rejected(check_memorisation_question(not_attempted), "not attempted")


# ============================================================================ FID from features (larger task)


def stats(x):
    mu = x.mean(dim=0)
    centred = x - mu
    return mu, centred.T @ centred / (x.shape[0] - 1)


def fid_reference(real, fake):
    return frechet_reference(*stats(real), *stats(fake))


def test_fid_accepts_the_reference_and_torch_cov():
    assert check_fid(fid_reference).passed
    assert check_fid(lambda a, b: frechet_reference(a.mean(0), torch.cov(a.T), b.mean(0), torch.cov(b.T))).passed
    assert check_fid(lambda a, b: torch.tensor(fid_reference(a.float(), b.float()))).passed  # float32 is precise enough


def test_fid_refuses_the_package():
    assert_rejected(check_fid(metrics.fid), DELEGATES, "metrics.fid")
    assert_rejected(check_fid(lambda a, b: frechet_reference(*metrics.gaussian_stats(a), *metrics.gaussian_stats(b))),
                    DELEGATES, "gaussian_stats")
    assert_rejected(check_fid(lambda a, b: metrics.frechet_distance(*stats(a), *stats(b))), DELEGATES, "frechet_distance")


def test_fid_refuses_nan_and_wrong_types():
    assert_rejected(check_fid(lambda a, b: float("nan")), "finite number")
    assert_rejected(check_fid(lambda a, b: stats(a)[1]), "one number")
    assert_rejected(check_fid(lambda a, b: "17.4"), "should be a number")
    assert_rejected(check_fid(17.4), "should be a function")
    assert_rejected(check_fid(not_attempted), "not attempted")


def test_fid_names_transposed_features():
    def columns_then_wrong_product(a, b):
        def s(x):
            c = x - x.mean(0)
            return x.mean(0), c @ c.T / (x.shape[0] - 1)
        return frechet_reference(*s(a), *s(b))

    assert_rejected(check_fid(columns_then_wrong_product), "transposed", "d x d")
    assert_rejected(check_fid(lambda a, b: frechet_reference(a.mean(0), torch.cov(a), b.mean(0), torch.cov(b))), "transposed")
    assert_rejected(check_fid(lambda a, b: frechet_reference(a.mean(1), torch.cov(a), b.mean(1), torch.cov(b))), "transposed")


def test_fid_names_a_biased_covariance():
    def biased(a, b):
        return frechet_reference(a.mean(0), torch.cov(a.T, correction=0), b.mean(0), torch.cov(b.T, correction=0))

    assert_rejected(check_fid(biased), "covariance is biased", "n - 1")


def test_fid_names_a_missing_square_root():
    def no_sqrt(a, b):
        (m1, s1), (m2, s2) = stats(a), stats(b)
        return float(((m1 - m2) ** 2).sum() + torch.trace(s1 + s2 - 2 * s1 @ s2))

    assert_rejected(check_fid(no_sqrt), "square root of the product is missing")


def test_fid_names_means_only_and_other_mistakes():
    assert_rejected(check_fid(lambda a, b: float(((a.mean(0) - b.mean(0)) ** 2).sum())), "means only")
    assert_rejected(check_fid(lambda a, b: frechet_reference(a.mean(0), a.T @ a / (len(a) - 1), b.mean(0), b.T @ b / (len(b) - 1))),
                    "not centred")
    assert_rejected(check_fid(lambda a, b: frechet_reference(a.mean(0), torch.diag(a.var(0)), b.mean(0), torch.diag(b.var(0)))),
                    "diagonal")
    assert_rejected(check_fid(lambda a, b: math.sqrt(fid_reference(a, b))), "do not take the square root")
    assert_rejected(check_fid(lambda a, b: 1.01 * fid_reference(a, b)), "is off", "my_frechet_distance")


def test_fid_passes_on_frechet_mistakes():
    def no_two(a, b):
        (m1, s1), (m2, s2) = stats(a), stats(b)
        covmean = scipy.linalg.sqrtm(s1.numpy() @ s2.numpy()).real
        return float(((m1 - m2) ** 2).sum() + torch.trace(s1) + torch.trace(s2) - np.trace(covmean))

    assert_rejected(check_fid(no_two), "in the Fréchet distance", "factor 2")


def test_fid_checks_symmetric_sizes_and_self_distance():
    def equal_sizes_only(a, b):  # uses the size of the first set for both covariances
        n = a.shape[0]
        ca, cb = a - a.mean(0), b - b.mean(0)
        return frechet_reference(a.mean(0), ca.T @ ca / (n - 1), b.mean(0), cb.T @ cb / (n - 1))

    assert_rejected(check_fid(equal_sizes_only), "15 feature vectors")

    def offset(a, b):  # right on distinct sets, but a set against itself is not at 0
        return fid_reference(a, b) + (1.0 if torch.equal(a, b) else 0.0)

    assert_rejected(check_fid(offset), "itself must be 0")
