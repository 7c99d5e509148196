"""Notebook 05's checkers accept the reference answers and name each known mistake."""

from __future__ import annotations

import math

import torch

from course_gen.exercises.vae import check_gaussian_kl, check_log_mean_exp, check_reparameterize

from exercise_helpers import assert_rejected, not_attempted


# ============================================================================ Gaussian KL


def kl_reference(mu, logvar):
    return 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(dim=1)


def test_gaussian_kl_accepts_the_reference():
    assert check_gaussian_kl(kl_reference).passed


def test_gaussian_kl_rejects_a_missing_half():
    assert_rejected(check_gaussian_kl(lambda mu, lv: (mu**2 + lv.exp() - 1 - lv).sum(1)), "1/2")


def test_gaussian_kl_rejects_variance_and_log_variance_mixed_up():
    # logvar treated as the variance: log of a negative number gives NaN.
    assert_rejected(check_gaussian_kl(lambda mu, lv: 0.5 * (mu**2 + lv - 1 - torch.log(lv)).sum(1)), "NaN", "logvar")
    # sigma = exp(logvar / 2) used where the variance belongs.
    assert_rejected(check_gaussian_kl(lambda mu, lv: 0.5 * (mu**2 + (lv / 2).exp() - 1 - lv).sum(1)), "variance")
    assert_rejected(check_gaussian_kl(lambda mu, lv: 0.5 * (mu**2 + lv.exp() - 1 - lv / 2).sum(1)), "log sigma^2")


def test_gaussian_kl_rejects_other_slips():
    assert_rejected(check_gaussian_kl(lambda mu, lv: 0.5 * (mu**2 + lv.exp() - 1 - lv).mean(1)), "SUM over dimensions")
    assert_rejected(check_gaussian_kl(lambda mu, lv: -kl_reference(mu, lv)), "sign")
    assert_rejected(check_gaussian_kl(lambda mu, lv: 0.5 * (mu**2 + lv.exp() - lv).sum(1)), "-1")
    assert_rejected(check_gaussian_kl(lambda mu, lv: kl_reference(mu, lv).mean()), "reduced over the batch")
    assert_rejected(check_gaussian_kl(lambda mu, lv: kl_reference(mu, lv) + 0.3), "is off")
    assert_rejected(check_gaussian_kl(not_attempted), "not attempted")


# ============================================================================ reparameterisation


def reparameterize_reference(mu, logvar, eps):
    return mu + torch.exp(0.5 * logvar) * eps


def test_reparameterize_accepts_the_reference():
    assert check_reparameterize(reparameterize_reference).passed


def test_reparameterize_rejects_a_missing_half_and_log_variance_as_std():
    assert_rejected(check_reparameterize(lambda mu, lv, eps: mu + lv.exp() * eps), "1/2 is missing")
    assert_rejected(check_reparameterize(lambda mu, lv, eps: mu + lv * eps), "standard deviation")
    assert_rejected(check_reparameterize(lambda mu, lv, eps: mu + torch.exp(-0.5 * lv) * eps), "sign")
    assert_rejected(check_reparameterize(lambda mu, lv, eps: mu), "noise term")


def test_reparameterize_rejects_a_sample_without_gradients():
    def detached(mu, logvar, eps):
        return (mu + torch.exp(0.5 * logvar) * eps).detach()

    assert_rejected(check_reparameterize(detached), "autograd")

    def resampled(mu, logvar, eps):
        return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)

    assert_rejected(check_reparameterize(resampled), "is off")


# ============================================================================ IWAE log-mean-exp


def log_mean_exp_reference(log_w):
    return torch.logsumexp(log_w, dim=0) - math.log(log_w.shape[0])


def test_log_mean_exp_accepts_the_reference():
    assert check_log_mean_exp(log_mean_exp_reference).passed


def test_log_mean_exp_rejects_a_mean_of_the_logs():
    assert_rejected(check_log_mean_exp(lambda log_w: log_w.mean(0)), "ELBO", "MEAN of the weights")


def test_log_mean_exp_rejects_the_naive_overflowing_formula():
    assert_rejected(check_log_mean_exp(lambda log_w: torch.log(torch.exp(log_w).mean(0))), "underflow")


def test_log_mean_exp_rejects_a_missing_log_k_the_wrong_axis_and_the_max():
    assert_rejected(check_log_mean_exp(lambda log_w: torch.logsumexp(log_w, 0)), "-log k is missing")
    assert_rejected(check_log_mean_exp(lambda log_w: torch.logsumexp(log_w, 1) - math.log(log_w.shape[1])), "wrong axis")
    assert_rejected(check_log_mean_exp(lambda log_w: log_w.max(0).values), "largest weight")
    assert_rejected(check_log_mean_exp(not_attempted), "not attempted")
