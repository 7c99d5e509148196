"""The GAN playground: stepping it trains the GAN, moves the fakes and redraws, in plain Python."""

from __future__ import annotations

import time

import pytest
import torch

from course_gen.widgets.gan import BACKLOG_GAP_S, GANPlayground, gan_playground


@pytest.fixture(scope="module")
def box():
    return gan_playground(dataset="8gaussians", steps_per_click=5, seed=0)


def test_one_step_click_trains_redraws_and_moves_the_fakes(box):
    before_image, before_fakes = bytes(box.image.value), box.playground.fake_samples()
    before_heat = box.playground.trainer.discriminator(torch.zeros(1, 2)).item()
    box.step_button.click()
    assert box.playground.steps_done == 5
    assert bytes(box.image.value) != before_image
    assert not torch.allclose(box.playground.fake_samples(), before_fakes)
    assert box.playground.trainer.discriminator(torch.zeros(1, 2)).item() != before_heat


def test_play_ticks_train_and_controls_reach_the_trainer(box):
    steps = box.playground.steps_done
    box.play.value += 1
    assert box.playground.steps_done == steps + 5
    box.k.value = 3
    box.lr_d.value = 1e-2
    assert box.playground.trainer.k == 3
    assert box.playground.trainer.opt_d.param_groups[0]["lr"] == pytest.approx(1e-2)
    before = bytes(box.image.value)
    box.loss.value = "least-squares"
    assert box.playground.trainer.loss == "least-squares" and bytes(box.image.value) != before


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
    assert playground.draw() is not None


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown dataset 'donut'"):
        GANPlayground("donut")
    with pytest.raises(ValueError, match="unknown loss"):
        gan_playground(loss="hinge")
    with pytest.raises(ValueError, match="steps_per_click"):
        gan_playground(steps_per_click=0)


def test_play_ticks_queued_while_busy_are_dropped(box):
    steps = box.playground.steps_done
    box.play.value += 1
    box.play.value += 1  # arrives at once, as a tick queued behind a slow one does
    assert box.playground.steps_done == steps + 5
    time.sleep(2 * BACKLOG_GAP_S)
    box.play.value += 1
    assert box.playground.steps_done == steps + 10
