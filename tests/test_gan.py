"""The GAN theory (optimal discriminator, value of the game), losses, networks and training loop."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from course_gen import gan
from course_gen.data import toy2d, toy2d_log_prob
from course_gen.divergences import jsd
from course_gen.train import TrainingDivergedError


pytestmark = pytest.mark.usefixtures("one_thread")


def random_pair(size, seed):
    g = torch.Generator().manual_seed(seed)
    p = torch.rand(size, generator=g, dtype=torch.float64) ** 3
    q = torch.rand(size, generator=g, dtype=torch.float64) ** 3
    return p / p.sum(), q / q.sum()


# ============================================================================ theory


@pytest.mark.parametrize("seed", range(5))
def test_value_at_the_optimal_discriminator_is_minus_log4_plus_2_jsd(seed):
    p_data, p_g = random_pair(12, seed)
    d_star = gan.optimal_discriminator(p_data, p_g)
    value = gan.minimax_value(p_data, p_g, d_star)
    assert float(value) == pytest.approx(-math.log(4) + 2 * float(jsd(p_data, p_g)), abs=1e-6)


def test_equal_distributions_give_d_half_and_value_minus_log4():
    p, _ = random_pair(6, 9)
    assert torch.allclose(gan.optimal_discriminator(p, p), torch.full((6,), 0.5, dtype=torch.float64))
    assert float(gan.minimax_value(p, p, gan.optimal_discriminator(p, p))) == pytest.approx(-math.log(4))


def test_disjoint_supports_value_zero_where_jsd_is_log2():
    p_data = torch.tensor([0.5, 0.5, 0.0, 0.0])
    p_g = torch.tensor([0.0, 0.0, 0.25, 0.75])
    d_star = gan.optimal_discriminator(p_data, p_g)
    assert d_star.tolist() == [1.0, 1.0, 0.0, 0.0]
    assert float(gan.minimax_value(p_data, p_g, d_star)) == pytest.approx(0.0, abs=1e-12)


def test_optimal_discriminator_beats_random_discriminators():
    p_data, p_g = random_pair(10, 3)
    best = float(gan.minimax_value(p_data, p_g, gan.optimal_discriminator(p_data, p_g)))
    g = torch.Generator().manual_seed(0)
    for _ in range(200):
        d = torch.rand(10, generator=g, dtype=torch.float64).clamp(1e-6, 1 - 1e-6)
        assert float(gan.minimax_value(p_data, p_g, d)) < best
    # and small perturbations of D* around it too (a local maximum, not just a good guess)
    d_star = gan.optimal_discriminator(p_data, p_g)
    for _ in range(50):
        nudged = (d_star + 1e-3 * torch.randn(10, generator=g, dtype=torch.float64)).clamp(1e-9, 1 - 1e-9)
        assert float(gan.minimax_value(p_data, p_g, nudged)) <= best + 1e-12


def test_minimax_value_batches_and_matches_the_definition():
    p_data, p_g = random_pair(5, 1)
    d = torch.linspace(0.1, 0.9, 5, dtype=torch.float64)
    expected = float((p_data * torch.log(d) + p_g * torch.log(1 - d)).sum())
    assert float(gan.minimax_value(p_data, p_g, d)) == pytest.approx(expected)
    stacked = gan.minimax_value(torch.stack([p_data, p_g]), torch.stack([p_g, p_data]), torch.stack([d, d]))
    assert stacked.shape == (2,)


def test_theory_input_errors():
    with pytest.raises(ValueError, match="same shape"):
        gan.optimal_discriminator(torch.ones(3) / 3, torch.ones(4) / 4)
    with pytest.raises(ValueError, match=">= 0"):
        gan.optimal_discriminator(torch.tensor([-0.1, 1.1]), torch.tensor([0.5, 0.5]))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        gan.minimax_value(torch.tensor([0.5, 0.5]), torch.tensor([0.5, 0.5]), torch.tensor([0.5, 1.5]))
    with pytest.raises(ValueError, match="NaN"):
        gan.minimax_value(torch.tensor([0.5, 0.5]), torch.tensor([0.5, 0.5]), torch.tensor([0.5, float("nan")]))
    with pytest.raises(TypeError, match="Tensor or a NumPy array"):
        gan.optimal_discriminator({"a": 1}, torch.tensor([0.5, 0.5]))


# ============================================================================ losses


def test_losses_match_their_formulas_in_terms_of_d():
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(50, generator=g), torch.randn(40, generator=g)
    d_real, d_fake = torch.sigmoid(real), torch.sigmoid(fake)
    expected_d = -(torch.log(d_real).mean() + torch.log(1 - d_fake).mean())
    for loss in ("minimax", "non-saturating"):
        assert torch.allclose(gan.discriminator_loss(real, fake, loss), expected_d, atol=1e-6)
    assert torch.allclose(gan.generator_loss(fake, "minimax"), torch.log(1 - d_fake).mean(), atol=1e-6)
    assert torch.allclose(gan.generator_loss(fake, "non-saturating"), -torch.log(d_fake).mean(), atol=1e-6)
    ls = 0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake**2).mean()
    assert torch.allclose(gan.discriminator_loss(real, fake, "least-squares"), ls)
    assert torch.allclose(gan.generator_loss(fake, "least-squares"), 0.5 * ((fake - 1) ** 2).mean())


def test_saturating_gradient_vanishes_when_d_rejects_the_fakes():
    logits = torch.tensor([-12.0], requires_grad=True)  # D(G(z)) ~ 6e-6
    (saturating,) = torch.autograd.grad(gan.generator_loss(logits, "minimax"), logits)
    (non_saturating,) = torch.autograd.grad(gan.generator_loss(logits, "non-saturating"), logits)
    assert abs(float(saturating)) < 1e-5 and float(non_saturating) == pytest.approx(-1.0, abs=1e-4)


def test_losses_are_stable_for_extreme_logits_and_check_names():
    extreme = torch.tensor([-200.0, 200.0])
    for loss in gan.LOSSES:
        assert torch.isfinite(gan.discriminator_loss(extreme, extreme, loss))
        assert torch.isfinite(gan.generator_loss(extreme, loss))
    with pytest.raises(ValueError, match="unknown loss 'wgan'"):
        gan.generator_loss(extreme, "wgan")
    with pytest.raises(TypeError, match="logits"):
        gan.discriminator_loss([0.0], extreme)


def test_jsd_estimate_is_exact_at_the_optimal_discriminator_in_expectation():
    # discrete p_data, p_g on 3 points; weights instead of samples: E over the batch = the sums
    p_data = torch.tensor([0.2, 0.3, 0.5], dtype=torch.float64)
    p_g = torch.tensor([0.5, 0.4, 0.1], dtype=torch.float64)
    d = gan.optimal_discriminator(p_data, p_g)
    real = d.repeat_interleave((p_data * 10).long())  # 2, 3, 5 copies
    fake = d.repeat_interleave((p_g * 10).long())
    assert gan.jsd_estimate(real, fake) == pytest.approx(float(jsd(p_data, p_g)), abs=1e-9)


# ============================================================================ networks


def test_network_shapes_and_sample_range():
    generator, discriminator = gan.dcgan(image_size=8, latent_dim=5, seed=0)
    images = generator.sample(7, seed=1)
    assert images.shape == (7, 1, 8, 8) and images.min() >= 0 and images.max() <= 1
    assert torch.equal(images, generator.sample(7, seed=1))
    assert discriminator(images).shape == (7,)
    big_g, big_d = gan.dcgan(image_size=16, seed=0)
    assert big_g.sample(3).shape == (3, 1, 16, 16) and big_d(big_g.sample(3)).shape == (3,)
    g2, d2 = gan.mlp_gan(seed=0)
    assert g2.sample(4).shape == (4, 2) and d2(torch.zeros(4, 2)).shape == (4,)


def test_network_input_errors():
    generator, discriminator = gan.dcgan(image_size=8, seed=0)
    with pytest.raises(ValueError, match=r"shape \(n, 1, 8, 8\)"):
        discriminator(torch.zeros(2, 1, 16, 16))
    with pytest.raises(ValueError, match=r"z must have shape \(n, 16\)"):
        generator(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="28 or a power of 2"):
        gan.dcgan(image_size=12)


def test_dcgan_28x28_shapes():
    """MNIST's 28x28: the generator starts from a 7x7 map; the discriminator ends on one."""
    generator, discriminator = gan.dcgan(image_size=28, latent_dim=5, seed=0)
    images = generator(torch.randn(3, 5))
    assert images.shape == (3, 1, 28, 28)
    assert discriminator(images).shape == (3,)
    assert generator.net[0].kernel_size == (7, 7)


