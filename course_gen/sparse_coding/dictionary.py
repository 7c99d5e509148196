"""Dictionary learning: the atom update (codes fixed) and the lecture's alternating optimisation."""

from __future__ import annotations


import torch

from course_gen._checks import check_int, check_nonnegative, check_positive_number, check_seed
from course_gen.runtime import resolve_device, single_thread
from course_gen.sparse_coding._inputs import (
    MAX_ITERATIONS,
    _check_codes,
    _check_data_and_dictionary,
    _check_matrix,
    _working_dtype,
)
from course_gen.sparse_coding.encode import sparse_encode
from course_gen.sparse_coding.objective import _row_objective


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
    n_sweeps = check_int("n_sweeps", n_sweeps, minimum=1, maximum=MAX_ITERATIONS)
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
    CPU the loop runs with one torch thread (its steps are small; see :func:`course_gen.runtime.single_thread`).

    Returns ``(D, history)``: ``D`` ``(n_atoms, d)`` and ``history[i]`` the objective above
    after iteration ``i + 1`` (non-increasing).
    """
    X = _check_matrix("X", X, "(n, d): one example per row")
    n_atoms = check_int("n_atoms", n_atoms, minimum=1)
    lam = check_nonnegative("lam", lam)
    n_iter = check_int("n_iter", n_iter, minimum=1, maximum=MAX_ITERATIONS)
    n_sweeps = check_int("n_sweeps", n_sweeps, minimum=1, maximum=MAX_ITERATIONS)
    seed = check_seed(seed)
    encode_tol = check_positive_number("encode_tol", encode_tol)
    target = resolve_device(device)
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

    with single_thread(target):
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
