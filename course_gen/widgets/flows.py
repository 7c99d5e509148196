"""Pictures and widgets for normalizing flows (notebook 04).

Direction convention (the notebook's): ``f`` maps data ``x`` to the latent ``z = f(x)``; sampling runs
the inverse ``g = f^-1``, ``x = g(z)``. Planar and radial maps are written in the sampling direction, as ``g``.

- :func:`draw_pushforward`: a standard normal pushed through one planar or radial map ``g`` with raw
  parameters: the deformed grid and the density ``p_X(x) = p_Z(z) / |det dg/dz|`` drawn on it, with a
  warning in the figure when the invertibility condition fails (the map folds);
- :func:`flow_playground`: the same with sliders for ``u``, ``w``, ``b`` (planar) or ``alpha``,
  ``beta`` (radial) and a play button that takes the map to the identity and back; drawn once and redrawn in
  place (:class:`FlowPlayground`, ``live_view``);
- :func:`draw_grid_deformation`: RealNVP's figure 1 for a trained 2-D :class:`~course_gen.flows.Flow`:
  data and ``f(x)``, latent samples and ``f^-1(z)``, with grid lines carried both ways;
- :func:`draw_histogram_vs_density`: samples of a 2-D flow binned next to its change-of-variables density,
  on the same axes and colour scale (from :func:`course_gen.flows.histogram_vs_density`);
- :func:`draw_dequantization_noise`: the noise ``u`` a learned dequantiser draws for binary digits, against
  uniform noise;
- :func:`draw_coupling_masks` and :func:`coupling_mask_viewer`: which entries each coupling layer keeps and
  transforms, with and without alternating the mask, and how often each entry is transformed (the
  viewer's panels built once and redrawn in place, :class:`CouplingMaskViewer`).
"""

from __future__ import annotations

import math
import textwrap

import ipywidgets as w
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.collections import LineCollection
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.gridspec import GridSpec
from matplotlib.transforms import offset_copy

from course_gen._checks import check_bool, check_choice, check_finite_number, check_int, check_positive_number, check_seed
from course_gen.flows import Flow, coupling_mask, planar_map, radial_map
from course_gen.runtime import model_device
from course_gen.widgets._figure_view import FigureBox, FreshTicks, KeptLiveFigure, TextStamps, live_view

__all__ = ["coupling_mask_viewer", "CouplingMaskViewer", "draw_coupling_masks", "draw_dequantization_noise",
           "draw_grid_deformation", "draw_histogram_vs_density", "draw_pushforward", "flow_playground",
           "FlowPlayground", "invertibility_warning", "KINDS", "play_strength"]

#: The maps :func:`draw_pushforward` knows.
KINDS = ("planar", "radial")
#: Density colours in 12 steps: level sets read like contours, and the PNG stays small.
_DENSITY_COLOURS = plt.get_cmap("viridis", 12)
#: White grid lines carried through a map.
_GRID_STYLE = {"colors": "white", "linewidths": 0.5, "alpha": 0.6}
#: Dots per inch of the widgets' pictures: shown at their own size (1 px : 1 px).
DPI = 80
#: Play frames from the chosen map to the identity (as many back).
PLAY_FRAMES = 20
#: Dots per inch of the coupling-mask viewer (fewer where its picture would pass COUPLING_MAX_WIDTH_PX).
COUPLING_DPI = 80
#: The widest the coupling viewer's picture gets (its dots per inch shrink for 5 and 6 layers).
COUPLING_MAX_WIDTH_PX = 900
#: Coupling masks: grey = transformed (0), blue = kept (1).
_MASK_COLOURS = ListedColormap(["#f2f2f2", "#1f5fa8"])
#: The mask kinds :func:`draw_coupling_masks` shows, with the shape each is drawn on.
_MASK_KINDS = (("half", 8), ("alternating", 8), ("checkerboard", (1, 6, 6)), ("channel", (4, 2, 2)))


def invertibility_warning(kind: str, params: dict) -> str | None:
    """A sentence when the raw parameters break invertibility, else None.

    Planar (tanh): invertible iff ``w^T u >= -1``; radial: iff ``beta >= -alpha`` (and ``alpha > 0``).
    """
    params = _check_params(kind, params)
    if kind == "planar":
        wu = float(np.dot(params["w"], params["u"]))
        if wu < -1:
            return f"not invertible: w·u = {wu:.2f} < -1, the map folds the plane"
        return None
    if params["alpha"] <= 0:
        return f"not a radial flow: alpha = {params['alpha']:.2f} must be > 0"
    if params["beta"] < -params["alpha"]:
        return f"not invertible: beta = {params['beta']:.2f} < -alpha = {-params['alpha']:.2f}"
    return None


