"""The evidence lower bound, variational autoencoders, IWAE and beta-VAE (notebook 05).

A latent-variable model ``p(x, z) = p(x | z) p(z)`` has the marginal likelihood
``log p(x) = log E_q[p(x, z) / q(z)]`` for any ``q``; Jensen's inequality gives the

    ELBO(q) = E_q[log p(x, z) - log q(z)] = log p(x) - KL(q(z) || p(z | x)) <= log p(x),

tight exactly when ``q`` is the true posterior ``p(z | x)``.

- :func:`gaussian_kl`: ``KL(N(mu, diag exp(logvar)) || N(0, I)) =
  1/2 sum_j (mu_j^2 + exp(logvar_j) - 1 - logvar_j)``, per example.
- :class:`LinearGaussian`: ``z ~ N(0, I_k)``, ``x | z ~ N(W z + b, sigma^2 I_d)``, a model
  whose marginal ``N(b, W W^T + sigma^2 I)`` and posterior are exact, so the ELBO of any
  Gaussian ``q`` and its gap ``KL(q || p(z | x))`` can be computed in closed form.
- :class:`VAE`: an amortised Gaussian encoder ``q(z | x) = N(mu(x), diag sigma^2(x))`` and a
  Bernoulli or Gaussian decoder (or a MADE decoder that sees the previous pixels, to show
  posterior collapse); ``elbo`` estimates ``E_q[log p(x | z)] - KL(q(z | x) || p(z))`` with
  the reparameterisation ``z = mu + sigma * eps``, ``eps ~ N(0, I)``. ``beta`` weighs the KL
  in the training loss (beta-VAE).
- :func:`iwae_bound`: ``log (1/k) sum_i p(x, z_i) / q(z_i | x)``, ``z_i ~ q(z | x)``: a lower
  bound that equals the ELBO (in expectation) for ``k = 1`` and rises towards ``log p(x)``.
- Richer posteriors (Rezende and Mohamed 2015): ``VAE(n_flows=K)`` follows the Gaussian
  ``q_0(z_0 | x)`` by ``K`` planar maps whose parameters the encoder outputs per image
  (:func:`amortised_planar`); then ``ELBO = E_q0[log p(x, z_K) - log q_0(z_0) + sum_k
  log|det df_k / dz_{k-1}|]``. :func:`fit_planar_posterior` does the same for one ``x`` of the
  tractable :class:`LinearGaussian` model, whose exact ``log p(x)`` shows the gap shrink with ``K``.
- :func:`build` and :func:`fit`: the models and the training recipe of the notebook's shipped
  comparison weights; :func:`rounded_gaussian_elbo`: a Gaussian decoder made a model of binary
  pixels (``x = [y > 1/2]``), so its bound can be compared with a Bernoulli decoder's.

Everything is in nats per example (one number per image); ``course_gen.metrics.bits_per_dim``
converts to bits per dimension.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

import course_gen
from course_gen._checks import check_choice, check_int, check_nonnegative, check_positive_number, check_seed
from course_gen.autoregressive import MaskedLinear, made_degrees, made_masks

__all__ = [
    "DECODERS",
    "ELBOTerms",
    "LIKELIHOODS",
    "COMPARISON_HIDDEN",
    "COMPARISON_IMAGE_SHAPE",
    "LinearGaussian",
    "PlanarPosterior",
    "VAE",
    "active_units",
    "amortised_planar",
    "build",
    "factor_correlations",
    "fit",
    "fit_planar_posterior",
    "gaussian_kl",
    "gaussian_log_prob",
    "iwae_bound",
    "kl_per_dimension",
    "load_or_fit",
    "log_mean_exp",
    "rounded_gaussian_elbo",
]

#: Decoder likelihoods of :class:`VAE`.
LIKELIHOODS = ("bernoulli", "gaussian")
#: Decoder networks of :class:`VAE`: a plain MLP, or a MADE that also sees the previous pixels.
DECODERS = ("mlp", "made", "mlp_ar")

_LOG_2PI = math.log(2 * math.pi)


# ============================================================================ checks


def _check_float_tensor(name: str, value) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if not value.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {value.dtype}")
    if bool(torch.isnan(value).any()):
        raise ValueError(f"{name} contains NaN values")
    return value


def _generator(seed, device: torch.device) -> torch.Generator | None:
    """A generator on ``device`` seeded with ``seed``, or None (use the global random state)."""
    if seed is None:
        return None
    return torch.Generator(device=device).manual_seed(check_seed(seed))


# ============================================================================ Gaussians


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``KL(N(mu, diag exp(logvar)) || N(0, I))`` per example, in nats.

    ``1/2 sum_j (mu_j^2 + exp(logvar_j) - 1 - logvar_j)``, summed over every dimension but the
    first: ``(B, k)`` gives ``(B,)``; a single ``(k,)`` gives a 0-d tensor. Zero iff ``mu = 0``
    and ``logvar = 0``.
    """
    _check_float_tensor("mu", mu)
    _check_float_tensor("logvar", logvar)
    if mu.shape != logvar.shape:
        raise ValueError(f"mu and logvar must have the same shape, got {tuple(mu.shape)} and {tuple(logvar.shape)}")
    if mu.ndim == 0:
        raise ValueError("mu must have at least one dimension (the latent dimensions), got a 0-d tensor")
    per_dim = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)
    return per_dim.sum() if mu.ndim == 1 else per_dim.reshape(mu.shape[0], -1).sum(dim=1)


def gaussian_log_prob(x: torch.Tensor, mean: torch.Tensor, logvar) -> torch.Tensor:
    """``log N(x; mean, diag exp(logvar))`` summed over every dimension but the first:

    ``-1/2 sum_l [log(2 pi) + logvar_l + (x_l - mean_l)^2 / exp(logvar_l)]``. ``logvar`` is a
    tensor broadcastable to ``x`` or a number. With a fixed variance this is
    ``-(L / 2) log(2 pi sigma^2) - sum_l (x_l - mean_l)^2 / (2 sigma^2)``: maximising it over
    ``mean`` is minimising the squared error (MSE), with ``1 / (2 sigma^2)`` as its weight.
    """
    _check_float_tensor("x", x)
    _check_float_tensor("mean", mean)
    if x.ndim == 0 or x.shape[0] == 0:
        raise ValueError(f"x must be a non-empty batch (B, ...), got shape {tuple(x.shape)}")
    try:
        torch.broadcast_shapes(x.shape, mean.shape)
    except RuntimeError as err:
        raise ValueError(f"mean {tuple(mean.shape)} does not broadcast to x {tuple(x.shape)}") from err
    logvar = torch.as_tensor(logvar, dtype=x.dtype, device=x.device)
    per_value = -0.5 * (_LOG_2PI + logvar + (x - mean).pow(2) * torch.exp(-logvar))
    per_value = per_value.expand(torch.broadcast_shapes(per_value.shape, x.shape))
    return per_value.reshape(x.shape[0], -1).sum(dim=1)


