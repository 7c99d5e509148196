"""A small U-Net that predicts the noise in a 28 x 28 image at step t (the denoiser of notebook 08).

Ho et al. (2020) use a U-Net (a PixelCNN++-style backbone) with the step t fed in as a sinusoidal
embedding, as the Transformer feeds positions. This one is the same design, scaled to digits on a CPU:

    28 x 28 x c  -> residual block -> down -> 14 x 14 x 2c -> residual block -> down -> 7 x 7 x 2c
                 -> two residual blocks ->
                 up -> 14 x 14 (+ skip) -> residual block -> up -> 28 x 28 (+ skip) -> residual block -> noise

Every residual block adds a learned projection of the step embedding to its feature maps, so one
network serves every t. The last convolution starts at zero: an untrained network predicts no noise.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from course_gen._checks import check_int, check_tensor


def step_embedding(t: torch.Tensor, dim: int, max_period: float = 10_000.0) -> torch.Tensor:
    """Sinusoidal embedding of steps ``t`` (B,): ``[cos(t w_k), sin(t w_k)]`` with ``w_k = max_period^(-k / (dim/2))``."""
    t = check_tensor("t", t, ndim=1, dtype="integer", what="(steps (B,))")
    half = check_int("dim", dim, minimum=2, maximum=4096) // 2
    frequencies = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    angles = t.to(torch.float32)[:, None] * frequencies[None]
    return torch.cat([angles.cos(), angles.sin()], dim=1)


class ResidualBlock(nn.Module):
    """``x + conv(act(norm(conv(act(norm(x))) + proj(emb))))``, with a 1x1 convolution on the skip when the width changes."""

    def __init__(self, channels_in: int, channels_out: int, embedding_dim: int, groups: int = 8):
        super().__init__()
        self.norm1 = nn.GroupNorm(min(groups, channels_in), channels_in)
        self.conv1 = nn.Conv2d(channels_in, channels_out, 3, padding=1)
        self.step = nn.Linear(embedding_dim, channels_out)
        self.norm2 = nn.GroupNorm(min(groups, channels_out), channels_out)
        self.conv2 = nn.Conv2d(channels_out, channels_out, 3, padding=1)
        self.skip = nn.Identity() if channels_in == channels_out else nn.Conv2d(channels_in, channels_out, 1)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.step(emb)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return self.skip(x) + h


class UNet(nn.Module):
    """Noise predictor eps_theta(x_t, t) for images ``(B, 1, 28, 28)`` in [-1, 1] and steps ``t`` (B,) (see the module docstring)."""

    def __init__(self, channels: int = 32, image_channels: int = 1, embedding_dim: int = 128):
        super().__init__()
        self.channels = check_int("channels", channels, minimum=8, maximum=1024)
        self.image_channels = check_int("image_channels", image_channels, minimum=1, maximum=16)
        c, wide = channels, 2 * channels
        self.embedding_dim = check_int("embedding_dim", embedding_dim, minimum=2, maximum=4096)
        if embedding_dim % 2:
            raise ValueError(f"embedding_dim must be even (cosines and sines of each frequency), got {embedding_dim}")
        self.embed = nn.Sequential(nn.Linear(embedding_dim, embedding_dim), nn.SiLU(), nn.Linear(embedding_dim, embedding_dim))
        self.stem = nn.Conv2d(image_channels, c, 3, padding=1)
        self.block28 = ResidualBlock(c, c, embedding_dim)
        self.down14 = nn.Conv2d(c, wide, 3, stride=2, padding=1)
        self.block14 = ResidualBlock(wide, wide, embedding_dim)
        self.down7 = nn.Conv2d(wide, wide, 3, stride=2, padding=1)
        self.middle = nn.ModuleList([ResidualBlock(wide, wide, embedding_dim) for _ in range(2)])
        self.up14 = nn.ConvTranspose2d(wide, wide, 4, stride=2, padding=1)
        self.block14_up = ResidualBlock(2 * wide, wide, embedding_dim)
        self.up28 = nn.ConvTranspose2d(wide, c, 4, stride=2, padding=1)
        self.block28_up = ResidualBlock(2 * c, c, embedding_dim)
        self.head = nn.Sequential(nn.GroupNorm(8, c), nn.SiLU(), nn.Conv2d(c, image_channels, 3, padding=1))
        nn.init.zeros_(self.head[-1].weight)
        nn.init.zeros_(self.head[-1].bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, ndim=4, dtype="float", what=f"(images (B, {self.image_channels}, 28, 28))")
        if x.shape[1:] != (self.image_channels, 28, 28):
            raise ValueError(f"x must be images (B, {self.image_channels}, 28, 28), got {tuple(x.shape)}")
        t = check_tensor("t", t, shape=(x.shape[0],), dtype="integer", what="(one step per image)")
        emb = self.embed(step_embedding(t, self.embedding_dim))
        x = x.to(self.stem.weight.dtype)
        h28 = self.block28(self.stem(x), emb)
        h14 = self.block14(self.down14(h28), emb)
        h = self.down7(h14)
        for block in self.middle:
            h = block(h, emb)
        h = self.block14_up(torch.cat([self.up14(h), h14], dim=1), emb)
        h = self.block28_up(torch.cat([self.up28(h), h28], dim=1), emb)
        return self.head(h)
