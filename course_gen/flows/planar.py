"""Planar and radial flows (Rezende and Mohamed 2015), written in the sampling direction ``g``.

- :class:`Planar` ``g(z) = z + u_hat h(w^T z + b)``, ``|det| = |1 + u_hat^T h'(w^T z + b) w|``;
- :class:`Radial` ``g(z) = z + beta h(alpha, r) (z - z_0)``;

both parametrised so that they stay invertible (``w^T u_hat >= -1``, ``beta >= -alpha``), forward only.
:func:`planar_map` and :func:`radial_map` are the raw maps (no reparametrisation: they may fold), for
the notebook's pictures. :func:`planar_flows` / :func:`radial_flows` build seeded stacks for a
:class:`~course_gen.flows.VariationalFlow`.
"""

from __future__ import annotations

import math
import numbers

import torch
import torch.nn.functional as F
from torch import nn

from course_gen._checks import check_finite_number, check_int, check_positive_number, check_seed, check_tensor
from course_gen.flows.base import Transform, _check_event, _check_float, _own_dtype

#: Most layers :func:`planar_flows` / :func:`radial_flows` build, and the largest dimension of a layer.
MAX_FLOWS, MAX_DIM = 1000, 10**6


def _inverse_softplus(y: float) -> float:
    return y + math.log(-math.expm1(-y))


def _check_vectors(z, **vectors) -> torch.Tensor:
    """``z`` ``(B, D)`` and each vector ``(D,)``, all float and finite."""
    z = _check_float(z, "z")
    if z.ndim != 2:
        raise ValueError(f"z must have shape (B, D), got {tuple(z.shape)}")
    check_tensor("z", z, dtype="float")  # NaN/inf
    for name, v in vectors.items():
        if check_tensor(name, v, dtype="float").shape != (z.shape[1],):
            raise ValueError(f"{name} must have shape ({z.shape[1]},) like a row of z, got {tuple(v.shape)}")
    return z


def _check_scalar(name: str, value):
    """A finite real number, or a finite tensor with one element."""
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"{name} must be a number or a one-element tensor, got shape {tuple(value.shape)}")
        return check_tensor(name, value, dtype="float").reshape(())
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    return check_finite_number(name, value)


class _VectorMap(Transform):
    """What planar and radial layers share: vectors ``(B, dim)``, forward only, a seeded initial scale."""

    has_inverse = False

    def __init__(self, dim: int, init_scale: float):
        super().__init__()
        self.dim = check_int("dim", dim, minimum=1, maximum=MAX_DIM)
        self.event_shape = (self.dim,)
        self._init_scale = check_positive_number("init_scale", init_scale)

    def _input(self, z) -> torch.Tensor:
        return _own_dtype(self, _check_event(z, self.event_shape, "z"))


# ============================================================================ planar


def planar_invertible(u: torch.Tensor, w: torch.Tensor) -> bool:
    """Whether ``g(z) = z + u tanh(w^T z + b)`` is invertible: ``w^T u >= -1`` (tanh' in (0, 1])."""
    w = check_tensor("w", w, ndim=1, dtype="float", what="(D,)")
    u = check_tensor("u", u, shape=tuple(w.shape), dtype="float", what="(like w)")
    return bool(torch.dot(w, u.to(w.dtype)) >= -1)


def _planar(z, u, w, b) -> tuple[torch.Tensor, torch.Tensor]:
    activation = z @ w + b
    y = z + u * torch.tanh(activation)[:, None]
    psi = (1 - torch.tanh(activation) ** 2)[:, None] * w
    return y, torch.log(torch.abs(1 + psi @ u))


def planar_map(z: torch.Tensor, u: torch.Tensor, w: torch.Tensor, b) -> tuple[torch.Tensor, torch.Tensor]:
    """The raw planar map ``g(z) = z + u tanh(w^T z + b)`` and ``log|1 + u^T psi(z)|``,
    ``psi(z) = tanh'(w^T z + b) w``, for ``z`` of shape ``(B, D)``, ``u, w`` of shape ``(D,)`` and a number ``b``.

    No reparametrisation: with ``w^T u < -1`` the map folds (not invertible) and ``1 + u^T psi``
    crosses zero somewhere (``log|.|`` is then ``-inf`` there). :class:`Planar` keeps it invertible.
    ``u``, ``w``, ``b`` are cast to ``z``'s dtype.
    """
    z = _check_vectors(z, u=u, w=w)
    b = _check_scalar("b", b)
    if isinstance(b, torch.Tensor):
        b = b.to(z.dtype)
    return _planar(z, u.to(z.dtype), w.to(z.dtype), b)


