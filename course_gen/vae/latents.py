"""What the latents do: the KL of each one, which are active, and which data factor each tracks."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from course_gen._checks import check_nonnegative, check_tensor
from course_gen.vae.model import VAE, _check_vae


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
    threshold = check_nonnegative("threshold", threshold)
    activity = _posterior_means(model, x, "active_units").var(0).cpu()
    return int((activity > threshold).sum()), activity


def _posterior_means(model: VAE, x: torch.Tensor, method: str) -> torch.Tensor:
    """``mu(x)`` ``(B, k)`` for a batch of at least 2 images (a variance or a correlation needs 2)."""
    flat = _check_vae(model)._check_input(x, method)
    if flat.shape[0] < 2:
        raise ValueError(f"{method} needs at least 2 images to measure a variance, got {flat.shape[0]}")
    return model._encode(flat)[0]


def _as_tensor(name: str, values) -> torch.Tensor:
    """A tensor from a tensor, a NumPy array or a list of numbers; ``TypeError`` for anything else."""
    if isinstance(values, torch.Tensor):
        return values
    try:
        return torch.as_tensor(np.asarray(values, dtype=np.float64))
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a tensor of numbers (one per image), got {type(values).__name__}") from err


def _rank(values: torch.Tensor) -> torch.Tensor:
    return torch.argsort(torch.argsort(values)).to(torch.float64)


@torch.no_grad()
def factor_correlations(model: VAE, x: torch.Tensor, factors: dict[str, torch.Tensor],
                        names: Sequence[str] = ("x", "y", "scale")) -> torch.Tensor:
    """``|Spearman correlation|`` between each posterior mean ``mu_j(x)`` and each named factor:
    ``(latent_dim, len(names))``. Rank correlation: 1 means the latent orders the images exactly
    as the factor does (a disentangled latent tracks one factor and ignores the others).

    ``factors``: a dict of finite values per image (tensors ``(B,)``); ``names``: the keys to use, in order."""
    mu = _posterior_means(model, x, "factor_correlations").detach().cpu().to(torch.float64)
    if not isinstance(factors, dict):
        raise TypeError(f"factors must be a dict of name -> values per image, got {type(factors).__name__}")
    if isinstance(names, str) or not isinstance(names, Sequence) or not names:
        raise TypeError(f"names must be a non-empty sequence of factor names such as ('x', 'y'), got {names!r}")
    columns = []
    for name in names:
        if name not in factors:
            raise ValueError(f"unknown factor {name!r}: the factors given are {sorted(factors)}")
        factor = _as_tensor(f"factor {name!r}", factors[name])
        check_tensor(f"factor {name!r}", factor, shape=(mu.shape[0],), what="(one value per image)")
        columns.append(_rank(factor.detach().cpu().to(torch.float64)))
    ranks_f = torch.stack(columns, dim=1)
    ranks_z = torch.stack([_rank(mu[:, j]) for j in range(mu.shape[1])], dim=1)
    ranks_f = (ranks_f - ranks_f.mean(0)) / ranks_f.std(0)
    ranks_z = (ranks_z - ranks_z.mean(0)) / ranks_z.std(0).clamp_min(1e-12)
    return (ranks_z.T @ ranks_f / (mu.shape[0] - 1)).abs()
