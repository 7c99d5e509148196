"""Notebook 01's checkers accept the reference, name each known mistake, and never raise."""

from __future__ import annotations

import pytest
import torch

from course_gen import exercises
from course_gen.exercises import sparse_coding as ex


def soft(z, t):
    return torch.sign(z) * torch.clamp(z.abs() - t, min=0)


def unattempted(*args):
    raise NotImplementedError  # TODO: your code


def soft_in_place(z, t):
    z.abs_()  # changes the caller's tensor
    return soft(z, t)


# ----------------------------------------------------------------------------- soft thresholding


def test_soft_threshold_reference_passes():
    assert ex.check_soft_threshold(soft).passed
    assert exercises.check_soft_threshold is ex.check_soft_threshold  # reachable from the package too


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda z, t: z * (z.abs() > t), "hard thresholding"),
        (lambda z, t: torch.clamp(z.abs() - t, min=0), "multiply by sign(z)"),
        (lambda z, t: torch.clamp(z - t, min=0), "only the positive side"),
        (lambda z, t: torch.sign(z) * (z.abs() - t), "must become exactly 0"),
        (lambda z, t: soft(z, 2 * t), "threshold is doubled"),
        (lambda z, t: soft(z, t / 2), "threshold is halved"),
        (soft_in_place, "changed its input z in place"),
        (lambda z, t: soft(z, t)[:3], "should have shape (9,)"),
        (lambda z, t: soft(z, t).tolist(), "should be a torch.Tensor"),
    ],
)
def test_soft_threshold_mistakes_are_named(wrong, message):
    feedback = ex.check_soft_threshold(wrong)
    assert not feedback.passed and message in feedback.message, feedback.message


# ----------------------------------------------------------------------------- ISTA step


def ista(A, X, D, lam, L):
    return soft(A + (X - A @ D) @ D.T / L, lam / L)


def test_ista_step_reference_passes():
    assert ex.check_ista_step(ista).passed


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda A, X, D, lam, L: soft(A + (X - A @ D) @ D.T / L, lam), "wrong threshold scale"),
        (lambda A, X, D, lam, L: soft(A - (X - A @ D) @ D.T / L, lam / L), "sign error"),
        (lambda A, X, D, lam, L: A + (X - A @ D) @ D.T / L, "soft-thresholding (the proximal step"),
        (lambda A, X, D, lam, L: soft(A + (X - A @ D) @ D.T, lam / L), "scaled by the step size 1/L"),
        (lambda A, X, D, lam, L: soft(A + (X - A @ D) @ D.T, lam), "both be scaled by 1/L"),
        (lambda A, X, D, lam, L: soft(A + L * (X - A @ D) @ D.T, lam * L), "the step size is 1/L, not L"),
        (lambda A, X, D, lam, L: soft(A, lam / L) + (X - A @ D) @ D.T / L, "the order is reversed"),
        (lambda A, X, D, lam, L: A @ D, "should have shape (3, 6)"),
        (lambda A, X, D, lam, L: ista(A, X, D, lam, L) + 0.01, "is off"),
    ],
)
def test_ista_step_mistakes_are_named(wrong, message):
    feedback = ex.check_ista_step(wrong)
    assert not feedback.passed and message in feedback.message, feedback.message


# ----------------------------------------------------------------------------- dictionary update


def dictionary_update(X, A):
    D = torch.linalg.lstsq(A, X).solution
    return D / D.norm(dim=1, keepdim=True)


def test_dictionary_update_reference_and_equivalent_forms_pass():
    assert ex.check_dictionary_update(dictionary_update).passed
    normal_equations = lambda X, A: torch.nn.functional.normalize(torch.linalg.solve(A.T @ A, A.T @ X), dim=1)
    assert ex.check_dictionary_update(normal_equations).passed


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda X, A: torch.linalg.lstsq(A, X).solution, "not unit norm"),
        (lambda X, A: torch.nn.functional.normalize(torch.linalg.lstsq(A, X).solution, dim=0), "normalised the columns"),
        (lambda X, A: torch.linalg.lstsq(A, X).solution / torch.linalg.lstsq(A, X).solution.norm(), "one global norm"),
        (lambda X, A: -dictionary_update(X, A), "wrong sign"),
        (lambda X, A: dictionary_update(X, A).T, "transposed?"),
        (lambda X, A: torch.nn.functional.normalize(A.T @ X, dim=1), "is off"),
        (lambda X, A: 2 * torch.nn.functional.normalize(A.T @ X, dim=1), "not unit norm (row norms 2.00"),
    ],
)
def test_dictionary_update_mistakes_are_named(wrong, message):
    feedback = ex.check_dictionary_update(wrong)
    assert not feedback.passed and message in feedback.message, feedback.message


# ----------------------------------------------------------------------------- Lasso objective


def objective(X, D, A, lam):
    return 0.5 * ((X - A @ D) ** 2).sum() + lam * A.abs().sum()


def test_lasso_objective_reference_passes_as_tensor_or_float():
    assert ex.check_lasso_objective(objective).passed
    assert ex.check_lasso_objective(lambda *args: float(objective(*args))).passed


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda X, D, A, lam: ((X - A @ D) ** 2).sum() + lam * A.abs().sum(), "factor 1/2"),
        (lambda X, D, A, lam: 0.5 * ((X - A @ D) ** 2).sum() + lam * (A**2).sum(), "L1 norm"),
        (lambda X, D, A, lam: 0.5 * ((X - A @ D) ** 2).sum(), "penalty lam * sum |a| is missing"),
        (lambda X, D, A, lam: 0.5 * ((X - A @ D) ** 2).sum() + A.abs().sum(), "multiplied by lam"),
        (lambda X, D, A, lam: objective(X, D, A, lam) / X.shape[0], "do not average"),
        (lambda X, D, A, lam: 0.5 * (X - A @ D).norm(dim=1).sum() + lam * A.abs().sum(), "square the norm of each"),
        (lambda X, D, A, lam: 0.5 * ((X - A @ D) ** 2).sum(1) + lam * A.abs().sum(1), "one number"),
        (lambda X, D, A, lam: objective(X, D, A, lam) + 1, "should be"),
        (lambda X, D, A, lam: "12", "a number or a 0-d tensor"),
    ],
)
def test_lasso_objective_mistakes_are_named(wrong, message):
    feedback = ex.check_lasso_objective(wrong)
    assert not feedback.passed and message in feedback.message, feedback.message


# ----------------------------------------------------------------------------- every checker


@pytest.mark.parametrize(
    "checker",
    [ex.check_soft_threshold, ex.check_ista_step, ex.check_dictionary_update, ex.check_lasso_objective],
)
def test_unattempted_and_crashing_exercises_become_feedback(checker):
    feedback = checker(unattempted)
    assert not feedback.passed and "not attempted yet" in feedback.message
    feedback = checker(lambda *args: 1 / 0)
    assert not feedback.passed and feedback.message.startswith("your function raised ZeroDivisionError")
