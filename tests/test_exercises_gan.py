"""Notebook 06's checkers accept the reference answers and name each known mistake; answers that
delegate to the package, return NaN or the wrong type, or are not attempted get no points."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from course_gen import divergences, gan
from course_gen.exercises import (
    check_discriminator_loss, check_equilibrium_question, check_gan_training_step, check_generator_loss, check_jsd,
)

from exercise_helpers import assert_rejected, not_attempted

pytestmark = pytest.mark.usefixtures("one_thread")

DELEGATES = "does the whole exercise"


# ============================================================================ D loss


def d_loss(d_real, d_fake):
    return -(torch.log(d_real).mean() + torch.log(1 - d_fake).mean())


def test_discriminator_loss_accepts_the_reference():
    feedback = check_discriminator_loss(d_loss)
    assert feedback.passed and str(feedback).startswith("\u2714"), feedback
    assert check_discriminator_loss(lambda r, f: d_loss(r.float(), f.float())).passed  # float32 is fine


def test_discriminator_loss_rejects_flipped_labels():
    flipped = lambda r, f: -(torch.log(1 - r).mean() + torch.log(f).mean())  # noqa: E731
    feedback = check_discriminator_loss(flipped)
    assert_rejected(feedback, "labels are flipped")
    assert str(feedback).startswith("\u2718")


def test_discriminator_loss_rejects_sign_sum_pooled_mean_bits():
    assert_rejected(check_discriminator_loss(lambda r, f: -d_loss(r, f)), "sign is flipped")
    assert_rejected(check_discriminator_loss(lambda r, f: -(torch.log(r).sum() + torch.log(1 - f).sum())), "summed")
    pooled = lambda r, f: -torch.log(torch.cat([r, 1 - f])).mean()  # noqa: E731
    assert_rejected(check_discriminator_loss(pooled), "both batches together")
    assert_rejected(check_discriminator_loss(lambda r, f: d_loss(r, f) / math.log(2)), "bits")


def test_discriminator_loss_reports_shape_type_nan_and_unattempted():
    assert_rejected(check_discriminator_loss(lambda r, f: torch.log(r)), "ONE number")
    assert_rejected(check_discriminator_loss(lambda r, f: d_loss(r, f) + 0.1), "is off")
    assert_rejected(check_discriminator_loss(lambda r, f: float(d_loss(r, f))), "torch.Tensor", "float")
    assert_rejected(check_discriminator_loss(lambda r, f: torch.tensor(float("nan"))), "finite", "nan")
    assert_rejected(check_discriminator_loss(lambda r, f: torch.tensor(float("inf"))), "finite", "inf")
    assert_rejected(check_discriminator_loss("-log D"), "should be a function")
    assert_rejected(check_discriminator_loss(not_attempted), "not attempted")


def test_discriminator_loss_rejects_delegation():
    via_logits = lambda r, f: gan.discriminator_loss(torch.logit(r), torch.logit(f))  # noqa: E731
    assert_rejected(check_discriminator_loss(via_logits), "course_gen.gan.discriminator_loss", DELEGATES)
    def bce(r, f):
        return F.binary_cross_entropy(r, torch.ones_like(r)) + F.binary_cross_entropy(f, torch.zeros_like(f))

    assert_rejected(check_discriminator_loss(bce), "binary_cross_entropy", DELEGATES)

    def module(r, f):  # nn.BCELoss calls F.binary_cross_entropy
        return torch.nn.BCELoss()(r, torch.ones_like(r)) + torch.nn.BCELoss()(f, torch.zeros_like(f))

    assert_rejected(check_discriminator_loss(module), "binary_cross_entropy", DELEGATES)
    from course_gen.exercises.gan import _reference_discriminator_loss

    assert_rejected(check_discriminator_loss(_reference_discriminator_loss), DELEGATES)


# ============================================================================ the question


def test_equilibrium_question_accepts_minus_log_4():
    assert check_equilibrium_question(lambda: -math.log(4)).passed
    assert check_equilibrium_question(lambda: 2 * math.log(0.5)).passed
    assert check_equilibrium_question(lambda: torch.tensor(-1.3863)).passed  # three digits are enough


@pytest.mark.parametrize("wrong, phrase", [
    (0.0, "JSD"), (math.log(2), "never positive"), (-math.log(2), "only one of the two terms"),
    (math.log(4), "sign is flipped"), (-2.0, "bits"), (0.5, "D*(x)"),
])
def test_equilibrium_question_explains_each_wrong_answer(wrong, phrase):
    assert_rejected(check_equilibrium_question(lambda: wrong), phrase)


def test_equilibrium_question_hides_the_answer_and_rejects_bad_values():
    feedback = check_equilibrium_question(lambda: 3.0)
    assert_rejected(feedback, "not right")
    assert "1.386" not in feedback.message
    assert_rejected(check_equilibrium_question(lambda: float("nan")), "finite")
    assert_rejected(check_equilibrium_question(lambda: "-log 4"), "should be a number", "str")
    assert_rejected(check_equilibrium_question(not_attempted), "not attempted")
    p = torch.tensor([0.25, 0.75], dtype=torch.float64)
    computed = lambda: gan.minimax_value(p, p, gan.optimal_discriminator(p, p))  # noqa: E731
    assert_rejected(check_equilibrium_question(computed), "minimax_value", DELEGATES)


# ============================================================================ G loss


def test_generator_loss_accepts_the_reference():
    assert check_generator_loss(lambda f: -torch.log(f).mean()).passed


def test_generator_loss_rejects_the_saturating_log_1_minus_d():
    assert_rejected(check_generator_loss(lambda f: torch.log(1 - f).mean()), "SATURATING")


def test_generator_loss_rejects_other_mistakes():
    assert_rejected(check_generator_loss(lambda f: -torch.log(1 - f).mean()), "-log(1 - D(G(z)))")
    assert_rejected(check_generator_loss(lambda f: torch.log(f).mean()), "sign is flipped")
    assert_rejected(check_generator_loss(lambda f: -torch.log(f).sum()), "summed")
    assert_rejected(check_generator_loss(lambda f: -torch.log2(f).mean()), "bits")
    assert_rejected(check_generator_loss(lambda f: -torch.log(f)), "ONE number")
    assert_rejected(check_generator_loss(lambda f: torch.tensor(float("nan"))), "finite", "nan")
    assert_rejected(check_generator_loss(lambda f: [0.5]), "torch.Tensor", "list")
    assert_rejected(check_generator_loss(not_attempted), "not attempted")


def test_generator_loss_rejects_delegation():
    assert_rejected(check_generator_loss(lambda f: gan.generator_loss(torch.logit(f))), "generator_loss", DELEGATES)
    assert_rejected(check_generator_loss(lambda f: F.binary_cross_entropy(f, torch.ones_like(f))), DELEGATES)


# ============================================================================ JSD


def jsd_reference(p, q):
    m = (p + q) / 2
    return 0.5 * torch.xlogy(p, p / m).sum() + 0.5 * torch.xlogy(q, q / m).sum()


def test_jsd_accepts_the_reference():
    assert check_jsd(jsd_reference).passed
    assert check_jsd(lambda p, q: float(jsd_reference(p, q))).passed  # a Python float is a number too


def test_jsd_rejects_a_log_base_mix_up():
    def in_bits(p, q):
        m = (p + q) / 2
        return 0.5 * (torch.xlogy(p, p / m) / math.log(2)).sum() + 0.5 * (torch.xlogy(q, q / m) / math.log(2)).sum()

    assert_rejected(check_jsd(in_bits), "bits")


def test_jsd_rejects_missing_halves_kl_and_nan():
    assert_rejected(check_jsd(lambda p, q: 2 * jsd_reference(p, q)), "1/2 factors")

    def half(p, q):
        m = (p + q) / 2
        return 0.5 * torch.xlogy(p, p / m).sum()

    assert_rejected(check_jsd(half), "only half")
    symmetrised = lambda p, q: 0.5 * (torch.xlogy(p, p / q).sum() + torch.xlogy(q, q / p).sum())  # noqa: E731
    assert_rejected(check_jsd(symmetrised), "symmetrised KL")

    def naive(p, q):  # 0 * log 0 gives NaN
        m = (p + q) / 2
        return 0.5 * (p * torch.log(p / m)).sum() + 0.5 * (q * torch.log(q / m)).sum()

    assert_rejected(check_jsd(naive), "NaN", "0 log 0")
    assert_rejected(check_jsd(not_attempted), "not attempted")


def test_jsd_rejects_kl_inf_and_wrong_types():
    def kl_pq(p, q):  # finite on the first cases (full support), so the checker names it there
        return torch.xlogy(p, p / q).sum()

    assert_rejected(check_jsd(kl_pq), "KL(p || q)")
    assert_rejected(check_jsd(lambda p, q: torch.tensor(float("inf"))), "infinite")
    assert_rejected(check_jsd(lambda p, q: float("nan")), "NaN")
    assert_rejected(check_jsd(lambda p, q: "0.3"), "should be a number", "str")
    assert_rejected(check_jsd(lambda p, q: jsd_reference(p, q).repeat(2)), "one number")
    assert_rejected(check_jsd(None), "should be a function")


def test_jsd_rejects_delegation():
    assert_rejected(check_jsd(divergences.jsd), "course_gen.divergences.jsd", DELEGATES)
    assert_rejected(check_jsd(lambda p, q: divergences.jsd(p, q)), DELEGATES)
    via_kl = lambda p, q: 0.5 * divergences.kl(p, (p + q) / 2) + 0.5 * divergences.kl(q, (p + q) / 2)  # noqa: E731
    assert_rejected(check_jsd(via_kl), "course_gen.divergences.kl", DELEGATES)
    via_game = lambda p, q: (gan.minimax_value(p, q, gan.optimal_discriminator(p, q)) + math.log(4)) / 2  # noqa: E731
    assert_rejected(check_jsd(via_game), DELEGATES)
    from scipy.spatial.distance import jensenshannon

    assert_rejected(check_jsd(lambda p, q: float(jensenshannon(p.numpy(), q.numpy())) ** 2), "jensenshannon", DELEGATES)


# ============================================================================ one training step


def make_step(*, d_steps=None, zero_d="each", zero_g="before", detach=True, g_loss="non-saturating", g_noise=-1,
              update_d=True, update_g=True, detach_in_g=False, pooled=False, g_first=False):
    """A student's training step, right by default, with one of the common mistakes when asked."""

    def d_step(generator, discriminator, opt_d, real, z):
        fake = generator(z).detach() if detach else generator(z)
        if pooled:  # one BCE over the real and fake batches together: half of -V (equal batch sizes)
            out = discriminator(torch.cat([real, fake]))
            labels = torch.cat([torch.ones(len(real)), torch.zeros(len(fake))])
            loss = F.softplus(-(2 * labels - 1) * out).mean()
        else:
            loss = F.softplus(-discriminator(real)).mean() + F.softplus(discriminator(fake)).mean()
        if zero_d == "each":
            opt_d.zero_grad()
        loss.backward()
        if update_d:
            opt_d.step()

    def g_step(generator, discriminator, opt_g, z):
        fake = generator(z)
        if detach_in_g:
            fake = fake.detach()
        logits = discriminator(fake)
        loss = -F.softplus(logits).mean() if g_loss == "minimax" else F.softplus(-logits).mean()
        if zero_g == "before":
            opt_g.zero_grad()
        loss.backward()
        if update_g:
            opt_g.step()

    def step(generator, discriminator, opt_g, opt_d, real_batches, noise_batches):
        k = len(real_batches) if d_steps is None else d_steps
        if zero_g == "start":
            opt_g.zero_grad()
        if g_first:
            g_step(generator, discriminator, opt_g, noise_batches[g_noise])
        if zero_d == "once":
            opt_d.zero_grad()
        for i in range(k):
            d_step(generator, discriminator, opt_d, real_batches[i], noise_batches[i])
        if not g_first:
            g_step(generator, discriminator, opt_g, noise_batches[g_noise])

    return step


