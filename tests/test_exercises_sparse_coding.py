"""Notebook 01's checkers accept the reference, name each known mistake, reject delegation, NaN and
wrong types, and never raise."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from course_gen import exercises
from course_gen import sparse_coding as sc
from course_gen.exercises import sparse_coding as ex
from exercise_helpers import assert_rejected, not_attempted

DELEGATES = "does the whole exercise"


def soft(z, t):
    return torch.sign(z) * torch.clamp(z.abs() - t, min=0)


def soft_in_place(z, t):
    z.abs_()  # changes the caller's tensor
    return soft(z, t)


# ----------------------------------------------------------------------------- soft thresholding


def test_soft_threshold_reference_passes():
    feedback = ex.check_soft_threshold(soft)
    assert feedback.passed and str(feedback) == "\u2714 soft thresholding: correct"
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
        (lambda z, t: soft(z, t) * float("nan"), "contains NaN"),
        (lambda z, t: soft(z, t) + float("inf"), "contains inf"),
        (lambda z, t: torch.where(z.abs() < 1.5, soft(z, t), soft(z, t)) if z.ndim == 1 else z, "on a matrix"),
    ],
)
def test_soft_threshold_mistakes_are_named(wrong, message):
    assert_rejected(ex.check_soft_threshold(wrong), message)


@pytest.mark.parametrize(
    "delegate",
    [
        sc.soft_threshold,
        lambda z, t: sc.soft_threshold(z, t),
        ex.reference_soft_threshold,
        lambda z, t: torch.nn.functional.softshrink(z, t),
        lambda z, t: torch.nn.Softshrink(t)(z),
    ],
)
def test_soft_threshold_delegation_earns_nothing(delegate):
    assert_rejected(ex.check_soft_threshold(delegate), DELEGATES)


# ----------------------------------------------------------------------------- ISTA step


def ista_step(A, X, D, lam, L):
    return soft(A + (X - A @ D) @ D.T / L, lam / L)


def test_ista_step_reference_passes():
    assert ex.check_ista_step(ista_step).passed
    # calling the package's soft_threshold is a legitimate building block here
    assert ex.check_ista_step(lambda A, X, D, lam, L: sc.soft_threshold(A + (X - A @ D) @ D.T / L, lam / L)).passed


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
        (lambda A, X, D, lam, L: ista_step(A, X, D, lam, L) + 0.01, "is off"),
        (lambda A, X, D, lam, L: ista_step(A, X, D, lam, L) + float("inf"), "contains inf"),
        (lambda A, X, D, lam, L: ista_step(A, X, D, lam, L).numpy(), "should be a torch.Tensor, got ndarray"),
        (lambda A, X, D, lam, L: A.mul_(0.5), "changed its input A in place"),
    ],
)
def test_ista_step_mistakes_are_named(wrong, message):
    assert_rejected(ex.check_ista_step(wrong), message)


@pytest.mark.parametrize(
    "delegate",
    [
        lambda A, X, D, lam, L: sc.ista_step(A, X, D, lam, 1 / L),
        lambda A, X, D, lam, L: sc.ista_step(A, X, D, lam),
        ex.reference_ista_step,
    ],
)
def test_ista_step_delegation_earns_nothing(delegate):
    assert_rejected(ex.check_ista_step(delegate), DELEGATES)


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
        (lambda X, A: dictionary_update(X, A) * float("nan"), "contains NaN"),
        (lambda X, A: dictionary_update(X, A).tolist(), "should be a torch.Tensor"),
    ],
)
def test_dictionary_update_mistakes_are_named(wrong, message):
    assert_rejected(ex.check_dictionary_update(wrong), message)


@pytest.mark.parametrize(
    "delegate",
    [
        lambda X, A: sc.dictionary_update(X, A, torch.randn(A.shape[1], X.shape[1], dtype=X.dtype)),
        ex.reference_dictionary_update,
    ],
)
def test_dictionary_update_delegation_earns_nothing(delegate):
    assert_rejected(ex.check_dictionary_update(delegate), DELEGATES)


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
        (lambda X, D, A, lam: 0.5 * (X - A @ D).norm() + lam * A.abs().sum(), "*squared* norm"),
        (lambda X, D, A, lam: 0.5 * ((X - A @ D) ** 2).sum(), "penalty lam * sum |a| is missing"),
        (lambda X, D, A, lam: 0.5 * ((X - A @ D) ** 2).sum() + A.abs().sum(), "multiplied by lam"),
        (lambda X, D, A, lam: objective(X, D, A, lam) / X.shape[0], "do not average"),
        (lambda X, D, A, lam: 0.5 * (X - A @ D).norm(dim=1).sum() + lam * A.abs().sum(), "square the norm of each"),
        (lambda X, D, A, lam: 0.5 * ((X - A @ D) ** 2).sum(1) + lam * A.abs().sum(1), "one value per row"),
        (lambda X, D, A, lam: objective(X, D, A, lam) + 1, "is off: expected"),
        (lambda X, D, A, lam: "12", "should be a number, got str"),
        (lambda X, D, A, lam: None, "should be a number, got NoneType"),
        (lambda X, D, A, lam: float("nan"), "should be a finite number, got nan"),
        (lambda X, D, A, lam: torch.tensor(float("inf")), "should be a finite number, got inf"),
        (lambda X, D, A, lam: objective(X, D, A.abs_(), lam), "changed its input A in place"),
    ],
)
def test_lasso_objective_mistakes_are_named(wrong, message):
    assert_rejected(ex.check_lasso_objective(wrong), message)


@pytest.mark.parametrize(
    "delegate",
    [
        lambda X, D, A, lam: sc.lasso_objective(X, D, A, lam),
        lambda X, D, A, lam: sc._row_objective(X, D, A, lam).sum(),
        ex.reference_lasso_objective,
    ],
)
def test_lasso_objective_delegation_earns_nothing(delegate):
    assert_rejected(ex.check_lasso_objective(delegate), DELEGATES)


def test_the_nan_of_the_issue_is_not_correct():
    feedback = ex.check_lasso_objective(lambda X, D, A, lam: float("nan"))
    assert not feedback and str(feedback).startswith("\u2718 lasso objective:")


# ----------------------------------------------------------------------------- the question


def test_question_right_letter_passes_in_any_case_and_spacing():
    assert ex.check_orthonormal_dictionary_question(lambda: "C").passed
    assert ex.check_orthonormal_dictionary_question(lambda: " c ").passed


@pytest.mark.parametrize(
    "letter, message",
    [
        ("A", "least-squares code"),
        ("B", "hard thresholding keeps the surviving coordinates"),
        ("D", "splits into one 1-D problem per atom"),
    ],
)
def test_question_each_wrong_option_is_explained(letter, message):
    assert_rejected(ex.check_orthonormal_dictionary_question(lambda: letter), f"not {letter}:", message)


@pytest.mark.parametrize("got", ["E", 3, None, float("nan"), ["C"]])
def test_question_anything_but_a_letter_is_refused(got):
    assert_rejected(ex.check_orthonormal_dictionary_question(lambda: got), 'return one of "A", "B", "C", "D"')


def test_question_the_answer_is_right():
    """C really is the Lasso optimum for an orthonormal dictionary (checked with the package's solver)."""
    generator = torch.Generator().manual_seed(0)
    Q, _ = torch.linalg.qr(torch.randn(6, 6, generator=generator, dtype=torch.float64))
    x = torch.randn(3, 6, generator=generator, dtype=torch.float64)
    lam = 0.4
    exact = sc.sparse_encode(x, Q, lam, tol=1e-14)
    assert torch.allclose(exact, soft(x @ Q.T, lam), atol=1e-10)
    assert not torch.allclose(exact, (x @ Q.T) * ((x @ Q.T).abs() > lam), atol=1e-3)  # B is wrong


# ----------------------------------------------------------------------------- the ISTA solver (task)


def ista(X, D, lam, n_steps, L=None, start=None, momentum=False):
    L = float(torch.linalg.eigvalsh(D @ D.T)[-1]) if L is None else L(D)
    A = torch.zeros(X.shape[0], D.shape[0], dtype=X.dtype) if start is None else start(X, D)
    y, t, history = A, 1.0, []
    for _ in range(n_steps):
        new = ista_step(y, X, D, lam, L)
        if momentum:
            t_next = (1 + math.sqrt(1 + 4 * t * t)) / 2
            y, t = new + (t - 1) / t_next * (new - A), t_next
        else:
            y = new
        A = new
        history.append(float(objective(X, D, A, lam)))
    return A, history


def largest(D):
    return float(torch.linalg.eigvalsh(D @ D.T)[-1])


def capped(X, D, lam, n_steps):
    """Right for a few steps, but stops after 50 (and pads the history)."""
    A, history = ista(X, D, lam, min(n_steps, 50))
    return A, history + [history[-1]] * (n_steps - len(history))


def test_ista_solver_reference_and_equivalent_forms_pass():
    assert ex.check_ista_solver(ista).passed
    assert ex.check_ista_solver(lambda X, D, lam, n: ista(X, D, lam, n, L=lambda D: float(torch.linalg.svdvals(D)[0]) ** 2)).passed
    # a history as a tensor of 0-d tensors, L from D^T D, tuple or list: all fine
    assert ex.check_ista_solver(lambda X, D, lam, n: (ista(X, D, lam, n)[0], torch.tensor(ista(X, D, lam, n)[1]))).passed
    assert ex.check_ista_solver(lambda X, D, lam, n: list(ista(X, D, lam, n, L=lambda D: largest(D.T)))).passed


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda X, D, lam, n: ista(X, D, lam, n, L=lambda D: 1.0), "L = 1 is wrong even for unit-norm atoms"),
        (lambda X, D, lam, n: ista(X, D, lam, n, L=lambda D: largest(D) ** 0.5), "the *square* of the largest singular"),
        (lambda X, D, lam, n: ista(X, D, lam, n, L=lambda D: float(D.shape[0])), "only an upper bound"),
        (lambda X, D, lam, n: ista(X, D, lam, n, L=lambda D: float(torch.trace(D @ D.T))), "the trace of D D^T"),
        (lambda X, D, lam, n: ista(X, D, lam, n, L=lambda D: 1 / largest(D)), "pass L, not the step 1/L"),
        (lambda X, D, lam, n: ista(X, D, lam, n, L=lambda D: float(torch.linalg.eigvalsh(D @ D.T)[0])),
         "you took the smallest"),
        (lambda X, D, lam, n: ista(X, D, lam, n - 1) if n > 1 else ista(X, D, lam, n), "off by one: that is 4 steps"),
        (lambda X, D, lam, n: ista(X, D, lam, n + 1), "off by one: that is 6 steps"),
        (lambda X, D, lam, n: ista(X, D, lam, n, start=lambda X, D: X @ D.T), "start from all-zero codes"),
        (lambda X, D, lam, n: ista(X, D, lam, n, momentum=True), "that is FISTA"),
        (lambda X, D, lam, n: ista(X, D, lam, n, L=lambda D: 0.4 * largest(D)), "the objective went up at step"),
        (lambda X, D, lam, n: ista(X, D, lam, n, L=lambda D: 0.9 * largest(D)), "A after 5 ISTA steps is off"),
        (lambda X, D, lam, n: ista(X, D, lam, n, L=lambda D: 1e-30), "ISTA diverged"),
        (capped, "after 300 steps the codes should reach the Lasso optimum"),
        (lambda X, D, lam, n: ista(X, D, lam, n)[0], "return two things, (A, history)"),
        (lambda X, D, lam, n: (ista(X, D, lam, n)[0].tolist(), ista(X, D, lam, n)[1]), "should be a torch.Tensor"),
        (lambda X, D, lam, n: (ista(X, D, lam, n)[0].T, ista(X, D, lam, n)[1]), "should have shape (n, k) = (4, 8)"),
        (lambda X, D, lam, n: (ista(X, D, lam, n)[0], ista(X, D, lam, n)[1][:-1]), "one objective per step"),
        (lambda X, D, lam, n: (ista(X, D, lam, n)[0], {"history": 1}), "should be a list of numbers"),
        (lambda X, D, lam, n: (ista(X, D, lam, n)[0], [float(objective(X, D, torch.zeros(len(X), len(D), dtype=X.dtype), lam))]
                               + ista(X, D, lam, n)[1][:-1]), "history[0] is the objective of the all-zero start"),
        (lambda X, D, lam, n: (ista(X, D, lam, n)[0], [2 * h for h in ista(X, D, lam, n)[1]]), "history[0]"),
        (lambda X, D, lam, n: (ista(X, D, lam, n)[0] * float("nan"), ista(X, D, lam, n)[1]), "ISTA diverged"),
        (lambda X, D, lam, n: (ista(X, D, lam, n)[0], [float("nan")] * n), "should be a finite number, got nan"),
        (lambda X, D, lam, n: ista(X.mul_(1.0001), D, lam, n), "changed its input X in place"),
    ],
)
def test_ista_solver_mistakes_are_named(wrong, message):
    assert_rejected(ex.check_ista_solver(wrong), message)


