"""Sparse coding, dictionary learning and predictive sparse decomposition (notebook 01).

Conventions: a data matrix ``X`` is ``(n, d)``, one example per row; a dictionary ``D`` is
``(k, d)``, one atom ``phi_k`` per row; codes ``A`` are ``(n, k)``, so the reconstruction of
``X`` is ``A @ D`` (row ``n``: ``x_n ~ sum_k a_nk phi_k``).

The lecture's objective, with the conventional factor 1/2 on the reconstruction term
(it rescales lambda by 2 and changes nothing else):

    min over A, D   sum_n  1/2 ||x_n - a_n D||^2 + lam ||a_n||_1      with ||phi_k|| = 1

- :func:`sparse_encode` solves it over the codes with ``D`` fixed: one Lasso per row, all
  rows at once (FISTA on the ``k``-dimensional codes, finished by an exact solve on the
  support). It runs on any device.
- :func:`dictionary_update` solves it over the atoms with the codes fixed (block coordinate
  descent, each atom exactly minimised on the unit sphere).
- :func:`learn_dictionary` alternates the two (the lecture's alternating optimisation).
- :class:`PSDEncoder` amortises the encoding: a feed-forward ``g * tanh(W x + b)`` (or a
  learned shrinkage) trained to predict the optimised codes (predictive sparse decomposition).
- :func:`high_contrast` and :func:`whiten_patches` prepare natural-image patches;
  :func:`atom_statistics` (:func:`gabor_fit`, :func:`orientation_coherence`,
  :func:`spatial_concentration`) measures whether atoms are localised oriented edges.
- :func:`linear_probe_accuracy`: the same linear classifier on any features.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

import course_gen
from course_gen._checks import check_choice, check_int, check_nonnegative, check_positive_number, check_seed

__all__ = [
    "GABOR_PARAMETERS",
    "GABOR_R2_THRESHOLD",
    "NYQUIST_BAND",
    "PSDEncoder",
    "PSD_NONLINEARITIES",
    "Whitening",
    "atom_statistics",
    "code_formula",
    "dictionary_update",
    "gabor",
    "gabor_fit",
    "gabor_like",
    "high_contrast",
    "ista_step",
    "lasso_objective",
    "lasso_path",
    "learn_dictionary",
    "linear_probe_accuracy",
    "linear_probe_predictions",
    "lipschitz_constant",
    "orientation_coherence",
    "soft_threshold",
    "sparse_encode",
    "spatial_concentration",
    "whiten_patches",
]


# ----------------------------------------------------------------------------- checks


def _check_matrix(name: str, value, shape_hint: str) -> torch.Tensor:
    """``value`` if it is a 2-D floating tensor without NaN or inf; clear errors otherwise."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape {shape_hint}, got {type(value).__name__}")
    if not value.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor {shape_hint}, got dtype {value.dtype}")
    if value.ndim != 2:
        raise ValueError(f"{name} must be 2-D {shape_hint}, got shape {tuple(value.shape)}")
    if value.shape[0] == 0 or value.shape[1] == 0:
        raise ValueError(f"{name} must not be empty: expected {shape_hint}, got shape {tuple(value.shape)}")
    bad = ~torch.isfinite(value)
    if bool(bad.any()):
        row, col = (int(i) for i in bad.nonzero()[0])
        kind = "NaN" if bool(torch.isnan(value[row, col])) else "an infinite value"
        count = int(bad.sum())
        raise ValueError(f"{name} contains {kind} at row {row}, column {col} ({count} non-finite entries in all)")
    return value




def _check_data_and_dictionary(X, D) -> tuple[torch.Tensor, torch.Tensor]:
    X = _check_matrix("X", X, "(n, d): one example per row")
    D = _check_matrix("D", D, "(k, d): one atom per row")
    if X.shape[1] != D.shape[1]:
        raise ValueError(
            f"X and D must have the same number of columns d: X is {tuple(X.shape)} (n, d), "
            f"D is {tuple(D.shape)} (k, d)"
        )
    if X.device != D.device:
        raise ValueError(f"X and D must be on the same device, got X on {X.device} and D on {D.device}")
    return X, D


def _check_codes(codes, n: int, k: int) -> torch.Tensor:
    codes = _check_matrix("codes", codes, f"({n}, {k}): one code per example")
    if tuple(codes.shape) != (n, k):
        raise ValueError(f"codes must have shape (n, k) = ({n}, {k}), got {tuple(codes.shape)}")
    return codes


def _working_dtype(*tensors: torch.Tensor) -> torch.dtype:
    """float64 if any input is float64, else float32 (half precision is computed in float32)."""
    return torch.float64 if any(t.dtype == torch.float64 for t in tensors) else torch.float32


