"""The notebook-08 widgets: the t-slider over a DDPM's forward process and the 2-D transport playground,
driven in plain Python (traitlets observers run synchronously)."""

from __future__ import annotations

import base64
import io
import math
import time

import numpy as np
import pytest
import torch
from PIL import Image

from course_gen.diffusion import DDPM
from course_gen.runtime import single_thread
from course_gen.widgets.diffusion import (BACKLOG_GAP_S, DiffusionViewer, TransportPlayground, diffusion_viewer,
                                          slider_steps, transport_playground)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TARGET = torch.tensor([1.0, 2.0])


class PointMassFlow:
    """A stand-in with the toy models' interface: the straight-line flow to the point ``TARGET``,
    x_s = (1 - s) x_0 + s c with velocity (c - x) / (1 - s); its "SDE" adds a seeded bridge noise."""

    def __init__(self, stochastic: bool = True):
        self.has_sde = stochastic

    def velocity(self, x, s):
        return (TARGET - x) / max(1.0 - float(s), 0.05)

    def transport(self, x_start, steps, stochastic=False, seed=0):
        if stochastic and not self.has_sde:
            raise ValueError("no stochastic sampler")
        s = torch.linspace(0, 1, steps + 1)[:, None, None]
        path = (1 - s) * x_start + s * TARGET
        if stochastic:
            noise = torch.randn(path.shape, generator=torch.Generator().manual_seed(seed))
            path = path + 0.3 * (s * (1 - s)).sqrt() * noise
        return path


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    with single_thread():  # as notebook_setup() runs the widgets; two threads on a busy machine cost 10x here
        yield


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)))


@pytest.fixture(scope="module")
def digits():
    return (torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(0)) > 0.6).float()


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return DDPM(T=200, channels=8)


@pytest.fixture(scope="module")
def viewer_box(model, digits):
    return diffusion_viewer(model, digits, seed=3)


# ============================================================================ the t-slider


def test_slider_steps_are_log_spaced_then_even():
    steps = slider_steps(1000)
    assert steps[:4] == [1, 2, 3, 4] and steps[-1] == 1000 and steps == sorted(set(steps))
    assert 40 <= len(steps) <= 70 and max(np.diff(steps)) <= 1000 // 30


def test_a_slider_move_redraws_the_noisy_digits_the_guess_and_the_snr(viewer_box, model, digits):
    viewer = viewer_box.viewer
    t = viewer_box.t.options[-5]
    before = bytes(viewer_box.image.value)
    viewer_box.t.value = t
    assert bytes(viewer_box.image.value) != before and viewer.t == t
    # x_t from the closed form with the seeded noise, the guess from the model itself
    abar = float(torch.prod(1 - model.betas.double()[:t]))
    eps = torch.randn(digits.shape, generator=torch.Generator().manual_seed(3))
    x0 = 2 * digits - 1
    xt = math.sqrt(abar) * x0 + math.sqrt(1 - abar) * eps
    guess = model.predict_x0(xt, torch.full((len(digits),), t))
    shown = viewer._image.get_array()
    width = len(digits) * 30 - 2
    for row, expected in enumerate([x0, xt, guess]):
        tiles = np.stack([shown[row * 30:row * 30 + 28, k * 30:k * 30 + 28] for k in range(len(digits))])
        assert shown.shape[1] == width
        np.testing.assert_allclose(tiles, ((expected[:, 0] + 1) / 2).clamp(0, 1).numpy(), atol=1e-5)
    snr = abar / (1 - abar)
    assert viewer.snr(t) == pytest.approx(snr, rel=1e-9)
    assert f"sqrt(abar_t) = {math.sqrt(abar):.3f}" in viewer._text.get_text()
    assert f"= {snr:.3g}" in viewer._text.get_text()
    np.testing.assert_allclose(np.ravel(viewer._marker.get_data()), [t, snr])


