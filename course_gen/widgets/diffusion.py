"""Two widgets of notebook 08: the forward process of a digits diffusion model, and transport in 2-D.

- :func:`diffusion_viewer`: a slider over the step t of a :class:`~course_gen.diffusion.DDPM`. For a few
  digits it shows x_0, the noisy ``x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps`` (the noise ``eps`` drawn
  once, seeded, so moving the slider back and forth shows the same noise) and the network's guess
  ``x0_hat = (x_t - sqrt(1 - abar_t) eps_theta(x_t, t)) / sqrt(abar_t)``, with the signal-to-noise ratio
  ``SNR(t) = abar_t / (1 - abar_t)`` as text and as a marker on its curve (log scale).
- :func:`transport_playground`: a time slider over the path of samples that a 2-D model carries from
  noise (s = 0) to data (s = 1), with the model's velocity field ``v(x, s)`` on a grid at that time;
  an ODE / SDE toggle where the model has a stochastic sampler; step and play buttons.

Both keep their state in an object plain Python can drive (:class:`DiffusionViewer`,
:class:`TransportPlayground`; ``box.viewer`` / ``box.playground``). They are fast enough to drag: the
figure is drawn once, its static part kept as a background, and each change redraws only the artists
that move (``set_data``, ``set_offsets``, ``set_UVC``) over it at the size shown ("blitting"); what
does not change with a control is computed once (the noise, the SNR curve, the paths and the fields)
or cached (the network's x_0 guesses, one batch per visited t).
"""

from __future__ import annotations

import contextlib
import math

import ipywidgets as w
import numpy as np
import torch
from matplotlib.figure import Figure

from course_gen._checks import check_bool, check_int, check_positive_number, check_seed, check_tensor
from course_gen.diffusion.ddpm import DDPM, check_binary_images
from course_gen.diffusion.process import alpha_bars, q_sample
from course_gen.plotting import make_grid
from course_gen.runtime import evaluating, model_device
from course_gen.widgets._figure_view import BACKLOG_GAP_S, FigureBox, FreshTicks, LiveFigure, live_view

__all__ = ["BACKLOG_GAP_S", "DiffusionViewer", "TransportPlayground", "diffusion_viewer", "slider_steps", "transport_playground"]

#: Dots per inch of the rendered pictures: the widgets show them at their own size (1 px : 1 px).
DPI = 80
#: The most digits the viewer shows, samples and frames the playground takes, arrows per side of its grid.
MAX_IMAGES, MAX_POINTS, MAX_FRAMES, MAX_GRID = 12, 5000, 400, 40
MODES = ("ODE", "SDE")


# ============================================================================ drawing once, redrawing the moving part


def _bare(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])


# ============================================================================ the forward process of the digits


