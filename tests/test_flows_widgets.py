"""Flow playground, coupling-mask viewer and grid-deformation figure: they draw and redraw."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

widgets = pytest.importorskip("course_gen.widgets")

from course_gen import flows  # noqa: E402
from course_gen.widgets.flows import (draw_coupling_masks, draw_grid_deformation, draw_pushforward,  # noqa: E402
                                      invertibility_warning)
from course_gen.widgets._figure_view import TextStamps  # noqa: E402

torch.set_num_threads(1)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def drawn(widget) -> bytes:
    return bytes(widget.image.value)


def figure_texts(fig) -> str:
    return " ".join(t.get_text() for t in fig.findobj(plt.Text))


def test_widgets_are_exported():
    assert callable(widgets.flow_playground) and callable(widgets.coupling_mask_viewer)


@pytest.mark.parametrize("control, value", [("u1", -1.0), ("u2", 1.2), ("w1", 0.5), ("w2", -2.0), ("b", 1.0),
                                            ("kind", "radial")])
def test_playground_redraws_on_planar_controls(control, value):
    box = widgets.flow_playground()
    before = drawn(box)
    assert before.startswith(PNG_SIGNATURE)
    getattr(box, control).value = value
    assert drawn(box) != before


@pytest.mark.parametrize("control, value", [("alpha", 2.0), ("beta", -2.0)])
def test_playground_redraws_on_radial_controls(control, value):
    box = widgets.flow_playground("radial")
    before = drawn(box)
    getattr(box, control).value = value
    assert drawn(box) != before


def test_the_figure_warns_when_the_planar_map_is_not_invertible():
    fig = draw_pushforward("planar", {"u": (-2.0, 0.0), "w": (1.0, 0.0), "b": 0.0})
    assert "not invertible" in figure_texts(fig) and "-2.00" in figure_texts(fig)
    plt.close(fig)
    fig = draw_pushforward("planar", {"u": (-0.5, 0.0), "w": (1.0, 0.0), "b": 0.0})
    assert "not invertible" not in figure_texts(fig) and "invertible" in figure_texts(fig)
    plt.close(fig)


def test_invertibility_conditions():
    assert invertibility_warning("planar", {"u": (1.0, -1.0), "w": (1.0, 1.0), "b": 0}) is None  # w.u = 0
    assert "w·u = -1.50" in invertibility_warning("planar", {"u": (-1.5, 0.0), "w": (1.0, 0.0), "b": 0})
    assert invertibility_warning("radial", {"alpha": 1.0, "beta": -1.0}) is None  # boundary beta = -alpha
    assert "beta" in invertibility_warning("radial", {"alpha": 1.0, "beta": -1.5})
    with pytest.raises(ValueError, match="missing"):
        draw_pushforward("planar", {"u": (1.0, 0.0)})
    with pytest.raises(ValueError, match="unknown kind"):
        draw_pushforward("sylvester", {})


def test_pushforward_density_matches_the_change_of_variables():
    # Integrate the coloured density over the deformed cells (areas from their corners): it must give
    # the base mass of the window, (erf(3.5 / sqrt 2))^2, only if p(y) = N(z) / |det df/dz| is right.
    n = 121
    fig = draw_pushforward("radial", {"alpha": 0.5, "beta": 1.0}, n=n)
    mesh = fig.axes[1].collections[0]
    corners = np.asarray(mesh.get_coordinates())  # (n + 1, n + 1, 2), the deformed grid
    cell_density = np.asarray(mesh.get_array()).reshape(n, n)
    a, b, c, d = corners[:-1, :-1], corners[:-1, 1:], corners[1:, 1:], corners[1:, :-1]
    area = 0.5 * np.abs((c[..., 0] - a[..., 0]) * (d[..., 1] - b[..., 1]) - (d[..., 0] - b[..., 0]) * (c[..., 1] - a[..., 1]))
    assert float((cell_density * area).sum()) == pytest.approx(math.erf(3.5 / math.sqrt(2)) ** 2, abs=0.01)
    plt.close(fig)


def test_coupling_mask_viewer_redraws_and_shows_untouched_entries():
    box = widgets.coupling_mask_viewer()
    before = drawn(box)
    box.alternate.value = False
    assert drawn(box) != before
    box.n_layers.value = 2
    fig = draw_coupling_masks(4, alternate=False)
    assert "never changed: 4" in figure_texts(fig)  # half of an 8-vector stays fixed
    plt.close(fig)
    fig = draw_coupling_masks(2, alternate=True)
    assert "never changed: 4" not in figure_texts(fig) and "never changed: 0" in figure_texts(fig)
    plt.close(fig)


def test_coupling_mask_counts_are_written_in_the_cells_and_the_viewer_starts_where_asked():
    def cell_numbers(fig):
        return [text for stamps in fig.findobj(TextStamps) for text in stamps.texts]

    # 3 layers: alternated, layers 1 and 3 transform the same entries and layer 2 the others (2 or 1 times);
    # with one mask everywhere each entry is transformed 3 times or never. 8 + 8 + 36 + 16 entries.
    numbers = cell_numbers(draw_coupling_masks(3, alternate=True))
    assert set(numbers) == {"1", "2"} and len(numbers) == 68
    numbers = cell_numbers(draw_coupling_masks(3, alternate=False))
    assert set(numbers) == {"0", "3"} and numbers.count("0") == 34
    plt.close("all")
    box = widgets.coupling_mask_viewer(n_layers=2, alternate=False)
    assert box.n_layers.value == 2 and box.alternate.value is False
    with pytest.raises(TypeError, match="alternate"):
        widgets.coupling_mask_viewer(alternate=1)


def test_grid_deformation_has_four_panels_and_checks_its_flow():
    flow = flows.realnvp_2d(2, hidden=8)
    fig = draw_grid_deformation(flow, torch.randn(300, 2), n_samples=200)
    assert len(fig.axes) == 4
    plt.close(fig)
    with pytest.raises(TypeError, match="Flow"):
        draw_grid_deformation(torch.nn.Linear(2, 2), torch.randn(3, 2))
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        draw_grid_deformation(flow, torch.randn(3, 3))


def test_histogram_vs_density_figure_shares_one_colour_scale():
    from course_gen.widgets.flows import draw_histogram_vs_density

    flow = flows.realnvp_2d(2, hidden=8)
    result = flows.histogram_vs_density(flow, n_samples=2000, limits=(-4, 4), bins=20, refine=2)
    fig = draw_histogram_vs_density(result)
    meshes = [c for ax in fig.axes[:-1] for c in ax.collections]  # the last axes is the colour bar
    assert len(fig.axes) == 4 and len(meshes) == 3 and len({m.get_clim() for m in meshes}) == 1
    assert f"integral {result['integral']:.3f}" in figure_texts(fig)
    plt.close(fig)
    fig = draw_histogram_vs_density(result, wrong_sign=False)
    assert len(fig.axes) == 3
    plt.close(fig)
    with pytest.raises(ValueError, match="histogram_vs_density"):
        draw_histogram_vs_density({"edges": result["edges"]})


def test_dequantization_noise_figure_needs_a_learned_binary_dequantizer():
    from course_gen.widgets.flows import draw_dequantization_noise

    x = (torch.rand(6, 1, 8, 8, generator=torch.Generator().manual_seed(0)) > 0.5).float()
    learned = flows.realnvp_digits(n_levels=2, hidden=8, n_checkerboard=1, n_channel=1, dequantization="variational")
    fig = draw_dequantization_noise(learned, x, n_show=3)
    assert "learned noise vs uniform" in figure_texts(fig) and "y, uniform u" in figure_texts(fig)
    assert len(fig.axes) == 5 * 3 + 1
    plt.close(fig)
    with pytest.raises(TypeError, match="learned dequantizer"):
        draw_dequantization_noise(flows.realnvp_digits(n_levels=2, hidden=8), x)
    with pytest.raises(ValueError, match="binary"):
        draw_dequantization_noise(flows.realnvp_digits(n_levels=17, hidden=8, dequantization="variational"), x)


def test_widget_inputs_are_checked():
    from course_gen.widgets.flows import invertibility_warning

    assert invertibility_warning("planar", {"u": (1.0, 0.0), "w": (-2.0, 0.0), "b": 0.0}).startswith("not invertible")
    with pytest.raises(ValueError, match="missing"):
        invertibility_warning("planar", {"u": (1.0, 0.0), "b": 0.0})
    with pytest.raises(ValueError, match="finite"):
        invertibility_warning("radial", {"alpha": 0.5, "beta": float("nan")})
    with pytest.raises(ValueError, match="n must be an int <= 1001"):
        draw_pushforward("radial", {"alpha": 0.5, "beta": 1.0}, n=10**6)
    with pytest.raises(ValueError, match="x_limits"):
        draw_grid_deformation(flows.realnvp_2d(2, hidden=8), torch.randn(10, 2), x_limits=(3, -3))
