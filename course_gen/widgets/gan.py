"""A GAN-Lab-style playground: watch a small GAN learn a 2-D toy distribution.

One picture, redrawn in place after every few training steps (drawn once, its artists updated: the
heatmap's ``set_data``, the dots' ``set_offsets``, the arrows' ``set_UVC``, the curves' ``set_data``):

- left: the discriminator's ``D(x)`` as a heatmap (green = "real", purple = "fake"), the
  real samples (green dots), the generator's samples (purple dots) with arrows showing
  where the generator's loss pushes each of them (``-grad_x`` of its loss), and the
  generator's warped noise grid: the image under ``G`` of a regular grid of 2-D codes;
- right: the generator's and the discriminator's losses and the JSD estimate from ``D``
  (``(V + log 4) / 2``, see :func:`course_gen.gan.jsd_estimate`: an estimate from the
  current discriminator and batch, not the true divergence) against the step.

Controls: data set (``course_gen.data.TOY2D_NAMES``; changing it restarts), loss
(``course_gen.gan.LOSSES``), ``k`` discriminator steps per generator step, the two
learning rates, steps per click; buttons "step" (exactly ``steps per click`` steps) and "reset" and a
play button: each tick trains as many steps as fit in about a tenth of a second (at least one, at most
``steps per click``; see :data:`FRAME_SECONDS`) and redraws, so playing shows about five frames a second
on any machine.

The state lives in a :class:`GANPlayground` (``box.playground``): its ``trainer`` (a
:class:`course_gen.gan.GANTrainer`), :meth:`GANPlayground.step` and
:meth:`GANPlayground.reset`, so plain Python (a test) can step it and read the picture.
"""

from __future__ import annotations

import math
import time

import ipywidgets as w
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.collections import LineCollection
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from course_gen import gan
from course_gen._checks import check_choice, check_int, check_positive_number, check_seed
from course_gen.data import TOY2D_NAMES, toy2d
from course_gen.runtime import model_device
from course_gen.widgets._figure_view import BACKLOG_GAP_S, FigureBox, FreshTicks, LiveFigure, live_view

__all__ = ["GANPlayground", "draw_playground", "gan_playground"]

#: The square of the plane shown, ``[-LIMIT, LIMIT]^2`` (every toy2d set lies inside).
LIMIT = 4.5
#: Heatmap resolution, samples drawn, arrows drawn, codes per side of the warped grid.
HEATMAP_SIZE, SHOWN_SAMPLES, SHOWN_ARROWS, GRID_LINES = 70, 300, 60, 9
#: Points of each toy data set the GAN trains on.
TRAINING_POINTS = 4000
#: The figure's size in inches and the widget's dots per inch (shown 1:1: 882 x 386 pixels).
FIGSIZE, DPI = (10.5, 4.6), 84
#: The play button ticks every PLAY_INTERVAL_MS (5 frames a second). A tick (training and redraw) must end
#: BACKLOG_GAP_S before the next one arrives, or that one is dropped as queued (FreshTicks): it takes
#: FRAME_SECONDS, training for what the last redraw left of them, between MIN_PLAY_SECONDS and PLAY_SECONDS
#: (and always at least one step).
PLAY_INTERVAL_MS = 200
FRAME_SECONDS = PLAY_INTERVAL_MS / 1000 - BACKLOG_GAP_S - 0.01
PLAY_SECONDS, MIN_PLAY_SECONDS = 0.1, 0.02