def log_mean_exp(values: torch.Tensor, dim: int = 0) -> torch.Tensor:
    """``log (1/k) sum_i exp(values_i)`` along ``dim`` (k entries), computed stably as
    ``m + log (1/k) sum_i exp(values_i - m)`` with ``m`` the maximum (``torch.logsumexp``)."""
    _check_float_tensor("values", values)
    return torch.logsumexp(values, dim=dim) - math.log(values.shape[dim])


# ============================================================================ tractable model


class LinearGaussian:
    """The linear-Gaussian latent model (probabilistic PCA / factor analysis with equal noise):

        z ~ N(0, I_k),    x | z ~ N(W z + b, sigma^2 I_d).

    Everything is exact (float64):

    - marginal ``p(x) = N(x; b, C)`` with ``C = W W^T + sigma^2 I_d`` (:meth:`log_marginal`);
    - posterior ``p(z | x) = N(m(x), S)`` with ``S = (I_k + W^T W / sigma^2)^-1`` and
      ``m(x) = S W^T (x - b) / sigma^2`` (:meth:`posterior`);
    - for a Gaussian ``q(z) = N(m, V)``, the ELBO in closed form (:meth:`elbo`)::

        E_q log p(x|z) = -d/2 log(2 pi sigma^2) - (|x - b - W m|^2 + tr(W V W^T)) / (2 sigma^2)
        E_q log p(z)   = -k/2 log(2 pi) - (|m|^2 + tr V) / 2
        H(q)           =  k/2 log(2 pi e) + 1/2 log det V

      and the gap ``KL(q || p(z | x))`` (:meth:`kl_to_posterior`).

    ``weight``: ``(d, k)``; ``bias``: ``(d,)``; ``noise_std``: sigma > 0.
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, noise_std: float):
        _check_float_tensor("weight", weight)
        _check_float_tensor("bias", bias)
        if weight.ndim != 2:
            raise ValueError(f"weight must be a (data_dim, latent_dim) matrix, got shape {tuple(weight.shape)}")
        if bias.shape != (weight.shape[0],):
            raise ValueError(f"bias must have shape ({weight.shape[0]},) like weight's rows, got {tuple(bias.shape)}")
        self.weight = weight.detach().to(torch.float64).clone()
        self.bias = bias.detach().to(self.weight.device, torch.float64).clone()
        self.noise_std = check_positive_number("noise_std", noise_std)
        self.data_dim, self.latent_dim = self.weight.shape

    @classmethod
    def random(cls, data_dim: int = 2, latent_dim: int = 1, noise_std: float = 0.5, seed: int = 0,
               device=None) -> LinearGaussian:
        """A model with ``W`` and ``b`` drawn from ``N(0, 1)`` with a seeded generator."""
        data_dim = check_int("data_dim", data_dim, minimum=1)
        latent_dim = check_int("latent_dim", latent_dim, minimum=1)
        generator = torch.Generator().manual_seed(check_seed(seed))
        weight = torch.randn(data_dim, latent_dim, generator=generator, dtype=torch.float64)
        bias = torch.randn(data_dim, generator=generator, dtype=torch.float64)
        return cls(weight.to(device or "cpu"), bias.to(device or "cpu"), noise_std)

    @property
    def device(self) -> torch.device:
        return self.weight.device

    def to(self, device) -> LinearGaussian:
        """The same model with its tensors on ``device``."""
        return LinearGaussian(self.weight.to(device), self.bias.to(device), self.noise_std)

    # ------------------------------------------------------------------ checks
    def _check_x(self, x) -> torch.Tensor:
        _check_float_tensor("x", x)
        if x.ndim == 1:
            x = x[None]
        if x.ndim != 2 or x.shape[1] != self.data_dim or x.shape[0] == 0:
            raise ValueError(f"x must have shape (B, {self.data_dim}) or ({self.data_dim},), got {tuple(x.shape)}")
        return x.to(self.device, torch.float64)

    def _check_q(self, x: torch.Tensor, q_mean, q_cov) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x, q_mean as (B, k) and q_cov as (B, k, k), broadcast over the batch."""
        k = self.latent_dim
        _check_float_tensor("q_mean", q_mean)
        _check_float_tensor("q_cov", q_cov)
        q_mean = q_mean.to(self.device, torch.float64)
        q_cov = q_cov.to(self.device, torch.float64)
        if q_mean.ndim == 1:
            q_mean = q_mean[None]
        if q_mean.ndim != 2 or q_mean.shape[1] != k:
            raise ValueError(f"q_mean must have shape (B, {k}) or ({k},), got {tuple(q_mean.shape)}")
        if q_cov.ndim == 2:
            q_cov = q_cov[None]
        if q_cov.ndim != 3 or q_cov.shape[1:] != (k, k):
            raise ValueError(f"q_cov must be a covariance matrix ({k}, {k}) or a batch (B, {k}, {k}), got {tuple(q_cov.shape)}")
        try:
            batch = torch.broadcast_shapes((x.shape[0],), (q_mean.shape[0],), (q_cov.shape[0],))[0]
        except RuntimeError as err:
            raise ValueError(
                f"x, q_mean and q_cov must have the same batch size (or 1), got {x.shape[0]}, "
                f"{q_mean.shape[0]} and {q_cov.shape[0]}"
            ) from err
        if not bool(torch.linalg.cholesky_ex(q_cov).info.eq(0).all()):
            raise ValueError("q_cov must be symmetric positive definite (a covariance matrix)")
        return x.expand(batch, -1), q_mean.expand(batch, -1), q_cov.expand(batch, k, k)

    # ------------------------------------------------------------------ exact quantities
    def marginal_cov(self) -> torch.Tensor:
        """``C = W W^T + sigma^2 I_d``."""
        eye = torch.eye(self.data_dim, dtype=torch.float64, device=self.device)
        return self.weight @ self.weight.T + self.noise_std**2 * eye

    def log_marginal(self, x: torch.Tensor) -> torch.Tensor:
        """``log p(x) = log N(x; b, W W^T + sigma^2 I)``, shape ``(B,)``."""
        x = self._check_x(x)
        marginal = torch.distributions.MultivariateNormal(self.bias, covariance_matrix=self.marginal_cov())
        return marginal.log_prob(x)

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The exact posterior ``p(z | x) = N(m(x), S)``: returns ``m`` ``(B, k)`` and ``S`` ``(k, k)``."""
        x = self._check_x(x)
        eye = torch.eye(self.latent_dim, dtype=torch.float64, device=self.device)
        cov = torch.linalg.inv(eye + self.weight.T @ self.weight / self.noise_std**2)
        cov = (cov + cov.T) / 2
        mean = (x - self.bias) @ self.weight @ cov / self.noise_std**2
        return mean, cov

    def log_joint(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """``log p(x | z) + log p(z)`` for matching batches ``x`` ``(B, d)`` and ``z`` ``(B, k)``."""
        x = self._check_x(x)
        _check_float_tensor("z", z)
        z = z.to(self.device, torch.float64)
        if z.ndim != 2 or z.shape[1] != self.latent_dim or z.shape[0] != x.shape[0]:
            raise ValueError(f"z must have shape ({x.shape[0]}, {self.latent_dim}) to match x, got {tuple(z.shape)}")
        log_likelihood = gaussian_log_prob(x, z @ self.weight.T + self.bias, 2 * math.log(self.noise_std))
        return log_likelihood + gaussian_log_prob(z, torch.zeros_like(z), 0.0)

    def sample(self, n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` draws ``(x, z)`` from the joint: ``z ~ N(0, I)``, ``x = W z + b + sigma eps``."""
        n = check_int("n", n, minimum=1)
        generator = torch.Generator(device=self.device).manual_seed(check_seed(seed))
        z = torch.randn(n, self.latent_dim, generator=generator, dtype=torch.float64, device=self.device)
        noise = torch.randn(n, self.data_dim, generator=generator, dtype=torch.float64, device=self.device)
        return z @ self.weight.T + self.bias + self.noise_std * noise, z

    def elbo(self, x: torch.Tensor, q_mean: torch.Tensor, q_cov: torch.Tensor) -> torch.Tensor:
        """The exact ELBO ``E_q[log p(x, z) - log q(z)]`` of ``q = N(q_mean, q_cov)``, shape ``(B,)``.

        ``q_mean`` ``(B, k)`` or ``(k,)``; ``q_cov`` ``(B, k, k)`` or ``(k, k)``; batches of size 1
        broadcast (one ``x`` against many ``q``, say). Closed form, see the class docstring.
        """
        x, mean, cov = self._check_q(self._check_x(x), q_mean, q_cov)
        d, k, var = self.data_dim, self.latent_dim, self.noise_std**2
        residual = x - self.bias - mean @ self.weight.T
        trace_wvw = torch.einsum("dk,bkl,dl->b", self.weight, cov, self.weight)
        expected_log_likelihood = -0.5 * d * math.log(2 * math.pi * var) - (residual.pow(2).sum(1) + trace_wvw) / (2 * var)
        expected_log_prior = -0.5 * k * _LOG_2PI - 0.5 * (mean.pow(2).sum(1) + torch.diagonal(cov, dim1=1, dim2=2).sum(1))
        entropy = 0.5 * k * (_LOG_2PI + 1.0) + 0.5 * torch.logdet(cov)
        return expected_log_likelihood + expected_log_prior + entropy

    def kl_to_posterior(self, x: torch.Tensor, q_mean: torch.Tensor, q_cov: torch.Tensor) -> torch.Tensor:
        """``KL(N(q_mean, q_cov) || p(z | x))`` in closed form, shape ``(B,)``:

        ``1/2 [tr(S^-1 V) + (m - q_mean)^T S^-1 (m - q_mean) - k + log det S - log det V]``.
        """
        x = self._check_x(x)
        x, mean, cov = self._check_q(x, q_mean, q_cov)
        post_mean, post_cov = self.posterior(x)
        precision = torch.linalg.inv(post_cov)
        diff = post_mean - mean
        trace = torch.einsum("kl,blk->b", precision, cov)
        mahalanobis = torch.einsum("bk,kl,bl->b", diff, precision, diff)
        return 0.5 * (trace + mahalanobis - self.latent_dim + torch.logdet(post_cov) - torch.logdet(cov))

    def __repr__(self) -> str:
        return f"LinearGaussian(data_dim={self.data_dim}, latent_dim={self.latent_dim}, noise_std={self.noise_std})"