def _apply(kind: str, params: dict, z: torch.Tensor):
    if kind == "planar":
        u = torch.tensor(params["u"], dtype=z.dtype)
        w_vec = torch.tensor(params["w"], dtype=z.dtype)
        return planar_map(z, u, w_vec, float(params["b"]))
    z0 = torch.tensor(params.get("z0", (0.0, 0.0)), dtype=z.dtype)
    return radial_map(z, z0, float(params["alpha"]), float(params["beta"]))


def _check_params(kind: str, params: dict) -> dict:
    check_choice("kind", kind, KINDS)
    if not isinstance(params, dict):
        raise TypeError(f"params must be a dict, got {type(params).__name__}")
    needed = ("u", "w", "b") if kind == "planar" else ("alpha", "beta")
    missing = [key for key in needed if key not in params]
    if missing:
        raise ValueError(f"{kind} params need keys {needed}, missing {missing}")
    for key in needed:
        if key in ("u", "w"):
            _check_pair(f"params[{key!r}]", params[key])
        else:
            check_finite_number(f"params[{key!r}]", params[key])
    if "z0" in params:
        _check_pair("params['z0']", params["z0"])
    return params


def _check_pair(name: str, value) -> tuple[float, float]:
    """Two finite numbers (a tuple, list or array of two)."""
    if isinstance(value, (str, bytes)) or np.shape(value) != (2,):
        raise ValueError(f"{name} must be a pair of numbers, got {value!r}")
    return tuple(check_finite_number(name, float(v) if isinstance(v, np.floating) else v) for v in value)


def _check_window(name: str, limits, n_pairs: int = 1) -> tuple[float, ...]:
    """``(low, high)`` (or ``n_pairs`` such pairs in a row) of finite numbers with ``high > low``."""
    if isinstance(limits, (str, bytes)) or np.shape(limits) != (2 * n_pairs,):
        raise ValueError(f"{name} must be {n_pairs * 2} numbers (low, high{', low, high' * (n_pairs - 1)}), got {limits!r}")
    values = tuple(check_finite_number(name, v) for v in limits)
    if any(values[2 * i + 1] <= values[2 * i] for i in range(n_pairs)):
        raise ValueError(f"{name} must give each high above its low, got {tuple(limits)!r}")
    return values


def _default_params(kind: str) -> dict:
    return {"u": (1.5, 0.0), "w": (2.0, 0.0), "b": 0.0} if kind == "planar" else {"alpha": 0.5, "beta": 1.0}


def _grid_segments(gx: np.ndarray, gy: np.ndarray, step: int) -> list[np.ndarray]:
    """Every ``step``-th row and column of the (n + 1, n + 1) grid ``(gx, gy)`` as polylines."""
    rows = [np.column_stack([gx[i, :], gy[i, :]]) for i in range(0, len(gx), step)]
    return rows + [np.column_stack([gx[:, i], gy[:, i]]) for i in range(0, len(gx), step)]


