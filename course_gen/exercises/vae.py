"""Checkers for the exercises of notebook 05 (the ELBO, VAEs, IWAE).

- :func:`check_gaussian_kl`: ``KL(N(mu, diag exp(logvar)) || N(0, I))`` per example;
- :func:`check_reparameterize`: the reparameterised sample ``z = mu + exp(logvar / 2) * eps``;
- :func:`check_log_mean_exp`: the IWAE average ``log (1/k) sum_i exp(log_w_i)``, stably.

Each runs the student's function on cases with known answers, names the mistakes it recognises
(a missing 1/2, variance and log-variance mixed up, a mean of the logs instead of the log of the
mean, an overflow, a forgotten ``- log k``, ...) and returns a
:class:`~course_gen.exercises.Feedback`; none raises.
"""

from __future__ import annotations

import math

import torch

from course_gen.exercises._feedback import Feedback, Mistake, expect_close, run_checks
from course_gen.vae import gaussian_kl, log_mean_exp

__all__ = ["check_gaussian_kl", "check_log_mean_exp", "check_reparameterize"]


def _same(got, value: torch.Tensor, atol: float = 1e-6) -> bool:
    """Whether ``got`` is a finite tensor with ``value``'s shape and values (a quiet test)."""
    if not isinstance(got, torch.Tensor) or tuple(got.shape) != tuple(value.shape):
        return False
    got = got.detach().to("cpu", value.dtype)
    return bool(torch.isfinite(got).all()) and bool(torch.allclose(got, value, atol=atol, rtol=1e-5))


def _diagnose(got, correct: torch.Tensor, mistakes: list[tuple[torch.Tensor, str]]) -> None:
    """Raise :class:`Mistake` with the message of the first known wrong answer ``got`` equals
    (unless ``got`` is also the correct answer: on some inputs a mistake makes no difference)."""
    if _same(got, correct):
        return
    for wrong, message in mistakes:
        if _same(got, wrong):
            raise Mistake(message)


def _check_batch_shape(got, batch: int, what: str) -> None:
    if isinstance(got, torch.Tensor) and got.ndim == 0 and batch > 1:
        raise Mistake(f"{what} should have one value per example, shape ({batch},): you reduced over the batch")


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


def check_gaussian_kl(fn) -> Feedback:
    """Check ``fn(mu, logvar) -> (B,)``: ``1/2 sum_j (mu_j^2 + exp(logvar_j) - 1 - logvar_j)``.

    ``logvar`` is the log of the variance; the sum runs over the latent dimensions, one value
    per example.
    """

    def checks() -> None:
        for mu, logvar in _kl_cases():
            got = fn(mu.clone(), logvar.clone())
            _check_batch_shape(got, mu.shape[0], "the KL")
            if isinstance(got, torch.Tensor) and got.is_floating_point() and bool(torch.isnan(got).any()):
                raise Mistake("your KL has NaNs: did you take the log of logvar? logvar is ALREADY log sigma^2 "
                              "and can be negative; the variance is exp(logvar)")
            _diagnose(got, gaussian_kl(mu, logvar), _kl_mistakes(mu, logvar))
            expect_close(got, gaussian_kl(mu, logvar), "KL per example", atol=1e-8, rtol=1e-6)

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


def check_reparameterize(fn) -> Feedback:
    """Check ``fn(mu, logvar, eps) -> z``: ``z = mu + exp(logvar / 2) * eps``, shaped like ``mu``,
    with gradients flowing to ``mu`` and ``logvar`` (no sampling inside: ``eps`` is given)."""

    def checks() -> None:
        for mu, logvar, eps in _reparameterize_cases():
            mu_in, logvar_in = mu.clone().requires_grad_(True), logvar.clone().requires_grad_(True)
            got = fn(mu_in, logvar_in, eps.clone())
            expected = mu + torch.exp(0.5 * logvar) * eps
            _diagnose(got, expected, [
                (mu + torch.exp(logvar) * eps, "you scaled eps by the variance exp(logvar); the standard "
                                                "deviation is sigma = exp(logvar / 2) (the 1/2 is missing)"),
                (mu + logvar * eps, "you used logvar as if it were the standard deviation: sigma = exp(logvar / 2)"),
                (mu + torch.sqrt(logvar.abs()) * eps, "logvar is a LOG-variance: sigma = exp(logvar / 2), not sqrt(logvar)"),
                (mu + torch.exp(-0.5 * logvar) * eps, "the sign in the exponent is wrong: sigma = exp(+logvar / 2)"),
                (mu * torch.exp(0.5 * logvar) + eps, "the roles are swapped: shift by mu, scale the noise: mu + sigma * eps"),
                (mu.detach().clone(), "you returned the mean: the sample needs the noise term sigma * eps"),
            ])
            expect_close(got, expected, "z", atol=1e-8, rtol=1e-6)
            if not got.requires_grad:
                raise Mistake("z does not depend on mu and logvar through autograd: compute it from them with "
                              "torch operations (no .detach(), no new tensors)")
            grad_mu, grad_logvar = torch.autograd.grad(got.sum(), (mu_in, logvar_in), allow_unused=True)
            if grad_mu is None or grad_logvar is None:
                raise Mistake("gradients must reach both mu and logvar: that is the point of the trick")

    return run_checks("reparameterised sample", checks)


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
    stable for log-weights far below -700 (where ``exp`` underflows to 0)."""

    def checks() -> None:
        for log_w in _log_mean_exp_cases():
            k = log_w.shape[0]
            got = fn(log_w.clone())
            _check_batch_shape(got, log_w.shape[1], "the bound")
            correct = log_mean_exp(log_w, dim=0)
            _diagnose(got, correct, [
                (log_w.mean(0), "you averaged the log-weights: that is the ELBO (k samples of it). IWAE takes the "
                                "log of the MEAN of the weights, log (1/k) sum_i w_i, which is larger"),
                (torch.logsumexp(log_w, 0), "the -log k is missing: the bound averages the k weights, "
                                            "log (1/k) sum_i w_i = logsumexp(log_w) - log k"),
                (torch.logsumexp(log_w, 0) + math.log(k), "the sign of log k is wrong: subtract log k"),
                (log_mean_exp(log_w, dim=1), "wrong axis: the k samples run along dim 0, examples along dim 1"),
                (log_w.max(0).values, "you kept only the largest weight: average them all (logsumexp - log k)"),
            ])
            if isinstance(got, torch.Tensor) and got.shape == correct.shape and not bool(torch.isfinite(got).all()):
                raise Mistake("your result is -inf or NaN for log-weights near -900: exp underflows to 0. "
                              "Subtract the maximum first (m + log mean exp(log_w - m)), i.e. torch.logsumexp")
            expect_close(got, correct, "log-mean-exp per example", atol=1e-6, rtol=1e-8)

    return run_checks("IWAE log-mean-exp", checks)
