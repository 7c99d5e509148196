"""Bad input against the public API: a clear error or a finite answer, never a raw error, NaN or hang.

For every valid call in ``tests/bad_input_cases``, each argument in turn is replaced by bad values of its
kind (a tensor full of NaN or inf, with a dimension too many or too few, of the wrong dtype, empty, or
not a tensor at all; a negative, huge, fractional or textual count; a NaN, infinite or negative number; an
unknown name). The call must then either

- raise ``ValueError`` or ``TypeError`` from course_gen's own code (not from deep inside torch, NumPy
  or SciPy), whose message names the argument; or
- return an answer whose tensors are all finite, when the bad value is not a NaN or inf (a float64
  tensor where float32 was given is fine if the function says it casts);

and finish within a few seconds. NaN or inf given must never come back as an answer.
"""

from __future__ import annotations

import math
import signal
import traceback

import numpy as np
import pytest
import torch

from bad_input_cases import all_cases

SECONDS = 20


class Hang(BaseException):
    pass


def bad_values(value) -> dict[str, object]:
    """Bad stand-ins for a valid ``value``, by its kind."""
    if isinstance(value, torch.Tensor):
        bad = {"a list": value.tolist(), "None": None,
               "one dimension more": value.unsqueeze(0), "complex": value.to(torch.complex64)}
        if value.dim() > 0:
            bad["one dimension less"] = value.flatten()[0] if value.dim() == 1 else value[0]
            bad["empty"] = value[:0]
        if value.is_floating_point():
            bad["NaN"] = torch.full_like(value, float("nan"))
            bad["inf"] = torch.full_like(value, float("inf"))
            bad["integers"] = value.round().to(torch.int64)
        else:
            bad["floats with fractions"] = value.double() + 0.5
        return bad
    if isinstance(value, bool):
        return {"an int": 1, "a string": "yes"}
    if isinstance(value, int):
        return {"negative": -1, "huge": 10**12, "fractional": 1.5, "a string": str(value), "None": None}
    if isinstance(value, float):
        return {"NaN": float("nan"), "inf": float("inf"), "negative": -abs(value) - 1.0, "a string": str(value)}
    if isinstance(value, str):
        return {"an unknown name": value + "_nope", "a number": 3}
    return {}


def finite(result) -> bool:
    if isinstance(result, torch.Tensor):
        return not result.is_floating_point() or bool(torch.isfinite(result).all())
    if isinstance(result, float):
        return math.isfinite(result)
    if isinstance(result, np.ndarray) and result.dtype.kind == "f":
        return bool(np.isfinite(result).all())
    if isinstance(result, (tuple, list)):
        return all(finite(r) for r in result)
    if isinstance(result, dict):
        return all(finite(r) for r in result.values())
    return True


def raised_by_course_gen(error: BaseException) -> bool:
    """Whether the innermost frame of the error's traceback is course_gen's own code."""
    frames = traceback.extract_tb(error.__traceback__)
    return bool(frames) and "course_gen" in frames[-1].filename and "site-packages" not in frames[-1].filename


def call_with_alarm(function, arguments):
    def ring(signum, frame):
        raise Hang()

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, SECONDS)
    try:
        return function(**arguments)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


CASES = all_cases()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_valid_call_works(case):
    assert finite(call_with_alarm(case.function, dict(case.arguments)))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_bad_input_gets_a_clear_error_or_a_finite_answer(case):
    torch.manual_seed(0)
    problems = []
    for argument, value in case.arguments.items():
        if argument in case.skip:
            continue
        extra = case.extra_bad.get(argument, {})  # known to be invalid: these must raise
        candidates = bad_values(value) | extra
        for what, bad in candidates.items():
            arguments = dict(case.arguments, **{argument: bad})
            try:
                result = call_with_alarm(case.function, arguments)
            except Hang:
                problems.append(f"{argument} = {what}: no answer after {SECONDS} s (a hang?)")
            except (ValueError, TypeError) as error:
                if not raised_by_course_gen(error):
                    frame = traceback.extract_tb(error.__traceback__)[-1]
                    problems.append(f"{argument} = {what}: raw {type(error).__name__} from {frame.filename}: {error}")
            except Exception as error:  # noqa: BLE001 - anything else is a raw error
                problems.append(f"{argument} = {what}: raw {type(error).__name__}: {str(error)[:200]}")
            else:
                if what in ("NaN", "inf") or what in extra:
                    problems.append(f"{argument} = {what}: accepted, returned {type(result).__name__}")
                elif not finite(result):
                    problems.append(f"{argument} = {what}: returned NaN or inf")
    assert not problems, f"{case.name}:\n" + "\n".join(problems)
