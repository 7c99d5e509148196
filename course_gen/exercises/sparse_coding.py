"""Checkers for the exercises of notebook 01 (sparse coding).

Each ``check_…(fn)`` calls the student's function on small fixed problems with known
answers, recognises the usual mistakes and names them, and returns a
:class:`~course_gen.exercises.Feedback` (it never raises):

- :func:`check_lasso_objective`: ``fn(X, D, A, lam)`` -> the objective, summed over rows;
- :func:`check_soft_threshold`: ``fn(z, threshold)`` -> ``sign(z) * max(|z| - threshold, 0)``;
- :func:`check_ista_step`: ``fn(A, X, D, lam, L)`` -> one proximal-gradient step on the codes;
- :func:`check_dictionary_update`: ``fn(X, A)`` -> least-squares atoms, renormalised to unit norm;
- :func:`check_orthonormal_dictionary_question`: ``fn()`` -> the letter of the Lasso code for an
  orthonormal dictionary (a conceptual question);
- :func:`check_ista_solver`: ``fn(X, D, lam, n_steps)`` -> ``(codes, history)``, a whole ISTA run
  from zero codes, checked step by step against ISTA and at the end against the exact Lasso
  optimum of :func:`course_gen.sparse_coding.sparse_encode` (the larger task).

Delegation earns nothing: each student function runs under
:func:`~course_gen.exercises._feedback.answer`, which rejects a call of the package's own
implementation of the exercise (``course_gen.sparse_coding``), of this module's ``reference_…``
functions, or of a library function that is the whole exercise (``torch.nn.functional.softshrink``,
scikit-learn's Lasso solvers).
"""

from __future__ import annotations

import sys

import torch
import torch.nn.functional as F

from course_gen import sparse_coding
from course_gen.exercises._feedback import (
    Feedback,
    Mistake,
    answer,
    as_number,
    check_choice,
    close,
    expect_close,
    expect_number,
    first_mistake,
    matches,
    run_checks,
)

__all__ = [
    "check_dictionary_update",
    "check_ista_solver",
    "check_ista_step",
    "check_lasso_objective",
    "check_orthonormal_dictionary_question",
    "check_soft_threshold",
]


# ----------------------------------------------------------------------------- references


def reference_soft_threshold(z: torch.Tensor, threshold) -> torch.Tensor:
    """``sign(z) * max(|z| - threshold, 0)``."""
    return torch.sign(z) * torch.clamp(z.abs() - threshold, min=0)


def reference_lasso_objective(X, D, A, lam) -> torch.Tensor:
    """``sum_n 1/2 ||x_n - a_n D||^2 + lam ||a_n||_1`` (a 0-d tensor)."""
    return 0.5 * ((X - A @ D) ** 2).sum() + lam * A.abs().sum()


def reference_ista_step(A, X, D, lam, L) -> torch.Tensor:
    """``soft_threshold(A + (X - A D) D^T / L, lam / L)``."""
    return reference_soft_threshold(A + (X - A @ D) @ D.T / L, lam / L)


def reference_dictionary_update(X, A) -> torch.Tensor:
    """``D = argmin_D ||X - A D||^2 = (A^T A)^{-1} A^T X``, each row then divided by its norm."""
    D = torch.linalg.lstsq(A, X).solution
    return D / D.norm(dim=1, keepdim=True)


def reference_ista(X, D, lam, n_steps: int) -> tuple[torch.Tensor, list[float]]:
    """ISTA from zero codes with ``L`` the largest eigenvalue of ``D D^T``: ``(codes, history)``,
    ``history[i]`` the objective after step ``i + 1``."""
    return _ista_variant(X, D, lam, n_steps, float(torch.linalg.eigvalsh(D @ D.T)[-1]))


# ----------------------------------------------------------------------------- helpers


