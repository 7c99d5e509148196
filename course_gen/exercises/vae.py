"""Checkers for the exercises of notebook 05 (the ELBO, VAEs, IWAE).

- :func:`check_elbo_gap_question`: when does the ELBO equal ``log p(x)``? (multiple choice);
- :func:`check_reparameterize`: the reparameterised sample ``z = mu + exp(logvar / 2) * eps``;
- :func:`check_gaussian_kl`: ``KL(N(mu, diag exp(logvar)) || N(0, I))`` per example;
- :func:`check_elbo`: the larger task, the per-example ELBO ``log p(x | z) - KL(q(z | x) || p(z))``
  of a given encoder and Bernoulli decoder, with ``z = mu + sigma * eps`` for a given ``eps``;
- :func:`check_log_mean_exp`: the IWAE average ``log (1/k) sum_i exp(log_w_i)``, stably.

Each runs the student's function on cases with known answers, names the mistakes it recognises
(a missing 1/2, variance and log-variance mixed up, the KL added instead of subtracted, a mean over
pixels, a squared error instead of the Bernoulli log-likelihood, new noise instead of the given
``eps``, a mean of the logs instead of the log of the mean, an overflow, a forgotten ``- log k``, ...)
and returns a :class:`~course_gen.exercises.Feedback`; none raises. An answer that only calls the
package's own implementation (``course_gen.vae.gaussian_kl``, ``log_mean_exp``,
``VAE.reparameterize``, ``VAE.elbo``, ``VAE.loss``, ...) or ``torch.distributions.kl_divergence``
for the KL earns nothing (:func:`~course_gen.exercises._feedback.answer`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch.distributions import kl as distributions_kl

from course_gen.runtime import seeded
from course_gen.exercises._feedback import (
    Feedback, Mistake, answer, check_choice, close, expect_close, first_mistake, matches, run_checks,
)
from course_gen.vae import VAE, gaussian_kl, iwae_bound, log_mean_exp, rounded_gaussian_elbo

__all__ = [
    "ELBO_GAP_OPTIONS", "check_elbo", "check_elbo_gap_question", "check_gaussian_kl", "check_log_mean_exp",
    "check_reparameterize",
]


def _check_batch_shape(got, batch: int, what: str, expected: torch.Tensor | None = None) -> None:
    """One number where ``batch`` values were expected: say so (and whether it is their mean or sum)."""
    if not isinstance(got, torch.Tensor) or batch < 2 or got.numel() != 1:
        return
    if expected is not None and got.is_floating_point() and bool(torch.isfinite(got).all()):
        value = float(got.detach().reshape(()))
        for reduced, how in ((float(expected.mean()), "mean"), (float(expected.sum()), "sum")):
            if close(value, reduced, rtol=1e-5, atol=1e-6):
                raise Mistake(f"you returned the batch {how}: {what} should have one value per example, "
                              f"shape ({batch},); a training loss averages it later, the function does not")
    raise Mistake(f"{what} should have one value per example, shape ({batch},): you reduced over the batch")


# ============================================================================ the question


#: The options of the conceptual question of notebook 05: when does the ELBO equal log p(x)?
ELBO_GAP_OPTIONS = {
    "A": "when KL(q(z | x) || p(z)) = 0, i.e. q(z | x) is the prior p(z)",
    "B": "when q(z | x) is the true posterior p(z | x)",
    "C": "when the expectation over q(z | x) is estimated with infinitely many samples z",
    "D": "when q(z | x) puts all its mass on the single code z that reconstructs x best",
}

_ELBO_GAP_WHY_NOT = {
    "A": "KL(q(z | x) || p(z)) is the regularisation term of the VAE, not the gap. The gap is "
         "log p(x) - ELBO = KL(q(z | x) || p(z | x)), to the POSTERIOR; the prior closes it only if x says "
         "nothing about z (p(z | x) = p(z))",
    "C": "more samples make the Monte Carlo estimate converge to the ELBO itself (10,000 samples give the "
         "closed form in section 2), not to log p(x): the gap KL(q || p(z | x)) does not depend on the number "
         "of samples. (IWAE averages the weights inside the log; that is another bound.)",
    "D": "the posterior spreads over every code that could have produced x; a point mass has no entropy "
         "(differential entropy -inf), so its ELBO is -inf, the loosest bound there is. Good reconstructions "
         "alone do not make the bound tight",
}


def check_elbo_gap_question(fn) -> Feedback:
    """Check ``fn() -> letter``: the ELBO equals ``log p(x)`` exactly when ``q(z | x) = p(z | x)``
    (``log p(x) - ELBO = KL(q(z | x) || p(z | x))``). Each wrong letter is explained."""
    return check_choice("when the ELBO is exact", fn, ELBO_GAP_OPTIONS, "B", _ELBO_GAP_WHY_NOT)


# ============================================================================ Gaussian KL


def _kl_cases() -> list[tuple[torch.Tensor, torch.Tensor]]:
    generator = torch.Generator().manual_seed(7)
    mu = torch.randn(5, 3, generator=generator, dtype=torch.float64)
    logvar = torch.randn(5, 3, generator=generator, dtype=torch.float64)
    mu2 = 2.0 * torch.randn(2, 6, generator=generator, dtype=torch.float64)
    logvar2 = -1.0 + torch.randn(2, 6, generator=generator, dtype=torch.float64)
    return [(mu, logvar), (mu2, logvar2), (torch.zeros(1, 4, dtype=torch.float64), torch.zeros(1, 4, dtype=torch.float64))]


def _kl_mistakes(mu: torch.Tensor, logvar: torch.Tensor) -> list[tuple[torch.Tensor, str]]:
    correct = gaussian_kl(mu, logvar)
    std = torch.exp(logvar / 2)
    return [
        (2 * correct, "you forgot the 1/2 in front: KL = 1/2 sum_j (mu_j^2 + sigma_j^2 - 1 - log sigma_j^2)"),
        (-correct, "the sign is flipped: a KL divergence is >= 0"),
        (0.5 * (mu.pow(2) + std - 1 - logvar).sum(1),
         "you used exp(logvar / 2) = sigma where the variance sigma^2 = exp(logvar) belongs"),
        (0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar / 2).sum(1),
         "the log term should be log sigma^2 = logvar itself (you used log sigma = logvar / 2)"),
        (0.5 * (mu.pow(2) + logvar.exp() - logvar).sum(1), "the -1 inside the sum is missing (KL must be 0 when mu = 0 and logvar = 0)"),
        (0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).mean(1),
         "you averaged over the latent dimensions: the KL of a diagonal Gaussian is a SUM over dimensions"),
        (0.5 * (mu.pow(2) + logvar.exp() - 1 + logvar).sum(1), "the sign of the log-variance term is wrong: it is - logvar"),
        (0.5 * (mu + logvar.exp() - 1 - logvar).sum(1), "the mean enters squared: mu_j^2"),
    ]


#: What does the Gaussian KL exercise alone: the package's function and torch.distributions' KL.
_KL_FORBIDDEN = (gaussian_kl, distributions_kl.kl_divergence, distributions_kl._kl_normal_normal)


def check_gaussian_kl(fn) -> Feedback:
    """Check ``fn(mu, logvar) -> (B,)``: ``1/2 sum_j (mu_j^2 + exp(logvar_j) - 1 - logvar_j)``.

    ``logvar`` is the log of the variance; the sum runs over the latent dimensions, one value
    per example. ``course_gen.vae.gaussian_kl`` and ``torch.distributions.kl_divergence`` are not
    allowed (they are the whole exercise).
    """

    def checks() -> None:
        kl = answer(fn, "gaussian_kl", forbidden=_KL_FORBIDDEN)
        for mu, logvar in _kl_cases():
            got = kl(mu.clone(), logvar.clone())
            expected = gaussian_kl(mu, logvar)
            _check_batch_shape(got, mu.shape[0], "the KL", expected)
            if isinstance(got, torch.Tensor) and got.is_floating_point() and bool(torch.isnan(got).any()):
                raise Mistake("your KL has NaNs: did you take the log of logvar? logvar is ALREADY log sigma^2 "
                              "and can be negative; the variance is exp(logvar)")
            first_mistake(got, _kl_mistakes(mu, logvar), expected)
            expect_close(got, expected, "KL per example", atol=1e-8, rtol=1e-6)

    return run_checks("Gaussian KL", checks)


# ============================================================================ reparameterisation


def _reparameterize_cases() -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    generator = torch.Generator().manual_seed(11)
    cases = []
    for batch, k in ((4, 3), (2, 5)):
        mu = torch.randn(batch, k, generator=generator, dtype=torch.float64)
        logvar = 1.5 * torch.randn(batch, k, generator=generator, dtype=torch.float64)
        eps = torch.randn(batch, k, generator=generator, dtype=torch.float64)
        cases.append((mu, logvar, eps))
    return cases


def _reparameterize_reference(mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    return mu + torch.exp(0.5 * logvar) * eps


def check_reparameterize(fn) -> Feedback:
    """Check ``fn(mu, logvar, eps) -> z``: ``z = mu + exp(logvar / 2) * eps``, shaped like ``mu``,
    with gradients flowing to ``mu`` and ``logvar`` (no sampling inside: ``eps`` is given)."""

    def checks() -> None:
        reparameterize = answer(fn, "reparameterize", forbidden=[VAE.reparameterize, _reparameterize_reference])
        for mu, logvar, eps in _reparameterize_cases():
            mu_in, logvar_in = mu.clone().requires_grad_(True), logvar.clone().requires_grad_(True)
            got = reparameterize(mu_in, logvar_in, eps.clone())
            expected = _reparameterize_reference(mu, logvar, eps)
            first_mistake(got, [
                (mu + torch.exp(logvar) * eps, "you scaled eps by the variance exp(logvar); the standard "
                                                "deviation is sigma = exp(logvar / 2) (the 1/2 is missing)"),
                (mu + logvar * eps, "you used logvar as if it were the standard deviation: sigma = exp(logvar / 2)"),
                (mu + torch.sqrt(logvar.abs()) * eps, "logvar is a LOG-variance: sigma = exp(logvar / 2), not sqrt(logvar)"),
                (mu + torch.exp(-0.5 * logvar) * eps, "the sign in the exponent is wrong: sigma = exp(+logvar / 2)"),
                (mu * torch.exp(0.5 * logvar) + eps, "the roles are swapped: shift by mu, scale the noise: mu + sigma * eps"),
                (mu.clone(), "you returned the mean: the sample needs the noise term sigma * eps"),
            ], expected)
            expect_close(got, expected, "z", atol=1e-8, rtol=1e-6)
            if not got.requires_grad:
                raise Mistake("z does not depend on mu and logvar through autograd: compute it from them with "
                              "torch operations (no .detach(), no new tensors)")
            grad_mu, grad_logvar = torch.autograd.grad(got.sum(), (mu_in, logvar_in), allow_unused=True)
            if grad_mu is None or grad_logvar is None:
                raise Mistake("gradients must reach both mu and logvar: that is the point of the trick")

    return run_checks("reparameterised sample", checks)


# ============================================================================ the ELBO (larger task)


def _elbo_reference(x: torch.Tensor, encoder, decoder, eps: torch.Tensor) -> torch.Tensor:
    """``log p(x | z) - KL(q(z | x) || N(0, I))`` per example, ``z = mu + exp(logvar / 2) * eps``."""
    mu, logvar = encoder(x)
    z = mu + torch.exp(0.5 * logvar) * eps
    log_likelihood = -F.binary_cross_entropy_with_logits(decoder(z), x, reduction="none").sum(1)
    return log_likelihood - gaussian_kl(mu, logvar)


def _elbo_model(seed: int, side: int, latent_dim: int, hidden: int) -> VAE:
    """A small Bernoulli VAE in float64 whose weights depend only on ``seed``; its encoder's last
    layer is scaled up so that mu and logvar are far from 0 (the KL matters)."""
    with seeded(seed):
        model = VAE(latent_dim=latent_dim, image_shape=(1, side, side), hidden_sizes=(hidden,)).double()
        with torch.no_grad():
            last = model.encoder[-1]
            last.weight.mul_(4.0)
            last.bias.copy_(torch.randn(last.bias.shape, dtype=torch.float64))
    return model


def _elbo_cases() -> list[tuple[VAE, torch.Tensor, torch.Tensor, torch.Tensor]]:
    """``(model, x, eps, other_eps)``: binary images ``(B, D)`` and two noises ``(B, k)``."""
    cases = []
    for seed, (batch, side, latent_dim, hidden) in enumerate(((5, 4, 3, 8), (3, 3, 2, 6))):
        model = _elbo_model(seed, side, latent_dim, hidden)
        generator = torch.Generator().manual_seed(100 + seed)
        x = (torch.rand(batch, side * side, generator=generator, dtype=torch.float64) < 0.4).double()
        eps = torch.randn(batch, latent_dim, generator=generator, dtype=torch.float64)
        other_eps = torch.randn(batch, latent_dim, generator=generator, dtype=torch.float64)
        cases.append((model, x, eps, other_eps))
    return cases


def _elbo_mistakes(x: torch.Tensor, encoder, decoder, eps: torch.Tensor) -> list[tuple[torch.Tensor, str]]:
    """The ELBO as the common mistakes compute it."""
    mu, logvar = encoder(x)
    sigma = torch.exp(0.5 * logvar)
    z = mu + sigma * eps
    logits = decoder(z)
    bce = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    recon, kl = -bce.sum(1), gaussian_kl(mu, logvar)
    probs = torch.sigmoid(logits)

    def recon_at(code: torch.Tensor) -> torch.Tensor:
        return -F.binary_cross_entropy_with_logits(decoder(code), x, reduction="none").sum(1)

    mse = ("you used a squared error: with a Bernoulli decoder log p(x | z) = sum_pixels [x log p + (1 - x) "
           "log(1 - p)], p = sigmoid(logits), i.e. minus binary_cross_entropy_with_logits summed over pixels")
    elbo = recon - kl
    return [
        (recon + kl, "the KL has the wrong sign: ELBO = log p(x | z) - KL(q(z | x) || p(z)); you added it"),
        (recon, "the KL term is missing: ELBO = log p(x | z) - KL(q(z | x) || p(z))"),
        (-elbo, "you returned the negative ELBO (the training loss): return the ELBO itself, log p(x | z) - KL"),
        (-recon - kl, "the reconstruction term has the wrong sign: binary cross-entropy is -log p(x | z)"),
        (-bce.mean(1) - kl, "you averaged log p(x | z) over the pixels: the pixels are independent given z, so "
                            "their log-probabilities add up: SUM over the pixels"),
        (-(x - probs).pow(2).sum(1) - kl, mse),
        (-(x - probs).pow(2).mean(1) - kl, mse),
        (-(x - logits).pow(2).sum(1) - kl, mse),
        (-(x - logits).pow(2).mean(1) - kl, mse),
        (-(x - probs).pow(2).mean() - kl, mse),
        (-F.binary_cross_entropy_with_logits(probs, x, reduction="none").sum(1) - kl,
         "the decoder already returns LOGITS: you applied the sigmoid twice (use binary_cross_entropy_with_logits "
         "on the logits, or binary_cross_entropy on sigmoid(logits))"),
        (recon_at(mu) - kl, "you decoded z = mu: the sample is z = mu + exp(logvar / 2) * eps, with the given eps"),
        (recon_at(mu + torch.exp(logvar) * eps) - kl,
         "you scaled eps by the variance exp(logvar): sigma = exp(logvar / 2) (the 1/2 is missing)"),
        (recon_at(mu + logvar * eps) - kl, "you used logvar as the standard deviation: sigma = exp(logvar / 2)"),
        (recon_at(mu + eps) - kl, "you forgot to scale eps by sigma = exp(logvar / 2): z = mu + sigma * eps"),
        (recon - 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).mean(1),
         "the KL is a SUM over the latent dimensions (you averaged it)"),
        (recon - 2 * kl, "the KL is twice too large: KL = 1/2 sum_j (mu_j^2 + sigma_j^2 - 1 - log sigma_j^2)"),
        (elbo.mean().expand_as(elbo), "you returned the batch mean for every example: one ELBO per example"),
    ]


#: What does the ELBO task alone: the package's bounds and losses, and the checker's reference.
_ELBO_FORBIDDEN = (VAE.elbo, VAE.loss, VAE.log_weights, VAE.log_likelihood, VAE._log_likelihood, iwae_bound,
                   rounded_gaussian_elbo, _elbo_reference)


def check_elbo(fn) -> Feedback:
    """Check ``fn(x, encoder, decoder, eps) -> (B,)``, the ELBO per example of a Bernoulli VAE:

        mu, logvar = encoder(x);  z = mu + exp(logvar / 2) * eps;  logits = decoder(z)
        ELBO = sum_pixels [x log sigmoid(logits) + (1 - x) log(1 - sigmoid(logits))] - KL(N(mu, sigma^2) || N(0, I))

    ``x``: binary images ``(B, D)``; ``encoder(x)`` gives ``(mu, logvar)``, each ``(B, k)``;
    ``decoder(z)`` gives Bernoulli logits ``(B, D)``; ``eps``: ``(B, k)``, the noise to use (no
    sampling inside). Checked on two small seeded :class:`~course_gen.vae.VAE` (``encoder =
    model.encode``, ``decoder = model.decoder``); the result must be differentiable with respect to
    their parameters. ``VAE.elbo``, ``VAE.loss`` and the package's other bounds are not allowed.
    """

    def checks() -> None:
        elbo = answer(fn, "elbo", forbidden=_ELBO_FORBIDDEN)
        for model, x, eps, other_eps in _elbo_cases():
            encoder, decoder = model.encode, model.decoder
            got = elbo(x.clone(), encoder, decoder, eps.clone())
            reference = _elbo_reference(x, encoder, decoder, eps)
            expected = reference.detach()
            with torch.no_grad():
                mistakes = _elbo_mistakes(x, encoder, decoder, eps)
            _check_batch_shape(got, x.shape[0], "the ELBO", expected)
            first_mistake(got, mistakes, expected)
            if isinstance(got, torch.Tensor) and got.shape == expected.shape and bool(torch.isfinite(got).all()):
                if not matches(elbo(x.clone(), encoder, decoder, eps.clone()), got.detach(), atol=1e-9):
                    raise Mistake("your ELBO changes from one call to the next with the same eps: you drew new "
                                  "noise (torch.randn...); use the given eps, z = mu + exp(logvar / 2) * eps")
                if matches(elbo(x.clone(), encoder, decoder, other_eps.clone()), got.detach(), atol=1e-9):
                    raise Mistake("your ELBO does not change when eps does: z = mu + exp(logvar / 2) * eps must "
                                  "use the given eps (no noise of your own)")
            expect_close(got, expected, "the ELBO per example", atol=1e-8, rtol=1e-6)
            if not got.requires_grad:
                raise Mistake("no gradient reaches the encoder and the decoder (torch.no_grad or .detach()?): the "
                              "ELBO is what training maximises, keep it differentiable")
            weights = (model.encoder[-1].weight, model.decoder[-1].weight)
            grads = torch.autograd.grad(got.sum(), weights, allow_unused=True)
            expected_grads = torch.autograd.grad(reference.sum(), weights)
            for grad, expected_grad, part in zip(grads, expected_grads, ("encoder", "decoder")):
                if grad is None or not torch.allclose(grad, expected_grad, atol=1e-8, rtol=1e-6):
                    raise Mistake(f"the value is right but the gradient with respect to the {part} is not: compute "
                                  "z = mu + exp(logvar / 2) * eps and the logits from the encoder's and decoder's "
                                  "outputs without .detach(), so the reparameterisation carries the gradient back")

    return run_checks("ELBO of a VAE", checks)


# ============================================================================ IWAE log-mean-exp


def _log_mean_exp_cases() -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(13)
    moderate = 3.0 * torch.randn(10, 4, generator=generator, dtype=torch.float64)
    # Realistic log-weights of images: around -100 nats, exp underflows to 0 in float32 and float64
    # once below about -745.
    large = -900.0 + 5.0 * torch.randn(50, 3, generator=generator, dtype=torch.float64)
    return [moderate, large]


def check_log_mean_exp(fn) -> Feedback:
    """Check ``fn(log_w) -> (B,)`` for log-weights ``(k, B)``: ``log (1/k) sum_i exp(log_w[i])``,
    stable for log-weights far below -700 (where ``exp`` underflows to 0).
    ``course_gen.vae.log_mean_exp`` is not allowed (``torch.logsumexp`` is)."""

    def checks() -> None:
        mean_exp = answer(fn, "log_mean_exp", forbidden=[log_mean_exp])
        for log_w in _log_mean_exp_cases():
            k = log_w.shape[0]
            got = mean_exp(log_w.clone())
            correct = log_mean_exp(log_w, dim=0)
            _check_batch_shape(got, log_w.shape[1], "the bound", correct)
            first_mistake(got, [
                (log_w.mean(0), "you averaged the log-weights: that is the ELBO (k samples of it). IWAE takes the "
                                "log of the MEAN of the weights, log (1/k) sum_i w_i, which is larger"),
                (torch.logsumexp(log_w, 0), "the -log k is missing: the bound averages the k weights, "
                                            "log (1/k) sum_i w_i = logsumexp(log_w) - log k"),
                (torch.logsumexp(log_w, 0) + math.log(k), "the sign of log k is wrong: subtract log k"),
                (log_mean_exp(log_w, dim=1), "wrong axis: the k samples run along dim 0, examples along dim 1"),
                (log_w.max(0).values, "you kept only the largest weight: average them all (logsumexp - log k)"),
            ], correct)
            underflows = bool(torch.exp(log_w).eq(0).all())  # the naive formula gives log 0 = -inf here
            if (underflows and isinstance(got, torch.Tensor) and got.shape == correct.shape
                    and not bool(torch.isfinite(got).all())):
                raise Mistake("your result is -inf or NaN for log-weights near -900: exp underflows to 0. "
                              "Subtract the maximum first (m + log mean exp(log_w - m)), i.e. torch.logsumexp")
            expect_close(got, correct, "log-mean-exp per example", atol=1e-6, rtol=1e-8)

    return run_checks("IWAE log-mean-exp", checks)
