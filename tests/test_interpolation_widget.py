"""Latent interpolation: lerp/slerp formulas, and widgets that redraw (no browser needed)."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import pytest
import torch

widgets = pytest.importorskip("course_gen.widgets")

from course_gen.autoencoders import MLPAutoencoder  # noqa: E402
from course_gen.widgets.interpolation import draw_interpolation, extent_of, interpolation_path  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def random_decoder(code_size: int = 4, pixels: int = 64, seed: int = 0):
    """A fixed random decoder z -> sigm(z W), images (T, pixels): every code draws differently."""
    weights = torch.randn(code_size, pixels, generator=torch.Generator().manual_seed(seed))

    def decode(z):
        return torch.sigmoid(z @ weights)

    return decode


def codes(seed: int = 1, size: int = 4):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(size, generator=generator), torch.randn(size, generator=generator)


def drawn(widget) -> bytes:
    return bytes(widget.image.value)


# ============================================================================ paths


def test_lerp_formula_and_endpoints():
    z_a, z_b = codes()
    torch.testing.assert_close(widgets.lerp(z_a, z_b, 0.0), z_a)
    torch.testing.assert_close(widgets.lerp(z_a, z_b, 1.0), z_b)
    torch.testing.assert_close(widgets.lerp(z_a, z_b, 0.25), 0.75 * z_a + 0.25 * z_b)
    path = widgets.lerp(z_a, z_b, torch.linspace(0, 1, 5))
    assert path.shape == (5, 4)
    torch.testing.assert_close(path[2], (z_a + z_b) / 2)


def test_slerp_hits_the_endpoints_and_keeps_the_norm_of_equal_norm_codes():
    z_a, z_b = codes()
    z_b = z_b / z_b.norm() * z_a.norm()
    ts = torch.linspace(0, 1, 11)
    path = widgets.slerp(z_a, z_b, ts)
    torch.testing.assert_close(path[0], z_a)
    torch.testing.assert_close(path[-1], z_b)
    torch.testing.assert_close(path.norm(dim=1), torch.full((11,), float(z_a.norm())), rtol=1e-5, atol=1e-5)
    # The linear path cuts inside the sphere: at t = 1/2 its norm is cos(angle / 2) times smaller.
    angle = torch.arccos(z_a @ z_b / (z_a.norm() * z_b.norm()))
    middle = widgets.lerp(z_a, z_b, 0.5).norm()
    assert float(middle) == pytest.approx(float(z_a.norm() * torch.cos(angle / 2)), rel=1e-5)


def test_slerp_moves_at_constant_angular_speed():
    z_a = torch.tensor([1.0, 0.0])
    z_b = torch.tensor([0.0, 1.0])
    point = widgets.slerp(z_a, z_b, 1 / 3)
    torch.testing.assert_close(point, torch.tensor([math.cos(math.pi / 6), math.sin(math.pi / 6)]))


def test_slerp_of_parallel_codes_falls_back_to_lerp():
    z_a = torch.tensor([1.0, 2.0, 3.0])
    torch.testing.assert_close(widgets.slerp(z_a, 2 * z_a, 0.5), 1.5 * z_a)
    torch.testing.assert_close(widgets.slerp(torch.zeros(3), z_a, 0.5), 0.5 * z_a)


@pytest.mark.parametrize("function", ["lerp", "slerp"])
def test_paths_validate_their_inputs(function):
    path = getattr(widgets, function)
    z_a, z_b = codes()
    with pytest.raises(ValueError, match=r"same shape, got \(4,\) and \(3,\)"):
        path(z_a, z_b[:3], 0.5)
    with pytest.raises(ValueError, match=r"t must lie in \[0, 1\]"):
        path(z_a, z_b, 1.5)
    with pytest.raises(ValueError, match=r"t must lie in \[0, 1\]"):
        path(z_a, z_b, torch.tensor([0.0, -0.1]))
    with pytest.raises(TypeError, match="must be a torch.Tensor"):
        path([0.0, 1.0], z_b, 0.5)
    with pytest.raises(ValueError, match="unknown path 'cubic'"):
        interpolation_path(z_a, z_b, 0.5, "cubic")


# ============================================================================ the interpolation widget


def test_interpolation_widget_redraws_when_the_slider_moves():
    z_a, z_b = codes()
    widget = widgets.interpolation(random_decoder(), z_a, z_b, steps=10)
    first = drawn(widget)
    assert first.startswith(PNG_SIGNATURE)
    widget.slider.value = 0.5
    assert drawn(widget) != first, "moving the slider did not redraw"
    assert widget.play.value == 5, "the play button should follow the slider"


def test_interpolation_widget_redraws_when_the_path_changes():
    z_a, z_b = codes()
    widget = widgets.interpolation(random_decoder(), z_a, z_b, steps=10)
    widget.slider.value = 0.5
    linear = drawn(widget)
    widget.path.value = "spherical"
    assert drawn(widget) != linear, "switching to the spherical path did not redraw"
    assert set(widget.path.options) == {"linear", "spherical"}


def test_play_button_drives_the_slider():
    z_a, z_b = codes()
    widget = widgets.interpolation(random_decoder(), z_a, z_b, steps=4)
    before = drawn(widget)
    widget.play.value = 4
    assert widget.slider.value == pytest.approx(1.0)
    assert drawn(widget) != before
    widget.play.value = 1
    assert widget.slider.value == pytest.approx(0.25)


def test_interpolation_widget_with_images_shows_the_pixel_blend():
    """With x_a and x_b the figure has the pixel-space blend and its filmstrip as well."""
    z_a, z_b = codes()
    x_a, x_b = torch.rand(1, 8, 8), torch.rand(64)  # any layout with 64 pixels
    figure = draw_interpolation(random_decoder(), z_a, z_b, 0.5, "linear", x_a, x_b)
    titles = [axes.get_title() or axes.get_title(loc="left") for axes in figure.axes]
    plt.close(figure)
    assert any("pixel blend" in title for title in titles)
    assert any("pixel path" in title for title in titles)
    widget = widgets.interpolation(random_decoder(), z_a, z_b, x_a=x_a, x_b=x_b)
    first = drawn(widget)
    widget.slider.value = 0.3
    assert drawn(widget) != first


def test_interpolation_widget_works_with_a_model_decoder():
    model = MLPAutoencoder(3, hidden_sizes=(8,))
    z_a, z_b = torch.randn(1, 3), torch.randn(1, 3)  # batch-of-one codes are accepted too
    widget = widgets.interpolation(model.decode, z_a, z_b)
    first = drawn(widget)
    widget.slider.value = 0.75
    assert drawn(widget) != first


def test_interpolation_widget_rejects_bad_arguments():
    z_a, z_b = codes()
    with pytest.raises(TypeError, match="decode must be callable"):
        widgets.interpolation("decoder", z_a, z_b)
    with pytest.raises(ValueError, match="same shape"):
        widgets.interpolation(random_decoder(), z_a, torch.randn(5))
    with pytest.raises(ValueError, match="give both x_a and x_b"):
        widgets.interpolation(random_decoder(), z_a, z_b, x_a=torch.rand(64))
    with pytest.raises(ValueError, match=r"x_b must be one image with 64 pixels"):
        widgets.interpolation(random_decoder(), z_a, z_b, x_a=torch.rand(64), x_b=torch.rand(63))
    with pytest.raises(ValueError, match="pass image_shape"):
        widgets.interpolation(random_decoder(pixels=60), z_a, z_b)
    widget = widgets.interpolation(random_decoder(pixels=60), z_a, z_b, image_shape=(6, 10))
    assert drawn(widget).startswith(PNG_SIGNATURE)


# ============================================================================ the 2-D latent map


def test_latent_map_draws_the_codes_and_the_decoded_grid():
    decode = random_decoder(code_size=2)
    points = torch.randn(50, 2)
    labels = torch.arange(50) % 10
    figure = widgets.latent_map(decode, extent=extent_of(points), n=6, codes=points, labels=labels)
    try:
        titles = [axes.get_title() for axes in figure.axes]
        assert "codes of the data" in titles and "decoded 6 x 6 grid of codes" in titles
        mosaic = figure.axes[1].get_images()[0].get_array()
        assert mosaic.shape == (6 * 9 - 1, 6 * 9 - 1)  # 6 tiles of 8 pixels, 1-pixel lines between
    finally:
        plt.close(figure)


def test_latent_map_extent_follows_the_codes_and_margin():
    decode = random_decoder(code_size=2)
    points = torch.tensor([[0.0, 0.0], [10.0, 4.0]]).repeat(20, 1)
    for margin, expected in [(0.1, (-1.0, 11.0)), (1.0, (-10.0, 20.0))]:
        figure = widgets.latent_map(decode, n=3, codes=points, margin=margin)
        try:
            assert figure.axes[1].get_xlim() == pytest.approx(expected)
        finally:
            plt.close(figure)


def test_latent_map_figure_size():
    decode = random_decoder(code_size=2)
    figure = widgets.latent_map(decode, extent=2.0, n=3)
    try:
        assert tuple(figure.get_size_inches()) == pytest.approx((11.0, 4.9))  # the default
    finally:
        plt.close(figure)
    figure = widgets.latent_map(decode, extent=2.0, n=3, figsize=(16, 7))
    try:
        assert tuple(figure.get_size_inches()) == pytest.approx((16.0, 7.0))
    finally:
        plt.close(figure)
    with pytest.raises(ValueError, match="figsize"):
        widgets.latent_map(decode, extent=2.0, n=3, figsize=(16,))


def test_latent_map_rejects_bad_arguments():
    decode = random_decoder(code_size=2)
    with pytest.raises(ValueError, match=r"codes must be a tensor of shape \(N, 2\)"):
        widgets.latent_map(decode, codes=torch.randn(5, 3))
    with pytest.raises(ValueError, match="x0 < x1"):
        widgets.latent_map(decode, extent=((1, 0), (0, 1)))
    with pytest.raises(ValueError, match="one per code"):
        widgets.latent_map(decode, codes=torch.randn(5, 2), labels=torch.zeros(4))


def test_latent_explorer_redraws_when_a_coordinate_moves():
    widget = widgets.latent_explorer(random_decoder(code_size=2), codes=torch.randn(30, 2), extent=3)
    first = drawn(widget)
    assert first.startswith(PNG_SIGNATURE)
    widget.z1.value = 2.0
    second = drawn(widget)
    assert second != first
    widget.z2.value = -2.5
    assert drawn(widget) != second


def test_the_paths_live_outside_the_widgets_and_are_re_exported():
    import importlib

    from course_gen import latent

    widget_module = importlib.import_module("course_gen.widgets.interpolation")

    assert widgets.lerp is latent.lerp and widgets.slerp is latent.slerp
    assert widget_module.interpolation_path is latent.interpolation_path and widget_module.PATHS == latent.PATHS


@pytest.mark.parametrize("function", ["lerp", "slerp"])
def test_nan_codes_and_nan_t_are_refused(function):
    from course_gen import latent

    z = torch.randn(4)
    with pytest.raises(ValueError, match="NaN"):
        getattr(latent, function)(torch.full((4,), float("nan")), z, 0.5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        getattr(latent, function)(z, -z, float("nan"))
    with pytest.raises(TypeError, match="floating-point"):
        getattr(latent, function)(z.to(torch.complex64), z.to(torch.complex64), 0.5)
    torch.testing.assert_close(getattr(latent, function)(z.double(), -z.double() + 1, 0.0), z.double())
