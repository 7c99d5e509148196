"""The checkers of notebook 02 accept the reference, reject delegation, NaN and wrong types, and
name each known mistake."""

from __future__ import annotations

import math

import pytest
import scipy.linalg
import torch
import torch.nn.functional as F

from course_gen import autoencoders
from course_gen.exercises import autoencoders as checkers
from course_gen.exercises.autoencoders import (
    check_bce_loss,
    check_denoising_step,
    check_linear_autoencoder_question,
    check_masking_noise,
    check_principal_angles,
)

from exercise_helpers import assert_rejected, not_attempted

DELEGATES = "does the whole exercise"

# ============================================================================ BCE


def reference_bce(x_hat, x):
    """The lecture's formula with x_hat clamped away from 0 and 1."""
    p = x_hat.clamp(1e-7, 1 - 1e-7)
    return (-(x * torch.log(p) + (1 - x) * torch.log(1 - p))).sum(dim=1).mean()


def naive_bce(x_hat, x):
    """The lecture's formula, typed in directly: NaN when a pixel is exactly 0 or 1."""
    return (-(x * torch.log(x_hat) + (1 - x) * torch.log(1 - x_hat))).sum(dim=1).mean()


def per_pixel(x_hat, x):
    return -(x * torch.log(x_hat.clamp(1e-7, 1 - 1e-7)) + (1 - x) * torch.log(1 - x_hat.clamp(1e-7, 1 - 1e-7)))


@pytest.mark.parametrize(
    "solution",
    [
        reference_bce,
        lambda x_hat, x: per_pixel(x_hat, x).sum() / x.shape[0],
        lambda x_hat, x: -torch.xlogy(x, x_hat).sum(1).mean() - torch.xlogy(1 - x, 1 - x_hat).sum(1).mean(),
    ],
)
def test_bce_checker_accepts_correct_solutions(solution):
    feedback = check_bce_loss(solution)
    assert feedback, str(feedback)
    assert str(feedback) == "✔ bce_loss: correct"


@pytest.mark.parametrize(
    "delegate",
    [
        autoencoders.bce_loss,
        lambda x_hat, x: autoencoders.bce_loss(x_hat, x),
        lambda x_hat, x: F.binary_cross_entropy(x_hat, x, reduction="sum") / x.shape[0],
        lambda x_hat, x: F.binary_cross_entropy(x_hat, x, reduction="none").sum(dim=1).mean(),
        lambda x_hat, x: torch.nn.BCELoss(reduction="sum")(x_hat, x) / x.shape[0],
        lambda x_hat, x: F.binary_cross_entropy_with_logits(
            torch.logit(x_hat, eps=1e-7), x, reduction="sum"
        ) / x.shape[0],
    ],
)
def test_bce_checker_rejects_delegation(delegate):
    assert_rejected(check_bce_loss(delegate), DELEGATES)


@pytest.mark.parametrize(
    "wrong, fragment",
    [
        (lambda x_hat, x: -reference_bce(x_hat, x), "sign is flipped"),
        (lambda x_hat, x: per_pixel(x_hat, x).mean(), "averaged over the pixels"),
        (lambda x_hat, x: per_pixel(x_hat, x).sum(), "summed over the batch too"),
        (lambda x_hat, x: per_pixel(x_hat, x).mean(dim=1).sum(), "other way round"),
        (
            lambda x_hat, x: (-(x * torch.log(x_hat))).sum(dim=1).mean(),
            "(1 - x_k) log(1 - x_hat_k) term is missing",
        ),
        (lambda x_hat, x: reference_bce(x.clamp(1e-6, 1 - 1e-6), x_hat), "x and x_hat are swapped"),
        (
            lambda x_hat, x: (F.softplus(x_hat) - x * x_hat).sum(dim=1).mean(),
            "treated as logits",
        ),
        (lambda x_hat, x: per_pixel(x_hat, x).sum(dim=1), "should be one number"),
        (naive_bce, "0 * log(0) is NaN"),
        (lambda x_hat, x: reference_bce(x_hat, x).item(), "should be a torch.Tensor"),
        (lambda x_hat, x: reference_bce(x_hat, x).numpy(), "should be a torch.Tensor"),
        (lambda x_hat, x: torch.tensor(float("nan")), "is nan"),
        (lambda x_hat, x: torch.tensor(float("inf")), "is inf"),
        (lambda x_hat, x: reference_bce(x_hat, x) + 0.5, "is off: expected"),
    ],
)
def test_bce_checker_names_known_mistakes(wrong, fragment):
    assert_rejected(check_bce_loss(wrong), fragment)