class _Pushforward:
    """The two panels of :func:`draw_pushforward` on the axes ``left`` and ``right``: built once, the static
    base density on the left, and redrawn in place by :meth:`show` for any map (the right panel, the
    hyperplane of a planar map on the left, the titles)."""

    def __init__(self, fig, left, right, limit: float, n: int):
        self.fig, self.left, self.right, self.limit, self.n = fig, left, right, limit, n
        corners = torch.linspace(-limit, limit, n + 1, dtype=torch.float64)  # cell edges
        centres = (corners[1:] + corners[:-1]) / 2
        zx, zy = torch.meshgrid(corners, corners, indexing="xy")
        self.z_corners = torch.stack([zx.flatten(), zy.flatten()], dim=1)
        cx, cy = torch.meshgrid(centres, centres, indexing="xy")
        self.z_centres = torch.stack([cx.flatten(), cy.flatten()], dim=1)
        self.base_density = torch.exp(-0.5 * (self.z_centres**2).sum(1)) / (2 * math.pi)
        self.vmax = float(self.base_density.max())
        self.style = {"cmap": _DENSITY_COLOURS, "shading": "flat", "antialiased": False, "vmin": 0, "vmax": self.vmax}
        self.step = max(1, n // 8)
        left.pcolormesh(zx.numpy(), zy.numpy(), self.base_density.reshape(n, n).numpy(), **self.style)
        left.add_collection(LineCollection(_grid_segments(zx.numpy(), zy.numpy(), self.step), **_GRID_STYLE))
        (self.line,) = left.plot([], [], "--", color="orange", linewidth=1.5, label="w·z + b = 0")
        self.legend = left.legend(loc="lower left", fontsize=9)
        self.mesh, self.grid = None, None
        for ax in (left, right):
            ax.set_xlim(-limit, limit)
            ax.set_ylim(-limit, limit)
            ax.set_aspect("equal")
        left.set_title("base N(0, I) in z", fontsize=13)
        self.title = right.set_title("", fontsize=13)
        self.suptitle = fig.suptitle("", fontsize=13)

    def pushed(self, kind: str, params: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The deformed grid corners ``x = g(z)`` (two (n + 1, n + 1) arrays) and the density of each cell,
        ``p_X(x) = p_Z(z) / |det dg/dz|`` at its centre (n, n)."""
        n = self.n
        y, _ = _apply(kind, params, self.z_corners)
        _, log_det = _apply(kind, params, self.z_centres)
        density = (self.base_density / torch.exp(log_det)).reshape(n, n).numpy()
        return y[:, 0].reshape(n + 1, n + 1).numpy(), y[:, 1].reshape(n + 1, n + 1).numpy(), density

    def show(self, kind: str, params: dict) -> None:
        """Draw the map ``kind`` with raw ``params`` (checked): the right panel, the hyperplane, the titles."""
        params = _check_params(kind, params)
        y1, y2, density = self.pushed(kind, params)
        if self.mesh is not None:
            self.mesh.remove()
        self.mesh = self.right.pcolormesh(y1, y2, np.clip(density, 0, 3 * self.vmax), **self.style)
        if self.grid is None:  # after the first mesh: the mesh stays the right panel's first collection
            self.grid = self.right.add_collection(LineCollection([], **_GRID_STYLE))
        self.grid.set_segments(_grid_segments(y1, y2, self.step))
        self.line.set_data(*self._hyperplane(kind, params))
        self.legend.set_visible(kind == "planar" and len(self.line.get_xdata()) > 0)
        self.title.set_text(f"x = g(z), {kind} map")
        warning = invertibility_warning(kind, params)
        if warning:
            self.suptitle.set_text("⚠ " + warning)
            self.suptitle.set_color("red")
        else:
            condition = f"w·u = {np.dot(params['w'], params['u']):.2f} >= -1" if kind == "planar" else \
                f"beta = {params['beta']:.2f} >= -alpha = {-params['alpha']:.2f}"
            self.suptitle.set_text(f"invertible: {condition}")
            self.suptitle.set_color("green")

    def _hyperplane(self, kind: str, params: dict) -> tuple[np.ndarray, np.ndarray]:
        """The line ``w^T z + b = 0`` where a planar map's tanh changes fastest (empty otherwise)."""
        if kind != "planar":
            return np.empty(0), np.empty(0)
        w_vec, b = np.asarray(params["w"], dtype=float), float(params["b"])
        if np.linalg.norm(w_vec) <= 1e-9:
            return np.empty(0), np.empty(0)
        point = -b * w_vec / (w_vec @ w_vec)
        direction = np.array([-w_vec[1], w_vec[0]]) / np.linalg.norm(w_vec)
        line = point[:, None] + direction[:, None] * np.array([-3 * self.limit, 3 * self.limit])
        return line[0], line[1]


def draw_pushforward(kind: str = "planar", params: dict | None = None, limit: float = 3.5, n: int = 161):
    """Left: ``N(0, I)`` in ``z`` with grid lines; right: the same pushed through the raw ``kind`` map ``x = g(z)``.

    The right panel colours each deformed grid cell with ``p_X(x) = p_Z(z) / |det dg/dz|`` (the change
    of variables), so a region that gets stretched turns darker and one that gets squeezed brighter.
    ``params``: ``{"u": (u1, u2), "w": (w1, w2), "b": b}`` or ``{"alpha": a, "beta": b[, "z0": (x, y)]}``.
    A planar map's hyperplane ``w·z + b = 0`` is dashed on the left. When the map is not invertible
    the title says so in red and the density is meaningless where the plane folds over itself.
    """
    params = _check_params(kind, params if params is not None else _default_params(kind))
    n = check_int("n", n, minimum=11, maximum=1001)
    limit = check_positive_number("limit", limit)
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3.9))
    _Pushforward(fig, left, right, limit, n).show(kind, params)
    fig.tight_layout()
    return fig


