"""Checkers for the exercises of notebook 01 (sparse coding).

Each ``check_…(fn)`` calls the student's function on small fixed problems with known
answers, recognises the usual mistakes and names them, and returns a
:class:`~course_gen.exercises.Feedback` (it never raises):

- :func:`check_lasso_objective`: ``fn(X, D, A, lam)`` -> the objective, summed over rows;
- :func:`check_soft_threshold`: ``fn(z, threshold)`` -> ``sign(z) * max(|z| - threshold, 0)``;
- :func:`check_ista_step`: ``fn(A, X, D, lam, L)`` -> one proximal-gradient step on the codes;
- :func:`check_dictionary_update`: ``fn(X, A)`` -> least-squares atoms, renormalised to unit norm.
"""

from __future__ import annotations

import torch

from course_gen.exercises._feedback import Feedback, Mistake, expect_close, run_checks

__all__ = ["check_dictionary_update", "check_ista_step", "check_lasso_objective", "check_soft_threshold"]


# ----------------------------------------------------------------------------- references


def _soft(z: torch.Tensor, threshold) -> torch.Tensor:
    return torch.sign(z) * torch.clamp(z.abs() - threshold, min=0)


def reference_lasso_objective(X, D, A, lam) -> torch.Tensor:
    """``sum_n 1/2 ||x_n - a_n D||^2 + lam ||a_n||_1`` (a 0-d tensor)."""
    return 0.5 * ((X - A @ D) ** 2).sum() + lam * A.abs().sum()


def reference_ista_step(A, X, D, lam, L) -> torch.Tensor:
    """``soft_threshold(A + (X - A D) D^T / L, lam / L)``."""
    return _soft(A + (X - A @ D) @ D.T / L, lam / L)


def reference_dictionary_update(X, A) -> torch.Tensor:
    """``D = argmin_D ||X - A D||^2 = (A^T A)^{-1} A^T X``, each row then divided by its norm."""
    D = torch.linalg.lstsq(A, X).solution
    return D / D.norm(dim=1, keepdim=True)


# ----------------------------------------------------------------------------- helpers


def _matches(got, candidate: torch.Tensor, atol: float = 1e-6) -> bool:
    """True if ``got`` is a tensor equal to ``candidate`` (same shape, values within atol)."""
    if not isinstance(got, torch.Tensor) or tuple(got.shape) != tuple(candidate.shape):
        return False
    return bool(torch.allclose(got.detach().to(candidate.dtype).cpu(), candidate, atol=atol, rtol=1e-5))


def _first_mistake(got, mistakes: list[tuple[torch.Tensor, str]], expected: torch.Tensor) -> None:
    """Raise :class:`Mistake` with the message of the first known wrong answer ``got`` matches
    (and that differs from the right one)."""
    for wrong, message in mistakes:
        if not _matches(wrong, expected) and _matches(got, wrong):
            raise Mistake(message)


