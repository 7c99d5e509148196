"""Bounds on ``log p(x)`` beyond the model's own ELBO: the importance-weighted bound, and the
ELBO of a Gaussian decoder read as a model of binary pixels (to compare it with a Bernoulli one)."""

from __future__ import annotations

import math

import torch

from course_gen._checks import check_int
from course_gen.runtime import evaluating
from course_gen.vae.gaussians import _LOG_2PI, _check_count, _generator, gaussian_kl
from course_gen.vae.model import ELBOTerms, VAE, _check_vae

#: The most importance samples :func:`iwae_bound` draws per image (in chunks: memory stays bounded,
#: the time grows with ``k``).
MAX_IWAE_K = 10**6


@torch.no_grad()
def iwae_bound(model: VAE, x: torch.Tensor, k: int, seed: int | None = None, chunk: int = 100) -> torch.Tensor:
    """The importance-weighted bound (Burda et al. 2016) per example, shape ``(B,)``:

        L_k(x) = log (1/k) sum_{i=1..k} p(x, z_i) / q(z_i | x),   z_i ~ q(z | x),

    computed stably with ``logsumexp`` over the log-weights (never exponentiated directly),
    ``chunk`` samples at a time so memory stays bounded for large ``k``. ``L_1`` is the ELBO
    (in expectation); ``E[L_k]`` does not decrease with ``k`` and tends to ``log p(x)``.
    ``k`` is at most :data:`MAX_IWAE_K`.
    """
    model = _check_vae(model)
    k = check_int("k", k, minimum=1, maximum=MAX_IWAE_K)
    chunk = check_int("chunk", chunk, minimum=1)
    flat = model._check_input(x, "iwae_bound")
    chunk = _check_count("chunk", chunk, per_draw=flat.numel())
    generator = _generator(seed, flat.device)
    with evaluating(model):
        partial = []
        for start in range(0, k, chunk):
            count = min(chunk, k - start)
            z, log_q, _, _ = model._posterior_samples(flat, count, generator)
            log_prior = -0.5 * (_LOG_2PI + z.pow(2)).sum(-1)
            log_w = model._log_likelihood(z, flat) + log_prior - log_q
            partial.append(torch.logsumexp(log_w, dim=0))
    return torch.logsumexp(torch.stack(partial), dim=0) - math.log(k)


@torch.no_grad()
def rounded_gaussian_elbo(model: VAE, x: torch.Tensor, n_samples: int = 1, seed: int | None = None) -> ELBOTerms:
    """The ELBO of a Gaussian-decoder VAE read as a model of **binary** pixels, per example ``(B,)``.

    A Gaussian density on 0/1 data is not a probability (it grows without bound as sigma shrinks),
    so its ELBO cannot be compared with a Bernoulli decoder's. Rounding makes it one: draw
    ``y ~ N(mean(z), sigma^2)`` and report ``x = [y > 1/2]``, so

        P(x_l = 1 | z) = Phi((mean_l(z) - 1/2) / sigma),  P(x_l = 0 | z) = 1 - P(x_l = 1 | z),

    and ``E_q[log P(x | z)] - KL(q(z | x) || p(z))`` is a lower bound on ``log P(x)`` for that
    discrete model, in the same nats as a Bernoulli decoder's ELBO. ``x`` must be binary.
    """
    model = _check_vae(model)
    if model.likelihood != "gaussian" or model.decoder_kind != "mlp" or model.n_flows:
        raise ValueError("rounded_gaussian_elbo needs a VAE(likelihood='gaussian') with the MLP decoder and no flows")
    n_samples = check_int("n_samples", n_samples, minimum=1)
    flat = model._check_input(x, "rounded_gaussian_elbo")
    n_samples = _check_count("n_samples", n_samples, per_draw=flat.numel())
    if not bool(((flat == 0) | (flat == 1)).all()):
        raise ValueError("rounded_gaussian_elbo models binary pixels: x must hold only 0 and 1")
    mu, logvar = model._encode(flat)
    z = model.reparameterize(mu, logvar, n_samples, _generator(seed, flat.device))
    standardised = (model.decoder(z) - 0.5) / model.decoder_log_std.exp()
    sign = 2 * flat - 1  # log Phi(s * a) is log P(x = 1) for s = 1 and log P(x = 0) for s = -1
    reconstruction = torch.special.log_ndtr(sign * standardised).sum(-1).mean(0)
    kl = gaussian_kl(mu, logvar)
    return ELBOTerms(reconstruction - kl, reconstruction, kl)