# ============================================================================ amortised planar flows


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
        _check_float_tensor(name, value)
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
    samples ``z_K``.
    """
    from course_gen.flows import planar_flows

    if not isinstance(model, LinearGaussian):
        raise TypeError(f"model must be a LinearGaussian, got {type(model).__name__}")
    x = model._check_x(x)
    if x.shape[0] != 1:
        raise ValueError(f"fit_planar_posterior fits one observation: x must have shape (1, {model.data_dim}), got {tuple(x.shape)}")
    n_flows = check_int("n_flows", n_flows, minimum=0)
    steps = check_int("steps", steps, minimum=0)
    k = model.latent_dim
    generator = torch.Generator().manual_seed(check_seed(seed))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(check_seed(seed))
        flows = nn.ModuleList(planar_flows(k, n_flows, seed=seed) if n_flows else []).double()
    mean = nn.Parameter(torch.zeros(k, dtype=torch.float64))
    log_std = nn.Parameter(torch.zeros(k, dtype=torch.float64))

    def bound(n: int) -> torch.Tensor:
        eps = torch.randn(n, k, generator=generator, dtype=torch.float64)
        z_0 = mean + log_std.exp() * eps
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
    log_px = float(model.log_marginal(x)[0])
    return PlanarPosterior(elbo, log_px, log_px - elbo, samples)


# ============================================================================ VAE


class ELBOTerms(NamedTuple):
    """What :meth:`VAE.elbo` returns, each of shape ``(B,)`` in nats:
    ``elbo = reconstruction - kl`` with ``reconstruction = E_q[log p(x | z)]`` (a log-likelihood,
    <= 0 for binary data) and ``kl = KL(q(z | x) || p(z))``."""

    elbo: torch.Tensor
    reconstruction: torch.Tensor
    kl: torch.Tensor


def _mlp(sizes: Sequence[int]) -> nn.Sequential:
    """Linear layers between ``sizes`` with ELU between them (none after the last)."""
    layers: list[nn.Module] = []
    for index, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        if index:
            layers.append(nn.ELU())
        layers.append(nn.Linear(fan_in, fan_out))
    return nn.Sequential(*layers)


class _MADEDecoder(nn.Module):
    """``p(x | z) = prod_d Bernoulli(x_d; sigm(l_d(x_<d, z)))``: a MADE whose hidden layer also
    receives ``z``: ``h = elu((W . M) x + U z + c)``, ``l = (V . M_V) h + A z + a`` (raster order).

    A decoder this strong can model the digits on its own, which invites posterior collapse.
    """

    def __init__(self, latent_dim: int, n_pixels: int, hidden: int):
        super().__init__()
        degrees = made_degrees(n_pixels, (hidden,), seed=0)
        mask_in, mask_out = made_masks(degrees)
        self.hidden_layer = MaskedLinear(n_pixels, hidden, mask_in)
        self.output_layer = MaskedLinear(hidden, n_pixels, mask_out)
        self.from_z_hidden = nn.Linear(latent_dim, hidden, bias=False)
        self.from_z_output = nn.Linear(latent_dim, n_pixels, bias=False)

    def logits(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(..., D)`` for codes ``z`` ``(..., k)`` and flat images ``x`` ``(..., D)``."""
        h = F.elu(self.hidden_layer(x) + self.from_z_hidden(z))
        return self.output_layer(h) + self.from_z_output(z)

    def sample(self, z: torch.Tensor, generator, probabilities: bool) -> torch.Tensor:
        """Draw pixels one by one; with ``probabilities`` return each pixel's probability given the
        pixels drawn before it instead of the 0/1 draw."""
        n_pixels = self.output_layer.out_features
        x = torch.zeros(z.shape[0], n_pixels, device=z.device, dtype=z.dtype)
        probs = torch.zeros_like(x)
        for d in range(n_pixels):
            p = torch.sigmoid(self.logits(z, x)[:, d])
            probs[:, d] = p
            x[:, d] = torch.bernoulli(p, generator=generator)
        return probs if probabilities else x