def reference_step(generator, discriminator, opt_g, opt_d, real_batches, noise_batches):
    """The notebook's solution: the package's losses on logits, fakes made under no_grad."""
    k = len(real_batches)
    for real, z in zip(real_batches, noise_batches[:k]):
        with torch.no_grad():
            fake = generator(z)
        loss_d = gan.discriminator_loss(discriminator(real), discriminator(fake))
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
    loss_g = gan.generator_loss(discriminator(generator(noise_batches[k])), "non-saturating")
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()


def scaled_step(d_scale: float, g_scale: float):
    """The reference step with its losses scaled: a wrong step that is none of the named mistakes."""

    def step(generator, discriminator, opt_g, opt_d, real_batches, noise_batches):
        k = len(real_batches)
        for real, z in zip(real_batches, noise_batches[:k]):
            with torch.no_grad():
                fake = generator(z)
            opt_d.zero_grad()
            (d_scale * gan.discriminator_loss(discriminator(real), discriminator(fake))).backward()
            opt_d.step()
        opt_g.zero_grad()
        (g_scale * gan.generator_loss(discriminator(generator(noise_batches[k])), "non-saturating")).backward()
        opt_g.step()

    return step


def test_training_step_unknown_mistakes_say_which_network_differs_and_by_how_much():
    assert_rejected(check_gan_training_step(scaled_step(3.0, 1.0)), "the discriminator's parameters", "largest difference")
    assert_rejected(check_gan_training_step(scaled_step(1.0, 3.0)), "the generator's parameters", "largest difference")


