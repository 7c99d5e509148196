"""The checker framework turns every kind of wrong answer into feedback instead of an error."""

from __future__ import annotations

import sys

import pytest
import torch

from course_gen.exercises import Mistake, expect_close, run_checks


def check_double(fn):
    """A checker of the kind each notebook defines: fn(x) should return 2 * x."""
    x = torch.tensor([1.0, -2.0, 3.0])

    def checks():
        got = fn(x)
        if isinstance(got, torch.Tensor) and got.shape == x.shape and torch.allclose(got, x):
            raise Mistake("you returned the input unchanged; multiply it by 2")
        expect_close(got, 2 * x, "the doubled tensor")

    return run_checks("double", checks)


def test_reference_passes():
    feedback = check_double(lambda x: 2 * x)
    assert feedback and str(feedback) == "\u2714 double: correct"


def test_unattempted_exercise_is_reported_not_raised():
    def unattempted(x):
        raise NotImplementedError

    feedback = check_double(unattempted)
    assert not feedback and "not attempted yet" in feedback.message


def test_recognised_mistake_is_named():
    feedback = check_double(lambda x: x)
    assert not feedback and "unchanged" in feedback.message


def test_wrong_shape_value_and_type_are_described():
    assert "shape (3,)" in check_double(lambda x: x[:2] * 2).message
    assert "expected -4, got 4" in check_double(lambda x: 2 * x.abs()).message
    assert "should be a torch.Tensor, got list" in check_double(lambda x: [2.0]).message


def test_student_errors_become_feedback():
    feedback = check_double(lambda x: x @ torch.ones(2, 2))
    assert not feedback and feedback.message.startswith("your function raised RuntimeError")


def test_every_notebook_checker_is_importable_from_course_gen_exercises():
    import importlib
    import pkgutil

    import course_gen.exercises as exercises

    topics = [m.name for m in pkgutil.iter_modules(exercises.__path__) if not m.name.startswith("_")]
    assert topics, "no checker modules found"
    for name in topics:
        module = importlib.import_module(f"course_gen.exercises.{name}")
        for checker in module.__all__:
            assert getattr(exercises, checker, None) is getattr(module, checker), (
                f"add {checker} from course_gen.exercises.{name} to course_gen/exercises/__init__.py"
            )


CHECKERS = sorted(name for name in __import__("course_gen.exercises").exercises.__all__ if name.startswith("check_"))


def nan_like_first_argument(*args, **kwargs):
    """NaN in the shape of the first tensor argument (right shape for many exercises), else a NaN float."""
    first = next((a for a in args if isinstance(a, torch.Tensor)), None)
    return first * float("nan") if first is not None and first.is_floating_point() else float("nan")


@pytest.mark.parametrize("name", CHECKERS)
def test_every_checker_rejects_nan_wrong_types_non_functions_and_says_why(name):
    import course_gen.exercises as exercises

    checker = getattr(exercises, name)
    bad_answers = {
        "NaN": nan_like_first_argument,
        "inf": lambda *args, **kwargs: float("inf"),
        "a string": lambda *args, **kwargs: "0.5",
        "nothing": lambda *args, **kwargs: None,
        "not a function": 42,
    }
    for what, bad in bad_answers.items():
        feedback = checker(bad)
        assert not feedback.passed and len(feedback.message) > 10, f"{name} accepted {what}: {feedback}"
    assert "should be a function" in checker(42).message
    assert "not attempted" in checker(lambda *args, **kwargs: exec("raise NotImplementedError()")).message


def test_answer_catches_delegation_however_it_is_wrapped():
    import functools

    import torch.nn.functional as F

    from course_gen import sparse_coding
    from course_gen.exercises._feedback import answer

    z = torch.tensor([-2.0, 0.2, 1.5])
    forbidden = [sparse_coding.soft_threshold, F.softshrink]
    delegating = {
        "the function itself": sparse_coding.soft_threshold,
        "a lambda": lambda v, t: sparse_coding.soft_threshold(v, t),
        "a partial": functools.partial(sparse_coding.soft_threshold),
        "a torch builtin": lambda v, t: F.softshrink(v, t),
        "a module": lambda v, t: torch.nn.Softshrink(t)(v),
    }
    for how, fn in delegating.items():
        with pytest.raises(Mistake, match="does the whole exercise"):
            answer(fn, "soft_threshold", forbidden)(z, 0.5)
    own = answer(lambda v, t: torch.sign(v) * torch.clamp(v.abs() - t, min=0), "soft_threshold", forbidden)
    assert torch.equal(own(z, 0.5), sparse_coding.soft_threshold(z, 0.5))
    assert sys.getprofile() is None, "the watch must be removed after the call"


def test_questions_explain_wrong_choices_and_keep_numeric_answers_secret():
    from course_gen.exercises._feedback import check_choice, check_value

    options = {"A": "one", "B": "two"}
    assert check_choice("q", lambda: " b ", options, "B", {"A": "because"}).passed
    assert check_choice("q", lambda: "A", options, "B", {"A": "because"}).message == "not A: because"
    assert 'one of "A", "B"' in check_choice("q", lambda: "C", options, "B", {"A": "because"}).message
    assert check_value("v", lambda: 1.3863, 1.386294, "V").passed
    assert check_value("v", lambda: 0.0, 1.386294, "V", [(0.0, "that is the JSD")]).message == "that is the JSD"
    secret = check_value("v", lambda: 2.0, 1.386294, "V").message
    assert "1.386" not in secret and "not right" in secret
