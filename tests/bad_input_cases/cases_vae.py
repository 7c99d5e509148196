"""Valid calls of course_gen.vae and course_gen.widgets.vae (small models: each call is cheap)."""

import torch

from bad_input_cases import Case
from course_gen import vae
from course_gen.widgets import vae as vae_widgets

_g = torch.Generator().manual_seed(0)
_SHAPE = (1, 4, 4)
_model = vae.build(2, hidden_sizes=(8,), image_shape=_SHAPE, seed=0)
_gaussian = vae.build(2, likelihood="gaussian", hidden_sizes=(8,), image_shape=_SHAPE, seed=1)
_trained = vae.build(2, hidden_sizes=(8,), image_shape=_SHAPE, seed=2)  # fit and load_or_fit change it
_x = (torch.rand(6, *_SHAPE, generator=_g) > 0.5).float()
_z = torch.randn(6, 2, generator=_g)
_logvar = 0.3 * torch.randn(6, 2, generator=_g)

_tractable = vae.LinearGaussian.random(data_dim=3, latent_dim=2, noise_std=0.5, seed=0)
_xt, _ = _tractable.sample(4, seed=1)
_q_mean = torch.randn(4, 2, generator=_g, dtype=torch.float64)
_q_cov = torch.eye(2, dtype=torch.float64).expand(4, 2, 2) * 0.5
_not_spd = {"not positive definite": -torch.eye(2, dtype=torch.float64)}

_factors = {"x": torch.arange(6.0), "y": torch.tensor([3.0, 1, 4, 1, 5, 9]), "scale": torch.linspace(0, 1, 6)}

CASES = [
    # Gaussians
    Case(vae.gaussian_kl, {"mu": _z, "logvar": _logvar}),
    Case(vae.gaussian_log_prob, {"x": _z, "mean": torch.zeros(6, 2), "logvar": 0.5}),
    Case(vae.log_mean_exp, {"values": _z, "dim": 0}),
    # the tractable model
    Case(vae.LinearGaussian, {"weight": _tractable.weight, "bias": _tractable.bias, "noise_std": 0.5}),
    Case(vae.LinearGaussian.random, {"data_dim": 3, "latent_dim": 2, "noise_std": 0.5, "seed": 0, "device": "cpu"}),
    Case(_tractable.log_marginal, {"x": _xt}),
    Case(_tractable.posterior, {"x": _xt}),
    Case(_tractable.log_joint, {"x": _xt, "z": _q_mean}),
    Case(_tractable.sample, {"n": 4, "seed": 0}),
    Case(_tractable.elbo, {"x": _xt, "q_mean": _q_mean, "q_cov": _q_cov}, extra_bad={"q_cov": _not_spd}),
    Case(_tractable.kl_to_posterior, {"x": _xt, "q_mean": _q_mean, "q_cov": _q_cov}, extra_bad={"q_cov": _not_spd}),
    Case(_tractable.to, {"device": "cpu"}),
    # planar posteriors
    Case(vae.amortised_planar, {"z": _z, "u": torch.randn(6, 2, generator=_g), "w": torch.randn(6, 2, generator=_g),
                                "b": torch.randn(6, generator=_g)}),
    Case(vae.fit_planar_posterior, {"model": _tractable, "x": _xt[:1], "n_flows": 1, "steps": 3, "n_samples": 8,
                                    "lr": 0.01, "seed": 0, "n_eval": 50}),
    # the VAE
    Case(vae.VAE, {"latent_dim": 2, "likelihood": "gaussian", "image_shape": _SHAPE, "hidden_sizes": (8,),
                   "beta": 1.0, "decoder": "mlp", "decoder_std": 0.5, "n_flows": 1, "device": "cpu"}),
    Case(_model.encode, {"x": _x}, extra_bad={"x": {"pixels outside [0, 1]": _x * 3 - 1}}),
    Case(_model.decode, {"z": _z, "seed": 0}),
    Case(_model.forward, {"x": _x}),
    Case(_model.sample, {"n": 3, "seed": 0, "binary": True}),
    Case(_gaussian.sample, {"n": 3, "seed": 0, "binary": True}),
    Case(_model.elbo, {"x": _x, "n_samples": 2, "seed": 0}),
    Case(_model.log_weights, {"x": _x, "k": 3, "seed": 0}),
    Case(_model.loss, {"batch": _x}),
    Case(_model.log_likelihood, {"x": _x, "z": _z}),
    Case(_model.reparameterize, {"mu": _z, "logvar": _logvar, "n_samples": 2},
         extra_bad={"logvar": {"another shape": _logvar[:, :1].expand(6, 3)}}),
    Case(vae.iwae_bound, {"model": _model, "x": _x, "k": 5, "seed": 0, "chunk": 2}),
    Case(vae.kl_per_dimension, {"model": _model, "x": _x}),
    Case(vae.active_units, {"model": _model, "x": _x, "threshold": 0.01}),
    Case(vae.factor_correlations, {"model": _model, "x": _x, "factors": _factors, "names": ("x", "y")},
         extra_bad={"factors": {"NaN factor": dict(_factors, x=torch.full((6,), float("nan"))),
                                "not a dict": [1, 2, 3]},
                    "names": {"unknown name": ("x", "nope"), "a string": "x"}}),
    Case(vae.rounded_gaussian_elbo, {"model": _gaussian, "x": _x, "n_samples": 2, "seed": 0},
         extra_bad={"x": {"grey levels": _x * 0.5}}),
    # the notebook's recipe
    Case(vae.build, {"latent_dim": 2, "likelihood": "bernoulli", "decoder": "mlp", "n_flows": 0, "beta": 1.0,
                     "hidden_sizes": (8,), "image_shape": _SHAPE, "seed": 0}),
    Case(vae.fit, {"model": _trained, "x": _x, "steps": 2, "seed": 0, "lr": 1e-3, "batch_size": 4, "device": "cpu",
                   "progress": False}),
    Case(vae.load_or_fit, {"model": _trained, "name": "vae_bad_input_case", "x": _x, "steps": 2, "retrain": False,
                           "seed": 0, "device": "cpu", "note": "a test"}),
    # the widget
    Case(vae_widgets.traverse, {"model": _model, "x": _x[:1], "values": torch.linspace(-1, 1, 3)}),
    Case(vae_widgets.draw_latent_traversal, {"model": _model, "x": _x, "index": 1, "latent": 1, "value": 0.5,
                                             "values": torch.linspace(-1, 1, 3), "kl": torch.ones(2)}),
    Case(vae_widgets.latent_traversal, {"model": _model, "x": _x, "values": torch.linspace(-1, 1, 3), "limit": 2.0}),
]
