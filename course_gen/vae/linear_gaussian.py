"""The linear-Gaussian latent model: a VAE-shaped model whose marginal, posterior and ELBO are exact."""

from __future__ import annotations

import math

import torch

from course_gen._checks import check_int, check_positive_number, check_seed, check_tensor
from course_gen.runtime import resolve_device
from course_gen.vae.gaussians import _LOG_2PI, _check_count, gaussian_log_prob

#: The largest data or latent dimension of :class:`LinearGaussian` (its exact formulas build d x d matrices).
MAX_DIM = 10_000


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
        check_tensor("weight", weight, dtype="float")
        check_tensor("bias", bias, dtype="float")
        if weight.ndim != 2 or 0 in weight.shape:
            raise ValueError(f"weight must be a non-empty (data_dim, latent_dim) matrix, got shape {tuple(weight.shape)}")
        if max(weight.shape) > MAX_DIM:
            raise ValueError(f"weight's dimensions must be <= {MAX_DIM} (the exact formulas build d x d matrices), "
                             f"got shape {tuple(weight.shape)}")
        if bias.shape != (weight.shape[0],):
            raise ValueError(f"bias must have shape ({weight.shape[0]},) like weight's rows, got {tuple(bias.shape)}")
        self.weight = weight.detach().to(torch.float64).clone()
        self.bias = bias.detach().to(self.weight.device, torch.float64).clone()
        self.noise_std = check_positive_number("noise_std", noise_std)
        self.data_dim, self.latent_dim = self.weight.shape

    @classmethod
    def random(cls, data_dim: int = 2, latent_dim: int = 1, noise_std: float = 0.5, seed: int = 0,
               device=None) -> LinearGaussian:
        """A model with ``W`` and ``b`` drawn from ``N(0, 1)`` with a seeded generator, on ``device``
        (None: the CPU). Dimensions up to :data:`MAX_DIM`."""
        data_dim = check_int("data_dim", data_dim, minimum=1, maximum=MAX_DIM)
        latent_dim = check_int("latent_dim", latent_dim, minimum=1, maximum=MAX_DIM)
        device = torch.device("cpu") if device is None else resolve_device(device)
        generator = torch.Generator().manual_seed(check_seed(seed))
        weight = torch.randn(data_dim, latent_dim, generator=generator, dtype=torch.float64)
        bias = torch.randn(data_dim, generator=generator, dtype=torch.float64)
        return cls(weight.to(device), bias.to(device), noise_std)

    @property
    def device(self) -> torch.device:
        return self.weight.device

    def to(self, device) -> LinearGaussian:
        """The same model with its tensors on ``device``."""
        device = resolve_device(device)
        return LinearGaussian(self.weight.to(device), self.bias.to(device), self.noise_std)

    # ------------------------------------------------------------------ checks
    def _check_x(self, x) -> torch.Tensor:
        check_tensor("x", x, dtype="float")
        if x.ndim == 1:
            x = x[None]
        if x.ndim != 2 or x.shape[1] != self.data_dim or x.shape[0] == 0:
            raise ValueError(f"x must have shape (B, {self.data_dim}) or ({self.data_dim},), got {tuple(x.shape)}")
        return x.to(self.device, torch.float64)

    def _check_q(self, x: torch.Tensor, q_mean, q_cov) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x, q_mean as (B, k) and q_cov as (B, k, k), broadcast over the batch."""
        k = self.latent_dim
        check_tensor("q_mean", q_mean, dtype="float")
        check_tensor("q_cov", q_cov, dtype="float")
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
        check_tensor("z", z, dtype="float")
        z = z.to(self.device, torch.float64)
        if z.ndim != 2 or z.shape[1] != self.latent_dim or z.shape[0] != x.shape[0]:
            raise ValueError(f"z must have shape ({x.shape[0]}, {self.latent_dim}) to match x, got {tuple(z.shape)}")
        log_likelihood = gaussian_log_prob(x, z @ self.weight.T + self.bias, 2 * math.log(self.noise_std))
        return log_likelihood + gaussian_log_prob(z, torch.zeros_like(z), 0.0)

    def sample(self, n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` draws ``(x, z)`` from the joint: ``z ~ N(0, I)``, ``x = W z + b + sigma eps``."""
        n = _check_count("n", n, per_draw=self.data_dim + self.latent_dim)
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