class GANPlayground:
    """The playground's state: a 2-D data set, a small GAN and its :class:`~course_gen.gan.GANTrainer`.

    ``fixed_noise`` (seeded) is what the figure shows as fake samples, so the same points
    move from one picture to the next. :meth:`step` trains a number of steps, :meth:`train_for` as many
    as fit in a time, :meth:`reset` starts again with fresh networks (same seed: same start),
    :meth:`draw` returns a new (pyplot) figure; the widget's picture is :attr:`live`, built once and
    brought up to date by :meth:`refresh` (:meth:`png` does both and renders).
    """

    def __init__(
        self,
        dataset: str = "8gaussians",
        loss: str = "non-saturating",
        k: int = 1,
        lr_g: float = 1e-3,
        lr_d: float = 1e-3,
        hidden: int = 64,
        batch_size: int = 128,
        seed: int = 0,
        device="cpu",
    ):
        self.dataset = check_choice("dataset", dataset, TOY2D_NAMES)
        self.hidden = check_int("hidden", hidden, minimum=1)
        self.batch_size = check_int("batch_size", batch_size, minimum=1)
        self.seed = check_seed(seed)
        self.device = device
        self._settings = {"loss": loss, "k": k, "lr_g": lr_g, "lr_d": lr_d}
        self._picture = None
        self.reset()

    def reset(self, dataset: str | None = None) -> None:
        """Fresh networks (seeded) and an empty history; optionally a new data set."""
        if dataset is not None:
            self.dataset = check_choice("dataset", dataset, TOY2D_NAMES)
        self.real = toy2d(self.dataset, TRAINING_POINTS, seed=self.seed)
        generator, discriminator = gan.mlp_gan(latent_dim=2, hidden=self.hidden, seed=self.seed)
        s = self._settings
        self.trainer = gan.GANTrainer(
            generator, discriminator, self.real, loss=s["loss"], k=s["k"], batch_size=self.batch_size,
            lr_g=s["lr_g"], lr_d=s["lr_d"], betas=(0.5, 0.999), device=self.device, seed=self.seed,
        )
        self.fixed_noise = torch.randn(SHOWN_SAMPLES, 2, generator=torch.Generator().manual_seed(self.seed + 1))

    def configure(self, loss: str | None = None, k: int | None = None, lr_g: float | None = None,
                  lr_d: float | None = None) -> None:
        """Change the loss, ``k`` or the learning rates; training goes on from where it is."""
        if loss is not None:
            self.trainer.loss = loss
            self._settings["loss"] = loss
        if k is not None:
            self.trainer.k = k
            self._settings["k"] = k
        if lr_g is not None or lr_d is not None:
            self.trainer.set_learning_rates(lr_g, lr_d)
            self._settings.update({key: v for key, v in (("lr_g", lr_g), ("lr_d", lr_d)) if v is not None})

    def step(self, steps: int = 1) -> None:
        """``steps`` GAN iterations (each: k discriminator steps, one generator step)."""
        self.trainer.run(check_int("steps", steps, minimum=1, maximum=100_000))

    def train_for(self, seconds: float, max_steps: int) -> int:
        """As many GAN iterations as fit in ``seconds`` (at least 1, at most ``max_steps``); returns how many.

        After each step the mean time of the steps so far predicts the next one; training stops before a
        step that would end past the deadline, so the time adapts to the machine, ``k`` and the network.
        """
        seconds = check_positive_number("seconds", seconds)
        max_steps = check_int("max_steps", max_steps, minimum=1, maximum=100_000)
        start, before = time.perf_counter(), self.steps_done

        def out_of_time(_step, history) -> bool:
            elapsed = time.perf_counter() - start
            return elapsed + elapsed / (history.steps - before) > seconds

        self.trainer.run(max_steps, callback=out_of_time)
        return self.steps_done - before

    @property
    def steps_done(self) -> int:
        return self.trainer.history.steps

    @torch.no_grad()
    def fake_samples(self) -> torch.Tensor:
        """``G(fixed_noise)``: the generator's samples the figure shows, ``(300, 2)`` on the CPU."""
        generator = self.trainer.generator
        return generator(self.fixed_noise.to(model_device(generator))).cpu()

    def draw(self):
        """A new pyplot figure of the current state (:func:`draw_playground`)."""
        return draw_playground(self)

    @property
    def live(self) -> LiveFigure:
        """The widget's picture: a :class:`~course_gen.widgets._figure_view.LiveFigure` built on first use
        (``FIGSIZE`` at ``DPI``); :meth:`refresh` brings it up to date."""
        if self._picture is None:
            self._picture = _Picture(Figure(figsize=FIGSIZE, dpi=DPI))
            self._live = LiveFigure(self._picture.figure, self._picture.moving)
        return self._live

    def refresh(self) -> None:
        """Set the live picture's artists to the current state (heatmap, dots, arrows, grid, curves, title)."""
        live = self.live
        if self._picture.update(self):
            live.invalidate()

    def png(self) -> bytes:
        """The current state as the widget shows it, PNG bytes."""
        self.refresh()
        return self.live.png()