# ============================================================================ training


def test_trainer_reproducible_and_k_discriminator_steps():
    x = toy2d("moons", 500, seed=0)
    runs = []
    for _ in range(2):
        g, d = gan.mlp_gan(hidden=16, seed=0)
        runs.append(gan.train_gan(g, d, x, steps=5, k=3, batch_size=32, device="cpu", seed=4))
    assert runs[0].loss == runs[1].loss and runs[0].metrics == runs[1].metrics
    assert set(runs[0].metrics) == {"d_loss", "d_real", "d_fake", "jsd_estimate"}

    g, d = gan.mlp_gan(hidden=16, seed=0)
    trainer = gan.GANTrainer(g, d, x, k=3, batch_size=32, device="cpu")
    counts = {"d": 0, "g": 0}
    original_d, original_g = trainer.opt_d.step, trainer.opt_g.step

    def counting(name, fn):
        def wrapped(*args, **kwargs):
            counts[name] += 1
            return fn(*args, **kwargs)
        return wrapped

    trainer.opt_d.step, trainer.opt_g.step = counting("d", original_d), counting("g", original_g)
    trainer.run(4)
    assert counts == {"d": 12, "g": 4}


def test_discriminator_learns_the_optimal_discriminator_for_a_fixed_generator():
    # p_data: 8 gaussians (exact density); p_g: N(0, 1.5^2 I), also exact
    real = toy2d("8gaussians", 3000, seed=0)
    fake = 1.5 * torch.randn(3000, 2, generator=torch.Generator().manual_seed(1))
    _, discriminator = gan.mlp_gan(seed=0)
    gan.fit_discriminator(discriminator, real, fake, steps=600, device="cpu", seed=0)
    points = toy2d("8gaussians", 500, seed=5)
    log_g = torch.distributions.Normal(0.0, 1.5).log_prob(points).sum(1)
    d_star = gan.optimal_discriminator(toy2d_log_prob("8gaussians", points).exp(), log_g.exp())
    d = gan.discriminator_probability(discriminator, points)
    assert (d.double() - d_star).abs().mean() < 0.08


