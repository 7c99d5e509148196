"""The diffusion model of the digits: a noise-predicting U-Net, its training loss, its samplers and its bound.

Images are the binarised digits mapped to {-1, +1} (``x = 2 b - 1``), so the model sees the same data as
the likelihood models of notebook 07 and its bound is comparable with theirs.

- **Training** (Ho et al., 2020, the "simple" loss): draw t uniformly from 1..T and eps ~ N(0, I), form
  ``x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps`` and minimise ``||eps - eps_theta(x_t, t)||^2``.
- **Sampling**: ancestral DDPM steps ``x_{t-1} = mu_theta(x_t, t) + sigma_t z`` or deterministic DDIM
  steps, both on a chain shortened to ``steps`` of the T steps (:func:`~course_gen.diffusion.respaced`).
- **The bound** (the ELBO of a hierarchical VAE whose T latents are x_1..x_T):
  ``-log p(x_0) <= L_T + sum_{t=2..T} L_{t-1} + L_0`` with ``L_T = KL(q(x_T|x_0) || N(0, I))``,
  ``L_{t-1} = KL(q(x_{t-1}|x_t, x_0) || p(x_{t-1}|x_t)) = w_t ||eps - eps_theta(x_t, t)||^2`` (the reverse
  variance fixed to the posterior's, ``w_t`` = :func:`~course_gen.diffusion.elbo_weights`) and the decoder
  ``L_0 = -log p(x_0 | x_1)``, a Gaussian N(mu_theta(x_1, 1), beta_1) integrated over each pixel's half of
  the line (x_0 = -1 below 0, +1 above). The sum over t is estimated by sampling t, stratified.
"""

from __future__ import annotations

import torch
from torch import nn

from course_gen._checks import check_choice, check_int, check_seed, check_tensor
from course_gen.diffusion.process import (alpha_bars, betas, ddim_step, elbo_weights, predicted_x0, q_posterior,
                                          q_sample, respaced)
from course_gen.diffusion.unet import UNet
from course_gen.runtime import evaluating, model_device

SAMPLERS = ("ddpm", "ddim")
MAX_SAMPLES = 100_000


def check_binary_images(name: str, x) -> torch.Tensor:
    """``x`` if it is a float batch of images (B, 1, 28, 28) with pixels in [0, 1]."""
    x = check_tensor(name, x, ndim=4, dtype="float", low=0.0, high=1.0, what="(images (B, 1, 28, 28) in [0, 1])")
    if x.shape[1:] != (1, 28, 28):
        raise ValueError(f"{name} must be images (B, 1, 28, 28), got {tuple(x.shape)}")
    return x


