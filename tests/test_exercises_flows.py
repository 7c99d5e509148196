"""Notebook 04's checkers accept the reference answers, reject an answer that delegates to the package
(or to the checker's reference), NaN and wrong types, and name each known mistake."""

from __future__ import annotations

import math

import pytest
import torch

import course_gen.exercises as exercises
from course_gen import flows
from course_gen.exercises.flows import (
    check_affine_coupling,
    check_coupling_inverse,
    check_coupling_log_det,
    check_dequantization_bound,
    check_log_det_question,
    check_planar_log_det,
    reference_affine_coupling,
    reference_coupling_inverse,
    reference_coupling_log_det,
    reference_dequantization_bound,
    reference_planar_log_det,
)

from exercise_helpers import assert_rejected, not_attempted

DELEGATES = "does the whole exercise"
CHECKERS = ("check_affine_coupling", "check_coupling_inverse", "check_coupling_log_det", "check_dequantization_bound",
            "check_log_det_question", "check_planar_log_det")


def test_checkers_are_exported_from_the_package():
    for name in CHECKERS:
        assert getattr(exercises, name) is globals()[name]


@pytest.mark.parametrize("name", CHECKERS)
def test_every_checker_reports_not_attempted_and_a_non_function(name):
    checker = globals()[name]
    assert_rejected(checker(not_attempted), "not attempted")
    assert_rejected(checker(42), "should be a function", "int")


# ============================================================================ planar


def planar_reference(z, u, w, b):
    h_prime = 1 - torch.tanh(z @ w + b) ** 2
    return torch.log(torch.abs(1 + h_prime * (w @ u)))


def test_planar_log_det_accepts_the_reference_and_autograd():
    feedback = check_planar_log_det(planar_reference)
    assert feedback.passed and str(feedback).startswith("\u2714"), feedback

    def by_autograd(z, u, w, b):
        f = lambda v: v + u * torch.tanh(v @ w + b)  # noqa: E731
        return torch.stack([torch.linalg.slogdet(torch.autograd.functional.jacobian(f, row))[1] for row in z])

    assert check_planar_log_det(by_autograd).passed


def test_planar_log_det_rejects_the_package_and_the_reference():
    assert_rejected(check_planar_log_det(lambda z, u, w, b: flows.planar_map(z, u, w, b)[1]), DELEGATES, "planar_map")
    assert_rejected(check_planar_log_det(reference_planar_log_det), DELEGATES)


def test_planar_log_det_rejects_nan_and_wrong_types():
    feedback = check_planar_log_det(lambda z, u, w, b: planar_reference(z, u, w, b) * float("nan"))
    assert_rejected(feedback, "NaN")
    assert str(feedback).startswith("\u2718")
    assert_rejected(check_planar_log_det(lambda z, u, w, b: planar_reference(z, u, w, b).tolist()), "torch.Tensor")
    assert_rejected(check_planar_log_det(lambda z, u, w, b: planar_reference(z, u, w, b).sum()), "per example")


def test_planar_log_det_rejects_a_sign_error_and_the_missing_identity_term():
    minus = lambda z, u, w, b: torch.log(torch.abs(1 - (1 - torch.tanh(z @ w + b) ** 2) * (w @ u)))  # noqa: E731
    assert_rejected(check_planar_log_det(minus), "sign error")
    assert_rejected(check_planar_log_det(lambda z, u, w, b: -planar_reference(z, u, w, b)), "sign error", "inverse")
    no_one = lambda z, u, w, b: torch.log(torch.abs((1 - torch.tanh(z @ w + b) ** 2) * (w @ u)))  # noqa: E731
    assert_rejected(check_planar_log_det(no_one), "the 1 is missing")
    assert_rejected(check_planar_log_det(lambda z, u, w, b: planar_reference(z, u, w, b).exp()), "log is missing")


