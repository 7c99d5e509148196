"""Denoising diffusion and flow matching (notebook 08).

- :mod:`~course_gen.diffusion.process`: the noise schedule, the forward process q(x_t | x_0) in closed form,
  its posterior q(x_{t-1} | x_t, x_0), the DDPM and DDIM steps, the ELBO's weights, shorter chains and the
  flow-matching pair (contract names: ``betas``, ``q_sample``, ``q_posterior``);
- :mod:`~course_gen.diffusion.unet`: the small U-Net that predicts the noise of a 28 x 28 digit;
- :mod:`~course_gen.diffusion.ddpm`: :class:`DDPM`, the digits model: loss, samplers, inpainting, bound;
- :mod:`~course_gen.diffusion.toy`: the 2-D mixture with its exact noised score, :class:`ToyDiffusion` (denoising
  score matching, probability-flow ODE, ancestral chain) and :class:`FlowMatching`;
- :mod:`~course_gen.diffusion.toy_checks`: the score error against the exact score, the energy-distance
  two-sample test with its permutation threshold, and the shipped toy models (:func:`shipped_toy`).
"""

from course_gen.diffusion.ddpm import DDPM, SAMPLERS
from course_gen.diffusion.process import (KINDS, MAX_STEPS, alpha_bars, betas, check_betas, ddim_step, ddpm_mean,
                                          elbo_weights, flow_matching_pair, predicted_x0, q_posterior, q_sample,
                                          respaced, snr)
from course_gen.diffusion.toy import FlowMatching, GaussianMixture2D, ToyDiffusion, ode_path, toy_mixture
from course_gen.diffusion.toy_checks import SHIPPED_TOY, energy_distance, score_error, shipped_toy, two_sample_test
from course_gen.diffusion.unet import UNet, step_embedding

__all__ = ["DDPM", "KINDS", "MAX_STEPS", "SAMPLERS", "SHIPPED_TOY", "FlowMatching", "GaussianMixture2D", "ToyDiffusion",
           "UNet", "alpha_bars", "betas", "check_betas", "ddim_step", "ddpm_mean", "elbo_weights", "energy_distance",
           "flow_matching_pair", "ode_path", "predicted_x0", "q_posterior", "q_sample", "respaced", "score_error",
           "shipped_toy", "snr", "step_embedding", "toy_mixture", "two_sample_test"]
