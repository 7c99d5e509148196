"""The Lasso objective of sparse coding and its pieces: the soft threshold (the proximal step of
the L1 penalty), the Lipschitz constant of the gradient, one ISTA step, and a code written out."""

from __future__ import annotations

import math

import torch

from course_gen._checks import check_choice, check_int, check_nonnegative, check_positive_number, check_tensor
from course_gen.sparse_coding._inputs import _check_codes, _check_data_and_dictionary, _check_matrix


def soft_threshold(z: torch.Tensor, threshold) -> torch.Tensor:
    """The proximal operator of ``threshold * |.|``: ``sign(z) * max(|z| - threshold, 0)``.

    ``threshold`` is a number >= 0 or a tensor of them broadcastable to ``z`` (a negative one would
    grow the values: ``ValueError``). Entries with ``|z| <= threshold`` become exactly 0; the others
    move ``threshold`` towards 0.
    """
    check_tensor("z", z)
    if isinstance(threshold, torch.Tensor):
        check_tensor("threshold", threshold, low=0.0, high=math.inf)  # an explicit high: check_tensor formats both bounds
        if not _broadcasts_to(threshold, z.shape):
            raise ValueError(f"threshold {tuple(threshold.shape)} must broadcast to z's shape {tuple(z.shape)}")
    else:
        threshold = check_nonnegative("threshold", threshold)
    return torch.sign(z) * torch.clamp(z.abs() - threshold, min=0)


def _broadcasts_to(tensor: torch.Tensor, shape: torch.Size) -> bool:
    try:
        return torch.broadcast_shapes(tensor.shape, shape) == shape
    except RuntimeError:
        return False


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


def code_formula(code: torch.Tensor, n_terms: int = 4) -> str:
    """A code written as the lecture writes it, largest coefficients first (atoms numbered
    from 0): ``x ~ 0.81*phi_36 - 0.33*phi_42 + 0.12*phi_7 + ... (5 more)``."""
    check_tensor("code", code, what="(one code, a 1-D tensor (k,))")
    if code.ndim != 1:
        raise ValueError(f"code must be one code, a 1-D tensor (k,), got {tuple(code.shape)}")
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
