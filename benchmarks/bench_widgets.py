"""Widget speed: milliseconds per control change of every widget, and frames per second while playing.

Each widget is built as its notebook builds it (shipped weights, the same data), on one torch thread and
with the course's figure style, as ``notebook_setup()`` sets them. Every control is moved through 10 values (each different from the one
before); a move is timed from setting ``control.value`` until its observers have run, which includes the
redraw (traitlets observers run synchronously and leave the new PNG in ``box.image``). This is the time in
the kernel, before the browser round trip. A play button is timed per tick (training steps included), its
frames per second capped by the button's interval. The reference is one bare matplotlib ``savefig`` (PNG,
one empty axes) of a figure the size of the widget's picture, measured in the same run.

    .venv/bin/python benchmarks/run.py widgets
"""

from __future__ import annotations

import io
import statistics
import time
from collections.abc import Callable
from typing import NamedTuple

import ipywidgets as w
import torch
from matplotlib.figure import Figure
from PIL import Image

try:  # run by benchmarks/run.py, which puts this folder on sys.path
    from run import print_table
except ImportError:  # pragma: no cover - imported some other way
    from benchmarks.run import print_table

MOVES = 10
#: The course's goals (issue 20): a control change under this, a playing widget at least this.
GOAL_MS, GOAL_FPS = 100.0, 5.0


# ============================================================================ the widgets, built as in the notebooks


def _sparse_coding():
    from course_gen import data
    from course_gen import sparse_coding as sc
    from course_gen.widgets import sparse_code_explorer

    raw = sc.high_contrast(data.patches(6000, size=8, seed=0), fraction=0.5)
    patches, whitening = sc.whiten_patches(raw, eps=0.05)
    test = whitening.transform(sc.high_contrast(data.patches(2000, size=8, seed=1), fraction=0.5))
    dictionary, _ = sc.learn_dictionary(patches, n_atoms=100, lam=0.1, n_iter=20, seed=0)
    return sparse_code_explorer(dictionary.to(test), test[:100], lam=0.1)


def _autoencoder(name: str):
    from course_gen import autoencoders as ae
    return ae.shipped("ae02_deep")[name]


def _interpolation():
    from course_gen import data
    from course_gen.widgets import interpolation

    x_test, y_test = data.mnist10k("test")
    model = _autoencoder("8")
    a, b = int(torch.nonzero(y_test == 2)[0]), int(torch.nonzero(y_test == 0)[0])
    with torch.no_grad():
        z_a, z_b = model.encode(x_test[[a, b]])
    return interpolation(model.decode, z_a, z_b, x_a=x_test[a], x_b=x_test[b], steps=20)


def _latent_explorer():
    from course_gen import data
    from course_gen.widgets import latent_explorer

    x_test, y_test = data.mnist10k("test")
    model = _autoencoder("2")
    with torch.no_grad():
        codes = model.encode(x_test)
    return latent_explorer(model.decode, codes=codes, labels=y_test)


def _latent_traversal():
    from course_gen import data, vae
    from course_gen.widgets import latent_traversal

    shapes, _ = data.shapes(4000, size=28, seed=0)
    model, _ = vae.load_or_fit(vae.build(6, beta=16.0), "vae05_beta16", shapes, 5000)
    return latent_traversal(model, shapes[:64])


def _damage_explorer():
    from course_gen import data, pretrained
    from course_gen.widgets import damage_explorer

    grey_train, y_train = data.mnist10k("train")
    grey_test, _ = data.mnist10k("test")
    return damage_explorer(grey_train, y_train, grey_test, pretrained.load("mnist_classifier"), n=500)


def _diffusion_viewer():
    from course_gen import data, pretrained
    from course_gen.widgets import diffusion_viewer

    x_test, _ = data.mnist10k("test", binarize=True)
    return diffusion_viewer(pretrained.load("ddpm"), x_test[:6])


def _transport_playground(name: str):
    from course_gen import diffusion
    from course_gen.widgets import transport_playground

    held_out = diffusion.toy_mixture().sample(1000, seed=123)
    return transport_playground(diffusion.shipped_toy(name), data=held_out, steps=40)


def _widgets_module():
    import course_gen.widgets as widgets
    return widgets


class WidgetCase(NamedTuple):
    name: str
    notebook: str
    build: Callable[[], w.Widget]


CASES = [
    WidgetCase("data_browser", "00", lambda: _widgets_module().data_browser()),
    WidgetCase("sparse_code_explorer", "01", _sparse_coding),
    WidgetCase("latent_explorer", "02", _latent_explorer),
    WidgetCase("interpolation", "02", _interpolation),
    WidgetCase("mask_viewer", "03", lambda: _widgets_module().mask_viewer()),
    WidgetCase("receptive_field_viewer", "03", lambda: _widgets_module().receptive_field_viewer()),
    WidgetCase("flow_playground", "04", lambda: _widgets_module().flow_playground()),
    WidgetCase("coupling_mask_viewer", "04", lambda: _widgets_module().coupling_mask_viewer(alternate=False)),
    WidgetCase("latent_traversal", "05", _latent_traversal),
    WidgetCase("gan_playground", "06", lambda: _widgets_module().gan_playground(steps_per_click=100, seed=0)),
    WidgetCase("damage_explorer", "07", _damage_explorer),
    WidgetCase("diffusion_viewer", "08", _diffusion_viewer),
    WidgetCase("transport_playground (flow)", "08", lambda: _transport_playground("diffusion08_flow")),
    WidgetCase("transport_playground (dsm)", "08", lambda: _transport_playground("diffusion08_dsm")),
]