def test_moving_back_shows_the_same_noise_and_a_fresh_draw_matches(viewer_box, model, digits):
    first, second = viewer_box.t.options[3], viewer_box.t.options[-2]
    viewer_box.t.value = first
    picture = bytes(viewer_box.image.value)
    viewer_box.t.value = second
    viewer_box.t.value = first
    assert bytes(viewer_box.image.value) == picture
    # the redraw over the kept background leaves nothing of the previous step: same as a fresh viewer
    fresh = DiffusionViewer(model, digits, seed=3)
    fresh.show(first)
    np.testing.assert_array_equal(pixels(fresh.png()), pixels(picture))
    other = DiffusionViewer(model, digits, seed=4)
    other.show(first)
    assert not torch.equal(other.noisy(first), fresh.noisy(first))


def test_the_saved_notebook_keeps_the_current_frame(viewer_box):
    viewer_box.t.value = viewer_box.t.options[10]
    bundle = viewer_box._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert base64.b64decode(bundle["image/png"]) == bytes(viewer_box.image.value)
    assert bytes(viewer_box.image.value).startswith(PNG_SIGNATURE)


def test_viewer_bad_input(model, digits):
    with pytest.raises(TypeError, match="model must be a course_gen.diffusion.DDPM"):
        diffusion_viewer(torch.nn.Linear(2, 2), digits)
    with pytest.raises(ValueError, match=r"images must be images \(B, 1, 28, 28\)"):
        diffusion_viewer(model, torch.zeros(2, 1, 14, 14))
    with pytest.raises(ValueError, match="images"):
        diffusion_viewer(model, 2 * digits)
    with pytest.raises(ValueError, match="images must hold 1 to 12"):
        diffusion_viewer(model, torch.zeros(13, 1, 28, 28))
    with pytest.raises(ValueError, match="steps"):
        diffusion_viewer(model, digits, steps=[1, 201])
    with pytest.raises(ValueError, match="t must be"):
        DiffusionViewer(model, digits).show(0)


# ============================================================================ the transport playground


@pytest.fixture
def play_box():
    return transport_playground(PointMassFlow(), data=TARGET + 0.1 * torch.randn(50, 2), n=30, steps=8, seed=0,
                                grid=6)


def test_each_frame_shows_the_path_and_the_models_field_at_its_time(play_box):
    playground = play_box.playground
    path = playground.path()
    start = torch.randn(30, 2, generator=torch.Generator().manual_seed(0))
    for k in (0, 3, 8):
        play_box.frame.value = k
        s = k / 8
        np.testing.assert_allclose(playground._points.get_offsets(), ((1 - s) * start + s * TARGET).numpy(), atol=1e-6)
        np.testing.assert_allclose(path[k], playground._points.get_offsets())
        field = PointMassFlow().velocity(playground.grid_points, s).numpy()
        np.testing.assert_allclose(playground._quiver.U, field[:, 0], rtol=1e-6)
        np.testing.assert_allclose(playground._quiver.V, field[:, 1], rtol=1e-6)
        assert f"s = {s:.2f}" in playground._title.get_text()


def test_step_and_play_advance_the_frame_and_stale_ticks_are_dropped(play_box):
    pictures = {bytes(play_box.image.value)}
    play_box.step_button.click()
    assert play_box.frame.value == 1 and bytes(play_box.image.value) not in pictures
    pictures.add(bytes(play_box.image.value))
    play_box.play.value += 1
    play_box.play.value += 1  # arrives at once, as a tick queued behind a slow one does
    assert play_box.frame.value == 2 and bytes(play_box.image.value) not in pictures
    time.sleep(2 * BACKLOG_GAP_S)
    play_box.play.value += 1
    assert play_box.frame.value == 3 and play_box.playground.frame == 3
    play_box.frame.value = 8
    play_box.step_button.click()
    assert play_box.frame.value == 0, "after the last frame play starts again"


