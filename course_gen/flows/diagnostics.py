"""Checks of a trained 2-D flow against its formulas (notebook 04).

- :func:`histogram_vs_density`: a flow's samples binned, against its change-of-variables density;
- :func:`reverse_kl`: Monte Carlo ``KL(q_K || p)`` of a :class:`~course_gen.flows.VariationalFlow`;
- :func:`log_normaliser_2d`: ``log Z`` of an unnormalised 2-D density on a grid.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

from course_gen._checks import check_finite_number, check_int, check_positive_number, check_seed
from course_gen.flows.base import Flow, VariationalFlow
from course_gen.runtime import model_device

#: Most samples, bins or grid points per side these checks accept (memory and time stay bounded).
MAX_SAMPLES, MAX_BINS, MAX_GRID = 10**7, 1000, 5001


def _check_limits(limits) -> tuple[float, float]:
    if isinstance(limits, (str, bytes)) or not isinstance(limits, Sequence) or len(limits) != 2:
        raise TypeError(f"limits must be a pair (low, high) of numbers, got {limits!r}")
    low, high = (check_finite_number("limits entry", v) for v in limits)
    if not high > low:
        raise ValueError(f"limits must be (low, high) with high > low, got {tuple(limits)!r}")
    return low, high


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
    n_samples = check_int("n_samples", n_samples, minimum=1, maximum=MAX_SAMPLES)
    bins = check_int("bins", bins, minimum=2, maximum=MAX_BINS)
    refine = check_int("refine", refine, minimum=1, maximum=max(1, MAX_GRID // bins))
    low, high = _check_limits(limits)
    device = model_device(flow)
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
        z, log_det = flow(chunk.to(device))
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


@torch.no_grad()
def reverse_kl(model: VariationalFlow, log_z: float, n: int = 20_000, seed: int = 2) -> tuple[float, float]:
    """Monte Carlo ``KL(q_K || p) = E_q[log q_K(z_K) - log p~(z_K)] + log Z`` from ``n`` seeded base draws,
    and its standard error ``std / sqrt(n)`` (nats)."""
    if not isinstance(model, VariationalFlow) or model.target_log_prob is None:
        raise TypeError(f"model must be a VariationalFlow with a target_log_prob, got {type(model).__name__}")
    log_z = check_finite_number("log_z", log_z)
    n = check_int("n", n, minimum=2, maximum=MAX_SAMPLES)
    z0 = torch.randn(n, model.dim, generator=torch.Generator().manual_seed(check_seed(seed)))
    z, log_q = model(z0.to(model_device(model)))
    terms = (log_q - model.target_log_prob(z)).double()
    return float(terms.mean()) + float(log_z), float(terms.std() / math.sqrt(n))


def log_normaliser_2d(log_density: Callable[[torch.Tensor], torch.Tensor], limit: float = 6.0, n: int = 1201) -> float:
    """``log Z = log sum exp(log_density) * cell area`` on an ``n`` x ``n`` grid over ``[-limit, limit]^2``
    (float64): the normaliser of the density restricted to that square. It is the normaliser on all of
    ``R^2`` only if (nearly) all the mass lies inside the square; for a density with infinite mass, such
    as ``exp(-U2)`` of :func:`energy_log_density` (no term in ``z1``), it depends on ``limit``."""
    if not callable(log_density):
        raise TypeError(f"log_density must be a function of points (N, 2), got {type(log_density).__name__}")
    limit = check_positive_number("limit", limit)
    n = check_int("n", n, minimum=3, maximum=MAX_GRID)
    xs = torch.linspace(-limit, limit, n, dtype=torch.float64)
    grid = torch.stack(torch.meshgrid(xs, xs, indexing="xy"), dim=-1).reshape(-1, 2)
    values = log_density(grid)
    if not isinstance(values, torch.Tensor) or values.shape != (n * n,):
        raise ValueError(f"log_density must return one value per point, shape ({n * n},), got "
                         f"{tuple(values.shape) if isinstance(values, torch.Tensor) else type(values).__name__}")
    if bool(torch.isnan(values).any()) or bool((values == math.inf).any()):
        raise ValueError("log_density returned NaN or +inf on the grid")
    log_z = float(torch.logsumexp(values.double(), 0) + 2 * torch.log(xs[1] - xs[0]))
    if not math.isfinite(log_z):
        raise ValueError(f"the density is zero everywhere on [-{limit:g}, {limit:g}]^2: no normaliser there")
    return log_z
