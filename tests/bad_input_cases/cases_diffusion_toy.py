"""Valid calls of course_gen.diffusion.toy and course_gen.diffusion.toy_checks (notebook 08's 2-D toy)."""

import torch

from bad_input_cases import Case
from course_gen.diffusion import toy, toy_checks

_gen = torch.Generator().manual_seed(0)
_x = torch.randn(6, 2, generator=_gen)
_s = torch.rand(6, generator=_gen)
_mixture = toy.toy_mixture()
_diffusion = toy.ToyDiffusion(T=10, hidden=16, seed=0)
_flow = toy.FlowMatching(hidden=16, seed=0)

CASES = [
    Case(toy.check_points, {"name": "x", "x": _x}, skip={"name": "a label for the messages"}),
    Case(toy.GaussianMixture2D, {"means": torch.zeros(3, 2), "std": 0.5}),
    Case(toy.GaussianMixture2D.ring, {"components": 5, "radius": 2.0, "std": 0.2}),
    Case(toy.toy_mixture, {}),
    Case(_mixture.sample, {"n": 5, "seed": 0}),
    Case(_mixture.log_prob, {"x": _x}),
    Case(_mixture.score, {"x": _x}),
    Case(_mixture.noised, {"abar": 0.5}, extra_bad={"abar": {"above 1": 1.5}}),
    Case(toy.ode_path, {"velocity": _flow.velocity, "x_start": _x, "steps": 3, "solver": "euler"},
         extra_bad={"velocity": {"not callable": 3.0}}),
    Case(toy.ToyDiffusion, {"T": 10, "schedule": "cosine", "hidden": 8, "seed": 1}),
    Case(_diffusion.abar, {"t": torch.tensor([0.0, 2.5, 10.0])}, extra_bad={"t": {"above T": torch.tensor([11.0])}}),
    Case(_diffusion.predict_noise, {"xt": _x, "t": 3 * _s}),
    Case(_diffusion.score, {"xt": _x, "t": 3.0}, extra_bad={"t": {"t = 0": 0.0, "above T": 11.0}}),
    Case(_diffusion.loss, {"x": _x}),
    Case(_diffusion.velocity, {"x": _x, "s": 0.4}, extra_bad={"s": {"above 1": 1.5}}),
    Case(_diffusion.velocity, {"x": _x, "s": _s}, extra_bad={"s": {"above 1": _s + 1}}),
    Case(_diffusion.transport, {"x_start": _x, "steps": 4, "stochastic": True, "seed": 0, "solver": "heun"},
         extra_bad={"steps": {"more steps than T": 11}}),
    Case(_diffusion.transport, {"x_start": _x, "steps": 4, "stochastic": False, "seed": 0, "solver": "euler"}),
    Case(_diffusion.sample, {"n": 5, "steps": 3, "seed": 0, "stochastic": True}),
    Case(_diffusion.times, {"steps": 4, "stochastic": True}, extra_bad={"steps": {"more steps than T": 11}}),
    Case(toy.FlowMatching, {"hidden": 8, "seed": 1}),
    Case(_flow.times, {"steps": 4, "stochastic": False}, extra_bad={"stochastic": {"stochastic": True}}),
    Case(_flow.velocity, {"x": _x, "s": _s}),
    Case(_flow.loss, {"x1": _x}),
    Case(_flow.transport, {"x_start": _x, "steps": 4, "stochastic": False, "seed": 0, "solver": "heun"},
         extra_bad={"stochastic": {"stochastic (no SDE for the flow)": True}}),
    Case(_flow.sample, {"n": 5, "steps": 3, "seed": 0}),
    Case(toy_checks.energy_distance, {"x": _x, "y": _x + 1}),
    Case(toy_checks.two_sample_test, {"samples": _x, "data": _x + 1, "n_permutations": 20, "alpha": 0.05, "seed": 0},
         extra_bad={"samples": {"one point": _x[:1]}, "alpha": {"alpha = 0": 0.0}}),
    Case(toy_checks.score_error, {"model": _diffusion, "mixture": _mixture, "t_values": torch.tensor([1, 5]), "n": 20,
                                  "seed": 0},
         extra_bad={"t_values": {"t = 0": torch.tensor([0, 1])}, "model": {"a flow": _flow}}),
    Case(toy_checks.shipped_toy, {"name": "diffusion08_flow", "retrain": False}),
]
