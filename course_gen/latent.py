"""Interpolation in latent space: the two paths between codes ``z_a`` and ``z_b``.

- :func:`lerp`: the straight line ``(1 - t) z_a + t z_b``;
- :func:`slerp`: the great circle, which keeps the norm of equal-norm codes (where a Gaussian
  prior in many dimensions puts nearly all its mass);
- :func:`interpolation_path`: either one by name (:data:`PATHS`);
- :func:`check_codes` and :func:`check_t`, the argument checks they share with the widgets.

No widget code here: :mod:`course_gen.widgets.interpolation` draws these paths (and re-exports
the names, so ``widgets.lerp`` keeps working).
"""

from __future__ import annotations

import torch

from course_gen._checks import check_choice, check_tensor

__all__ = ["PATHS", "check_codes", "check_t", "interpolation_path", "lerp", "slerp"]

#: The paths :func:`interpolation_path` knows.
PATHS = ("linear", "spherical")

#: Below this angle (radians) between the codes, :func:`slerp` falls back to :func:`lerp`.
_SMALL_ANGLE = 1e-6


def check_codes(z_a, z_b) -> None:
    """Two finite floating-point codes of the same (non-empty) shape."""
    for name, z in (("z_a", z_a), ("z_b", z_b)):
        check_tensor(name, z, dtype="float", what="(a latent code)")
        if z.numel() == 0:
            raise ValueError(f"{name} is empty")
    if z_a.shape != z_b.shape:
        raise ValueError(
            f"z_a and z_b must have the same shape, got {tuple(z_a.shape)} and {tuple(z_b.shape)}"
        )


def check_t(t) -> tuple[torch.Tensor, bool]:
    """``t`` as a float64 1-D tensor, and whether it was a single number."""
    if isinstance(t, torch.Tensor):
        check_tensor("t", t, ndim=(0, 1), what="(a number or a 1-D tensor of numbers in [0, 1])")
        values, scalar = t.detach().to("cpu", torch.float64).reshape(-1), t.ndim == 0
    elif isinstance(t, (int, float)) and not isinstance(t, bool):
        values, scalar = torch.tensor([float(t)], dtype=torch.float64), True
    else:
        raise TypeError(f"t must be a number in [0, 1] or a 1-D tensor of them, got {type(t).__name__}")
    if values.numel() == 0 or not bool(((values >= 0) & (values <= 1)).all()):
        raise ValueError(f"t must lie in [0, 1] (0 gives z_a, 1 gives z_b), got {values.tolist()}")
    return values, scalar


def _weights_to_points(
    weight_a: torch.Tensor, weight_b: torch.Tensor, z_a, z_b, scalar: bool
) -> torch.Tensor:
    shape = (-1,) + (1,) * z_a.ndim
    wa = weight_a.to(z_a.device, z_a.dtype).reshape(shape)
    wb = weight_b.to(z_a.device, z_a.dtype).reshape(shape)
    points = wa * z_a + wb * z_b
    return points[0] if scalar else points


def lerp(z_a: torch.Tensor, z_b: torch.Tensor, t) -> torch.Tensor:
    """Linear interpolation ``z(t) = (1 - t) z_a + t z_b``, ``t`` in [0, 1].

    ``t`` a number: one point, shaped like ``z_a``; ``t`` a 1-D tensor of ``T`` values:
    ``T`` points stacked along a new first axis. Any floating dtype; the result has ``z_a``'s.
    """
    check_codes(z_a, z_b)
    ts, scalar = check_t(t)
    return _weights_to_points(1 - ts, ts, z_a, z_b, scalar)


def slerp(z_a: torch.Tensor, z_b: torch.Tensor, t) -> torch.Tensor:
    """Spherical linear interpolation, ``t`` in [0, 1]:

    ``z(t) = sin((1 - t) W) / sin(W) z_a + sin(t W) / sin(W) z_b``, where
    ``W = arccos(<z_a, z_b> / (|z_a| |z_b|))`` is the angle between the codes (flattened).

    It moves along the great circle from ``z_a`` to ``z_b``: when ``|z_a| = |z_b|`` every
    point keeps that norm, whereas the linear path cuts through the inside of the sphere
    (at ``t = 1/2`` its norm is ``cos(W/2)`` times smaller). Under a Gaussian prior in many
    dimensions nearly all the mass sits near one norm, so slerp stays where codes live.
    Falls back to :func:`lerp` when the codes are (nearly) parallel. Shapes as in :func:`lerp`.
    """
    check_codes(z_a, z_b)
    ts, scalar = check_t(t)
    a, b = z_a.detach().reshape(-1).to(torch.float64), z_b.detach().reshape(-1).to(torch.float64)
    norms = a.norm() * b.norm()
    if float(norms) == 0.0:
        return _weights_to_points(1 - ts, ts, z_a, z_b, scalar)
    omega = torch.arccos((a @ b / norms).clamp(-1.0, 1.0)).cpu()
    if float(torch.sin(omega)) < _SMALL_ANGLE:
        return _weights_to_points(1 - ts, ts, z_a, z_b, scalar)
    weight_a = torch.sin((1 - ts) * omega) / torch.sin(omega)
    weight_b = torch.sin(ts * omega) / torch.sin(omega)
    return _weights_to_points(weight_a, weight_b, z_a, z_b, scalar)


def interpolation_path(z_a: torch.Tensor, z_b: torch.Tensor, ts, path: str = "linear") -> torch.Tensor:
    """The codes at ``ts`` along the ``"linear"`` (:func:`lerp`) or ``"spherical"`` (:func:`slerp`) path."""
    check_choice("path", path, PATHS)
    return (lerp if path == "linear" else slerp)(z_a, z_b, ts)