# ============================================================================ moving the controls


def controls_of(box) -> dict[str, w.ValueWidget]:
    """The widget's visible controls (attributes that are value widgets), without its picture, hidden
    counters and play buttons (timed per tick instead)."""
    found = {}
    for name, widget in vars(box).items():
        if not isinstance(widget, w.ValueWidget) or isinstance(widget, (w.Image, w.Play)):
            continue
        if widget.layout.display == "none" or getattr(widget, "disabled", False):
            continue
        found[name] = widget
    return found


def plays_of(box) -> dict[str, w.Play]:
    return {name: widget for name, widget in vars(box).items() if isinstance(widget, w.Play)}


def move_values(control: w.ValueWidget, count: int = MOVES) -> list:
    """``count`` values for ``control``, each different from the one before: an even sweep of a slider's
    range there and back, on the slider's steps as a browser sends them, or its options / True-False in turn."""
    if isinstance(control, w.Checkbox):
        return [not control.value if k % 2 == 0 else control.value for k in range(count)]
    if hasattr(control, "options"):
        options = list(getattr(control, "_options_values", control.options))
        others = [value for value in options if value != control.value] or options
        return [others[k % len(others)] if k % 2 == 0 else control.value for k in range(count)]
    low, high = control.min, control.max
    sweep = [k / (count // 2) for k in range(1, count // 2 + 1)]
    values = [low + (high - low) * s for s in sweep] + [low + (high - low) * s for s in reversed(sweep[:-1])]
    values = [low + round((v - low) / control.step) * control.step for v in values]  # on the slider's steps
    if isinstance(control, w.FloatLogSlider):
        values = [control.base ** v for v in values]
    values += [control.value]
    if isinstance(control, (w.IntSlider, w.IntText, w.BoundedIntText)):
        values = [int(round(v)) for v in values]
    return [v for k, v in enumerate(values) if k == 0 or v != values[k - 1]][:count]


def time_moves(control: w.ValueWidget, values) -> list[float]:
    """Milliseconds of each ``control.value = v`` (its observers, the redraw included)."""
    times = []
    for value in values:
        start = time.perf_counter()
        control.value = value
        times.append((time.perf_counter() - start) * 1000)
    return times


def time_play(play: w.Play, ticks: int = MOVES) -> list[float]:
    """Milliseconds of each play tick; ticks are spaced out so none is dropped as a backlog."""
    from course_gen.widgets._figure_view import BACKLOG_GAP_S

    times = []
    for _ in range(ticks):
        time.sleep(2 * BACKLOG_GAP_S)
        start = time.perf_counter()
        play.value += 1
        times.append((time.perf_counter() - start) * 1000)
    return times


def picture_size(box) -> tuple[int, int]:
    return Image.open(io.BytesIO(box.image.value)).size


def savefig_ms(size: tuple[int, int], repeats: int = 10) -> float:
    """Median milliseconds of one bare ``savefig`` (one empty axes, PNG) at ``size`` pixels."""
    times = []
    for _ in range(repeats):
        fig = Figure(figsize=(size[0] / 100, size[1] / 100), dpi=100)
        fig.add_subplot()
        start = time.perf_counter()
        fig.savefig(io.BytesIO(), format="png")
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def widget_rows(case: WidgetCase) -> list[list]:
    box = case.build()
    size = picture_size(box)
    reference = savefig_ms(size)
    rows = []
    for name, control in controls_of(box).items():
        times = time_moves(control, move_values(control))
        median = statistics.median(times)
        rows.append([case.notebook, case.name, name, f"{size[0]}x{size[1]}", median, max(times), reference,
                     median / reference, "yes" if median < GOAL_MS else "NO"])
    for name, play in plays_of(box).items():
        times = time_play(play)
        fps = min(1000 / statistics.median(times), 1000 / play.interval)
        rows.append([case.notebook, case.name, f"{name} (per tick, {fps:.1f} fps at interval {play.interval} ms)",
                     f"{size[0]}x{size[1]}", statistics.median(times), max(times), reference,
                     statistics.median(times) / reference, "yes" if fps >= GOAL_FPS else "NO"])
    return rows


def widgets_table() -> None:
    from course_gen import plotting

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as notebook_setup() sets it, with the course's figure style
    plotting.use_course_style()
    try:
        rows = []
        for case in CASES:
            torch.manual_seed(0)
            rows += widget_rows(case)
    finally:
        torch.set_num_threads(threads)
    print_table(
        f"Widget time per control change (ms, {MOVES} moves each, one thread); reference = one bare savefig "
        f"of the picture's size; goal: median < {GOAL_MS:.0f} ms, play >= {GOAL_FPS:.0f} fps",
        ["nb", "widget", "control", "picture px", "median ms", "max ms", "savefig ms", "median / savefig", "goal"],
        rows,
    )


TABLES = {"widgets": widgets_table}
