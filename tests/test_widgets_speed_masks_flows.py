"""Mask, receptive-field, coupling-mask viewers and the flow playground, drawn once and redrawn in place.

What the speed-up must not break: a picture updated in place (artists moved, kept pictures reused) equals
the picture drawn from scratch for the same settings; cached numbers equal freshly computed ones; the
picture is shown at its pixel size; the flow playground's play frames run to the identity and back.
"""

from __future__ import annotations


import numpy as np
import pytest
import torch

widgets = pytest.importorskip("course_gen.widgets")

from course_gen import autoregressive as ar  # noqa: E402
from course_gen.flows import coupling_mask  # noqa: E402
from course_gen.widgets import _figure_view  # noqa: E402
from course_gen.widgets.flows import PLAY_FRAMES, CouplingMaskViewer, FlowPlayground, play_strength  # noqa: E402
from course_gen.widgets.masks import MaskViewer  # noqa: E402
from course_gen.widgets.receptive_field import FieldProbe, ReceptiveFieldViewer, random_model  # noqa: E402
from widget_helpers import assert_shown_at_its_size, fully_drawn, pixels  # noqa: E402

torch.set_num_threads(1)


def assert_same_picture(png: bytes, expected: bytes) -> None:
    first, second = pixels(png), pixels(expected)
    assert first.shape == second.shape
    assert np.array_equal(first, second), f"{int((first != second).any(-1).sum())} pixels differ"


# ---------------------------------------------------------------------------------------------- mask viewer


def test_mask_viewer_updated_in_place_equals_a_fresh_drawing():
    box = widgets.mask_viewer()
    first = bytes(box.image.value)
    for control, value in [("n_inputs", 9), ("ordering", "random"), ("seed", 7), ("view", "masked convolution"),
                           ("colour", True), ("kernel_size", 7), ("view", "MADE"), ("n_inputs", 4), ("seed", 2)]:
        getattr(box, control).value = value
    fresh = MaskViewer()
    fresh.show("MADE", 4, "random", 2, 7, True)
    assert_same_picture(box.image.value, fresh.png())  # nothing left over from 9 inputs or the conv panels
    assert np.array_equal(pixels(box.image.value), fully_drawn(fresh.live))  # panels drawn over the kept titles
    box.view.value = "masked convolution"
    fresh.show("masked convolution", 4, "random", 2, 7, True)
    assert_same_picture(box.image.value, fresh.png())
    box.view.value, box.n_inputs.value, box.ordering.value, box.seed.value = "MADE", 5, "natural", 0
    assert_same_picture(box.image.value, first)  # back to the start: the first picture again
    assert_shown_at_its_size(box)
    assert "image/png" in box._repr_mimebundle_()


def test_mask_viewer_writes_the_path_counts_of_the_masks_it_shows():
    viewer = MaskViewer()
    viewer.show("MADE", 6, "random", 3)
    degrees = ar.made_degrees(6, (12, 12), torch.randperm(6, generator=torch.Generator().manual_seed(3)), 3)
    masks = ar.made_masks(degrees)
    paths = masks[2] @ masks[1] @ masks[0]
    order = torch.argsort(degrees[0])
    expected = [str(int(v)) for v in paths[order][:, order].flatten()]
    assert viewer.made.numbers.texts == expected
    assert np.array_equal(viewer.made.numbers.get_offsets(), [(col, row) for row in range(6) for col in range(6)])
    assert viewer.made.labels[0].rows.texts == [str(int(d)) for d in degrees[1]]  # h1's degrees left of input -> h1
    assert np.array_equal(viewer.made.images[0].get_array(), masks[0].numpy())
    with pytest.raises(ValueError, match="kernel_size"):
        viewer.show("masked convolution", kernel_size=4)


# ---------------------------------------------------------------------------------------------- receptive fields


@pytest.mark.parametrize("kind", ["PixelCNN", "Gated PixelCNN"])
def test_field_probe_equals_the_gradient_computed_pixel_by_pixel(kind):
    model = random_model(kind, 2, 3, 4)
    probe = FieldProbe(model, (6, 5))
    for pixel in [(0, 0), (3, 2), (5, 4), (2, 4)]:
        expected = ar.receptive_field(model, (6, 5), pixel).numpy()
        assert np.array_equal(probe.field(pixel) != 0, expected != 0)
        np.testing.assert_allclose(probe.field(pixel), expected, rtol=1e-12, atol=0)
        assert np.array_equal(probe.nominal(pixel), ar.nominal_receptive_field(model, (6, 5), pixel).numpy())