class DDPM(nn.Module):
    """A denoising diffusion model of 28 x 28 digits (see the module docstring).

    ``DDPM(T=1000, schedule="linear", channels=24)``: the noise schedule of :func:`~course_gen.diffusion.betas`
    and a :class:`~course_gen.diffusion.unet.UNet` of that width. Images in and out are in [0, 1].
    """

    def __init__(self, T: int = 1000, schedule: str = "linear", channels: int = 24):
        super().__init__()
        self.T = check_int("T", T, minimum=2, maximum=10_000)
        self.schedule = check_choice("schedule", schedule, ("linear", "cosine"))
        self.register_buffer("betas", betas(T, schedule), persistent=False)
        self.net = UNet(channels=channels)

    # ------------------------------------------------------------------ the network and its loss

    def predict_noise(self, xt: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """eps_theta(x_t, t) for noisy images ``xt`` (B, 1, 28, 28) on the {-1, +1} scale and steps ``t`` (B,) in 1..T."""
        t = check_tensor("t", t, ndim=1, dtype="integer", what="(one step per image)")
        if len(t) and (int(t.min()) < 1 or int(t.max()) > self.T):
            raise ValueError(f"t must lie in 1..{self.T}, got values from {int(t.min())} to {int(t.max())}")
        return self.net(xt, t.to(model_device(self)))

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        """The simple loss: the mean over pixels and images of ``(eps - eps_theta(x_t, t))^2``, t ~ U{1..T}."""
        x0 = 2 * check_binary_images("x", x).to(model_device(self), torch.float32) - 1
        if len(x0) == 0:
            raise ValueError("x holds no images: the loss of an empty batch is undefined")
        t = torch.randint(1, self.T + 1, (len(x0),), device=x0.device)
        noise = torch.randn_like(x0)
        xt = q_sample(x0, t, self.betas, noise)
        return (noise - self.predict_noise(xt, t)).pow(2).mean()

    def predict_x0(self, xt: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """The network's guess of the clean image, ``(x_t - sqrt(1 - abar_t) eps_theta) / sqrt(abar_t)``,
        clipped to [-1, 1]."""
        with torch.no_grad(), evaluating(self):
            return predicted_x0(xt, t, self.betas, self.predict_noise(xt, t)).clamp(-1, 1)

    # ------------------------------------------------------------------ sampling

    def _noise(self, shape, generator: torch.Generator) -> torch.Tensor:
        return torch.randn(shape, generator=generator).to(model_device(self))

    @torch.no_grad()
    def denoise(self, xT: torch.Tensor, steps: int = 50, sampler: str = "ddim", seed: int = 0,
                known: torch.Tensor | None = None, mask: torch.Tensor | None = None,
                keep_every: int | None = None):
        """Run the reverse chain from ``xT`` (B, 1, 28, 28) through ``steps`` steps; returns images in [0, 1]
        (the decoder's mean: pixel on with probability P(x_0 > 0 | x_1)), and with ``keep_every`` also the
        trajectory: a list of ``(t, x_t)`` on the {-1, +1} scale every ``keep_every`` steps.

        ``sampler``: ``"ddpm"`` (ancestral, fresh noise of the posterior's variance at each step) or
        ``"ddim"`` (deterministic). ``known`` and ``mask`` (both (B, 1, 28, 28), mask 1 where the pixel is
        known) inpaint: after each step the known pixels are replaced by a fresh draw of q(x_t | known).
        """
        check_choice("sampler", sampler, SAMPLERS)
        generator = torch.Generator().manual_seed(check_seed(seed))
        timesteps, short = respaced(self.betas.cpu(), steps)
        x = check_tensor("xT", xT, ndim=4, dtype="float", what="(noise images (B, 1, 28, 28))").to(model_device(self))
        if (known is None) != (mask is None):
            raise ValueError("inpainting needs both known (the images) and mask (1 where a pixel is known), "
                             f"got {'known' if mask is None else 'mask'} alone")
        if known is not None:
            known = 2 * check_binary_images("known", known).to(x) - 1
            mask = check_tensor("mask", mask, shape=tuple(known.shape), dtype="float", low=0, high=1).to(x)
        trajectory = [(self.T, x.cpu())] if keep_every else None
        with evaluating(self):
            for i in range(len(timesteps), 0, -1):
                t = torch.full((len(x),), int(timesteps[i - 1]), dtype=torch.long)
                i_batch = torch.full((len(x),), i, dtype=torch.long)
                eps = self.predict_noise(x, t)
                if i == 1:
                    x = torch.special.ndtr(self._decoder_z(x, eps, t))
                    break
                if sampler == "ddim":
                    x = ddim_step(x, i_batch, i_batch - 1, short, eps)
                else:
                    x0_hat = predicted_x0(x, i_batch, short, eps).clamp(-1, 1)
                    mean, variance = q_posterior(x0_hat, x, i_batch, short)
                    x = mean + variance.sqrt().to(x) * self._noise(x.shape, generator)
                if known is not None:
                    t_prev = torch.full((len(x),), int(timesteps[i - 2]), dtype=torch.long)
                    x = mask * q_sample(known, t_prev, self.betas, self._noise(x.shape, generator)) + (1 - mask) * x
                if keep_every and (len(timesteps) - i + 1) % keep_every == 0:
                    trajectory.append((int(timesteps[i - 2]), x.cpu()))
        images = x if known is None else mask * (known + 1) / 2 + (1 - mask) * x
        return (images.cpu(), trajectory) if keep_every else images.cpu()

    def _decoder_z(self, x1: torch.Tensor, eps: torch.Tensor, t1: torch.Tensor) -> torch.Tensor:
        """``mu_theta(x_1, 1) / sqrt(beta_1)``: the decoder N(mu, beta_1) puts mass ``Phi(z)`` above 0 (x_0 = +1).
        At t = 1 the DDPM mean equals the predicted x_0, clipped to [-1, 1]."""
        mean = predicted_x0(x1, t1, self.betas, eps).clamp(-1, 1)
        return mean / self.betas[0].sqrt().to(mean)

    def sample(self, n: int, steps: int = 50, sampler: str = "ddim", seed: int = 0) -> torch.Tensor:
        """``n`` images (n, 1, 28, 28) in [0, 1], drawn from x_T ~ N(0, I) by :meth:`denoise` (seeded)."""
        n = check_int("n", n, minimum=1, maximum=MAX_SAMPLES)
        generator = torch.Generator().manual_seed(check_seed(seed))
        return self.denoise(torch.randn(n, 1, 28, 28, generator=generator), steps, sampler, seed=seed + 1)

    def inpaint(self, images: torch.Tensor, mask: torch.Tensor, steps: int = 100, seed: int = 0) -> torch.Tensor:
        """Complete ``images`` (B, 1, 28, 28) in [0, 1] where ``mask`` is 0, keeping them where it is 1
        (ancestral sampling with the known pixels noised to each step: the "replacement" method)."""
        images = check_binary_images("images", images)
        generator = torch.Generator().manual_seed(check_seed(seed))
        noise = torch.randn(images.shape, generator=generator)
        return self.denoise(noise, steps, "ddpm", seed=seed + 1, known=images, mask=mask)

    # ------------------------------------------------------------------ the bound

    @torch.no_grad()
    def negative_elbo(self, x: torch.Tensor, n_t: int = 20, seed: int = 0) -> dict[str, torch.Tensor]:
        """The terms of ``-ELBO`` in nats per image (each a tensor (B,)): ``"prior"`` L_T, ``"diffusion"``
        sum_{t=2..T} L_{t-1} (estimated with ``n_t`` steps per image, one in each of ``n_t`` equal strata
        of 2..T, unbiased), ``"decoder"`` L_0, and their sum ``"total"`` (an upper bound on -log p(x))."""
        x0 = 2 * check_binary_images("x", x).to(model_device(self), torch.float32) - 1
        n_t = check_int("n_t", n_t, minimum=1, maximum=self.T - 1)
        generator = torch.Generator().manual_seed(check_seed(seed))
        abar = alpha_bars(self.betas.cpu())
        a_T = float(abar[-1])
        prior = 0.5 * (a_T * x0.pow(2) + (1 - a_T) - 1 - torch.log(torch.tensor(1 - a_T))).flatten(1).sum(1)
        weights = elbo_weights(self.betas.cpu())
        edges = torch.linspace(2, self.T + 1, n_t + 1, dtype=torch.float64)
        diffusion = torch.zeros(len(x0), dtype=torch.float64)
        with evaluating(self):
            for k in range(n_t):
                u = torch.rand(len(x0), generator=generator, dtype=torch.float64)
                t = (edges[k] + u * (edges[k + 1] - edges[k])).floor().long().clamp(2, self.T)
                noise = self._noise(x0.shape, generator)
                error = (noise - self.predict_noise(q_sample(x0, t, self.betas, noise), t)).pow(2).flatten(1).sum(1)
                diffusion += (edges[k + 1] - edges[k]) * weights[t - 1] * error.double().cpu()
            one = torch.ones(len(x0), dtype=torch.long)
            noise = self._noise(x0.shape, generator)
            x1 = q_sample(x0, one, self.betas, noise)
            z = self._decoder_z(x1, self.predict_noise(x1, one), one)
            decoder = -torch.where(x0 > 0, torch.special.log_ndtr(z), torch.special.log_ndtr(-z)).flatten(1).sum(1)
        prior, decoder = prior.double().cpu(), decoder.double().cpu()
        return {"prior": prior, "diffusion": diffusion, "decoder": decoder, "total": prior + diffusion + decoder}