class _DirectARDecoder(nn.Module):
    """The MLP decoder plus **direct connections from the earlier pixels** (a fully visible
    sigmoid belief net conditioned on ``z``):

        l_d(z, x_<d) = mlp(z)_d + sum_{j < d} W_dj x_j,   p(x | z) = prod_d Bernoulli(x_d; sigm(l_d))

    (raster order). Only the ``D (D - 1) / 2`` entries below the diagonal of ``W`` are parameters,
    so no pixel ever sees itself or a later pixel. With ``W = 0`` it is the MLP decoder; the extra
    context lets it model much of a digit without the code (posterior collapse, notebook 05).
    """

    def __init__(self, latent_dim: int, n_pixels: int, hidden_sizes: Sequence[int]):
        super().__init__()
        self.mlp = _mlp([latent_dim, *reversed(hidden_sizes), n_pixels])
        self.n_pixels = n_pixels
        self.register_buffer("below", torch.tril_indices(n_pixels, n_pixels, offset=-1), persistent=False)
        self.direct = nn.Parameter(torch.zeros(self.below.shape[1]))

    def direct_matrix(self) -> torch.Tensor:
        """``W`` as a ``(D, D)`` matrix, zero on and above the diagonal."""
        weight = self.direct.new_zeros(self.n_pixels, self.n_pixels)
        return weight.index_put((self.below[0], self.below[1]), self.direct)

    def logits(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(..., D)`` for codes ``z`` ``(..., k)`` and flat images ``x`` ``(..., D)``."""
        return self.mlp(z) + x @ self.direct_matrix().T

    def sample(self, z: torch.Tensor, generator, probabilities: bool) -> torch.Tensor:
        """Draw pixels one by one (see :meth:`_MADEDecoder.sample`)."""
        weight = self.direct_matrix()
        base = self.mlp(z)
        x = torch.zeros_like(base)
        probs = torch.zeros_like(base)
        for d in range(self.n_pixels):
            p = torch.sigmoid(base[:, d] + x @ weight[d])
            probs[:, d] = p
            x[:, d] = torch.bernoulli(p, generator=generator)
        return probs if probabilities else x


class VAE(nn.Module):
    """A variational autoencoder (Kingma & Welling 2014) for small images.

    - encoder (amortised inference): ``x -> hidden_sizes -> (mu, logvar)``, ``q(z | x) =
      N(mu, diag exp(logvar))``; prior ``p(z) = N(0, I)``;
    - decoder ``z -> reversed(hidden_sizes) -> D``: Bernoulli logits (``likelihood="bernoulli"``,
      pixels in [0, 1]) or the mean of ``N(mean, sigma^2 I)`` (``"gaussian"``; ``decoder_std``
      fixes sigma, None learns one shared log sigma). ``decoder="made"`` (Bernoulli only) makes
      ``p(x | z) = prod_d p(x_d | x_<d, z)`` autoregressive: a decoder strong enough to ignore z;
      ``decoder="mlp_ar"`` adds to the MLP decoder's logits direct connections from every
      earlier pixel, ``sum_{j<d} W_dj x_j`` (autoregressive too, Bernoulli only);
    - ``n_flows = K > 0``: ``q(z | x)`` is the Gaussian ``q_0`` followed by ``K`` planar maps whose
      ``(u, w, b)`` the encoder also outputs (:func:`amortised_planar`); the KL is then estimated
      by Monte Carlo, ``E[log q_0(z_0) - sum_k log|det df_k/dz_{k-1}| - log p(z_K)]``;
    - training loss (``loss``) ``mean_batch(-E_q[log p(x | z)] + beta * KL(q(z | x) || p(z)))``,
      the negative ELBO for ``beta = 1`` (beta-VAE for ``beta > 1``), with one reparameterised
      sample ``z = mu + exp(logvar / 2) * eps``.

    Inputs are batches ``(B, *image_shape)`` or flat ``(B, D)``; Bernoulli models need values in
    [0, 1] (binary or grey levels read as probabilities). Wrong shapes, ranges, dtypes or NaNs
    raise ``ValueError``/``TypeError`` naming what was expected.

    ``VAE(latent_dim=10, likelihood="bernoulli")`` is set up for the 8x8 digits ``(1, 8, 8)``.
    ``device``: where to put the parameters (None leaves them on the CPU; ``train`` moves them).
    For the binarized digits (notebook 07): train with ``train(model, x)``, then ``elbo(x)``,
    :func:`iwae_bound` and ``sample(n)`` (pixel probabilities; ``binary=True`` for 0/1 draws).
    """

    def __init__(
        self,
        latent_dim: int = 10,
        likelihood: str = "bernoulli",
        image_shape: Sequence[int] = (1, 8, 8),
        hidden_sizes: Sequence[int] = (256, 128),
        beta: float = 1.0,
        decoder: str = "mlp",
        decoder_std: float | None = None,
        n_flows: int = 0,
        device=None,
    ):
        super().__init__()
        self.latent_dim = check_int("latent_dim", latent_dim, minimum=1)
        self.likelihood = check_choice("likelihood", likelihood, LIKELIHOODS)
        if isinstance(image_shape, (str, bytes)) or not isinstance(image_shape, Sequence) or not image_shape:
            raise TypeError(f"image_shape must be a tuple of ints such as (1, 8, 8), got {image_shape!r}")
        self.image_shape = tuple(check_int("image_shape entry", s, minimum=1) for s in image_shape)
        self.n_pixels = math.prod(self.image_shape)
        if isinstance(hidden_sizes, int) or not isinstance(hidden_sizes, Sequence) or not hidden_sizes:
            raise ValueError(f"hidden_sizes must be a non-empty sequence of ints, got {hidden_sizes!r}")
        self.hidden_sizes = tuple(check_int("hidden size", h, minimum=1) for h in hidden_sizes)
        self.beta = check_nonnegative("beta", beta)
        self.decoder_kind = check_choice("decoder", decoder, DECODERS)
        if self.decoder_kind != "mlp" and self.likelihood != "bernoulli":
            raise ValueError(f"decoder={self.decoder_kind!r} models binary pixels: use it with likelihood='bernoulli'")
        if decoder_std is not None and self.likelihood != "gaussian":
            raise ValueError("decoder_std is the std of a Gaussian decoder: pass likelihood='gaussian'")
        self.n_flows = check_int("n_flows", n_flows, minimum=0)

        flow_outputs = self.n_flows * (2 * self.latent_dim + 1)  # u, w (k each) and b per planar map
        self.encoder = _mlp([self.n_pixels, *self.hidden_sizes, 2 * self.latent_dim + flow_outputs])
        if self.decoder_kind == "mlp":
            self.decoder = _mlp([self.latent_dim, *reversed(self.hidden_sizes), self.n_pixels])
        elif self.decoder_kind == "made":
            self.decoder = _MADEDecoder(self.latent_dim, self.n_pixels, self.hidden_sizes[0])
        else:
            self.decoder = _DirectARDecoder(self.latent_dim, self.n_pixels, self.hidden_sizes)
        if self.likelihood == "gaussian":
            if decoder_std is None:
                self.decoder_log_std = nn.Parameter(torch.zeros(()))
            else:
                std = check_positive_number("decoder_std", decoder_std)
                self.register_buffer("decoder_log_std", torch.tensor(math.log(std)))
        if device is not None:
            self.to(course_gen.device(str(device)))

    # ------------------------------------------------------------------ checks
    def _device(self) -> torch.device:
        return next(self.parameters()).device

    def _check_input(self, x, method: str) -> torch.Tensor:
        """``x`` as flat ``(B, D)`` on the model's device; clear errors otherwise."""
        name = f"VAE.{method}"
        if isinstance(x, (tuple, list)) and x and isinstance(x[0], torch.Tensor):
            x = x[0]  # (images, labels) batches
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{name} expects a torch.Tensor of images, got {type(x).__name__}")
        if not x.is_floating_point():
            raise TypeError(f"{name} expects a floating-point tensor (pixel values 0. .. 1.), got dtype {x.dtype}")
        shape = tuple(x.shape)
        expected = f"(B, {', '.join(map(str, self.image_shape))}) or (B, {self.n_pixels})"
        if not (shape[1:] == self.image_shape or shape[1:] == (self.n_pixels,)) or shape[0] == 0:
            hint = " (one image: add a batch dimension with x[None])" if shape in (self.image_shape, (self.n_pixels,)) else ""
            raise ValueError(f"{name} expects a batch of shape {expected}, got {shape}{hint}")
        if not bool(torch.isfinite(x).all()):
            raise ValueError(f"{name}: x contains NaN or infinite values")
        if self.likelihood == "bernoulli":
            low, high = float(x.min()), float(x.max())
            if low < 0 or high > 1:
                raise ValueError(
                    f"{name}: a Bernoulli VAE models pixels in [0, 1], got values in [{low:.3g}, {high:.3g}] "
                    "(scale the images to [0, 1], or use likelihood='gaussian')"
                )
        return x.reshape(shape[0], self.n_pixels).to(self._device())

    def _check_code(self, z, method: str) -> torch.Tensor:
        _check_float_tensor(f"VAE.{method}: z", z)
        if z.ndim != 2 or z.shape[1] != self.latent_dim or z.shape[0] == 0:
            hint = " (one code: add a batch dimension with z[None])" if tuple(z.shape) == (self.latent_dim,) else ""
            raise ValueError(f"VAE.{method} expects codes of shape (B, {self.latent_dim}), got {tuple(z.shape)}{hint}")
        return z.to(self._device())

    # ------------------------------------------------------------------ encoder / decoder
    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mu, logvar)`` of ``q(z | x)`` (of ``q_0`` when ``n_flows > 0``), each ``(B, latent_dim)``."""
        return self._encode(self._check_input(x, "encode"))

    def _encode(self, flat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self._encode_all(flat)[:2]

    def _encode_all(self, flat: torch.Tensor):
        """``(mu, logvar, flow_params)``; ``flow_params`` is a list of ``(u, w, b)`` per planar map."""
        k = self.latent_dim
        output = self.encoder(flat)
        mu, logvar = output[..., :k], output[..., k:2 * k]
        flow_params = []
        for index in range(self.n_flows):
            start = 2 * k + index * (2 * k + 1)
            flow_params.append((output[..., start:start + k], output[..., start + k:start + 2 * k],
                                output[..., start + 2 * k]))
        return mu, logvar.clamp(-12.0, 8.0), flow_params

    def _posterior_samples(self, flat: torch.Tensor, n_samples: int, generator=None):
        """``n_samples`` draws ``z_K ~ q(z | x)`` ``(S, B, k)``, their ``log q(z_K | x)`` ``(S, B)``
        (``log q_0(z_0) - sum_k log|det df_k/dz_{k-1}|``), and ``mu``, ``logvar`` of ``q_0``."""
        mu, logvar, flow_params = self._encode_all(flat)
        eps = torch.randn((n_samples, *mu.shape), generator=generator, device=mu.device, dtype=mu.dtype)
        z = mu + torch.exp(0.5 * logvar) * eps
        log_q = -0.5 * (_LOG_2PI + logvar + eps.pow(2)).sum(-1)
        for u, w, b in flow_params:
            z, log_det = amortised_planar(z, u, w, b)
            log_q = log_q - log_det
        return z, log_q, mu, logvar

    def reparameterize(self, mu: torch.Tensor, logvar: torch.Tensor, n_samples: int = 1, generator=None) -> torch.Tensor:
        """``n_samples`` draws ``z = mu + exp(logvar / 2) * eps``, ``eps ~ N(0, I)``: ``(S, B, k)``.

        The randomness is in ``eps`` only, so gradients flow through ``mu`` and ``logvar``.
        """
        eps = torch.randn((n_samples, *mu.shape), generator=generator, device=mu.device, dtype=mu.dtype)
        return mu + torch.exp(0.5 * logvar) * eps

    def _log_likelihood(self, z: torch.Tensor, flat: torch.Tensor) -> torch.Tensor:
        """``log p(x | z)`` for codes ``(S, B, k)`` and flat images ``(B, D)``: ``(S, B)``."""
        target = flat.expand(z.shape[0], *flat.shape)
        if self.decoder_kind != "mlp":
            output = self.decoder.logits(z, target)
        else:
            output = self.decoder(z)
        if self.likelihood == "bernoulli":
            return -F.binary_cross_entropy_with_logits(output, target, reduction="none").sum(-1)
        logvar = 2 * self.decoder_log_std
        return -0.5 * (_LOG_2PI + logvar + (target - output).pow(2) * torch.exp(-logvar)).sum(-1)

    def log_likelihood(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """``log p(x | z)`` per example, ``(B,)``, for images ``x`` and codes ``z`` ``(B, k)``
        (e.g. ``z = mu(x)``, or codes of other images to see how much the decoder uses them)."""
        flat = self._check_input(x, "log_likelihood")
        z = self._check_code(z, "log_likelihood")
        if z.shape[0] != flat.shape[0]:
            raise ValueError(f"VAE.log_likelihood needs one code per image: got {flat.shape[0]} images and {z.shape[0]} codes")
        return self._log_likelihood(z[None], flat)[0]

    def decode(self, z: torch.Tensor, seed: int = 0) -> torch.Tensor:
        """Images ``(B, *image_shape)`` in the data's range from codes ``(B, k)``: the decoder's
        mean, i.e. pixel probabilities (Bernoulli) or means (Gaussian). For ``decoder="made"``
        (and ``"mlp_ar"``) there is no closed-form mean: each pixel's probability given pixels drawn before it
        (drawn with ``seed``)."""
        z = self._check_code(z, "decode")
        if self.decoder_kind != "mlp":
            with torch.no_grad():
                flat = self.decoder.sample(z, _generator(seed, z.device), probabilities=True)
        else:
            flat = self.decoder(z)
            flat = torch.sigmoid(flat) if self.likelihood == "bernoulli" else flat
        return flat.reshape(z.shape[0], *self.image_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The reconstruction ``decode(mu(x))`` through the posterior mean, shaped like ``x``."""
        mu, _ = self.encode(x)
        return self.decode(mu).reshape(x.shape)

    @torch.no_grad()
    def sample(self, n: int, seed: int | None = 0, binary: bool = False) -> torch.Tensor:
        """``n`` images ``(n, *image_shape)`` from the model: ``z ~ N(0, I)`` then the decoder.

        ``binary=False`` (default) returns the decoder's mean (pixel probabilities in [0, 1]
        for Bernoulli, what VAE papers show); ``binary=True`` draws the pixels
        (``x ~ Bernoulli``, values in {0, 1}; for Gaussian ``mean + sigma * eps``). Seeded.
        """
        n = check_int("n", n, minimum=1)
        if not isinstance(binary, bool):
            raise TypeError(f"binary must be a bool, got {type(binary).__name__}")
        device = self._device()
        generator = _generator(seed, device)
        z = torch.randn(n, self.latent_dim, generator=generator, device=device)
        if self.decoder_kind != "mlp":
            flat = self.decoder.sample(z, generator, probabilities=not binary)
            return flat.reshape(n, *self.image_shape)
        mean = self.decode(z).reshape(n, self.n_pixels)
        if binary and self.likelihood == "bernoulli":
            mean = torch.bernoulli(mean, generator=generator)
        elif binary:
            noise = torch.randn(mean.shape, generator=generator, device=device)
            mean = mean + self.decoder_log_std.exp() * noise
        return mean.reshape(n, *self.image_shape)

    # ------------------------------------------------------------------ bounds
    def elbo(self, x: torch.Tensor, n_samples: int = 1, seed: int | None = None) -> ELBOTerms:
        """The ELBO per example, ``E_q[log p(x | z)] - KL(q(z | x) || p(z))``, as
        :class:`ELBOTerms` ``(elbo, reconstruction, kl)``, each ``(B,)`` in nats.

        The reconstruction term is a Monte Carlo average over ``n_samples`` reparameterised
        draws ``z = mu + sigma * eps`` (``seed`` makes them repeatable); the KL is exact
        (:func:`gaussian_kl`). Gradients flow (use ``torch.no_grad()`` to evaluate).
        """
        n_samples = check_int("n_samples", n_samples, minimum=1)
        flat = self._check_input(x, "elbo")
        z, log_q, mu, logvar = self._posterior_samples(flat, n_samples, _generator(seed, flat.device))
        reconstruction = self._log_likelihood(z, flat).mean(0)
        if self.n_flows == 0:
            kl = gaussian_kl(mu, logvar)
        else:  # no closed form: E_q[log q(z_K | x) - log p(z_K)] over the same draws
            kl = (log_q + 0.5 * (_LOG_2PI + z.pow(2)).sum(-1)).mean(0)
        return ELBOTerms(reconstruction - kl, reconstruction, kl)

    def log_weights(self, x: torch.Tensor, k: int, seed: int | None = None) -> torch.Tensor:
        """``log w_i = log p(x | z_i) + log p(z_i) - log q(z_i | x)`` for ``k`` draws
        ``z_i ~ q(z | x)``: shape ``(k, B)``. ``E_q[log w] `` is the ELBO and
        ``E_q[w] = p(x)``."""
        k = check_int("k", k, minimum=1)
        flat = self._check_input(x, "log_weights")
        z, log_posterior, _, _ = self._posterior_samples(flat, k, _generator(seed, flat.device))
        log_prior = -0.5 * (_LOG_2PI + z.pow(2)).sum(-1)
        return self._log_likelihood(z, flat) + log_prior - log_posterior

    def loss(self, batch) -> dict[str, torch.Tensor]:
        """``mean_batch(-E_q[log p(x | z)] + beta * KL)`` with one sample: a dict with ``"loss"``,
        ``"reconstruction"`` (``-E_q log p(x | z)``, nats per image, >= 0 for Bernoulli) and
        ``"kl"`` (nats per image), what :func:`course_gen.train.train` logs."""
        terms = self.elbo(batch)
        reconstruction = -terms.reconstruction.mean()
        kl = terms.kl.mean()
        return {"loss": reconstruction + self.beta * kl, "reconstruction": reconstruction.detach(), "kl": kl.detach()}

    def extra_repr(self) -> str:
        parts = [f"latent_dim={self.latent_dim}", f"likelihood={self.likelihood!r}", f"image_shape={self.image_shape}"]
        if self.beta != 1.0:
            parts.append(f"beta={self.beta}")
        if self.decoder_kind != "mlp":
            parts.append(f"decoder={self.decoder_kind!r}")
        if self.n_flows:
            parts.append(f"n_flows={self.n_flows}")
        return ", ".join(parts)


