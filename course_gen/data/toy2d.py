"""Two-dimensional toy distributions for density models (flows, VAEs, GANs, diffusion).

Every set lies roughly within [-4, 4]^2 with a spread of about 2, so one plotting window
and one model size fit them all. Samplers are written in torch with a local
``torch.Generator``: the same ``(name, n, seed)`` gives the same points.

Four sets also have an exact density (``toy2d_log_prob``), which lets a notebook compare a
model's log-likelihood with the truth:

- ``"8gaussians"``: equal mixture of 8 isotropic Gaussians, std 0.2, centred at
  ``2 (cos(2 pi k / 8), sin(2 pi k / 8))``;
- ``"ring"``: radius ``r ~ Normal(2, 0.25)`` truncated to ``r > 0``, angle uniform;
- ``"circles"``: equal mixture of two such rings, radii 1 and 2, radial std 0.1;
- ``"checkerboard"``: uniform on the 8 dark unit squares of a 4x4 board on [-2, 2]^2.

``"moons"``, ``"spirals"`` and ``"swissroll"`` are sampled from noisy curves and have no
closed-form density.

Target energies: ``energy_log_density(name, z)`` is ``-U(z)`` for the four unnormalised test densities
``U1``..``U4`` of Rezende and Mohamed (2015) (:data:`ENERGY_NAMES`), the targets of notebook 04's
variational flows (also importable from :mod:`course_gen.flows`).
"""

from __future__ import annotations

import math

import torch

from course_gen._checks import check_choice, check_int, check_positive_number, check_seed, check_tensor, check_tensor

#: The names ``toy2d`` accepts.
TOY2D_NAMES = ("moons", "circles", "8gaussians", "ring", "checkerboard", "spirals", "swissroll")
#: The names ``toy2d_log_prob`` accepts (those with an exact density).
TOY2D_LOG_PROB_NAMES = ("8gaussians", "ring", "circles", "checkerboard")

#: 8gaussians: radius of the circle of centres, number of components, component std.
GAUSSIANS_RADIUS, GAUSSIANS_COUNT, GAUSSIANS_STD = 2.0, 8, 0.2
#: ring: mean radius and radial std.
RING_RADIUS, RING_STD = 2.0, 0.25
#: circles: the two mean radii and the radial std of each.
CIRCLES_RADII, CIRCLES_STD = (1.0, 2.0), 0.1
#: checkerboard: the board is [-2, 2]^2, cells of side 1, those with even (column + row) filled.
CHECKERBOARD_HALF_WIDTH = 2
#: Gaussian noise added to moons, spirals and swissroll (after scaling).
CURVE_NOISE = 0.1
#: The most points one call of ``toy2d`` draws.
MAX_POINTS = 10**7


# ----------------------------------------------------------------------------- samplers
def _uniform(n: int, generator: torch.Generator, low: float = 0.0, high: float = 1.0) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=generator, dtype=torch.float64)


def _normal(shape, generator: torch.Generator) -> torch.Tensor:
    return torch.randn(shape, generator=generator, dtype=torch.float64)


def _polar(radius: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    return torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], dim=1)


def _sample_moons(n: int, g: torch.Generator) -> torch.Tensor:
    """Two interleaved half circles of radius 1 (upper one centred at 0, lower at (1, 0.5)),
    centred on the origin, scaled by 2, plus Gaussian noise of std 0.1."""
    t = _uniform(n, g, 0.0, math.pi)
    lower = torch.rand(n, generator=g) < 0.5
    upper_arc = torch.stack([torch.cos(t), torch.sin(t)], dim=1)
    lower_arc = torch.stack([1.0 - torch.cos(t), 0.5 - torch.sin(t)], dim=1)
    points = torch.where(lower[:, None], lower_arc, upper_arc)
    points = 2.0 * (points - torch.tensor([0.5, 0.25], dtype=torch.float64))
    return points + CURVE_NOISE * _normal((n, 2), g)


def _sample_truncated_radius(n: int, g: torch.Generator, mean: float, std: float) -> torch.Tensor:
    """Radii from Normal(mean, std) truncated to r > 0, by the inverse CDF:
    ``r = mean + std * Phi^-1(u)`` with u uniform on (Phi(-mean/std), 1)."""
    low = torch.special.ndtr(torch.tensor(-mean / std, dtype=torch.float64)).item()
    u = _uniform(n, g, low, 1.0).clamp(max=1.0 - 1e-16)  # ndtri(1) would be inf
    radius = mean + std * torch.special.ndtri(u)
    return radius.clamp_min(torch.finfo(torch.float64).tiny)  # r > 0 despite rounding


