"""What every flow shares: the input checks, :class:`Transform`, :class:`StandardNormal`, :class:`Flow`
and :class:`VariationalFlow`.

Direction convention (notebook 04's, and RealNVP's and Glow's): ``f`` maps data ``x`` to the latent
``z = f(x)``; sampling runs the inverse ``g = f^-1``. If ``z = f(x)`` with ``f`` invertible,

    log p_X(x) = log p_Z(f(x)) + log |det df/dx|,

and for ``f = f_K o ... o f_1`` the log-determinants add up. A :class:`Transform`'s ``forward(x)`` returns
``(y, log_abs_det)`` (one value per example, shape ``(B,)``) and ``inverse(y)`` the inverse's.

Checks: every public entry point checks type, shape and dtype (cheap, no host-device sync), and scans its
input for NaN/inf. :class:`Flow` and :class:`VariationalFlow` scan their input once, then run their layers
"trusted" (:func:`_trusted`): the layers skip their own scan, so a flow costs one host-device sync, not one
per layer. A layer called on its own still scans.

Dtypes: a transform with parameters, and a flow, cast their input to the dtype of their parameters (a
float64 batch into a float32 model works and comes back float32; ``model.double()`` for float64 maths).
"""

from __future__ import annotations

import contextvars
import itertools
import math
from collections.abc import Callable, Sequence
from contextlib import contextmanager

import torch
from torch import nn

from course_gen._checks import check_int, check_positive_number, check_seed, check_tensor

#: Most examples one call may draw (a guard against a typo such as ``sample(10**12)``).
MAX_SAMPLES = 10**8

# ============================================================================ checks

_TRUSTED = contextvars.ContextVar("course_gen_flows_trusted", default=False)


@contextmanager
def _trusted():
    """Inside a flow whose input was already scanned: layers skip their NaN/inf scan."""
    token = _TRUSTED.set(True)
    try:
        yield
    finally:
        _TRUSTED.reset(token)


def _scan_finite(x: torch.Tensor, name: str) -> torch.Tensor:
    """NaN/inf check (one host-device sync), skipped inside a flow that has scanned already."""
    if not _TRUSTED.get():
        check_tensor(name, x, dtype=None, finite=True)
    return x


def _check_float(x, name: str) -> torch.Tensor:
    """``x`` must be a floating-point tensor (type and dtype only; no scan)."""
    return check_tensor(name, x, dtype="float", finite=False)


def _check_event(x, shape: tuple[int, ...], name: str = "x") -> torch.Tensor:
    """``x`` must be a float tensor ``(B, *shape)`` without NaN or inf (the scan is skipped inside a flow)."""
    x = _check_float(x, name)
    if x.ndim != len(shape) + 1 or tuple(x.shape[1:]) != tuple(shape):
        raise ValueError(f"{name} must have shape (B, {', '.join(map(str, shape))}), got {tuple(x.shape)}")
    return _scan_finite(x, name)


def _nonempty(x, name: str = "x"):
    """A loss averages over the batch: it needs at least one example."""
    if isinstance(x, torch.Tensor) and x.ndim > 0 and x.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one example for a loss (a mean over the batch), got shape "
                         f"{tuple(x.shape)}")
    return x


def _per_example(name: str, value, like: torch.Tensor) -> torch.Tensor:
    """``value`` must be one number per example, shaped like ``like`` ``(B,)`` (no silent broadcasting)."""
    if not isinstance(value, torch.Tensor) or value.shape != like.shape:
        got = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        raise ValueError(f"{name} must return one value per example, shape {tuple(like.shape)}, got {got}")
    return value


def _check_shape(dim) -> tuple[int, ...]:
    """``dim``: an int D or ``(D,)`` (vectors) or a shape ``(C, H, W)`` (images)."""
    if isinstance(dim, Sequence) and not isinstance(dim, str):
        if len(dim) not in (1, 3):
            raise ValueError(f"a shape must be D or (D,) for vectors or (C, H, W) for images, got {tuple(dim)!r}")
        return tuple(check_int("shape entry", d, minimum=1) for d in dim)
    return (check_int("dim", dim, minimum=1),)


