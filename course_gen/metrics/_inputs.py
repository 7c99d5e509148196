"""Input checks shared by the metrics: features (n, d) as float64, numbers or tensors of them."""

from __future__ import annotations

import numbers

import numpy as np
import torch

from course_gen._checks import check_finite_number, check_tensor

__all__ = []

def _float64(x: torch.Tensor) -> torch.Tensor:
    """``x`` as float64 (a new tensor), on the CPU when its device has no float64 (MPS)."""
    if x.device.type == "mps":
        x = x.cpu()
    return x.to(torch.float64, copy=True)


def _as_tensor(name: str, value) -> torch.Tensor:
    if isinstance(value, np.ndarray):
        value = torch.from_numpy(value)
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor or a numpy array, got {type(value).__name__}")
    if value.dtype == torch.bool or value.is_complex():
        raise TypeError(f"{name} must hold real numbers, got dtype {value.dtype}")
    value = _float64(value)
    if not bool(torch.isfinite(value).all()):
        raise ValueError(f"{name} contains NaN or infinite values")
    return value


def _check_features(name: str, value, min_rows: int = 1) -> torch.Tensor:
    """``value`` as a float64 ``(n, d)`` tensor with ``n >= min_rows``; clear errors otherwise."""
    x = _as_tensor(name, value)
    if x.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array of shape (n, d), one row per image, got shape {tuple(x.shape)}")
    if x.shape[0] < min_rows or x.shape[1] < 1:
        raise ValueError(f"{name} needs at least {min_rows} rows and 1 column, got shape {tuple(x.shape)}")
    return x


def _check_pair(real, fake, min_rows: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    a = _check_features("features_real", real, min_rows)
    b = _check_features("features_fake", fake, min_rows)
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"features_real and features_fake must have the same feature size, got {a.shape[1]} and {b.shape[1]}"
        )
    return a, b.to(a.device)


def _number_or_tensor(name: str, value):
    """A finite number (as a float) or a finite real tensor (NumPy arrays become tensors)."""
    if isinstance(value, np.ndarray):
        value = torch.from_numpy(value)
    if isinstance(value, torch.Tensor):
        if value.dtype == torch.bool:
            raise TypeError(f"{name} must hold real numbers, got dtype {value.dtype}")
        return check_tensor(name, value, what="(a number or a tensor of them)")
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number or a tensor, got {type(value).__name__}")
    return check_finite_number(name, value)
