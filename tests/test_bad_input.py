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


#: Public names the sweep does not call, each with the reason (anything else public needs a case).
EXEMPT = {
    "course_gen.runtime": "the runtime is tested directly in tests/test_core.py",
    "course_gen.flows.base.Transform": "an abstract base class; every concrete transform has cases",
    "course_gen.gan.FromUnitInterval": "a layer inside the DCGAN models: checking its input would add a GPU sync",
    "course_gen.gan.ToUnitInterval": "a layer inside the DCGAN models: checking its input would add a GPU sync",
    "course_gen.gan.train_shapes_dcgan": "a 2,500-step recipe; its arguments are unit-tested in tests/test_gan.py",
    "course_gen.latent.check_codes": "an argument check itself (used by every latent case)",
    "course_gen.latent.check_t": "an argument check itself (used by every latent case)",
    "course_gen.metrics.PrecisionRecall": "a result record (a dataclass), not a computation",
    "course_gen.vae.ELBOTerms": "a result record (a named tuple), not a computation",
    "course_gen.vae.PlanarPosterior": "built and checked by fit_planar_posterior, which has a case",
    "course_gen.pretrain": "command-line recipes that train for minutes; argument checks unit-tested in test_pretrain",
    "course_gen.plotting.use_course_style": "takes no argument",
    "course_gen.train.check_callback": "an argument check itself (used by train and GANTrainer, which have cases)",
    "course_gen.train.note_interrupt": "a piece of train() (which has a case), called with a History it made",
    "course_gen.train.record": "a piece of train() (which has a case), called with a History it made",
    "course_gen.train.wants_stop": "a piece of train() (which has a case), called with a History it made",
    "course_gen.widgets.data_browser.data_browser": "a widget over an embedded data set; tested in test_widgets",
}


def public_callables():
    import importlib
    import inspect
    import pkgutil

    import course_gen

    for info in pkgutil.walk_packages(course_gen.__path__, "course_gen."):
        if any(part.startswith("_") for part in info.name.split(".")) or info.name.startswith(
                ("course_gen.exercises", "course_gen.homework", "course_gen.notebook_runner")):
            continue
        module = importlib.import_module(info.name)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name, None)
            if callable(obj) and not (inspect.isclass(obj) and issubclass(obj, BaseException)):
                yield f"{getattr(obj, '__module__', info.name)}.{name}", obj


def test_every_public_function_has_a_sweep_case_or_a_reason():
    import inspect

    covered = set()
    for case in CASES:
        function = inspect.unwrap(case.function)
        covered.add(getattr(function, "__func__", function))
        covered.add(getattr(function, "__qualname__", "").split(".")[0])  # a method covers its class
    missing = sorted({
        name for name, obj in public_callables()
        if obj not in covered and getattr(obj, "__name__", None) not in covered
        and not any(name == key or name.startswith(key + ".") for key in EXEMPT)
    })
    assert not missing, "add a case in tests/bad_input_cases (or a reason to EXEMPT) for: " + ", ".join(missing)
