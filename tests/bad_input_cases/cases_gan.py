"""Valid calls of course_gen.gan (and the GAN playground widget)."""

import math

import torch

from bad_input_cases import Case
from course_gen import gan
from course_gen.data import toy2d
from course_gen.widgets import gan as gan_widgets

_g = torch.Generator().manual_seed(0)
_p = torch.softmax(torch.randn(6, generator=_g, dtype=torch.float64), 0)
_q = torch.softmax(torch.randn(6, generator=_g, dtype=torch.float64), 0)
_d = torch.rand(6, generator=_g, dtype=torch.float64)
_not_a_distribution = {"sums to 0.6": torch.full((6,), 0.1, dtype=torch.float64)}
_logits = torch.randn(16, generator=_g)
_points = toy2d("8gaussians", 200, seed=0)
_centres = torch.tensor([[2 * math.cos(a), 2 * math.sin(a)] for a in torch.arange(8).tolist()])
_images = torch.rand(12, 1, 8, 8, generator=_g)
_mlp_g, _mlp_d = gan.mlp_gan(hidden=8, layers=2, seed=0)
_dc_g, _dc_d = gan.dcgan(image_size=8, latent_dim=4, width=4, seed=0)
_trainer = gan.GANTrainer(*gan.mlp_gan(hidden=8, layers=2, seed=1), _points, batch_size=16, device="cpu")
_factors = {"shape": torch.arange(12) % 4, "scale": torch.linspace(0.5, 1.0, 12)}
_playground = gan_widgets.GANPlayground(hidden=8, batch_size=16)

CASES = [
    # the exact game
    Case(gan.optimal_discriminator, {"p_data": _p, "p_g": _q}),
    Case(gan.minimax_value, {"p_data": _p, "p_g": _q, "d": _d},
         extra_bad={"p_data": _not_a_distribution, "p_g": _not_a_distribution,
                    "d": {"above 1": _d + 1.0, "negative": -_d}}),
    # losses and estimates
    Case(gan.discriminator_loss, {"real_logits": _logits, "fake_logits": -_logits, "loss": "minimax"}),
    Case(gan.generator_loss, {"fake_logits": _logits, "loss": "least-squares"}),
    Case(gan.discriminator_probability, {"discriminator": _mlp_d, "x": _points[:10], "loss": "non-saturating"},
         extra_bad={"discriminator": {"not a module": "D"}}),
    Case(gan.jsd_estimate, {"d_real": torch.rand(10, generator=_g), "d_fake": torch.rand(10, generator=_g)},
         extra_bad={"d_real": {"above 1": torch.full((10,), 2.0)}}),
    # networks
    Case(gan.mlp_gan, {"latent_dim": 2, "hidden": 8, "layers": 2, "seed": 0}),
    Case(gan.dcgan, {"image_size": 8, "latent_dim": 4, "channels": 1, "width": 4, "seed": 0},
         extra_bad={"image_size": {"not 28 or a power of 2": 12}}),
    Case(gan.MLPGenerator.forward, {"self": _mlp_g, "z": torch.randn(5, 2, generator=_g)}),
    Case(gan.MLPGenerator.sample, {"self": _mlp_g, "n": 5, "seed": 0}),
    Case(gan.MLPGenerator.sample_latent, {"self": _mlp_g, "n": 5}),
    Case(gan.MLPDiscriminator.forward, {"self": _mlp_d, "x": _points[:5]}),
    Case(gan.DCGANGenerator.forward, {"self": _dc_g, "z": torch.randn(3, 4, generator=_g)}),
    Case(gan.DCGANGenerator.sample, {"self": _dc_g, "n": 3, "seed": 0}),
    Case(gan.DCGANDiscriminator.forward, {"self": _dc_d, "x": _images[:3]}),
    # training
    Case(gan.GANTrainer, {"generator": _mlp_g, "discriminator": _mlp_d, "data": _points, "loss": "minimax", "k": 2,
                          "batch_size": 16, "lr_g": 1e-3, "lr_d": 1e-3, "betas": (0.5, 0.999), "device": "cpu",
                          "seed": 0},
         extra_bad={"generator": {"not a course_gen generator": torch.nn.Linear(2, 2)},
                    "betas": {"beta1 = 1": (1.0, 0.999), "not a pair": 0.5}}),
    Case(gan.GANTrainer.run, {"self": _trainer, "steps": 2, "callback": None}, extra_bad={"callback": {"not callable": 3}}),
    Case(gan.GANTrainer.set_learning_rates, {"self": _trainer, "lr_g": 1e-3, "lr_d": 1e-3}),
    Case(gan.train_gan, {"generator": _mlp_g, "discriminator": _mlp_d, "data": _points, "steps": 2, "loss": "minimax",
                         "k": 1, "batch_size": 16, "lr_g": 1e-3, "lr_d": 1e-3, "device": "cpu", "seed": 0}),
    Case(gan.fit_discriminator, {"discriminator": _mlp_d, "real": _points[:50], "fake": _points[50:100] + 1.0, "steps": 3,
                                 "batch_size": 32, "lr": 1e-3, "device": "cpu", "seed": 0}),
    Case(gan.upright_shapes, {"n": 6, "size": 16, "seed": 0}),
    Case(gan.shapes_dcgan, {"seed": 0}),
    # diagnostics
    Case(gan.mode_coverage, {"samples": _points, "centres": _centres, "radius": 0.6, "min_fraction": 0.01},
         extra_bad={"min_fraction": {"above 1": 1.5}}),
    Case(gan.nearest_neighbours, {"queries": _images[:4] + 0.01, "pool": _images}),
    Case(gan.nearest_neighbour_factors, {"images": _images[:4], "pool": _images, "pool_factors": _factors, "k": 3},
         extra_bad={"pool_factors": {"a NaN factor": {"scale": torch.full((12,), float("nan"))},
                                     "a factor per image missing": {"scale": torch.zeros(3)}, "not a dict": [1, 2]}}),
    Case(gan.bilinear_game, {"x0": 1.0, "y0": 0.0, "lr": 0.1, "steps": 100, "simultaneous": True},
         extra_bad={"steps": {"a billion": 10**9}, "lr": {"overflowing": 1e4}}),
    # the playground widget
    Case(gan_widgets.GANPlayground, {"dataset": "moons", "loss": "minimax", "k": 2, "lr_g": 1e-3, "lr_d": 1e-3,
                                     "hidden": 8, "batch_size": 16, "seed": 0, "device": "cpu"}),
    Case(gan_widgets.GANPlayground.step, {"self": _playground, "steps": 2}),
    Case(gan_widgets.GANPlayground.configure, {"self": _playground, "loss": "minimax", "k": 2, "lr_g": 1e-3, "lr_d": 1e-3}),
    Case(gan_widgets.GANPlayground.reset, {"self": _playground, "dataset": "ring"}),
    Case(gan_widgets.draw_playground, {"playground": _playground}, extra_bad={"playground": {"not a playground": 3}}),
    Case(gan_widgets.gan_playground, {"dataset": "moons", "loss": "minimax", "k": 2, "lr_g": 1e-3, "lr_d": 1e-3,
                                      "steps_per_click": 5, "seed": 0, "device": "cpu"}),
]