class FlowPlayground:
    """The state of :func:`flow_playground`: :func:`draw_pushforward`'s picture built once, redrawn in place.

    ``FlowPlayground(n=101, limit=3.5)``: the grid has ``n`` cells a side. :meth:`show` draws a map with its
    raw parameters scaled by ``strength`` in [0, 1] (``u`` of a planar map, ``beta`` of a radial one; 0 is the
    identity); :meth:`png` renders the picture at its own size (``DPI``).
    """

    def __init__(self, n: int = 101, limit: float = 3.5):
        n = check_int("n", n, minimum=11, maximum=1001)
        fig = Figure(figsize=(10, 4.6), dpi=DPI)
        left, right = fig.add_axes((0.04, 0.05, 0.43, 0.8)), fig.add_axes((0.54, 0.05, 0.43, 0.8))
        self.pictures = _Pushforward(fig, left, right, check_positive_number("limit", limit), n)
        self.kind, self.params, self.strength = "planar", _default_params("planar"), 1.0
        self.pictures.show(self.kind, self.params)
        # what moves with a parameter is redrawn over the rest (axes, ticks, base density), kept as a background
        pictures = self.pictures
        self.figure = fig
        self.live = KeptLiveFigure(fig, [pictures.mesh, pictures.grid, pictures.line, pictures.suptitle],
                                   background_key=lambda: (self.kind, pictures.legend.get_visible()))

    def show(self, kind: str, params: dict, strength: float = 1.0) -> None:
        """Draw the ``kind`` map with ``params`` (as in :func:`draw_pushforward`) at ``strength``."""
        strength = check_finite_number("strength", strength)
        if not 0 <= strength <= 1:
            raise ValueError(f"strength must be in [0, 1], got {strength!r}")
        chosen = _check_params(kind, params)
        shown = dict(chosen)
        if kind == "planar":
            shown["u"] = tuple(strength * v for v in chosen["u"])
        else:
            shown["beta"] = strength * chosen["beta"]
        self.pictures.show(kind, shown)
        self.pictures.mesh.set_animated(True)  # a new mesh: it replaces the old one among the moving artists
        self.live.moving[0] = self.pictures.mesh  # (the right title and the legend: background, kept per kind)
        self.kind, self.params, self.strength = kind, chosen, strength

    def png(self) -> bytes:
        """The current picture, PNG bytes."""
        return self.live.png()


def play_strength(frame: int, frames: int = PLAY_FRAMES) -> float:
    """The strength at play frame ``frame`` of ``0..2 frames``: from the chosen map (1) down to the identity
    (0, at ``frames``) and back up (1), in steps of ``1 / frames``."""
    frames = check_int("frames", frames, minimum=1, maximum=10_000)
    frame = check_int("frame", frame, minimum=0, maximum=2 * frames)
    return abs(frames - frame) / frames


def flow_playground(kind: str = "planar", interval_ms: int = 100) -> FigureBox:
    """Sliders for a planar map (``u1, u2, w1, w2, b``) or a radial one (``alpha, beta``) above
    :func:`draw_pushforward`'s picture, redrawn in place on every change (see :class:`FlowPlayground`).

    ``strength`` (0 to 1, default 1) scales ``u`` (planar) or ``beta`` (radial): 0 is the identity map.
    ``play`` animates it, one frame every ``interval_ms``: the chosen map unwinds to the identity and
    deforms the plane again, ending on the chosen map (:func:`play_strength`); ticks queued while the
    kernel was busy are dropped. Attributes: ``kind``, ``u1``, ``u2``, ``w1``, ``w2``, ``b``, ``alpha``,
    ``beta``, ``strength`` (controls), ``play``, ``playground`` (the state) and ``image``.
    """
    check_choice("kind", kind, KINDS)
    interval_ms = check_int("interval_ms", interval_ms, minimum=20, maximum=10_000)

    def slider(name, value, low, high, step=0.1):
        return w.FloatSlider(value=value, min=low, max=high, step=step, description=name, continuous_update=False)

    controls = {
        "kind": w.ToggleButtons(options=KINDS, value=kind, description="map"),
        "u1": slider("u1", 1.5, -3, 3), "u2": slider("u2", 0.0, -3, 3),
        "w1": slider("w1", 2.0, -3, 3), "w2": slider("w2", 0.0, -3, 3), "b": slider("b", 0.0, -2, 2),
        "alpha": slider("alpha", 0.5, 0.1, 3), "beta": slider("beta", 1.0, -3, 3),
        "strength": slider("strength", 1.0, 0, 1, step=1 / PLAY_FRAMES),
    }
    c = controls
    play = w.Play(value=0, min=0, max=2 * PLAY_FRAMES, step=1, interval=interval_ms, description="play")
    playground = FlowPlayground()

    def update() -> None:
        if c["kind"].value == "planar":
            params = {"u": (c["u1"].value, c["u2"].value), "w": (c["w1"].value, c["w2"].value), "b": c["b"].value}
        else:
            params = {"alpha": c["alpha"].value, "beta": c["beta"].value}
        playground.show(c["kind"].value, params, c["strength"].value)

    def tick() -> None:
        c["strength"].value = play_strength(play.value)

    play.observe(FreshTicks(tick), names="value")
    rows = [[c["kind"]], [c["u1"], c["u2"], c["b"]], [c["w1"], c["w2"]], [c["alpha"], c["beta"]], [play, c["strength"]]]
    box = live_view(playground.live, controls, update, others={"play": play}, rows=rows)
    box.playground = playground
    return box