# ----------------------------------------------------------------------------- building blocks


def soft_threshold(z: torch.Tensor, threshold) -> torch.Tensor:
    """The proximal operator of ``threshold * |.|``: ``sign(z) * max(|z| - threshold, 0)``.

    ``threshold`` is a number >= 0 or a tensor broadcastable to ``z``. Entries with
    ``|z| <= threshold`` become exactly 0; the others move ``threshold`` towards 0.
    """
    return torch.sign(z) * torch.clamp(z.abs() - threshold, min=0)


def lipschitz_constant(D: torch.Tensor) -> float:
    """``L = largest eigenvalue of D D^T``: the Lipschitz constant of the gradient
    ``(a D - x) D^T`` of ``1/2 ||x - a D||^2`` with respect to the code ``a``."""
    D = _check_matrix("D", D, "(k, d): one atom per row")
    gram = (D.double() @ D.double().T).cpu()
    return float(torch.linalg.eigvalsh(gram)[-1])


def lasso_objective(X: torch.Tensor, D: torch.Tensor, codes: torch.Tensor, lam, reduction: str = "sum"):
    """``1/2 ||x_n - a_n D||^2 + lam ||a_n||_1`` per row, computed in float64.

    ``reduction``: ``"sum"`` (a float, the sum over rows), ``"mean"`` (a float, divided by n)
    or ``"none"`` (a float64 tensor ``(n,)``).
    """
    X, D = _check_data_and_dictionary(X, D)
    codes = _check_codes(codes, X.shape[0], D.shape[0])
    lam = check_nonnegative("lam", lam)
    check_choice("reduction", reduction, ("sum", "mean", "none"))
    per_row = _row_objective(X.double(), D.double(), codes.double(), lam)
    if reduction == "none":
        return per_row
    total = float(per_row.sum())
    return total / X.shape[0] if reduction == "mean" else total


def _row_objective(X, D, codes, lam) -> torch.Tensor:
    residual = X - codes @ D
    return 0.5 * (residual**2).sum(1) + lam * codes.abs().sum(1)


def ista_step(codes: torch.Tensor, X: torch.Tensor, D: torch.Tensor, lam, step: float | None = None) -> torch.Tensor:
    """One proximal-gradient (ISTA) step on the codes of every row:

        a  <-  soft_threshold(a + step * (x - a D) D^T,  lam * step)

    with ``step = 1 / L`` (:func:`lipschitz_constant`) unless given. The threshold is
    ``lam * step``, not ``lam``: the gradient step is scaled by ``step`` and so is the penalty.
    """
    X, D = _check_data_and_dictionary(X, D)
    codes = _check_codes(codes, X.shape[0], D.shape[0])
    lam = check_nonnegative("lam", lam)
    step = 1.0 / lipschitz_constant(D) if step is None else check_positive_number("step", step)
    return soft_threshold(codes + step * (X - codes @ D) @ D.T, lam * step)


# ----------------------------------------------------------------------------- sparse_encode