def _check_vae(model) -> VAE:
    if not isinstance(model, VAE):
        raise TypeError(f"model must be a course_gen.vae.VAE, got {type(model).__name__}")
    return model


@torch.no_grad()
def iwae_bound(model: VAE, x: torch.Tensor, k: int, seed: int | None = None, chunk: int = 100) -> torch.Tensor:
    """The importance-weighted bound (Burda et al. 2016) per example, shape ``(B,)``:

        L_k(x) = log (1/k) sum_{i=1..k} p(x, z_i) / q(z_i | x),   z_i ~ q(z | x),

    computed stably with ``logsumexp`` over the log-weights (never exponentiated directly),
    ``chunk`` samples at a time so memory stays bounded for large ``k``. ``L_1`` is the ELBO
    (in expectation); ``E[L_k]`` does not decrease with ``k`` and tends to ``log p(x)``.
    """
    model = _check_vae(model)
    k = check_int("k", k, minimum=1)
    chunk = check_int("chunk", chunk, minimum=1)
    flat = model._check_input(x, "iwae_bound")
    generator = _generator(seed, flat.device)
    was_training = model.training
    model.eval()
    try:
        partial = []
        for start in range(0, k, chunk):
            count = min(chunk, k - start)
            z, log_q, _, _ = model._posterior_samples(flat, count, generator)
            log_prior = -0.5 * (_LOG_2PI + z.pow(2)).sum(-1)
            log_w = model._log_likelihood(z, flat) + log_prior - log_q
            partial.append(torch.logsumexp(log_w, dim=0))
    finally:
        model.train(was_training)
    return torch.logsumexp(torch.stack(partial), dim=0) - math.log(k)