def test_bce_checker_reports_unattempted_errors_and_non_functions():
    assert_rejected(check_bce_loss(not_attempted), "not attempted yet")
    assert_rejected(check_bce_loss(lambda x_hat, x: x_hat @ x), "your function raised RuntimeError")
    assert_rejected(check_bce_loss(3.0), "should be a function you wrote, got float")


# ============================================================================ masking noise


def reference_masking(x, nu):
    return x * (torch.rand_like(x) >= nu)


def in_place(x, nu):
    x.mul_((torch.rand_like(x) >= nu).to(x.dtype))
    return x


@pytest.mark.parametrize(
    "solution",
    [
        reference_masking,
        lambda x, nu: torch.where(torch.rand(x.shape) < nu, torch.zeros_like(x), x),
        lambda x, nu: x * torch.bernoulli(torch.full_like(x, 1 - nu)),
    ],
)
def test_masking_checker_accepts_correct_solutions(solution):
    feedback = check_masking_noise(solution)
    assert feedback, str(feedback)


@pytest.mark.parametrize(
    "delegate",
    [autoencoders.masking_noise, lambda x, nu: autoencoders.masking_noise(x.clone(), nu)],
)
def test_masking_checker_rejects_delegation(delegate):
    assert_rejected(check_masking_noise(delegate), DELEGATES, "masking_noise")


@pytest.mark.parametrize(
    "wrong, fragment",
    [
        (lambda x, nu: x * (torch.rand_like(x) < nu), "probability of DROPPING"),
        (
            lambda x, nu: x * (torch.rand_like(x) < max(nu, 1e-9)) if 0 < nu < 1 else x * (nu == 0),
            "KEEP each pixel",
        ),
        (lambda x, nu: x * (torch.rand_like(x) >= nu) / (1 - nu) if nu < 1 else x * 0, "divided by 1 - nu"),
        (lambda x, nu: F.dropout(x, nu, training=True), "divided by 1 - nu"),
        (in_place, "changed its input in place"),
        (lambda x, nu: x * (torch.rand(x.shape[0], 1) >= nu), "whole examples were dropped or kept together"),
        (lambda x, nu: x * (torch.rand(1, x.shape[1]) >= nu), "every example got the same mask"),
        (
            lambda x, nu: x * (torch.rand_like(x) >= nu) + 0.01 * torch.rand_like(x) * (0 < nu < 1),
            "changed rather than dropped",
        ),
        (lambda x, nu: x * (torch.rand_like(x) >= nu / 2) if nu < 1 else x * 0, "expected about 0.25"),
        (lambda x, nu: x + 0.1, "nothing should change"),
        (lambda x, nu: torch.full_like(x, float("nan")), "contains NaN"),
        (lambda x, nu: reference_masking(x, nu) * math.inf, "contains"),
        (lambda x, nu: reference_masking(x, nu).tolist(), "should return a torch.Tensor, got list"),
        (lambda x, nu: reference_masking(x, nu)[:1], "should keep the input's shape"),
    ],
)
def test_masking_checker_names_known_mistakes(wrong, fragment):
    assert_rejected(check_masking_noise(wrong), fragment)


def test_masking_checker_leaves_the_callers_random_state_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    check_masking_noise(reference_masking)
    assert torch.equal(torch.rand(3), expected)


def test_masking_checker_reports_unattempted():
    assert_rejected(check_masking_noise(not_attempted), "not attempted yet")
    assert_rejected(check_masking_noise("x * mask"), "should be a function you wrote, got str")


# ============================================================================ principal angles


def orthonormal(a):
    return torch.linalg.qr(a).Q


def cosines(a, b):
    return torch.linalg.svdvals(orthonormal(a).T @ orthonormal(b))


def reference_angles(a, b):
    return torch.arccos(cosines(a, b).clamp(-1, 1))