@pytest.mark.parametrize(
    "delegate",
    [
        lambda X, D, lam, n: (sc.sparse_encode(X, D, lam), [0.0] * n),
        lambda X, D, lam, n: ista(X, D, lam, n) if n > 100 else (sc.sparse_encode(X, D, lam), [0.0] * n),
        ex.reference_ista,
    ],
)
def test_ista_solver_delegation_earns_nothing(delegate):
    assert_rejected(ex.check_ista_solver(delegate), DELEGATES)


def test_ista_solver_with_the_package_ista_step_earns_nothing():
    def with_package_step(X, D, lam, n_steps):
        A = torch.zeros(X.shape[0], D.shape[0], dtype=X.dtype)
        history = []
        for _ in range(n_steps):
            A = sc.ista_step(A, X, D, lam)
            history.append(float(objective(X, D, A, lam)))
        return A, history

    assert_rejected(ex.check_ista_solver(with_package_step), DELEGATES, "course_gen.sparse_coding.ista_step")


def test_ista_solver_scikit_learn_earns_nothing():
    from sklearn.linear_model import Lasso

    def with_sklearn(X, D, lam, n_steps):
        lasso = Lasso(alpha=lam / X.shape[1], fit_intercept=False, tol=1e-12, max_iter=100_000)
        A = torch.tensor(np.array([lasso.fit(D.T.numpy(), x).coef_ for x in X.numpy()]))
        return A, [float(objective(X, D, A, lam))] * n_steps

    assert_rejected(ex.check_ista_solver(with_sklearn), DELEGATES, "sklearn.linear_model")


