"""Homework checkers: ``check_…(fn)`` runs a student's function on cases with known answers.

Each notebook's checkers live in a module of their own (``course_gen.exercises.sparse_coding``,
``.autoencoders``, ``.autoregressive``, …) and are all importable from here too, e.g.
``course_gen.exercises.check_soft_threshold``. They are built on :func:`run_checks`, which
turns what went wrong into a sentence for the student: a mistake the checker recognised,
an error the function raised, or an exercise not yet attempted. A checker never raises, so
an unattempted exercise does not stop a notebook.
"""

from __future__ import annotations

from course_gen.exercises._feedback import Feedback, Mistake, expect_close, run_checks
from course_gen.exercises.autoencoders import check_bce_loss, check_masking_noise, check_principal_angles
from course_gen.exercises.autoregressive import check_conv_mask, check_made_mask, check_pixel_loss
from course_gen.exercises.sparse_coding import (
    check_dictionary_update,
    check_ista_step,
    check_lasso_objective,
    check_soft_threshold,
)
from course_gen.exercises.flows import (
    check_coupling_inverse,
    check_coupling_log_det,
    check_dequantization_bound,
    check_planar_log_det,
)
from course_gen.exercises.vae import check_gaussian_kl, check_log_mean_exp, check_reparameterize
from course_gen.exercises.gan import check_discriminator_loss, check_generator_loss, check_jsd
from course_gen.exercises.metrics import check_bits_per_dim, check_frechet_distance, check_inception_score

__all__ = [
    "Feedback", "Mistake", "expect_close", "run_checks",
    "check_soft_threshold", "check_ista_step", "check_lasso_objective", "check_dictionary_update",  # 01
    "check_bce_loss", "check_masking_noise", "check_principal_angles",  # 02
    "check_conv_mask", "check_made_mask", "check_pixel_loss",  # 03
    "check_coupling_inverse", "check_coupling_log_det", "check_planar_log_det", "check_dequantization_bound",  # 04
    "check_gaussian_kl", "check_reparameterize", "check_log_mean_exp",  # 05
    "check_discriminator_loss", "check_generator_loss", "check_jsd",  # 06
    "check_bits_per_dim", "check_frechet_distance", "check_inception_score",  # 07
]
