"""Normalizing flows: invertible maps with tractable log-determinants (notebook 04).

Direction convention (notebook 04's, and RealNVP's and Glow's): ``f`` maps data ``x`` to the latent
``z = f(x)``; sampling runs the inverse ``g = f^-1``, ``x = g(z)``. The change of variables formula: if
``z = f(x)`` with ``f`` invertible and differentiable,

    p_X(x) = p_Z(f(x)) |det df/dx|,      log p_X(x) = log p_Z(f(x)) + log |det df/dx|,

and ``|det df^-1/dz| = |det df/dx|^-1``. For a composition ``f = f_K o ... o f_1`` the
log-determinants add up. Every transform here is an ``nn.Module`` whose ``forward(x)`` returns
``(y, log_abs_det)`` (one value per example, shape ``(B,)``) and, where an inverse exists,
``inverse(y)`` returns ``(x, log_abs_det)`` of the inverse (minus the forward one):

- :class:`Planar` ``g(z) = z + u_hat h(w^T z + b)``, ``|det| = |1 + u_hat^T h'(w^T z + b) w|``, and
  :class:`Radial` ``g(z) = z + beta h(alpha, r) (z - z_0)`` (Rezende and Mohamed 2015), maps written in the
  sampling direction; forward only,
  parametrised so that they stay invertible (``w^T u_hat >= -1``, ``beta >= -alpha``);
- :class:`AdditiveCoupling` (NICE, log-det 0) and :class:`AffineCoupling` (RealNVP,
  log-det ``sum (1 - m) s``) with the masks of :func:`coupling_mask`: ``"half"``/``"alternating"``
  for vectors, ``"checkerboard"``/``"channel"`` for images;
- Glow's layers: :class:`ActNorm` (data-dependent initialisation, log-det ``h w sum log|s|``),
  :class:`Invertible1x1Conv` (log-det ``h w log|det W|``, optionally LU-parametrised);
- :class:`Squeeze` (space to channels) and :class:`LogitTransform` (``[0, 1)`` to the real line).

:class:`Flow` chains transforms in the *normalising* direction (data ``x`` to latent ``z``) over a
standard normal base: ``log_prob(x)`` in nats per example, ``sample(n)`` through the inverses.
:class:`VariationalFlow` runs the sampling direction (Rezende and Mohamed): ``z_K = g_K o ... o g_1(z_0)``,
``log q_K(z_K) = log q_0(z_0) - sum_k log |det dg_k/dz_{k-1}|``, fitted to an unnormalised target
by the reverse KL; :func:`energy_log_density` holds the paper's four test energies.

Notebook 04's 2-D models are shipped (:func:`shipped_2d`: two-moons RealNVPs and planar fits to ``U2``), and
:func:`histogram_vs_density` compares a 2-D flow's samples with its change-of-variables density.

Discrete images (digits, values ``k / (K - 1)`` for ``K`` levels; binarized digits ``K = 2``):
:func:`dequantize` adds uniform noise, ``y = (k + u) / K`` with ``u ~ U[0, 1)^D``, and
``log P(x) >= E_u[log p(y)] - D log K`` (Theis et al.). Flow++ (Ho et al.) learns the noise instead:
:class:`VariationalDequantizer` draws ``u ~ q(u | x)`` and the bound becomes
``E_q[log p(y) - log q(u | x)] - D log K``. :class:`DequantizedFlow` wraps a flow on ``y`` (with
either noise) so that it takes the discrete images directly.

Recipe for digits and binarized digits (the shipped 28x28 flows of notebooks 04 and 07 are
``pretrained.load("realnvp")`` and ``"realnvp_vardeq"``, built with ``image_size=28, n_levels=2``)::

    model = flows.realnvp_digits(n_levels=2)          # or 17 for the grey-level digits;
                                                      # dequantization="variational" learns the noise
    train(model, x_train, steps=2000, lr=1e-3)        # loss(x): -bound / D, dequantised inside
    flows.dequantized_bits_per_dim(model, x_test)     # test bits/dim (an upper bound)
    model.log_prob(x_test)                            # lower bound on log P(x), nats per image
    model.sample(16)                                  # discrete images, values k / (K - 1)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from course_gen._checks import check_bool, check_choice, check_int, check_positive_number, check_probability, check_seed
from course_gen.metrics import bits_per_dim

__all__ = [
    "ENERGY_NAMES",
    "MASKS",
    "ActNorm",
    "AdditiveCoupling",
    "AffineCoupling",
    "DEQUANTIZATIONS",
    "DequantizedFlow",
    "Flow",
    "Invertible1x1Conv",
    "MOONS_RECIPE",
    "PLANAR_RECIPE",
    "SHIPPED_2D",
    "LogitTransform",
    "Planar",
    "Radial",
    "Squeeze",
    "StandardNormal",
    "Transform",
    "VariationalDequantizer",
    "VariationalFlow",
    "coupling_mask",
    "dequantize",
    "dequantized_bits_per_dim",
    "discretize",
    "energy_log_density",
    "histogram_vs_density",
    "log_normaliser_2d",
    "moons_realnvp_pair",
    "planar_fits",
    "planar_flows",
    "planar_invertible",
    "planar_map",
    "radial_flows",
    "realnvp_2d",
    "realnvp_digits",
    "reverse_kl",
    "shipped_2d",
    "train_moons_realnvp_pair",
    "train_planar_fits",
]

#: Coupling masks: two for vectors (shape ``(D,)``), two for images (shape ``(C, H, W)``).
MASKS = ("half", "alternating", "checkerboard", "channel")
#: The four unnormalised 2-D test densities of Rezende and Mohamed (2015), ``p(z) ~ exp(-U(z))``.
ENERGY_NAMES = ("U1", "U2", "U3", "U4")
#: The noise of :func:`realnvp_digits`: uniform, or learned by a :class:`VariationalDequantizer`.
DEQUANTIZATIONS = ("uniform", "variational")


# ============================================================================ checks


def _check_tensor(x, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    return x


def _check_event(x, shape: tuple[int, ...], name: str = "x") -> torch.Tensor:
    """``x`` must be a float tensor ``(B, *shape)`` without NaNs."""
    x = _check_tensor(x, name)
    if x.ndim != len(shape) + 1 or tuple(x.shape[1:]) != tuple(shape):
        raise ValueError(f"{name} must have shape (B, {', '.join(map(str, shape))}), got {tuple(x.shape)}")
    if bool(torch.isnan(x).any()):
        raise ValueError(f"{name} contains NaN values")
    return x


def _check_channels(x, channels: int, name: str = "x") -> torch.Tensor:
    """``x`` must be ``(B, C)`` or ``(B, C, H, W)`` with ``C = channels``."""
    x = _check_tensor(x, name)
    if x.ndim not in (2, 4) or x.shape[1] != channels:
        raise ValueError(f"{name} must have shape (B, {channels}) or (B, {channels}, H, W), got {tuple(x.shape)}")
    if bool(torch.isnan(x).any()):
        raise ValueError(f"{name} contains NaN values")
    return x


def _check_shape(dim) -> tuple[int, ...]:
    """``dim``: an int D or ``(D,)`` (vectors) or a shape ``(C, H, W)`` (images)."""
    if isinstance(dim, Sequence) and not isinstance(dim, str):
        if len(dim) not in (1, 3):
            raise ValueError(f"a shape must be D or (D,) for vectors or (C, H, W) for images, got {tuple(dim)!r}")
        return tuple(check_int("shape entry", d, minimum=1) for d in dim)
    return (check_int("dim", dim, minimum=1),)


def _pixels(x: torch.Tensor) -> int:
    """``h * w`` for images ``(B, C, H, W)``, 1 for vectors ``(B, C)``."""
    return x.shape[2] * x.shape[3] if x.ndim == 4 else 1


def _per_channel(v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """A ``(C,)`` parameter shaped to broadcast against ``x``."""
    return v.view(1, -1, 1, 1) if x.ndim == 4 else v.view(1, -1)


def _inverse_softplus(y: float) -> float:
    return y + math.log(-math.expm1(-y))


# ============================================================================ base class


class Transform(nn.Module):
    """An invertible map: ``forward(x) -> (y, log|det dy/dx|)``, ``inverse(y) -> (x, log|det dx/dy|)``.

    ``log_abs_det`` has one value per example, shape ``(B,)``. Transforms without an implemented
    inverse (planar: no closed form; radial: not worth it) set ``has_inverse = False``.
    ``output_shape(shape)`` gives the per-example output shape for an input of per-example ``shape``
    (the same, except for Squeeze).
    """

    has_inverse = True

    def inverse(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError(f"{type(self).__name__} has no inverse implemented")

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(shape)


# ============================================================================ planar and radial


def planar_invertible(u: torch.Tensor, w: torch.Tensor) -> bool:
    """Whether ``g(z) = z + u tanh(w^T z + b)`` is invertible: ``w^T u >= -1`` (tanh' in (0, 1])."""
    return bool(torch.dot(_check_tensor(w, "w").flatten(), _check_tensor(u, "u").flatten()) >= -1)


def planar_map(z: torch.Tensor, u: torch.Tensor, w: torch.Tensor, b) -> tuple[torch.Tensor, torch.Tensor]:
    """The raw planar map ``g(z) = z + u tanh(w^T z + b)`` and ``log|1 + u^T psi(z)|``,
    ``psi(z) = tanh'(w^T z + b) w``, for ``z`` of shape ``(B, D)`` and ``u, w`` of shape ``(D,)``.

    No reparametrisation: with ``w^T u < -1`` the map folds (not invertible) and ``1 + u^T psi``
    crosses zero somewhere (``log|.|`` is then ``-inf`` there). :class:`Planar` keeps it invertible.
    """
    z = _check_tensor(z, "z")
    if z.ndim != 2:
        raise ValueError(f"z must have shape (B, D), got {tuple(z.shape)}")
    for name, v in (("u", u), ("w", w)):
        if _check_tensor(v, name).shape != (z.shape[1],):
            raise ValueError(f"{name} must have shape ({z.shape[1]},) like a row of z, got {tuple(v.shape)}")
    activation = z @ w + b
    y = z + u * torch.tanh(activation)[:, None]
    psi = (1 - torch.tanh(activation) ** 2)[:, None] * w
    return y, torch.log(torch.abs(1 + psi @ u))


class Planar(Transform):
    """Planar flow ``g(z) = z + u_hat tanh(w^T z + b)`` on vectors ``(B, dim)`` (a sampling-direction map).

    ``log|det dg/dz| = log|1 + u_hat^T psi(z)|`` with ``psi(z) = tanh'(w^T z + b) w`` (the matrix
    determinant lemma). ``u_hat = u + (m(w^T u) - w^T u) w / |w|^2`` with ``m(a) = -1 + softplus(a)``
    guarantees ``w^T u_hat > -1``, hence invertibility, for every value of the free parameters.
    The inverse has no closed form (it needs a 1-D root search for ``w^T z`` along ``w``).
    """

    has_inverse = False

    def __init__(self, dim: int, init_scale: float = 0.1, generator: torch.Generator | None = None):
        super().__init__()
        self.dim = check_int("dim", dim, minimum=1)
        self.event_shape = (self.dim,)
        scale = check_positive_number("init_scale", init_scale)
        self.u = nn.Parameter(scale * torch.randn(self.dim, generator=generator))
        self.w = nn.Parameter(scale * torch.randn(self.dim, generator=generator))
        self.b = nn.Parameter(torch.zeros(()))

    def u_hat(self) -> torch.Tensor:
        """The constrained ``u``: ``w^T u_hat = -1 + softplus(w^T u) > -1``."""
        wu = torch.dot(self.w, self.u)
        return self.u + (F.softplus(wu) - 1 - wu) * self.w / (self.w.pow(2).sum() + 1e-12)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        _check_event(z, self.event_shape, "z")
        return planar_map(z, self.u_hat(), self.w, self.b)


class Radial(Transform):
    """Radial flow ``g(z) = z + beta h(alpha, r) (z - z_0)``, ``r = |z - z_0|``, ``h = 1 / (alpha + r)``
    (a sampling-direction map).

    ``log|det| = (d - 1) log(1 + beta h) + log(1 + beta h + beta h'(r) r)`` with
    ``h' = -1 / (alpha + r)^2``. ``alpha = softplus(a) > 0`` and ``beta = -alpha + softplus(c)``
    keep ``beta >= -alpha``, the invertibility condition. No inverse is implemented, although one exists
    in closed form: the new radius ``R = r + beta r / (alpha + r)`` gives the quadratic
    ``r^2 + (alpha + beta - R) r - alpha R = 0`` for ``r``; radial layers are too weak for density
    estimation and serve variational inference, which needs only samples and their densities.
    """

    has_inverse = False

    def __init__(self, dim: int, init_scale: float = 0.1, generator: torch.Generator | None = None):
        super().__init__()
        self.dim = check_int("dim", dim, minimum=1)
        self.event_shape = (self.dim,)
        scale = check_positive_number("init_scale", init_scale)
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
        _check_event(z, self.event_shape, "z")
        return radial_map(z, self.z0, self.alpha, self.beta)


def radial_map(z: torch.Tensor, z0: torch.Tensor, alpha, beta) -> tuple[torch.Tensor, torch.Tensor]:
    """The raw radial map and its log|det| (see :class:`Radial`); invertible iff ``beta >= -alpha``."""
    diff = z - z0
    r = diff.norm(dim=1)
    h = 1 / (alpha + r)
    y = z + (beta * h)[:, None] * diff
    dim = z.shape[1]
    log_det = (dim - 1) * torch.log(torch.abs(1 + beta * h)) + torch.log(torch.abs(1 + beta * h - beta * h**2 * r))
    return y, log_det


# ============================================================================ coupling layers


def coupling_mask(kind: str, shape, flip: bool = False) -> torch.Tensor:
    """The 0/1 mask of a coupling layer: 1 marks the entries kept (they condition the others).

    - ``"half"`` (vectors ``(D,)``): the first ``ceil(D / 2)`` entries;
    - ``"alternating"`` (vectors): entries 0, 2, 4, ...;
    - ``"checkerboard"`` (images ``(C, H, W)``): pixels with ``i + j`` even, in every channel;
    - ``"channel"`` (images, ``C >= 2``): the first ``C // 2`` channels.

    ``flip=True`` returns ``1 - mask``: alternate it between layers so every entry gets transformed.
    """
    check_choice("mask", kind, MASKS)
    check_bool("flip", flip)
    shape = _check_shape(shape)
    if kind in ("half", "alternating"):
        if len(shape) != 1:
            raise ValueError(f"mask {kind!r} is for vectors: shape must be an int D, got {shape}")
        index = torch.arange(shape[0])
        mask = (index < (shape[0] + 1) // 2) if kind == "half" else (index % 2 == 0)
    else:
        if len(shape) != 3:
            raise ValueError(f"mask {kind!r} is for images: shape must be (C, H, W), got {shape}")
        channels, height, width = shape
        if kind == "checkerboard":
            parity = (torch.arange(height)[:, None] + torch.arange(width)[None, :]) % 2 == 0
            mask = parity.expand(channels, height, width)
        else:
            if channels < 2:
                raise ValueError(f"a channel mask needs at least 2 channels, got shape {shape}")
            mask = (torch.arange(channels) < channels // 2)[:, None, None].expand(channels, height, width)
    mask = mask.float()
    return 1 - mask if flip else mask.clone()


def _resolve_mask(mask, shape: tuple[int, ...], flip: bool) -> torch.Tensor:
    if isinstance(mask, str):
        return coupling_mask(mask, shape if len(shape) == 3 else shape[0], flip)
    if not isinstance(mask, torch.Tensor):
        raise TypeError(f"mask must be one of {MASKS} or a 0/1 tensor, got {type(mask).__name__}")
    if tuple(mask.shape) != shape:
        raise ValueError(f"mask must have shape {shape}, got {tuple(mask.shape)}")
    if not bool(((mask == 0) | (mask == 1)).all()):
        raise ValueError("mask must hold only 0s and 1s")
    mask = mask.float()
    return 1 - mask if flip else mask.clone()


def _coupling_net(shape: tuple[int, ...], hidden: int, outputs: int, extra_channels: int = 1) -> nn.Module:
    """An MLP for vectors, a 3x3 conv net for images; ``outputs`` copies of the input size out.

    Images come in with ``extra_channels`` more channels (the couplings append their mask).
    The last layer starts at zero, so a fresh coupling layer is the identity (stable training)."""
    if len(shape) == 1:
        layers = [nn.Linear(shape[0], hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                  nn.Linear(hidden, outputs * shape[0])]
    else:
        channels = shape[0]
        layers = [nn.Conv2d(channels + extra_channels, hidden, 3, padding=1), nn.ReLU(), nn.Conv2d(hidden, hidden, 3, padding=1),
                  nn.ReLU(), nn.Conv2d(hidden, outputs * channels, 3, padding=1)]
    nn.init.zeros_(layers[-1].weight)
    nn.init.zeros_(layers[-1].bias)
    return nn.Sequential(*layers)


class _Coupling(Transform):
    """Shared by the two couplings: the mask, the conditioner network and its input."""

    n_outputs = 1

    def __init__(self, dim, mask="half", hidden: int = 64, flip: bool = False):
        super().__init__()
        self.event_shape = _check_shape(dim)
        hidden = check_int("hidden", hidden, minimum=1)
        self.register_buffer("mask", _resolve_mask(mask, self.event_shape, check_bool("flip", flip)))
        self.net = _coupling_net(self.event_shape, hidden, self.n_outputs)

    def _conditioner(self, kept: torch.Tensor) -> torch.Tensor:
        """The network applied to the kept entries (images also get the mask as a channel)."""
        if len(self.event_shape) == 3:
            mask = self.mask[:1].expand(kept.shape[0], 1, *self.event_shape[1:]).to(kept.dtype)
            return self.net(torch.cat([kept, mask], dim=1))
        return self.net(kept)


class AdditiveCoupling(_Coupling):
    """NICE's additive coupling: ``y = m x + (1 - m) (x + t(m x))``; log|det| = 0 (volume preserving).

    Inverse: ``x = m y + (1 - m) (y - t(m y))``. ``dim``: an int (vectors) or ``(C, H, W)``; ``mask``:
    a name from :data:`MASKS` or a 0/1 tensor of that shape (1 = kept); ``flip`` swaps the halves.
    """

    def forward(self, x):
        x = _check_event(x, self.event_shape)
        shift = self._conditioner(x * self.mask) * (1 - self.mask)
        return x + shift, x.new_zeros(x.shape[0])

    def inverse(self, y):
        y = _check_event(y, self.event_shape, "y")
        shift = self._conditioner(y * self.mask) * (1 - self.mask)
        return y - shift, y.new_zeros(y.shape[0])


class AffineCoupling(_Coupling):
    """RealNVP's affine coupling: ``y = m x + (1 - m) (x exp(s(m x)) + t(m x))``.

    The Jacobian is triangular with diagonal 1 (kept entries) and ``exp(s)`` (transformed ones), so
    ``log|det dy/dx| = sum (1 - m) s``: no determinant of the network, which can be anything.
    Inverse: ``x = m y + (1 - m) (y - t(m y)) exp(-s(m y))``, log-det ``-sum (1 - m) s``.
    ``s = scale_bound * tanh(raw / scale_bound)`` keeps the scales in a safe range.
    """

    n_outputs = 2

    def __init__(self, dim, mask="half", hidden: int = 64, flip: bool = False, scale_bound: float = 3.0):
        super().__init__(dim, mask, hidden, flip)
        self.scale_bound = check_positive_number("scale_bound", scale_bound)

    def scale_and_shift(self, kept: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(s, t)`` from the kept entries, both zero on the kept entries themselves."""
        raw_s, t = self._conditioner(kept).chunk(2, dim=1)
        s = self.scale_bound * torch.tanh(raw_s / self.scale_bound)
        return s * (1 - self.mask), t * (1 - self.mask)

    def forward(self, x):
        x = _check_event(x, self.event_shape)
        s, t = self.scale_and_shift(x * self.mask)
        return x * torch.exp(s) + t, s.flatten(1).sum(1)

    def inverse(self, y):
        y = _check_event(y, self.event_shape, "y")
        s, t = self.scale_and_shift(y * self.mask)
        return (y - t) * torch.exp(-s), -s.flatten(1).sum(1)


# ============================================================================ Glow layers


class ActNorm(Transform):
    """Glow's activation normalisation: ``y = s x + b`` per channel, log|det| = ``h w sum log|s|``.

    ``s = exp(log_scale)``. Data-dependent initialisation: the first forward call sets
    ``b`` and ``s`` so that this first output has zero mean and unit variance per channel (over the
    batch and the pixels); later calls use the learned values. Vectors ``(B, C)`` or images
    ``(B, C, H, W)``. Inverse ``x = (y - b) / s``.
    """

    def __init__(self, channels: int, eps: float = 1e-6):
        super().__init__()
        self.channels = check_int("channels", channels, minimum=1)
        self.eps = check_positive_number("eps", eps)
        self.log_scale = nn.Parameter(torch.zeros(self.channels))
        self.bias = nn.Parameter(torch.zeros(self.channels))
        self.register_buffer("initialized", torch.tensor(False))

    @torch.no_grad()
    def initialize(self, x: torch.Tensor) -> None:
        """Set ``b = -mean / std`` and ``s = 1 / std`` from ``x``'s per-channel statistics."""
        if x.shape[0] * _pixels(x) < 2:
            raise ValueError("ActNorm's data-dependent initialisation needs more than one value per channel")
        values = x.transpose(0, 1).reshape(self.channels, -1)
        mean, std = values.mean(1), values.std(1, unbiased=False)
        self.log_scale.copy_(-torch.log(std + self.eps))
        self.bias.copy_(-mean / (std + self.eps))
        self.initialized.fill_(True)

    def forward(self, x):
        x = _check_channels(x, self.channels)
        if not bool(self.initialized):
            self.initialize(x)
        y = x * _per_channel(self.log_scale.exp(), x) + _per_channel(self.bias, x)
        return y, (_pixels(x) * self.log_scale.sum()).expand(x.shape[0])

    def inverse(self, y):
        y = _check_channels(y, self.channels, "y")
        x = (y - _per_channel(self.bias, y)) * _per_channel(torch.exp(-self.log_scale), y)
        return x, (-_pixels(y) * self.log_scale.sum()).expand(y.shape[0])


class Invertible1x1Conv(Transform):
    """Glow's invertible 1x1 convolution: ``y_ij = W x_ij`` at every pixel, log|det| = ``h w log|det W|``.

    ``W`` starts as a random rotation (seeded by ``generator``). With ``lu=True``,
    ``W = P L (U + diag(sign(s) exp(log|s|)))`` (P fixed, L unit lower triangular, U strictly upper),
    so ``log|det W| = sum log|s|`` costs O(c) instead of O(c^3). Inverse ``x_ij = W^-1 y_ij``.
    """

    def __init__(self, channels: int, lu: bool = False, generator: torch.Generator | None = None):
        super().__init__()
        self.channels = check_int("channels", channels, minimum=1)
        self.lu = check_bool("lu", lu)
        rotation, _ = torch.linalg.qr(torch.randn(self.channels, self.channels, generator=generator))
        if not self.lu:
            self.weight_param = nn.Parameter(rotation)
            return
        permutation, lower, upper = torch.linalg.lu(rotation)
        diagonal = torch.diagonal(upper)
        self.register_buffer("permutation", permutation)
        self.register_buffer("sign_s", torch.sign(diagonal))
        self.register_buffer("lower_mask", torch.tril(torch.ones(self.channels, self.channels), -1))
        self.lower = nn.Parameter(lower)
        self.upper = nn.Parameter(torch.triu(upper, 1))
        self.log_s = nn.Parameter(torch.log(diagonal.abs()))

    def weight(self) -> torch.Tensor:
        """The ``(c, c)`` matrix ``W``."""
        if not self.lu:
            return self.weight_param
        eye = torch.eye(self.channels, dtype=self.lower.dtype, device=self.lower.device)
        lower = self.lower * self.lower_mask + eye
        upper = self.upper * self.lower_mask.T + torch.diag(self.sign_s * self.log_s.exp())
        return self.permutation @ lower @ upper

    def log_abs_det_weight(self) -> torch.Tensor:
        """``log|det W|``: ``sum log|s|`` with LU, ``slogdet`` otherwise."""
        return self.log_s.sum() if self.lu else torch.linalg.slogdet(self.weight_param)[1]

    @staticmethod
    def _mix(matrix: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 2:
            return x @ matrix.T
        return torch.einsum("oc,bchw->bohw", matrix, x)

    def _checked_log_abs_det(self) -> torch.Tensor:
        log_abs_det = self.log_abs_det_weight()
        if not bool(torch.isfinite(log_abs_det)):
            raise ValueError(f"the 1x1 convolution's W is singular (log|det W| = {float(log_abs_det.detach())}): not invertible")
        return log_abs_det

    def forward(self, x):
        x = _check_channels(x, self.channels)
        return self._mix(self.weight(), x), (_pixels(x) * self._checked_log_abs_det()).expand(x.shape[0])

    def inverse(self, y):
        y = _check_channels(y, self.channels, "y")
        log_abs_det = self._checked_log_abs_det()
        return self._mix(torch.linalg.inv(self.weight()), y), (-_pixels(y) * log_abs_det).expand(y.shape[0])


class Squeeze(Transform):
    """Space to channels: ``(B, C, H, W) -> (B, 4C, H/2, W/2)``, each 2x2 block into 4 channels.

    A permutation of the entries, so log|det| = 0. RealNVP and Glow use it to turn checkerboard
    couplings into channel couplings at a coarser scale.
    """

    def forward(self, x):
        x = _check_tensor(x, "x")
        if x.ndim != 4 or x.shape[2] % 2 or x.shape[3] % 2:
            raise ValueError(f"Squeeze needs images (B, C, H, W) with even H and W, got {tuple(x.shape)}")
        b, c, h, w = x.shape
        y = x.reshape(b, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4).reshape(b, 4 * c, h // 2, w // 2)
        return y, x.new_zeros(b)

    def inverse(self, y):
        y = _check_tensor(y, "y")
        if y.ndim != 4 or y.shape[1] % 4:
            raise ValueError(f"Squeeze's inverse needs (B, 4C, H, W), got {tuple(y.shape)}")
        b, c4, h, w = y.shape
        x = y.reshape(b, c4 // 4, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3).reshape(b, c4 // 4, 2 * h, 2 * w)
        return x, y.new_zeros(b)

    def output_shape(self, shape):
        c, h, w = shape
        return (4 * c, h // 2, w // 2)


class LogitTransform(Transform):
    """``[0, 1)`` to the real line: ``z = logit(alpha + (1 - 2 alpha) y)``.

    ``log|dz/dy| = sum [log(1 - 2 alpha) - log q - log(1 - q)]`` with ``q = alpha + (1 - 2 alpha) y``;
    ``alpha`` keeps ``q`` away from 0 and 1 (RealNVP uses 0.05). Inverse ``y = (sigm(z) - alpha) / (1 - 2 alpha)``.
    """

    def __init__(self, alpha: float = 0.05):
        super().__init__()
        self.alpha = check_probability("alpha", alpha)
        if not 0 < self.alpha < 0.5:
            raise ValueError(f"alpha must lie in (0, 0.5), got {alpha}")

    def forward(self, y):
        y = _check_tensor(y, "y")
        if bool(((y < 0) | (y > 1)).any()):
            raise ValueError(f"LogitTransform needs values in [0, 1], got [{float(y.min()):.3g}, {float(y.max()):.3g}]")
        q = self.alpha + (1 - 2 * self.alpha) * y
        log_det = (math.log(1 - 2 * self.alpha) - torch.log(q) - torch.log1p(-q)).flatten(1).sum(1)
        return torch.log(q) - torch.log1p(-q), log_det

    def inverse(self, z):
        z = _check_tensor(z, "z")
        q = torch.sigmoid(z)
        log_det = (F.logsigmoid(z) + F.logsigmoid(-z) - math.log(1 - 2 * self.alpha)).flatten(1).sum(1)
        return (q - self.alpha) / (1 - 2 * self.alpha), log_det


# ============================================================================ flows


class StandardNormal(nn.Module):
    """``N(0, I)`` over per-example ``shape``: ``log_prob`` sums ``-z^2/2 - log(2 pi)/2`` over all entries."""

    def __init__(self, shape):
        super().__init__()
        self.shape = tuple(check_int("shape entry", s, minimum=1) for s in (shape if isinstance(shape, Sequence) else (shape,)))
        self.register_buffer("_anchor", torch.zeros(()))  # follows .to(device) and .double()

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        return (-0.5 * z.pow(2) - 0.5 * math.log(2 * math.pi)).flatten(1).sum(1)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        anchor = self._anchor
        z = torch.randn((n, *self.shape), generator=generator, dtype=anchor.dtype,
                        device="cpu" if generator is not None else anchor.device)
        return z.to(anchor.device)


def _generator(seed) -> torch.Generator | None:
    return None if seed is None else torch.Generator().manual_seed(check_seed(seed))


class Flow(nn.Module):
    """A normalising flow: ``z = f_K o ... o f_1 (x)`` with ``z`` from ``base`` (standard normal by default).

    ``log p(x) = log p_Z(z) + sum_k log|det df_k/dx_{k-1}|`` (nats per example). Sampling draws
    ``z ~ base`` and applies the inverses in reverse order (every transform needs an inverse).
    ``event_shape`` is the shape of one data example (taken from the first transform that knows it,
    else required); ``base`` is any module with ``log_prob(z)`` and ``sample(n, generator)``.
    ``loss(x)`` is the mean negative log-likelihood, for :func:`course_gen.train.train`.
    """

    def __init__(self, transforms: Sequence[Transform], base: nn.Module | None = None, event_shape=None):
        super().__init__()
        transforms = list(transforms)
        if not transforms:
            raise ValueError("a Flow needs at least one transform")
        for index, transform in enumerate(transforms):
            if not isinstance(transform, Transform):
                raise TypeError(f"transforms[{index}] must be a course_gen.flows.Transform, got {type(transform).__name__}")
        self.transforms = nn.ModuleList(transforms)
        if event_shape is None:
            event_shape = next((t.event_shape for t in transforms if hasattr(t, "event_shape")), None)
        if event_shape is None:
            raise ValueError("give event_shape: none of the transforms knows the shape of one example")
        if isinstance(event_shape, int):
            event_shape = (event_shape,)
        if not isinstance(event_shape, Sequence) or not event_shape:
            raise TypeError(f"event_shape must be an int or a tuple of ints, got {event_shape!r}")
        self.event_shape = tuple(check_int("event_shape entry", s, minimum=1) for s in event_shape)
        shape = self.event_shape
        for transform in transforms:
            shape = transform.output_shape(shape)
        self.latent_shape = shape
        if base is not None and not (callable(getattr(base, "log_prob", None)) and callable(getattr(base, "sample", None))):
            raise TypeError(f"base must have log_prob(z) and sample(n, generator) methods, got {type(base).__name__}")
        self.base = base if base is not None else StandardNormal(shape)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(z, sum_k log|det df_k|)`` for data ``x`` of shape ``(B, *event_shape)``."""
        x = _check_event(x, self.event_shape)
        log_det = x.new_zeros(x.shape[0])
        for transform in self.transforms:
            x, step = transform(x)
            log_det = log_det + step
        return x, log_det

    def inverse(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(x, log|det dx/dz|)`` for latents ``z`` of shape ``(B, *latent_shape)``."""
        z = _check_event(z, self.latent_shape, "z")
        log_det = z.new_zeros(z.shape[0])
        for transform in reversed(self.transforms):
            if not transform.has_inverse:
                raise NotImplementedError(f"{type(transform).__name__} has no inverse implemented: this flow cannot sample")
            z, step = transform.inverse(z)
            log_det = log_det + step
        return z, log_det

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """``log p(x)`` in nats, shape ``(B,)``."""
        z, log_det = self(x)
        return self.base.log_prob(z) + log_det

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood (nats per example)."""
        return -self.log_prob(x).mean()

    @torch.no_grad()
    def sample(self, n: int, seed: int | None = None, temperature: float = 1.0) -> torch.Tensor:
        """``n`` samples ``x = f^-1(z)``, ``z ~ base`` scaled by ``temperature`` (Glow samples at 0.7)."""
        n = check_int("n", n, minimum=1)
        temperature = check_positive_number("temperature", temperature)
        z = self.base.sample(n, _generator(seed)) * temperature
        return self.inverse(z)[0]


class VariationalFlow(nn.Module):
    """Flows in the sampling direction (Rezende and Mohamed 2015): ``z_K = g_K o ... o g_1 (z_0)``,
    ``z_0 ~ N(0, I)``, and ``log q_K(z_K) = log q_0(z_0) - sum_k log|det dg_k/dz_{k-1}|``.

    Only forward maps are needed, so planar and radial flows work. ``loss(z0)`` is the reverse KL
    ``E[log q_K(z_K) - log p~(z_K)]`` to the unnormalised target ``target_log_prob`` (it equals
    ``KL(q_K || p) - log Z``), estimated on a batch of base samples ``z0`` (the training data).
    """

    def __init__(self, transforms: Sequence[Transform], target_log_prob: Callable[[torch.Tensor], torch.Tensor] | None, dim: int):
        super().__init__()
        self.dim = check_int("dim", dim, minimum=1)
        self.transforms = nn.ModuleList(list(transforms))
        if target_log_prob is not None and not callable(target_log_prob):
            raise TypeError(f"target_log_prob must be callable, got {type(target_log_prob).__name__}")
        self.target_log_prob = target_log_prob
        self.base = StandardNormal((self.dim,))

    def forward(self, z0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(z_K, log q_K(z_K))`` for base samples ``z0`` of shape ``(B, dim)``."""
        z = _check_event(z0, (self.dim,), "z0")
        log_q = self.base.log_prob(z)
        for transform in self.transforms:
            z, log_det = transform(z)
            log_q = log_q - log_det
        return z, log_q

    def loss(self, z0: torch.Tensor) -> torch.Tensor:
        """Reverse KL up to ``log Z``: ``mean(log q_K(z_K) - target_log_prob(z_K))``."""
        if self.target_log_prob is None:
            raise ValueError("this VariationalFlow has no target_log_prob to fit")
        z, log_q = self(z0)
        return (log_q - self.target_log_prob(z)).mean()

    @torch.no_grad()
    def sample(self, n: int, seed: int | None = None) -> torch.Tensor:
        """``n`` samples ``z_K``."""
        z0 = self.base.sample(check_int("n", n, minimum=1), _generator(seed))
        return self(z0)[0]


def planar_flows(dim: int, n_flows: int, seed: int = 0) -> list[Planar]:
    """``n_flows`` :class:`Planar` layers with seeded random initial parameters."""
    generator = torch.Generator().manual_seed(check_seed(seed))
    return [Planar(dim, generator=generator) for _ in range(check_int("n_flows", n_flows, minimum=1))]


def radial_flows(dim: int, n_flows: int, seed: int = 0) -> list[Radial]:
    """``n_flows`` :class:`Radial` layers with seeded random initial parameters."""
    generator = torch.Generator().manual_seed(check_seed(seed))
    return [Radial(dim, generator=generator) for _ in range(check_int("n_flows", n_flows, minimum=1))]


def realnvp_2d(n_couplings: int = 6, hidden: int = 64, mask: str = "alternating", alternate: bool = True,
               actnorm: bool = True, seed: int = 0) -> Flow:
    """A RealNVP flow for 2-D points: ``n_couplings`` affine couplings (with ActNorm before each).

    ``alternate=True`` flips the mask between layers (so both coordinates get transformed);
    ``alternate=False`` keeps the same kept half everywhere: that coordinate passes through untouched,
    so its marginal stays the base's Gaussian (the failure the notebook shows).
    """
    n_couplings = check_int("n_couplings", n_couplings, minimum=1)
    check_bool("alternate", alternate)
    torch.manual_seed(check_seed(seed))
    layers: list[Transform] = []
    for k in range(n_couplings):
        if actnorm:
            layers.append(ActNorm(2))
        layers.append(AffineCoupling(2, mask, hidden=hidden, flip=alternate and k % 2 == 1))
    return Flow(layers)


# ============================================================================ target energies


def energy_log_density(name: str, z: torch.Tensor) -> torch.Tensor:
    """``-U(z)`` for Rezende and Mohamed's test energies (unnormalised log-density), ``z`` ``(B, 2)``.

    With ``w1 = sin(2 pi z1 / 4)``, ``w2 = 3 exp(-((z1 - 1) / 0.6)^2 / 2)``, ``w3 = 3 sigm((z1 - 1) / 0.3)``:
    U1 = ``((|z| - 2) / 0.4)^2 / 2 - log(exp(-((z1 - 2) / 0.6)^2 / 2) + exp(-((z1 + 2) / 0.6)^2 / 2))``;
    U2 = ``((z2 - w1) / 0.4)^2 / 2``; U3 = ``-log(exp(-((z2 - w1) / 0.35)^2 / 2) + exp(-((z2 - w1 + w2) / 0.35)^2 / 2))``;
    U4 = ``-log(exp(-((z2 - w1) / 0.4)^2 / 2) + exp(-((z2 - w1 + w3) / 0.35)^2 / 2))``.
    """
    check_choice("energy", name, ENERGY_NAMES)
    z = _check_event(z, (2,), "z")
    z1, z2 = z[:, 0], z[:, 1]
    w1 = torch.sin(2 * math.pi * z1 / 4)
    if name == "U1":
        ring = 0.5 * ((z.norm(dim=1) - 2) / 0.4) ** 2
        return -ring + torch.logaddexp(-0.5 * ((z1 - 2) / 0.6) ** 2, -0.5 * ((z1 + 2) / 0.6) ** 2)
    if name == "U2":
        return -0.5 * ((z2 - w1) / 0.4) ** 2
    if name == "U3":
        w2 = 3 * torch.exp(-0.5 * ((z1 - 1) / 0.6) ** 2)
        return torch.logaddexp(-0.5 * ((z2 - w1) / 0.35) ** 2, -0.5 * ((z2 - w1 + w2) / 0.35) ** 2)
    w3 = 3 * torch.sigmoid((z1 - 1) / 0.3)
    return torch.logaddexp(-0.5 * ((z2 - w1) / 0.4) ** 2, -0.5 * ((z2 - w1 + w3) / 0.35) ** 2)


# ============================================================================ dequantisation


def _check_levels(x: torch.Tensor, n_levels: int, name: str = "x") -> torch.Tensor:
    """``x`` holds values ``k / (K - 1)``, k in {0, ..., K - 1}; returns the integers k (as floats)."""
    x = _check_tensor(x, name)
    if bool(torch.isnan(x).any()):
        raise ValueError(f"{name} contains NaN values")
    k = x * (n_levels - 1)
    rounded = torch.round(k)
    if bool(((k - rounded).abs() > 1e-4).any()) or bool(((rounded < 0) | (rounded > n_levels - 1)).any()):
        raise ValueError(
            f"{name} must hold the {n_levels} levels k / {n_levels - 1}, k = 0..{n_levels - 1} "
            f"(digits: n_levels=17, binarized: 2), got values in [{float(x.min()):.3g}, {float(x.max()):.3g}]"
        )
    return rounded


def dequantize(x: torch.Tensor, n_levels: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Uniform dequantisation: ``y = (k + u) / K`` in ``[0, 1)``, ``u ~ U[0, 1)`` per entry, ``k = x (K - 1)``.

    ``x`` holds discrete values ``k / (K - 1)`` (binarized digits: K = 2; digits: K = 17). Each
    level becomes a cell of width ``1 / K``, so ``log P(x) >= E_u[log p(y)] - D log K`` (nats).
    """
    n_levels = check_int("n_levels", n_levels, minimum=2)
    k = _check_levels(x, n_levels)
    u = torch.rand(k.shape, generator=generator, dtype=k.dtype, device="cpu" if generator is not None else k.device)
    return (k + u.to(k.device)) / n_levels


def discretize(y: torch.Tensor, n_levels: int) -> torch.Tensor:
    """The inverse of :func:`dequantize`: ``k = clamp(floor(y K), 0, K - 1)``, returned as ``k / (K - 1)``."""
    n_levels = check_int("n_levels", n_levels, minimum=2)
    y = _check_tensor(y, "y")
    return torch.clamp(torch.floor(y * n_levels), 0, n_levels - 1) / (n_levels - 1)


class VariationalDequantizer(nn.Module):
    """Flow++'s variational dequantisation: learned noise ``q(u | x)`` on ``(0, 1)^D`` instead of ``U[0, 1)^D``.

    A conditional flow from ``eps ~ N(0, I)``: ``h = m(x) + exp(s(x)) eps``, ``u = sigmoid(h)``, so

        log q(u | x) = log N(eps) - sum s(x) - sum log[sigmoid(h) (1 - sigmoid(h))].

    With ``y = (k + u) / K``, ``log P(x) >= E_q[log p(y) - log q(u | x)] - D log K``: the gap is
    ``KL(q(u | x) || p(u | x))``, zero when ``q`` is the flow's own density inside the cell of ``x``
    (uniform noise is the special case ``q = 1``). ``m`` and ``s`` (``|s| <= scale_bound``) come from a
    network of ``x`` (an MLP for vectors, a conv net for images of shape ``(C, H, W)``).
    """

    def __init__(self, shape, hidden: int = 16, scale_bound: float = 3.0):
        super().__init__()
        self.event_shape = _check_shape(shape)
        self.net = _coupling_net(self.event_shape, check_int("hidden", hidden, minimum=1), 2, extra_channels=0)
        self.scale_bound = check_positive_number("scale_bound", scale_bound)
        self.noise = StandardNormal(self.event_shape)

    def forward(self, x: torch.Tensor, eps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(u, log q(u | x))`` for discrete images ``x`` in ``[0, 1]`` and noise ``eps`` of the same shape."""
        x = _check_event(x, self.event_shape)
        if eps.shape != x.shape:
            raise ValueError(f"eps must have the shape of x {tuple(x.shape)}, got {tuple(eps.shape)}")
        m, raw_s = self.net(2 * x - 1).chunk(2, dim=1)
        s = self.scale_bound * torch.tanh(raw_s / self.scale_bound)
        h = m + torch.exp(s) * eps
        log_q = self.noise.log_prob(eps) - (s + F.logsigmoid(h) + F.logsigmoid(-h)).flatten(1).sum(1)
        return torch.sigmoid(h), log_q

    def sample(self, x: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw ``u ~ q(u | x)`` (``eps`` from ``generator`` when given); returns ``(u, log q(u | x))``."""
        return self(x, self.noise.sample(x.shape[0], generator))


class DequantizedFlow(nn.Module):
    """A flow on dequantised discrete images: takes the discrete images directly.

    ``flow`` models ``y = (k + u) / K`` in ``[0, 1)^D`` (typically starting with
    :class:`LogitTransform`), with ``u ~ U[0, 1)^D`` or, given a ``dequantizer``
    (:class:`VariationalDequantizer`), ``u ~ q(u | x)``. ``log_prob(x)`` is the dequantisation lower
    bound on the discrete log-likelihood, ``E_u[log p(y) - log q(u | x)] - D log K`` (``log q = 0`` for
    uniform noise; nats per image, ``n_samples`` noise draws); ``loss(x)`` is its negative divided by ``D``
    (nats per dimension, one draw); ``sample(n)`` returns discrete images ``k / (K - 1)``;
    ``encode``/``decode`` map to and from the latent.
    """

    def __init__(self, flow: Flow, n_levels: int, dequantizer: VariationalDequantizer | None = None):
        super().__init__()
        if not isinstance(flow, Flow):
            raise TypeError(f"flow must be a course_gen.flows.Flow, got {type(flow).__name__}")
        if dequantizer is not None:
            if not isinstance(dequantizer, VariationalDequantizer):
                raise TypeError(f"dequantizer must be None (uniform noise) or a VariationalDequantizer, "
                                f"got {type(dequantizer).__name__}")
            if dequantizer.event_shape != flow.event_shape:
                raise ValueError(f"the dequantizer's shape {dequantizer.event_shape} must be the flow's "
                                 f"{flow.event_shape}")
        self.flow = flow
        self.n_levels = check_int("n_levels", n_levels, minimum=2)
        self.dequantizer = dequantizer
        self.n_dims = math.prod(flow.event_shape)

    def dequantize(self, x: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``(y, log q(u | x))``: ``y = (k + u) / K`` with this model's noise (``log q = 0`` for uniform noise)."""
        if self.dequantizer is None:
            y = dequantize(x, self.n_levels, generator)
            return y, y.new_zeros(y.shape[0])
        k = _check_levels(x, self.n_levels)
        u, log_q = self.dequantizer.sample(x, generator)
        return (k + u) / self.n_levels, log_q

    def log_prob(self, x: torch.Tensor, n_samples: int = 1, seed: int | None = None) -> torch.Tensor:
        """Lower bound on ``log P(x)`` in nats per image, averaged over ``n_samples`` noise draws."""
        n_samples = check_int("n_samples", n_samples, minimum=1)
        x = _check_tensor(x, "x")
        repeated = x.expand(n_samples, *x.shape).reshape(n_samples * x.shape[0], *x.shape[1:])  # all draws at once
        y, log_q = self.dequantize(repeated, _generator(seed))
        bound = self.flow.log_prob(y) - log_q
        return bound.reshape(n_samples, x.shape[0]).mean(0) - self.n_dims * math.log(self.n_levels)

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        """``-log_prob(x) / D`` averaged over the batch (nats per dimension)."""
        return -self.log_prob(x).mean() / self.n_dims

    @torch.no_grad()
    def sample(self, n: int, seed: int | None = None, temperature: float = 1.0) -> torch.Tensor:
        """``n`` discrete images (values ``k / (K - 1)``)."""
        return discretize(self.flow.sample(n, seed, temperature).clamp(0, 1), self.n_levels)

    @torch.no_grad()
    def encode(self, x: torch.Tensor, seed: int | None = 0) -> torch.Tensor:
        """The latent ``z = f(y)`` of dequantised images (noise seeded by ``seed``)."""
        return self.flow(self.dequantize(x, _generator(seed))[0])[0]

    @torch.no_grad()
    def decode(self, z: torch.Tensor, discrete: bool = False) -> torch.Tensor:
        """``y = f^-1(z)`` in ``[0, 1)`` (continuous; ``discrete=True`` rounds to the levels)."""
        y = self.flow.inverse(z)[0].clamp(0, 1)
        return discretize(y, self.n_levels) if discrete else y


@torch.no_grad()
def dequantized_bits_per_dim(model: DequantizedFlow, x: torch.Tensor, n_samples: int = 4, seed: int = 0,
                             batch_size: int = 500) -> float:
    """Test bits per dimension of a :class:`DequantizedFlow` on discrete images ``x``.

    ``-mean log_prob(x) / (D ln 2)`` with ``n_samples`` dequantisation draws: an upper bound on the
    true discrete bits/dim (the bound is a lower bound on the likelihood).
    """
    if not isinstance(model, DequantizedFlow):
        raise TypeError(f"model must be a DequantizedFlow, got {type(model).__name__}")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    chunks = [model.log_prob(x[i:i + batch_size].to(device), n_samples, seed + i) for i in range(0, len(x), batch_size)]
    model.train(was_training)
    return float(bits_per_dim(-torch.cat(chunks).mean(), model.n_dims))


def realnvp_digits(n_levels: int = 17, hidden: int = 32, n_checkerboard: int = 2, n_channel: int = 2,
                   alpha: float = 0.05, seed: int = 0, dequantization: str = "uniform",
                   image_size: int = 8) -> DequantizedFlow:
    """A small RealNVP/Glow flow for digits, as a :class:`DequantizedFlow` with ``n_levels`` levels.

    Logit transform; ``n_checkerboard`` affine couplings with alternating checkerboard masks on
    ``(1, S, S)`` (ActNorm before each), ``S = image_size`` (8 for the 8x8 digits, 28 for MNIST);
    :class:`Squeeze` to ``(4, S/2, S/2)``; then ``n_channel`` Glow steps (ActNorm, LU 1x1 convolution,
    channel coupling with alternating halves). ``dequantization`` (see :data:`DEQUANTIZATIONS`):
    ``"variational"`` adds a :class:`VariationalDequantizer` with ``hidden // 2`` channels.
    Parameters are seeded by ``seed``. See the module docstring for the recipe.
    """
    check_int("n_levels", n_levels, minimum=2)
    check_choice("dequantization", dequantization, DEQUANTIZATIONS)
    size = check_int("image_size", image_size, minimum=2)
    if size % 2:
        raise ValueError(f"image_size must be even (the flow squeezes 2x2 blocks into channels), got {size}")
    torch.manual_seed(check_seed(seed))
    generator = torch.Generator().manual_seed(seed)
    image, squeezed = (1, size, size), (4, size // 2, size // 2)
    layers: list[Transform] = [LogitTransform(alpha)]
    for k in range(check_int("n_checkerboard", n_checkerboard, minimum=0)):
        layers += [ActNorm(1), AffineCoupling(image, "checkerboard", hidden=hidden, flip=k % 2 == 1)]
    layers.append(Squeeze())
    for k in range(check_int("n_channel", n_channel, minimum=0)):
        layers += [ActNorm(4), Invertible1x1Conv(4, lu=True, generator=generator),
                   AffineCoupling(squeezed, "channel", hidden=hidden, flip=k % 2 == 1)]
    dequantizer = VariationalDequantizer(image, hidden=max(hidden // 2, 1)) if dequantization == "variational" else None
    return DequantizedFlow(Flow(layers, event_shape=image), n_levels, dequantizer)


# ============================================================================ a 2-D histogram against the formula


@torch.no_grad()
def histogram_vs_density(flow: Flow, n_samples: int = 100_000, limits=(-3.0, 3.0), bins: int = 60,
                         refine: int = 4, seed: int = 0) -> dict:
    """Samples of a 2-D :class:`Flow` binned, against its change-of-variables density on the same bins.

    Samples are ``x = f^-1(z)``, ``z ~ N(0, I)`` (``n_samples`` of them, seeded). The formula is
    ``p_X(x) = p_Z(f(x)) |det df/dx|``, evaluated on a fine grid (``refine`` x ``refine`` points per bin)
    over the square ``limits`` and averaged per bin. Returns a dict of numpy-free tensors:

    - ``edges`` ``(bins + 1,)``; ``histogram`` and ``density`` ``(bins, bins)``, indexed ``[x2 bin, x1 bin]``,
      both in density units (the histogram is counts / (n_samples * bin area));
    - ``integral``: ``sum p_X * cell area`` on the fine grid (1 when the window holds all the mass);
    - ``wrong_sign_integral``: the same with ``p_Z(f(x)) / |det df/dx|`` (the log-determinant subtracted);
    - ``wrong_sign_density`` ``(bins, bins)``: that wrong density per bin;
    - ``total_variation``: ``1/2 sum |histogram mass - formula mass|`` over the bins (sampling noise only,
      about ``sqrt(bins^2 / n_samples)`` / 2, when the formula is right), and ``wrong_sign_total_variation``;
    - ``outside``: the fraction of samples outside the window.
    """
    if not isinstance(flow, Flow):
        raise TypeError(f"flow must be a course_gen.flows.Flow, got {type(flow).__name__}")
    if flow.event_shape != (2,):
        raise ValueError(f"histogram_vs_density needs a flow on 2-D points, got event shape {flow.event_shape}")
    n_samples = check_int("n_samples", n_samples, minimum=1)
    bins = check_int("bins", bins, minimum=2)
    refine = check_int("refine", refine, minimum=1)
    low, high = (float(v) for v in limits)
    if not high > low:
        raise ValueError(f"limits must be (low, high) with high > low, got {tuple(limits)!r}")
    parameter = next(flow.parameters())
    samples = flow.sample(n_samples, seed=seed).double().cpu()
    edges = torch.linspace(low, high, bins + 1, dtype=torch.float64)
    width = (high - low) / bins
    inside = ((samples >= low) & (samples < high)).all(1)
    index = ((samples[inside] - low) / width).long().clamp(0, bins - 1)
    counts = torch.bincount(index[:, 1] * bins + index[:, 0], minlength=bins * bins).reshape(bins, bins)
    histogram = counts.double() / (n_samples * width**2)
    fine = bins * refine
    step = (high - low) / fine
    centres = low + step * (torch.arange(fine, dtype=torch.float64) + 0.5)
    g1, g2 = torch.meshgrid(centres, centres, indexing="xy")
    points = torch.stack([g1.flatten(), g2.flatten()], 1)
    log_p, log_p_wrong = [], []
    for chunk in points.split(50_000):
        z, log_det = flow(chunk.to(parameter.device, parameter.dtype))
        log_base = flow.base.log_prob(z)
        log_p.append((log_base + log_det).double().cpu())
        log_p_wrong.append((log_base - log_det).double().cpu())
    fine_density = torch.cat(log_p).exp().reshape(fine, fine)
    fine_wrong = torch.cat(log_p_wrong).exp().reshape(fine, fine)

    def per_bin(values):
        return values.reshape(bins, refine, bins, refine).mean((1, 3))

    density, wrong = per_bin(fine_density), per_bin(fine_wrong)
    area = width**2
    return {
        "edges": edges, "histogram": histogram, "density": density, "wrong_sign_density": wrong,
        "integral": float(fine_density.sum() * step**2),
        "wrong_sign_integral": float(fine_wrong.sum() * step**2),
        "total_variation": float(0.5 * ((histogram - density).abs().sum() * area)),
        "wrong_sign_total_variation": float(0.5 * ((histogram - wrong).abs().sum() * area)),
        "outside": float(1 - inside.double().mean()),
    }


# ============================================================================ notebook 04's shipped 2-D models

#: Recipe of ``flows04_moons``: both RealNVPs of :func:`moons_realnvp_pair` on ``toy2d("moons", 4000, seed=0)``.
MOONS_RECIPE = {"n": 4000, "data_seed": 0, "steps": 800, "lr": 2e-3, "batch_size": 256, "seed": 0}
#: Recipe of ``flows04_planar_u2``: K planar layers fitted to ``exp(-U2)`` by reverse KL; every K gets the
#: same budget, two phases (``steps[i]`` Adam steps at ``lr[i]``) from each of the ``restarts`` seeds,
#: and keeps the restart with the lower reverse KL on ``select_seed``'s base draws.
PLANAR_RECIPE = {"target": "U2", "ks": (1, 2, 4, 8), "n_base": 20_000, "base_seed": 0, "steps": (3000, 1000),
                 "lr": (5e-3, 1e-3), "batch_size": 256, "restarts": (0, 1), "select_seed": 3}
#: The shipped 2-D models of notebook 04 (files ``assets/NAME.pt``), see :func:`shipped_2d`.
SHIPPED_2D = ("flows04_moons", "flows04_planar_u2")


def moons_realnvp_pair(seed: int = 0) -> nn.ModuleDict:
    """Two untrained :func:`realnvp_2d` flows (6 couplings, 64 hidden): ``"alternating"`` masks and
    ``"same_mask"`` in every layer; parameters seeded by ``seed``."""
    return nn.ModuleDict({"alternating": realnvp_2d(6, 64, alternate=True, seed=seed),
                          "same_mask": realnvp_2d(6, 64, alternate=False, seed=seed)})


def train_moons_realnvp_pair(models: nn.ModuleDict, device=None, progress: bool = False) -> nn.ModuleDict:
    """Maximum likelihood for both flows of :func:`moons_realnvp_pair` with :data:`MOONS_RECIPE`."""
    import course_gen
    from course_gen.data import toy2d
    from course_gen.train import train

    recipe = MOONS_RECIPE
    x = toy2d("moons", recipe["n"], seed=recipe["data_seed"])
    for model in models.values():
        course_gen.seed_everything(recipe["seed"])
        train(model, x, steps=recipe["steps"], lr=recipe["lr"], batch_size=recipe["batch_size"],
              seed=recipe["seed"], device=device, progress=progress)
    return models.eval()


def planar_fits(target: str = "U2", ks: Sequence[int] = PLANAR_RECIPE["ks"], seed: int = 0) -> nn.ModuleDict:
    """Untrained :class:`VariationalFlow` s of ``K`` planar layers for each ``K`` in ``ks`` (keys ``str(K)``),
    each targeting ``exp(-U)`` of :func:`energy_log_density` (``target`` in :data:`ENERGY_NAMES`)."""
    import functools

    check_choice("energy", target, ENERGY_NAMES)
    log_density = functools.partial(energy_log_density, target)
    return nn.ModuleDict({str(k): VariationalFlow(planar_flows(2, k, seed=seed), log_density, dim=2) for k in ks})


@torch.no_grad()
def reverse_kl(model: VariationalFlow, log_z: float, n: int = 20_000, seed: int = 2) -> tuple[float, float]:
    """Monte Carlo ``KL(q_K || p) = E_q[log q_K(z_K) - log p~(z_K)] + log Z`` from ``n`` seeded base draws,
    and its standard error ``std / sqrt(n)`` (nats)."""
    if not isinstance(model, VariationalFlow) or model.target_log_prob is None:
        raise TypeError(f"model must be a VariationalFlow with a target_log_prob, got {type(model).__name__}")
    n = check_int("n", n, minimum=2)
    parameter = next(model.parameters())
    z0 = torch.randn(n, model.dim, generator=torch.Generator().manual_seed(check_seed(seed)))
    z, log_q = model(z0.to(parameter.device, parameter.dtype))
    terms = (log_q - model.target_log_prob(z)).double()
    return float(terms.mean()) + float(log_z), float(terms.std() / math.sqrt(n))


def log_normaliser_2d(log_density: Callable[[torch.Tensor], torch.Tensor], limit: float = 6.0, n: int = 1201) -> float:
    """``log Z = log sum exp(log_density) * cell area`` on an ``n`` x ``n`` grid over ``[-limit, limit]^2``
    (float64): the normaliser of the density restricted to that square. It is the normaliser on all of
    ``R^2`` only if (nearly) all the mass lies inside the square; for a density with infinite mass, such
    as ``exp(-U2)`` of :func:`energy_log_density` (no term in ``z1``), it depends on ``limit``."""
    limit = check_positive_number("limit", limit)
    n = check_int("n", n, minimum=3)
    xs = torch.linspace(-limit, limit, n, dtype=torch.float64)
    grid = torch.stack(torch.meshgrid(xs, xs, indexing="xy"), dim=-1).reshape(-1, 2)
    return float(torch.logsumexp(log_density(grid), 0) + 2 * torch.log(xs[1] - xs[0]))


def train_planar_fits(models: nn.ModuleDict, device=None, progress: bool = False) -> nn.ModuleDict:
    """Fit every :class:`VariationalFlow` of :func:`planar_fits` by reverse KL with :data:`PLANAR_RECIPE`
    (same base draws and budget for every K; the best of the restarts is kept)."""
    import course_gen
    from course_gen.train import train

    recipe = PLANAR_RECIPE
    z0 = torch.randn(recipe["n_base"], 2, generator=torch.Generator().manual_seed(recipe["base_seed"]))
    for key, model in models.items():
        best, best_kl = None, math.inf
        for restart in recipe["restarts"]:
            course_gen.seed_everything(restart)
            candidate = VariationalFlow(planar_flows(2, int(key), seed=restart), model.target_log_prob, dim=2)
            for steps, lr in zip(recipe["steps"], recipe["lr"]):
                train(candidate, z0, steps=steps, lr=lr, batch_size=recipe["batch_size"], seed=restart,
                      device=device, progress=progress)
            kl, _ = reverse_kl(candidate, 0.0, seed=recipe["select_seed"])
            if kl < best_kl:
                best, best_kl = candidate, kl
        model.load_state_dict(best.state_dict())
    return models.eval()


def _shipped_recipe(name: str):
    if name == "flows04_moons":
        note = f"moons_realnvp_pair() trained by train_moons_realnvp_pair, MOONS_RECIPE {MOONS_RECIPE}"
        return moons_realnvp_pair, train_moons_realnvp_pair, note
    return planar_fits, train_planar_fits, f"planar_fits() trained by train_planar_fits, PLANAR_RECIPE {PLANAR_RECIPE}"


def shipped_2d(name: str, retrain: bool = False, device=None, root=None) -> nn.ModuleDict:
    """Notebook 04's 2-D models (``name`` in :data:`SHIPPED_2D`) with their shipped weights, in eval mode.

    ``flows04_moons``: :func:`moons_realnvp_pair` trained on two moons; ``flows04_planar_u2``:
    :func:`planar_fits` fitted to ``exp(-U2)``. Loading goes through
    :func:`course_gen.checkpoints.load_or_train` (sha256-checked; trains with the recipe if the file is
    missing or altered); ``retrain=True`` trains with the recipe and saves the file in its place.
    """
    from course_gen import checkpoints

    check_choice("shipped 2-D model", name, SHIPPED_2D)
    check_bool("retrain", retrain)
    build, fit, note = _shipped_recipe(name)
    model = build()
    model, _ = checkpoints.load_or_train(model, name, lambda m: fit(m, device), root=root, retrain=retrain, note=note)
    if device is not None:
        model.to(device)
    return model.eval()