def test_planar_log_det_rejects_h_instead_of_its_derivative_and_a_missing_abs():
    with_h = lambda z, u, w, b: torch.log(torch.abs(1 + torch.tanh(z @ w + b) * (w @ u)))  # noqa: E731
    assert_rejected(check_planar_log_det(with_h), "derivative")
    no_abs = lambda z, u, w, b: torch.log(1 + (1 - torch.tanh(z @ w + b) ** 2) * (w @ u))  # noqa: E731
    assert_rejected(check_planar_log_det(no_abs), "ABSOLUTE")


# ============================================================================ coupling inverse


def inverse_reference(y, mask, s, t):
    return mask * y + (1 - mask) * (y - t) * torch.exp(-s)


def package_inverse(y, mask, s, t):
    # flows.AffineCoupling's own inverse, with the given s and t in place of its network
    layer = flows.AffineCoupling(tuple(y.shape[1:]), mask=mask, hidden=4).double()
    layer.scale_and_shift = lambda kept: (s, t)
    return layer.inverse(y)[0]


def test_coupling_inverse_accepts_the_reference():
    assert check_coupling_inverse(inverse_reference).passed


def test_coupling_inverse_rejects_the_package_and_the_reference():
    assert_rejected(check_coupling_inverse(package_inverse), DELEGATES, "AffineCoupling.inverse")
    assert_rejected(check_coupling_inverse(reference_coupling_inverse), DELEGATES)


def test_coupling_inverse_rejects_nan_and_wrong_types():
    assert_rejected(check_coupling_inverse(lambda y, m, s, t: inverse_reference(y, m, s, t) / 0 * 0), "NaN")
    assert_rejected(check_coupling_inverse(lambda y, m, s, t: inverse_reference(y, m, s, t).numpy()),
                    "torch.Tensor", "ndarray")
    assert_rejected(check_coupling_inverse(lambda y, m, s, t: inverse_reference(y, m, s, t).flatten(1)), "shape")


def test_coupling_inverse_rejects_a_sign_error_on_the_shift():
    wrong = lambda y, m, s, t: m * y + (1 - m) * (y + t) * torch.exp(-s)  # noqa: E731
    assert_rejected(check_coupling_inverse(wrong), "sign error")


def test_coupling_inverse_rejects_the_scale_applied_again_and_the_wrong_order():
    again = lambda y, m, s, t: m * y + (1 - m) * (y - t) * torch.exp(s)  # noqa: E731
    assert_rejected(check_coupling_inverse(again), "undone")
    order = lambda y, m, s, t: m * y + (1 - m) * (y * torch.exp(-s) - t)  # noqa: E731
    assert_rejected(check_coupling_inverse(order), "wrong order")


def test_coupling_inverse_rejects_doing_nothing():
    assert_rejected(check_coupling_inverse(lambda y, m, s, t: y), "nothing was undone")
    assert_rejected(check_coupling_inverse(lambda y, m, s, t: 2 * inverse_reference(y, m, s, t)), "is off")


# ============================================================================ coupling log-det


def log_det_reference(s, mask):
    return ((1 - mask) * s).flatten(1).sum(1)


def package_log_det(s, mask):
    layer = flows.AffineCoupling(tuple(s.shape[1:]), mask=mask, hidden=4).double()
    layer.scale_and_shift = lambda kept: ((1 - mask) * s, torch.zeros_like(s))
    return layer(torch.zeros_like(s))[1]


def test_coupling_log_det_accepts_the_reference():
    assert check_coupling_log_det(log_det_reference).passed


def test_coupling_log_det_rejects_the_package_and_the_reference():
    assert_rejected(check_coupling_log_det(package_log_det), DELEGATES, "AffineCoupling.forward")
    assert_rejected(check_coupling_log_det(reference_coupling_log_det), DELEGATES)


def test_coupling_log_det_rejects_nan_and_wrong_types():
    assert_rejected(check_coupling_log_det(lambda s, m: log_det_reference(s, m) + float("inf")), "inf")
    assert_rejected(check_coupling_log_det(lambda s, m: float(log_det_reference(s, m)[0])), "torch.Tensor", "float")


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