def _sample_ring(n: int, g: torch.Generator) -> torch.Tensor:
    """Angle uniform, radius ~ Normal(2, 0.25) truncated to r > 0."""
    radius = _sample_truncated_radius(n, g, RING_RADIUS, RING_STD)
    return _polar(radius, _uniform(n, g, 0.0, 2.0 * math.pi))


def _sample_circles(n: int, g: torch.Generator) -> torch.Tensor:
    """Equal mixture of rings with radii 1 and 2, radial std 0.1 (each truncated to r > 0)."""
    outer = torch.rand(n, generator=g) < 0.5
    inner_r = _sample_truncated_radius(n, g, CIRCLES_RADII[0], CIRCLES_STD)
    outer_r = _sample_truncated_radius(n, g, CIRCLES_RADII[1], CIRCLES_STD)
    radius = torch.where(outer, outer_r, inner_r)
    return _polar(radius, _uniform(n, g, 0.0, 2.0 * math.pi))


def _gaussian_centres(count: int = GAUSSIANS_COUNT, radius: float = GAUSSIANS_RADIUS) -> torch.Tensor:
    """``(count, 2)`` float64: ``radius * (cos(2 pi k / count), sin(2 pi k / count))``."""
    angle = 2.0 * math.pi * torch.arange(count, dtype=torch.float64) / count
    return _polar(torch.full((count,), radius, dtype=torch.float64), angle)


def _sample_8gaussians(n: int, g: torch.Generator) -> torch.Tensor:
    """Pick one of 8 centres on the circle of radius 2, add Normal(0, 0.2^2 I)."""
    component = torch.randint(GAUSSIANS_COUNT, (n,), generator=g)
    return _gaussian_centres()[component] + GAUSSIANS_STD * _normal((n, 2), g)


def _checkerboard_cells() -> torch.Tensor:
    """Lower-left corners ``(8, 2)`` of the filled cells: (i, j) with i + j even, on [-2, 2]^2."""
    side = 2 * CHECKERBOARD_HALF_WIDTH
    cells = [(i, j) for i in range(side) for j in range(side) if (i + j) % 2 == 0]
    return torch.tensor(cells, dtype=torch.float64) - CHECKERBOARD_HALF_WIDTH


def _sample_checkerboard(n: int, g: torch.Generator) -> torch.Tensor:
    """Pick one of the 8 filled unit cells uniformly, then a uniform point in it."""
    corners = _checkerboard_cells()
    cell = torch.randint(len(corners), (n,), generator=g)
    return corners[cell] + torch.rand(n, 2, generator=g, dtype=torch.float64)


def _sample_spirals(n: int, g: torch.Generator) -> torch.Tensor:
    """Two interleaved Archimedean spiral arms ``+-(-t cos t, t sin t) / 3`` with
    ``t = 3 pi sqrt(u)`` (uniform along the area), plus Gaussian noise of std 0.1."""
    t = 3.0 * math.pi * torch.sqrt(_uniform(n, g))
    sign = torch.where(torch.rand(n, generator=g) < 0.5, -1.0, 1.0).double()
    arm = torch.stack([-t * torch.cos(t), t * torch.sin(t)], dim=1) / 3.0
    return sign[:, None] * arm + CURVE_NOISE * _normal((n, 2), g)


def _sample_swissroll(n: int, g: torch.Generator) -> torch.Tensor:
    """The 2-D Swiss roll ``(t cos t, t sin t) / 5`` with ``t`` uniform on [1.5 pi, 4.5 pi],
    plus Gaussian noise of std 0.1."""
    t = _uniform(n, g, 1.5 * math.pi, 4.5 * math.pi)
    roll = torch.stack([t * torch.cos(t), t * torch.sin(t)], dim=1) / 5.0
    return roll + CURVE_NOISE * _normal((n, 2), g)


_SAMPLERS = {
    "moons": _sample_moons,
    "circles": _sample_circles,
    "8gaussians": _sample_8gaussians,
    "ring": _sample_ring,
    "checkerboard": _sample_checkerboard,
    "spirals": _sample_spirals,
    "swissroll": _sample_swissroll,
}


