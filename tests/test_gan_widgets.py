"""The GAN playground: stepping it trains the GAN, moves the fakes and redraws, in plain Python.
(That its redrawn picture is the full figure: tests/test_widgets_speed_latents.py.)"""

from __future__ import annotations

import time

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from course_gen.widgets.gan import BACKLOG_GAP_S, PLAY_SECONDS, GANPlayground, draw_playground, gan_playground


@pytest.fixture(scope="module")
def box():
    return gan_playground(dataset="8gaussians", steps_per_click=5, seed=0)


def tick(box) -> int:
    """One play tick that is not dropped as a backlog; returns the steps it trained."""
    time.sleep(2 * BACKLOG_GAP_S)
    before = box.playground.steps_done
    box.play.value += 1
    return box.playground.steps_done - before


def test_one_step_click_trains_redraws_and_moves_the_fakes(box):
    before_image, before_fakes = bytes(box.image.value), box.playground.fake_samples()
    before_heat = box.playground.trainer.discriminator(torch.zeros(1, 2)).item()
    box.step_button.click()
    assert box.playground.steps_done == 5
    assert bytes(box.image.value) != before_image
    assert not torch.allclose(box.playground.fake_samples(), before_fakes)
    assert box.playground.trainer.discriminator(torch.zeros(1, 2)).item() != before_heat


def test_step_trains_exactly_steps_per_click_and_play_trains_within_the_cap(box):
    box.steps_per_click.value = 7
    before = box.playground.steps_done
    box.step_button.click()
    assert box.playground.steps_done == before + 7
    for _ in range(3):
        picture = bytes(box.image.value)
        assert 1 <= tick(box) <= 7, "a play tick trains at least one step and at most steps_per_click"
        assert bytes(box.image.value) != picture, "a play tick redraws"
    box.steps_per_click.value = 5


def test_train_for_stops_at_the_time_budget_or_the_cap():
    playground = GANPlayground("ring", hidden=8, batch_size=16)
    assert playground.train_for(60.0, 4) == 4 and playground.steps_done == 4  # time to spare: the cap
    assert playground.train_for(1e-9, 50) == 1 and playground.steps_done == 5  # no time: still one step
    started = time.perf_counter()
    steps = playground.train_for(PLAY_SECONDS, 100_000)
    assert 1 <= steps < 100_000 and time.perf_counter() - started < 30 * PLAY_SECONDS
    with pytest.raises(ValueError, match="seconds"):
        playground.train_for(0.0, 3)
    with pytest.raises(ValueError, match="max_steps"):
        playground.train_for(1.0, 0)


def test_play_ticks_train_and_controls_reach_the_trainer(box):
    assert tick(box) >= 1
    box.k.value = 3
    box.lr_d.value = 1e-2
    assert box.playground.trainer.k == 3
    assert box.playground.trainer.opt_d.param_groups[0]["lr"] == pytest.approx(1e-2)
    before = bytes(box.image.value)
    box.loss.value = "least-squares"
    assert box.playground.trainer.loss == "least-squares" and bytes(box.image.value) != before


def test_moving_a_control_and_back_gives_the_same_picture(box):
    loss, k = box.loss.value, box.k.value
    picture = bytes(box.image.value)
    box.k.value = k + 1
    assert bytes(box.image.value) != picture, "the title names k"
    box.loss.value = "minimax" if loss != "minimax" else "non-saturating"
    box.loss.value = loss
    box.k.value = k
    assert bytes(box.image.value) == picture


def test_static_figure_shows_what_the_widget_shows(box):
    figure = draw_playground(box.playground)
    try:
        live_axes, static_axes = box.playground.live.figure.axes, figure.axes
        assert [ax.get_title(loc) for ax in static_axes for loc in ("left", "center", "right")] == \
               [ax.get_title(loc) for ax in live_axes for loc in ("left", "center", "right")]
        np.testing.assert_array_equal(static_axes[0].get_images()[0].get_array(),
                                      live_axes[0].get_images()[0].get_array())
    finally:
        plt.close(figure)


def test_reset_and_data_set_change_restart(box):
    box.reset_button.click()
    assert box.playground.steps_done == 0
    first_fakes = box.playground.fake_samples()
    box.dataset.value = "moons"
    assert box.playground.dataset == "moons" and box.playground.steps_done == 0
    assert torch.allclose(box.playground.fake_samples(), first_fakes)  # same seed, same start


def test_state_can_be_stepped_without_widgets():
    playground = GANPlayground("ring", loss="minimax", k=2, seed=1)
    playground.step(3)
    assert playground.trainer.history.steps == 3 and len(playground.trainer.history.metrics["jsd_estimate"]) == 3
    figure = playground.draw()
    assert figure is not None
    plt.close(figure)
    assert playground.png().startswith(b"\x89PNG")


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown dataset 'donut'"):
        GANPlayground("donut")
    with pytest.raises(ValueError, match="unknown loss"):
        gan_playground(loss="hinge")
    with pytest.raises(ValueError, match="steps_per_click"):
        gan_playground(steps_per_click=0)


def test_play_ticks_queued_while_busy_are_dropped(box):
    assert tick(box) >= 1
    steps = box.playground.steps_done
    box.play.value += 1  # arrives at once, as a tick queued behind a slow one does
    assert box.playground.steps_done == steps
    assert tick(box) >= 1