@contextlib.contextmanager
def _one_cpu_thread(device: torch.device):
    """Run the block with one torch thread when computing on the CPU (restored afterwards).

    Dictionary learning takes many small steps: extra threads gain nothing there (measured
    on 2 idle cores: 4.9 s with 1 or 2 threads), and on a machine shared with other
    processes their synchronisation costs a lot (one core busy elsewhere: 16 s with 2
    threads, 9.5 s with 1).
    """
    if device.type != "cpu":
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


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
    a dictionary); zeros otherwise. ``max_iter`` bounds the FISTA iterations; rows still
    running then return their last iterate.

    Raises ``TypeError``/``ValueError`` for non-tensors, wrong shapes, mismatched ``d`` or
    devices, NaN or infinite entries (naming row and column), or ``lam`` < 0.
    """
    X, D = _check_data_and_dictionary(X, D)
    lam = check_nonnegative("lam", lam)
    max_iter = check_int("max_iter", max_iter, minimum=1)
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
    if not isinstance(x, torch.Tensor) or x.ndim != 1:
        got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"x must be one example, a 1-D tensor (d,), got {got}")
    lam_values = torch.as_tensor(lams, dtype=torch.float64).flatten()
    if len(lam_values) == 0 or not bool((lam_values > 0).all()) or not bool(torch.isfinite(lam_values).all()):
        raise ValueError(f"lams must be a non-empty list of finite numbers > 0, got {lams!r}")
    reference = float(lam_values.max())
    scale = (reference / lam_values).to(device=x.device)
    rows = x.double()[None, :] * scale[:, None]
    codes = sparse_encode(rows, D.double(), reference, **encode_options)  # small: float64 throughout
    return (codes / scale[:, None]).to(x.dtype)


def code_formula(code: torch.Tensor, n_terms: int = 4) -> str:
    """A code written as the lecture writes it, largest coefficients first (atoms numbered
    from 0): ``x ~ 0.81*phi_36 - 0.33*phi_42 + 0.12*phi_7 + ... (5 more)``."""
    if not isinstance(code, torch.Tensor) or code.ndim != 1:
        got = tuple(code.shape) if isinstance(code, torch.Tensor) else type(code).__name__
        raise ValueError(f"code must be one code, a 1-D tensor (k,), got {got}")
    n_terms = check_int("n_terms", n_terms, minimum=1)
    values = code.detach().double().cpu()
    order = [int(i) for i in torch.argsort(values.abs(), descending=True, stable=True) if values[i] != 0]
    if not order:
        return "x ~ 0   (every coefficient is zero)"
    terms = []
    for rank, index in enumerate(order[:n_terms]):
        value = float(values[index])
        sign = ("-" if value < 0 else "") if rank == 0 else ("- " if value < 0 else "+ ")
        terms.append(f"{sign}{abs(value):.2f}*phi_{index}")
    rest = len(order) - n_terms
    return "x ~ " + " ".join(terms) + (f" + ... ({rest} more)" if rest > 0 else "")


# ----------------------------------------------------------------------------- dictionary learning


def _unit_rows(D: torch.Tensor) -> torch.Tensor:
    return D / D.norm(dim=1, keepdim=True).clamp_min(torch.finfo(D.dtype).tiny)


def dictionary_update(
    X: torch.Tensor, codes: torch.Tensor, D: torch.Tensor, n_sweeps: int = 1
) -> torch.Tensor:
    """The dictionary step of the alternating optimisation: codes fixed, atoms unit norm.

    Block coordinate descent over the atoms (as in Mairal et al., 2010). With
    ``C = A^T A`` and ``E = A^T X``, the objective as a function of atom ``j`` alone is
    ``1/2 C_jj ||phi_j||^2 - phi_j . r_j`` (+ const) with ``r_j = E_j - sum_{l != j} C_jl phi_l``.
    On the unit sphere the first term is constant, so the exact minimiser is

        phi_j  <-  r_j / ||r_j||,     r_j = E_j - C_j D + C_jj phi_j

    and no sweep can increase the objective. An atom that no code uses (``C_jj = 0``) does
    not affect the objective; it is re-initialised to the worst-reconstructed example
    (normalised), so that the next code step can use it. Returns a new ``(k, d)`` tensor.
    """
    X, D = _check_data_and_dictionary(X, D)
    codes = _check_codes(codes, X.shape[0], D.shape[0])
    n_sweeps = check_int("n_sweeps", n_sweeps, minimum=1)
    dtype = _working_dtype(X, D, codes)
    Xw, A, D = X.to(dtype), codes.to(dtype), D.to(dtype).clone()
    code_gram, code_data = A.T @ A, A.T @ Xw
    used = torch.diagonal(code_gram) > 0
    for _ in range(n_sweeps):
        for j in used.nonzero().squeeze(1).tolist():
            r = code_data[j] - code_gram[j] @ D + code_gram[j, j] * D[j]
            norm = r.norm()
            if norm > 0:
                D[j] = r / norm
    unused = (~used).nonzero().squeeze(1)
    if len(unused):
        residual = ((Xw - A @ D) ** 2).sum(1)
        worst = torch.argsort(residual, descending=True)[: len(unused)]
        replacement = _unit_rows(Xw[worst])
        D[unused[: len(worst)]] = replacement
    return _unit_rows(D)


def learn_dictionary(
    X: torch.Tensor,
    n_atoms: int,
    lam,
    n_iter: int = 30,
    seed: int = 0,
    device=None,
    init: torch.Tensor | None = None,
    encode_tol: float = 1e-4,
    n_sweeps: int = 1,
) -> tuple[torch.Tensor, list[float]]:
    """Learn a dictionary of ``n_atoms`` unit-norm atoms for the rows of ``X`` ``(n, d)``:

        min over A, D   1/n sum_n [ 1/2 ||x_n - a_n D||^2 + lam ||a_n||_1 ],   ||phi_k|| = 1

    by the lecture's alternating optimisation, ``n_iter`` times:

    1. codes: :func:`sparse_encode` (``tol=encode_tol``), warm-started from the previous
       codes; a row keeps its previous code if the new one is not better, so this step
       never increases the objective;
    2. dictionary: :func:`dictionary_update` (``n_sweeps`` exact atom-by-atom sweeps).

    ``init``: starting atoms ``(n_atoms, d)`` (normalised); otherwise ``n_atoms`` distinct
    non-zero rows of ``X`` drawn with ``seed``. ``device``: where to compute (None:
    :func:`course_gen.device`); the atoms come back on ``X``'s device, in its dtype. On the
    CPU the loop runs with one torch thread (its steps are small; see :func:`_one_cpu_thread`).

    Returns ``(D, history)``: ``D`` ``(n_atoms, d)`` and ``history[i]`` the objective above
    after iteration ``i + 1`` (non-increasing).
    """
    X = _check_matrix("X", X, "(n, d): one example per row")
    n_atoms = check_int("n_atoms", n_atoms, minimum=1)
    lam = check_nonnegative("lam", lam)
    n_iter = check_int("n_iter", n_iter, minimum=1)
    seed = check_seed(seed)
    encode_tol = check_positive_number("encode_tol", encode_tol)
    target = course_gen.device(None if device is None else str(device))
    dtype = _working_dtype(X)
    data = X.to(device=target, dtype=dtype)
    if init is None:
        candidates = (X.norm(dim=1) > 0).nonzero().squeeze(1).cpu()  # an all-zero row has no direction
        if n_atoms > len(candidates):
            raise ValueError(
                f"n_atoms ({n_atoms}) must be <= the number of non-zero rows of X ({len(candidates)}) without init"
            )
        generator = torch.Generator().manual_seed(seed)
        picks = candidates[torch.randperm(len(candidates), generator=generator)[:n_atoms]]
        D = data[picks.to(target)]  # advanced indexing copies: the data stay untouched
    else:
        D = _check_matrix("init", init, f"({n_atoms}, {X.shape[1]}): the starting atoms")
        if tuple(D.shape) != (n_atoms, X.shape[1]):
            raise ValueError(f"init must have shape (n_atoms, d) = ({n_atoms}, {X.shape[1]}), got {tuple(D.shape)}")
        D = D.to(device=target, dtype=dtype)
    if bool((D.norm(dim=1) == 0).any()):
        raise ValueError("the starting atoms include a zero vector: every atom needs a direction")
    D = _unit_rows(D)

    with _one_cpu_thread(target):
        D, history = _alternate(data, D, lam, n_iter, encode_tol, n_sweeps)
    return D.to(device=X.device, dtype=X.dtype), history


def _alternate(data, D, lam: float, n_iter: int, encode_tol: float, n_sweeps: int) -> tuple[torch.Tensor, list[float]]:
    """The loop of :func:`learn_dictionary`: codes (never worse than before), then atoms."""
    codes = torch.zeros(data.shape[0], D.shape[0], dtype=data.dtype, device=data.device)
    previous = _row_objective(data.double(), D.double(), codes.double(), lam)
    history = []
    for _ in range(n_iter):
        new_codes = sparse_encode(data, D, lam, tol=encode_tol, init=codes)
        objective = _row_objective(data.double(), D.double(), new_codes.double(), lam)
        codes = torch.where((objective < previous)[:, None], new_codes, codes)
        D = dictionary_update(data, codes, D, n_sweeps=n_sweeps)
        previous = _row_objective(data.double(), D.double(), codes.double(), lam)
        history.append(float(previous.mean()))
    return D, history


# ----------------------------------------------------------------------------- predictive sparse decomposition

#: Encoder nonlinearities :class:`PSDEncoder` accepts.
PSD_NONLINEARITIES = ("tanh", "shrink")


class PSDEncoder(nn.Module):
    """The encoder of predictive sparse decomposition: a feed-forward guess of the sparse code.

    The lecture writes the PSD objective as

        min over D, W, z   ||z D - x||^2 + lam ||z||_1  +  ||sigma(W x) - z||^2

    (decoder term + encoder term). Here the dictionary ``D`` is already learned and the
    codes ``z`` are the optimised ones from :func:`sparse_encode`, so only the encoder term
    is trained: ``loss(batch)`` is ``mean over the batch of ||encoder(x) - z||^2``.
    Encoding a new patch then costs one matrix product instead of an iterative solve
    (amortised inference).

    ``nonlinearity``:

    - ``"tanh"`` (default): ``z_hat = g * tanh(W x + b)`` with a learned gain ``g`` per atom,
      the form of Kavukcuoglu, Ranzato and LeCun's PSD. A sigmoid would give codes in (0, 1),
      but Lasso codes are signed; tanh is the signed sigmoid, and ``g`` sets the scale.
      Codes are small but never exactly zero.
    - ``"shrink"``: ``z_hat = soft_threshold(W x + b, theta)`` with a learned threshold
      ``theta >= 0`` per atom: one ISTA-like step, so codes have exact zeros, like the targets.

    ``dictionary`` (optional, ``(n_atoms, n_inputs)``): start ``W`` at ``D / L`` and ``theta``
    at ``lam / L`` (one ISTA step from ``a = 0``) instead of a random ``W``.
    """

    def __init__(
        self,
        n_inputs: int,
        n_atoms: int,
        nonlinearity: str = "tanh",
        dictionary: torch.Tensor | None = None,
        lam: float = 0.0,
    ):
        super().__init__()
        self.n_inputs = check_int("n_inputs", n_inputs, minimum=1)
        self.n_atoms = check_int("n_atoms", n_atoms, minimum=1)
        self.nonlinearity = check_choice("nonlinearity", nonlinearity, PSD_NONLINEARITIES)
        lam = check_nonnegative("lam", lam)
        self.linear = nn.Linear(n_inputs, n_atoms)
        self.gain = nn.Parameter(torch.ones(n_atoms))
        self.raw_threshold = nn.Parameter(torch.zeros(n_atoms))
        if dictionary is not None:
            D = _check_matrix("dictionary", dictionary, f"({n_atoms}, {n_inputs}): one atom per row")
            if tuple(D.shape) != (n_atoms, n_inputs):
                raise ValueError(f"dictionary must have shape ({n_atoms}, {n_inputs}), got {tuple(D.shape)}")
            step = 1.0 / lipschitz_constant(D)
            with torch.no_grad():
                self.linear.weight.copy_(D.float() * step)
                self.linear.bias.zero_()
                self.raw_threshold.fill_(lam * step)

    @property
    def threshold(self) -> torch.Tensor:
        """The shrink threshold per atom, ``|raw_threshold|`` (so it stays >= 0)."""
        return self.raw_threshold.abs()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Codes ``(B, n_atoms)`` for patches ``x`` ``(B, n_inputs)``."""
        if not isinstance(x, torch.Tensor) or x.ndim != 2 or x.shape[1] != self.n_inputs:
            got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"PSDEncoder expects patches of shape (B, {self.n_inputs}), got {got}")
        pre_activation = self.linear(x.to(self.linear.weight.dtype))
        if self.nonlinearity == "tanh":
            return self.gain * torch.tanh(pre_activation)
        return soft_threshold(pre_activation, self.threshold)

    def loss(self, batch) -> dict[str, torch.Tensor]:
        """``batch = (x, z)``: patches and their optimised codes. Returns ``{"loss": mean
        over the batch of ||forward(x) - z||^2, "active": mean fraction of non-zero codes}``."""
        if not isinstance(batch, (tuple, list)) or len(batch) != 2:
            raise TypeError("PSDEncoder.loss expects a batch (x, target_codes), e.g. train(model, (X, codes), ...)")
        x, target = batch
        if target.ndim != 2 or target.shape[1] != self.n_atoms:
            raise ValueError(f"target codes must have shape (B, {self.n_atoms}), got {tuple(target.shape)}")
        predicted = self(x)
        loss = ((predicted - target.to(predicted.dtype)) ** 2).sum(1).mean()
        return {"loss": loss, "active": (predicted != 0).float().mean().detach()}


