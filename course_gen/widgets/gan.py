"""A GAN-Lab-style playground: watch a small GAN learn a 2-D toy distribution.

One picture, redrawn after every few training steps:

- left: the discriminator's ``D(x)`` as a heatmap (green = "real", purple = "fake"), the
  real samples (green dots), the generator's samples (purple dots) with arrows showing
  where the generator's loss pushes each of them (``-grad_x`` of its loss), and the
  generator's warped noise grid: the image under ``G`` of a regular grid of 2-D codes;
- right: the generator's and the discriminator's losses and the JSD estimate from ``D``
  (``(V + log 4) / 2``, see :func:`course_gen.gan.jsd_estimate`: an estimate from the
  current discriminator and batch, not the true divergence) against the step.

Controls: data set (``course_gen.data.TOY2D_NAMES``; changing it restarts), loss
(``course_gen.gan.LOSSES``), ``k`` discriminator steps per generator step, the two
learning rates, steps per click; buttons "step" and "reset" and a play button.

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

from course_gen import gan
from course_gen._checks import check_choice, check_int, check_positive_number, check_seed
from course_gen.data import TOY2D_NAMES, toy2d
from course_gen.runtime import model_device
from course_gen.widgets._figure_view import BACKLOG_GAP_S, figure_view

__all__ = ["GANPlayground", "draw_playground", "gan_playground"]

#: The square of the plane shown, ``[-LIMIT, LIMIT]^2`` (every toy2d set lies inside).
LIMIT = 4.5
#: Heatmap resolution, samples drawn, arrows drawn, codes per side of the warped grid.
HEATMAP_SIZE, SHOWN_SAMPLES, SHOWN_ARROWS, GRID_LINES = 70, 300, 60, 9
#: Points of each toy data set the GAN trains on.
TRAINING_POINTS = 4000


class GANPlayground:
    """The playground's state: a 2-D data set, a small GAN and its :class:`~course_gen.gan.GANTrainer`.

    ``fixed_noise`` (seeded) is what the figure shows as fake samples, so the same points
    move from one picture to the next. :meth:`step` trains, :meth:`reset` starts again with
    fresh networks (same seed: same start), :meth:`draw` returns the figure.
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

    @property
    def steps_done(self) -> int:
        return self.trainer.history.steps

    @torch.no_grad()
    def fake_samples(self) -> torch.Tensor:
        """``G(fixed_noise)``: the generator's samples the figure shows, ``(300, 2)`` on the CPU."""
        generator = self.trainer.generator
        return generator(self.fixed_noise.to(model_device(generator))).cpu()

    def draw(self):
        return draw_playground(self)


# ============================================================================ drawing


def _heatmap(playground: GANPlayground) -> np.ndarray:
    axis = torch.linspace(-LIMIT, LIMIT, HEATMAP_SIZE)
    ys, xs = torch.meshgrid(axis, axis, indexing="ij")
    points = torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=1)
    d = gan.discriminator_probability(playground.trainer.discriminator, points, playground.trainer.loss)
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
def _warped_grid(playground: GANPlayground) -> list[np.ndarray]:
    """Images under ``G`` of the lines ``z1 = c`` and ``z2 = c`` of a grid over [-2, 2]^2."""
    generator = playground.trainer.generator
    device = model_device(generator)
    t = torch.linspace(-2.5, 2.5, 60)
    lines = []
    for c in torch.linspace(-2, 2, GRID_LINES):
        for codes in (torch.stack([torch.full_like(t, c), t], 1), torch.stack([t, torch.full_like(t, c)], 1)):
            lines.append(generator(codes.to(device)).cpu().numpy())
    return lines


def _moving_average(values, window: int = 25) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    cumulative = np.concatenate([[0.0], np.cumsum(values)])
    ends = np.arange(1, len(values) + 1)
    starts = np.maximum(0, ends - window)
    return (cumulative[ends] - cumulative[starts]) / (ends - starts)


def _draw_curves(ax, playground: GANPlayground) -> None:
    history = playground.trainer.history
    if not history.steps:
        ax.text(0.5, 0.5, "press step or play", ha="center", va="center", transform=ax.transAxes)
        ax.set_xticks([])
        ax.set_yticks([])
        return
    steps = np.arange(1, history.steps + 1)
    series = {
        "G loss": history.loss,
        "D loss": history.metrics["d_loss"],
        "JSD estimate from D": history.metrics["jsd_estimate"],
    }
    top = math.log(2)
    for (label, values), color in zip(series.items(), ("C4", "C2", "C0")):
        smooth = _moving_average(values)
        top = max(top, float(np.nanmax(smooth)))
        ax.plot(steps, smooth, color=color, label=label, linewidth=1.8)
    ax.axhline(math.log(2), color="C0", linestyle=":", linewidth=1)
    # the label sits just outside the right edge, where no curve can cover it
    ax.text(1.01, math.log(2), "log 2", color="C0", va="center", ha="left", fontsize=10,
            transform=ax.get_yaxis_transform())
    ax.set_ylim(top=1.3 * top)  # headroom for the legend above the curves
    ax.set_xlabel("step")
    ax.set_title("losses (25-step average)", fontsize=13)
    ax.legend(fontsize=9, loc="upper center", ncol=3, handlelength=1.2, columnspacing=0.8)


