"""Richer posteriors (Rezende and Mohamed 2015): planar maps after the Gaussian ``q_0``.

- :func:`amortised_planar`: one planar map per example, its parameters output by the encoder
  (what ``VAE(n_flows=K)`` applies ``K`` times);
- :func:`fit_planar_posterior`: ``q_0`` and ``K`` planar maps fit to the exact posterior of the
  tractable :class:`~course_gen.vae.LinearGaussian` for one ``x``: the gap to ``log p(x)`` shrinks with ``K``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from course_gen._checks import check_int, check_positive_number, check_seed, check_tensor
from course_gen.runtime import seeded
from course_gen.vae.gaussians import _check_count, gaussian_log_prob
from course_gen.vae.linear_gaussian import LinearGaussian

#: The most planar maps a posterior may chain (:func:`fit_planar_posterior`, ``VAE(n_flows=...)``).
MAX_FLOWS = 100
#: The most optimisation steps :func:`fit_planar_posterior` takes.
MAX_STEPS = 10**7


def amortised_planar(z: torch.Tensor, u: torch.Tensor, w: torch.Tensor, b: torch.Tensor
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """One planar map per example (its parameters come from the encoder, one set per image):

        f(z) = z + u_hat tanh(w^T z + b),   log|det df/dz| = log(1 + tanh'(w^T z + b) w^T u_hat)

    (matrix determinant lemma: ``det(I + u_hat psi^T) = 1 + psi^T u_hat`` with ``psi = tanh' w``).
    ``u_hat = u + (softplus(w^T u) - 1 - w^T u) w / |w|^2`` makes ``w^T u_hat = -1 + softplus(w^T u)
    > -1``, so the map is invertible and the determinant positive for any ``u, w, b``.

    ``z``: ``(B, k)`` or ``(S, B, k)`` (S samples per example); ``u``, ``w``: ``(B, k)``; ``b``:
    ``(B,)``. Returns ``f(z)`` shaped like ``z`` and the log-determinant ``(B,)`` or ``(S, B)``.
    """
    for name, value in (("z", z), ("u", u), ("w", w), ("b", b)):
        check_tensor(name, value, dtype="float")
    if u.ndim != 2 or w.shape != u.shape or b.shape != u.shape[:1]:
        raise ValueError(f"u and w must have shape (B, k) and b (B,), got {tuple(u.shape)}, {tuple(w.shape)}, {tuple(b.shape)}")
    if z.ndim not in (2, 3) or z.shape[-2:] != u.shape:
        raise ValueError(f"z must have shape {tuple(u.shape)} or (S, {u.shape[0]}, {u.shape[1]}) like u, got {tuple(z.shape)}")
    wu = (w * u).sum(-1, keepdim=True)
    u_hat = u + (F.softplus(wu) - 1 - wu) * w / (w.pow(2).sum(-1, keepdim=True) + 1e-12)
    activation = torch.tanh((z * w).sum(-1) + b)
    log_det = torch.log1p((1 - activation.pow(2)) * (w * u_hat).sum(-1))
    return z + u_hat * activation[..., None], log_det


class PlanarPosterior(NamedTuple):
    """What :func:`fit_planar_posterior` returns (nats, for one observation ``x``)."""

    elbo: float
    log_marginal: float
    gap: float
    samples: torch.Tensor


def fit_planar_posterior(model: LinearGaussian, x: torch.Tensor, n_flows: int, steps: int = 1500,
                         n_samples: int = 256, lr: float = 0.01, seed: int = 0,
                         n_eval: int = 20_000) -> PlanarPosterior:
    """Fit ``q_K`` = a diagonal Gaussian ``q_0 = N(m, diag s^2)`` followed by ``n_flows`` planar maps
    (:class:`course_gen.flows.Planar`) to the posterior of the tractable model, for one ``x``, by
    maximising ``ELBO = E_q0[log p(x, z_K) - log q_0(z_0) + sum_k log|det df_k/dz_{k-1}|]`` with Adam
    (``n_samples`` reparameterised draws a step, ``seed`` for everything).

    ``K = 0`` is mean-field: its best gap ``KL(q || p(z | x))`` is positive when the posterior is
    correlated. Returns the ELBO (``n_eval`` draws), the exact ``log p(x)``, their gap and 2000
    samples ``z_K``. At most :data:`MAX_FLOWS` maps and :data:`MAX_STEPS` steps; ``ValueError`` if
    the fit diverges (a learning rate far too large).
    """
    from course_gen.flows import planar_flows

    if not isinstance(model, LinearGaussian):
        raise TypeError(f"model must be a LinearGaussian, got {type(model).__name__}")
    x = model._check_x(x)
    if x.shape[0] != 1:
        raise ValueError(f"fit_planar_posterior fits one observation: x must have shape (1, {model.data_dim}), got {tuple(x.shape)}")
    n_flows = check_int("n_flows", n_flows, minimum=0, maximum=MAX_FLOWS)
    steps = check_int("steps", steps, minimum=0, maximum=MAX_STEPS)
    k = model.latent_dim
    n_samples = _check_count("n_samples", n_samples, per_draw=k * (n_flows + 2))
    n_eval = _check_count("n_eval", n_eval, per_draw=k * (n_flows + 2))
    lr = check_positive_number("lr", lr)
    generator = torch.Generator().manual_seed(check_seed(seed))
    with seeded(seed):
        flows = nn.ModuleList(planar_flows(k, n_flows, seed=seed) if n_flows else []).double()
    mean = nn.Parameter(torch.zeros(k, dtype=torch.float64))
    log_std = nn.Parameter(torch.zeros(k, dtype=torch.float64))

    def bound(n: int) -> torch.Tensor:
        eps = torch.randn(n, k, generator=generator, dtype=torch.float64)
        z_0 = mean + log_std.exp() * eps
        if not all(bool(torch.isfinite(t).all()) for t in (z_0, *flows.parameters())):
            raise ValueError(f"the fit diverged (q's parameters or draws became NaN or inf): try a smaller lr than {lr}")
        log_q0 = gaussian_log_prob(eps, torch.zeros_like(eps), 0.0) - log_std.sum()
        z_k, log_det = z_0, torch.zeros(n, dtype=torch.float64)
        for planar in flows:
            z_k, step_log_det = planar(z_k)
            log_det = log_det + step_log_det
        return model.log_joint(x.expand(n, -1), z_k) - (log_q0 - log_det), z_k

    optimizer = torch.optim.Adam([mean, log_std, *flows.parameters()], lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = -bound(n_samples)[0].mean()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        elbo = float(bound(n_eval)[0].mean())
        samples = bound(2000)[1]
    if not math.isfinite(elbo):
        raise ValueError(f"the fit diverged (ELBO = {elbo}): try a smaller lr than {lr}")
    log_px = float(model.log_marginal(x)[0])
    return PlanarPosterior(elbo, log_px, log_px - elbo, samples)
