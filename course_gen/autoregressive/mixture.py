"""The PixelCNN++ output (Salimans et al. 2017): a discretised mixture of logistics per pixel value.

- :func:`discretized_logistic_mixture_log_prob`: log P(x) of integer values, in nats.
- :func:`fit_logistic_mixture`: its maximum-likelihood fit to a histogram of values.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from course_gen._checks import check_int, check_positive_number, check_seed, check_tensor
from course_gen.autoregressive.base import MAX_LEVELS
from course_gen.train import MAX_STEPS


#: Bound on the components of a mixture.
MAX_COMPONENTS = 1000


def _check_mixture(logit_weights, means, log_scales) -> None:
    for name, t in (("logit_weights", logit_weights), ("means", means), ("log_scales", log_scales)):
        check_tensor(name, t, ndim=tuple(range(1, 9)), dtype="float", what="(..., K)")
    if not (logit_weights.shape == means.shape == log_scales.shape):
        raise ValueError("logit_weights, means and log_scales must have the same shape (..., K), got "
                         f"{tuple(logit_weights.shape)}, {tuple(means.shape)}, {tuple(log_scales.shape)}")
    if means.shape[-1] == 0:
        raise ValueError(f"the mixture must have at least one component (K >= 1), got shape {tuple(means.shape)}")


def _check_values(name: str, x, n_levels: int, nonempty: bool = False) -> torch.Tensor:
    """A finite tensor of integers 0..n_levels-1 (of any real dtype), with ``nonempty`` at least one."""
    x = check_tensor(name, x, what=f"of values 0..{n_levels - 1}")
    if x.dtype == torch.bool:
        raise TypeError(f"{name} must hold integers 0..{n_levels - 1}, got a bool tensor")
    if (nonempty and x.numel() == 0) or bool(((x != x.round()) | (x < 0) | (x > n_levels - 1)).any()):
        got = f"values in [{float(x.min()):.4g}, {float(x.max()):.4g}]" if x.numel() else "an empty tensor"
        raise ValueError(f"{name} must hold integers in {{0, ..., {n_levels - 1}}} {' (at least one)' if nonempty else ''}, got {got}")
    return x


def discretized_logistic_mixture_log_prob(x, logit_weights, means, log_scales, n_levels: int = 256):
    """log P(x) of integer values ``x`` in {0, ..., n_levels - 1} under a discretised mixture of logistics
    (PixelCNN++, Salimans et al. 2017), in nats; shape: ``x``'s broadcast with the parameters' ``(...)``.

    Component k is a logistic with mean ``mu_k`` and scale ``s_k = exp(log_scales_k)`` on the value scale,
    CDF ``F_k(y) = sigm((y - mu_k) / s_k)``; value x gets the mass of its bin [x - 1/2, x + 1/2], the edge
    values the whole tail:

        P_k(0) = F_k(1/2),  P_k(n-1) = 1 - F_k(n - 3/2),  P_k(x) = F_k(x + 1/2) - F_k(x - 1/2),
        P(x) = sum_k pi_k P_k(x),  pi = softmax(logit_weights).

    So the n_levels probabilities sum to one. Computed in log space (softplus for the tails; where a bin's
    mass underflows, log of the density at its centre, bin width 1). Parameters: ``(..., K)`` each.
    """
    n_levels = check_int("n_levels", n_levels, minimum=2, maximum=MAX_LEVELS)
    _check_mixture(logit_weights, means, log_scales)
    xf = _check_values("x", x, n_levels).to(means.dtype)
    try:
        torch.broadcast_shapes(xf.shape, means.shape[:-1])
    except RuntimeError as err:
        raise ValueError(f"x's shape {tuple(xf.shape)} must broadcast with the parameters' (...) = "
                         f"{tuple(means.shape[:-1])}") from err
    return _mixture_log_prob(xf, logit_weights, means, log_scales, n_levels)


def _mixture_log_prob(x, logit_weights, means, log_scales, n_levels: int):
    """:func:`discretized_logistic_mixture_log_prob` without the checks (``x`` in the parameters' dtype)."""
    xf = x[..., None]
    inv_s = torch.exp(-log_scales)
    upper = (xf + 0.5 - means) * inv_s
    lower = (xf - 0.5 - means) * inv_s
    log_cdf_upper = -F.softplus(-upper)                  # log F(x + 1/2): the left edge (x = 0)
    log_survival_lower = -F.softplus(lower)              # log (1 - F(x - 1/2)): the right edge (x = n - 1)
    mass = torch.sigmoid(upper) - torch.sigmoid(lower)
    centre = (xf - means) * inv_s
    log_density = centre - log_scales - 2 * F.softplus(centre)
    log_mid = torch.where(mass > 1e-5, torch.log(mass.clamp_min(1e-12)), log_density)
    log_p = torch.where(xf < 0.5, log_cdf_upper, torch.where(xf > n_levels - 1.5, log_survival_lower, log_mid))
    return torch.logsumexp(torch.log_softmax(logit_weights, dim=-1) + log_p, dim=-1)


def fit_logistic_mixture(values: torch.Tensor, n_components: int = 5, steps: int = 500, lr: float = 0.05,
                         n_levels: int = 256, seed: int = 0) -> dict[str, torch.Tensor]:
    """Maximum-likelihood discretised logistic mixture for integer ``values`` in {0..n_levels-1} (any shape).

    Minimises ``-(1/N) sum_v count_v log P(v)`` (the histogram makes one step cost O(n_levels K)) with Adam
    for ``steps`` steps from means spread over the range (seeded jitter). Returns the fitted
    ``{"logit_weights", "means", "log_scales"}``, each (K,), detached.
    """
    n_components = check_int("n_components", n_components, minimum=1, maximum=MAX_COMPONENTS)
    steps = check_int("steps", steps, minimum=1, maximum=MAX_STEPS)
    lr = check_positive_number("lr", lr)
    n_levels = check_int("n_levels", n_levels, minimum=2, maximum=MAX_LEVELS)
    flat = _check_values("values", values, n_levels, nonempty=True).reshape(-1).to(torch.float64)
    counts = torch.bincount(flat.long(), minlength=n_levels).to(torch.float64)
    weights = counts / counts.sum()
    levels = torch.arange(n_levels, dtype=torch.float64)
    generator = torch.Generator().manual_seed(check_seed(seed))
    spread = torch.linspace(0, n_levels - 1, n_components, dtype=torch.float64)
    jitter = torch.rand(n_components, generator=generator, dtype=torch.float64)
    unit = float(n_levels - 1)  # means are optimised in units of the whole range, so one lr suits all
    raw = {
        "logit_weights": torch.zeros(n_components, dtype=torch.float64, requires_grad=True),
        "means": ((spread + jitter) / unit).requires_grad_(True),
        "log_scales": torch.full((n_components,), math.log(n_levels / (4 * n_components)),
                                 dtype=torch.float64).requires_grad_(True),
    }
    optimizer = torch.optim.Adam(raw.values(), lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        log_p = _mixture_log_prob(levels, raw["logit_weights"], unit * raw["means"], raw["log_scales"], n_levels)
        loss = -(weights * log_p).sum()
        loss.backward()
        optimizer.step()
    if not all(bool(torch.isfinite(p).all()) for p in raw.values()):
        raise ValueError(f"the fit diverged (NaN or inf parameters) with lr={lr:g}: try a smaller lr")
    return {"logit_weights": raw["logit_weights"].detach(), "means": unit * raw["means"].detach(),
            "log_scales": raw["log_scales"].detach()}