# ============================================================================ the larger task: a coupling layer


def coupling_layer(x, mask, net):
    s, t = net(x * mask)
    s, t = (1 - mask) * s, (1 - mask) * t
    return x * torch.exp(s) + t, s.flatten(1).sum(1)


def layer_with(transform, log_det, conditioner_input=lambda x, m: x * m):
    """A coupling layer built from a (possibly wrong) output formula and log-det formula of raw s, t."""

    def layer(x, mask, net):
        s, t = net(conditioner_input(x, mask))
        return transform(x, mask, s, t), log_det(mask, s)

    return layer


RIGHT_OUTPUT = lambda x, m, s, t: m * x + (1 - m) * (x * torch.exp(s) + t)  # noqa: E731
RIGHT_LOG_DET = lambda m, s: ((1 - m) * s).flatten(1).sum(1)  # noqa: E731


def package_layer(x, mask, net):
    # flows.AffineCoupling's own forward pass with the given conditioner in place of its network
    layer = flows.AffineCoupling(tuple(x.shape[1:]), mask=mask, hidden=4).double()
    layer.scale_and_shift = lambda kept: tuple((1 - mask) * v for v in net(kept))
    return layer(x)


def test_affine_coupling_accepts_the_reference_in_another_form():
    assert check_affine_coupling(coupling_layer).passed
    assert check_affine_coupling(layer_with(RIGHT_OUTPUT, RIGHT_LOG_DET)).passed
    assert check_affine_coupling(layer_with(RIGHT_OUTPUT, RIGHT_LOG_DET, lambda x, m: m * x)).passed


def test_affine_coupling_is_fast():
    import time

    start = time.process_time()
    check_affine_coupling(coupling_layer)
    assert time.process_time() - start < 2.0


def test_affine_coupling_rejects_the_package_and_the_reference():
    assert_rejected(check_affine_coupling(package_layer), DELEGATES, "AffineCoupling.forward")
    assert_rejected(check_affine_coupling(reference_affine_coupling), DELEGATES)


def test_affine_coupling_rejects_nan_and_wrong_types():
    assert_rejected(check_affine_coupling(lambda x, m, net: (coupling_layer(x, m, net)[0] * float("nan"),
                                                             coupling_layer(x, m, net)[1])), "x_out", "NaN")
    assert_rejected(check_affine_coupling(lambda x, m, net: (coupling_layer(x, m, net)[0],
                                                             coupling_layer(x, m, net)[1] * float("nan"))),
                    "log_abs_det", "NaN")
    assert_rejected(check_affine_coupling(lambda x, m, net: coupling_layer(x, m, net)[0]), "return a pair", "Tensor")
    assert_rejected(check_affine_coupling(lambda x, m, net: (*coupling_layer(x, m, net), 0)), "return a pair", "3")
    assert_rejected(check_affine_coupling(lambda x, m, net: (coupling_layer(x, m, net)[0].tolist(),
                                                             coupling_layer(x, m, net)[1])), "torch.Tensor", "list")


def test_affine_coupling_rejects_a_log_det_summed_over_the_kept_entries_too():
    assert_rejected(check_affine_coupling(layer_with(RIGHT_OUTPUT, lambda m, s: s.flatten(1).sum(1))),
                    "kept entries too")


def test_affine_coupling_rejects_exp_minus_s_with_a_plus_s_log_det_and_with_a_minus_s_one():
    minus = lambda x, m, s, t: m * x + (1 - m) * (x * torch.exp(-s) + t)  # noqa: E731
    assert_rejected(check_affine_coupling(layer_with(minus, RIGHT_LOG_DET)), "exp(-s)", "does not even match")
    feedback = check_affine_coupling(layer_with(minus, lambda m, s: -RIGHT_LOG_DET(m, s)))
    assert_rejected(feedback, "exp(-s)", "belongs to the inverse")
    assert "does not even match" not in feedback.message


