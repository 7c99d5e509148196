"""Probes for notebook 07's experiments: each degrades a set of images in one controlled way."""

from __future__ import annotations

import torch

from course_gen._checks import check_finite_number, check_int, check_positive_number, check_probability, check_seed, check_tensor

__all__ = ["add_noise", "blur", "drop_classes", "fade"]

def _check_images(images) -> torch.Tensor:
    images = check_tensor("images", images, ndim=4, dtype="float", what="(n, C, H, W)")
    if len(images) == 0:
        raise ValueError("images is empty: expected at least one image (n, C, H, W)")
    return images


def add_noise(images: torch.Tensor, std: float, seed: int = 0) -> torch.Tensor:
    """``clamp(x + std * eps, 0, 1)``, ``eps ~ N(0, I)`` (seeded): new images, ``images`` untouched."""
    images = _check_images(images)
    std = check_finite_number("std", std)
    std = std if std == 0 else check_positive_number("std", std)
    generator = torch.Generator().manual_seed(check_seed(seed))
    noise = torch.randn(images.shape, generator=generator, dtype=images.dtype).to(images.device)
    return (images + std * noise).clamp(0, 1)


def blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur with standard deviation ``sigma`` pixels (a 5x5 kernel, replicated borders)."""
    images = _check_images(images)
    if check_finite_number("sigma", sigma) == 0:
        return images.clone()
    sigma = check_positive_number("sigma", sigma)
    offsets = torch.arange(-2, 3, dtype=images.dtype, device=images.device)
    weights = torch.exp(-offsets**2 / (2 * sigma**2))
    kernel = torch.outer(weights, weights)
    kernel = (kernel / kernel.sum()).expand(images.shape[1], 1, 5, 5)
    padded = torch.nn.functional.pad(images, (2, 2, 2, 2), mode="replicate")
    return torch.nn.functional.conv2d(padded, kernel, groups=images.shape[1])


def fade(images: torch.Tensor, amount: float) -> torch.Tensor:
    """``(1 - amount) x + amount * mean image``: washed-out images, every one closer to the average."""
    images = _check_images(images)
    amount = check_probability("amount", amount, include_one=True)
    return (1 - amount) * images + amount * images.mean(dim=0, keepdim=True)


def drop_classes(images: torch.Tensor, labels: torch.Tensor, keep: int, n: int, seed: int = 0) -> torch.Tensor:
    """``n`` images drawn without replacement from the classes ``0 .. keep - 1`` only: a model that
    dropped modes (each image still perfect). ``ValueError`` if those classes hold fewer than ``n``."""
    images = _check_images(images)
    labels = check_tensor("labels", labels, dtype="integer", low=0, what="(class indices >= 0)")
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise ValueError(f"labels must be a 1-D tensor with one label per image ({images.shape[0]}), got shape {tuple(labels.shape)}")
    keep = check_int("keep", keep, minimum=1)
    n = check_int("n", n, minimum=1)
    pool = torch.nonzero(labels.cpu() < keep).flatten()
    if len(pool) < n:
        raise ValueError(f"classes 0..{keep - 1} hold {len(pool)} images, fewer than n = {n}")
    generator = torch.Generator().manual_seed(check_seed(seed))
    pick = pool[torch.randperm(len(pool), generator=generator)[:n]]
    return images[pick.to(images.device)].clone()