# ============================================================================ drawing


#: The heatmap's points: a HEATMAP_SIZE x HEATMAP_SIZE grid over the square shown, row by row from the bottom.
_AXIS = torch.linspace(-LIMIT, LIMIT, HEATMAP_SIZE)
_HEATMAP_POINTS = torch.stack([grid.reshape(-1) for grid in torch.meshgrid(_AXIS, _AXIS, indexing="ij")[::-1]], 1)
#: The warped grid's codes: for each c, the line z1 = c then the line z2 = c, 60 codes each, all in one batch.
_LINE_T = torch.linspace(-2.5, 2.5, 60)
_GRID_CODES = torch.cat([
    torch.stack(pair, 1)
    for c in torch.linspace(-2, 2, GRID_LINES)
    for pair in ((torch.full_like(_LINE_T, c), _LINE_T), (_LINE_T, torch.full_like(_LINE_T, c)))
])


def _heatmap(playground: GANPlayground) -> np.ndarray:
    """``D(x)`` on the heatmap's grid, ``(HEATMAP_SIZE, HEATMAP_SIZE)``, row 0 at the bottom."""
    d = gan.discriminator_probability(playground.trainer.discriminator, _HEATMAP_POINTS, playground.trainer.loss)
    return d.reshape(HEATMAP_SIZE, HEATMAP_SIZE).numpy()


def _push_directions(playground: GANPlayground, fakes: torch.Tensor) -> np.ndarray:
    """``-grad_x`` of the generator's loss at each fake sample: where ``G`` is pushed to move it."""
    trainer = playground.trainer
    discriminator = trainer.discriminator
    x = fakes.to(model_device(discriminator)).clone().requires_grad_(True)
    loss = gan.generator_loss(discriminator(x), trainer.loss) * len(x)  # per-sample gradients
    (grad,) = torch.autograd.grad(loss, x)
    return (-grad).cpu().numpy()


@torch.no_grad()
def _warped_grid(playground: GANPlayground) -> np.ndarray:
    """Images under ``G`` of the lines ``z1 = c`` and ``z2 = c`` of a grid over [-2, 2]^2: ``(2 GRID_LINES, 60, 2)``."""
    generator = playground.trainer.generator
    points = generator(_GRID_CODES.to(model_device(generator))).cpu().numpy()
    return points.reshape(2 * GRID_LINES, len(_LINE_T), 2)


def _moving_average(values, window: int = 25) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    cumulative = np.concatenate([[0.0], np.cumsum(values)])
    ends = np.arange(1, len(values) + 1)
    starts = np.maximum(0, ends - window)
    return (cumulative[ends] - cumulative[starts]) / (ends - starts)


def _round_up(steps: int) -> float:
    """The step axis' end: the first of 1, 1.5, 2, 3, 4, 5, 6, 8 times a power of ten that is >= ``steps``
    (it changes every few frames, not at every one)."""
    power = 10.0 ** math.floor(math.log10(max(steps, 1)))
    return next(power * m for m in (1, 1.5, 2, 3, 4, 5, 6, 8, 10) if power * m >= steps)


def _loss_limits(low: float, high: float) -> tuple[float, float]:
    """The loss axis: from below the lowest value to 1.3 times the highest (headroom for the legend), both
    rounded (to 0.1 below, 0.25 above), so they change only when a curve reaches a new extreme."""
    bottom = math.floor((low - 0.05 * (high - low)) / 0.1) * 0.1
    return bottom, math.ceil(1.3 * high / 0.25) * 0.25


