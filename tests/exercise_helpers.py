"""What the checker tests share: a wrong answer must be rejected with a message that says why."""

from __future__ import annotations


def assert_rejected(feedback, *phrases: str) -> None:
    """The checker said no, and its message contains every phrase (the diagnosis)."""
    assert not feedback.passed, f"accepted a wrong answer: {feedback}"
    for phrase in phrases:
        assert phrase in feedback.message, f"{phrase!r} not in {feedback.message!r}"


def not_attempted(*args):
    """An exercise as the student finds it."""
    raise NotImplementedError  # TODO: your code
