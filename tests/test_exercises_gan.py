"""Notebook 06's checkers accept the reference answers and name each known mistake."""

from __future__ import annotations

import math

import torch

from course_gen.exercises import check_discriminator_loss, check_generator_loss, check_jsd

from exercise_helpers import assert_rejected, not_attempted


# ============================================================================ D loss


def d_loss(d_real, d_fake):
    return -(torch.log(d_real).mean() + torch.log(1 - d_fake).mean())


def test_discriminator_loss_accepts_the_reference():
    assert check_discriminator_loss(d_loss).passed
    assert check_discriminator_loss(lambda r, f: d_loss(r.float(), f.float())).passed  # float32 is fine


def test_discriminator_loss_rejects_flipped_labels():
    flipped = lambda r, f: -(torch.log(1 - r).mean() + torch.log(f).mean())  # noqa: E731
    assert_rejected(check_discriminator_loss(flipped), "labels are flipped")


def test_discriminator_loss_rejects_sign_sum_pooled_mean_bits():
    assert_rejected(check_discriminator_loss(lambda r, f: -d_loss(r, f)), "sign is flipped")
    assert_rejected(check_discriminator_loss(lambda r, f: -(torch.log(r).sum() + torch.log(1 - f).sum())), "summed")
    pooled = lambda r, f: -torch.log(torch.cat([r, 1 - f])).mean()  # noqa: E731
    assert_rejected(check_discriminator_loss(pooled), "both batches together")
    assert_rejected(check_discriminator_loss(lambda r, f: d_loss(r, f) / math.log(2)), "bits")


def test_discriminator_loss_reports_shape_and_unattempted():
    assert_rejected(check_discriminator_loss(lambda r, f: torch.log(r)), "ONE number")
    assert_rejected(check_discriminator_loss(lambda r, f: d_loss(r, f) + 0.1), "is off")
    assert_rejected(check_discriminator_loss(not_attempted), "not attempted")


# ============================================================================ G loss


def test_generator_loss_accepts_the_reference():
    assert check_generator_loss(lambda f: -torch.log(f).mean()).passed


def test_generator_loss_rejects_the_saturating_log_1_minus_d():
    assert_rejected(check_generator_loss(lambda f: torch.log(1 - f).mean()), "SATURATING")


def test_generator_loss_rejects_other_mistakes():
    assert_rejected(check_generator_loss(lambda f: -torch.log(1 - f).mean()), "-log(1 - D(G(z)))")
    assert_rejected(check_generator_loss(lambda f: torch.log(f).mean()), "sign is flipped")
    assert_rejected(check_generator_loss(lambda f: -torch.log(f).sum()), "summed")
    assert_rejected(check_generator_loss(lambda f: -torch.log2(f).mean()), "bits")
    assert_rejected(check_generator_loss(not_attempted), "not attempted")


# ============================================================================ JSD


def jsd_reference(p, q):
    m = (p + q) / 2
    return 0.5 * torch.xlogy(p, p / m).sum() + 0.5 * torch.xlogy(q, q / m).sum()


def test_jsd_accepts_the_reference():
    assert check_jsd(jsd_reference).passed


def test_jsd_rejects_a_log_base_mix_up():
    def in_bits(p, q):
        m = (p + q) / 2
        return 0.5 * (torch.xlogy(p, p / m) / math.log(2)).sum() + 0.5 * (torch.xlogy(q, q / m) / math.log(2)).sum()

    assert_rejected(check_jsd(in_bits), "bits")


def test_jsd_rejects_missing_halves_kl_and_nan():
    assert_rejected(check_jsd(lambda p, q: 2 * jsd_reference(p, q)), "1/2 factors")

    def half(p, q):
        m = (p + q) / 2
        return 0.5 * torch.xlogy(p, p / m).sum()

    assert_rejected(check_jsd(half), "only half")
    assert_rejected(check_jsd(lambda p, q: torch.xlogy(p, p / q).sum()), "KL(p || q)")

    def naive(p, q):  # 0 * log 0 gives NaN
        m = (p + q) / 2
        return 0.5 * (p * torch.log(p / m)).sum() + 0.5 * (q * torch.log(q / m)).sum()

    assert_rejected(check_jsd(naive), "NaN", "0 log 0")
    assert_rejected(check_jsd(not_attempted), "not attempted")
