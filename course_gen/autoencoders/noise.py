"""The corruptions of a denoising autoencoder: masking noise and additive Gaussian noise.

Both return a new tensor (``x`` is not modified) and take an optional ``torch.Generator`` on
``x``'s device; without one they draw from torch's global stream, like any torch sampling op.
"""

from __future__ import annotations

import torch

from course_gen._checks import check_nonnegative, check_probability, check_tensor

#: Input corruptions of a denoising autoencoder.
CORRUPTIONS = ("none", "mask", "gaussian")


def _check_generator(generator, x: torch.Tensor) -> None:
    if generator is None:
        return
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be None or a torch.Generator, got {type(generator).__name__}")
    if generator.device.type != x.device.type:
        raise ValueError(f"generator is on {generator.device} but x is on {x.device}: put them on one device")


def masking_noise(x: torch.Tensor, nu: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Set each input component to 0 independently with probability ``nu``; keep the rest.

    ``x_tilde = x * m`` with ``m_k ~ Bernoulli(1 - nu)``. No rescaling of the kept values
    (unlike dropout): the denoising autoencoder must fill in the missing pixels. Returns a
    new tensor; ``x`` is not modified. ``generator`` (on ``x``'s device) makes it repeatable.
    """
    check_tensor("x", x, dtype="float")
    nu = check_probability("nu", nu, include_one=True)
    _check_generator(generator, x)
    keep = torch.rand(x.shape, generator=generator, device=x.device) >= nu
    return x * keep.to(x.dtype)


def gaussian_noise(x: torch.Tensor, sigma: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Additive isotropic Gaussian noise: ``x_tilde = x + sigma * eps`` with ``eps ~ N(0, I)``."""
    check_tensor("x", x, dtype="float")
    sigma = check_nonnegative("sigma", sigma)
    _check_generator(generator, x)
    return x + sigma * torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
