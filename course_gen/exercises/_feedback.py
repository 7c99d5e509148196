"""The checker framework: run a student's function, turn what went wrong into a sentence.

Every checker of every notebook is built from the pieces here:

- :func:`run_checks` runs the checks and turns the outcome into a :class:`Feedback` (never raises);
- :func:`answer` wraps the student's function: it must be callable, and a call that reaches the
  package's own implementation of the exercise (or the checker's reference) is a :class:`Mistake`;
- :func:`as_number`, :func:`expect_number`, :func:`expect_close`, :func:`matches` and
  :func:`first_mistake` compare what came back with the right answer and the known wrong ones.
  NaN and inf are never "close" to anything: a function that returns NaN is told so.
- :func:`check_choice` and :func:`check_value` grade the conceptual questions (a letter, a number).

How delegation is caught: while the student's function runs, a profiler (``sys.setprofile``)
watches every Python and C function call; calling one of the forbidden functions, directly, through
an alias, a wrapper or a ``functools.partial``, marks the answer as delegated. The package keeps
its own implementations (the notebooks use them) but they earn no points in an answer.
"""

from __future__ import annotations

import functools
import math
import numbers
import sys
from dataclasses import dataclass
from typing import Callable, Iterable

import torch

NOT_ATTEMPTED = "not attempted yet: replace `raise NotImplementedError()` with your code"


class Mistake(Exception):
    """Raised inside a checker with a message that names the student's mistake."""


@dataclass(frozen=True)
class Feedback:
    """The outcome of a checker: ``passed`` and a message; shows as one line in a notebook."""

    exercise: str
    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        # Heavy check mark and ballot X: in every common font (no emoji font needed).
        mark = "\u2714" if self.passed else "\u2718"
        return f"{mark} {self.exercise}: {self.message}"

    def __repr__(self) -> str:
        return str(self)


def run_checks(exercise: str, checks: Callable[[], None]) -> Feedback:
    """Run ``checks()`` (which calls the student's function) and return the feedback.

    ``NotImplementedError`` means "not attempted yet"; :class:`Mistake` carries the checker's
    diagnosis; any other exception is reported with its type and message.
    """
    try:
        checks()
    except NotImplementedError:
        return Feedback(exercise, False, NOT_ATTEMPTED)
    except Mistake as mistake:
        return Feedback(exercise, False, str(mistake))
    except Exception as error:  # noqa: BLE001 - any error in student code becomes feedback
        return Feedback(exercise, False, f"your function raised {type(error).__name__}: {error}")
    return Feedback(exercise, True, "correct")


# ----------------------------------------------------------------------------- delegation


def _unwrap(function) -> object:
    """The object whose call the profiler will see: a plain function's code, or the C builtin."""
    while True:
        if isinstance(function, functools.partial):
            function = function.func
        elif hasattr(function, "__wrapped__"):
            function = function.__wrapped__
        elif hasattr(function, "__func__"):  # bound method
            function = function.__func__
        else:
            break
    return getattr(function, "__code__", function)


def _qualified_name(function) -> str:
    module = getattr(function, "__module__", None) or ""
    name = getattr(function, "__qualname__", None) or getattr(function, "__name__", repr(function))
    return f"{module}.{name}" if module else name


def answer(fn, name: str, forbidden: Iterable = ()) -> Callable:
    """The student's function ``fn``, checked to be callable and watched while it runs.

    If a call of ``fn`` reaches one of ``forbidden`` (the package's own implementation of the
    exercise, the checker's reference, a library function that is the whole exercise), the call
    raises :class:`Mistake` naming it: such an answer only delegates and earns nothing.
    """
    if not callable(fn):
        raise Mistake(f"`{name}` should be a function you wrote, got {type(fn).__name__}")
    watched = {_unwrap(f): _qualified_name(f) for f in forbidden}

    def call(*args, **kwargs):
        calls: list[str] = []

        def profiler(frame, event, arg):
            if event == "call":
                hit = watched.get(frame.f_code)
            elif event == "c_call":
                hit = watched.get(arg)
            else:
                return
            if hit is not None and not calls:
                calls.append(hit)

        previous = sys.getprofile()
        sys.setprofile(profiler)
        try:
            result = fn(*args, **kwargs)
        finally:
            sys.setprofile(previous)
        if calls:
            raise Mistake(
                f"your `{name}` calls {calls[0]}, which does the whole exercise for you: write it "
                "yourself with basic torch operations (an answer that only delegates earns no points)"
            )
        return result

    return call


# ----------------------------------------------------------------------------- comparisons


def as_number(got, what: str) -> float:
    """``got`` as a finite Python float (a number or a one-element tensor), else :class:`Mistake`."""
    if isinstance(got, torch.Tensor):
        if got.numel() != 1:
            raise Mistake(f"{what} should be one number, got a tensor of shape {tuple(got.shape)}")
        got = got.detach().cpu().item()
    if isinstance(got, bool) or not isinstance(got, numbers.Real):
        raise Mistake(f"{what} should be a number, got {type(got).__name__}")
    if not math.isfinite(float(got)):
        raise Mistake(f"{what} should be a finite number, got {got}")
    return float(got)