def test_training_step_accepts_the_reference_and_equivalent_answers():
    assert check_gan_training_step(reference_step).passed
    assert check_gan_training_step(make_step()).passed  # softplus by hand, detach() instead of no_grad

    def via_probabilities(generator, discriminator, opt_g, opt_d, real_batches, noise_batches):
        k = len(real_batches)
        for i in range(k):
            d_real = torch.sigmoid(discriminator(real_batches[i]))
            d_fake = torch.sigmoid(discriminator(generator(noise_batches[i]).detach()))
            discriminator.zero_grad()
            (-(torch.log(d_real).mean() + torch.log(1 - d_fake).mean())).backward()
            opt_d.step()
        generator.zero_grad()
        (-torch.log(torch.sigmoid(discriminator(generator(noise_batches[-1])))).mean()).backward()
        opt_g.step()

    assert check_gan_training_step(via_probabilities).passed


@pytest.mark.parametrize("mistake, phrases", [
    ({"detach": False, "zero_g": "start"}, ["not detached", "updated by the DISCRIMINATOR's loss"]),
    ({"detach": False, "zero_g": "never"}, ["not detached", "updated by the DISCRIMINATOR's loss"]),
    ({"detach": False}, ["backpropagated into the generator", "torch.no_grad()"]),
    ({"g_loss": "minimax"}, ["SATURATING"]),
    ({"d_steps": 1}, ["only ONE discriminator step"]),
    ({"update_d": False}, ["discriminator was not updated at all"]),
    ({"zero_d": "never"}, ["forgot opt_d.zero_grad()"]),
    ({"zero_d": "once"}, ["only once", "opt_d.zero_grad() in every step"]),
    ({"zero_g": "never"}, ["forgot opt_g.zero_grad()"]),
    ({"g_noise": 0}, ["fresh noise", "noise_batches[0]"]),
    ({"g_noise": -2}, ["fresh noise", "noise_batches[k - 1]"]),
    ({"update_g": False}, ["generator was not updated"]),
    ({"detach_in_g": True}, ["generator was not updated", "without detaching"]),
    ({"pooled": True}, ["half of -V", "together"]),
    ({"g_first": True}, ["generator stepped first"]),
])
def test_training_step_names_each_mistake(mistake, phrases):
    assert_rejected(check_gan_training_step(make_step(**mistake)), *phrases)


