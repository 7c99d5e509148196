"""Notebook 05's checkers accept the reference answers, name each known mistake, and give nothing
for NaN, a wrong type, a non-function or an answer that only calls the package."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from course_gen import vae
from course_gen.exercises.vae import (
    ELBO_GAP_OPTIONS, _elbo_cases, _elbo_reference, check_elbo, check_elbo_gap_question, check_gaussian_kl,
    check_log_mean_exp, check_reparameterize,
)

from exercise_helpers import assert_rejected, not_attempted

DELEGATES = "does the whole exercise"


def nan_like(*args):
    """An answer of the right shape full of NaN."""
    first = args[0]
    return torch.full(first.shape[:1], float("nan"), dtype=torch.float64)


# ============================================================================ the question


def test_elbo_gap_question_accepts_the_posterior():
    assert check_elbo_gap_question(lambda: "B").passed
    assert check_elbo_gap_question(lambda: " b ").passed


@pytest.mark.parametrize("letter, phrase", [("A", "regularisation term"), ("C", "does not depend on the number"),
                                            ("D", "point mass")])
def test_elbo_gap_question_explains_each_wrong_option(letter, phrase):
    assert_rejected(check_elbo_gap_question(lambda: letter), f"not {letter}", phrase)


def test_elbo_gap_question_rejects_other_answers():
    assert set(ELBO_GAP_OPTIONS) == {"A", "B", "C", "D"}
    assert_rejected(check_elbo_gap_question(lambda: 2), "return one of")
    assert_rejected(check_elbo_gap_question(lambda: "E"), "return one of")
    assert_rejected(check_elbo_gap_question("B"), "should be a function")
    assert_rejected(check_elbo_gap_question(not_attempted), "not attempted")


# ============================================================================ Gaussian KL


def kl_reference(mu, logvar):
    return 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(dim=1)


def test_gaussian_kl_accepts_the_reference():
    feedback = check_gaussian_kl(kl_reference)
    assert feedback.passed and str(feedback).startswith("\u2714")


def test_gaussian_kl_rejects_the_package_and_torch_distributions():
    assert_rejected(check_gaussian_kl(vae.gaussian_kl), DELEGATES, "gaussian_kl")
    assert_rejected(check_gaussian_kl(lambda mu, lv: vae.gaussian_kl(mu, lv)), DELEGATES)

    def via_distributions(mu, logvar):
        q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
        return torch.distributions.kl_divergence(q, torch.distributions.Normal(0.0, 1.0)).sum(1)

    assert_rejected(check_gaussian_kl(via_distributions), DELEGATES, "kl_divergence")


def test_gaussian_kl_rejects_nan_inf_and_wrong_types():
    assert_rejected(check_gaussian_kl(nan_like), "NaN")
    assert_rejected(check_gaussian_kl(lambda mu, lv: kl_reference(mu, lv) + float("inf")), "inf")
    assert_rejected(check_gaussian_kl(lambda mu, lv: kl_reference(mu, lv).tolist()), "torch.Tensor", "list")
    assert_rejected(check_gaussian_kl(42), "should be a function")


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
    assert_rejected(check_gaussian_kl(lambda mu, lv: -kl_reference(mu, lv)), "sign is flipped")
    assert_rejected(check_gaussian_kl(lambda mu, lv: 0.5 * (mu**2 + lv.exp() - lv).sum(1)), "-1")
    assert_rejected(check_gaussian_kl(lambda mu, lv: 0.5 * (mu**2 + lv.exp() - 1 + lv).sum(1)), "- logvar")
    assert_rejected(check_gaussian_kl(lambda mu, lv: 0.5 * (mu + lv.exp() - 1 - lv).sum(1)), "squared")
    assert_rejected(check_gaussian_kl(lambda mu, lv: kl_reference(mu, lv).mean()), "batch mean")
    assert_rejected(check_gaussian_kl(lambda mu, lv: kl_reference(mu, lv).sum() + 1), "reduced over the batch")
    assert_rejected(check_gaussian_kl(lambda mu, lv: kl_reference(mu, lv) + 0.3), "is off")
    assert_rejected(check_gaussian_kl(not_attempted), "not attempted")


# ============================================================================ reparameterisation


def reparameterize_reference(mu, logvar, eps):
    return mu + torch.exp(0.5 * logvar) * eps


def test_reparameterize_accepts_the_reference():
    assert check_reparameterize(reparameterize_reference).passed


def test_reparameterize_rejects_the_package_method():
    model = vae.VAE(latent_dim=3)
    assert_rejected(check_reparameterize(lambda mu, lv, eps: model.reparameterize(mu, lv)[0]), DELEGATES,
                    "reparameterize")


def test_reparameterize_rejects_nan_and_wrong_types():
    assert_rejected(check_reparameterize(lambda mu, lv, eps: mu * float("nan")), "NaN")
    assert_rejected(check_reparameterize(lambda mu, lv, eps: (mu + torch.exp(0.5 * lv) * eps).detach().numpy()),
                    "torch.Tensor")
    assert_rejected(check_reparameterize(None), "should be a function")


def test_reparameterize_rejects_a_missing_half_and_log_variance_as_std():
    assert_rejected(check_reparameterize(lambda mu, lv, eps: mu + lv.exp() * eps), "1/2 is missing")
    assert_rejected(check_reparameterize(lambda mu, lv, eps: mu + lv * eps), "standard deviation")
    assert_rejected(check_reparameterize(lambda mu, lv, eps: mu + torch.sqrt(lv.abs()) * eps), "not sqrt(logvar)")
    assert_rejected(check_reparameterize(lambda mu, lv, eps: mu + torch.exp(-0.5 * lv) * eps), "sign")
    assert_rejected(check_reparameterize(lambda mu, lv, eps: mu * torch.exp(0.5 * lv) + eps), "roles are swapped")
    assert_rejected(check_reparameterize(lambda mu, lv, eps: mu), "noise term")
    assert_rejected(check_reparameterize(not_attempted), "not attempted")


def test_reparameterize_rejects_a_sample_without_gradients():
    def detached(mu, logvar, eps):
        return (mu + torch.exp(0.5 * logvar) * eps).detach()

    assert_rejected(check_reparameterize(detached), "autograd")

    def resampled(mu, logvar, eps):
        return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)

    assert_rejected(check_reparameterize(resampled), "is off")


# ============================================================================ the ELBO (larger task)


def elbo_reference(x, encoder, decoder, eps):
    mu, logvar = encoder(x)
    z = mu + torch.exp(0.5 * logvar) * eps
    log_likelihood = -F.binary_cross_entropy_with_logits(decoder(z), x, reduction="none").sum(1)
    return log_likelihood - 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1)


def elbo_slip(kl_sign=-1.0, recon="bce", z="eps", reduce=None, sigma="half"):
    """An ELBO with one slip: ``recon`` in {"bce", "bce_mean", "mse", "double_sigmoid"}, ``z`` in
    {"eps", "mu", "randn"}, ``sigma`` in {"half", "variance"}, ``reduce`` in {None, "mean", "sum"}."""

    def elbo(x, encoder, decoder, eps):
        mu, logvar = encoder(x)
        std = torch.exp(0.5 * logvar) if sigma == "half" else logvar.exp()
        noise = {"eps": eps, "mu": torch.zeros_like(eps), "randn": torch.randn_like(eps)}[z]
        logits = decoder(mu + std * noise)
        if recon == "bce":
            log_likelihood = -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1)
        elif recon == "bce_mean":
            log_likelihood = -F.binary_cross_entropy_with_logits(logits, x, reduction="none").mean(1)
        elif recon == "mse":
            log_likelihood = -(x - torch.sigmoid(logits)).pow(2).sum(1)
        else:
            log_likelihood = -F.binary_cross_entropy_with_logits(torch.sigmoid(logits), x, reduction="none").sum(1)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1)
        value = log_likelihood + kl_sign * kl
        return {None: value, "mean": value.mean(), "sum": value.sum()}[reduce]

    return elbo


def test_the_reference_elbo_is_the_package_vae_elbo():
    """With the noise the package draws for ``seed``, the checker's reference is ``VAE.elbo``."""
    for model, x, _, _ in _elbo_cases():
        mu, _ = model.encode(x)
        eps = torch.randn((1, *mu.shape), generator=torch.Generator().manual_seed(3), dtype=torch.float64)[0]
        with torch.no_grad():
            expected = model.elbo(x, seed=3).elbo
            torch.testing.assert_close(_elbo_reference(x, model.encode, model.decoder, eps), expected)
            torch.testing.assert_close(elbo_reference(x, model.encode, model.decoder, eps), expected)
            assert float(vae.gaussian_kl(*model.encode(x)).min()) > 1.0  # the KL matters in these cases