def _grid_lines(limits, n_lines: int, n_points: int = 120) -> list[torch.Tensor]:
    low, high = limits
    ticks = torch.linspace(low, high, n_lines)
    path = torch.linspace(low, high, n_points)
    lines = [torch.stack([torch.full_like(path, t), path], 1) for t in ticks]
    return lines + [torch.stack([path, torch.full_like(path, t)], 1) for t in ticks]


@torch.no_grad()
def draw_grid_deformation(flow: Flow, x: torch.Tensor, n_samples: int = 800, seed: int = 0,
                          x_limits=(-3, 3), z_limits=(-3, 3), n_lines: int = 9):
    """RealNVP's figure 1 for a 2-D flow ``f`` (data to latent): four panels.

    Top: data samples ``x`` with a grid, and ``z = f(x)`` with that grid carried along (inference).
    Bottom: latent samples ``z ~ N(0, I)`` with a grid, and ``x = g(z) = f^-1(z)`` with that grid (generation).
    """
    if not isinstance(flow, Flow):
        raise TypeError(f"flow must be a course_gen.flows.Flow, got {type(flow).__name__}")
    if flow.event_shape != (2,):
        raise ValueError(f"draw_grid_deformation needs a flow on 2-D points, got event shape {flow.event_shape}")
    if not isinstance(x, torch.Tensor) or x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"x must be a tensor (N, 2), got {getattr(x, 'shape', type(x).__name__)}")
    n_samples = check_int("n_samples", n_samples, minimum=1, maximum=100_000)
    seed = check_seed(seed)
    x_limits, z_limits = _check_window("x_limits", x_limits), _check_window("z_limits", z_limits)
    n_lines = check_int("n_lines", n_lines, minimum=2, maximum=50)
    device = model_device(flow)
    x = x[:n_samples].to(device)  # the flow casts it to its own dtype
    z = flow(x)[0]
    z_samples = flow.base.sample(min(n_samples, len(x)), torch.Generator().manual_seed(seed)).to(device)
    x_generated = flow.inverse(z_samples)[0]
    fig, axes = plt.subplots(2, 2, figsize=(6, 6))
    panels = [
        (axes[0, 0], x, _grid_lines(x_limits, n_lines), None, "data x ~ p_X", x_limits),
        (axes[0, 1], z, _grid_lines(x_limits, n_lines), lambda p: flow(p)[0], "inference z = f(x)", z_limits),
        (axes[1, 1], z_samples, _grid_lines(z_limits, n_lines), None, "latent z ~ N(0, I)", z_limits),
        (axes[1, 0], x_generated, _grid_lines(z_limits, n_lines), lambda p: flow.inverse(p)[0],
         "generation x = g(z) = f⁻¹(z)", x_limits),
    ]
    colours = plt.cm.coolwarm(np.linspace(0, 1, n_lines))
    for ax, points, lines, mapping, title, limits in panels:
        for index, line in enumerate(lines):
            line = line.to(device)
            drawn = (mapping(line) if mapping is not None else line).cpu().numpy()
            ax.plot(drawn[:, 0], drawn[:, 1], color=colours[index % n_lines], linewidth=0.8, alpha=0.7)
        points = points.cpu().numpy()
        ax.scatter(points[:, 0], points[:, 1], s=2, color="black", linewidths=0)
        ax.set_xlim(*limits)
        ax.set_ylim(*limits)
        ax.set_aspect("equal")
        ax.set_title(title, fontsize=13)
    fig.tight_layout()
    return fig


def draw_histogram_vs_density(result: dict, limits=(-3.5, 3.5, -2.5, 2.5), wrong_sign: bool = True):
    """The 2-D histogram of a flow's samples next to its density from the change-of-variables formula.

    ``result`` comes from :func:`course_gen.flows.histogram_vs_density`. Same axes and the same colour
    scale (``vmax`` shared) in every panel; with ``wrong_sign`` a third panel shows the density one gets
    by subtracting the log-determinant instead of adding it. ``limits``: ``(x1 low, x1 high, x2 low, x2 high)``
    of the view. Titles carry the integral on the grid and the total variation to the histogram.
    """
    needed = ("edges", "histogram", "density", "wrong_sign_density", "integral", "wrong_sign_integral",
              "total_variation", "wrong_sign_total_variation")
    if not isinstance(result, dict) or any(key not in result for key in needed):
        raise ValueError(f"result must be the dict of course_gen.flows.histogram_vs_density with keys {needed}")
    limits = _check_window("limits", limits, n_pairs=2)
    check_bool("wrong_sign", wrong_sign)
    edges = result["edges"].numpy()
    panels = [(result["histogram"], "histogram of x = f⁻¹(z), z ~ N(0, I)"),
              (result["density"], "p_Z(f(x)) |det ∂f/∂x|\n"
               f"integral {result['integral']:.3f}, TV to histogram {result['total_variation']:.3f}")]
    if wrong_sign:
        panels.append((result["wrong_sign_density"], "wrong sign: p_Z(f(x)) / |det ∂f/∂x|\n"
                       f"integral {result['wrong_sign_integral']:.3f}, TV {result['wrong_sign_total_variation']:.3f}"))
    vmax = float(max(result["histogram"].max(), result["density"].max()))
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.4), squeeze=False)
    for ax, (values, title) in zip(axes[0], panels):
        mesh = ax.pcolormesh(edges, edges, values.numpy(), cmap="viridis", vmin=0, vmax=vmax, shading="flat")
        ax.set_xlim(limits[0], limits[1])
        ax.set_ylim(limits[2], limits[3])
        ax.set_aspect("equal")
        ax.set_xlabel("x₁")
        ax.set_title(title, fontsize=12)
    axes[0, 0].set_ylabel("x₂")
    fig.colorbar(mesh, ax=list(axes[0]), shrink=0.8, label="density (same scale in every panel)")
    return fig


