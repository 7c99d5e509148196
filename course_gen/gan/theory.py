"""The minimax game for distributions on a finite support: exact, no networks.

- :func:`optimal_discriminator`: for a fixed ``G``, ``D*(x) = p_data(x) / (p_data(x) + p_g(x))``;
- :func:`minimax_value`: ``V(D, G)`` for distributions on a finite support and ``D`` given by
  its values there; ``V(D*, G) = C(G) = -log 4 + 2 JSD(p_data || p_g)``.
"""

from __future__ import annotations

import torch

from course_gen.divergences import as_distribution, as_float64

__all__ = ["minimax_value", "optimal_discriminator"]


def _same_shape(**tensors: torch.Tensor) -> None:
    shapes = {name: tuple(t.shape) for name, t in tensors.items()}
    if len(set(shapes.values())) != 1:
        listed = ", ".join(f"{name} {shape}" for name, shape in shapes.items())
        raise ValueError(f"{', '.join(shapes)} must have the same shape (one value per outcome), got {listed}")


def _densities(p_data, p_g) -> tuple[torch.Tensor, torch.Tensor]:
    p_data, p_g = as_float64("p_data", p_data), as_float64("p_g", p_g)
    _same_shape(p_data=p_data, p_g=p_g)
    for name, p in (("p_data", p_data), ("p_g", p_g)):
        if bool((p < 0).any()):
            raise ValueError(f"{name} must hold finite probabilities (or densities) >= 0, got a minimum of {float(p.min()):.4g}")
    return p_data, p_g


def optimal_discriminator(p_data, p_g) -> torch.Tensor:
    """``D*(x) = p_data(x) / (p_data(x) + p_g(x))``, elementwise (float64 tensor).

    ``p_data``, ``p_g``: probabilities or densities (>= 0, finite) at the same points, same shape.
    Where both are 0 the discriminator is never evaluated (outside both supports) and any
    value is optimal: 1/2 is returned there.
    """
    p_data, p_g = _densities(p_data, p_g)
    total = p_data + p_g
    return torch.where(total > 0, p_data / total.where(total > 0, torch.ones_like(total)), torch.full_like(total, 0.5))


def minimax_value(p_data, p_g, d) -> torch.Tensor:
    """``V(D, G) = sum_x p_data(x) log D(x) + p_g(x) log(1 - D(x))`` (nats, float64).

    The value of the game for distributions on a finite support (the last axis; leading
    axes are batch axes and give one value each) and a discriminator given by its values
    ``d`` in [0, 1] on the same points. ``p_data`` and ``p_g`` must be distributions (>= 0,
    summing to 1 along the last axis, as :func:`course_gen.divergences.kl` requires). Terms
    with zero probability count 0 (``0 log 0 = 0``); ``D = 0`` on a real point (or 1 on a fake
    one) would give ``V = -inf``: a ``ValueError`` says so. ``V(D, G) <= C(G) = V(D*, G) =
    -log 4 + 2 JSD(p_data || p_g)`` for every ``d``.
    """
    p_data, p_g = as_distribution("p_data", p_data), as_distribution("p_g", p_g)
    d = as_float64("d", d)
    _same_shape(p_data=p_data, p_g=p_g, d=d)
    if bool(((d < 0) | (d > 1)).any()):
        raise ValueError(
            f"d must hold discriminator values in [0, 1], got values from {float(d.min()):.4g} to {float(d.max()):.4g}"
        )
    value = (torch.xlogy(p_data, d) + torch.xlogy(p_g, 1 - d)).sum(dim=-1)
    if not bool(torch.isfinite(value).all()):
        raise ValueError("V(D, G) = -inf: d is 0 where p_data > 0 or 1 where p_g > 0 (a discriminator that is "
                         "certain and wrong); give d strictly inside (0, 1) there")
    return value