def _problem(seed: int, n: int, k: int, d: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A small fixed problem: data ``X`` (n, d), unit-norm atoms ``D`` (k, d), codes ``A`` (n, k)."""
    generator = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=generator, dtype=torch.float64)
    D = torch.randn(k, d, generator=generator, dtype=torch.float64)
    D = D / D.norm(dim=1, keepdim=True)
    A = _soft(torch.randn(n, k, generator=generator, dtype=torch.float64), 0.5)
    return X, D, A


def _as_number(got, what: str) -> float:
    if isinstance(got, torch.Tensor):
        if got.numel() != 1:
            raise Mistake(f"{what} should be one number (summed over all rows), got a tensor of shape {tuple(got.shape)}")
        return float(got)
    if isinstance(got, (int, float)) and not isinstance(got, bool):
        return float(got)
    raise Mistake(f"{what} should be a number or a 0-d tensor, got {type(got).__name__}")


# ----------------------------------------------------------------------------- checkers


def check_lasso_objective(fn) -> Feedback:
    """``fn(X, D, A, lam)`` should return ``sum_n 1/2 ||x_n - a_n D||^2 + lam ||a_n||_1``."""
    X, D, A = _problem(seed=1, n=3, k=5, d=4)
    lam = 0.3

    def checks():
        got = _as_number(fn(X.clone(), D.clone(), A.clone(), lam), "the objective")
        residual = ((X - A @ D) ** 2).sum()
        l1, l2 = A.abs().sum(), (A**2).sum()
        expected = float(reference_lasso_objective(X, D, A, lam))
        mistakes = [
            (residual + lam * l1, "the reconstruction term needs the factor 1/2: 1/2 ||x - a D||^2"),
            (0.5 * residual + lam * l2, "the penalty is the L1 norm, lam * sum |a|, not the squared L2 norm"),
            (0.5 * residual.sqrt() + lam * l1, "the reconstruction error is the *squared* norm ||x - a D||^2"),
            (0.5 * residual, "the sparsity penalty lam * sum |a| is missing"),
            (0.5 * residual + l1, "the penalty must be multiplied by lam"),
            ((0.5 * residual + lam * l1) / X.shape[0], "sum over the examples, do not average"),
            (0.5 * ((X - A @ D) ** 2).sum(1).sqrt().sum() + lam * l1,
             "square the norm of each residual: sum_n ||x_n - a_n D||^2, not sum_n ||x_n - a_n D||"),
        ]
        for wrong, message in mistakes:
            if abs(got - float(wrong)) <= 1e-6 * max(1.0, abs(float(wrong))):
                raise Mistake(message)
        if abs(got - expected) > 1e-6 * max(1.0, abs(expected)):
            raise Mistake(f"the objective should be {expected:.4f} on the test problem, got {got:.4f}")

    return run_checks("lasso objective", checks)


def check_soft_threshold(fn) -> Feedback:
    """``fn(z, threshold)`` should return ``sign(z) * max(|z| - threshold, 0)`` elementwise."""
    z = torch.tensor([-3.0, -1.2, -0.5, -0.2, 0.0, 0.3, 0.5, 0.9, 2.5], dtype=torch.float64)
    threshold = 0.5
    expected = _soft(z, threshold)

    def checks():
        original = z.clone()
        got = fn(z, threshold)
        if not torch.equal(z, original):
            raise Mistake("your function changed its input z in place; return a new tensor instead")
        mistakes = [
            (z * (z.abs() > threshold), "that is hard thresholding: the surviving entries must also move "
             "towards 0 by the threshold (|z| - threshold), not keep their value"),
            (torch.clamp(z.abs() - threshold, min=0), "negative entries came out positive: multiply by sign(z)"),
            (torch.clamp(z - threshold, min=0), "only the positive side is handled: entries below -threshold "
             "must become z + threshold, not 0"),
            (torch.sign(z) * (z.abs() - threshold), "entries with |z| <= threshold must become exactly 0: "
             "clamp |z| - threshold at 0 before multiplying by sign(z)"),
            (_soft(z, 2 * threshold), "the threshold is doubled: shrink by threshold, not 2 * threshold"),
            (_soft(z, threshold / 2), "the threshold is halved: shrink by threshold, not threshold / 2"),
        ]
        _first_mistake(got, mistakes, expected)
        expect_close(got, expected, "soft_threshold(z, 0.5)")
        matrix = torch.tensor([[1.0, -2.0], [0.1, -0.05]], dtype=torch.float64)
        expect_close(fn(matrix, 0.1), _soft(matrix, 0.1), "soft_threshold on a matrix with threshold 0.1")

    return run_checks("soft thresholding", checks)


def check_ista_step(fn) -> Feedback:
    """``fn(A, X, D, lam, L)`` should return ``soft_threshold(A + (X - A D) D^T / L, lam / L)``."""
    X, D, A = _problem(seed=2, n=3, k=6, d=4)
    X = 3 * X  # large enough that many codes survive the threshold
    lam = 0.8
    L = float(torch.linalg.eigvalsh(D @ D.T)[-1])
    expected = reference_ista_step(A, X, D, lam, L)
    gradient = (A @ D - X) @ D.T  # d/dA of 1/2 ||X - A D||^2

    def checks():
        got = fn(A.clone(), X.clone(), D.clone(), lam, L)
        mistakes = [
            (_soft(A - gradient / L, lam), "wrong threshold scale: after a gradient step of size 1/L the "
             "threshold is lam / L, not lam"),
            (_soft(A + gradient / L, lam / L), "sign error: the step goes downhill, A - (A D - X) D^T / L, "
             "i.e. A + (X - A D) D^T / L"),
            (A - gradient / L, "the soft-thresholding (the proximal step of lam ||a||_1) is missing"),
            (_soft(A - gradient, lam / L), "the gradient must be scaled by the step size 1/L"),
            (_soft(A - gradient, lam), "the gradient step and the threshold must both be scaled by 1/L"),
            (_soft(A - L * gradient, lam * L), "the step size is 1/L, not L"),
            (_soft(A, lam / L) - gradient / L, "the order is reversed: take the gradient step first, "
             "then soft-threshold its result"),
        ]
        _first_mistake(got, mistakes, expected)
        expect_close(got, expected, "the codes after one ISTA step")

    return run_checks("ISTA step", checks)


def check_dictionary_update(fn) -> Feedback:
    """``fn(X, A)`` should return the least-squares atoms ``(A^T A)^{-1} A^T X``, each row
    divided by its norm (one atom per row, shape ``(k, d)``)."""
    generator = torch.Generator().manual_seed(3)
    n, k, d = 12, 4, 5
    A = torch.randn(n, k, generator=generator, dtype=torch.float64)
    X = A @ torch.randn(k, d, generator=generator, dtype=torch.float64) + 0.1 * torch.randn(
        n, d, generator=generator, dtype=torch.float64
    )
    expected = reference_dictionary_update(X, A)
    least_squares = torch.linalg.lstsq(A, X).solution

    def checks():
        got = fn(X.clone(), A.clone())
        if isinstance(got, torch.Tensor) and tuple(got.shape) == (d, k):
            raise Mistake(f"D should be (k, d) = ({k}, {d}), one atom per row; you returned ({d}, {k}): transposed?")
        mistakes = [
            (least_squares, "the atoms are not unit norm: divide each row of D by its norm after the "
             "least-squares step (otherwise the codes could shrink and the atoms grow to dodge the L1 penalty)"),
            (least_squares / least_squares.norm(dim=0, keepdim=True), "you normalised the columns of D; each "
             "atom is a row, so divide each row by its norm (dim=1)"),
            (least_squares / least_squares.norm(), "you divided D by one global norm; each atom (row) needs "
             "its own norm of 1"),
            (-expected, "every atom has the wrong sign: solve X ~ A D for D, i.e. (A^T A)^{-1} A^T X"),
        ]
        _first_mistake(got, mistakes, expected)
        if isinstance(got, torch.Tensor) and tuple(got.shape) == (k, d):
            norms = got.detach().double().norm(dim=1)
            if not torch.allclose(norms, torch.ones_like(norms), atol=1e-5):
                raise Mistake(
                    f"the atoms are not unit norm (row norms {', '.join(f'{v:.2f}' for v in norms)}): "
                    "divide each row by its norm"
                )
        expect_close(got, expected, "the new dictionary")

    return run_checks("dictionary update", checks)
