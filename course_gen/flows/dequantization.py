"""Flows on discrete images: dequantisation (Theis et al.; Flow++'s learned noise) and the logit transform.

Discrete images hold values ``k / (K - 1)`` for ``K`` levels (binarized digits ``K = 2``). :func:`dequantize`
adds uniform noise, ``y = (k + u) / K`` with ``u ~ U[0, 1)^D``, and

    log P(x) >= E_u[log p(y)] - D log K

(nats; ``D log K`` is :func:`course_gen.metrics.dequantization_offset`, the one place it is written).
Flow++ (Ho et al.) learns the noise instead: :class:`VariationalDequantizer` draws ``u ~ q(u | x)`` and
the bound becomes ``E_q[log p(y) - log q(u | x)] - D log K``. :class:`DequantizedFlow` wraps a flow on
``y`` (with either noise) so that it takes the discrete images directly; :class:`LogitTransform` maps
``y`` in ``[0, 1)`` to the real line, where the flow's layers work.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from course_gen._checks import check_bool, check_int, check_positive_number, check_probability, check_seed
from course_gen.flows.base import (Flow, StandardNormal, Transform, _check_event, _check_float, _check_generator,
                                   _check_shape, _generator, _nonempty, _own_dtype, _scan_finite, _trusted)
from course_gen.flows.coupling import MAX_HIDDEN, _coupling_net
from course_gen.metrics import bits_per_dim, dequantization_offset
from course_gen.runtime import evaluating, model_device

#: The noise of :func:`~course_gen.flows.realnvp_digits`: uniform, or learned by a :class:`VariationalDequantizer`.
DEQUANTIZATIONS = ("uniform", "variational")
#: Most levels a discrete image may have (256 for 8-bit images).
MAX_LEVELS = 2**16
#: Most noise draws per image in one call.
MAX_DRAWS = 10**5


def _check_batch(x, name: str) -> torch.Tensor:
    """A float batch ``(B, ...)`` with at least one dimension per example."""
    x = _check_float(x, name)
    if x.ndim < 2:
        raise ValueError(f"{name} must be a batch (B, ...) of vectors or images, got shape {tuple(x.shape)}")
    return x


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
        y = _scan_finite(_check_batch(y, "y"), "y")
        if bool(((y < 0) | (y > 1)).any()):
            raise ValueError(f"LogitTransform needs values in [0, 1], got [{float(y.min()):.3g}, {float(y.max()):.3g}]")
        q = self.alpha + (1 - 2 * self.alpha) * y
        log_det = (math.log(1 - 2 * self.alpha) - torch.log(q) - torch.log1p(-q)).flatten(1).sum(1)
        return torch.log(q) - torch.log1p(-q), log_det

    def inverse(self, z):
        z = _scan_finite(_check_batch(z, "z"), "z")
        q = torch.sigmoid(z)
        log_det = (F.logsigmoid(z) + F.logsigmoid(-z) - math.log(1 - 2 * self.alpha)).flatten(1).sum(1)
        return (q - self.alpha) / (1 - 2 * self.alpha), log_det


def _check_levels(x: torch.Tensor, n_levels: int, name: str = "x") -> torch.Tensor:
    """``x`` holds values ``k / (K - 1)``, k in {0, ..., K - 1}; returns the integers k (as floats)."""
    x = _scan_finite(_check_float(x, name), name)
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
    n_levels = check_int("n_levels", n_levels, minimum=2, maximum=MAX_LEVELS)
    k = _check_levels(x, n_levels)
    u = torch.rand(k.shape, generator=_check_generator(generator), dtype=k.dtype, device="cpu" if generator is not None else k.device)
    return (k + u.to(k.device)) / n_levels


def discretize(y: torch.Tensor, n_levels: int) -> torch.Tensor:
    """The inverse of :func:`dequantize`: ``k = clamp(floor(y K), 0, K - 1)``, returned as ``k / (K - 1)``."""
    n_levels = check_int("n_levels", n_levels, minimum=2, maximum=MAX_LEVELS)
    y = _scan_finite(_check_float(y, "y"), "y")
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
        self.net = _coupling_net(self.event_shape, check_int("hidden", hidden, minimum=1, maximum=MAX_HIDDEN), 2,
                                 extra_channels=0)
        self.scale_bound = check_positive_number("scale_bound", scale_bound)
        self.noise = StandardNormal(self.event_shape)

    def forward(self, x: torch.Tensor, eps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(u, log q(u | x))`` for discrete images ``x`` in ``[0, 1]`` and noise ``eps`` of the same shape."""
        x = _own_dtype(self, _check_event(x, self.event_shape))
        eps = _check_float(eps, "eps")
        if eps.shape != x.shape:
            raise ValueError(f"eps must have the shape of x {tuple(x.shape)}, got {tuple(eps.shape)}")
        eps = _own_dtype(self, _scan_finite(eps, "eps"))
        m, raw_s = self.net(2 * x - 1).chunk(2, dim=1)
        s = self.scale_bound * torch.tanh(raw_s / self.scale_bound)
        h = m + torch.exp(s) * eps
        with _trusted():  # eps is scanned
            log_q = self.noise.log_prob(eps) - (s + F.logsigmoid(h) + F.logsigmoid(-h)).flatten(1).sum(1)
        return torch.sigmoid(h), log_q

    def sample(self, x: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw ``u ~ q(u | x)`` (``eps`` from ``generator`` when given); returns ``(u, log q(u | x))``."""
        x = _check_event(x, self.event_shape)
        return self(x, self.noise.sample(x.shape[0], _check_generator(generator)))


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
        self.n_levels = check_int("n_levels", n_levels, minimum=2, maximum=MAX_LEVELS)
        self.dequantizer = dequantizer
        self.n_dims = math.prod(flow.event_shape)
        self.offset = dequantization_offset(self.n_dims, self.n_levels)  # D log K

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
        n_samples = check_int("n_samples", n_samples, minimum=1, maximum=MAX_DRAWS)
        x = _check_event(x, self.flow.event_shape)  # the one NaN/inf scan
        repeated = x.expand(n_samples, *x.shape).reshape(n_samples * x.shape[0], *x.shape[1:])  # all draws at once
        with _trusted():
            y, log_q = self.dequantize(repeated, _generator(seed))
            bound = self.flow.log_prob(y) - log_q
        return bound.reshape(n_samples, x.shape[0]).mean(0) - self.offset

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        """``-log_prob(x) / D`` averaged over the batch (nats per dimension)."""
        return -self.log_prob(_nonempty(x)).mean() / self.n_dims

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
        check_bool("discrete", discrete)
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
    x = _check_event(x, model.flow.event_shape)
    if not len(x):
        raise ValueError("x must hold at least one image, got an empty batch")
    n_samples = check_int("n_samples", n_samples, minimum=1, maximum=MAX_DRAWS)
    seed = check_seed(seed)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    device = model_device(model)
    with evaluating(model):
        chunks = [model.log_prob(x[i:i + batch_size].to(device), n_samples, seed + i) for i in range(0, len(x), batch_size)]
    return float(bits_per_dim(-torch.cat(chunks).mean(), model.n_dims))