# ----------------------------------------------------------------------------- patches and atoms


def high_contrast(X: torch.Tensor, fraction: float = 0.5) -> torch.Tensor:
    """The rows of ``X`` whose standard deviation (contrast) is among the top ``fraction``,
    in their original order. Natural photographs have large flat areas (sky, dark
    background); their patches hold only noise and teach a dictionary nothing."""
    X = _check_matrix("X", X, "(n, d): one flattened patch per row")
    fraction = check_positive_number("fraction", fraction)
    if fraction > 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    n_keep = max(1, round(fraction * X.shape[0]))
    keep = torch.argsort(X.std(1), descending=True, stable=True)[:n_keep]
    return X[torch.sort(keep).values]


@dataclass
class Whitening:
    """Whitening of mean-removed patches, learned by :func:`whiten_patches`:
    ``transform(X) = (X - rowmean(X)) @ matrix``."""

    matrix: torch.Tensor

    def transform(self, X: torch.Tensor) -> torch.Tensor:
        X = _check_matrix("X", X, f"(n, {len(self.matrix)}): one flattened patch per row")
        if X.shape[1] != len(self.matrix):
            raise ValueError(f"X must have {len(self.matrix)} columns (the patches whitening was fit on), got {X.shape[1]}")
        centred = X - X.mean(1, keepdim=True)
        return (centred.to(self.matrix) @ self.matrix).to(device=X.device, dtype=X.dtype)