def _problem(seed: int, n: int, k: int, d: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A small fixed problem: data ``X`` (n, d), unit-norm atoms ``D`` (k, d), codes ``A`` (n, k)."""
    generator = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=generator, dtype=torch.float64)
    D = torch.randn(k, d, generator=generator, dtype=torch.float64)
    D = D / D.norm(dim=1, keepdim=True)
    A = reference_soft_threshold(torch.randn(n, k, generator=generator, dtype=torch.float64), 0.5)
    return X, D, A


def _unchanged(before: tuple[torch.Tensor, ...], after: tuple[torch.Tensor, ...], names: str) -> None:
    """Raise :class:`Mistake` if the student's function changed one of its input tensors in place."""
    for name, original, now in zip(names.split(), before, after):
        if not torch.equal(original, now):
            raise Mistake(f"your function changed its input {name} in place; compute a new tensor instead")


def _sklearn_solvers() -> list:
    """scikit-learn's Lasso solvers, if the student's session imported scikit-learn (importing it
    here would cost a second per check)."""
    solvers = []
    linear_model = sys.modules.get("sklearn.linear_model")
    if linear_model is not None:
        solvers += [linear_model.Lasso.fit, linear_model.lasso_path, linear_model.enet_path]
    decomposition = sys.modules.get("sklearn.decomposition")
    if decomposition is not None:
        solvers.append(decomposition.sparse_encode)
    return solvers


# ----------------------------------------------------------------------------- checkers


def check_lasso_objective(fn) -> Feedback:
    """``fn(X, D, A, lam)`` should return ``sum_n 1/2 ||x_n - a_n D||^2 + lam ||a_n||_1``."""
    X, D, A = _problem(seed=1, n=3, k=5, d=4)
    lam = 0.3
    residual = float(((X - A @ D) ** 2).sum())
    l1, l2 = float(A.abs().sum()), float((A**2).sum())
    expected = float(reference_lasso_objective(X, D, A, lam))
    mistakes = [
        (residual + lam * l1, "the reconstruction term needs the factor 1/2: 1/2 ||x - a D||^2"),
        (0.5 * residual + lam * l2, "the penalty is the L1 norm, lam * sum |a|, not the squared L2 norm"),
        (0.5 * residual**0.5 + lam * l1, "the reconstruction error is the *squared* norm ||x - a D||^2"),
        (0.5 * residual, "the sparsity penalty lam * sum |a| is missing"),
        (0.5 * residual + l1, "the penalty must be multiplied by lam"),
        ((0.5 * residual + lam * l1) / X.shape[0], "sum over the examples, do not average"),
        (0.5 * float(((X - A @ D) ** 2).sum(1).sqrt().sum()) + lam * l1,
         "square the norm of each residual: sum_n ||x_n - a_n D||^2, not sum_n ||x_n - a_n D||"),
    ]

    def checks():
        objective = answer(fn, "lasso_objective", forbidden=[
            sparse_coding.lasso_objective, sparse_coding._row_objective, reference_lasso_objective,
        ])
        inputs = (X.clone(), D.clone(), A.clone())
        got = objective(*inputs, lam)
        _unchanged((X, D, A), inputs, "X D A")
        if isinstance(got, torch.Tensor) and got.numel() == X.shape[0]:
            raise Mistake(f"the objective should be one number, summed over all rows; you returned a tensor "
                          f"of shape {tuple(got.shape)}, one value per row")
        expect_number(got, expected, "the objective on the test problem", mistakes, rtol=1e-6)

    return run_checks("lasso objective", checks)


def check_soft_threshold(fn) -> Feedback:
    """``fn(z, threshold)`` should return ``sign(z) * max(|z| - threshold, 0)`` elementwise."""
    z = torch.tensor([-3.0, -1.2, -0.5, -0.2, 0.0, 0.3, 0.5, 0.9, 2.5], dtype=torch.float64)
    threshold = 0.5
    expected = reference_soft_threshold(z, threshold)
    mistakes = [
        (z * (z.abs() > threshold), "that is hard thresholding: the surviving entries must also move "
         "towards 0 by the threshold (|z| - threshold), not keep their value"),
        (torch.clamp(z.abs() - threshold, min=0), "negative entries came out positive: multiply by sign(z)"),
        (torch.clamp(z - threshold, min=0), "only the positive side is handled: entries below -threshold "
         "must become z + threshold, not 0"),
        (torch.sign(z) * (z.abs() - threshold), "entries with |z| <= threshold must become exactly 0: "
         "clamp |z| - threshold at 0 before multiplying by sign(z)"),
        (reference_soft_threshold(z, 2 * threshold), "the threshold is doubled: shrink by threshold, not 2 * threshold"),
        (reference_soft_threshold(z, threshold / 2), "the threshold is halved: shrink by threshold, not threshold / 2"),
    ]
    matrix = torch.tensor([[1.0, -2.0], [0.1, -0.05]], dtype=torch.float64)

    def checks():
        soft = answer(fn, "soft_threshold", forbidden=[
            sparse_coding.soft_threshold, reference_soft_threshold, F.softshrink,
        ])
        given = z.clone()
        got = soft(given, threshold)
        _unchanged((z,), (given,), "z")
        first_mistake(got, mistakes, expected)
        expect_close(got, expected, "soft_threshold(z, 0.5)")
        expect_close(soft(matrix.clone(), 0.1), reference_soft_threshold(matrix, 0.1),
                     "soft_threshold on a matrix with threshold 0.1")

    return run_checks("soft thresholding", checks)


def check_ista_step(fn) -> Feedback:
    """``fn(A, X, D, lam, L)`` should return ``soft_threshold(A + (X - A D) D^T / L, lam / L)``."""
    X, D, A = _problem(seed=2, n=3, k=6, d=4)
    X = 3 * X  # large enough that many codes survive the threshold
    lam = 0.8
    L = float(torch.linalg.eigvalsh(D @ D.T)[-1])
    expected = reference_ista_step(A, X, D, lam, L)
    gradient = (A @ D - X) @ D.T  # d/dA of 1/2 ||X - A D||^2
    soft = reference_soft_threshold
    mistakes = [
        (soft(A - gradient / L, lam), "wrong threshold scale: after a gradient step of size 1/L the "
         "threshold is lam / L, not lam"),
        (soft(A + gradient / L, lam / L), "sign error: the step goes downhill, A - (A D - X) D^T / L, "
         "i.e. A + (X - A D) D^T / L"),
        (A - gradient / L, "the soft-thresholding (the proximal step of lam ||a||_1) is missing"),
        (soft(A - gradient, lam / L), "the gradient must be scaled by the step size 1/L"),
        (soft(A - gradient, lam), "the gradient step and the threshold must both be scaled by 1/L"),
        (soft(A - L * gradient, lam * L), "the step size is 1/L, not L"),
        (soft(A, lam / L) - gradient / L, "the order is reversed: take the gradient step first, "
         "then soft-threshold its result"),
    ]

    def checks():
        step = answer(fn, "ista_step", forbidden=[sparse_coding.ista_step, reference_ista_step])
        inputs = (A.clone(), X.clone(), D.clone())
        got = step(*inputs, lam, L)
        _unchanged((A, X, D), inputs, "A X D")
        first_mistake(got, mistakes, expected)
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
    mistakes = [
        (least_squares, "the atoms are not unit norm: divide each row of D by its norm after the "
         "least-squares step (otherwise the codes could shrink and the atoms grow to dodge the L1 penalty)"),
        (least_squares / least_squares.norm(dim=0, keepdim=True), "you normalised the columns of D; each "
         "atom is a row, so divide each row by its norm (dim=1)"),
        (least_squares / least_squares.norm(), "you divided D by one global norm; each atom (row) needs "
         "its own norm of 1"),
        (-expected, "every atom has the wrong sign: solve X ~ A D for D, i.e. (A^T A)^{-1} A^T X"),
    ]

    def checks():
        update = answer(fn, "dictionary_update", forbidden=[
            sparse_coding.dictionary_update, reference_dictionary_update,
        ])
        inputs = (X.clone(), A.clone())
        got = update(*inputs)
        _unchanged((X, A), inputs, "X A")
        if isinstance(got, torch.Tensor) and tuple(got.shape) == (d, k):
            raise Mistake(f"D should be (k, d) = ({k}, {d}), one atom per row; you returned ({d}, {k}): transposed?")
        first_mistake(got, mistakes, expected)
        if isinstance(got, torch.Tensor) and tuple(got.shape) == (k, d) and bool(torch.isfinite(got).all()):
            norms = got.detach().double().norm(dim=1)
            if not torch.allclose(norms, torch.ones_like(norms), atol=1e-5):
                raise Mistake(
                    f"the atoms are not unit norm (row norms {', '.join(f'{v:.2f}' for v in norms)}): "
                    "divide each row by its norm"
                )
        expect_close(got, expected, "the new dictionary")

    return run_checks("dictionary update", checks)


# ----------------------------------------------------------------------------- the question

#: The options of the question of notebook 01: the Lasso code for an orthonormal dictionary.
ORTHONORMAL_OPTIONS = {
    "A": "x D^T, the coordinates of x in the basis",
    "B": "x D^T with every entry of magnitude <= lam set to 0 (hard thresholding)",
    "C": "S_lam(x D^T): soft thresholding of the coordinates",
    "D": "no closed form: it takes ISTA iterations until convergence",
}


def check_orthonormal_dictionary_question(fn) -> Feedback:
    """``fn()`` returns the letter of the exact Lasso code when ``D D^T = I`` (k = d)."""
    why_not = {
        "A": "x D^T is the least-squares code, the answer for lam = 0: it ignores the penalty and "
             "has no zeros. With D D^T = I, ||x - a D||^2 = ||x D^T - a||^2, so the problem splits "
             "into one problem per atom, min 1/2 (a_k - z_k)^2 + lam |a_k| with z = x D^T: what solves "
             "that one?",
        "B": "hard thresholding keeps the surviving coordinates at full size: it is the answer for a "
             "penalty that counts the non-zeros (L0). With the L1 penalty lam |a_k| each surviving "
             "coordinate also pays lam per unit of size: look again at the 1-D problem "
             "min 1/2 (a_k - z_k)^2 + lam |a_k|",
        "D": "with D D^T = I, ||x - a D||^2 = ||x D^T - a||^2 (an orthonormal D keeps lengths), so the "
             "problem splits into one 1-D problem per atom, each with a closed form. ISTA agrees: "
             "L = 1 here, and one step from any start lands on the answer",
    }
    return check_choice("orthonormal dictionary (question)", fn, ORTHONORMAL_OPTIONS, "C", why_not)


# ----------------------------------------------------------------------------- the larger task


def _ista_variant(X, D, lam, n_steps: int, L: float, start=None, threshold_scale: float | None = None,
                  momentum: bool = False) -> tuple[torch.Tensor, list[float]]:
    """ISTA (or, with ``momentum``, FISTA) with a given ``L``; a wrong ``L``, a start other than
    zero, or a threshold ``lam * threshold_scale`` give the wrong answers the checker recognises."""
    A = torch.zeros(X.shape[0], D.shape[0], dtype=X.dtype) if start is None else start.clone()
    threshold = lam / L if threshold_scale is None else lam * threshold_scale
    y, t = A, 1.0
    history = []
    with torch.no_grad():
        for _ in range(n_steps):
            new = reference_soft_threshold(y + (X - y @ D) @ D.T / L, threshold)
            if momentum:
                t_next = (1 + (1 + 4 * t * t) ** 0.5) / 2
                y, t = new + (t - 1) / t_next * (new - A), t_next
            else:
                y = new
            A = new
            history.append(float(reference_lasso_objective(X, D, A, lam)))
    return A, history


def _codes(got, n: int, k: int) -> tuple[torch.Tensor, object]:
    """The student's ``(codes, history)``: the codes checked for type and shape, the history as given."""
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise Mistake(f"return two things, (A, history): the codes and the list of objectives; got "
                      f"{type(got).__name__}" + (f" of length {len(got)}" if isinstance(got, (tuple, list)) else ""))
    codes, history = got
    if not isinstance(codes, torch.Tensor):
        raise Mistake(f"the codes A should be a torch.Tensor, got {type(codes).__name__}")
    if tuple(codes.shape) != (n, k):
        raise Mistake(f"the codes A should have shape (n, k) = ({n}, {k}), got {tuple(codes.shape)}")
    return codes.detach(), history


def _history(history, n_steps: int) -> list[float]:
    """The student's history as a list of ``n_steps`` finite floats."""
    if isinstance(history, torch.Tensor):
        history = list(history.detach().flatten())
    if not isinstance(history, (list, tuple)):
        raise Mistake(f"history should be a list of numbers, one objective per step, got {type(history).__name__}")
    if len(history) != n_steps:
        raise Mistake(f"history should hold one objective per step, {n_steps} numbers for n_steps={n_steps}; "
                      f"got {len(history)}")
    return [as_number(value, f"history[{i}]") for i, value in enumerate(history)]


def check_ista_solver(fn) -> Feedback:
    """``fn(X, D, lam, n_steps)`` runs ISTA from all-zero codes with ``L`` the largest eigenvalue of
    ``D D^T`` and returns ``(codes, history)``, ``history[i]`` the objective after step ``i + 1``.

    Checked on a small over-complete problem (8 unit-norm atoms in 6 dimensions): after 5 steps the
    codes and history must be ISTA's; after 300 the codes must be the exact Lasso optimum (from
    :func:`course_gen.sparse_coding.sparse_encode`, which ISTA reaches to 1e-15 on this problem).
    """
    n, k, d, lam = 4, 8, 6, 0.3
    X, D, _ = _problem(seed=2, n=n, k=k, d=d)
    few, many = 5, 300
    eigenvalues = torch.linalg.eigvalsh(D @ D.T)
    L = float(eigenvalues[-1])
    expected, expected_history = reference_ista(X, D, lam, few)
    zero_objective = float(reference_lasso_objective(X, D, torch.zeros(n, k, dtype=X.dtype), lam))
    optimum = sparse_coding.sparse_encode(X, D, lam, tol=1e-14)
    optimum_objective = float(reference_lasso_objective(X, D, optimum, lam))
    step_mistakes = [
        (1.0, f"L = 1 is wrong even for unit-norm atoms: L is the largest eigenvalue of D D^T, {L:.3f} "
              "here; with the step 1/1 ISTA overshoots"),
        (L**0.5, "L is the largest eigenvalue of D D^T, the *square* of the largest singular value of D; "
                 "you used the singular value itself, so the step is too large"),
        (float(eigenvalues.sum()), f"L = k, the trace of D D^T (the sum of its eigenvalues, k for unit-norm "
                                   f"atoms), is only an upper bound on the largest eigenvalue ({L:.3f}): the "
                                   "steps are too short and ISTA converges more slowly"),
        (1.0 / L, "your ista_step takes L and uses the step 1/L itself: pass L, not the step 1/L"),
        (float(eigenvalues[0]), "L is the *largest* eigenvalue of D D^T; you took the smallest "
                                "(torch.linalg.eigvalsh sorts them in ascending order: the largest is the last)"),
    ]
    wrong_answers = [(_ista_variant(X, D, lam, few, wrong)[0], message) for wrong, message in step_mistakes]
    wrong_answers += [
        (reference_ista(X, D, lam, few - 1)[0], f"off by one: that is {few - 1} steps, n_steps={few} asks for "
                                                f"{few} (check your loop's range)"),
        (reference_ista(X, D, lam, few + 1)[0], f"off by one: that is {few + 1} steps, n_steps={few} asks for {few}"),
        (_ista_variant(X, D, lam, few, L, start=X @ D.T)[0], "start from all-zero codes A = 0 (n, k), not from "
                                                            "the correlations X D^T"),
        (_ista_variant(X, D, lam, few, L, threshold_scale=1.0)[0], "wrong threshold: after a gradient step "
                                                                   "of size 1/L the threshold is lam / L, not lam"),
        (_ista_variant(X, D, lam, few, L, momentum=True)[0], "that is FISTA (with momentum); this exercise asks "
                                                             "for plain ISTA steps"),
    ]

    def run(solver, steps: int) -> tuple[torch.Tensor, object]:
        inputs = (X.clone(), D.clone())
        got = solver(*inputs, lam, steps)
        _unchanged((X, D), inputs, "X D")
        return _codes(got, n, k)

    def checks():
        forbidden = [
            sparse_coding.sparse_encode, sparse_coding.lasso_path, sparse_coding.ista_step, sparse_coding._fista,
            reference_ista, reference_ista_step, *_sklearn_solvers(),
        ]
        solver = answer(fn, "ista", forbidden=forbidden)
        codes, history = run(solver, few)
        first_mistake(codes, wrong_answers, expected)
        history = _history(history, few)
        if not bool(torch.isfinite(codes).all()) or max(history) > 1e3 * zero_objective:
            raise Mistake("ISTA diverged (the codes or the objective blew up): the step 1/L is far too large, "
                          "or something divided by zero. Is L the *largest* eigenvalue of D D^T? "
                          "(torch.linalg.eigvalsh sorts them in ascending order: the largest is the last)")
        if close(history[0], zero_objective, rtol=1e-6) and not close(history[0], expected_history[0], rtol=1e-6):
            raise Mistake("history[0] is the objective of the all-zero start; record the objective *after* "
                          "each step, one per step")
        for i, (before, after) in enumerate(zip(history, history[1:])):
            if after > before * (1 + 1e-9) + 1e-12:
                raise Mistake(f"the objective went up at step {i + 2} ({before:.6g} -> {after:.6g}): ISTA with "
                              "step 1/L never increases it, so the step is too large (L must be the largest "
                              "eigenvalue of D D^T) or the step is not ISTA's")
        try:
            expect_close(codes, expected, f"A after {few} ISTA steps", atol=1e-6, rtol=1e-5)
        except Mistake as mistake:
            raise Mistake(f"{mistake}. Check L (the largest eigenvalue of D D^T), the start (A = 0) and "
                          "that each step is your ista_step(A, X, D, lam, L)") from None
        for i, value in enumerate(history):
            expect_number(value, expected_history[i], f"history[{i}] (the objective after step {i + 1})",
                          rtol=1e-6)
        codes, history = run(solver, many)
        history = _history(history, many)
        if not matches(codes, optimum, atol=1e-6):
            worst = float((codes.detach().double() - optimum).abs().max()) if bool(torch.isfinite(codes).all()) else float("nan")
            raise Mistake(f"after {many} steps the codes should reach the Lasso optimum (the package's "
                          f"sparse_encode, to 1e-14), but differ by up to {worst:.3g}")
        expect_number(history[-1], optimum_objective, f"the objective after {many} steps (the optimum)",
                      rtol=1e-6)

    return run_checks("ISTA solver (task)", checks)