@torch.no_grad()
def draw_dequantization_noise(model, x: torch.Tensor, seed: int = 0, n_show: int = 4):
    """What a learned dequantiser does to binary digits, against uniform noise.

    ``model``: a :class:`~course_gen.flows.DequantizedFlow` with a ``dequantizer`` and 2 levels; ``x``:
    binary images ``(N, 1, H, W)``. Rows of the left block, for ``n_show`` digits: the digit, uniform
    noise ``u ~ U[0, 1)`` and the dequantised image ``y = (k + u) / 2`` it gives, learned noise
    ``u ~ q(u | x)`` and its ``y``. Right: histograms of ``u`` over all of ``x``'s background (``k = 0``) and stroke
    (``k = 1``) pixels, learned and uniform.
    """
    from course_gen.flows import DequantizedFlow

    if not isinstance(model, DequantizedFlow) or model.dequantizer is None:
        raise TypeError(f"model must be a DequantizedFlow with a learned dequantizer, got {type(model).__name__}")
    if model.n_levels != 2:
        raise ValueError(f"draw_dequantization_noise is for binary images (2 levels), the model has {model.n_levels}")
    n_show = check_int("n_show", n_show, minimum=1, maximum=16)
    seed = check_seed(seed)
    if not isinstance(x, torch.Tensor) or x.ndim != 4 or x.shape[0] < n_show:
        raise ValueError(f"x must be binary images (N >= {n_show}, 1, H, W), got {getattr(x, 'shape', type(x).__name__)}")
    device = model_device(model)
    generator = torch.Generator().manual_seed(seed)
    u_learned, _ = model.dequantizer.sample(x.to(device), generator)
    u_learned = u_learned.cpu()
    u_uniform = torch.rand(x.shape, generator=torch.Generator().manual_seed(seed))
    x = x.cpu()
    rows = [(x, "digit x"), (u_uniform, "uniform u"), ((x + u_uniform) / 2, "y, uniform u"),
            (u_learned, "learned u"), ((x + u_learned) / 2, "y, learned u")]
    fig = plt.figure(figsize=(13.5, 7.2))
    grid = fig.add_gridspec(len(rows), n_show + 2, width_ratios=[1] * n_show + [0.3, 2.6])
    for r, (images, label) in enumerate(rows):
        for c in range(n_show):
            ax = fig.add_subplot(grid[r, c])
            ax.imshow(images[c, 0].numpy(), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(label, fontsize=12)
    hist_ax = fig.add_subplot(grid[:, -1])
    bins = np.linspace(0, 1, 41)
    top = 1.0
    for level, colour, name in ((0, "C0", "background (k = 0)"), (1, "C3", "stroke (k = 1)")):
        values = u_learned[x == level].numpy()
        heights, _, _ = hist_ax.hist(values, bins=bins, density=True, color=colour, alpha=0.55, label=f"learned, {name}")
        top = max(top, float(np.max(heights, initial=0.0)))
    hist_ax.axhline(1.0, color="black", ls="--", label="uniform noise")
    hist_ax.set_ylim(0, 1.3 * top)  # room for the legend above the bars
    hist_ax.set_xlabel("u (position inside the pixel's cell)")
    hist_ax.set_ylabel("density")
    hist_ax.set_title("learned noise vs uniform", fontsize=13)
    hist_ax.legend(fontsize=11, loc="upper right")
    return fig


def _mask_picture(mask: torch.Tensor) -> np.ndarray:
    """A vector as one row; an image ``(C, H, W)`` with its channels side by side, ``(H, C W)``."""
    if mask.ndim == 1:
        return mask[None].numpy()
    return torch.cat(list(mask), dim=1).numpy()


def _bare_cells(ax, picture: np.ndarray, channels: int = 1) -> None:
    """White lines between the entries of ``picture`` (black between channels); no axis drawn."""
    rows, cols = picture.shape
    cells = [((x, -0.5), (x, rows - 0.5)) for x in np.arange(0.5, cols - 1)] + \
            [((-0.5, y), (cols - 0.5, y)) for y in np.arange(0.5, rows - 1)]
    ax.add_collection(LineCollection(cells, colors="white", linewidths=1))
    channel_edges = [((x, -0.5), (x, rows - 0.5)) for x in (b * cols / channels - 0.5 for b in range(1, channels))]
    ax.add_collection(LineCollection(channel_edges, colors="black", linewidths=1.5))
    ax.set_axis_off()


def _coupling_layout(n_layers: int, alternate: bool) -> tuple[float, float, dict, str]:
    """Figure width and height (inches), the grid's keyword arguments and the title for ``n_layers`` columns."""
    # Picture heights in units of a column's width / 8 (an 8-vector is 1), so that every panel fills its cell.
    heights = [1 if isinstance(shape, int) else shape[1] * 8 / (shape[0] * shape[2]) for _, shape in _MASK_KINDS]
    column, count_column, gap, row_gap = 1.5, 2.0, 0.2, 0.5  # inches
    left, right, bottom = 1.3, 0.1, 0.45
    width = left + right + n_layers * column + count_column + n_layers * gap
    title = textwrap.fill("coupling masks: blue = kept (conditions the rest), grey = transformed"
                          + ("" if alternate else "   (NOT\u00a0alternated)"), width=int(9.5 * width))
    top = 0.6 + 0.25 * (title.count("\n") + 1)
    height = top + bottom + column * sum(heights) / 8 + row_gap * (len(heights) - 1)
    grid = {"height_ratios": heights, "width_ratios": [column] * n_layers + [count_column],
            "left": left / width, "right": 1 - right / width, "top": 1 - top / height, "bottom": bottom / height,
            "wspace": gap * (n_layers + 1) / (n_layers * column + count_column),
            "hspace": row_gap * len(heights) / (column * sum(heights) / 8)}
    return width, height, grid, title


class _CouplingPanels:
    """:func:`draw_coupling_masks`' panels for up to ``max_layers`` layers: one row per mask kind, a column per
    layer and the counts' column; built once, laid out and redrawn by :meth:`show` for any number of layers."""

    def __init__(self, fig, max_layers: int):
        self.fig, self.max_layers = fig, max_layers
        self.masks, self.counts, self.numbers, self.never = [], [], [], []
        for row, (kind, shape) in enumerate(_MASK_KINDS):
            channels = 1 if isinstance(shape, int) else shape[0]
            picture = _mask_picture(coupling_mask(kind, shape))
            images = []
            for layer in range(max_layers):
                ax = fig.add_subplot()
                images.append(ax.imshow(picture, cmap=_MASK_COLOURS, vmin=0, vmax=1, interpolation="nearest"))
                _bare_cells(ax, picture, channels)
                if row == 0:
                    ax.set_title(f"layer {layer + 1}", fontsize=12, y=1.0)  # y given: no automatic placement
                if layer == 0:
                    ax.text(-0.04, 0.5, kind, fontsize=12, ha="right", va="center", transform=ax.transAxes)
            ax = fig.add_subplot()
            self.counts.append(ax.imshow(np.zeros(picture.shape), cmap="Oranges", vmin=0, vmax=1,
                                         interpolation="nearest"))
            _bare_cells(ax, picture, channels)
            self.numbers.append(TextStamps(ax))
            if row == 0:
                ax.set_title("times transformed", fontsize=12, y=1.0)
            below = offset_copy(ax.transAxes, fig, y=-3, units="points")
            self.never.append(ax.text(0.5, 0, "", fontsize=11, ha="center", va="top", transform=below))
            self.masks.append(images)
        self.title = fig.suptitle("", fontsize=13)

    def show(self, n_layers: int, alternate: bool) -> None:
        """Resize the figure to ``n_layers`` columns (:func:`draw_coupling_masks`' geometry) and draw them."""
        n_layers = check_int("n_layers", n_layers, minimum=1, maximum=self.max_layers)
        check_bool("alternate", alternate)
        width, height, grid_kw, title = _coupling_layout(n_layers, alternate)
        self.fig.set_size_inches(width, height)
        grid = GridSpec(len(_MASK_KINDS), n_layers + 1, figure=self.fig, **grid_kw)
        for row, (kind, shape) in enumerate(_MASK_KINDS):
            transformed = 0
            for layer, image in enumerate(self.masks[row]):
                image.axes.set_visible(layer < n_layers)
                if layer < n_layers:
                    mask = coupling_mask(kind, shape, flip=alternate and layer % 2 == 1)
                    transformed = transformed + (1 - mask)
                    image.set_data(_mask_picture(mask))
                    image.axes.set_position(grid[row, layer].get_position(self.fig))
            counts = _mask_picture(transformed.to(torch.int64))
            self.counts[row].set_data(counts)
            self.counts[row].set_clim(0, 1.6 * n_layers)
            self.counts[row].axes.set_position(grid[row, -1].get_position(self.fig))
            self.numbers[row].show([str(c) for c in counts.flat], [(j, i) for i, j in np.ndindex(counts.shape)], 12)
            never = int((counts == 0).sum())
            self.never[row].set_text(f"never changed: {never}")
            self.never[row].set_color("red" if never else "black")
        self.title.set_text(title)
        self.title.set_y(1 - 0.1 / height)


def draw_coupling_masks(n_layers: int = 4, alternate: bool = True):
    """The masks of ``n_layers`` successive coupling layers (blue: kept, copied; grey: transformed).

    One row per mask kind of :func:`course_gen.flows.coupling_mask`: ``"half"`` and ``"alternating"``
    on 8-vectors, ``"checkerboard"`` on a 6x6 image, ``"channel"`` on a 4-channel 2x2 image (its
    channels side by side). With ``alternate`` layer k uses ``flip = k odd``; without it every layer
    keeps the same entries, which then are never transformed. The last column writes in each entry how
    many of the layers transform it, and under it how many entries no layer changes.
    """
    n_layers = check_int("n_layers", n_layers, minimum=1, maximum=8)
    check_bool("alternate", alternate)
    fig = plt.figure()
    _CouplingPanels(fig, n_layers).show(n_layers, alternate)
    return fig


class CouplingMaskViewer:
    """The state of :func:`coupling_mask_viewer`: :func:`draw_coupling_masks`' panels for up to ``max_layers``
    layers, built once; :meth:`show` resizes the figure to the number of layers shown and updates the
    masks, counts and titles in place; :meth:`png` renders it at its own size (``COUPLING_DPI``), once per
    settings (the twelve pictures are kept)."""

    def __init__(self, max_layers: int = 6):
        self.max_layers = check_int("max_layers", max_layers, minimum=1, maximum=8)
        self.figure = Figure(dpi=COUPLING_DPI)
        self.panels = _CouplingPanels(self.figure, self.max_layers)
        self.settings = ()
        self.live = KeptLiveFigure(self.figure, key=lambda: self.settings, size=16)
        self.show(min(4, self.max_layers), True)

    def show(self, n_layers: int, alternate: bool) -> None:
        """``n_layers`` layers, the mask flipped between them if ``alternate``."""
        self.settings = (check_int("n_layers", n_layers, minimum=1, maximum=self.max_layers),
                         check_bool("alternate", alternate))
        if self.settings not in self.live:
            self.panels.show(n_layers, alternate)
            self.figure.set_dpi(min(COUPLING_DPI, COUPLING_MAX_WIDTH_PX / self.figure.get_figwidth()))

    def size_px(self) -> tuple[int, int]:
        """The picture's width and height in pixels (it changes with the number of layers)."""
        return self.live.size_px()

    def png(self) -> bytes:
        """The current picture, PNG bytes."""
        return self.live.png()


def coupling_mask_viewer(n_layers: int = 4, alternate: bool = True) -> FigureBox:
    """Masks of successive coupling layers for vectors and images, with or without alternation
    (:func:`draw_coupling_masks`, redrawn in place by a :class:`CouplingMaskViewer`).

    Controls, starting at the arguments' values: ``n_layers`` (how many coupling layers to show) and
    ``alternate`` (flip the mask between layers). Without alternation the same entries are copied by
    every layer and never transformed. Attributes: ``n_layers``, ``alternate``, ``viewer``, ``image``.
    """
    n_layers = w.IntSlider(value=check_int("n_layers", n_layers, minimum=1, maximum=6), min=1, max=6,
                           description="layers", continuous_update=False)
    alternate = w.Checkbox(value=check_bool("alternate", alternate), description="alternate the mask between layers")
    viewer = CouplingMaskViewer(6)

    def update() -> None:
        viewer.show(n_layers.value, alternate.value)

    box = live_view(viewer.live, {"n_layers": n_layers, "alternate": alternate}, update)

    def resize(_change=None) -> None:  # the picture is shown 1:1: its box follows the figure's size
        width, height = viewer.size_px()
        box.image.layout.width, box.image.layout.height = f"{width}px", f"{height}px"

    n_layers.observe(resize, names="value")
    box.viewer = viewer
    return box