def whiten_patches(X: torch.Tensor, eps: float = 0.05) -> tuple[torch.Tensor, Whitening]:
    """Remove each patch's mean (its DC), then whiten with a roll-off; returns
    ``(whitened X, Whitening)`` (the latter applies the same map to new patches).

    Natural images put most of their variance in low spatial frequencies, so a dictionary
    fit to raw patches spends its atoms on smooth gradients. With the eigen-decomposition
    ``sum_i e_i v_i v_i^T`` of the patches' covariance, each principal direction is scaled by

        gain(e) = sqrt(e) / (e + eps * max(e))

    so a direction of variance ``e`` ends with variance ``e^2 / (e + eps max(e))^2``: about
    1 (whitened) for the strongest directions, down to ``(e / (eps max(e)))^2`` for the weakest,
    mostly pixel noise and JPEG artefacts. The spectrum comes out much flatter than the
    raw ``1/f^2`` one, without blowing up the noise: Olshausen and Field's whitening with
    a low-pass roll-off, in the patches' principal directions. The result is scaled so
    that the whitened patches' mean squared norm is 1.
    """
    X = _check_matrix("X", X, "(n, d): one flattened patch per row")
    eps = check_positive_number("eps", eps)
    centred = (X - X.mean(1, keepdim=True)).double()
    covariance = centred.T @ centred / len(centred)
    eigenvalues, vectors = torch.linalg.eigh(covariance)
    eigenvalues = eigenvalues.clamp_min(0)
    gain = eigenvalues.sqrt() / (eigenvalues + eps * eigenvalues.max()).clamp_min(torch.finfo(torch.float64).tiny)
    matrix = vectors @ torch.diag(gain) @ vectors.T
    matrix = matrix / ((centred @ matrix) ** 2).sum(1).mean().sqrt().clamp_min(torch.finfo(torch.float64).tiny)
    whitening = Whitening(matrix=matrix.to(X.device))
    return whitening.transform(X), whitening


