"""Checks of sparse coding's inputs: data ``X`` ``(n, d)``, dictionaries ``D`` ``(k, d)``, codes ``(n, k)``."""

from __future__ import annotations

import torch

from course_gen._checks import check_tensor

#: The most iterations, sweeps or alternations any solver here runs (a bound that keeps a typo from
#: running for ever; the defaults are in the tens to thousands).
MAX_ITERATIONS = 10**6


def _check_matrix(name: str, value, shape_hint: str) -> torch.Tensor:
    """``value`` if it is a 2-D floating tensor without NaN or inf; clear errors otherwise."""
    check_tensor(name, value, dtype="float", finite=False)
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