def toy2d(name: str, n: int, seed: int = 0) -> torch.Tensor:
    """Return ``n`` samples of the toy set ``name``: float32 tensor ``(n, 2)``.

    ``name`` is one of ``TOY2D_NAMES``: "moons", "circles", "8gaussians", "ring",
    "checkerboard", "spirals", "swissroll" (see the module docstring for each law; all
    lie roughly within [-4, 4]^2). Sampling happens in float64 with a local
    ``torch.Generator`` seeded by ``seed``, so the same arguments give the same tensor.
    """
    check_choice("toy2d name", name, TOY2D_NAMES)
    n = check_int("n", n, minimum=1, maximum=MAX_POINTS)
    generator = torch.Generator().manual_seed(check_seed(seed))
    return _SAMPLERS[name](n, generator).to(torch.float32)


# ---------------------------------------------------------------------------- densities
def gaussian_circle_log_prob(
    x: torch.Tensor, radius: float = GAUSSIANS_RADIUS, std: float = GAUSSIANS_STD,
    count: int = GAUSSIANS_COUNT,
) -> torch.Tensor:
    """Log-density of an equal mixture of ``count`` isotropic Gaussians (std ``std``) centred
    on a circle of radius ``radius``: ``logsumexp_k [-|x - mu_k|^2 / (2 std^2)] - log(2 pi std^2)
    - log(count)``. ``x`` float64 ``(n, 2)``; returns ``(n,)``."""
    x = _check_points(x)
    _check_law(radius, std, count)
    centres = _gaussian_centres(count, radius).to(x)
    squared = ((x[:, None, :] - centres[None]) ** 2).sum(dim=2)
    log_components = -squared / (2.0 * std**2) - math.log(2.0 * math.pi * std**2)
    return torch.logsumexp(log_components, dim=1) - math.log(count)


def ring_log_prob(x: torch.Tensor, radius: float = RING_RADIUS, std: float = RING_STD) -> torch.Tensor:
    """Log-density of a ring: ``r = |x| ~ Normal(radius, std)`` truncated to r > 0, angle uniform:
    ``log p(x) = log N(r; radius, std) - log Phi(radius / std) - log(2 pi r)``
    (the 1 / (2 pi r) is the polar Jacobian). ``x`` float64 ``(n, 2)``; returns ``(n,)``.
    At ``x = 0`` (measure zero) ``r`` is clamped to the smallest positive float."""
    x = _check_points(x)
    _check_law(radius, std)
    r = torch.linalg.vector_norm(x, dim=1).clamp_min(torch.finfo(x.dtype).tiny)
    log_normal = -0.5 * ((r - radius) / std) ** 2 - math.log(std * math.sqrt(2.0 * math.pi))
    log_mass = math.log(0.5 * math.erfc(-radius / (std * math.sqrt(2.0))))  # log Phi(radius / std)
    return log_normal - log_mass - torch.log(2.0 * math.pi * r)


def circles_log_prob(
    x: torch.Tensor, radii: tuple[float, ...] = CIRCLES_RADII, std: float = CIRCLES_STD,
) -> torch.Tensor:
    """Log-density of an equal mixture of rings: ``logsumexp_k log p_ring(x; radii[k], std)
    - log(len(radii))``. ``x`` float64 ``(n, 2)``; returns ``(n,)``."""
    if not isinstance(radii, (tuple, list)) or not radii:
        raise TypeError(f"radii must be a non-empty tuple of radii, got {radii!r}")
    rings = torch.stack([ring_log_prob(x, r, std) for r in radii], dim=1)
    return torch.logsumexp(rings, dim=1) - math.log(len(radii))


def checkerboard_log_prob(x: torch.Tensor) -> torch.Tensor:
    """``-log 8`` on the filled cells (closed unit squares ``[i, i+1] x [j, j+1]`` shifted by
    -2, with i + j even), ``-inf`` elsewhere. ``x`` float ``(n, 2)``; returns ``(n,)``.

    Closed squares, so a sample that float32 rounding puts on a cell edge keeps its density
    (the edges have measure zero: the integral is 1 either way)."""
    x = _check_points(x)
    corners = _checkerboard_cells().to(x)  # (8, 2)
    offset = x[:, None, :] - corners[None]  # (n, 8, 2)
    filled = ((offset >= 0) & (offset <= 1)).all(dim=2).any(dim=1)
    inside = torch.full_like(x[:, 0], -math.log(len(corners)))
    return torch.where(filled, inside, torch.full_like(inside, -math.inf))