def _atom_image(atom) -> np.ndarray:
    values = atom.detach().cpu().double().numpy() if isinstance(atom, torch.Tensor) else np.asarray(atom, float)
    if values.ndim == 1:
        side = math.isqrt(values.size)
        if side * side != values.size:
            raise ValueError(f"a flat atom must have a square number of entries, got {values.size}")
        values = values.reshape(side, side)
    if values.ndim != 2:
        raise ValueError(f"an atom must be a square image (h, w) or its flattening, got shape {values.shape}")
    return values


def orientation_coherence(atom) -> float:
    """How strongly an atom prefers one orientation, from its gradient structure tensor.

    With ``J = sum over pixels of [gx^2, gx gy; gx gy, gy^2]`` (central differences) and
    eigenvalues ``l1 >= l2``: ``(l1 - l2) / (l1 + l2)``, 1 for a straight edge or grating,
    0 for a pattern with no preferred orientation (noise, a blob, a checkerboard).
    """
    image = _atom_image(atom)
    gy, gx = np.gradient(image)
    jxx, jyy, jxy = (gx * gx).sum(), (gy * gy).sum(), (gx * gy).sum()
    trace = jxx + jyy
    if trace <= 0:
        return 0.0
    return float(math.sqrt((jxx - jyy) ** 2 + 4 * jxy**2) / trace)


def spatial_concentration(atom, window: int = 4) -> float:
    """The largest fraction of an atom's energy (sum of squares) inside one ``window x window``
    square: 1 when it all sits in one spot, ``window^2 / (h w)`` when it is spread evenly."""
    image = _atom_image(atom)
    energy = image**2
    total = energy.sum()
    if total <= 0:
        return 0.0
    padded = np.pad(np.cumsum(np.cumsum(energy, 0), 1), ((1, 0), (1, 0)))
    w = check_int("window", window, minimum=1, maximum=min(image.shape))
    boxes = padded[w:, w:] - padded[:-w, w:] - padded[w:, :-w] + padded[:-w, :-w]
    return float(boxes.max() / total)