def draw_playground(playground: GANPlayground):
    """The playground's figure for the current state (see the module docstring)."""
    if not isinstance(playground, GANPlayground):
        raise TypeError(f"playground must be a GANPlayground, got {type(playground).__name__}")
    trainer = playground.trainer
    fakes = playground.fake_samples()
    arrows = _push_directions(playground, fakes[:SHOWN_ARROWS])
    fig, (left, right) = plt.subplots(1, 2, figsize=(10.5, 4.6), gridspec_kw={"width_ratios": [1.1, 1]})
    heat = left.imshow(
        _heatmap(playground), extent=(-LIMIT, LIMIT, -LIMIT, LIMIT), origin="lower", cmap="PRGn",
        vmin=0, vmax=1, alpha=0.75, interpolation="bilinear",
    )
    fig.colorbar(heat, ax=left, fraction=0.046, pad=0.03, label="D(x)")
    for line in _warped_grid(playground):
        left.plot(line[:, 0], line[:, 1], color="0.35", linewidth=0.5, alpha=0.6)
    real = playground.real[:SHOWN_SAMPLES].numpy()
    left.scatter(real[:, 0], real[:, 1], s=6, color="darkgreen", label="real", zorder=3)
    left.scatter(fakes[:, 0], fakes[:, 1], s=6, color="purple", label="fake", zorder=3)
    lengths = np.linalg.norm(arrows, axis=1, keepdims=True)
    scale = 0.6 / max(float(lengths.max()), 1e-12)  # the longest arrow is 0.6 long
    shown = fakes[:SHOWN_ARROWS].numpy()
    left.quiver(shown[:, 0], shown[:, 1], arrows[:, 0] * scale, arrows[:, 1] * scale, angles="xy",
                scale_units="xy", scale=1, color="purple", width=0.004, zorder=4)
    left.set_xlim(-LIMIT, LIMIT)
    left.set_ylim(-LIMIT, LIMIT)
    left.set_aspect("equal")
    left.set_title(f"{playground.dataset}, step {trainer.history.steps}, {trainer.loss}, k={trainer.k}", fontsize=12)
    left.legend(loc="lower left", fontsize=9, markerscale=2)
    _draw_curves(right, playground)
    fig.tight_layout()
    return fig


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
) -> w.VBox:
    """The GAN playground widget (see the module docstring).

    Attributes of the returned box: ``playground`` (the :class:`GANPlayground` state),
    ``dataset``, ``loss``, ``k``, ``lr_g``, ``lr_d``, ``steps_per_click`` (controls),
    ``step_button``, ``reset_button``, ``play`` (each tick runs ``steps_per_click`` steps),
    ``version`` (a hidden counter bumped on every change of the state; the picture redraws
    when it changes) and ``image`` (the picture).
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
    play = w.Play(value=0, min=0, max=1_000_000, step=1, interval=400, description="play")
    version = w.IntText(value=0, layout=w.Layout(display="none"))

    def changed() -> None:
        version.value += 1

    def train_some(_=None) -> None:
        playground.step(per_click.value)
        changed()

    last_tick = [-math.inf]  # when the previous play tick was handled or dropped

    def play_tick(change) -> None:
        # Ticks that queued up while the kernel was busy training arrive back to back: drop them,
        # so playing runs as fast as the machine allows and pausing stops at once, not after a backlog.
        backlog = time.monotonic() - last_tick[0] < BACKLOG_GAP_S
        if change["new"] > change["old"] and not backlog:
            train_some()
        last_tick[0] = time.monotonic()

    def restart(_=None) -> None:
        playground.reset(data_choice.value)
        changed()

    def new_loss(change) -> None:
        playground.configure(loss=change["new"])
        changed()

    step_button.on_click(train_some)
    reset_button.on_click(restart)
    play.observe(play_tick, names="value")
    data_choice.observe(restart, names="value")
    loss_choice.observe(new_loss, names="value")
    k_slider.observe(lambda change: playground.configure(k=change["new"]), names="value")
    lr_g_slider.observe(lambda change: playground.configure(lr_g=change["new"]), names="value")
    lr_d_slider.observe(lambda change: playground.configure(lr_d=change["new"]), names="value")

    others = {
        "dataset": data_choice, "loss": loss_choice, "k": k_slider, "lr_g": lr_g_slider, "lr_d": lr_d_slider,
        "steps_per_click": per_click, "step_button": step_button, "reset_button": reset_button, "play": play,
    }
    box = figure_view(
        playground.draw,
        {"version": version},
        others=others,
        rows=[[play, step_button, reset_button, per_click], [data_choice, loss_choice, k_slider],
              [lr_g_slider, lr_d_slider, version]],
        max_width="900px",
    )
    box.playground = playground
    return box