@pytest.mark.parametrize(
    "solution",
    [
        reference_angles,
        lambda a, b: torch.arccos(cosines(a, b).clamp(max=1.0)).sort().values,
    ],
)
def test_angles_checker_accepts_correct_solutions(solution):
    feedback = check_principal_angles(solution)
    assert feedback, str(feedback)


@pytest.mark.parametrize(
    "delegate",
    [
        autoencoders.principal_angles,
        lambda a, b: autoencoders.principal_angles(a, b),
        lambda a, b: torch.from_numpy(scipy.linalg.subspace_angles(a.numpy(), b.numpy())).flip(0),
    ],
)
def test_angles_checker_rejects_delegation(delegate):
    assert_rejected(check_principal_angles(delegate), DELEGATES)


@pytest.mark.parametrize(
    "wrong, fragment",
    [
        (lambda a, b: torch.rad2deg(reference_angles(a, b)), "these are degrees"),
        (lambda a, b: cosines(a, b), "cosines of the angles"),
        (lambda a, b: cosines(a, b).flip(0), "cosines of the angles"),
        (lambda a, b: reference_angles(a, b).flip(0), "descending order"),
        (
            lambda a, b: torch.arccos(torch.linalg.svdvals(a.T @ b).clamp(-1, 1)).sort().values,
            "not orthonormalised",
        ),
        (lambda a, b: torch.arccos(cosines(a, b)), "clamp"),
        (lambda a, b: reference_angles(a, b)[:1], "should have shape"),
        (lambda a, b: reference_angles(a, b).numpy(), "should be a torch.Tensor"),
        (lambda a, b: reference_angles(a, b) * math.inf, "contains inf"),
        (lambda a, b: torch.full((a.shape[1],), float("nan"), dtype=a.dtype), "NaN"),
        (lambda a, b: reference_angles(a, b) + 0.01, "is off"),
    ],
)
def test_angles_checker_names_known_mistakes(wrong, fragment):
    assert_rejected(check_principal_angles(wrong), fragment)


def test_angles_checker_reports_unattempted():
    assert_rejected(check_principal_angles(not_attempted), "not attempted yet")
    assert_rejected(check_principal_angles(None), "should be a function you wrote")


# ============================================================================ question


def test_question_accepts_b_and_explains_each_wrong_option():
    assert check_linear_autoencoder_question(lambda: "B")
    assert check_linear_autoencoder_question(lambda: " b ")
    assert_rejected(check_linear_autoencoder_question(lambda: "A"), "not A", "W* A")
    assert_rejected(check_linear_autoencoder_question(lambda: "C"), "not C", "LARGEST variance")
    assert_rejected(check_linear_autoencoder_question(lambda: "D"), "not D", "unique")


@pytest.mark.parametrize("wrong", [lambda: "E", lambda: 2, lambda: None, lambda: float("nan")])
def test_question_rejects_answers_that_are_not_a_letter(wrong):
    assert_rejected(check_linear_autoencoder_question(wrong), 'return one of "A", "B", "C", "D"')


def test_question_reports_unattempted():
    assert_rejected(check_linear_autoencoder_question(not_attempted), "not attempted yet")
    assert_rejected(check_linear_autoencoder_question("B"), "should be a function you wrote")


# ============================================================================ denoising step


def bce(x_hat, x):
    return (-(x * torch.log(x_hat) + (1 - x) * torch.log(1 - x_hat))).sum(dim=1).mean()


def make_step(loss_of=None, zero_grad=True, backward=True, step=True, returned="loss", order="normal"):
    """A denoising step, right by default, with one thing changed."""
    loss_of = loss_of or (lambda model, x, keep: bce(model(x * keep), x))

    def denoising_step(model, optimizer, x, keep):
        if zero_grad and order == "normal":
            optimizer.zero_grad()
        loss = loss_of(model, x, keep)
        if order == "zero_grad_after_backward":
            loss.backward()
            optimizer.zero_grad()
            optimizer.step()
            return loss
        if order == "step_before_backward":
            optimizer.step()
            loss.backward()
            return loss
        if backward:
            loss.backward()
        if step:
            optimizer.step()
        if returned == "loss":
            return loss.detach()
        if returned == "float":
            return loss.item()
        if returned == "after":
            with torch.no_grad():
                return bce(model(x * keep), x)
        if returned == "nan":
            return float("nan")
        return None

    return denoising_step