def _gabor_terms(shape, amplitude, x0, y0, theta, frequency, phase, sigma_x, sigma_y):
    y, x = np.mgrid[0:shape[0], 0:shape[1]].astype(float)
    cos_t, sin_t = np.cos(theta), np.sin(theta)
    u = (x - x0) * cos_t + (y - y0) * sin_t
    v = -(x - x0) * sin_t + (y - y0) * cos_t
    envelope = np.exp(-(u**2) / (2 * sigma_x**2) - v**2 / (2 * sigma_y**2))
    carrier = 2 * np.pi * frequency * u + phase
    return u, v, cos_t, sin_t, envelope, np.cos(carrier), np.sin(carrier)


def gabor(shape: tuple[int, int], amplitude, x0, y0, theta, frequency, phase, sigma_x, sigma_y) -> np.ndarray:
    """A Gabor function on a pixel grid: a plane wave under a Gaussian envelope,

        g(x, y) = amplitude * exp(-u^2 / (2 sigma_x^2) - v^2 / (2 sigma_y^2)) * cos(2 pi frequency u + phase)

    with ``u = (x - x0) cos(theta) + (y - y0) sin(theta)`` (across the stripes) and
    ``v = -(x - x0) sin(theta) + (y - y0) cos(theta)`` (along them); ``x`` is the column.
    """
    _, _, _, _, envelope, cos_c, _ = _gabor_terms(shape, amplitude, x0, y0, theta, frequency, phase, sigma_x, sigma_y)
    return amplitude * envelope * cos_c


def _gabor_jacobian(shape, amplitude, x0, y0, theta, frequency, phase, sigma_x, sigma_y) -> np.ndarray:
    """d gabor / d parameters, ``(h * w, 8)`` in :data:`GABOR_PARAMETERS` order."""
    u, v, cos_t, sin_t, envelope, cos_c, sin_c = _gabor_terms(
        shape, amplitude, x0, y0, theta, frequency, phase, sigma_x, sigma_y
    )
    ae = amplitude * envelope
    d_u = ae * (-u / sigma_x**2 * cos_c - 2 * np.pi * frequency * sin_c)  # dg/du
    d_v = ae * cos_c * (-v / sigma_y**2)  # dg/dv
    columns = [
        envelope * cos_c,  # amplitude
        -cos_t * d_u + sin_t * d_v,  # x0
        -sin_t * d_u - cos_t * d_v,  # y0
        v * d_u - u * d_v,  # theta: du/dtheta = v, dv/dtheta = -u
        -ae * sin_c * 2 * np.pi * u,  # frequency
        -ae * sin_c,  # phase
        ae * cos_c * u**2 / sigma_x**3,  # sigma_x
        ae * cos_c * v**2 / sigma_y**3,  # sigma_y
    ]
    return np.stack([c.ravel() for c in columns], axis=1)


#: Parameter names of :func:`gabor` after the shape, in order (the fit returns them so).
GABOR_PARAMETERS = ("amplitude", "x0", "y0", "theta", "frequency", "phase", "sigma_x", "sigma_y")


