"""Receptive fields measured with gradients: what an output pixel sees, and the blind spot.

- :func:`receptive_field`: ``|d out(i, j) / d x|``, a zero meaning "no path".
- :func:`nominal_receptive_field`: what the architecture nominally reaches.
- :func:`blind_spot`: nominally reached, yet zero gradient.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from course_gen._checks import check_seed
from course_gen.autoregressive.base import _check_model
from course_gen.autoregressive.masks import _check_hw, _check_pixel
from course_gen.runtime import model_device


def receptive_field(model: nn.Module, shape=(8, 8), pixel=(4, 4), seed: int = 0) -> torch.Tensor:
    """``|d out(i, j) / d x|`` summed over channels: the (H, W) map of what output pixel (i, j) sees.

    ``out(i, j)`` is the sum of the model's logits at pixel ``(i, j)`` (all channels and levels);
    the gradient is taken at a random binary image (seeded), in float64 on a copy of the model
    in eval mode, so a zero means "no path", not rounding. Returned as float64 on the CPU.
    """
    _check_model(model)
    height, width = _check_hw(shape)
    i, j = _check_pixel(pixel, (height, width))
    probe = copy.deepcopy(model).to(torch.float64).eval()
    generator = torch.Generator().manual_seed(check_seed(seed))
    x = torch.randint(0, probe.n_levels, (1, probe.channels, height, width), generator=generator)
    x = x.to(model_device(probe), torch.float64).requires_grad_(True)
    logits = probe(x)
    (grad,) = torch.autograd.grad(logits[..., i, j].sum(), x)
    return grad.abs().sum(dim=(0, 1)).cpu()


def nominal_receptive_field(model: nn.Module, shape=(8, 8), pixel=(4, 4)) -> torch.Tensor:
    """Bool (H, W): the pixels before ``pixel`` that the architecture nominally reaches.

    PixelCNN with L layers of kernel k (p = k // 2): the rows i - L p .. i - 1 over the columns
    j - L p .. j + L p, and row i left of j as far as j - L p. Gated PixelCNN: one more row above
    (the vertical stack's shift). MADE: every pixel earlier in its ordering.
    """
    _check_model(model)
    shape = _check_hw(shape)
    return model.nominal_field(shape, _check_pixel(pixel, shape))


def blind_spot(model: nn.Module, shape=(8, 8), pixel=(4, 4), seed: int = 0) -> torch.Tensor:
    """Bool (H, W): pixels inside the nominal receptive field that output ``pixel`` does NOT see
    (zero gradient). Empty for MADE and Gated PixelCNN; a growing triangle above-right for PixelCNN."""
    seen = receptive_field(model, shape, pixel, seed) != 0
    return nominal_receptive_field(model, shape, pixel) & ~seen

