"""NADE (Larochelle & Murray 2011): one weight matrix shared by all the conditionals of an image."""

from __future__ import annotations

import math

import torch
from torch import nn

from course_gen._checks import check_int, check_seed
from course_gen.autoregressive.base import _AutoregressiveImageModel, _check_image_shape, _check_shape
from course_gen.autoregressive.made import MAX_UNITS
from course_gen.autoregressive.masks import raster_before


class NADE(_AutoregressiveImageModel):
    """Neural Autoregressive Distribution Estimator (Larochelle & Murray 2011) for binary images.

    One weight matrix ``W`` (H x D) is shared by all D conditionals, in raster order:

        a_1 = c,   a_{i+1} = a_i + W[:, i] x_i          (so a_i = c + W[:, <i] x_<i)
        h_i = sigm(a_i),   p(x_i = 1 | x_<i) = sigm(b_i + V_i . h_i).

    ``forward`` computes every ``a_i`` at once with a cumulative sum: O(D H) per image, not O(D^2 H).
    Training (``loss``) conditions every pixel on the *true* earlier pixels (teacher forcing);
    ``sample`` conditions on the model's own draws, updating ``a`` one pixel at a time (O(D H) too).
    """

    def __init__(self, image_shape=(1, 28, 28), hidden: int = 100):
        super().__init__()
        self.image_shape = _check_image_shape(image_shape)
        self.channels = self.image_shape[0]
        n_inputs = math.prod(self.image_shape)
        self.hidden = check_int("hidden", hidden, minimum=1, maximum=MAX_UNITS)
        self.W = nn.Parameter(torch.randn(self.hidden, n_inputs) / math.sqrt(n_inputs))
        self.c = nn.Parameter(torch.zeros(self.hidden))
        self.V = nn.Parameter(torch.randn(n_inputs, self.hidden) / math.sqrt(self.hidden))
        self.b = nn.Parameter(torch.zeros(n_inputs))

    def hidden_states(self, x: torch.Tensor) -> torch.Tensor:
        """``h_i = sigm(c + W[:, <i] x_<i)`` for every i: (B, D, H), from an exclusive cumulative sum.
        ``x``: (B, D) or (B, C, H, W), finite, floating-point (cast to the model's dtype)."""
        n_inputs = self.b.shape[0]
        flat = self._network_input(x, flat_size=n_inputs).reshape(x.shape[0], n_inputs)
        contributions = flat[:, :, None] * self.W.T[None]            # (B, D, H): W[:, k] x_k
        inclusive = torch.cumsum(contributions, dim=1)                # sum over k <= i
        a = self.c + inclusive - contributions                        # sum over k < i
        return torch.sigmoid(a)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``b_i + V_i . h_i`` shaped like ``x`` (as in :meth:`hidden_states`)."""
        h = self.hidden_states(x)
        return (self.b + (h * self.V).sum(dim=-1)).reshape(x.shape)

    def nominal_field(self, shape, pixel):
        """Every earlier pixel in raster order."""
        return raster_before(shape, pixel)

    @torch.no_grad()
    def _fill(self, x: torch.Tensor, observed: torch.Tensor, seed: int, local: bool = False) -> torch.Tensor:
        """In raster order: draw ``x_i`` from ``sigm(b_i + V_i . sigm(a))`` where missing, then
        ``a += W[:, i] x_i`` (the drawn or observed value). O(D H) per image."""
        if tuple(x.shape[1:]) != self.image_shape:
            raise ValueError(f"NADE models images of shape {self.image_shape}, got {tuple(x.shape[1:])}")
        generator = torch.Generator(device=x.device).manual_seed(check_seed(seed))
        flat, known = x.reshape(x.shape[0], -1), observed.reshape(x.shape[0], -1)
        a = self.c.expand(x.shape[0], -1).clone()
        for i in range(flat.shape[1]):
            missing = ~known[:, i]
            if bool(missing.any()):
                value = self._draw(self.b[i] + torch.sigmoid(a) @ self.V[i], generator)
                flat[:, i] = torch.where(missing, value, flat[:, i])
            a += flat[:, i, None] * self.W[:, i]
        return flat.reshape(x.shape)

    def sample(self, n: int, shape=None, seed: int = 0, local: bool = False) -> torch.Tensor:
        """``n`` images (n, *image_shape), each pixel drawn given the model's own earlier draws. Seeded."""
        shape = self.image_shape if shape is None else shape
        if tuple(_check_shape(shape, self.channels)) != self.image_shape:
            raise ValueError(f"NADE models images of shape {self.image_shape}, got shape {shape!r}")
        return super().sample(n, self.image_shape, seed, local)

