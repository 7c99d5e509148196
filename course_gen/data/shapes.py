"""Procedural dSprites-like images: one white shape on black, with known factors of variation.

Each image shows one of ``SHAPE_NAMES`` at a random scale, rotation and position. The
factors are returned with the images, so a notebook can ask whether a model's latent
space recovers them (disentanglement).

Geometry, in image coordinates scaled to [0, 1] (x to the right, y down):

- every shape is defined in a local frame where it fits inside the unit disk;
- a pixel-centre point ``p`` maps to the local frame by
  ``(u, w) = R(-rotation) (p_x - x, y - p_y) / (scale * MAX_HALF_SIZE)``
  (``w`` points up on screen, so a positive rotation turns the shape counter-clockwise);
- so the shape stays within ``scale * MAX_HALF_SIZE <= 0.2`` of its centre, and the centre
  lies in ``[POSITION_LOW, POSITION_HIGH] = [0.25, 0.75]``: it never leaves the image.

Rendering is vectorised: each pixel is supersampled on a 4x4 grid, and a pixel is on when
at least half of its samples fall inside the shape, so edges are clean.
"""

from __future__ import annotations

import math

import torch

from course_gen._checks import check_int, check_seed, check_tensor

#: The shapes, in the order of ``factors["shape"]``.
SHAPE_NAMES = ("square", "ellipse", "triangle", "heart")

#: Largest distance (in image widths) from the centre that a shape at ``scale=1`` reaches.
MAX_HALF_SIZE = 0.2
#: ``factors["scale"]`` is uniform on ``[SCALE_LOW, SCALE_HIGH]``.
SCALE_LOW, SCALE_HIGH = 0.5, 1.0
#: ``factors["x"]`` and ``factors["y"]`` are uniform on ``[POSITION_LOW, POSITION_HIGH]``.
POSITION_LOW, POSITION_HIGH = 0.25, 0.75
#: Supersampling: each pixel is tested at ``SUPERSAMPLE x SUPERSAMPLE`` points.
SUPERSAMPLE = 4
#: Smallest and largest image side ``shapes`` accepts.
MIN_SIZE, MAX_SIZE = 8, 512
#: The most images one call of ``shapes`` draws.
MAX_IMAGES = 10**6

# Ellipse semi-axes (local units): wide and flat when upright.
_ELLIPSE_AXES = (1.0, 0.5)
# The heart curve (a^2 + b^2 - 1)^3 - a^2 b^3 = 0 spans b in [-1, 1.236]; centred at
# b = 0.25 its farthest point is 1.25 away, so shrinking by 1.25 puts it in the unit disk.
_HEART_SHIFT, _HEART_RADIUS = 0.25, 1.25


