"""Argument checks shared across course_gen: clear messages that say what was expected and what came."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable


def check_int(name: str, value, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as a Python int; ``TypeError`` if it is not an integer (bools are
    rejected), ``ValueError`` if it lies outside ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r})")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be an int <= {maximum}, got {value}")
    return value


def check_seed(seed) -> int:
    """Return ``seed`` as an int in ``[0, 2**63)`` (what ``torch.Generator.manual_seed`` takes)."""
    return check_int("seed", seed, minimum=0, maximum=2**63 - 1)


def check_bool(name: str, value) -> bool:
    """Return ``value`` if it is a bool; ``TypeError`` otherwise."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__} ({value!r})")
    return value


def check_choice(name: str, value, allowed: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``allowed``; ``ValueError`` listing them otherwise."""
    allowed = tuple(allowed)
    if not isinstance(value, str) or value not in allowed:
        options = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"unknown {name} {value!r}: expected one of {options}")
    return value


def check_positive_number(name: str, value) -> float:
    """Return ``value`` as a float if it is a finite number > 0; ``TypeError``/``ValueError`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a positive number, got {type(value).__name__} ({value!r})")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive finite number, got {value}")
    return float(value)


def check_nonnegative(name: str, value) -> float:
    """Return ``value`` as a float if it is a finite number >= 0; ``TypeError``/``ValueError`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number >= 0, got {type(value).__name__} ({value!r})")
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {float(value)}")
    return float(value)


def check_probability(name: str, value, include_one: bool = False) -> float:
    """Return ``value`` as a float if it lies in [0, 1) (or [0, 1] with ``include_one``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} ({value!r})")
    inside = 0 <= value <= 1 if include_one else 0 <= value < 1
    if not inside:
        raise ValueError(f"{name} must lie in {'[0, 1]' if include_one else '[0, 1)'}, got {value}")
    return float(value)


def check_finite_number(name: str, value) -> float:
    """Return ``value`` as a float if it is a finite real number; ``TypeError``/``ValueError`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} ({value!r})")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    return float(value)


_DTYPE_KINDS = {
    "float": (lambda t: t.is_floating_point(), "a floating-point tensor"),
    "integer": (lambda t: not t.is_floating_point() and not t.is_complex() and str(t.dtype) != "torch.bool", "an integer tensor"),
    "real": (lambda t: not t.is_complex(), "a real-valued tensor"),
}


def check_tensor(name: str, value, *, ndim: int | tuple[int, ...] | None = None, shape: tuple | None = None,
                 dtype: str | None = "real", finite: bool = True, low: float | None = None,
                 high: float | None = None, what: str = "") -> "torch.Tensor":
    """Return ``value`` if it is a tensor as described, else raise ``TypeError``/``ValueError`` saying
    what was expected and what came.

    ``ndim``: a number of dimensions or a tuple of allowed ones; ``shape``: a tuple whose ``None``
    entries match any size; ``dtype``: ``"float"``, ``"integer"``, ``"real"`` (not complex; the
    default) or ``None`` for any; ``finite``: no NaN or inf (floating tensors); ``low``/``high``:
    inclusive bounds on the values; ``what``: words for the messages, such as ``"of images (n, 1, H, W)"``.
    """
    import torch

    label = f"{name} {what}".strip()
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{label} must be a torch.Tensor, got {type(value).__name__}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if value.dim() not in allowed:
            wanted = " or ".join(str(n) for n in allowed)
            raise ValueError(f"{label} must have {wanted} dimensions, got shape {tuple(value.shape)}")
    if shape is not None:
        if value.dim() != len(shape) or any(s is not None and s != v for s, v in zip(shape, value.shape)):
            wanted = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"{label} must have shape {wanted}, got {tuple(value.shape)}")
    if dtype is not None:
        test, words = _DTYPE_KINDS[dtype]
        if not test(value):
            raise TypeError(f"{label} must be {words}, got {value.dtype}")
    if finite and value.is_floating_point():
        bad = ~torch.isfinite(value)
        if bool(bad.any()):
            raise ValueError(f"{label} contains NaN or inf ({int(bad.sum())} of {value.numel()} entries)")
    if (low is not None or high is not None) and value.numel():
        smallest, largest = float(value.min()), float(value.max())
        if (low is not None and smallest < low) or (high is not None and largest > high):
            bounds = f"[{-math.inf if low is None else low:g}, {math.inf if high is None else high:g}]"
            raise ValueError(f"{label} must lie in {bounds}, got values from {smallest:g} to {largest:g}")
    return value


def check_probabilities(name: str, value, dim: int = -1, atol: float = 1e-4) -> "torch.Tensor":
    """Return ``value`` if it is a finite tensor of probabilities (>= 0) summing to 1 along ``dim``."""
    value = check_tensor(name, value, dtype="float", low=0.0)
    totals = value.sum(dim=dim)
    if value.numel() and not bool(((totals - 1).abs() <= atol).all()):
        worst = float(totals.flatten()[(totals - 1).abs().flatten().argmax()])
        raise ValueError(f"{name} must sum to 1 along dimension {dim}, got a sum of {worst:.4g}")
    return value


def check_ordered_pair(low_name: str, low, high_name: str, high) -> tuple[float, float]:
    """Return ``(low, high)`` as floats if both are finite numbers with ``low < high`` (a colour
    range ``vmin``/``vmax``, an interval); ``TypeError``/``ValueError`` naming them otherwise."""
    low, high = check_finite_number(low_name, low), check_finite_number(high_name, high)
    if not low < high:
        raise ValueError(f"{low_name} must be below {high_name}, got {low_name}={low}, {high_name}={high}")
    return low, high
