"""The checker framework turns every kind of wrong answer into feedback instead of an error."""

from __future__ import annotations

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