@torch.no_grad()
def kl_per_dimension(model: VAE, x: torch.Tensor) -> torch.Tensor:
    """The average over ``x`` of ``KL(q(z_j | x) || N(0, 1))`` for each latent ``j``: ``(k,)``.

    A latent with KL near 0 is inactive: its posterior equals the prior whatever ``x``, the
    decoder ignores it (when all are, that is posterior collapse).
    """
    model = _check_vae(model)
    mu, logvar = model.encode(x)
    return (0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)).mean(0)


@torch.no_grad()
def active_units(model: VAE, x: torch.Tensor, threshold: float = 0.01) -> tuple[int, torch.Tensor]:
    """Burda et al.'s (2016) activity of each latent: ``A_j = Var_x(E_q[z_j | x])``, the variance
    over the images ``x`` of the posterior mean ``mu_j(x)``; latent ``j`` is **active** when
    ``A_j > threshold`` (0.01 in the paper). Returns ``(number active, A)`` with ``A`` of shape ``(k,)``.

    An inactive latent has the same posterior mean whatever the image: the code does not use it.
    """
    model = _check_vae(model)
    threshold = check_nonnegative("threshold", threshold)
    flat = model._check_input(x, "active_units")
    if flat.shape[0] < 2:
        raise ValueError(f"active_units needs at least 2 images to measure a variance, got {flat.shape[0]}")
    mu, _ = model._encode(flat)
    activity = mu.var(0).cpu()
    return int((activity > threshold).sum()), activity

