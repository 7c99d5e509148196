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
