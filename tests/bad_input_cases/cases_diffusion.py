"""Valid calls of course_gen.diffusion."""

import torch

from bad_input_cases import Case
from course_gen import diffusion

_betas = diffusion.betas(20)
_x0 = torch.randn(3, 1, 4, 4, generator=torch.Generator().manual_seed(0))
_t = torch.tensor([2, 7, 20])

CASES = [
    Case(diffusion.betas, {"T": 20, "kind": "cosine"}),
    Case(diffusion.alpha_bars, {"schedule": _betas}, extra_bad={"schedule": {"a beta of 1": torch.tensor([0.5, 1.0])}}),
    Case(diffusion.snr, {"schedule": _betas}),
    Case(diffusion.check_betas, {"schedule": _betas}),
    Case(diffusion.q_sample, {"x0": _x0, "t": _t, "betas": _betas, "noise": torch.randn_like(_x0)},
         extra_bad={"t": {"t = 0": torch.tensor([0, 1, 2]), "t = T + 1": torch.tensor([1, 2, 21])}}),
    Case(diffusion.q_posterior, {"x0": _x0, "xt": torch.randn_like(_x0), "t": _t, "betas": _betas},
         extra_bad={"t": {"t = 1": torch.tensor([1, 2, 3])}}),
]

_xt = diffusion.q_sample(_x0, _t, _betas, torch.randn_like(_x0))
_eps = torch.randn_like(_x0)

CASES += [
    Case(diffusion.predicted_x0, {"xt": _xt, "t": _t, "betas": _betas, "eps": _eps}),
    Case(diffusion.ddpm_mean, {"xt": _xt, "t": _t, "betas": _betas, "eps": _eps}),
    Case(diffusion.ddim_step, {"xt": _xt, "t": _t, "t_prev": torch.tensor([1, 3, 0]), "betas": _betas, "eps": _eps},
         extra_bad={"t_prev": {"not earlier": torch.tensor([2, 7, 20])}}),
    Case(diffusion.elbo_weights, {"betas": _betas}),
    Case(diffusion.flow_matching_pair, {"x0": _eps, "x1": _x0, "s": torch.tensor([0.0, 0.5, 1.0])},
         extra_bad={"s": {"outside [0, 1]": torch.tensor([0.0, 0.5, 1.5])}}),
]

_model = diffusion.DDPM(T=20, channels=8)
_digits = (torch.rand(2, 1, 28, 28, generator=torch.Generator().manual_seed(1)) > 0.5).float()
_mask = torch.zeros(2, 1, 28, 28)
_mask[..., :14, :] = 1
_not_binary = {"pixels above 1": _digits * 2}

CASES += [
    Case(diffusion.respaced, {"schedule": _betas, "steps": 5}, extra_bad={"steps": {"more than T": 21}}),
    Case(diffusion.step_embedding, {"t": torch.tensor([1, 5]), "dim": 16}),
    Case(diffusion.UNet, {"channels": 8, "image_channels": 1, "embedding_dim": 16}),
    Case(diffusion.UNet(channels=8), {"x": torch.randn(2, 1, 28, 28), "t": torch.tensor([1, 5])},
         extra_bad={"x": {"14 x 14 images": torch.randn(2, 1, 14, 14)}}),
    Case(diffusion.DDPM, {"T": 20, "schedule": "linear", "channels": 8}),
    Case(_model.predict_noise, {"xt": torch.randn(2, 1, 28, 28), "t": torch.tensor([1, 20])},
         extra_bad={"t": {"t = T + 1": torch.tensor([1, 21])}}),
    Case(_model.predict_x0, {"xt": torch.randn(2, 1, 28, 28), "t": torch.tensor([1, 20])}),
    Case(_model.loss, {"x": _digits}, extra_bad={"x": _not_binary}),
    Case(_model.denoise, {"xT": torch.randn(2, 1, 28, 28), "steps": 3, "sampler": "ddpm", "seed": 0, "known": _digits,
                          "mask": _mask, "keep_every": 1},
         extra_bad={"steps": {"more than T": 21}, "mask": {"another shape": torch.ones(1, 1, 28, 28)}}),
    Case(_model.sample, {"n": 2, "steps": 3, "sampler": "ddim", "seed": 0}),
    Case(_model.inpaint, {"images": _digits, "mask": _mask, "steps": 3, "seed": 0}, extra_bad={"images": _not_binary}),
    Case(_model.negative_elbo, {"x": _digits, "n_t": 3, "seed": 0}, extra_bad={"n_t": {"T strata": 20}}),
]