def _inside_square(u: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Axis-aligned square of half-side 1/sqrt(2) (its corners touch the unit circle)."""
    return torch.maximum(u.abs(), w.abs()) <= 1.0 / math.sqrt(2.0)


def _inside_ellipse(u: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Ellipse (u/1)^2 + (w/0.5)^2 <= 1."""
    a, b = _ELLIPSE_AXES
    return (u / a) ** 2 + (w / b) ** 2 <= 1.0


def _inside_triangle(u: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Equilateral triangle with circumradius 1, apex up: three half-planes n_k . (u, w) <= 1/2,
    with outward normals n_k at angles 270, 30 and 150 degrees."""
    inside = torch.ones_like(u, dtype=torch.bool)
    for degrees in (270.0, 30.0, 150.0):
        angle = math.radians(degrees)
        inside &= u * math.cos(angle) + w * math.sin(angle) <= 0.5
    return inside


def _inside_heart(u: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Heart (a^2 + b^2 - 1)^3 - a^2 b^3 <= 0 with a = 1.25 u, b = 1.25 w + 0.25: lobes up,
    tip down, inside the unit disk."""
    a = _HEART_RADIUS * u
    b = _HEART_RADIUS * w + _HEART_SHIFT
    return (a**2 + b**2 - 1.0) ** 3 - a**2 * b**3 <= 0.0


_INSIDE_TESTS = (_inside_square, _inside_ellipse, _inside_triangle, _inside_heart)


def _sample_factors(n: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """Draw the factors of ``n`` images (see ``shapes`` for their ranges)."""
    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(n, generator=generator)

    return {
        "shape": torch.randint(len(SHAPE_NAMES), (n,), generator=generator),
        "scale": uniform(SCALE_LOW, SCALE_HIGH),
        "rotation": uniform(0.0, 2.0 * math.pi),
        "x": uniform(POSITION_LOW, POSITION_HIGH),
        "y": uniform(POSITION_LOW, POSITION_HIGH),
    }


def _coverage(factors: dict[str, torch.Tensor], size: int) -> torch.Tensor:
    """Fraction of each pixel's supersamples inside the shape: float32 ``(b, size, size)``."""
    k = SUPERSAMPLE
    grid = (torch.arange(size * k, dtype=torch.float32) + 0.5) / (size * k)  # sample centres
    dx = grid.view(1, 1, -1) - factors["x"].view(-1, 1, 1)  # (b, 1, size*k): to the right
    up = factors["y"].view(-1, 1, 1) - grid.view(1, -1, 1)  # (b, size*k, 1): upwards
    cos = torch.cos(factors["rotation"]).view(-1, 1, 1)
    sin = torch.sin(factors["rotation"]).view(-1, 1, 1)
    radius = (factors["scale"] * MAX_HALF_SIZE).view(-1, 1, 1)
    u = (cos * dx + sin * up) / radius
    w = (-sin * dx + cos * up) / radius
    inside = torch.zeros(u.shape, dtype=torch.bool)
    for index, test in enumerate(_INSIDE_TESTS):
        rows = factors["shape"] == index
        if rows.any():
            inside[rows] = test(u[rows], w[rows])
    b = inside.shape[0]
    return inside.view(b, size, k, size, k).float().mean(dim=(2, 4))


def _threshold(coverage: torch.Tensor) -> torch.Tensor:
    """Pixels with coverage >= 0.5 are on; an image that would be empty (a shape smaller
    than a pixel) gets its single most-covered pixel instead, so no image is blank."""
    images = (coverage >= 0.5).float()
    empty = images.flatten(1).sum(dim=1) == 0
    if empty.any():
        flat = images.flatten(1)
        best = coverage.flatten(1)[empty].argmax(dim=1)
        flat[empty.nonzero().squeeze(1), best] = 1.0
        images = flat.view_as(coverage)
    return images


def _check_factors(factors) -> int:
    """The number of images ``factors`` describe, after checking its keys, shapes and values."""
    keys = ("shape", "scale", "rotation", "x", "y")
    if not isinstance(factors, dict) or set(factors) != set(keys):
        got = sorted(factors) if isinstance(factors, dict) else type(factors).__name__
        raise ValueError(f"factors must be a dict with keys {keys} (what shapes returns), got {got}")
    n = check_tensor('factors["shape"]', factors["shape"], ndim=1, dtype="integer", low=0,
                     high=len(SHAPE_NAMES) - 1).shape[0]
    for key in keys[1:]:
        check_tensor(f"factors[{key!r}]", factors[key], shape=(n,), dtype="float")
    return n


def render_shapes(factors: dict[str, torch.Tensor], size: int) -> torch.Tensor:
    """Render the images of given ``factors`` (the dict ``shapes`` returns).

    Returns float32 ``(n, 1, size, size)`` in {0., 1.}. Works in chunks so memory stays
    bounded for large ``n`` or ``size``.
    """
    size = check_int("size", size, minimum=MIN_SIZE, maximum=MAX_SIZE)
    n = _check_factors(factors)
    chunk = max(1, 2**22 // (size * SUPERSAMPLE) ** 2)
    images = torch.empty(n, 1, size, size)
    for start in range(0, n, chunk):
        part = {key: value[start:start + chunk] for key, value in factors.items()}
        images[start:start + chunk, 0] = _threshold(_coverage(part, size))
    return images


def shapes(n: int, size: int = 16, seed: int = 0) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Return ``(images, factors)``: ``n`` random binary images of simple shapes.

    - ``images``: float32 ``(n, 1, size, size)``, values in {0., 1.} (1 = inside the shape).
    - ``factors``: dict of ``(n,)`` tensors, all drawn independently and uniformly:

      - ``"shape"``: int64 index into ``SHAPE_NAMES`` (square, ellipse, triangle, heart);
      - ``"scale"``: float32 in [0.5, 1.0]; the shape reaches at most ``0.2 * scale`` image
        widths from its centre, so its pixel area grows as ``scale**2``;
      - ``"rotation"``: float32 radians in [0, 2 pi), counter-clockwise on screen (upright
        at 0; the square repeats every pi/2, the ellipse every pi, the triangle every 2pi/3);
      - ``"x"``, ``"y"``: float32 centre in [0.25, 0.75], in [0, 1] image coordinates
        (x = column / size to the right, y = row / size downwards).

    ``n`` is an int in [1, 10**6], ``size`` an int in [8, 512]; ``seed`` an int >= 0. A local ``torch.Generator`` makes
    the result depend on ``seed`` only (the global random state is neither used nor changed).
    """
    n = check_int("n", n, minimum=1, maximum=MAX_IMAGES)
    size = check_int("size", size, minimum=MIN_SIZE, maximum=MAX_SIZE)
    generator = torch.Generator().manual_seed(check_seed(seed))
    factors = _sample_factors(n, generator)
    return render_shapes(factors, size), factors