def test_affine_coupling_rejects_the_mask_the_wrong_way_round():
    flipped = layer_with(lambda x, m, s, t: (1 - m) * x + m * (x * torch.exp(s) + t),
                         lambda m, s: (m * s).flatten(1).sum(1), lambda x, m: x * (1 - m))
    assert_rejected(check_affine_coupling(flipped), "wrong way round")
    half_flipped = layer_with(lambda x, m, s, t: (1 - m) * x + m * (x * torch.exp(s) + t), RIGHT_LOG_DET)
    assert_rejected(check_affine_coupling(half_flipped), "wrong way round")
    log_det_flipped = layer_with(RIGHT_OUTPUT, lambda m, s: (m * s).flatten(1).sum(1))
    assert_rejected(check_affine_coupling(log_det_flipped), "wrong way round")


def test_affine_coupling_rejects_a_conditioner_fed_the_unmasked_x():
    unmasked = layer_with(RIGHT_OUTPUT, RIGHT_LOG_DET, lambda x, m: x)
    assert_rejected(check_affine_coupling(unmasked), "unmasked x", "no longer triangular")
    other = layer_with(RIGHT_OUTPUT, RIGHT_LOG_DET, lambda x, m: 2 * x * m)
    assert_rejected(check_affine_coupling(other), "only the kept entries")
    assert_rejected(check_affine_coupling(lambda x, m, net: (x, x.new_zeros(x.shape[0]))), "never called")


def test_affine_coupling_rejects_kept_entries_changed_order_log_scale_and_nice():
    everywhere = layer_with(lambda x, m, s, t: x * torch.exp(s) + t, RIGHT_LOG_DET)
    assert_rejected(check_affine_coupling(everywhere), "kept entries changed")
    order = layer_with(lambda x, m, s, t: m * x + (1 - m) * (x + t) * torch.exp(s), RIGHT_LOG_DET)
    assert_rejected(check_affine_coupling(order), "wrong order")
    times_s = layer_with(lambda x, m, s, t: m * x + (1 - m) * (x * s + t), RIGHT_LOG_DET)
    assert_rejected(check_affine_coupling(times_s), "LOG-scale")
    nice = layer_with(lambda x, m, s, t: x + (1 - m) * t, lambda m, s: torch.zeros(s.shape[0], dtype=s.dtype))
    assert_rejected(check_affine_coupling(nice), "additive")


def test_affine_coupling_rejects_log_det_sign_exp_and_reductions():
    assert_rejected(check_affine_coupling(layer_with(RIGHT_OUTPUT, lambda m, s: -RIGHT_LOG_DET(m, s))), "sign error")
    summed_exp = layer_with(RIGHT_OUTPUT, lambda m, s: ((1 - m) * s.exp()).flatten(1).sum(1))
    assert_rejected(check_affine_coupling(summed_exp), "summed exp(s)")
    determinant = layer_with(RIGHT_OUTPUT, lambda m, s: ((1 - m) * s).exp().flatten(1).prod(1))
    assert_rejected(check_affine_coupling(determinant), "|det| itself")
    assert_rejected(check_affine_coupling(layer_with(RIGHT_OUTPUT, lambda m, s: (1 - m) * s)), "shape (B,)")
    assert_rejected(check_affine_coupling(layer_with(RIGHT_OUTPUT, lambda m, s: ((1 - m) * s).flatten(1).mean(1))),
                    "averaged")
    assert_rejected(check_affine_coupling(layer_with(RIGHT_OUTPUT, lambda m, s: ((1 - m) * s).sum())),
                    "one log-determinant per example")