def _rank(values: torch.Tensor) -> torch.Tensor:
    return torch.argsort(torch.argsort(values)).to(torch.float64)


@torch.no_grad()
def factor_correlations(model: VAE, x: torch.Tensor, factors: dict[str, torch.Tensor],
                        names: Sequence[str] = ("x", "y", "scale")) -> torch.Tensor:
    """``|Spearman correlation|`` between each posterior mean ``mu_j(x)`` and each named factor:
    ``(latent_dim, len(names))``. Rank correlation: 1 means the latent orders the images exactly
    as the factor does (a disentangled latent tracks one factor and ignores the others)."""
    model = _check_vae(model)
    mu, _ = model.encode(x)
    mu = mu.detach().cpu().to(torch.float64)
    columns = []
    for name in names:
        if name not in factors:
            raise ValueError(f"unknown factor {name!r}: the factors given are {sorted(factors)}")
        factor = torch.as_tensor(factors[name]).detach().cpu().to(torch.float64)
        if factor.shape != (mu.shape[0],):
            raise ValueError(f"factor {name!r} must have shape ({mu.shape[0]},), one value per image, got {tuple(factor.shape)}")
        columns.append(_rank(factor))
    ranks_f = torch.stack(columns, dim=1)
    ranks_z = torch.stack([_rank(mu[:, j]) for j in range(mu.shape[1])], dim=1)
    ranks_f = (ranks_f - ranks_f.mean(0)) / ranks_f.std(0)
    ranks_z = (ranks_z - ranks_z.mean(0)) / ranks_z.std(0).clamp_min(1e-12)
    return (ranks_z.T @ ranks_f / (mu.shape[0] - 1)).abs()


