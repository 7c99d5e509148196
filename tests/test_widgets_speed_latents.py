"""The sped-up pictures of the GAN playground, the interpolation, the latent explorer and the latent traversal
are the pictures they claim to be: redrawing only what moves over a kept background gives exactly what a full
draw gives, a change touches only the panels it should, moving a control and back gives the same PNG, and
what is cached equals what is computed afresh. (No timings here: see benchmarks/bench_widgets.py.)"""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

widgets = pytest.importorskip("course_gen.widgets")

from course_gen.latent import interpolation_path  # noqa: E402
from course_gen.vae import VAE  # noqa: E402
from course_gen.widgets._figure_view import BACKLOG_GAP_S  # noqa: E402
from course_gen.widgets.interpolation import _decode_images  # noqa: E402
from course_gen.widgets.vae import traverse  # noqa: E402
from widget_helpers import assert_shown_at_its_size, fully_drawn, pixels  # noqa: E402


def shown(box) -> np.ndarray:
    return pixels(box.image.value)


def assert_blitted_is_full(box, live) -> None:
    blitted = shown(box)
    full = fully_drawn(live)
    assert blitted.shape == full.shape
    assert np.array_equal(blitted, full), f"{int((blitted != full).any(-1).sum())} pixels differ from a full draw"


def changed_only_inside(before: np.ndarray, after: np.ndarray, axes_list, figure) -> None:
    """Every pixel that changed lies inside one of ``axes_list`` (with their titles)."""
    changed = (before != after).any(-1)
    assert changed.any(), "nothing changed"
    allowed = np.zeros_like(changed)
    height = changed.shape[0]
    renderer = figure.canvas.get_renderer()
    for ax in axes_list:
        box = ax.get_tightbbox(renderer)
        x0, x1 = int(np.floor(box.x0)) - 1, int(np.ceil(box.x1)) + 1
        y0, y1 = height - int(np.ceil(box.y1)) - 1, height - int(np.floor(box.y0)) + 1
        allowed[max(y0, 0):y1, max(x0, 0):x1] = True
    assert not (changed & ~allowed).any(), "a change redrew pixels outside the panels it concerns"


# ============================================================================ GAN playground


def test_gan_playground_blitted_frames_are_full_draws_and_the_title_follows_k():
    box = widgets.gan_playground(steps_per_click=3, seed=0)
    live = box.playground.live
    assert_blitted_is_full(box, live)  # before any step: the prompt on the right
    box.step_button.click()
    assert_blitted_is_full(box, live)
    time.sleep(2 * BACKLOG_GAP_S)
    box.play.value += 1
    assert_blitted_is_full(box, live)
    before = shown(box)
    box.k.value = 2
    changed_only_inside(before, shown(box), [box.playground.live.figure.axes[0]], live.figure)
    box.k.value = 1
    assert np.array_equal(shown(box), before)
    assert_shown_at_its_size(box)


# ============================================================================ interpolation


def random_decoder(code_size: int = 4, side: int = 8, seed: int = 0):
    weights = torch.randn(code_size, side * side, generator=torch.Generator().manual_seed(seed))

    def decode(z):
        return torch.sigmoid(z @ weights)

    return decode


@pytest.fixture(scope="module")
def codes():
    generator = torch.Generator().manual_seed(1)
    return torch.randn(4, generator=generator), torch.randn(4, generator=generator)


@pytest.mark.parametrize("with_images", [False, True])
def test_interpolation_redraws_only_the_moving_panels_and_matches_a_full_draw(codes, with_images):
    z_a, z_b = codes
    images = dict(x_a=torch.rand(64), x_b=torch.rand(1, 8, 8)) if with_images else {}
    box = widgets.interpolation(random_decoder(), z_a, z_b, steps=10, **images)
    live = box.live
    figure = live.figure
    top, strips = figure.axes[:4 if with_images else 3], figure.axes[4 if with_images else 3:]
    moving_axes = [top[1], *([top[2]] if with_images else []), *strips]
    assert_blitted_is_full(box, live)
    start = shown(box)
    box.slider.value = 0.7
    assert_blitted_is_full(box, live)
    changed_only_inside(start, shown(box), moving_axes, figure)
    box.path.value = "spherical"
    assert_blitted_is_full(box, live)
    box.path.value = "linear"
    box.slider.value = 0.0
    assert np.array_equal(shown(box), start), "moving t and the path and back must give the same picture"
    assert_shown_at_its_size(box)


