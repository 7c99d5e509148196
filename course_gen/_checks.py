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