def close(a: float, b: float, rtol: float = 1e-5, atol: float = 1e-8) -> bool:
    """``|a - b| <= atol + rtol * max(|a|, |b|)``, and never true for NaN or inf."""
    return math.isfinite(a) and math.isfinite(b) and abs(a - b) <= atol + rtol * max(abs(a), abs(b))


def expect_number(got, expected: float, what: str, mistakes: Iterable[tuple[float, str]] = (),
                  rtol: float = 1e-5, atol: float = 1e-8) -> float:
    """Pass if ``got`` is the number ``expected``; else name the first known mistake it equals."""
    value = as_number(got, what)
    if close(value, expected, rtol, atol):
        return value
    for wrong, message in mistakes:
        wrong = float(wrong)
        if not close(wrong, expected, rtol, atol) and close(value, wrong, rtol, atol):
            raise Mistake(message)
    raise Mistake(f"{what} is off: expected {expected:.6g}, got {value:.6g}")


def _finite_or_mistake(got: torch.Tensor, what: str) -> None:
    if got.is_floating_point() or got.is_complex():
        bad = ~torch.isfinite(got)
        if bool(bad.any()):
            kind = "NaN" if bool(torch.isnan(got).any()) else "inf"
            raise Mistake(f"{what} contains {kind} ({int(bad.sum())} of {got.numel()} entries)")


def expect_close(got, expected: torch.Tensor, what: str, atol: float = 1e-5, rtol: float = 1e-4) -> None:
    """Raise :class:`Mistake` unless ``got`` is a finite tensor of ``expected``'s shape and values."""
    if not isinstance(got, torch.Tensor):
        raise Mistake(f"{what} should be a torch.Tensor, got {type(got).__name__}")
    if tuple(got.shape) != tuple(expected.shape):
        raise Mistake(f"{what} should have shape {tuple(expected.shape)}, got {tuple(got.shape)}")
    got = got.detach().cpu()
    _finite_or_mistake(got, what)
    got = got.to(expected.dtype)
    if not torch.allclose(got, expected, atol=atol, rtol=rtol):
        worst = (got - expected).abs().argmax()
        raise Mistake(
            f"{what} is off: at flat index {int(worst)} expected {float(expected.flatten()[worst]):.4g}, "
            f"got {float(got.flatten()[worst]):.4g}"
        )


def matches(got, candidate: torch.Tensor, atol: float = 1e-6, rtol: float = 1e-5) -> bool:
    """Whether ``got`` is a tensor equal to ``candidate`` (same shape, values within tolerance);
    a quiet test, used to recognise known wrong answers."""
    if not isinstance(got, torch.Tensor) or tuple(got.shape) != tuple(candidate.shape):
        return False
    got = got.detach().cpu().to(candidate.dtype)
    return bool(torch.allclose(got, candidate, atol=atol, rtol=rtol))


def first_mistake(got, mistakes: Iterable[tuple[torch.Tensor, str]], expected: torch.Tensor | None = None,
                  atol: float = 1e-6) -> None:
    """Raise :class:`Mistake` with the message of the first known wrong answer ``got`` equals
    (skipping any that coincide with the right answer ``expected`` on this case)."""
    for wrong, message in mistakes:
        if expected is not None and matches(wrong, expected, atol):
            continue
        if matches(got, wrong, atol):
            raise Mistake(message)


# ----------------------------------------------------------------------------- questions


def check_choice(exercise: str, fn, options: dict[str, str], correct: str, why_not: dict[str, str]) -> Feedback:
    """A multiple-choice question: ``fn()`` returns one letter of ``options``.

    A wrong letter gets its own explanation from ``why_not``; anything else says what is expected.
    """

    def checks() -> None:
        got = answer(fn, "answer")()
        letters = ", ".join(f'"{letter}"' for letter in options)
        if not isinstance(got, str) or got.strip().upper() not in options:
            raise Mistake(f"return one of {letters} (a string), got {got!r}")
        letter = got.strip().upper()
        if letter != correct:
            raise Mistake(f"not {letter}: {why_not[letter]}")

    return run_checks(exercise, checks)


def check_value(exercise: str, fn, expected: float, what: str, mistakes: Iterable[tuple[float, str]] = (),
                rtol: float = 1e-3) -> Feedback:
    """A numeric question: ``fn()`` returns a number, right to a relative ``rtol`` (three digits).

    Unlike :func:`expect_number` the message for an unrecognised number does not give the answer away.
    """

    def checks() -> None:
        value = as_number(answer(fn, "answer")(), what)
        if close(value, expected, rtol):
            return
        for wrong, message in mistakes:
            if close(value, float(wrong), rtol):
                raise Mistake(message)
        raise Mistake(f"{what}: {value:.6g} is not right; go back to the formula and compute it step by step")

    return run_checks(exercise, checks)


__all__ = [
    "Feedback", "Mistake", "NOT_ATTEMPTED", "answer", "as_number", "check_choice", "check_value", "close",
    "expect_close", "expect_number", "first_mistake", "matches", "run_checks",
]