#: ``PRGn`` seen through 75 % opacity over white: the heatmap's colours (an opaque image draws faster).
HEAT_COLORS = ListedColormap(0.75 * colormaps["PRGn"](np.linspace(0, 1, 256))[:, :3] + 0.25, name="PRGn_75")


class _Picture:
    """The playground's figure, laid out once on ``figure``; :meth:`update` sets its artists to a state.

    Left: ``D(x)`` (heatmap, with colour bar), the warped noise grid, real and fake samples and the
    generator's push on the first fakes (arrows, the longest 0.6 long); the data set, loss and ``k`` as
    title. Right: the step (top right) and the 25-step averages of the generator's and discriminator's losses
    and of the JSD estimate against the step, with ``log 2`` marked (before any step: "press step or
    play"); its axes end on round numbers past the curves, the top 30 % left free for the legend.

    ``moving`` lists what changes at every step, in drawing order; the rest (frames, ticks, colour bar,
    titles, legends) changes only when :meth:`update` says so.
    """

    CURVES = (("G loss", "C4"), ("D loss", "C2"), ("JSD estimate from D", "C0"))

    def __init__(self, figure: Figure):
        self.figure = figure
        grid = figure.add_gridspec(1, 2, width_ratios=[1.1, 1], left=0.035, right=0.935, bottom=0.15, top=0.92,
                                   wspace=0.28)
        self.left, self.right = left, right = figure.add_subplot(grid[0]), figure.add_subplot(grid[1])
        empty = np.zeros((0, 2))
        self.heat = left.imshow(np.zeros((HEATMAP_SIZE, HEATMAP_SIZE)), extent=(-LIMIT, LIMIT, -LIMIT, LIMIT),
                                origin="lower", cmap=HEAT_COLORS, vmin=0, vmax=1, interpolation="bilinear",
                                zorder=1)
        left.set_axisbelow(True)  # ticks under the heatmap, as they are in the background it is drawn over
        figure.colorbar(self.heat, ax=left, fraction=0.046, pad=0.03, label="D(x)")
        self.grid_lines = left.add_collection(LineCollection([], colors="0.35", linewidths=0.5, alpha=0.6))
        self.real = left.scatter(*empty.T, s=6, color="darkgreen", label="real", zorder=3)
        self.fakes = left.scatter(*empty.T, s=6, color="purple", label="fake", zorder=3)
        self.arrows = left.quiver(*np.zeros((4, SHOWN_ARROWS)), angles="xy", scale_units="xy", scale=1,
                                  color="purple", width=0.004, zorder=4)
        left.set_xlim(-LIMIT, LIMIT)
        left.set_ylim(-LIMIT, LIMIT)
        left.set_aspect("equal")
        # under the panel, out of the moving heatmap's way
        left.legend(loc="upper center", bbox_to_anchor=(0.5, -0.07), ncol=2, fontsize=9, markerscale=2,
                    frameon=False)
        self.title = left.set_title(" ", fontsize=12)
        log2 = right.axhline(math.log(2), color="C0", linestyle=":", linewidth=1)  # before (under) the curves
        self.curves = [right.plot([], [], color=color, label=label, linewidth=1.8)[0] for label, color in self.CURVES]
        self.right_static = [
            log2,
            # the label sits just outside the right edge, where no curve can cover it
            right.text(1.01, math.log(2), "log 2", color="C0", va="center", ha="left", fontsize=10,
                       transform=right.get_yaxis_transform()),
            right.legend(fontsize=9, loc="upper center", ncol=3, handlelength=1.2, columnspacing=0.8),
        ]
        self.step_title = right.set_title(" ", fontsize=12, loc="right")
        self.prompt = right.text(0.5, 0.5, "press step or play", ha="center", va="center", transform=right.transAxes)
        # the left panel's content over its frame and ticks (its spines back on top), the step, the curves
        self.moving = [self.heat, self.grid_lines, *left.spines.values(), self.real, self.fakes, self.arrows,
                       self.step_title, *self.curves]
        self.layout = None  # (title, right panel's started, x limits, y limits) drawn last

    def update(self, playground: GANPlayground) -> bool:
        """Every artist that depends on the state, set to ``playground``'s; True when more than the
        ``moving`` artists changed (the title, the right panel's limits or its prompt): redraw everything."""
        trainer = playground.trainer
        fakes = playground.fake_samples()
        arrows = _push_directions(playground, fakes[:SHOWN_ARROWS])
        self.heat.set_data(_heatmap(playground))
        self.grid_lines.set_segments(list(_warped_grid(playground)))
        self.real.set_offsets(playground.real[:SHOWN_SAMPLES].numpy())
        self.fakes.set_offsets(fakes.numpy())
        scale = 0.6 / max(float(np.linalg.norm(arrows, axis=1).max()), 1e-12)  # the longest arrow is 0.6 long
        self.arrows.set_offsets(fakes[:SHOWN_ARROWS].numpy())
        self.arrows.set_UVC(arrows[:, 0] * scale, arrows[:, 1] * scale)
        self.step_title.set_text(f"step {trainer.history.steps}" if trainer.history.steps else "")
        layout = (f"{playground.dataset}, {trainer.loss}, k={trainer.k}", *self._update_curves(trainer.history))
        changed, self.layout = layout != self.layout, layout
        if changed:
            self.title.set_text(layout[0])
            self._lay_out_right(*layout[1:])
        return changed

    def _update_curves(self, history) -> tuple:
        """The curves set to ``history``; returns the right panel's layout (started, x limits, y limits)."""
        if not history.steps:
            return False, None, None
        steps = np.arange(1, history.steps + 1)
        series = (history.loss, history.metrics["d_loss"], history.metrics["jsd_estimate"])
        smooth = [_moving_average(values) for values in series]
        for line, values in zip(self.curves, smooth):
            line.set_data(steps, values)
        finite = np.concatenate(smooth)
        finite = finite[np.isfinite(finite)]
        low = min(float(finite.min()), math.log(2)) if finite.size else 0.0
        high = max(float(finite.max()), math.log(2)) if finite.size else math.log(2)
        return True, (0.0, _round_up(history.steps)), _loss_limits(low, high)

    def _lay_out_right(self, started: bool, xlim, ylim) -> None:
        """The right panel's static part: limits, ticks, titles; or, before any step, only the prompt."""
        right = self.right
        for artist in (*self.curves, *self.right_static):
            artist.set_visible(started)
        self.prompt.set_visible(not started)
        right.tick_params(left=started, bottom=started, labelleft=started, labelbottom=started)
        right.set_title("losses (25-step average)" if started else "", fontsize=12, loc="left")
        right.set_xlabel("step" if started else "")
        if started:
            right.set_xlim(*xlim)
            right.set_ylim(*ylim)


