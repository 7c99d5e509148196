"""Gaussians of the ELBO: the KL to the prior, the log-density, and a stable log-mean-exp.

- :func:`gaussian_kl`: ``KL(N(mu, diag exp(logvar)) || N(0, I)) =
  1/2 sum_j (mu_j^2 + exp(logvar_j) - 1 - logvar_j)``, per example;
- :func:`gaussian_log_prob`: ``log N(x; mean, diag exp(logvar))`` per example (with a fixed
  variance, the squared error up to a scale and a constant);
- :func:`log_mean_exp`: ``log (1/k) sum_i exp(v_i)``, the step from log-weights to the IWAE bound.
"""

from __future__ import annotations

import math

import torch

from course_gen._checks import check_finite_number, check_int, check_seed, check_tensor

_LOG_2PI = math.log(2 * math.pi)
#: The most values one call may draw at once (2**28, 1 GiB of float32): bounds on sample counts
#: come from it (``n_samples * batch * pixels <= _MAX_VALUES``); more is a mistake, not a request.
_MAX_VALUES = 2**28


def _generator(seed, device: torch.device) -> torch.Generator | None:
    """A generator on ``device`` seeded with ``seed``, or None (use the global random state)."""
    if seed is None:
        return None
    return torch.Generator(device=device).manual_seed(check_seed(seed))


def _check_count(name: str, value, per_draw: int = 1) -> int:
    """``value`` as an int in ``[1, _MAX_VALUES // per_draw]``: a number of draws of ``per_draw`` values each."""
    return check_int(name, value, minimum=1, maximum=max(1, _MAX_VALUES // max(1, per_draw)))


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``KL(N(mu, diag exp(logvar)) || N(0, I))`` per example, in nats.

    ``1/2 sum_j (mu_j^2 + exp(logvar_j) - 1 - logvar_j)``, summed over every dimension but the
    first: ``(B, k)`` gives ``(B,)``; a single ``(k,)`` gives a 0-d tensor. Zero iff ``mu = 0``
    and ``logvar = 0``.
    """
    check_tensor("mu", mu, dtype="float")
    check_tensor("logvar", logvar, dtype="float")
    if mu.shape != logvar.shape:
        raise ValueError(f"mu and logvar must have the same shape, got {tuple(mu.shape)} and {tuple(logvar.shape)}")
    if mu.ndim == 0:
        raise ValueError("mu must have at least one dimension (the latent dimensions), got a 0-d tensor")
    per_dim = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)
    return per_dim.sum() if mu.ndim == 1 else per_dim.reshape(mu.shape[0], -1).sum(dim=1)


def gaussian_log_prob(x: torch.Tensor, mean: torch.Tensor, logvar) -> torch.Tensor:
    """``log N(x; mean, diag exp(logvar))`` summed over every dimension but the first:

    ``-1/2 sum_l [log(2 pi) + logvar_l + (x_l - mean_l)^2 / exp(logvar_l)]``. ``logvar`` is a
    tensor broadcastable to ``x`` or a number. With a fixed variance this is
    ``-(L / 2) log(2 pi sigma^2) - sum_l (x_l - mean_l)^2 / (2 sigma^2)``: maximising it over
    ``mean`` is minimising the squared error (MSE), with ``1 / (2 sigma^2)`` as its weight.
    """
    check_tensor("x", x, dtype="float")
    check_tensor("mean", mean, dtype="float")
    if x.ndim == 0 or x.shape[0] == 0:
        raise ValueError(f"x must be a non-empty batch (B, ...), got shape {tuple(x.shape)}")
    if isinstance(logvar, torch.Tensor):
        check_tensor("logvar", logvar, dtype="float")
    else:
        logvar = check_finite_number("logvar", logvar)
    logvar = torch.as_tensor(logvar, dtype=x.dtype, device=x.device)
    for name, value in (("mean", mean), ("logvar", logvar)):
        if _broadcast_shape(x, value) != x.shape:
            raise ValueError(f"{name} {tuple(value.shape)} does not broadcast to x {tuple(x.shape)}")
    per_value = -0.5 * (_LOG_2PI + logvar + (x - mean).pow(2) * torch.exp(-logvar))
    return per_value.expand(x.shape).reshape(x.shape[0], -1).sum(dim=1)


def _broadcast_shape(x: torch.Tensor, other: torch.Tensor) -> torch.Size | None:
    try:
        return torch.broadcast_shapes(x.shape, other.shape)
    except RuntimeError:
        return None


def log_mean_exp(values: torch.Tensor, dim: int = 0) -> torch.Tensor:
    """``log (1/k) sum_i exp(values_i)`` along ``dim`` (k entries), computed stably as
    ``m + log (1/k) sum_i exp(values_i - m)`` with ``m`` the maximum (``torch.logsumexp``).

    ``values`` may hold ``-inf`` (a log-weight of a draw with zero weight), not NaN or ``+inf``."""
    check_tensor("values", values, dtype="float", finite=False)
    if bool((torch.isnan(values) | (values == math.inf)).any()):
        raise ValueError("values contains NaN or +inf (log-weights may be -inf, never NaN or +inf)")
    if values.ndim == 0:
        raise ValueError("values must have at least one dimension to average over, got a 0-d tensor")
    dim = check_int("dim", dim, minimum=-values.ndim, maximum=values.ndim - 1)
    if values.shape[dim] == 0:
        raise ValueError(f"values has no entries along dim {dim} (shape {tuple(values.shape)}): nothing to average")
    return torch.logsumexp(values, dim=dim) - math.log(values.shape[dim])
