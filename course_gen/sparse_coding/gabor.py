"""Are the atoms localised, oriented edges? Gabor fits, orientation coherence, spatial concentration."""

from __future__ import annotations

import math

import numpy as np
import torch

from course_gen._checks import check_finite_number, check_int, check_positive_number, check_tensor
from course_gen.sparse_coding._inputs import _check_matrix


def _atom_image(atom) -> np.ndarray:
    """An atom as a finite float64 image ``(h, w)``, at least 2 x 2, from a tensor or an array
    ``(h, w)`` or a flattened square."""
    if isinstance(atom, torch.Tensor):
        values = check_tensor("atom", atom).detach().cpu().double().numpy()
    elif isinstance(atom, (np.ndarray, list, tuple)):
        try:
            values = np.asarray(atom, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise TypeError(f"atom must hold real numbers, got {np.asarray(atom).dtype}") from err
        if not np.isfinite(values).all():
            raise ValueError(f"atom contains NaN or inf ({int((~np.isfinite(values)).sum())} of {values.size} entries)")
    else:
        raise TypeError(f"atom must be a torch.Tensor or a NumPy array (an image), got {type(atom).__name__}")
    if values.ndim == 1:
        side = math.isqrt(values.size)
        if side * side != values.size:
            raise ValueError(f"a flat atom must have a square number of entries, got {values.size}")
        values = values.reshape(side, side)
    if values.ndim != 2 or min(values.shape) < 2:
        raise ValueError(f"an atom must be an image (h, w) of at least 2 x 2 pixels or a flattened square, "
                         f"got shape {values.shape}")
    return values


def orientation_coherence(atom) -> float:
    """How strongly an atom prefers one orientation, from its gradient structure tensor.

    With ``J = sum over pixels of [gx^2, gx gy; gx gy, gy^2]`` (central differences) and
    eigenvalues ``l1 >= l2``: ``(l1 - l2) / (l1 + l2)``, 1 for a straight edge or grating,
    0 for a pattern with no preferred orientation (noise, a blob, a checkerboard).
    """
    image = _atom_image(atom)
    gy, gx = np.gradient(image)
    jxx, jyy, jxy = (gx * gx).sum(), (gy * gy).sum(), (gx * gy).sum()
    trace = jxx + jyy
    if trace <= 0:
        return 0.0
    return float(math.sqrt((jxx - jyy) ** 2 + 4 * jxy**2) / trace)


def spatial_concentration(atom, window: int = 4) -> float:
    """The largest fraction of an atom's energy (sum of squares) inside one ``window x window``
    square: 1 when it all sits in one spot, ``window^2 / (h w)`` when it is spread evenly."""
    image = _atom_image(atom)
    energy = image**2
    total = energy.sum()
    if total <= 0:
        return 0.0
    padded = np.pad(np.cumsum(np.cumsum(energy, 0), 1), ((1, 0), (1, 0)))
    w = check_int("window", window, minimum=1, maximum=min(image.shape))
    boxes = padded[w:, w:] - padded[:-w, w:] - padded[w:, :-w] + padded[:-w, :-w]
    return float(boxes.max() / total)


def _gabor_terms(shape, amplitude, x0, y0, theta, frequency, phase, sigma_x, sigma_y):
    y, x = np.mgrid[0:shape[0], 0:shape[1]].astype(float)
    cos_t, sin_t = np.cos(theta), np.sin(theta)
    u = (x - x0) * cos_t + (y - y0) * sin_t
    v = -(x - x0) * sin_t + (y - y0) * cos_t
    envelope = np.exp(-(u**2) / (2 * sigma_x**2) - v**2 / (2 * sigma_y**2))
    carrier = 2 * np.pi * frequency * u + phase
    return u, v, cos_t, sin_t, envelope, np.cos(carrier), np.sin(carrier)


#: Parameter names of :func:`gabor` after the shape, in order (the fit returns them so).
GABOR_PARAMETERS = ("amplitude", "x0", "y0", "theta", "frequency", "phase", "sigma_x", "sigma_y")
#: The largest side of a :func:`gabor` grid.
MAX_SIDE = 4096


def gabor(shape: tuple[int, int], amplitude, x0, y0, theta, frequency, phase, sigma_x, sigma_y) -> np.ndarray:
    """A Gabor function on a pixel grid: a plane wave under a Gaussian envelope,

        g(x, y) = amplitude * exp(-u^2 / (2 sigma_x^2) - v^2 / (2 sigma_y^2)) * cos(2 pi frequency u + phase)

    with ``u = (x - x0) cos(theta) + (y - y0) sin(theta)`` (across the stripes) and
    ``v = -(x - x0) sin(theta) + (y - y0) cos(theta)`` (along them); ``x`` is the column.
    ``shape``: ``(h, w)``, sides in ``[1, MAX_SIDE]``; every parameter a finite number, the widths > 0.
    """
    if isinstance(shape, (str, bytes)) or not isinstance(shape, (tuple, list)) or len(shape) != 2:
        raise TypeError(f"shape must be a pair (h, w) of ints, got {shape!r}")
    shape = tuple(check_int(f"shape[{i}]", side, minimum=1, maximum=MAX_SIDE) for i, side in enumerate(shape))
    values = [check_finite_number(name, value) for name, value in
              zip(GABOR_PARAMETERS, (amplitude, x0, y0, theta, frequency, phase, sigma_x, sigma_y))]
    check_positive_number("sigma_x", sigma_x)
    check_positive_number("sigma_y", sigma_y)
    return _gabor(shape, *values)


def _gabor(shape, amplitude, *rest) -> np.ndarray:
    """:func:`gabor` without the checks (the fit calls it hundreds of times)."""
    _, _, _, _, envelope, cos_c, _ = _gabor_terms(shape, amplitude, *rest)
    return amplitude * envelope * cos_c


def _gabor_jacobian(shape, amplitude, x0, y0, theta, frequency, phase, sigma_x, sigma_y) -> np.ndarray:
    """d gabor / d parameters, ``(h * w, 8)`` in :data:`GABOR_PARAMETERS` order."""
    u, v, cos_t, sin_t, envelope, cos_c, sin_c = _gabor_terms(
        shape, amplitude, x0, y0, theta, frequency, phase, sigma_x, sigma_y
    )
    ae = amplitude * envelope
    d_u = ae * (-u / sigma_x**2 * cos_c - 2 * np.pi * frequency * sin_c)  # dg/du
    d_v = ae * cos_c * (-v / sigma_y**2)  # dg/dv
    columns = [
        envelope * cos_c,  # amplitude
        -cos_t * d_u + sin_t * d_v,  # x0
        -sin_t * d_u - cos_t * d_v,  # y0
        v * d_u - u * d_v,  # theta: du/dtheta = v, dv/dtheta = -u
        -ae * sin_c * 2 * np.pi * u,  # frequency
        -ae * sin_c,  # phase
        ae * cos_c * u**2 / sigma_x**3,  # sigma_x
        ae * cos_c * v**2 / sigma_y**3,  # sigma_y
    ]
    return np.stack([c.ravel() for c in columns], axis=1)


def _gabor_starts(image: np.ndarray) -> list[np.ndarray]:
    """Initial guesses: orientation and frequency from the peak of the zero-padded power
    spectrum, centre from the energy centroid, two phases (cosine and sine)."""
    h, w = image.shape
    size = 32
    spectrum = np.abs(np.fft.fft2(image, s=(size, size))) ** 2
    spectrum[0, 0] = 0
    ky, kx = np.unravel_index(np.argmax(spectrum), spectrum.shape)
    fy = (ky if ky < size // 2 else ky - size) / size
    fx = (kx if kx < size // 2 else kx - size) / size
    frequency, theta = float(np.hypot(fx, fy)), float(np.arctan2(fy, fx))
    energy = image**2
    y, x = np.mgrid[0:h, 0:w]
    x0, y0 = float((energy * x).sum() / energy.sum()), float((energy * y).sum() / energy.sum())
    amplitude = float(np.abs(image).max())
    return [
        np.array([amplitude, x0, y0, theta, frequency, phase, 2.0, 2.0])
        for phase in (0.0, np.pi / 2)
    ]


def gabor_fit(atom) -> tuple[dict[str, float], float]:
    """Least-squares fit of a :func:`gabor` to an atom (a square image or its flattening).

    Returns ``(parameters, r2)``: the fitted parameters by name and the fraction of the
    atom's variance the Gabor explains, ``r2 = 1 - ||atom - gabor||^2 / ||atom - mean||^2``.
    Edge-like atoms of a sparse code of natural images typically reach ``r2 > 0.8``;
    noise does not. Uses ``scipy.optimize.least_squares`` from two starting points.
    """
    from scipy.optimize import least_squares  # imported here: keeps `import course_gen.sparse_coding` light

    image = _atom_image(atom)
    h, w = image.shape
    total = float(((image - image.mean()) ** 2).sum())
    if total <= 0:
        return dict(zip(GABOR_PARAMETERS, [0.0] * len(GABOR_PARAMETERS))), 0.0
    lower = [-np.inf, -2.0, -2.0, -np.inf, 0.0, -np.inf, 0.5, 0.5]
    upper = [np.inf, w + 1.0, h + 1.0, np.inf, 0.5, np.inf, 2.0 * max(h, w), 2.0 * max(h, w)]

    def residual(p):
        return (_gabor(image.shape, *p) - image).ravel()

    best = None
    for start in _gabor_starts(image):
        start = np.clip(start, np.array(lower) + 1e-9, np.array(upper) - 1e-9)
        fit = least_squares(
            residual, start, jac=lambda p: _gabor_jacobian(image.shape, *p), bounds=(lower, upper), max_nfev=100
        )
        if best is None or fit.cost < best.cost:
            best = fit
    r2 = 1.0 - 2.0 * float(best.cost) / total
    return dict(zip(GABOR_PARAMETERS, (float(v) for v in best.x))), r2


#: An atom counts as Gabor-like (a localised, oriented edge or bar) when a Gabor explains
#: at least this fraction of its variance (see :func:`gabor_fit`) ...
GABOR_R2_THRESHOLD = 0.7
#: ... at a frequency below the Nyquist band, in cycles per pixel. The Nyquist frequency is 0.5: a
#: stripe one pixel wide, a checkerboard. From 0.45 up, a fitted "Gabor" is a pixel-scale alternation
#: (the fit's upper bound is 0.5), not an edge.
NYQUIST_BAND = 0.45


def gabor_like(stats: dict[str, np.ndarray]) -> np.ndarray:
    """Which atoms of :func:`atom_statistics` are Gabor-like: ``gabor_r2 >= GABOR_R2_THRESHOLD`` and
    ``frequency < NYQUIST_BAND`` (a boolean array)."""
    if not isinstance(stats, dict) or not {"gabor_r2", "frequency"} <= set(stats):
        raise TypeError("stats must be the dict of atom_statistics(D), with 'gabor_r2' and 'frequency'")
    r2, frequency = (np.asarray(stats[key]) for key in ("gabor_r2", "frequency"))
    for name, values in (("gabor_r2", r2), ("frequency", frequency)):
        if values.ndim != 1 or values.dtype.kind not in "fiu" or not np.isfinite(values).all():
            raise ValueError(f"stats[{name!r}] must be a 1-D array of finite numbers (one per atom), got {values!r}")
    if r2.shape != frequency.shape:
        raise ValueError(f"stats['gabor_r2'] and stats['frequency'] must have one value per atom each, "
                         f"got {r2.shape} and {frequency.shape}")
    return (r2 >= GABOR_R2_THRESHOLD) & (frequency < NYQUIST_BAND)


def atom_statistics(D: torch.Tensor) -> dict[str, np.ndarray]:
    """Per atom (rows of ``D``, square images flattened): ``"gabor_r2"`` (:func:`gabor_fit`),
    the fitted centre ``"x0"``, ``"y0"`` (column, row), ``"theta"`` (direction across the
    stripes, in [0, pi)), ``"frequency"`` (cycles per pixel) and envelope ``"sigma_x"``,
    ``"sigma_y"``, ``"coherence"`` (:func:`orientation_coherence`) and ``"concentration"``
    (:func:`spatial_concentration`), each an array of length ``k``."""
    D = _check_matrix("D", D, "(k, d): one flattened square atom per row")
    fits = [gabor_fit(atom) for atom in D]
    stats = {"gabor_r2": np.array([r2 for _, r2 in fits])}
    for name in ("x0", "y0", "theta", "frequency", "sigma_x", "sigma_y"):
        stats[name] = np.array([params[name] for params, _ in fits])
    stats["theta"] = np.mod(stats["theta"], np.pi)  # an orientation: theta and theta + pi are the same
    stats["coherence"] = np.array([orientation_coherence(atom) for atom in D])
    stats["concentration"] = np.array([spatial_concentration(atom) for atom in D])
    return stats