def test_sde_paths_differ_from_the_ode_and_are_seeded(play_box):
    playground = play_box.playground
    play_box.frame.value = 4
    ode = bytes(play_box.image.value)
    play_box.mode.value = "SDE"
    assert bytes(play_box.image.value) != ode and playground.stochastic
    assert not np.allclose(playground.path(True), playground.path(False))
    np.testing.assert_array_equal(playground._points.get_offsets(), playground.path(True)[4])
    np.testing.assert_allclose(playground.path(True)[[0, -1]], playground.path(False)[[0, -1]], atol=1e-6)
    again = TransportPlayground(PointMassFlow(), data=playground.data, n=30, steps=8, seed=0, stochastic=True, grid=6)
    np.testing.assert_array_equal(again.path(), playground.path(True))
    play_box.seed.value = 5
    assert not np.allclose(playground.path(True, 5), playground.path(True, 0))
    again.set_seed(5)
    again.show(4)
    np.testing.assert_array_equal(pixels(again.png()), pixels(bytes(play_box.image.value)))


def test_a_model_without_an_sde_disables_the_toggle():
    box = transport_playground(PointMassFlow(stochastic=False), n=10, steps=4, grid=4)
    assert box.mode.disabled and not box.playground.supports_sde
    with pytest.raises(ValueError, match="no stochastic sampler"):
        TransportPlayground(PointMassFlow(stochastic=False), n=10, steps=4, stochastic=True)


def test_blitted_frames_equal_fresh_drawings_and_the_frame_is_saved(play_box):
    for _ in range(5):
        play_box.step_button.click()
    fresh = TransportPlayground(PointMassFlow(), data=play_box.playground.data, n=30, steps=8, seed=0, grid=6)
    fresh.show(5)
    np.testing.assert_array_equal(pixels(fresh.png()), pixels(bytes(play_box.image.value)))
    bundle = play_box._repr_mimebundle_()
    assert base64.b64decode(bundle["image/png"]) == bytes(play_box.image.value)


class WrongPath(PointMassFlow):
    def transport(self, x_start, steps, stochastic=False, seed=0):
        return super().transport(x_start, steps - 1, stochastic, seed)


def test_playground_bad_input():
    with pytest.raises(TypeError, match=r"velocity\(x, s\) and transport"):
        transport_playground(DDPM(T=10, channels=8))
    with pytest.raises(ValueError, match="steps must be"):
        transport_playground(PointMassFlow(), steps=0)
    with pytest.raises(ValueError, match="n must be"):
        TransportPlayground(PointMassFlow(), n=10**6)
    with pytest.raises(ValueError, match=r"data .*must have shape \(\*, 2\)"):
        TransportPlayground(PointMassFlow(), data=torch.zeros(5, 3))
    with pytest.raises(ValueError, match=r"the path \(steps \+ 1, n, 2\)"):
        TransportPlayground(WrongPath(), n=5, steps=4)
    with pytest.raises(ValueError, match="frame must be"):
        TransportPlayground(PointMassFlow(), n=5, steps=4).show(5)


def test_the_toy_models_in_the_playground():
    from course_gen.diffusion import toy

    for model, sde in ((toy.ToyDiffusion(T=20, hidden=16, seed=0), True), (toy.FlowMatching(hidden=16, seed=0), False)):
        box = transport_playground(model, n=20, steps=5, grid=5)
        playground = box.playground
        assert playground.supports_sde is sde and box.mode.disabled is not sde
        box.step_button.click()
        box.step_button.click()
        with torch.no_grad():
            field = model.velocity(playground.grid_points, 2 / 5).numpy()
        arrows = np.stack([playground._quiver.U, playground._quiver.V], 1)
        np.testing.assert_allclose(arrows, field, rtol=1e-5, atol=1e-6)
        if sde:
            box.mode.value = "SDE"
            assert not np.allclose(playground.path(True), playground.path(False))
