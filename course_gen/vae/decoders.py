"""The decoder networks of :class:`~course_gen.vae.VAE`: an MLP, a MADE that also sees the
previous pixels, and the MLP with direct connections from the earlier pixels."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from course_gen.autoregressive import MaskedLinear, made_degrees, made_masks


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
