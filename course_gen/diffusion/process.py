"""Denoising diffusion: the noise schedule, the forward process in closed form, and its posterior (notebook 08).

The forward process adds Gaussian noise in T small steps, ``q(x_t | x_{t-1}) = N(sqrt(1 - beta_t) x_{t-1},
beta_t I)``. With ``alpha_t = 1 - beta_t`` and ``abar_t = prod_{s=1..t} alpha_s`` it has the closed form

    q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I),

and, given x_0, the step back is Gaussian too (the posterior every term L_{t-1} of the ELBO compares with):

    q(x_{t-1} | x_t, x_0) = N(mean, variance),
    mean     = sqrt(abar_{t-1}) beta_t / (1 - abar_t) x_0 + sqrt(alpha_t) (1 - abar_{t-1}) / (1 - abar_t) x_t,
    variance = (1 - abar_{t-1}) / (1 - abar_t) beta_t.

Conventions (contract): ``betas[t - 1]`` is beta_t for t = 1..T, a float64 tensor; ``t`` is an int64
tensor ``(B,)`` of steps in 1..T, one per example of a batch ``x0`` of shape ``(B, ...)``.
"""

from __future__ import annotations

import math

import torch

from course_gen._checks import check_choice, check_int, check_tensor

MAX_STEPS = 100_000
KINDS = ("linear", "cosine")


def betas(T: int, kind: str = "linear") -> torch.Tensor:
    """The noise schedule beta_1..beta_T, a float64 tensor ``(T,)``.

    ``"linear"``: from 1e-4 to 0.02 for T = 1000 (Ho et al., 2020), both ends scaled by 1000 / T for
    other T so that the total amount of noise stays comparable. ``"cosine"`` (Nichol & Dhariwal, 2021):
    ``abar(t) = f(t) / f(0)`` with ``f(t) = cos^2((t / T + s) / (1 + s) pi / 2)``, s = 0.008, and
    ``beta_t = 1 - abar(t) / abar(t - 1)`` clipped at 0.999.
    """
    T = check_int("T", T, minimum=1, maximum=MAX_STEPS)
    check_choice("kind", kind, KINDS)
    if kind == "linear":
        scale = 1000 / T
        return torch.linspace(scale * 1e-4, min(scale * 0.02, 0.999), T, dtype=torch.float64)
    s = 0.008
    steps = torch.arange(T + 1, dtype=torch.float64) / T
    f = torch.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
    abar = f / f[0]
    return (1 - abar[1:] / abar[:-1]).clamp(max=0.999)


def check_betas(schedule) -> torch.Tensor:
    """``schedule`` if it is a 1-D float tensor with every beta_t in (0, 1); else a clear error."""
    schedule = check_tensor("betas", schedule, ndim=1, dtype="float", what="(the schedule beta_1..beta_T)")
    if schedule.numel() == 0 or not bool(((schedule > 0) & (schedule < 1)).all()):
        low, high = (float(schedule.min()), float(schedule.max())) if schedule.numel() else (math.nan, math.nan)
        raise ValueError(f"betas must lie in (0, 1) and not be empty, got values from {low:g} to {high:g}")
    return schedule


def alpha_bars(schedule: torch.Tensor) -> torch.Tensor:
    """``abar_t = prod_{s <= t} (1 - beta_s)`` for t = 1..T (float64, same indexing as the betas)."""
    return torch.cumprod(1 - check_betas(schedule).double(), dim=0)


def snr(schedule: torch.Tensor) -> torch.Tensor:
    """The signal-to-noise ratio of x_t, ``abar_t / (1 - abar_t)``, for t = 1..T."""
    abar = alpha_bars(schedule)
    return abar / (1 - abar)


def _check_steps(t, x0: torch.Tensor, T: int, first: int = 1) -> torch.Tensor:
    t = check_tensor("t", t, ndim=1, dtype="integer", what="(one step per example, int64)")
    if len(t) != x0.shape[0]:
        raise ValueError(f"t must have one step per example: x0 has {x0.shape[0]} examples, t has {len(t)}")
    if len(t) and (int(t.min()) < first or int(t.max()) > T):
        raise ValueError(f"t must lie in {first}..{T} (T = len(betas)), got values from {int(t.min())} to {int(t.max())}")
    return t


