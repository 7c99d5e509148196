"""Homework checkers: ``check_…(fn)`` runs a student's function on cases with known answers.

Each notebook's checkers live in a module of their own (``course_gen.exercises.sparse_coding``,
``.autoencoders``, ``.autoregressive``, …, ``.diffusion``) and are all importable from here too, e.g.
``course_gen.exercises.check_soft_threshold``. They are built on the pieces of
:mod:`course_gen.exercises._feedback`, which turn what went wrong into a sentence for the student:
a mistake the checker recognised, NaN or a wrong type, an error the function raised, an answer
that only calls the course's own implementation, or an exercise not yet attempted. A checker
never raises, so an unattempted exercise does not stop a notebook.
"""

from __future__ import annotations

from course_gen.exercises import autoencoders, autoregressive, diffusion, flows, gan, metrics, sparse_coding, vae
from course_gen.exercises._feedback import Feedback, Mistake, expect_close, run_checks

_TOPICS = (sparse_coding, autoencoders, autoregressive, flows, vae, gan, metrics, diffusion)  # notebooks 01-08
for _topic in _TOPICS:
    globals().update({name: getattr(_topic, name) for name in _topic.__all__})

__all__ = ["Feedback", "Mistake", "expect_close", "run_checks"] + [
    name for topic in _TOPICS for name in topic.__all__
]