def _own_dtype(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``x`` cast to the dtype of ``module``'s first floating parameter or buffer (unchanged without one)."""
    for tensor in itertools.chain(module.parameters(), module.buffers()):
        if tensor.is_floating_point():
            return x if x.dtype == tensor.dtype else x.to(tensor.dtype)
    return x


def _check_n(n) -> int:
    return check_int("n", n, minimum=1, maximum=MAX_SAMPLES)


def _generator(seed) -> torch.Generator | None:
    return None if seed is None else torch.Generator().manual_seed(check_seed(seed))


def _check_generator(generator) -> torch.Generator | None:
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be None or a torch.Generator, got {type(generator).__name__}")
    return generator


# ============================================================================ the transform interface


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


# ============================================================================ the base distribution


class StandardNormal(nn.Module):
    """``N(0, I)`` over per-example ``shape``: ``log_prob(z)`` sums ``-z^2/2 - log(2 pi)/2`` over the
    entries of each example ``z[i]`` (``z``: ``(B, *shape)``, anything else is refused)."""

    def __init__(self, shape):
        super().__init__()
        self.shape = tuple(check_int("shape entry", s, minimum=1) for s in (shape if isinstance(shape, Sequence) else (shape,)))
        self.register_buffer("_anchor", torch.zeros(()))  # follows .to(device) and .double()

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        z = _check_event(z, self.shape, "z")
        return (-0.5 * z.pow(2) - 0.5 * math.log(2 * math.pi)).flatten(1).sum(1)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        anchor = self._anchor
        z = torch.randn((_check_n(n), *self.shape), generator=_check_generator(generator), dtype=anchor.dtype,
                        device="cpu" if generator is not None else anchor.device)
        return z.to(anchor.device)


# ============================================================================ flows


class Flow(nn.Module):
    """A normalising flow: ``z = f_K o ... o f_1 (x)`` with ``z`` from ``base`` (standard normal by default).

    ``log p(x) = log p_Z(z) + sum_k log|det df_k/dx_{k-1}|`` (nats per example). Sampling draws
    ``z ~ base`` and applies the inverses in reverse order (every transform needs an inverse).
    ``event_shape`` is the shape of one data example (taken from the first transform that knows it,
    else required); ``base`` is any module with ``log_prob(z)`` and ``sample(n, generator)``.
    ``loss(x)`` is the mean negative log-likelihood, for :func:`course_gen.train.train`.
    Inputs are cast to the flow's dtype (float64 data into a float32 flow works).
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
        x = _own_dtype(self, _check_event(x, self.event_shape))  # the one NaN/inf scan
        log_det = x.new_zeros(x.shape[0])
        with _trusted():
            for transform in self.transforms:
                x, step = transform(x)
                log_det = log_det + step
        return x, log_det

    def inverse(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(x, log|det dx/dz|)`` for latents ``z`` of shape ``(B, *latent_shape)``."""
        z = _own_dtype(self, _check_event(z, self.latent_shape, "z"))
        log_det = z.new_zeros(z.shape[0])
        with _trusted():
            for transform in reversed(self.transforms):
                if not transform.has_inverse:
                    raise NotImplementedError(f"{type(transform).__name__} has no inverse implemented: this flow cannot sample")
                z, step = transform.inverse(z)
                log_det = log_det + step
        return z, log_det

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """``log p(x)`` in nats, shape ``(B,)``."""
        x = _check_event(x, self.event_shape)
        with _trusted():
            z, log_det = self(x)
            return _per_example("base.log_prob(z)", self.base.log_prob(z), log_det) + log_det

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood (nats per example)."""
        return -self.log_prob(_nonempty(x)).mean()

    @torch.no_grad()
    def sample(self, n: int, seed: int | None = None, temperature: float = 1.0) -> torch.Tensor:
        """``n`` samples ``x = f^-1(z)``, ``z ~ base`` scaled by ``temperature`` (Glow samples at 0.7)."""
        n = _check_n(n)
        temperature = check_positive_number("temperature", temperature)
        z = self.base.sample(n, _generator(seed)) * temperature
        return self.inverse(z)[0]


class VariationalFlow(nn.Module):
    """Flows in the sampling direction (Rezende and Mohamed 2015): ``z_K = g_K o ... o g_1 (z_0)``,
    ``z_0 ~ N(0, I)``, and ``log q_K(z_K) = log q_0(z_0) - sum_k log|det dg_k/dz_{k-1}|``.

    Only forward maps are needed, so planar and radial flows work. ``loss(z0)`` is the reverse KL
    ``E[log q_K(z_K) - log p~(z_K)]`` to the unnormalised target ``target_log_prob`` (it equals
    ``KL(q_K || p) - log Z``), estimated on a batch of base samples ``z0`` (the training data).
    Inputs are cast to the flow's dtype.
    """

    def __init__(self, transforms: Sequence[Transform], target_log_prob: Callable[[torch.Tensor], torch.Tensor] | None, dim: int):
        super().__init__()
        self.dim = check_int("dim", dim, minimum=1)
        self.transforms = nn.ModuleList(list(transforms))
        for index, transform in enumerate(self.transforms):
            if not isinstance(transform, Transform):
                raise TypeError(f"transforms[{index}] must be a course_gen.flows.Transform, got {type(transform).__name__}")
        if target_log_prob is not None and not callable(target_log_prob):
            raise TypeError(f"target_log_prob must be callable, got {type(target_log_prob).__name__}")
        self.target_log_prob = target_log_prob
        self.base = StandardNormal((self.dim,))

    def forward(self, z0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(z_K, log q_K(z_K))`` for base samples ``z0`` of shape ``(B, dim)``."""
        z = _own_dtype(self, _check_event(z0, (self.dim,), "z0"))
        with _trusted():
            log_q = self.base.log_prob(z)
            for transform in self.transforms:
                z, log_det = transform(z)
                log_q = log_q - log_det
        return z, log_q

    def loss(self, z0: torch.Tensor) -> torch.Tensor:
        """Reverse KL up to ``log Z``: ``mean(log q_K(z_K) - target_log_prob(z_K))``."""
        if self.target_log_prob is None:
            raise ValueError("this VariationalFlow has no target_log_prob to fit")
        z, log_q = self(_nonempty(z0, "z0"))
        return (log_q - _per_example("target_log_prob(z)", self.target_log_prob(z), log_q)).mean()

    @torch.no_grad()
    def sample(self, n: int, seed: int | None = None) -> torch.Tensor:
        """``n`` samples ``z_K``."""
        z0 = self.base.sample(_check_n(n), _generator(seed))
        return self(z0)[0]