def _per_example(values: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``values`` (B,) float64 shaped ``(B, 1, ..., 1)`` to broadcast against ``x``, in x's dtype and device."""
    return values.to(device=x.device, dtype=x.dtype).reshape(-1, *([1] * (x.dim() - 1)))


def _check_batch(name: str, x) -> torch.Tensor:
    return check_tensor(name, x, dtype="float", what="(a batch (B, ...))")


def _check_pair(name_a: str, a, name_b: str, b) -> tuple[torch.Tensor, torch.Tensor]:
    """Two float batches of one shape (B, ...), or a clear error."""
    a, b = _check_batch(name_a, a), _check_batch(name_b, b)
    if a.dim() == 0 or b.shape != a.shape:
        raise ValueError(f"{name_a} and {name_b} must be batches of the same shape, got {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    return a, b


def q_sample(x0: torch.Tensor, t: torch.Tensor, betas: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """``x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) noise``: a draw of q(x_t | x_0) for each example."""
    x0 = _check_batch("x0", x0)
    if x0.dim() == 0:
        raise ValueError("x0 must be a batch (B, ...), got a 0-d tensor")
    abar = alpha_bars(betas)
    t = _check_steps(t, x0, len(abar))
    noise = _check_batch("noise", noise)
    if noise.shape != x0.shape:
        raise ValueError(f"noise must have x0's shape {tuple(x0.shape)}, got {tuple(noise.shape)}")
    a = abar[t.cpu() - 1]
    return _per_example(a.sqrt(), x0) * x0 + _per_example((1 - a).sqrt(), x0) * noise


def q_posterior(x0: torch.Tensor, xt: torch.Tensor, t: torch.Tensor, betas: torch.Tensor):
    """``(mean, variance)`` of q(x_{t-1} | x_t, x_0) for t in 2..T (see the module docstring).

    ``mean`` has x0's shape; ``variance`` is one number per example, shaped ``(B, 1, ..., 1)``.
    """
    x0, xt = _check_pair("x0", x0, "xt", xt)
    schedule = check_betas(betas).double()
    abar = alpha_bars(schedule)
    t = _check_steps(t, x0, len(abar), first=2).cpu()
    beta_t, abar_t, abar_prev = schedule[t - 1], abar[t - 1], abar[t - 2]
    coef_x0 = abar_prev.sqrt() * beta_t / (1 - abar_t)
    coef_xt = (1 - beta_t).sqrt() * (1 - abar_prev) / (1 - abar_t)
    variance = (1 - abar_prev) / (1 - abar_t) * beta_t
    mean = _per_example(coef_x0, x0) * x0 + _per_example(coef_xt, x0) * xt
    return mean, _per_example(variance, x0)


def predicted_x0(xt: torch.Tensor, t: torch.Tensor, betas: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """The x_0 that ``eps`` implies: ``(x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t)`` (q_sample solved for x0)."""
    xt, eps = _check_pair("xt", xt, "eps", eps)
    abar = alpha_bars(betas)
    a = abar[_check_steps(t, xt, len(abar)).cpu() - 1]
    return (xt - _per_example((1 - a).sqrt(), xt) * eps) / _per_example(a.sqrt(), xt)


def ddpm_mean(xt: torch.Tensor, t: torch.Tensor, betas: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """The mean of the learned step back p(x_{t-1} | x_t) for a predicted noise ``eps`` (Ho et al., eq. 11):
    ``(x_t - beta_t / sqrt(1 - abar_t) eps) / sqrt(alpha_t)``; it equals q_posterior's mean at the x_0
    that ``eps`` implies."""
    xt = _check_batch("xt", xt)
    schedule = check_betas(betas).double()
    abar = alpha_bars(schedule)
    steps = _check_steps(t, xt, len(abar)).cpu()
    eps = _check_batch("eps", eps)
    if eps.shape != xt.shape:
        raise ValueError(f"eps must have xt's shape {tuple(xt.shape)}, got {tuple(eps.shape)}")
    beta_t, abar_t = schedule[steps - 1], abar[steps - 1]
    return (xt - _per_example(beta_t / (1 - abar_t).sqrt(), xt) * eps) / _per_example((1 - beta_t).sqrt(), xt)


def ddim_step(xt: torch.Tensor, t: torch.Tensor, t_prev: torch.Tensor, betas: torch.Tensor,
              eps: torch.Tensor) -> torch.Tensor:
    """One deterministic DDIM step (Song et al., 2021, eta = 0) from step t to an earlier ``t_prev``
    (0 means x_0): ``sqrt(abar_prev) x0_hat + sqrt(1 - abar_prev) eps`` with ``x0_hat`` from
    :func:`predicted_x0`. With the true noise it lands exactly on q_sample(x0, t_prev, same noise)."""
    x0_hat = predicted_x0(xt, t, betas, eps)
    abar = alpha_bars(betas)
    t_prev = _check_steps(t_prev, xt, len(abar), first=0).cpu()
    if bool((t_prev >= t.cpu()).any()):
        raise ValueError("t_prev must be smaller than t for every example")
    a_prev = torch.cat([torch.ones(1, dtype=abar.dtype), abar])[t_prev]
    return _per_example(a_prev.sqrt(), xt) * x0_hat + _per_example((1 - a_prev).sqrt(), xt) * eps


def elbo_weights(betas: torch.Tensor) -> torch.Tensor:
    """The weight of ``||eps - eps_hat||^2`` in each KL term L_{t-1} of the ELBO, for t = 1..T, with the
    reverse variance sigma_t^2 = the posterior's: ``beta_t^2 / (2 sigma_t^2 alpha_t (1 - abar_t))``.

    The "simple" loss of DDPM drops these weights (all 1): the same minimiser for a network with a
    separate output per t, a differently weighted objective for a shared network. t = 1 (where the
    posterior variance is 0) has no KL term: its weight is reported as 0 (L_0 is a decoder term).
    """
    schedule = check_betas(betas).double()
    abar = alpha_bars(schedule)
    abar_prev = torch.cat([torch.ones(1, dtype=abar.dtype), abar[:-1]])
    sigma2 = (1 - abar_prev) / (1 - abar) * schedule
    weights = schedule**2 / (2 * sigma2.clamp_min(torch.finfo(torch.float64).tiny) * (1 - schedule) * (1 - abar))
    weights[0] = 0.0
    return weights


def flow_matching_pair(x0: torch.Tensor, x1: torch.Tensor, s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A point on the straight path from noise ``x0`` to data ``x1`` at time ``s`` in [0, 1] and the target
    velocity there (rectified flow / conditional flow matching): ``((1 - s) x0 + s x1, x1 - x0)``."""
    x0, x1 = _check_pair("x0", x0, "x1", x1)
    s = check_tensor("s", s, shape=(x0.shape[0],), dtype="float", low=0.0, high=1.0, what="(one time per example)")
    s = s.to(x0.dtype).reshape(-1, *([1] * (x0.dim() - 1)))
    return (1 - s) * x0 + s * x1, x1 - x0



def respaced(schedule: torch.Tensor, steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A shorter chain through ``steps`` of the T steps, evenly spaced from T down to 1 (Nichol & Dhariwal):
    ``(timesteps, betas)`` with ``timesteps`` int64 ``(steps,)`` ascending, ``tau_1 = 1 .. tau_S = T``, and
    ``beta'_i = 1 - abar_{tau_i} / abar_{tau_{i-1}}`` (abar_{tau_0} = 1), so the short chain has the same
    ``abar`` at each kept step: ``alpha_bars(betas')[i - 1] == alpha_bars(schedule)[tau_i - 1]``."""
    abar = alpha_bars(schedule)
    T = len(abar)
    steps = check_int("steps", steps, minimum=1, maximum=T)
    timesteps = torch.linspace(1, T, steps, dtype=torch.float64).round().long()
    kept = abar[timesteps - 1]
    previous = torch.cat([torch.ones(1, dtype=kept.dtype), kept[:-1]])
    return timesteps, (1 - kept / previous).clamp(min=1e-12, max=0.999)


__all__ = ["KINDS", "MAX_STEPS", "alpha_bars", "betas", "check_betas", "ddim_step", "ddpm_mean", "elbo_weights",
           "flow_matching_pair", "predicted_x0", "q_posterior", "q_sample", "respaced", "snr"]