def test_receptive_field_viewer_updated_in_place_equals_a_fresh_drawing():
    box = widgets.receptive_field_viewer(shape=(8, 8), max_layers=4)
    first = bytes(box.image.value)
    for control, value in [("col", 1), ("n_layers", 4), ("model", "Gated PixelCNN"), ("kernel_size", 5),
                           ("row", 2), ("model", "PixelCNN | Gated PixelCNN")]:
        getattr(box, control).value = value
    fresh = ReceptiveFieldViewer((8, 8))
    fresh.show("PixelCNN | Gated PixelCNN", 5, 4, 2, 1)
    assert_same_picture(box.image.value, fresh.png())
    titles = [panel.ax.get_title() for panel in box.viewer.panels]
    assert titles[0].startswith("PixelCNN, 4 layers") and titles[1].startswith("Gated PixelCNN, 4 layers")
    box.model.value = "PixelCNN"
    assert not box.viewer.panels[1].ax.get_visible()
    box.model.value, box.kernel_size.value, box.n_layers.value, box.row.value, box.col.value = \
        "PixelCNN | Gated PixelCNN", 3, 3, 5, 4
    assert_same_picture(box.image.value, first)
    assert_shown_at_its_size(box)


# ---------------------------------------------------------------------------------------------- coupling masks


def test_coupling_viewer_updated_in_place_equals_a_fresh_drawing_and_resizes_its_picture():
    box = widgets.coupling_mask_viewer()
    first, width = bytes(box.image.value), box.image.layout.width
    box.n_layers.value = 6
    wide = box.image.layout.width
    box.alternate.value = False
    box.n_layers.value = 3
    assert_shown_at_its_size(box)
    assert int(wide[:-2]) > int(width[:-2]) > int(box.image.layout.width[:-2])
    assert int(wide[:-2]) <= 900
    fresh = CouplingMaskViewer()
    fresh.show(3, False)
    assert_same_picture(box.image.value, fresh.png())
    numbers = [int(text) for text in fresh.panels.numbers[2].texts]  # checkerboard, 6 x 6
    transformed = sum(1 - coupling_mask("checkerboard", (1, 6, 6)) for _ in range(3))[0]
    assert numbers == transformed.flatten().int().tolist()
    box.n_layers.value, box.alternate.value = 4, True
    assert_same_picture(box.image.value, first)
    assert_shown_at_its_size(box)


# ---------------------------------------------------------------------------------------------- flow playground


def test_flow_playground_updated_in_place_equals_a_fresh_drawing():
    box = widgets.flow_playground()
    first = bytes(box.image.value)
    for control, value in [("u1", -1.2), ("w2", 1.0), ("kind", "radial"), ("beta", -0.3), ("kind", "planar"),
                           ("b", 0.5), ("strength", 0.4)]:
        getattr(box, control).value = value
    fresh = FlowPlayground()
    fresh.show("planar", {"u": (-1.2, 0.0), "w": (2.0, 1.0), "b": 0.5}, 0.4)
    assert_same_picture(box.image.value, fresh.png())
    # the moving artists drawn over the kept background = the whole figure drawn at once, inside the right panel
    whole = fully_drawn(fresh.live)
    x0, y0, x1, y1 = fresh.pictures.right.get_window_extent().extents
    height = whole.shape[0]
    inside = (slice(int(height - y1) + 2, int(height - y0) - 2), slice(int(x0) + 2, int(x1) - 2))
    assert np.array_equal(pixels(box.image.value)[inside], whole[inside])
    box.u1.value, box.w2.value, box.b.value, box.strength.value = 1.5, 0.0, 0.0, 1.0
    assert_same_picture(box.image.value, first)
    assert_shown_at_its_size(box)
    with pytest.raises(ValueError, match="strength"):
        fresh.show("radial", {"alpha": 0.5, "beta": 1.0}, 1.5)


def test_play_runs_the_map_down_to_the_identity_and_back(monkeypatch):
    monkeypatch.setattr(_figure_view, "BACKLOG_GAP_S", 0.0)  # ticks in a test come back to back: keep them all
    box = widgets.flow_playground("radial")
    chosen = bytes(box.image.value)
    frames, strengths = [], []
    for tick in range(1, 2 * PLAY_FRAMES + 1):
        box.play.value = tick
        frames.append(bytes(box.image.value))
        strengths.append(box.strength.value)
    assert strengths[PLAY_FRAMES - 1] == 0 and strengths[-1] == 1
    assert strengths[:PLAY_FRAMES] == sorted(strengths[:PLAY_FRAMES], reverse=True)
    assert len(set(frames[:PLAY_FRAMES])) == PLAY_FRAMES  # every frame a new picture
    assert_same_picture(frames[-1], chosen)  # it ends on the chosen map
    identity = box.playground.pictures
    x1, x2, density = identity.pushed("radial", {"alpha": 0.5, "beta": 0.0})
    z = identity.z_corners.numpy()
    assert np.allclose(x1.ravel(), z[:, 0]) and np.allclose(x2.ravel(), z[:, 1])
    assert np.allclose(density.ravel(), identity.base_density.numpy())
    assert [play_strength(k) for k in (0, PLAY_FRAMES, 2 * PLAY_FRAMES)] == [1.0, 0.0, 1.0]