def test_elbo_accepts_the_reference_and_package_building_blocks():
    assert check_elbo(elbo_reference).passed

    def with_distributions(x, encoder, decoder, eps):  # Bernoulli log_prob and the package's KL are fine
        mu, logvar = encoder(x)
        logits = decoder(mu + torch.exp(0.5 * logvar) * eps)
        return torch.distributions.Bernoulli(logits=logits).log_prob(x).sum(1) - vae.gaussian_kl(mu, logvar)

    assert check_elbo(with_distributions).passed


def test_elbo_rejects_the_package_bounds():
    assert_rejected(check_elbo(lambda x, enc, dec, eps: enc.__self__.elbo(x).elbo), DELEGATES, "VAE.elbo")
    assert_rejected(check_elbo(lambda x, enc, dec, eps: -enc.__self__.loss(x)["loss"]), DELEGATES)

    def via_log_likelihood(x, encoder, decoder, eps):
        mu, logvar = encoder(x)
        z = mu + torch.exp(0.5 * logvar) * eps
        return encoder.__self__.log_likelihood(x, z) - vae.gaussian_kl(mu, logvar)

    assert_rejected(check_elbo(via_log_likelihood), DELEGATES, "log_likelihood")
    assert_rejected(check_elbo(_elbo_reference), DELEGATES)