def test_affine_coupling_runs_the_autograd_log_det_test():
    detached = lambda x, m, net: tuple(v.detach() for v in coupling_layer(x, m, net))  # noqa: E731
    assert_rejected(check_affine_coupling(detached), "autograd", "torch.no_grad")

    def cheat(x, mask, net):
        # right values, but the values of x_out are computed away from x: autograd sees another map
        y, log_det = coupling_layer(x, mask, net)
        return y.detach() + 0.5 * (x - x.detach()), log_det

    assert_rejected(check_affine_coupling(cheat), "disagrees with slogdet of the autograd Jacobian")


# ============================================================================ question


def test_log_det_question_accepts_784_ln_2():
    assert check_log_det_question(lambda: 28 * 28 * math.log(2)).passed
    assert check_log_det_question(lambda: torch.tensor(543.4)).passed  # three digits are enough


@pytest.mark.parametrize("wrong, phrase", [
    (math.log(2), "one pixel's share"), (-784 * math.log(2), "sign"), (784, "bits"),
    (784 * math.log10(2), "base 10"), (1568, "trace"), (math.log(1568), "log of the trace"),
    (2.0 ** 784, "determinant itself"), (28 * math.log(2), "one row"), (3 * 784 * math.log(2), "one channel"),
    (500.0, "is not right"),
])
def test_log_det_question_explains_each_wrong_answer(wrong, phrase):
    assert_rejected(check_log_det_question(lambda: wrong), phrase)


def test_log_det_question_rejects_nan_and_wrong_types():
    assert_rejected(check_log_det_question(lambda: float("nan")), "finite")
    assert_rejected(check_log_det_question(lambda: "543.4"), "number", "str")
    assert_rejected(check_log_det_question(lambda: torch.ones(2)), "one number")


# ============================================================================ dequantisation


def bound_reference(log_p_y, n_levels, n_dims):
    return log_p_y - n_dims * math.log(n_levels)


def test_dequantization_bound_accepts_the_reference():
    assert check_dequantization_bound(bound_reference).passed


def test_dequantization_bound_rejects_the_reference_and_the_package():
    assert_rejected(check_dequantization_bound(reference_dequantization_bound), DELEGATES)

    def through_the_package(log_p_y, n_levels, n_dims):
        # a DequantizedFlow whose flow's log_prob returns log_p_y: its log_prob is the whole exercise
        model = flows.DequantizedFlow(flows.Flow([flows.ActNorm(n_dims)], event_shape=(n_dims,)), n_levels)
        model.flow.log_prob = lambda y: log_p_y
        x = torch.zeros(log_p_y.shape[0], n_dims, dtype=log_p_y.dtype)
        return model.log_prob(x)

    assert_rejected(check_dequantization_bound(through_the_package), DELEGATES, "DequantizedFlow.log_prob")


def test_dequantization_bound_rejects_nan_and_wrong_types():
    assert_rejected(check_dequantization_bound(lambda lp, k, d: lp * float("nan")), "NaN")
    assert_rejected(check_dequantization_bound(lambda lp, k, d: float(lp[0] - d * math.log(k))), "torch.Tensor",
                    "float")


def test_dequantization_bound_rejects_a_sign_error_and_the_missing_jacobian_term():
    assert_rejected(check_dequantization_bound(lambda lp, k, d: lp + d * math.log(k)), "sign error")
    assert_rejected(check_dequantization_bound(lambda lp, k, d: lp), "Jacobian term is missing")


def test_dequantization_bound_rejects_per_image_correction_k_minus_one_bits_and_per_dimension():
    assert_rejected(check_dequantization_bound(lambda lp, k, d: lp - math.log(k)), "per DIMENSION")
    assert_rejected(check_dequantization_bound(lambda lp, k, d: lp - d * math.log(k - 1)), "1/(K - 1)")
    assert_rejected(check_dequantization_bound(lambda lp, k, d: (lp - d * math.log(k)) / math.log(2)), "bits")
    assert_rejected(check_dequantization_bound(lambda lp, k, d: (lp - d * math.log(k)) / d), "whole image")
