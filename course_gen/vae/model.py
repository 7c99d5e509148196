"""The variational autoencoder (Kingma & Welling 2014): encoder, reparameterised samples, decoder, ELBO."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from course_gen._checks import (
    check_bool,
    check_choice,
    check_int,
    check_nonnegative,
    check_positive_number,
    check_tensor,
)
from course_gen.runtime import model_device, resolve_device
from course_gen.vae.decoders import _DirectARDecoder, _MADEDecoder, _mlp
from course_gen.vae.gaussians import _LOG_2PI, _check_count, _generator, gaussian_kl
from course_gen.vae.planar import MAX_FLOWS, amortised_planar

#: Decoder likelihoods of :class:`VAE`.
LIKELIHOODS = ("bernoulli", "gaussian")
#: Decoder networks of :class:`VAE`: a plain MLP, or a MADE that also sees the previous pixels.
DECODERS = ("mlp", "made", "mlp_ar")
#: The most weights a :class:`VAE` may have (2**28, 1 GiB of float32): larger sizes are a typo.
MAX_WEIGHTS = 2**28


def _check_size(model) -> None:
    """``ValueError`` when the sizes given to :class:`VAE` would need more than :data:`MAX_WEIGHTS` weights."""
    k, n_pixels, hidden = model.latent_dim, model.n_pixels, model.hidden_sizes

    def mlp(sizes):
        return sum(fan_in * fan_out for fan_in, fan_out in zip(sizes[:-1], sizes[1:]))

    count = mlp([n_pixels, *hidden, 2 * k + model.n_flows * (2 * k + 1)])
    if model.decoder_kind == "made":
        count += 2 * n_pixels * hidden[0] + k * (hidden[0] + n_pixels)
    else:
        count += mlp([k, *reversed(hidden), n_pixels])
        count += n_pixels * (n_pixels - 1) // 2 if model.decoder_kind == "mlp_ar" else 0
    if count > MAX_WEIGHTS:
        raise ValueError(f"a VAE with latent_dim={k}, image_shape={model.image_shape}, hidden_sizes={hidden}, "
                         f"n_flows={model.n_flows} would have {count:.3g} weights, more than {MAX_WEIGHTS}: "
                         "choose smaller sizes")


class ELBOTerms(NamedTuple):
    """What :meth:`VAE.elbo` returns, each of shape ``(B,)`` in nats:
    ``elbo = reconstruction - kl`` with ``reconstruction = E_q[log p(x | z)]`` (a log-likelihood,
    <= 0 for binary data) and ``kl = KL(q(z | x) || p(z))``."""

    elbo: torch.Tensor
    reconstruction: torch.Tensor
    kl: torch.Tensor


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
    [0, 1] (binary or grey levels read as probabilities). Inputs of another floating dtype (float64,
    say) are cast to the weights' dtype (float32 unless the model was converted with ``.double()``).
    Wrong shapes, ranges, dtypes or NaNs raise ``ValueError``/``TypeError`` naming what was expected;
    so do sizes that would need more than :data:`MAX_WEIGHTS` weights, and sample counts that would
    draw more than 2**28 values at once.

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
        self.n_flows = check_int("n_flows", n_flows, minimum=0, maximum=MAX_FLOWS)
        _check_size(self)

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
            self.to(resolve_device(device))

    # ------------------------------------------------------------------ checks
    def _check_input(self, x, method: str) -> torch.Tensor:
        """``x`` as flat ``(B, D)`` on the model's device; clear errors otherwise."""
        name = f"VAE.{method}"
        if isinstance(x, (tuple, list)) and x and isinstance(x[0], torch.Tensor):
            x = x[0]  # (images, labels) batches
        check_tensor(f"{name}: x", x, dtype="float", finite=False, what="(images, pixel values 0. .. 1.)")
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
        return x.reshape(shape[0], self.n_pixels).to(model_device(self), self._dtype())

    def _check_code(self, z, method: str) -> torch.Tensor:
        check_tensor(f"VAE.{method}: z", z, dtype="float")
        if z.ndim != 2 or z.shape[1] != self.latent_dim or z.shape[0] == 0:
            hint = " (one code: add a batch dimension with z[None])" if tuple(z.shape) == (self.latent_dim,) else ""
            raise ValueError(f"VAE.{method} expects codes of shape (B, {self.latent_dim}), got {tuple(z.shape)}{hint}")
        return z.to(model_device(self), self._dtype())

    def _dtype(self) -> torch.dtype:
        """The floating dtype of the weights (float32 unless the model was converted): inputs are cast to it."""
        return self.encoder[0].weight.dtype

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

        The randomness is in ``eps`` only, so gradients flow through ``mu`` and ``logvar``
        (same shape, finite); ``generator``: a ``torch.Generator`` or None (torch's global one).
        """
        check_tensor("mu", mu, dtype="float")
        check_tensor("logvar", logvar, dtype="float")
        if mu.shape != logvar.shape:
            raise ValueError(f"mu and logvar must have the same shape, got {tuple(mu.shape)} and {tuple(logvar.shape)}")
        n_samples = _check_count("n_samples", n_samples, per_draw=mu.numel())
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
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
        n = _check_count("n", n, per_draw=self.n_pixels + self.latent_dim)
        binary = check_bool("binary", binary)
        device = model_device(self)
        generator = _generator(seed, device)
        z = torch.randn(n, self.latent_dim, generator=generator, device=device, dtype=self._dtype())
        if self.decoder_kind != "mlp":
            flat = self.decoder.sample(z, generator, probabilities=not binary)
            return flat.reshape(n, *self.image_shape)
        mean = self.decode(z).reshape(n, self.n_pixels)
        if binary and self.likelihood == "bernoulli":
            mean = torch.bernoulli(mean, generator=generator)
        elif binary:
            noise = torch.randn(mean.shape, generator=generator, device=device, dtype=mean.dtype)
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
        n_samples = _check_count("n_samples", n_samples, per_draw=flat.numel())
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
        k = _check_count("k", k, per_draw=flat.numel())
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