# ============================================================================ comparing decoders


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
    if not bool(((flat == 0) | (flat == 1)).all()):
        raise ValueError("rounded_gaussian_elbo models binary pixels: x must hold only 0 and 1")
    mu, logvar = model._encode(flat)
    z = model.reparameterize(mu, logvar, n_samples, _generator(seed, flat.device))
    standardised = (model.decoder(z) - 0.5) / model.decoder_log_std.exp()
    sign = 2 * flat - 1  # log Phi(s * a) is log P(x = 1) for s = 1 and log P(x = 0) for s = -1
    reconstruction = torch.special.log_ndtr(sign * standardised).sum(-1).mean(0)
    kl = gaussian_kl(mu, logvar)
    return ELBOTerms(reconstruction - kl, reconstruction, kl)


# ============================================================================ the notebook's recipe


#: The comparison models of notebook 05: 28x28 digits, one hidden layer of 256 units.
COMPARISON_IMAGE_SHAPE = (1, 28, 28)
COMPARISON_HIDDEN = (256,)


def build(latent_dim: int, likelihood: str = "bernoulli", decoder: str = "mlp", n_flows: int = 0,
          beta: float = 1.0, hidden_sizes: Sequence[int] = COMPARISON_HIDDEN,
          image_shape: Sequence[int] = COMPARISON_IMAGE_SHAPE, seed: int = 0) -> VAE:
    """A new :class:`VAE` (encoder ``784 -> 256 -> ...``, mirrored decoder by default) whose initial
    weights depend only on ``seed`` (drawn from a forked random state: the caller's is untouched).
    The comparisons of notebook 05 vary one argument at a time from the same seed."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(check_seed(seed))
        return VAE(latent_dim=latent_dim, likelihood=likelihood, image_shape=image_shape,
                   hidden_sizes=hidden_sizes, beta=beta, decoder=decoder, n_flows=n_flows)


def fit(model: VAE, x: torch.Tensor, steps: int, seed: int = 0, lr: float = 1e-3, batch_size: int = 128,
        device=None, progress: bool = False):
    """The training recipe of the shipped comparison models: Adam on ``model.loss`` (the negative
    ELBO, one reparameterised sample; ``beta`` times the KL for a beta-VAE), ``steps`` batches of
    ``batch_size`` from ``x``, learning rate ``lr``, batch order from ``seed``
    (:func:`course_gen.train.train`). Then every weight is rounded to half precision, as the shipped
    files store them, so a model retrained here and a loaded one give the same numbers.
    Returns the :class:`~course_gen.train.History` (``reconstruction`` and ``kl`` per step)."""
    from course_gen.train import train

    model = _check_vae(model)
    history = train(model, x, steps=check_int("steps", steps, minimum=1), lr=lr, batch_size=batch_size,
                    device=device, seed=seed, progress=progress)
    with torch.no_grad():
        for tensor in model.state_dict().values():
            if tensor.is_floating_point():
                tensor.copy_(tensor.half().float())
    return history


def load_or_fit(model: VAE, name: str, x: torch.Tensor, steps: int, retrain: bool = False, seed: int = 0,
                device=None, note: str = "", **fit_options) -> tuple[VAE, dict[str, torch.Tensor]]:
    """The shipped weights ``name`` loaded into ``model`` (sha256-checked,
    :func:`course_gen.checkpoints.load_or_train`), trained with :func:`fit` when they are missing;
    ``retrain=True`` skips loading, trains and saves (weights in half precision, and the curves).

    Returns ``(model, curves)``: ``curves`` holds the per-step ``"reconstruction"`` and ``"kl"``
    (nats per image) of the training run, shipped as ``name + "_curves"``.
    """
    from course_gen import checkpoints

    model = _check_vae(model)
    if not isinstance(retrain, bool):
        raise TypeError(f"retrain must be a bool, got {type(retrain).__name__}")
    histories = []

    def train_fn(m):
        histories.append(fit(m, x, steps, seed=seed, device=device, **fit_options))

    recipe = note or f"vae.fit({model.extra_repr()}), {steps} steps, seed {seed}; weights stored in float16"
    model, _ = checkpoints.load_or_train(model, name, train_fn, retrain=retrain, note=recipe, half=True)
    if histories:
        history = histories[0]
        curves = {key: torch.tensor(history.metrics[key], dtype=torch.float32) for key in ("reconstruction", "kl")}
        if retrain:
            checkpoints.save_checkpoint(curves, f"{name}_curves", half=True,
                                        note=f"training curves (reconstruction, KL per step) of {name}")
    else:
        curves = {k: v.float() for k, v in checkpoints.load_checkpoint(f"{name}_curves").items()}
    target = course_gen.device() if device is None else course_gen.device(str(device))
    return model.to(target).eval(), curves