def test_mode_collapse_diagnostic_and_a_gan_that_learns_8_gaussians():
    centres = torch.tensor([[2 * math.cos(a), 2 * math.sin(a)] for a in np.arange(8) * math.pi / 4])
    assert gan.mode_coverage(toy2d("8gaussians", 2000, seed=1), centres, 0.6) == (8, pytest.approx(1 - math.exp(-4.5), abs=0.01))  # 3 std in 2-D
    collapsed = centres[:1] + 0.1 * torch.randn(500, 2, generator=torch.Generator().manual_seed(0))
    assert gan.mode_coverage(collapsed, centres, 0.6)[0] == 1
    g, d = gan.mlp_gan(seed=0)
    before = gan.mode_coverage(g.sample(1000, seed=0), centres, 0.6)[1]
    gan.train_gan(g, d, toy2d("8gaussians", 2000, seed=0), steps=400, lr_g=1e-3, lr_d=1e-3, device="cpu", seed=0)
    after = gan.mode_coverage(g.sample(1000, seed=0), centres, 0.6)[1]
    assert after > before + 0.2


def test_trainer_divergence_and_input_errors():
    x = toy2d("moons", 100, seed=0)
    g, d = gan.mlp_gan(hidden=8, seed=0)
    with pytest.raises(ValueError, match="unknown loss"):
        gan.GANTrainer(g, d, x, loss="hinge")
    with pytest.raises(ValueError, match="k must be an int >= 1"):
        gan.GANTrainer(g, d, x, k=0)
    with pytest.raises(TypeError, match="course_gen.gan generator"):
        gan.GANTrainer(torch.nn.Linear(2, 2), d, x)
    with pytest.raises(ValueError, match="NaN or inf"):
        gan.GANTrainer(g, d, torch.full((10, 2), float("nan")))
    with torch.no_grad():
        for p in d.parameters():
            p.fill_(float("nan"))
    with pytest.raises(TrainingDivergedError, match="discriminator loss became nan"):
        gan.train_gan(g, d, x, steps=2, device="cpu")


def test_bilinear_game_spirals_out_at_the_predicted_rate():
    path = gan.bilinear_game(1.0, 0.0, lr=0.1, steps=50)
    radius = np.linalg.norm(path, axis=1)
    np.testing.assert_allclose(radius, (1 + 0.1**2) ** (np.arange(51) / 2), rtol=1e-12)
    alternating = np.linalg.norm(gan.bilinear_game(1.0, 0.0, lr=0.1, steps=500, simultaneous=False), axis=1)
    assert alternating.max() < 1.1 and alternating.min() > 0.9