class Planar(_VectorMap):
    """Planar flow ``g(z) = z + u_hat tanh(w^T z + b)`` on vectors ``(B, dim)`` (a sampling-direction map).

    ``log|det dg/dz| = log|1 + u_hat^T psi(z)|`` with ``psi(z) = tanh'(w^T z + b) w`` (the matrix
    determinant lemma). ``u_hat = u + (m(w^T u) - w^T u) w / |w|^2`` with ``m(a) = -1 + softplus(a)``
    guarantees ``w^T u_hat > -1``, hence invertibility, for every value of the free parameters.
    The inverse has no closed form (it needs a 1-D root search for ``w^T z`` along ``w``).
    """

    def __init__(self, dim: int, init_scale: float = 0.1, generator: torch.Generator | None = None):
        super().__init__(dim, init_scale)
        scale = self._init_scale
        self.u = nn.Parameter(scale * torch.randn(self.dim, generator=generator))
        self.w = nn.Parameter(scale * torch.randn(self.dim, generator=generator))
        self.b = nn.Parameter(torch.zeros(()))

    def u_hat(self) -> torch.Tensor:
        """The constrained ``u``: ``w^T u_hat = -1 + softplus(w^T u) > -1``."""
        wu = torch.dot(self.w, self.u)
        return self.u + (F.softplus(wu) - 1 - wu) * self.w / (self.w.pow(2).sum() + 1e-12)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return _planar(self._input(z), self.u_hat(), self.w, self.b)


# ============================================================================ radial


def _radial(z, z0, alpha, beta) -> tuple[torch.Tensor, torch.Tensor]:
    diff = z - z0
    r = diff.norm(dim=1)
    h = 1 / (alpha + r)
    y = z + (beta * h)[:, None] * diff
    dim = z.shape[1]
    log_det = (dim - 1) * torch.log(torch.abs(1 + beta * h)) + torch.log(torch.abs(1 + beta * h - beta * h**2 * r))
    return y, log_det


def radial_map(z: torch.Tensor, z0: torch.Tensor, alpha, beta) -> tuple[torch.Tensor, torch.Tensor]:
    """The raw radial map and its log|det| (see :class:`Radial`) for ``z`` ``(B, D)``, centre ``z0`` ``(D,)``
    and numbers ``alpha > 0``, ``beta``; invertible iff ``beta >= -alpha``."""
    z = _check_vectors(z, z0=z0)
    alpha, beta = _check_scalar("alpha", alpha), _check_scalar("beta", beta)
    if float(alpha) <= 0:
        raise ValueError(f"alpha must be > 0, got {float(alpha)}")
    return _radial(z, z0.to(z.dtype), alpha, beta)


class Radial(_VectorMap):
    """Radial flow ``g(z) = z + beta h(alpha, r) (z - z_0)``, ``r = |z - z_0|``, ``h = 1 / (alpha + r)``
    (a sampling-direction map).

    ``log|det| = (d - 1) log(1 + beta h) + log(1 + beta h + beta h'(r) r)`` with
    ``h' = -1 / (alpha + r)^2``. ``alpha = softplus(a) > 0`` and ``beta = -alpha + softplus(c)``
    keep ``beta >= -alpha``, the invertibility condition. No inverse is implemented, although one exists
    in closed form: the new radius ``R = r + beta r / (alpha + r)`` gives the quadratic
    ``r^2 + (alpha + beta - R) r - alpha R = 0`` for ``r``; radial layers are too weak for density
    estimation and serve variational inference, which needs only samples and their densities.
    """

    def __init__(self, dim: int, init_scale: float = 0.1, generator: torch.Generator | None = None):
        super().__init__(dim, init_scale)
        scale = self._init_scale
        self.z0 = nn.Parameter(scale * torch.randn(self.dim, generator=generator))
        self.alpha_raw = nn.Parameter(torch.tensor(_inverse_softplus(1.0)))
        self.beta_raw = nn.Parameter(torch.tensor(_inverse_softplus(1.0)) + scale * torch.randn((), generator=generator))

    @property
    def alpha(self) -> torch.Tensor:
        return F.softplus(self.alpha_raw)

    @property
    def beta(self) -> torch.Tensor:
        return -self.alpha + F.softplus(self.beta_raw)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return _radial(self._input(z), self.z0, self.alpha, self.beta)


# ============================================================================ seeded stacks


def _stack(layer: type[_VectorMap], dim: int, n_flows: int, seed: int) -> list:
    generator = torch.Generator().manual_seed(check_seed(seed))
    return [layer(dim, generator=generator) for _ in range(check_int("n_flows", n_flows, minimum=1, maximum=MAX_FLOWS))]


def planar_flows(dim: int, n_flows: int, seed: int = 0) -> list[Planar]:
    """``n_flows`` :class:`Planar` layers with seeded random initial parameters."""
    return _stack(Planar, dim, n_flows, seed)


def radial_flows(dim: int, n_flows: int, seed: int = 0) -> list[Radial]:
    """``n_flows`` :class:`Radial` layers with seeded random initial parameters."""
    return _stack(Radial, dim, n_flows, seed)