@pytest.mark.parametrize(
    "solution",
    [
        make_step(),
        make_step(returned="float"),
        make_step(lambda model, x, keep: F.binary_cross_entropy(model(x * keep), x, reduction="sum") / len(x)),
        make_step(lambda model, x, keep: autoencoders.bce_loss(model(x * keep), x)),
        make_step(
            lambda model, x, keep: autoencoders.bce_with_logits_loss(
                model.decoder_output(model.encode(x * keep)), x
            )
        ),
        make_step(lambda model, x, keep: bce(model(torch.where(keep > 0, x, torch.zeros_like(x))), x)),
    ],
)
def test_step_checker_accepts_correct_solutions(solution):
    feedback = check_denoising_step(solution)
    assert feedback, str(feedback)
    assert str(feedback) == "✔ denoising_step: correct"


def test_step_checker_rejects_its_reference():
    assert_rejected(check_denoising_step(checkers._reference_denoising_step), DELEGATES)
    assert_rejected(
        check_denoising_step(lambda *args: checkers._reference_denoising_step(*args)), DELEGATES
    )


def in_place_corruption(model, optimizer, x, keep):
    optimizer.zero_grad()
    x.mul_(keep)
    loss = bce(model(x), x)
    loss.backward()
    optimizer.step()
    return loss.detach()


def own_optimizer(model, optimizer, x, keep):
    mine = torch.optim.SGD(model.parameters(), lr=0.5)
    mine.zero_grad()
    loss = bce(model(x * keep), x)
    loss.backward()
    mine.step()
    return loss.detach()


@pytest.mark.parametrize(
    "wrong, fragment",
    [
        (make_step(lambda model, x, keep: bce(model(x * keep), x * keep)), "target is the noisy input"),
        (make_step(lambda model, x, keep: bce(model(x), x * keep)), "noise went on the target"),
        (make_step(lambda model, x, keep: bce(model(x), x)), "input was not corrupted"),
        (make_step(lambda model, x, keep: bce(model(x * (1 - keep)), x)), "mask is inverted"),
        (make_step(zero_grad=False), "call optimizer.zero_grad() before"),
        (
            make_step(lambda model, x, keep: F.binary_cross_entropy(model(x * keep), x)),
            "averaged over the pixels",
        ),
        (make_step(lambda model, x, keep: bce(model(x * keep), x) * len(x)), "summed over the batch"),
        (make_step(lambda model, x, keep: bce(torch.sigmoid(model(x * keep)), x)), "sigmoid twice"),
        (
            make_step(lambda model, x, keep: 0.5 * ((model(x * keep) - x) ** 2).sum(dim=1).mean()),
            "squared error",
        ),
        (make_step(step=False), "parameters did not change"),
        (make_step(backward=False), "parameters did not change"),
        (make_step(order="zero_grad_after_backward"), "parameters did not change"),
        (make_step(order="step_before_backward"), "optimizer.step() ran before loss.backward()"),
        (make_step(returned="after"), "loss after the step"),
        (make_step(returned="none"), "should be a number, got NoneType"),
        (make_step(returned="nan"), "finite number"),
        (make_step(lambda model, x, keep: bce(model(x * keep), x) * float("nan")), "NaN or inf"),
        (in_place_corruption, "changed x in place"),
        (own_optimizer, "use the optimizer you are given"),
    ],
)
def test_step_checker_names_known_mistakes(wrong, fragment):
    assert_rejected(check_denoising_step(wrong), fragment)


def test_step_checker_reports_unattempted_and_non_functions():
    assert_rejected(check_denoising_step(not_attempted), "not attempted yet")
    assert_rejected(check_denoising_step(42), "should be a function you wrote, got int")
    assert_rejected(check_denoising_step(lambda model, optimizer: None), "your function raised TypeError")


def test_step_checker_leaves_the_callers_random_state_alone():
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    check_denoising_step(make_step())
    assert torch.equal(torch.rand(3), expected)