_LOG_PROBS = {
    "8gaussians": gaussian_circle_log_prob,
    "ring": ring_log_prob,
    "circles": circles_log_prob,
    "checkerboard": checkerboard_log_prob,
}


def _check_points(x) -> torch.Tensor:
    """``x`` must be a finite floating tensor of shape ``(n, 2)``; ``TypeError``/``ValueError`` otherwise."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor of shape (n, 2), got {type(x).__name__}")
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"x must have shape (n, 2), got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"x must be a floating-point tensor, got dtype {x.dtype}")
    return check_tensor("x", x, what="(points (n, 2))")  # no NaN or inf


def _check_law(radius=None, std=None, count=None) -> None:
    """The parameters of a density: positive finite radius and std, a count of 1..10,000 components."""
    if radius is not None:
        check_positive_number("radius", radius)
    if std is not None:
        check_positive_number("std", std)
    if count is not None:
        check_int("count", count, minimum=1, maximum=10_000)


def toy2d_log_prob(name: str, x: torch.Tensor) -> torch.Tensor:
    """Return the exact log-density ``log p(x)`` of toy set ``name`` at each point: ``(n,)``.

    ``x`` is a floating tensor ``(n, 2)``; the result has its dtype and device (computed in
    float64, float32 on MPS) and is differentiable in ``x`` (except "checkerboard", which is
    piecewise constant). ``name`` is one of ``TOY2D_LOG_PROB_NAMES``:

    - "8gaussians": ``logsumexp_k N(x; mu_k, 0.2^2 I) - log 8``, ``mu_k = 2 (cos, sin)(2 pi k / 8)``;
    - "ring": ``log N(|x|; 2, 0.25) - log Phi(2 / 0.25) - log(2 pi |x|)``;
    - "circles": equal mixture of two rings, radii 1 and 2, radial std 0.1;
    - "checkerboard": ``-log 8`` on the filled unit squares of [-2, 2]^2, ``-inf`` elsewhere.

    "moons", "spirals" and "swissroll" raise ``ValueError``: they have no closed-form density.
    """
    if name in TOY2D_NAMES and name not in TOY2D_LOG_PROB_NAMES:
        options = ", ".join(repr(a) for a in TOY2D_LOG_PROB_NAMES)
        raise ValueError(
            f"toy2d set {name!r} has no closed-form density; toy2d_log_prob supports {options}"
        )
    check_choice("toy2d_log_prob name", name, TOY2D_LOG_PROB_NAMES)
    x = _check_points(x)
    work_dtype = torch.float32 if x.device.type == "mps" else torch.float64
    return _LOG_PROBS[name](x.to(work_dtype)).to(x.dtype)


# ----------------------------------------------------------------------------- target energies
#: The four unnormalised 2-D test densities of Rezende and Mohamed (2015), ``p(z) ~ exp(-U(z))``: targets
#: for variational flows (notebook 04), known only up to their normaliser.
ENERGY_NAMES = ("U1", "U2", "U3", "U4")


def energy_log_density(name: str, z: torch.Tensor) -> torch.Tensor:
    """``-U(z)`` for Rezende and Mohamed's test energies (unnormalised log-density), ``z`` ``(B, 2)``.

    With ``w1 = sin(2 pi z1 / 4)``, ``w2 = 3 exp(-((z1 - 1) / 0.6)^2 / 2)``, ``w3 = 3 sigm((z1 - 1) / 0.3)``:
    U1 = ``((|z| - 2) / 0.4)^2 / 2 - log(exp(-((z1 - 2) / 0.6)^2 / 2) + exp(-((z1 + 2) / 0.6)^2 / 2))``;
    U2 = ``((z2 - w1) / 0.4)^2 / 2``; U3 = ``-log(exp(-((z2 - w1) / 0.35)^2 / 2) + exp(-((z2 - w1 + w2) / 0.35)^2 / 2))``;
    U4 = ``-log(exp(-((z2 - w1) / 0.4)^2 / 2) + exp(-((z2 - w1 + w3) / 0.35)^2 / 2))``.
    The result has ``z``'s dtype and device.
    """
    check_choice("energy", name, ENERGY_NAMES)
    z = check_tensor("z", z, shape=(None, 2), dtype="float", what="(points (B, 2))")
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
