"""Notebook 04's checkers accept the reference answers and name each known mistake
(every checker is tested to reject a sign error and a missing Jacobian term)."""

from __future__ import annotations

import math

import torch

import course_gen.exercises as exercises
from course_gen.exercises.flows import (
    check_coupling_inverse,
    check_coupling_log_det,
    check_dequantization_bound,
    check_planar_log_det,
)

from exercise_helpers import assert_rejected, not_attempted


def test_checkers_are_exported_from_the_package():
    for name in ("check_coupling_inverse", "check_coupling_log_det", "check_planar_log_det",
                 "check_dequantization_bound"):
        assert getattr(exercises, name) is globals()[name]


# ============================================================================ coupling inverse


def inverse_reference(y, mask, s, t):
    return mask * y + (1 - mask) * (y - t) * torch.exp(-s)


def test_coupling_inverse_accepts_the_reference():
    assert check_coupling_inverse(inverse_reference).passed


def test_coupling_inverse_rejects_a_sign_error_on_the_shift():
    wrong = lambda y, m, s, t: m * y + (1 - m) * (y + t) * torch.exp(-s)  # noqa: E731
    assert_rejected(check_coupling_inverse(wrong), "sign error")


def test_coupling_inverse_rejects_the_scale_applied_again_and_the_wrong_order():
    again = lambda y, m, s, t: m * y + (1 - m) * (y - t) * torch.exp(s)  # noqa: E731
    assert_rejected(check_coupling_inverse(again), "undone")
    order = lambda y, m, s, t: m * y + (1 - m) * (y * torch.exp(-s) - t)  # noqa: E731
    assert_rejected(check_coupling_inverse(order), "wrong order")


def test_coupling_inverse_rejects_a_forgotten_mask_and_reports_not_attempted():
    # s and t are zero on the kept entries, so forgetting the mask changes nothing there... unless
    # the student transforms the kept entries with their own (zero) s, t: caught by expect_close then.
    no_inverse = lambda y, m, s, t: y  # noqa: E731
    assert_rejected(check_coupling_inverse(no_inverse), "is off")
    assert_rejected(check_coupling_inverse(not_attempted), "not attempted")


# ============================================================================ coupling log-det


def log_det_reference(s, mask):
    return ((1 - mask) * s).flatten(1).sum(1)


def test_coupling_log_det_accepts_the_reference():
    assert check_coupling_log_det(log_det_reference).passed


def test_coupling_log_det_rejects_a_sign_error():
    assert_rejected(check_coupling_log_det(lambda s, m: -log_det_reference(s, m)), "sign error")


def test_coupling_log_det_rejects_the_missing_mask_and_the_reversed_mask():
    assert_rejected(check_coupling_log_det(lambda s, m: s.flatten(1).sum(1)), "mask is missing")
    assert_rejected(check_coupling_log_det(lambda s, m: (m * s).flatten(1).sum(1)), "wrong way round")


def test_coupling_log_det_rejects_exp_mean_and_batch_reduction():
    assert_rejected(check_coupling_log_det(lambda s, m: ((1 - m) * s.exp()).flatten(1).sum(1)), "summed exp(s)")
    assert_rejected(check_coupling_log_det(lambda s, m: ((1 - m) * s).flatten(1).mean(1)), "averaged")
    assert_rejected(check_coupling_log_det(lambda s, m: ((1 - m) * s).sum()), "one log-determinant per example")
    assert_rejected(check_coupling_log_det(lambda s, m: (1 - m) * s), "one number per example")


# ============================================================================ planar


def planar_reference(z, u, w, b):
    h_prime = 1 - torch.tanh(z @ w + b) ** 2
    return torch.log(torch.abs(1 + h_prime * (w @ u)))


def test_planar_log_det_accepts_the_reference_and_autograd():
    assert check_planar_log_det(planar_reference).passed

    def by_autograd(z, u, w, b):
        f = lambda v: v + u * torch.tanh(v @ w + b)  # noqa: E731
        return torch.stack([torch.linalg.slogdet(torch.autograd.functional.jacobian(f, row))[1] for row in z])

    assert check_planar_log_det(by_autograd).passed


def test_planar_log_det_rejects_a_sign_error_and_the_missing_identity_term():
    minus = lambda z, u, w, b: torch.log(torch.abs(1 - (1 - torch.tanh(z @ w + b) ** 2) * (w @ u)))  # noqa: E731
    assert_rejected(check_planar_log_det(minus), "sign error")
    assert_rejected(check_planar_log_det(lambda z, u, w, b: -planar_reference(z, u, w, b)), "sign error")
    no_one = lambda z, u, w, b: torch.log(torch.abs((1 - torch.tanh(z @ w + b) ** 2) * (w @ u)))  # noqa: E731
    assert_rejected(check_planar_log_det(no_one), "the 1 is missing")


def test_planar_log_det_rejects_h_instead_of_its_derivative_and_a_missing_abs():
    with_h = lambda z, u, w, b: torch.log(torch.abs(1 + torch.tanh(z @ w + b) * (w @ u)))  # noqa: E731
    assert_rejected(check_planar_log_det(with_h), "derivative")
    no_abs = lambda z, u, w, b: torch.log(1 + (1 - torch.tanh(z @ w + b) ** 2) * (w @ u))  # noqa: E731
    assert_rejected(check_planar_log_det(no_abs), "ABSOLUTE")


# ============================================================================ dequantisation


def bound_reference(log_p_y, n_levels, n_dims):
    return log_p_y - n_dims * math.log(n_levels)


def test_dequantization_bound_accepts_the_reference():
    assert check_dequantization_bound(bound_reference).passed


def test_dequantization_bound_rejects_a_sign_error_and_the_missing_jacobian_term():
    assert_rejected(check_dequantization_bound(lambda lp, k, d: lp + d * math.log(k)), "sign error")
    assert_rejected(check_dequantization_bound(lambda lp, k, d: lp), "Jacobian term is missing")


def test_dequantization_bound_rejects_per_image_correction_k_minus_one_and_bits():
    assert_rejected(check_dequantization_bound(lambda lp, k, d: lp - math.log(k)), "per DIMENSION")
    assert_rejected(check_dequantization_bound(lambda lp, k, d: lp - d * math.log(k - 1)), "1/(K - 1)")
    assert_rejected(check_dequantization_bound(lambda lp, k, d: (lp - d * math.log(k)) / math.log(2)), "bits")
    assert_rejected(check_dequantization_bound(not_attempted), "not attempted")