def test_elbo_rejects_nan_and_wrong_types():
    assert_rejected(check_elbo(nan_like), "NaN")
    assert_rejected(check_elbo(lambda *args: elbo_reference(*args).tolist()), "torch.Tensor", "list")
    assert_rejected(check_elbo(lambda *args: vae.ELBOTerms(elbo_reference(*args), None, None)),
                    "torch.Tensor", "ELBOTerms")
    assert_rejected(check_elbo("elbo"), "should be a function")
    assert_rejected(check_elbo(not_attempted), "not attempted")


@pytest.mark.parametrize("slip, phrase", [
    (dict(kl_sign=1.0), "KL has the wrong sign"),
    (dict(kl_sign=0.0), "KL term is missing"),
    (dict(recon="bce_mean"), "SUM over the pixels"),
    (dict(recon="mse"), "squared error"),
    (dict(recon="double_sigmoid"), "sigmoid twice"),
    (dict(reduce="mean"), "batch mean"),
    (dict(reduce="sum"), "batch sum"),
    (dict(z="mu"), "z = mu"),
    (dict(z="randn"), "new noise"),
    (dict(sigma="variance"), "1/2 is missing"),
])
def test_elbo_names_each_mistake(slip, phrase):
    assert_rejected(check_elbo(elbo_slip(**slip)), phrase)


def test_elbo_names_the_negative_elbo_and_a_noise_of_its_own():
    assert_rejected(check_elbo(lambda *args: -elbo_reference(*args)), "negative ELBO")

    def own_seeded_noise(x, encoder, decoder, eps):
        noise = torch.randn(eps.shape, generator=torch.Generator().manual_seed(0), dtype=eps.dtype)
        return elbo_reference(x, encoder, decoder, noise)

    assert_rejected(check_elbo(own_seeded_noise), "does not change when eps does")
    assert_rejected(check_elbo(lambda *args: elbo_reference(*args) + 0.5), "is off")


def test_elbo_needs_gradients_through_the_sample():
    def no_grad(*args):
        with torch.no_grad():
            return elbo_reference(*args)

    assert_rejected(check_elbo(no_grad), "no gradient reaches")

    def detached_code(x, encoder, decoder, eps):
        mu, logvar = encoder(x)
        z = (mu + torch.exp(0.5 * logvar) * eps).detach()
        log_likelihood = -F.binary_cross_entropy_with_logits(decoder(z), x, reduction="none").sum(1)
        return log_likelihood - vae.gaussian_kl(mu, logvar)

    assert_rejected(check_elbo(detached_code), "gradient with respect to the encoder")


# ============================================================================ IWAE log-mean-exp


def log_mean_exp_reference(log_w):
    return torch.logsumexp(log_w, dim=0) - math.log(log_w.shape[0])


def test_log_mean_exp_accepts_the_reference():
    assert check_log_mean_exp(log_mean_exp_reference).passed


def test_log_mean_exp_rejects_the_package():
    assert_rejected(check_log_mean_exp(vae.log_mean_exp), DELEGATES)
    assert_rejected(check_log_mean_exp(lambda log_w: vae.log_mean_exp(log_w, dim=0)), DELEGATES, "log_mean_exp")


def test_log_mean_exp_rejects_nan_and_wrong_types():
    feedback = check_log_mean_exp(lambda log_w: log_w[0] * float("nan"))
    assert_rejected(feedback, "NaN")
    assert "underflow" not in feedback.message  # NaN on moderate log-weights is not an underflow
    assert_rejected(check_log_mean_exp(lambda log_w: float(log_mean_exp_reference(log_w)[0])), "torch.Tensor", "float")
    assert_rejected(check_log_mean_exp([1, 2]), "should be a function")


def test_log_mean_exp_rejects_a_mean_of_the_logs():
    assert_rejected(check_log_mean_exp(lambda log_w: log_w.mean(0)), "ELBO", "MEAN of the weights")


def test_log_mean_exp_rejects_the_naive_overflowing_formula():
    assert_rejected(check_log_mean_exp(lambda log_w: torch.log(torch.exp(log_w).mean(0))), "underflow")


def test_log_mean_exp_rejects_a_missing_log_k_the_wrong_axis_and_the_max():
    assert_rejected(check_log_mean_exp(lambda log_w: torch.logsumexp(log_w, 0)), "-log k is missing")
    assert_rejected(check_log_mean_exp(lambda log_w: torch.logsumexp(log_w, 0) + math.log(log_w.shape[0])),
                    "subtract log k")
    assert_rejected(check_log_mean_exp(lambda log_w: torch.logsumexp(log_w, 1) - math.log(log_w.shape[1])), "wrong axis")
    assert_rejected(check_log_mean_exp(lambda log_w: log_w.max(0).values), "largest weight")
    assert_rejected(check_log_mean_exp(lambda log_w: log_mean_exp_reference(log_w).mean()), "batch mean")
    assert_rejected(check_log_mean_exp(not_attempted), "not attempted")
