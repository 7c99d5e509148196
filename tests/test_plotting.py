"""Tests for course_gen.plotting: projector-friendly figures."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from course_gen import plotting  # noqa: E402
from course_gen.train import History  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def constant_images(n: int, channels: int | None, h: int = 4, w: int = 5) -> torch.Tensor:
    """Image k is filled with the value k / 10."""
    values = torch.arange(n, dtype=torch.float32) / 10
    shape = (n, 1, 1) if channels is None else (n, 1, 1, 1)
    size = (n, h, w) if channels is None else (n, channels, h, w)
    return values.reshape(shape).expand(size).clone()


def standard_gaussian_log_prob(points: torch.Tensor) -> torch.Tensor:
    return -0.5 * (points ** 2).sum(-1) - math.log(2 * math.pi)


def test_make_grid_places_each_image_in_its_tile():
    images = constant_images(7, channels=1)
    grid = plotting.make_grid(images, nrow=3, pad=2, pad_value=-1.0)
    h, w, pad = 4, 5, 2
    assert grid.shape == (3 * h + 2 * pad, 3 * w + 2 * pad)
    for k in range(7):
        row, col = divmod(k, 3)
        tile = grid[row * (h + pad):row * (h + pad) + h, col * (w + pad):col * (w + pad) + w]
        assert np.allclose(tile, k / 10), f"image {k} is not at row {row}, col {col}"
    assert np.all(grid[h:h + pad, :] == -1.0)  # padding between rows
    assert np.all(grid[:, w:w + pad] == -1.0)  # padding between columns
    empty_tile = grid[2 * (h + pad):, 1 * (w + pad):]
    assert np.all(empty_tile == -1.0)  # 8th and 9th tiles are empty


def test_make_grid_rgb_and_three_dim_input():
    rgb = plotting.make_grid(constant_images(4, channels=3), nrow=2, pad=1)
    assert rgb.shape == (9, 11, 3)
    assert np.allclose(rgb[5:, 6:], 0.3)  # image 3 at row 1, col 1
    gray = plotting.make_grid(constant_images(4, channels=None).numpy())
    assert gray.shape == (9, 11)  # default nrow = ceil(sqrt(4)) = 2


@pytest.mark.parametrize(
    "images, message",
    [
        (torch.zeros(2, 2, 4, 4), "C in"),
        (torch.zeros(4, 4), "shape"),
        (torch.zeros(0, 4, 4), "empty"),
        (torch.full((2, 1, 3, 3), float("nan")), "NaN"),
    ],
)
def test_image_grid_rejects_bad_images(images, message):
    with pytest.raises(ValueError, match=message):
        plotting.image_grid(images)


def test_image_grid_is_one_image_without_ticks():
    fig = plotting.image_grid(constant_images(6, channels=1), titles=[str(k) for k in range(6)])
    assert isinstance(fig, matplotlib.figure.Figure)
    (ax,) = fig.axes
    assert len(ax.get_images()) == 1
    assert list(ax.get_xticks()) == [] and list(ax.get_yticks()) == []
    assert [t.get_text() for t in ax.texts] == [str(k) for k in range(6)]


def test_image_grid_draws_on_a_given_axes():
    fig, (left, right) = plt.subplots(1, 2)
    returned = plotting.image_grid(constant_images(3, channels=3), ax=right, titles="RGB")
    assert returned is fig
    assert len(right.get_images()) == 1 and not left.get_images()
    assert right.get_title() == "RGB"


def test_density_grid_of_a_gaussian_integrates_to_one():
    xs, ys, density = plotting.density_grid(standard_gaussian_log_prob, (-6, 6), (-6, 6), n=121)
    cell_area = (xs[1] - xs[0]) * (ys[1] - ys[0])
    assert density.shape == (121, 121)
    assert density.sum() * cell_area == pytest.approx(1.0, abs=1e-3)


def test_density_grid_rows_are_y_and_columns_are_x():
    def shifted(points):  # a Gaussian centred at (2, -1)
        return standard_gaussian_log_prob(points - torch.tensor([2.0, -1.0]))

    xs, ys, density = plotting.density_grid(shifted, (-4, 4), (-4, 4), n=81)
    i, j = np.unravel_index(density.argmax(), density.shape)
    assert (xs[j], ys[i]) == pytest.approx((2.0, -1.0))


def test_density_grid_checks_the_log_prob_output():
    with pytest.raises(ValueError, match="shape"):
        plotting.density_grid(lambda p: p, n=10)
    with pytest.raises(ValueError, match="NaN"):
        plotting.density_grid(lambda p: p[:, 0] * float("nan"), n=10)
    with pytest.raises(ValueError, match="low < high"):
        plotting.density_grid(standard_gaussian_log_prob, xlim=(1, -1))


def test_plot_density_2d_extent_origin_and_samples():
    fig = plotting.plot_density_2d(standard_gaussian_log_prob, xlim=(-3, 3), ylim=(-2, 2), n=50,
                                   samples=torch.randn(30, 2), title="N(0, I)")
    (ax,) = fig.axes
    (image,) = ax.get_images()
    assert image.origin == "lower"
    left, right, bottom, top = image.get_extent()
    assert left < -3 < right and bottom < -2 < top
    assert ax.get_xlim() == pytest.approx((-3, 3)) and ax.get_ylim() == pytest.approx((-2, 2))
    assert len(ax.collections) == 1 and ax.get_title() == "N(0, I)"


def test_plot_samples_2d_equal_aspect_and_shape_check():
    fig = plotting.plot_samples_2d(np.random.default_rng(0).normal(size=(100, 2)))
    (ax,) = fig.axes
    assert ax.get_aspect() == 1.0
    assert len(ax.collections[0].get_offsets()) == 100
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        plotting.plot_samples_2d(torch.zeros(10, 3))


def test_plot_history_with_a_history_and_smoothing():
    history = History(loss=[4.0, 3.0, 2.0, 1.0], metrics={"kl": [0.5, 0.4, 0.3, 0.2]}, steps=4)
    fig = plotting.plot_history(history, smooth=2, logy=True)
    (ax,) = fig.axes
    labels = [line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")]
    assert labels == ["loss", "kl"]
    smoothed_loss = ax.get_lines()[1].get_ydata()
    assert np.allclose(smoothed_loss, [4.0, 3.5, 2.5, 1.5])
    assert ax.get_yscale() == "log"


def test_plot_history_lists_dicts_and_bad_inputs():
    fig = plotting.plot_history([1.0, -1.0, 0.5], logy=True)
    assert fig.axes[0].get_yscale() == "symlog"
    fig = plotting.plot_history({"a": [1, 2], "b": [3, 4]}, keys=["b"])
    assert [line.get_label() for line in fig.axes[0].get_lines()] == ["b"]
    with pytest.raises(ValueError, match="unknown keys"):
        plotting.plot_history({"a": [1, 2]}, keys=["z"])
    with pytest.raises(TypeError, match="History"):
        plotting.plot_history("loss")
    with pytest.raises(ValueError, match="nothing to plot"):
        plotting.plot_history([])


def test_figure_to_png_gives_png_bytes():
    fig = plotting.plot_samples_2d(torch.randn(10, 2))
    png = plotting.figure_to_png(fig, close=True)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert not plt.fignum_exists(fig.number)
    with pytest.raises(TypeError, match="Figure"):
        plotting.figure_to_png("not a figure")


def test_surface_3d_is_a_plotly_surface():
    fig = plotting.surface_3d(standard_gaussian_log_prob, (-3, 3), (-3, 3), n=20, title="p")
    (trace,) = fig.data
    assert trace.type == "surface"
    assert np.asarray(trace.z).shape == (20, 20)
    assert np.asarray(trace.z).max() == pytest.approx(1 / (2 * math.pi), rel=0.05)


def test_use_course_style_changes_rcparams_only_when_called():
    with matplotlib.rc_context():
        plotting.use_course_style()
        assert matplotlib.rcParams["axes.spines.top"] is False
        assert matplotlib.rcParams["font.size"] == plotting.COURSE_STYLE["font.size"]


def test_importing_plotting_does_not_import_plotly_or_ipywidgets():
    code = (
        "import sys, course_gen.plotting, course_gen.train, course_gen.checkpoints, course_gen.latent;"
        "bad = [m for m in ('plotly', 'ipywidgets') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    repo_root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "MPLBACKEND": "Agg",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(repo_root), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=repo_root, env=env, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_bad_values_are_refused_before_matplotlib_sees_them():
    import torch

    from course_gen import plotting

    images = torch.rand(4, 1, 5, 5)
    with pytest.raises(ValueError, match="NaN or inf"):
        plotting.make_grid(images * float("inf"))
    with pytest.raises(ValueError, match="pad must be an int <= 64"):
        plotting.make_grid(images, pad=10**12)
    with pytest.raises(ValueError, match="unknown cmap 'grey_nope'"):
        plotting.image_grid(images, cmap="grey_nope")
    with pytest.raises(ValueError, match="vmax must be a finite number"):
        plotting.image_grid(images, vmax=float("inf"))
    with pytest.raises(ValueError, match="n must be an int <= 2000"):
        plotting.density_grid(lambda x: x.sum(1), n=10**6)
    with pytest.raises(ValueError, match="alpha must lie in"):
        plotting.plot_samples_2d(torch.randn(5, 2), alpha=2.0)
    with pytest.raises(ValueError, match="NaN or inf"):
        plotting.plot_samples_2d(torch.full((5, 2), float("nan")))
    with pytest.raises(ValueError, match="NaN or inf"):
        plotting.plot_history(torch.tensor([1.0, float("nan")]))
    with pytest.raises(TypeError, match="real-valued"):
        plotting.make_grid(images.to(torch.complex64))
