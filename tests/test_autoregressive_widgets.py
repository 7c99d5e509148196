"""Mask viewer and receptive-field viewer: they draw, and redraw when a control changes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest
import torch

widgets = pytest.importorskip("course_gen.widgets")

from course_gen.widgets.masks import draw_conv_masks, draw_made_masks  # noqa: E402
from course_gen.widgets.receptive_field import draw_receptive_fields, layers_label, random_model  # noqa: E402

torch.set_num_threads(1)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def drawn(widget) -> bytes:
    return bytes(widget.image.value)


def test_widgets_are_exported():
    assert callable(widgets.mask_viewer) and callable(widgets.receptive_field_viewer)


@pytest.mark.parametrize(
    "control, value",
    [("n_inputs", 7), ("ordering", "random"), ("seed", 3), ("view", "masked convolution")],
)
def test_mask_viewer_redraws_on_made_controls(control, value):
    box = widgets.mask_viewer()
    before = drawn(box)
    assert before.startswith(PNG_SIGNATURE)
    getattr(box, control).value = value
    assert drawn(box) != before


@pytest.mark.parametrize("control, value", [("kernel_size", 3), ("colour", True)])
def test_mask_viewer_redraws_on_conv_controls(control, value):
    box = widgets.mask_viewer()
    box.view.value = "masked convolution"
    before = drawn(box)
    getattr(box, control).value = value
    assert drawn(box) != before


def test_made_mask_figure_has_one_panel_per_layer_and_the_product():
    fig = draw_made_masks(4, (6, 5, 7))
    assert len(fig.axes) == 5
    plt.close(fig)


def test_conv_mask_figure_per_colour_group():
    grey, colour = draw_conv_masks(5, False), draw_conv_masks(5, True)
    assert len(grey.axes) == 2 and len(colour.axes) == 18
    plt.close(grey)
    plt.close(colour)


@pytest.mark.parametrize("control, value", [("n_layers", 4), ("row", 3), ("col", 2), ("kernel_size", 5),
                                            ("model", "Gated PixelCNN")])
def test_receptive_field_viewer_redraws(control, value):
    box = widgets.receptive_field_viewer(shape=(10, 10), max_layers=4)
    before = drawn(box)
    assert before.startswith(PNG_SIGNATURE)
    getattr(box, control).value = value
    assert drawn(box) != before


def test_receptive_field_figure_counts_the_blind_spot():
    fig = draw_receptive_fields([("plain", random_model("PixelCNN", 3)), ("gated", random_model("Gated PixelCNN", 3))],
                                (12, 12), (8, 6))
    titles = [ax.get_title() for ax in fig.axes]
    assert "blind spot: 3 pixels" in titles[0] and "blind spot: 0 pixels" in titles[1]
    plt.close(fig)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: widgets.mask_viewer(n_inputs=1), ValueError, "n_inputs must be an int >= 2"),
        (lambda: draw_made_masks(4, (5,), ordering="reverse"), ValueError, "unknown ordering"),
        (lambda: widgets.receptive_field_viewer(max_layers=0), ValueError, "max_layers"),
        (lambda: draw_receptive_fields([]), ValueError, "at least one"),
        (lambda: random_model("RNN", 2), ValueError, "unknown kind"),
    ],
)
def test_bad_arguments_raise(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_layer_titles_agree_in_number():
    assert layers_label(1) == "1 layer" and layers_label(2) == "2 layers" and layers_label(0) == "0 layers"


def test_random_model_is_seeded_and_leaves_the_callers_random_stream_alone():
    random_model.cache_clear()
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    model = random_model("PixelCNN", 2, seed=4)
    assert torch.equal(torch.rand(3), expected)
    random_model.cache_clear()
    torch.manual_seed(4)
    again = type(model)(n_layers=2, hidden_channels=8, kernel_size=3)
    assert all(torch.equal(p, q) for p, q in zip(random_model("PixelCNN", 2, seed=4).parameters(), again.parameters()))


@pytest.mark.parametrize("models, error, message", [
    ([random_model("PixelCNN", 1)], TypeError, r"\(title, model\) pairs"),
    ([("plain", 3)], TypeError, "model must be a NADE"),
    ("plain", TypeError, r"\(title, model\) pairs"),
])
def test_receptive_field_figure_checks_its_models(models, error, message):
    with pytest.raises(error, match=message):
        draw_receptive_fields(models, (6, 6), (3, 3))