def test_interpolation_cached_decodings_equal_fresh_ones(codes):
    z_a, z_b = codes
    decode = random_decoder()
    box = widgets.interpolation(decode, z_a, z_b, steps=4, path="spherical", frames=5)
    picture = box.picture
    for path in ("spherical", "linear"):
        ts = torch.tensor([0.0, 0.25, 0.5, 0.75, 1.0], dtype=torch.float64)
        fresh_codes = interpolation_path(z_a, z_b, ts, path)
        fresh = _decode_images(decode, fresh_codes, None)
        torch.testing.assert_close(picture.path_frames(path), fresh)
        for k, t in enumerate(ts.tolist()):
            image, norm = picture.decoded(path, t)
            torch.testing.assert_close(image, fresh[k])
            assert norm == pytest.approx(float(fresh_codes[k].double().norm()))
    # a t off the slider's grid is decoded when asked, and kept
    image, _ = picture.decoded("linear", 0.3)
    torch.testing.assert_close(image, _decode_images(decode, interpolation_path(z_a, z_b, 0.3, "linear")[None], None)[0])
    assert picture.decoded("linear", 0.3)[0] is image


def test_interpolation_after_moves_shows_what_a_new_widget_shows(codes):
    z_a, z_b = codes
    decode = random_decoder()
    moved = widgets.interpolation(decode, z_a, z_b, steps=10)
    for t in (0.3, 0.9, 0.6):
        moved.slider.value = t
    moved.path.value = "spherical"
    fresh = widgets.interpolation(decode, z_a, z_b, steps=10, path="spherical")
    fresh.slider.value = 0.6
    assert bytes(moved.image.value) == bytes(fresh.image.value)


# ============================================================================ latent explorer


def test_latent_explorer_moves_only_the_star_and_the_decoding():
    box = widgets.latent_explorer(random_decoder(code_size=2), codes=torch.randn(40, 2),
                                  labels=torch.arange(40) % 10, extent=3)
    live = box.live
    figure = live.figure
    start = shown(box)
    box.z1.value = 2.0
    assert_blitted_is_full(box, live)
    after = shown(box)
    changed_only_inside(start, after, [figure.axes[0], figure.axes[1]], figure)  # the map (star) and the image
    colorbar = figure.axes[2]
    renderer = figure.canvas.get_renderer()
    bar = colorbar.get_window_extent(renderer)
    rows = slice(start.shape[0] - int(bar.y1), start.shape[0] - int(bar.y0))
    assert np.array_equal(start[rows, int(bar.x0):int(bar.x1)], after[rows, int(bar.x0):int(bar.x1)])
    box.z2.value = -2.5
    assert_blitted_is_full(box, live)
    box.z1.value, box.z2.value = 0.0, 0.0
    assert np.array_equal(shown(box), start)
    assert_shown_at_its_size(box)


# ============================================================================ latent traversal


@pytest.fixture(scope="module")
def vae_and_images():
    torch.manual_seed(0)
    return VAE(latent_dim=3, hidden_sizes=(16,)).eval(), torch.rand(6, 1, 8, 8, generator=torch.Generator().manual_seed(1))


def test_latent_traversal_matches_a_full_draw_and_returns_to_the_same_picture(vae_and_images):
    model, images = vae_and_images
    box = widgets.latent_traversal(model, images)
    live = box.live
    start = shown(box)
    for control, value in (("value", 2.5), ("latent", (box.latent.value + 1) % 3), ("index", 4)):
        getattr(box, control).value = value
        assert_blitted_is_full(box, live)
    box.index.value, box.latent.value, box.value.value = 0, int(box.picture.kl.argmax()), 0.0
    assert np.array_equal(shown(box), start)
    assert_shown_at_its_size(box)


def test_latent_traversal_cached_decodings_equal_fresh_ones(vae_and_images):
    model, images = vae_and_images
    box = widgets.latent_traversal(model, images)
    picture = box.picture
    box.index.value = 3
    image, mu, reconstruction, mosaic = picture.of_image(3)
    with torch.no_grad():
        fresh_mu, _ = model.encode(images[3:4])
        torch.testing.assert_close(mu, fresh_mu)
        torch.testing.assert_close(reconstruction, model.decode(fresh_mu)[0])
        code = fresh_mu.clone()
        code[0, 1] = -1.5
        torch.testing.assert_close(picture.moved(3, 1, -1.5), model.decode(code)[0])
    grid = traverse(model, images[3:4], picture.values)
    assert mosaic.shape == (3 * 9 - 1, 9 * 9 - 1)
    np.testing.assert_array_equal(mosaic[9:17, 18:26], grid[1, 2, 0].numpy())  # row 1 (latent 1), column 2
    assert picture.of_image(3)[3] is mosaic  # kept, not recomputed
