"""The checkers of notebook 02 accept the reference and name each known mistake."""

from __future__ import annotations

import pytest
import scipy.linalg
import torch
import torch.nn.functional as F

from course_gen import autoencoders
from course_gen.exercises.autoencoders import check_bce_loss, check_masking_noise, check_principal_angles

from exercise_helpers import assert_rejected


def unattempted(*args):
    raise NotImplementedError  # TODO: your code


# ============================================================================ BCE


def naive_bce(x_hat, x):
    """The lecture's formula, typed in directly: NaN when a pixel is exactly 0 or 1."""
    return (-(x * torch.log(x_hat) + (1 - x) * torch.log(1 - x_hat))).sum(dim=1).mean()


@pytest.mark.parametrize(
    "solution",
    [
        autoencoders.bce_loss,
        lambda x_hat, x: F.binary_cross_entropy(x_hat, x, reduction="sum") / x.shape[0],
        lambda x_hat, x: F.binary_cross_entropy(x_hat, x, reduction="none").sum(dim=1).mean(),
    ],
)
def test_bce_checker_accepts_correct_solutions(solution):
    feedback = check_bce_loss(solution)
    assert feedback, str(feedback)
    assert str(feedback) == "✅ bce_loss: correct"


@pytest.mark.parametrize(
    "wrong, fragment",
    [
        (lambda x_hat, x: -autoencoders.bce_loss(x_hat, x), "sign is flipped"),
        (lambda x_hat, x: F.binary_cross_entropy(x_hat, x), "averaged over the pixels"),
        (lambda x_hat, x: F.binary_cross_entropy(x_hat, x, reduction="sum"), "summed over the batch too"),
        (
            lambda x_hat, x: (-(x * torch.log(x_hat))).sum(dim=1).mean(),
            "(1 - x_k) log(1 - x_hat_k) term is missing",
        ),
        (
            lambda x_hat, x: (
                F.binary_cross_entropy(x.clamp(1e-6, 1 - 1e-6), x_hat, reduction="sum") / x.shape[0]
            ),
            "x and x_hat are swapped",
        ),
        (
            lambda x_hat, x: F.binary_cross_entropy_with_logits(x_hat, x, reduction="sum") / x.shape[0],
            "treated as logits",
        ),
        (
            lambda x_hat, x: F.binary_cross_entropy(x_hat, x, reduction="none").sum(dim=1),
            "should be one number",
        ),
        (naive_bce, "0 * log(0) is NaN"),
        (
            lambda x_hat, x: F.binary_cross_entropy(x_hat, x, reduction="sum").item(),
            "should be a torch.Tensor",
        ),
    ],
)
def test_bce_checker_names_known_mistakes(wrong, fragment):
    assert_rejected(check_bce_loss(wrong), fragment)


def test_bce_checker_reports_unattempted_and_errors():
    assert_rejected(check_bce_loss(unattempted), "not attempted yet")
    assert_rejected(check_bce_loss(lambda x_hat, x: x_hat @ x), "your function raised RuntimeError")


# ============================================================================ masking noise


def dropout_style(x, nu):
    return F.dropout(x, nu, training=True)


def in_place(x, nu):
    x.mul_((torch.rand_like(x) >= nu).to(x.dtype))
    return x


@pytest.mark.parametrize(
    "solution",
    [
        autoencoders.masking_noise,
        lambda x, nu: x * (torch.rand_like(x) >= nu),
        lambda x, nu: torch.where(torch.rand(x.shape) < nu, torch.zeros_like(x), x),
    ],
)
def test_masking_checker_accepts_correct_solutions(solution):
    feedback = check_masking_noise(solution)
    assert feedback, str(feedback)


@pytest.mark.parametrize(
    "wrong, fragment",
    [
        (lambda x, nu: x * (torch.rand_like(x) < nu), "probability of DROPPING"),
        (
            lambda x, nu: x * (torch.rand_like(x) < max(nu, 1e-9)) if 0 < nu < 1 else x * (nu == 0),
            "KEEP each pixel",
        ),
        (lambda x, nu: x * (torch.rand_like(x) >= nu) / (1 - nu) if nu < 1 else x * 0, "divided by 1 - nu"),
        (dropout_style, "divided by 1 - nu"),
        (in_place, "changed its input in place"),
        (lambda x, nu: x * (torch.rand(x.shape[0], 1) >= nu), "whole examples were dropped or kept together"),
        (lambda x, nu: x * (torch.rand(1, x.shape[1]) >= nu), "every example got the same mask"),
        (
            lambda x, nu: x * (torch.rand_like(x) >= nu) + 0.01 * torch.rand_like(x) * (0 < nu < 1),
            "changed rather than dropped",
        ),
        (lambda x, nu: x * (torch.rand_like(x) >= nu / 2) if nu < 1 else x * 0, "expected about 0.25"),
    ],
)
def test_masking_checker_names_known_mistakes(wrong, fragment):
    assert_rejected(check_masking_noise(wrong), fragment)


def test_masking_checker_leaves_the_callers_random_state_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    check_masking_noise(autoencoders.masking_noise)
    assert torch.equal(torch.rand(3), expected)


def test_masking_checker_reports_unattempted():
    assert_rejected(check_masking_noise(unattempted), "not attempted yet")


# ============================================================================ principal angles


def orthonormal(a):
    return torch.linalg.qr(a).Q


def cosines(a, b):
    return torch.linalg.svdvals(orthonormal(a).T @ orthonormal(b))


@pytest.mark.parametrize(
    "solution",
    [
        autoencoders.principal_angles,
        lambda a, b: torch.arccos(cosines(a, b).clamp(-1, 1)),
        lambda a, b: torch.from_numpy(scipy.linalg.subspace_angles(a.numpy(), b.numpy())).flip(0),
    ],
)
def test_angles_checker_accepts_correct_solutions(solution):
    feedback = check_principal_angles(solution)
    assert feedback, str(feedback)


@pytest.mark.parametrize(
    "wrong, fragment",
    [
        (lambda a, b: torch.rad2deg(autoencoders.principal_angles(a, b)), "these are degrees"),
        (lambda a, b: cosines(a, b), "cosines of the angles"),
        (lambda a, b: cosines(a, b).flip(0), "cosines of the angles"),
        (lambda a, b: autoencoders.principal_angles(a, b).flip(0), "descending order"),
        (
            lambda a, b: torch.arccos(torch.linalg.svdvals(a.T @ b).clamp(-1, 1)).sort().values,
            "not orthonormalised",
        ),
        (lambda a, b: torch.arccos(cosines(a, b)), "clamp"),
        (lambda a, b: autoencoders.principal_angles(a, b)[:1], "should have shape"),
    ],
)
def test_angles_checker_names_known_mistakes(wrong, fragment):
    assert_rejected(check_principal_angles(wrong), fragment)


def test_angles_checker_reports_unattempted():
    assert_rejected(check_principal_angles(unattempted), "not attempted yet")