def test_training_step_counts_the_optimiser_steps():
    def two_generator_steps(generator, discriminator, opt_g, opt_d, real_batches, noise_batches):
        reference_step(generator, discriminator, opt_g, opt_d, real_batches, noise_batches)
        opt_g.step()

    assert_rejected(check_gan_training_step(two_generator_steps), "opt_g.step() ran 2 times")

    def k_plus_one(generator, discriminator, opt_g, opt_d, real_batches, noise_batches):
        reference_step(generator, discriminator, opt_g, opt_d, real_batches, noise_batches)
        opt_d.step()

    assert_rejected(check_gan_training_step(k_plus_one), "opt_d.step() ran")


def test_training_step_rejects_nan_wrong_type_unattempted_and_delegation():
    def nan_step(generator, discriminator, opt_g, opt_d, real_batches, noise_batches):
        reference_step(generator, discriminator, opt_g, opt_d, real_batches, noise_batches)
        with torch.no_grad():
            next(discriminator.parameters()).fill_(float("nan"))

    assert_rejected(check_gan_training_step(nan_step), "NaN")
    assert_rejected(check_gan_training_step(42), "should be a function", "int")
    assert_rejected(check_gan_training_step(not_attempted), "not attempted")
    assert_rejected(check_gan_training_step(lambda *args: None), "not updated at all")

    def via_trainer(generator, discriminator, opt_g, opt_d, real_batches, noise_batches):
        trainer = gan.GANTrainer(generator, discriminator, torch.cat(real_batches), k=len(real_batches))
        trainer.step()

    assert_rejected(check_gan_training_step(via_trainer), "GANTrainer.step", DELEGATES)
    from course_gen.exercises.gan import _reference_step

    assert_rejected(check_gan_training_step(_reference_step), DELEGATES)


def test_training_step_checks_are_deterministic_and_do_not_touch_the_global_seed():
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    first = check_gan_training_step(make_step(g_loss="minimax"))
    after = torch.rand(3)
    assert torch.equal(before, after)
    assert first.message == check_gan_training_step(make_step(g_loss="minimax")).message
