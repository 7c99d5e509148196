"""The checker framework: run a student's function, turn what went wrong into a sentence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch


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
        mark = "✅" if self.passed else "❌"
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
        return Feedback(exercise, False, "not attempted yet: replace `raise NotImplementedError` with your code")
    except Mistake as mistake:
        return Feedback(exercise, False, str(mistake))
    except Exception as error:  # noqa: BLE001 - any error in student code becomes feedback
        return Feedback(exercise, False, f"your function raised {type(error).__name__}: {error}")
    return Feedback(exercise, True, "correct")


def expect_close(got, expected: torch.Tensor, what: str, atol: float = 1e-5, rtol: float = 1e-4) -> None:
    """Raise :class:`Mistake` unless ``got`` is a tensor of ``expected``'s shape and values."""
    if not isinstance(got, torch.Tensor):
        raise Mistake(f"{what} should be a torch.Tensor, got {type(got).__name__}")
    if tuple(got.shape) != tuple(expected.shape):
        raise Mistake(f"{what} should have shape {tuple(expected.shape)}, got {tuple(got.shape)}")
    got = got.detach().to(expected.dtype).cpu()
    if not torch.allclose(got, expected, atol=atol, rtol=rtol):
        worst = (got - expected).abs().argmax()
        raise Mistake(
            f"{what} is off: at flat index {int(worst)} expected {float(expected.flatten()[worst]):.4g}, "
            f"got {float(got.flatten()[worst]):.4g}"
        )


__all__ = ["Feedback", "Mistake", "expect_close", "run_checks"]
