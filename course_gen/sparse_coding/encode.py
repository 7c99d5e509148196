"""Sparse codes of many rows at once: FISTA with adaptive restart and an exact finish on the support.

:func:`sparse_encode` solves ``min_a 1/2 ||x - a D||^2 + lam ||a||_1`` for every row of ``X``;
:func:`lasso_path` gives one example's codes for many ``lam`` in one call.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from course_gen._checks import check_int, check_nonnegative, check_positive_number, check_tensor
from course_gen.sparse_coding._inputs import (
    MAX_ITERATIONS,
    _check_codes,
    _check_data_and_dictionary,
    _check_matrix,
    _working_dtype,
)


#: FISTA tests which rows have converged every this many iterations.
_CHECK_EVERY = 10
#: Rows per block in the exact support solve (rows sorted by support size, so small blocks pad little).
_SOLVE_BLOCK = 256


@dataclass
class _Problem:
    """The Lasso rows in Gram form: ``f(a) = 1/2 a G a^T - a . b`` (+ const) per row."""

    gram: torch.Tensor  # (k, k) = D D^T
    corr: torch.Tensor  # (n, k) = X D^T
    lam: float
    rank: int  # min(d, k): a support with more atoms than this has a singular G_SS
    sq_norm: torch.Tensor  # (n,) = ||x||^2, for the duality gap
    atom_norm: float  # largest ||phi_k||, the scale of the correlations b - a G


def _support_solve(mask: torch.Tensor, signs: torch.Tensor, corr: torch.Tensor, gram: torch.Tensor, lam: float):
    """For each row, the codes that are optimal if ``mask`` is the support and ``signs`` the signs:

        a_S = G_SS^{-1} (b_S - lam * s_S),   a elsewhere = 0.

    Rows are sorted by support size and solved in small blocks, each padded to its largest
    support (batched LU of the ``s x s`` Grams). Returns the codes and a bool per row,
    False where ``G_SS`` was singular.
    """
    n, k = corr.shape
    counts = mask.sum(1)
    codes = torch.zeros_like(corr)
    solved = torch.ones(n, dtype=torch.bool, device=corr.device)
    for rows in torch.argsort(counts).split(_SOLVE_BLOCK):
        size = int(counts[rows[-1]])  # rows are sorted: the last has the largest support
        if size == 0:
            continue
        index = torch.argsort((~mask[rows]).to(torch.int8), dim=1, stable=True)[:, :size]
        valid = torch.arange(size, device=corr.device) < counts[rows, None]
        sub_gram = gram[index[:, :, None], index[:, None, :]]
        padding = ~valid
        sub_gram[padding[:, :, None] | padding[:, None, :]] = 0.0
        sub_gram.diagonal(dim1=1, dim2=2)[padding] = 1.0
        rhs = (corr[rows].gather(1, index) - lam * signs[rows].gather(1, index)) * valid
        solution, info = torch.linalg.solve_ex(sub_gram, rhs)
        solution = solution * valid
        codes[rows] = codes[rows].scatter_(1, index, solution)
        solved[rows] = (info == 0) & torch.isfinite(solution).all(1)
    return codes, solved


def _satisfies_kkt(codes: torch.Tensor, neg_grad: torch.Tensor, lam: float, tolerance: torch.Tensor) -> torch.Tensor:
    """Per row: the Lasso optimality conditions hold within ``tolerance`` (a ``(n,)`` tensor):
    ``(x - a D) phi_k = lam * sign(a_k)`` where ``a_k != 0`` and ``|(x - a D) phi_k| <= lam`` elsewhere."""
    active = codes != 0
    on_support = torch.where(active, (neg_grad - lam * torch.sign(codes)).abs(), 0.0).amax(1)
    off_support = torch.where(active, 0.0, neg_grad.abs() - lam).amax(1)
    return (on_support <= tolerance) & (off_support <= tolerance)


def _polish(codes: torch.Tensor, problem: _Problem, corr: torch.Tensor):
    """Try to finish rows exactly with one primal-dual active-set (semismooth Newton) step.

    Guess the support and signs from one coordinate-wise proximal step,
    ``z = a + (b - a G) / diag(G)``, support ``|z| > lam / diag(G)``; solve the Lasso
    exactly on that support (:func:`_support_solve`, in float64) and keep the rows whose
    solution satisfies the optimality conditions to 1e-9 relative. Returns the codes
    (the exact solution where found) and a bool per row saying which rows are finished.
    """
    gram, corr64, lam = problem.gram.double(), corr.double(), problem.lam
    current = codes.double()
    scale = torch.diagonal(gram).clamp_min(torch.finfo(torch.float64).tiny)
    z = current + (corr64 - current @ gram) / scale
    mask = z.abs() > lam / scale
    fits = mask.sum(1) <= problem.rank  # more atoms than dimensions: G_SS is singular
    candidate, solved = _support_solve(mask & fits[:, None], torch.sign(z), corr64, gram, lam)
    tolerance = 1e-9 * corr64.abs().amax(1).clamp_min(lam)
    finished = solved & fits & _satisfies_kkt(candidate, corr64 - candidate @ gram, lam, tolerance)
    return torch.where(finished[:, None], candidate.to(codes.dtype), codes), finished


def sparse_encode(
    X: torch.Tensor,
    D: torch.Tensor,
    lam,
    max_iter: int = 1000,
    tol: float = 1e-8,
    init: torch.Tensor | None = None,
    polish_every: int = 10,
) -> torch.Tensor:
    """Sparse codes: for each row ``x`` of ``X`` ``(n, d)``, with atoms the rows of ``D`` ``(k, d)``,

        a* = argmin_a  1/2 ||x - a D||^2 + lam ||a||_1          (returns ``(n, k)``)

    All rows are solved together, on ``X``'s device and in its precision (float64 if ``X``
    or ``D`` is float64, float32 otherwise), in the Gram form: with ``G = D D^T`` and
    ``b = x D^T`` the gradient is ``a G - b``, so each iteration costs one ``(n, k) x (k, k)``
    product, whatever ``d`` is.

    1. Rows with ``max_k |b_k| <= lam`` have the exact answer ``a* = 0`` (optimality at 0).
    2. FISTA: ``a <- soft_threshold(y - (y G - b) / L, lam / L)`` with Nesterov momentum on
       ``y``, ``L`` the largest eigenvalue of ``G``, and momentum reset when it points uphill
       (adaptive restart). A row stops when a certificate says it is optimal to ``tol``:
       its duality gap is at most ``tol * 1/2 ||x||^2`` (the gap bounds how far its objective
       is above the optimum), or the optimality conditions hold to ``tol * ||x|| * max ||phi||``.
    3. Every ``polish_every`` iterations (0: never) the remaining rows try an exact finish:
       guess the support and signs, solve ``a_S = G_SS^{-1}(b_S - lam sign(a_S))``, and accept
       the rows whose solution meets the optimality conditions (to 1e-9 relative).

    ``init``: starting codes ``(n, k)`` (a warm start, e.g. the previous codes while learning
    a dictionary); zeros otherwise. ``max_iter`` (at most :data:`MAX_ITERATIONS`) bounds the FISTA
    iterations; rows still running then return their last iterate.

    Raises ``TypeError``/``ValueError`` for non-tensors, wrong shapes, mismatched ``d`` or
    devices, NaN or infinite entries (naming row and column), or ``lam`` < 0.
    """
    X, D = _check_data_and_dictionary(X, D)
    lam = check_nonnegative("lam", lam)
    max_iter = check_int("max_iter", max_iter, minimum=1, maximum=MAX_ITERATIONS)
    tol = check_positive_number("tol", tol)
    polish_every = check_int("polish_every", polish_every, minimum=0)
    n, k = X.shape[0], D.shape[0]
    if init is not None:
        init = _check_codes(init, n, k)
        if init.device != X.device:
            raise ValueError(f"init must be on X's device {X.device}, got {init.device}")
    dtype = _working_dtype(X, D)
    Xw, Dw = X.to(dtype), D.to(dtype)
    gram = Dw @ Dw.T
    problem = _Problem(
        gram=gram, corr=Xw @ Dw.T, lam=lam, rank=min(X.shape[1], k),
        sq_norm=(X.double() ** 2).sum(1), atom_norm=float(D.double().norm(dim=1).max()),
    )
    codes = _fista(problem, init.to(dtype) if init is not None else None, max_iter, tol, polish_every)
    return codes.to(X.dtype)


def _fista(problem: _Problem, init, max_iter: int, tol: float, polish_every: int) -> torch.Tensor:
    """FISTA with adaptive restart on every row of ``problem`` (see :func:`sparse_encode`).

    Rows leave the batch as soon as they are finished, so late iterations only cost what the
    slow rows need. Returns the codes ``(n, k)``.
    """
    corr, gram, lam = problem.corr, problem.gram, problem.lam
    codes = torch.zeros_like(corr) if init is None else init.clone()
    step = 1.0 / max(float(torch.linalg.eigvalsh(gram.double().cpu())[-1]), torch.finfo(torch.float64).tiny)
    threshold = lam * step
    # y - step * (y G - b) = y M + step * b with M = I - step * G: one fused multiply-add
    iteration_matrix = torch.eye(len(gram), dtype=gram.dtype, device=gram.device) - step * gram

    zero_is_optimal = corr.abs().amax(1) <= lam
    codes[zero_is_optimal] = 0
    rows = (~zero_is_optimal).nonzero().squeeze(1)  # rows still being solved
    state = {
        "current": codes[rows],
        "momentum_point": codes[rows],
        "corr": corr[rows],
        "scaled_corr": step * corr[rows],
        "sq_norm": problem.sq_norm[rows],
        "t": torch.ones(len(rows), 1, dtype=corr.dtype, device=corr.device),
        # sign pattern at the last check, and the pattern whose exact solve failed
        "signs": torch.zeros(len(rows), codes.shape[1], dtype=torch.int8, device=corr.device),
        "failed": torch.zeros(len(rows), codes.shape[1], dtype=torch.int8, device=corr.device),
    }
    for iteration in range(1, max_iter + 1):
        if len(rows) == 0:
            break
        current, y, t = state["current"], state["momentum_point"], state["t"]
        z = torch.addmm(state["scaled_corr"], y, iteration_matrix)
        new = z - z.clamp(-threshold, threshold)  # soft_threshold(z, threshold)
        delta = new - current
        t_next = (1 + torch.sqrt(1 + 4 * t * t)) / 2
        uphill = torch.linalg.vecdot(y - new, delta).unsqueeze(1) > 0  # adaptive restart
        beta = torch.where(uphill, 0.0, (t - 1) / t_next)
        state["momentum_point"] = torch.addcmul(new, beta, delta)
        state["current"], state["t"] = new, torch.where(uphill, 1.0, t_next)
        check = iteration % _CHECK_EVERY == 0 or iteration == max_iter
        polish = polish_every and iteration % polish_every == 0
        if not (check or polish):
            continue
        done = _converged(new, state["corr"], state["sq_norm"], problem, tol)
        if polish:
            done = done | _polish_stable_rows(state, problem, done)
        if bool(done.any()):
            codes[rows[done]] = state["current"][done]
            keep = ~done
            rows = rows[keep]
            state = {key: value[keep] for key, value in state.items()}
    if len(rows):
        codes[rows] = state["current"]
    return codes


def _converged(codes: torch.Tensor, corr: torch.Tensor, sq_norm: torch.Tensor, problem: _Problem, tol: float):
    """Per row, in float64: is the duality gap <= ``tol * ||x||^2 / 2``, or are the optimality
    conditions met to ``tol * ||x|| * max ||phi||`` (the test that still works for ``lam = 0``)?

    With ``c = b - a G = D r`` (``r = x - a D``), ``||r||^2 = ||x||^2 - a.b - a.c``; the dual
    point ``theta = s r`` with ``s = min(1, lam / max |c|)`` is feasible (``|D theta| <= lam``),
    and ``gap = 1/2 ||r||^2 + lam |a|_1 - (s x.r - s^2 ||r||^2 / 2)`` with ``x.r = ||x||^2 - a.b``.
    """
    a, b = codes.double(), corr.double()
    c = b - a @ problem.gram.double()
    lam = problem.lam
    a_dot_b = (a * b).sum(1)
    residual_sq = (sq_norm - a_dot_b - (a * c).sum(1)).clamp_min(0)
    largest = c.abs().amax(1)
    s = torch.where(largest > lam, lam / largest.clamp_min(torch.finfo(torch.float64).tiny), 1.0)
    primal = 0.5 * residual_sq + lam * a.abs().sum(1)
    dual = s * (sq_norm - a_dot_b) - 0.5 * s * s * residual_sq
    small_gap = primal - dual <= tol * 0.5 * sq_norm
    active = a != 0
    violation = torch.where(active, (c - lam * torch.sign(a)).abs(), (c.abs() - lam).clamp_min(0)).amax(1)
    meets_conditions = violation <= tol * sq_norm.sqrt() * problem.atom_norm
    return small_gap | meets_conditions


def _polish_stable_rows(state: dict, problem: _Problem, done: torch.Tensor) -> torch.Tensor:
    """Exact finish (:func:`_polish`) for the rows whose sign pattern has not changed since
    the last check and has not failed before; updates ``state`` and returns the finished rows."""
    signs = torch.sign(state["current"]).to(torch.int8)
    stable = (signs == state["signs"]).all(1) & ~(signs == state["failed"]).all(1) & ~done
    state["signs"] = signs
    finished = torch.zeros_like(done)
    if not bool(stable.any()):
        return finished
    candidates = stable.nonzero().squeeze(1)
    exact, ok = _polish(state["current"][candidates], problem, state["corr"][candidates])
    state["current"][candidates] = exact
    state["failed"][candidates[~ok]] = signs[candidates[~ok]]
    finished[candidates[ok]] = True
    return finished


def lasso_path(x: torch.Tensor, D: torch.Tensor, lams, **encode_options) -> torch.Tensor:
    """Codes of one example ``x`` ``(d,)`` for every ``lam`` in ``lams``: ``(len(lams), k)``.

    One batched :func:`sparse_encode` call instead of one per ``lam``, thanks to the scaling
    identity of the Lasso: if ``a`` is optimal for ``(x, lam)``, then ``c a`` is optimal for
    ``(c x, c lam)``. So row ``i`` solves ``(x * lam_0 / lam_i, lam_0)`` and is rescaled by
    ``lam_i / lam_0`` (``lam_0`` the largest lam). Needs every ``lam > 0``.
    """
    check_tensor("x", x, dtype="float", what="(one example, a 1-D tensor (d,))")
    if x.ndim != 1:
        raise ValueError(f"x must be one example, a 1-D tensor (d,), got {tuple(x.shape)}")
    D = _check_matrix("D", D, "(k, d): one atom per row")
    if isinstance(lams, torch.Tensor):
        check_tensor("lams", lams, finite=False)
    try:
        lam_values = torch.as_tensor(lams, dtype=torch.float64).flatten()
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(f"lams must be a sequence of numbers > 0, got {type(lams).__name__}") from err
    if len(lam_values) == 0 or not bool((lam_values > 0).all()) or not bool(torch.isfinite(lam_values).all()):
        raise ValueError(f"lams must be a non-empty list of finite numbers > 0, got {lams!r}")
    reference = float(lam_values.max())
    scale = (reference / lam_values).to(device=x.device)
    rows = x.double()[None, :] * scale[:, None]
    codes = sparse_encode(rows, D.double(), reference, **encode_options)  # small: float64 throughout
    return (codes / scale[:, None]).to(x.dtype)