def test_nearest_neighbours():
    pool = torch.eye(4).reshape(4, 1, 2, 2)
    index, distance = gan.nearest_neighbours(pool[[2, 0]] + 0.01, pool)
    assert index.tolist() == [2, 0] and torch.allclose(distance, torch.full((2,), 0.02, dtype=torch.float64))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_training_on_cuda():
    g, d = gan.dcgan(seed=0)
    history = gan.train_gan(g, d, torch.rand(64, 1, 8, 8), steps=3, batch_size=16, device="cuda")
    assert history.device.startswith("cuda") and g.sample(2).device.type == "cpu"


# ============================================================================ every layer printed; shapes GAN; k-NN factors


def test_dcgan_generator_prints_its_tanh_and_the_shipped_weights_still_load():
    """The output tanh and the map to [0, 1] are modules: the printed architecture shows every layer that runs."""
    from course_gen import checkpoints, pretrained

    generator = pretrained.build("dcgan")
    text = repr(generator)
    assert "Tanh()" in text and "ToUnitInterval" in text
    assert isinstance(generator.net[-1], torch.nn.Tanh)
    # the parameter-free modules add no state-dict keys: the shipped file loads strictly
    state = checkpoints.load_checkpoint("dcgan")
    assert set(state) == set(generator.state_dict())
    shipped = pretrained.load("dcgan", device="cpu")
    z = torch.randn(5, shipped.latent_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        h = shipped.net[:-1](z[:, :, None, None])  # everything up to the tanh
        assert torch.allclose(shipped(z), (torch.tanh(h) + 1) / 2, atol=1e-6)
    assert "FromUnitInterval" in repr(gan.dcgan(image_size=28, seed=0)[1])


def test_discriminator_sees_inputs_in_minus_one_to_one():
    _, discriminator = gan.dcgan(image_size=8, seed=0)
    x = torch.rand(3, 1, 8, 8)
    discriminator.eval()
    with torch.no_grad():
        assert torch.allclose(discriminator(x), discriminator.net(2 * x - 1).reshape(-1))


def test_upright_shapes_keep_the_factors_but_not_the_rotation():
    images, factors = gan.upright_shapes(20, size=28, seed=3)
    assert images.shape == (20, 1, 28, 28) and bool((factors["rotation"] == 0).all())
    from course_gen.data import shapes

    _, random_factors = shapes(20, size=8, seed=3)
    assert torch.equal(factors["shape"], random_factors["shape"]) and torch.equal(factors["scale"], random_factors["scale"])
    low, high = gan.CENTRE_RANGE
    assert bool(((factors["x"] >= low) & (factors["x"] <= high)).all())
    # nothing touches the border; an upright square (nearly) fills its bounding box, whose side
    # is 2 * 0.4 * scale / sqrt(2) image widths
    assert images[:, 0, [0, -1], :].sum() == 0 and images[:, 0, :, [0, -1]].sum() == 0
    for i in (factors["shape"] == 0).nonzero().flatten().tolist():
        rows = images[i, 0].sum(1).nonzero().flatten()
        cols = images[i, 0].sum(0).nonzero().flatten()
        box = (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)
        assert images[i, 0].sum() >= box - 4 and images[i, 0].sum() >= 0.8 * box
        side = 2 * 0.2 * gan.SIZE_FACTOR * float(factors["scale"][i]) / math.sqrt(2) * 28
        assert abs(int(rows.max() - rows.min() + 1) - side) <= 1.5


def test_shapes_dcgan_recipe_builds_and_trains_a_step(monkeypatch):
    monkeypatch.setitem(gan.SHAPES_RECIPE, "n_images", 64)  # the recipe's 8,000 images take seconds to draw
    generator, discriminator = gan.shapes_dcgan(seed=0)
    assert generator.latent_dim == gan.SHAPES_RECIPE["latent_dim"] and generator.image_size == 28
    history = gan.train_shapes_dcgan(generator, steps=2, device="cpu", seed=0)
    assert history.steps == 2
    with pytest.raises(TypeError, match="DCGANGenerator of shapes_dcgan"):
        gan.train_shapes_dcgan(gan.dcgan(image_size=8)[0], steps=1)


def test_nearest_neighbour_factors_votes_and_averages():
    pool = torch.eye(4).reshape(4, 1, 2, 2).repeat(3, 1, 1, 1)  # 12 images, 3 copies of each basis image
    factors = {"shape": torch.tensor([0, 1, 2, 3] * 3), "scale": torch.arange(12, dtype=torch.float32)}
    factors["shape"][8] = 1  # one copy of image 0 mislabelled: out-voted by the two others
    out = gan.nearest_neighbour_factors(pool[[0, 1]] + 0.01, pool, factors, k=3)
    assert out["shape"].tolist() == [0, 1]
    assert out["scale"].tolist() == pytest.approx([(0 + 4 + 8) / 3, (1 + 5 + 9) / 3])
    with pytest.raises(ValueError, match=r"pool_factors\['scale'\] must have shape \(12,\)"):
        gan.nearest_neighbour_factors(pool[:1], pool, {"scale": torch.zeros(3)})
    with pytest.raises(ValueError):
        gan.nearest_neighbour_factors(pool[:1], pool, factors, k=13)


# ============================================================================ issue 17: the package, the shared loop, bad input


def test_public_names_keep_their_public_path_after_the_split():
    for name in gan.__all__:
        value = getattr(gan, name)
        if callable(value):
            assert value.__module__ == "course_gen.gan", name
    from course_gen.gan import GANTrainer, minimax_value  # noqa: F401  (both import styles work)


def test_minimax_value_takes_distributions_like_kl_and_refuses_minus_infinity():
    p = torch.tensor([0.2, 0.2, 0.2], dtype=torch.float64)  # sums to 0.6: kl rejects it, so does the game
    with pytest.raises(ValueError, match="sum to 1"):
        gan.minimax_value(p, torch.full((3,), 1 / 3, dtype=torch.float64), torch.full((3,), 0.5))
    with pytest.raises(ValueError, match="-inf"):
        gan.minimax_value(torch.tensor([0.5, 0.5]), torch.tensor([0.5, 0.5]), torch.tensor([0.0, 0.5]))


def test_trainer_errors_carry_the_shared_history_and_the_stop_button_keeps_it():
    x = toy2d("moons", 100, seed=0)
    g, d = gan.mlp_gan(hidden=8, seed=0)
    trainer = gan.GANTrainer(g, d, x, batch_size=16, device="cpu")
    trainer.run(2)
    with torch.no_grad():
        for p in d.parameters():
            p.fill_(float("nan"))
    with pytest.raises(TrainingDivergedError) as caught:
        trainer.run(3)
    assert caught.value.history is trainer.history and caught.value.step == 3 and trainer.history.steps == 2

    g, d = gan.mlp_gan(hidden=8, seed=0)
    trainer = gan.GANTrainer(g, d, x, batch_size=16, device="cpu")

    def stop_button(step, history):
        if step == 3:
            raise KeyboardInterrupt

    history = trainer.run(10, callback=stop_button)
    assert history.interrupted and history.steps == 3 and not g.training
    with pytest.raises(TypeError, match="callback must be callable"):
        trainer.run(1, callback=3)


def test_networks_cast_float64_and_reject_nan_and_sizes_that_would_fill_the_memory():
    g, d = gan.mlp_gan(hidden=8, seed=0)
    z = torch.randn(4, 2, dtype=torch.float64)
    assert torch.equal(g(z), g(z.float())) and torch.equal(d(z), d(z.float()))
    with pytest.raises(ValueError, match="NaN or inf"):
        d(torch.full((3, 2), float("nan")))
    with pytest.raises(ValueError, match="hidden must be an int <= 4096"):
        gan.mlp_gan(hidden=10**9)
    with pytest.raises(ValueError, match="n must be an int <= "):
        g.sample(10**9)
    with pytest.raises(ValueError, match="NaN or inf"):
        gan.discriminator_loss(torch.tensor([float("nan")]), torch.zeros(1))


def test_diagnostics_refuse_nan_and_the_bilinear_game_is_bounded():
    pool = torch.rand(5, 2)
    with pytest.raises(ValueError, match="NaN or inf"):
        gan.nearest_neighbours(torch.full((2, 2), float("nan")), pool)
    with pytest.raises(ValueError, match="NaN or inf"):
        gan.mode_coverage(torch.full((4, 2), float("nan")), pool, radius=0.5)
    with pytest.raises(ValueError, match="samples must be a non-empty"):
        gan.mode_coverage(pool[:0], pool, radius=0.5)
    with pytest.raises(ValueError, match="steps must be an int <= 1000000"):
        gan.bilinear_game(1.0, 0.0, lr=0.1, steps=10**9)
    with pytest.raises(ValueError, match="floating-point range"):
        gan.bilinear_game(1.0, 0.0, lr=1e4, steps=100)


def test_train_shapes_dcgan_checks_steps_before_drawing_anything():
    generator, _ = gan.shapes_dcgan(seed=0)
    for bad, error in ((0, ValueError), (10**12, ValueError), (1.5, TypeError), ("2", TypeError)):
        with pytest.raises(error, match="steps"):
            gan.train_shapes_dcgan(generator, steps=bad)