def draw_playground(playground: GANPlayground):
    """A new pyplot figure of the playground's current state: the widget's picture (see :class:`_Picture`)."""
    if not isinstance(playground, GANPlayground):
        raise TypeError(f"playground must be a GANPlayground, got {type(playground).__name__}")
    picture = _Picture(plt.figure(figsize=FIGSIZE))
    picture.update(playground)
    return picture.figure


# ============================================================================ widget


def gan_playground(
    dataset: str = "8gaussians",
    loss: str = "non-saturating",
    k: int = 1,
    lr_g: float = 1e-3,
    lr_d: float = 1e-3,
    steps_per_click: int = 50,
    seed: int = 0,
    device="cpu",
) -> FigureBox:
    """The GAN playground widget (see the module docstring).

    Attributes of the returned box: ``playground`` (the :class:`GANPlayground` state),
    ``dataset``, ``loss``, ``k``, ``lr_g``, ``lr_d``, ``steps_per_click`` (controls),
    ``step_button`` (trains ``steps_per_click`` steps), ``reset_button``, ``play`` (each tick trains
    what fits in the :data:`FRAME_SECONDS` the last redraw left, at most :data:`PLAY_SECONDS` and
    ``steps_per_click`` steps, at least one, then redraws; ticks queued while busy are dropped),
    ``version`` (a hidden counter bumped on every change of the state; the picture redraws when it
    changes) and ``image`` (the picture, shown at its own size).
    """
    check_positive_number("lr_g", lr_g)
    check_positive_number("lr_d", lr_d)
    steps_per_click = check_int("steps_per_click", steps_per_click, minimum=1, maximum=1000)
    playground = GANPlayground(dataset, loss, k, lr_g, lr_d, seed=seed, device=device)

    narrow = w.Layout(width="230px")
    data_choice = w.Dropdown(options=TOY2D_NAMES, value=dataset, description="data", layout=narrow)
    loss_choice = w.Dropdown(options=gan.LOSSES, value=loss, description="loss", layout=narrow)
    k_slider = w.IntSlider(value=k, min=1, max=10, description="k (D steps)", layout=narrow)
    lr_g_slider = w.FloatLogSlider(value=lr_g, base=10, min=-4.5, max=-1.5, step=0.25, description="lr G",
                                   readout_format=".1e", layout=narrow)
    lr_d_slider = w.FloatLogSlider(value=lr_d, base=10, min=-4.5, max=-1.5, step=0.25, description="lr D",
                                   readout_format=".1e", layout=narrow)
    per_click = w.IntSlider(value=steps_per_click, min=1, max=500, description="steps/click", layout=narrow)
    step_button = w.Button(description="step", icon="step-forward", layout=w.Layout(width="100px"))
    reset_button = w.Button(description="reset", icon="undo", layout=w.Layout(width="100px"))
    play = w.Play(value=0, min=0, max=1_000_000, step=1, interval=PLAY_INTERVAL_MS, description="play")
    version = w.IntText(value=0, layout=w.Layout(display="none"))

    def changed() -> None:
        version.value += 1

    def train_some(_=None) -> None:
        playground.step(per_click.value)
        changed()

    last_redraw = [FRAME_SECONDS - PLAY_SECONDS]  # seconds the previous play tick's redraw took

    def play_tick() -> None:
        seconds = min(PLAY_SECONDS, max(FRAME_SECONDS - last_redraw[0], MIN_PLAY_SECONDS))
        playground.train_for(seconds, per_click.value)
        start = time.perf_counter()
        changed()
        last_redraw[0] = time.perf_counter() - start

    def restart(_=None) -> None:
        playground.reset(data_choice.value)
        changed()

    def reconfigure(**setting) -> None:
        playground.configure(**setting)
        changed()  # the title names the loss and k; the heatmap depends on the loss

    step_button.on_click(train_some)
    reset_button.on_click(restart)
    play.observe(FreshTicks(play_tick), names="value")
    data_choice.observe(restart, names="value")
    loss_choice.observe(lambda change: reconfigure(loss=change["new"]), names="value")
    k_slider.observe(lambda change: reconfigure(k=change["new"]), names="value")
    lr_g_slider.observe(lambda change: playground.configure(lr_g=change["new"]), names="value")
    lr_d_slider.observe(lambda change: playground.configure(lr_d=change["new"]), names="value")

    others = {
        "dataset": data_choice, "loss": loss_choice, "k": k_slider, "lr_g": lr_g_slider, "lr_d": lr_d_slider,
        "steps_per_click": per_click, "step_button": step_button, "reset_button": reset_button, "play": play,
    }
    box = live_view(
        playground.live,
        {"version": version},
        playground.refresh,
        others=others,
        rows=[[play, step_button, reset_button, per_click], [data_choice, loss_choice, k_slider],
              [lr_g_slider, lr_d_slider, version]],
    )
    box.playground = playground
    return box