def test_ista_solver_really_reaches_the_optimum():
    """The premise of the last check: 300 ISTA steps reach sparse_encode's optimum on the test problem."""
    X, D, _ = ex._problem(seed=2, n=4, k=8, d=6)
    codes, history = ex.reference_ista(X, D, 0.3, 300)
    exact = sc.sparse_encode(X, D, 0.3, tol=1e-14)
    assert float((codes - exact).abs().max()) < 1e-10
    assert all(b <= a * (1 + 1e-12) for a, b in zip(history, history[1:]))


# ----------------------------------------------------------------------------- every checker

CHECKERS = [
    ex.check_soft_threshold, ex.check_ista_step, ex.check_dictionary_update, ex.check_lasso_objective,
    ex.check_orthonormal_dictionary_question, ex.check_ista_solver,
]


@pytest.mark.parametrize("checker", CHECKERS)
def test_unattempted_and_crashing_exercises_become_feedback(checker):
    feedback = checker(not_attempted)
    assert not feedback.passed and "not attempted yet" in feedback.message
    feedback = checker(lambda *args: 1 / 0)
    assert not feedback.passed and feedback.message.startswith("your function raised ZeroDivisionError")


@pytest.mark.parametrize("checker", CHECKERS)
@pytest.mark.parametrize("not_a_function", [None, 3, "soft_threshold"])
def test_a_non_function_is_refused(checker, not_a_function):
    assert_rejected(checker(not_a_function), "should be a function you wrote")


def test_every_checker_is_exported():
    for checker in CHECKERS:
        assert checker.__name__ in ex.__all__ and getattr(exercises, checker.__name__) is checker