def _gabor_starts(image: np.ndarray) -> list[np.ndarray]:
    """Initial guesses: orientation and frequency from the peak of the zero-padded power
    spectrum, centre from the energy centroid, two phases (cosine and sine)."""
    h, w = image.shape
    size = 32
    spectrum = np.abs(np.fft.fft2(image, s=(size, size))) ** 2
    spectrum[0, 0] = 0
    ky, kx = np.unravel_index(np.argmax(spectrum), spectrum.shape)
    fy = (ky if ky < size // 2 else ky - size) / size
    fx = (kx if kx < size // 2 else kx - size) / size
    frequency, theta = float(np.hypot(fx, fy)), float(np.arctan2(fy, fx))
    energy = image**2
    y, x = np.mgrid[0:h, 0:w]
    x0, y0 = float((energy * x).sum() / energy.sum()), float((energy * y).sum() / energy.sum())
    amplitude = float(np.abs(image).max())
    return [
        np.array([amplitude, x0, y0, theta, frequency, phase, 2.0, 2.0])
        for phase in (0.0, np.pi / 2)
    ]


def gabor_fit(atom) -> tuple[dict[str, float], float]:
    """Least-squares fit of a :func:`gabor` to an atom (a square image or its flattening).

    Returns ``(parameters, r2)``: the fitted parameters by name and the fraction of the
    atom's variance the Gabor explains, ``r2 = 1 - ||atom - gabor||^2 / ||atom - mean||^2``.
    Edge-like atoms of a sparse code of natural images typically reach ``r2 > 0.8``;
    noise does not. Uses ``scipy.optimize.least_squares`` from two starting points.
    """
    from scipy.optimize import least_squares  # imported here: keeps `import course_gen.sparse_coding` light

    image = _atom_image(atom)
    h, w = image.shape
    total = float(((image - image.mean()) ** 2).sum())
    if total <= 0:
        return dict(zip(GABOR_PARAMETERS, [0.0] * len(GABOR_PARAMETERS))), 0.0
    lower = [-np.inf, -2.0, -2.0, -np.inf, 0.0, -np.inf, 0.5, 0.5]
    upper = [np.inf, w + 1.0, h + 1.0, np.inf, 0.5, np.inf, 2.0 * max(h, w), 2.0 * max(h, w)]

    def residual(p):
        return (gabor(image.shape, *p) - image).ravel()

    best = None
    for start in _gabor_starts(image):
        start = np.clip(start, np.array(lower) + 1e-9, np.array(upper) - 1e-9)
        fit = least_squares(
            residual, start, jac=lambda p: _gabor_jacobian(image.shape, *p), bounds=(lower, upper), max_nfev=100
        )
        if best is None or fit.cost < best.cost:
            best = fit
    r2 = 1.0 - 2.0 * float(best.cost) / total
    return dict(zip(GABOR_PARAMETERS, (float(v) for v in best.x))), r2


#: An atom counts as Gabor-like (a localised, oriented edge or bar) when a Gabor explains
#: at least this fraction of its variance (see :func:`gabor_fit`) ...
GABOR_R2_THRESHOLD = 0.7
#: ... at a frequency below the Nyquist band, in cycles per pixel. The Nyquist frequency is 0.5: a
#: stripe one pixel wide, a checkerboard. From 0.45 up, a fitted "Gabor" is a pixel-scale alternation
#: (the fit's upper bound is 0.5), not an edge.
NYQUIST_BAND = 0.45


def gabor_like(stats: dict[str, np.ndarray]) -> np.ndarray:
    """Which atoms of :func:`atom_statistics` are Gabor-like: ``gabor_r2 >= GABOR_R2_THRESHOLD`` and
    ``frequency < NYQUIST_BAND`` (a boolean array)."""
    if not isinstance(stats, dict) or not {"gabor_r2", "frequency"} <= set(stats):
        raise TypeError("stats must be the dict of atom_statistics(D), with 'gabor_r2' and 'frequency'")
    return (np.asarray(stats["gabor_r2"]) >= GABOR_R2_THRESHOLD) & (np.asarray(stats["frequency"]) < NYQUIST_BAND)


def atom_statistics(D: torch.Tensor) -> dict[str, np.ndarray]:
    """Per atom (rows of ``D``, square images flattened): ``"gabor_r2"`` (:func:`gabor_fit`),
    the fitted centre ``"x0"``, ``"y0"`` (column, row), ``"theta"`` (direction across the
    stripes, in [0, pi)), ``"frequency"`` (cycles per pixel) and envelope ``"sigma_x"``,
    ``"sigma_y"``, ``"coherence"`` (:func:`orientation_coherence`) and ``"concentration"``
    (:func:`spatial_concentration`), each an array of length ``k``."""
    D = _check_matrix("D", D, "(k, d): one flattened square atom per row")
    fits = [gabor_fit(atom) for atom in D]
    stats = {"gabor_r2": np.array([r2 for _, r2 in fits])}
    for name in ("x0", "y0", "theta", "frequency", "sigma_x", "sigma_y"):
        stats[name] = np.array([params[name] for params, _ in fits])
    stats["theta"] = np.mod(stats["theta"], np.pi)  # an orientation: theta and theta + pi are the same
    stats["coherence"] = np.array([orientation_coherence(atom) for atom in D])
    stats["concentration"] = np.array([spatial_concentration(atom) for atom in D])
    return stats


def linear_probe_predictions(train_features, train_labels, test_features, C: float = 1.0) -> np.ndarray:
    """The test predictions of the same linear classifier on any features: features standardised,
    then multinomial logistic regression (scikit-learn, ``C`` the inverse L2 strength)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def as_numpy(values):
        return values.detach().cpu().double().numpy() if isinstance(values, torch.Tensor) else np.asarray(values)

    classifier = make_pipeline(StandardScaler(), LogisticRegression(C=check_positive_number("C", C), max_iter=5000))
    classifier.fit(as_numpy(train_features), as_numpy(train_labels))
    return classifier.predict(as_numpy(test_features))


def linear_probe_accuracy(train_features, train_labels, test_features, test_labels, C: float = 1.0) -> float:
    """Test accuracy of :func:`linear_probe_predictions`."""
    predictions = linear_probe_predictions(train_features, train_labels, test_features, C)
    test_labels = test_labels.cpu().numpy() if isinstance(test_labels, torch.Tensor) else np.asarray(test_labels)
    return float(np.mean(predictions == test_labels))