def slider_steps(T: int, count: int = 60) -> list[int]:
    """The steps a t-slider offers: about ``count`` values of 1..T, log-spaced at the start (1, 2, 3, 5, ...,
    where a few steps change a lot) merged with an even grid (every ``T // (count // 2)``-th step) after.
    Always holds 1 and T, sorted, no repeats."""
    T = check_int("T", T, minimum=2, maximum=100_000)
    count = check_int("count", count, minimum=2, maximum=1000)
    log_part = np.unique(np.round(np.geomspace(1, T, count // 2)).astype(int))
    even_part = np.arange(0, T + 1, max(1, T // max(1, count // 2)))[1:]
    return sorted({1, T, *log_part.tolist(), *even_part.tolist()})


def _check_steps(steps, T: int) -> list[int]:
    if isinstance(steps, torch.Tensor):
        steps = check_tensor("steps", steps, ndim=1, dtype="integer").tolist()
    if not isinstance(steps, (list, tuple)) or len(steps) < 2:
        raise ValueError(f"steps must be a list of at least 2 steps in 1..{T}, got {steps!r}")
    return sorted({check_int("steps[i]", t, minimum=1, maximum=T) for t in steps})


class DiffusionViewer:
    """The state of :func:`diffusion_viewer`: digits, their fixed noise, the network's cached guesses, a figure.

    ``DiffusionViewer(model, images, steps=None, seed=0)``: ``model`` a :class:`~course_gen.diffusion.DDPM`,
    ``images`` (B, 1, 28, 28) in [0, 1] (B <= 12) mapped to x_0 = 2 images - 1; ``steps`` the t the slider
    offers (default :func:`slider_steps`); ``seed`` draws the noise eps, once. :meth:`show` moves to a step
    and :meth:`png` renders; :meth:`noisy` and :meth:`predicted_x0` give the pictures' tensors.
    """

    def __init__(self, model: DDPM, images: torch.Tensor, steps=None, seed: int = 0):
        if not isinstance(model, DDPM):
            raise TypeError(f"model must be a course_gen.diffusion.DDPM, got {type(model).__name__}")
        images = check_binary_images("images", images)
        if not 1 <= len(images) <= MAX_IMAGES:
            raise ValueError(f"images must hold 1 to {MAX_IMAGES} digits, got {len(images)}")
        self.model = model
        self.steps = slider_steps(model.T) if steps is None else _check_steps(steps, model.T)
        generator = torch.Generator().manual_seed(check_seed(seed))
        self.x0 = 2 * images.detach().cpu().float() - 1
        self.noise = torch.randn(self.x0.shape, generator=generator)
        self.betas = model.betas.detach().cpu()
        self.abar = alpha_bars(self.betas)
        self._guesses: dict[int, torch.Tensor] = {}
        self.t = self.steps[len(self.steps) // 2]
        self._build_figure()
        self.show(self.t)

    # ------------------------------------------------------------------ numbers

    def _t_batch(self, t: int) -> torch.Tensor:
        return torch.full((len(self.x0),), check_int("t", t, minimum=1, maximum=self.model.T), dtype=torch.long)

    def noisy(self, t: int) -> torch.Tensor:
        """``x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps`` (B, 1, 28, 28), on the [-1, 1] scale of x_0."""
        return q_sample(self.x0, self._t_batch(t), self.betas, self.noise)

    def predicted_x0(self, t: int) -> torch.Tensor:
        """The network's guess ``model.predict_x0(x_t, t)`` (B, 1, 28, 28) in [-1, 1], computed once per t."""
        t_batch = self._t_batch(t)
        if t not in self._guesses:
            device = model_device(self.model)
            self._guesses[t] = self.model.predict_x0(self.noisy(t).to(device), t_batch.to(device)).cpu()
        return self._guesses[t]

    def snr(self, t: int) -> float:
        """``abar_t / (1 - abar_t)``."""
        abar = float(self.abar[check_int("t", t, minimum=1, maximum=self.model.T) - 1])
        return abar / (1 - abar)

    def readout(self, t: int) -> str:
        """The text under the pictures: t, sqrt(abar_t) (how much of x_0 is left) and the SNR."""
        abar = float(self.abar[check_int("t", t, minimum=1, maximum=self.model.T) - 1])
        return f"t = {t}:  sqrt(abar_t) = {math.sqrt(abar):.3f},  SNR = abar_t / (1 - abar_t) = {abar / (1 - abar):.3g}"

    # ------------------------------------------------------------------ picture

    def _mosaic(self, t: int) -> np.ndarray:
        """Three rows of digits: x_0, x_t and the guess, each mapped from [-1, 1] to [0, 1] (x_t clipped)."""
        rows = torch.cat([self.x0, self.noisy(t), self.predicted_x0(t)])
        return make_grid(((rows + 1) / 2).clamp(0, 1), nrow=len(self.x0), pad=2, pad_value=1.0)

    def _build_figure(self) -> None:
        count = len(self.x0)
        fig = Figure(figsize=(max(4.0, 0.62 * count) + 3.4, 3.3), dpi=DPI)
        grid = fig.add_gridspec(1, 2, width_ratios=[max(4.0, 0.62 * count), 2.9], left=0.1, right=0.98,
                                bottom=0.2, top=0.9, wspace=0.3)
        ax, curve = fig.add_subplot(grid[0]), fig.add_subplot(grid[1])
        self._image = ax.imshow(self._mosaic(self.t), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        _bare(ax)
        ax.set_yticks([13.5, 43.5, 73.5], ["x_0", "x_t", "guess\nof x_0"], fontsize=10)
        ax.set_title("the digits, noised to step t, and the network's guess", fontsize=10)
        steps = np.arange(1, self.model.T + 1)
        curve.semilogy(steps, (self.abar / (1 - self.abar)).numpy(), color="C0", linewidth=1.5)
        curve.axhline(1.0, color="0.6", linestyle=":", linewidth=1)
        curve.set_xlabel("t", fontsize=10)
        curve.set_title("SNR(t) = abar / (1 - abar)", fontsize=10)
        curve.tick_params(labelsize=8)
        (self._marker,) = curve.plot([self.t], [self.snr(self.t)], "o", color="C3", markersize=7)
        self._text = fig.text(0.02, 0.04, self.readout(self.t), fontsize=10, ha="left")
        self.figure = fig
        self.live = LiveFigure(fig, [self._image, self._marker, self._text])

    def show(self, t: int) -> None:
        """Move the pictures, the marker and the text to step ``t`` (any step in 1..T)."""
        self.t = check_int("t", t, minimum=1, maximum=self.model.T)
        self._image.set_data(self._mosaic(self.t))
        self._marker.set_data([self.t], [self.snr(self.t)])
        self._text.set_text(self.readout(self.t))

    def png(self) -> bytes:
        """The picture at the current step, PNG bytes."""
        return self.live.png()


def diffusion_viewer(model: DDPM, images: torch.Tensor, steps=None, seed: int = 0) -> FigureBox:
    """A widget: a slider over the steps t (:func:`slider_steps`, or ``steps``) above the digits x_0, their
    x_t and the network's guess of x_0, with the SNR as text and on its curve (see :class:`DiffusionViewer`).

    Attributes of the returned box: ``t`` (the slider), ``viewer`` (the state) and ``image`` (the picture).
    """
    viewer = DiffusionViewer(model, images, steps=steps, seed=seed)
    slider = w.SelectionSlider(options=viewer.steps, value=viewer.t, description="t",
                               layout=w.Layout(width="520px"))
    slider.observe(lambda change: viewer.show(change["new"]), names="value")
    box = live_view(viewer.live, {"t": slider}, rows=[[slider]])
    box.viewer = viewer
    return box


# ============================================================================ transport in 2-D


def _check_transport_model(model) -> None:
    for method in ("velocity", "transport"):
        if not callable(getattr(model, method, None)):
            raise TypeError(f"model must be a 2-D transport model with methods velocity(x, s) and "
                            f"transport(x_start, steps, stochastic, seed), got {type(model).__name__}")


def _evaluating(model):
    """Evaluation mode for the block if ``model`` is a torch module (restored after), else nothing."""
    return evaluating(model) if isinstance(model, torch.nn.Module) else contextlib.nullcontext()


def _supports_sde(model) -> bool:
    """Whether ``model.transport(..., stochastic=True)`` runs (a model without a stochastic sampler refuses
    it with ``ValueError``)."""
    try:
        with torch.no_grad(), _evaluating(model):
            model.transport(torch.zeros(1, 2), 1, stochastic=True, seed=0)
    except ValueError:
        return False
    return True


class TransportPlayground:
    """The state of :func:`transport_playground`: a model's paths from noise to data and its field over time.

    ``TransportPlayground(model, data=None, n=400, steps=40, seed=0, stochastic=False, grid=15, limit=None)``:
    ``n`` samples x_0 ~ N(0, I) (seeded) carried by ``model.transport(x_0, steps, stochastic, seed)`` through
    frames k = 0..steps at times ``s_k = k / steps``; the field ``model.velocity(grid, s_k)`` on ``grid`` x
    ``grid`` points of ``[-limit, limit]^2`` (default: the box holding the noise and ``data``, or without data
    the ODE path, up to their 99.5 % quantile); ``data`` (N, 2)
    drawn faintly for reference. Paths are computed once per (mode, seed), the fields once.
    :meth:`show`, :meth:`step`, :meth:`set_mode`, :meth:`set_seed` change the picture, :meth:`png` renders.
    """

    def __init__(self, model, data: torch.Tensor | None = None, n: int = 400, steps: int = 40, seed: int = 0,
                 stochastic: bool = False, grid: int = 15, limit: float | None = None):
        _check_transport_model(model)
        self.model = model
        self.n = check_int("n", n, minimum=1, maximum=MAX_POINTS)
        self.steps = check_int("steps", steps, minimum=1, maximum=MAX_FRAMES)
        self.seed = check_seed(seed)
        self.stochastic = check_bool("stochastic", stochastic)
        grid = check_int("grid", grid, minimum=2, maximum=MAX_GRID)
        self.data = None if data is None else check_tensor("data", data, ndim=2, shape=(None, 2), dtype="float",
                                                           what="(points (N, 2))").detach().cpu()
        self.supports_sde = _supports_sde(model)
        if self.stochastic and not self.supports_sde:
            raise ValueError(f"this {type(model).__name__} has no stochastic sampler: use stochastic=False")
        self._paths: dict[tuple[bool, int], np.ndarray] = {}
        self.limit = self._limit(limit)
        axis = torch.linspace(-self.limit, self.limit, grid)
        ys, xs = torch.meshgrid(axis, axis, indexing="ij")
        self.grid_points = torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=1)
        self.fields = np.stack([self._velocity(self.grid_points, s) for s in self.times])
        self.frame = 0
        self._build_figure(float(axis[1] - axis[0]))
        self.show(0)

    @property
    def times(self) -> list[float]:
        """The times of the frames, ``s_k = k / steps`` (0 = noise, 1 = data)."""
        return [k / self.steps for k in range(self.steps + 1)]

    # ------------------------------------------------------------------ numbers

    def _velocity(self, points: torch.Tensor, s: float) -> np.ndarray:
        with torch.no_grad(), _evaluating(self.model):
            v = self.model.velocity(points, s)
        v = check_tensor("model.velocity(x, s)", v, shape=tuple(points.shape), what="(velocities (N, 2))")
        return v.detach().cpu().numpy().astype(np.float64)

    def path(self, stochastic: bool | None = None, seed: int | None = None) -> np.ndarray:
        """The samples at every frame, ``(steps + 1, n, 2)``, for ``stochastic`` and ``seed`` (default: the
        current ones), from ``model.transport`` (computed once per pair)."""
        stochastic = self.stochastic if stochastic is None else check_bool("stochastic", stochastic)
        seed = self.seed if seed is None else check_seed(seed)
        if stochastic and not self.supports_sde:
            raise ValueError(f"this {type(self.model).__name__} has no stochastic sampler")
        if (stochastic, seed) not in self._paths:
            start = torch.randn(self.n, 2, generator=torch.Generator().manual_seed(seed))
            with torch.no_grad(), _evaluating(self.model):
                path = self.model.transport(start, self.steps, stochastic=stochastic, seed=seed)
            path = check_tensor("model.transport(...)", path, shape=(self.steps + 1, self.n, 2),
                                what="(the path (steps + 1, n, 2))")
            self._paths[stochastic, seed] = path.detach().cpu().numpy().astype(np.float64)
        return self._paths[stochastic, seed]

    def _limit(self, limit) -> float:
        if limit is not None:
            if not 0.5 <= check_positive_number("limit", limit) <= 100:
                raise ValueError(f"limit must be a number in [0.5, 100], got {limit!r}")
            return float(limit)
        # the noise at s = 0 and the data (or, without data, the whole ODE path): samples of a poorly
        # trained model that fly off stay out of view rather than shrinking everything else
        path = self.path(False)
        points = [np.abs(path[0]).reshape(-1),
                  np.abs(path).reshape(-1) if self.data is None else self.data.abs().reshape(-1).numpy()]
        return float(min(max(1.1 * np.quantile(np.concatenate(points), 0.995), 1.0), 100.0))

    # ------------------------------------------------------------------ picture

    def _build_figure(self, spacing: float) -> None:
        fig = Figure(figsize=(5.6, 5.6), dpi=DPI)
        ax = fig.add_axes((0.09, 0.08, 0.88, 0.84))
        if self.data is not None:
            ax.scatter(self.data[:, 0], self.data[:, 1], s=4, color="0.75", linewidths=0, label="data")
        # one scale for every frame (lengths comparable over time), robust to a blow-up at s = 0 or 1:
        # the median over frames of each frame's 90 % quantile of |v| is drawn 0.9 grid spacings long
        typical = float(np.median(np.quantile(np.linalg.norm(self.fields, axis=-1), 0.9, axis=1))) or 1.0
        grid = self.grid_points.numpy()
        self._quiver = ax.quiver(grid[:, 0], grid[:, 1], self.fields[0, :, 0], self.fields[0, :, 1], angles="xy",
                                 scale_units="xy", scale=typical / (0.9 * spacing), color="C0", alpha=0.6,
                                 width=0.004)
        self._points = ax.scatter(*self.path()[0].T, s=7, color="C3", linewidths=0, label="samples", zorder=3)
        ax.set_xlim(-self.limit - spacing, self.limit + spacing)
        ax.set_ylim(-self.limit - spacing, self.limit + spacing)
        ax.set_aspect("equal")
        ax.tick_params(labelsize=10)
        ax.legend(loc="lower left", fontsize=10, markerscale=2)
        self._title = ax.set_title("", fontsize=12)
        self.figure = fig
        self.live = LiveFigure(fig, [self._quiver, self._points, self._title])

    def show(self, frame: int) -> None:
        """Move to frame ``frame`` (0..steps): the samples at s = frame / steps and the field there."""
        self.frame = check_int("frame", frame, minimum=0, maximum=self.steps)
        field = self.fields[self.frame]
        self._quiver.set_UVC(field[:, 0], field[:, 1])
        self._points.set_offsets(self.path()[self.frame])
        mode = MODES[self.stochastic]
        self._title.set_text(f"s = {self.times[self.frame]:.2f} (0 = noise, 1 = data), {mode}, seed {self.seed}")

    def step(self) -> int:
        """The next frame (after the last: the first again); returns it."""
        self.show((self.frame + 1) % (self.steps + 1))
        return self.frame

    def set_mode(self, stochastic: bool) -> None:
        """ODE (``False``) or SDE (``True``) paths, same frame."""
        stochastic = check_bool("stochastic", stochastic)
        self.path(stochastic)  # refuses SDE before anything changes
        self.stochastic = stochastic
        self.show(self.frame)

    def set_seed(self, seed: int) -> None:
        """Fresh starting noise (and SDE noise) from ``seed``, same frame."""
        self.path(seed=check_seed(seed))
        self.seed = seed
        self.show(self.frame)

    def png(self) -> bytes:
        """The picture at the current frame, PNG bytes."""
        return self.live.png()


def transport_playground(model, data: torch.Tensor | None = None, n: int = 400, steps: int = 40, seed: int = 0,
                         grid: int = 15, interval_ms: int = 200) -> FigureBox:
    """A widget over a :class:`TransportPlayground`: a frame slider (time s from noise to data), an ODE / SDE
    toggle (SDE disabled where the model has no stochastic sampler), a seed, a step button and a play button
    that advances one frame per tick (every ``interval_ms``; ticks queued while busy are dropped).

    Attributes of the returned box: ``frame``, ``mode``, ``seed`` (controls), ``step_button``, ``play``,
    ``playground`` (the state) and ``image`` (the picture).
    """
    interval_ms = check_int("interval_ms", interval_ms, minimum=20, maximum=10_000)
    playground = TransportPlayground(model, data, n=n, steps=steps, seed=seed, grid=grid)
    frame = w.IntSlider(value=0, min=0, max=playground.steps, description="frame", layout=w.Layout(width="360px"))
    mode = w.ToggleButtons(options=MODES, value="ODE", disabled=not playground.supports_sde,
                           style={"button_width": "60px"},
                           tooltips=["deterministic: the probability-flow ODE", "stochastic: the reverse SDE"])
    seed_box = w.BoundedIntText(value=playground.seed, min=0, max=2**31 - 1, description="seed",
                                layout=w.Layout(width="150px"))
    step_button = w.Button(description="step", icon="step-forward", layout=w.Layout(width="90px"))
    play = w.Play(value=0, min=0, max=1_000_000, step=1, interval=interval_ms, description="play")

    frame.observe(lambda change: playground.show(change["new"]), names="value")
    mode.observe(lambda change: playground.set_mode(change["new"] == "SDE"), names="value")
    seed_box.observe(lambda change: playground.set_seed(change["new"]), names="value")

    def advance(_=None) -> None:
        frame.value = (frame.value + 1) % (playground.steps + 1)

    step_button.on_click(advance)
    play.observe(FreshTicks(advance), names="value")
    box = live_view(playground.live, {"frame": frame, "mode": mode, "seed": seed_box},
                    others={"step_button": step_button, "play": play},
                    rows=[[play, step_button, frame], [mode, seed_box]])
    box.playground = playground
    return box
