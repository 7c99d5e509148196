"""Valid calls of course_gen.flows (and its widgets): every public function, transform and model method."""

import math

import matplotlib

matplotlib.use("Agg")

import torch  # noqa: E402
from torch import nn  # noqa: E402

from bad_input_cases import Case  # noqa: E402
from course_gen import flows  # noqa: E402
from course_gen.widgets import flows as flow_widgets  # noqa: E402

_g = torch.Generator().manual_seed(0)
_points = torch.randn(16, 2, generator=_g)
_vectors = torch.randn(8, 4, generator=_g)
_images = torch.randn(4, 2, 4, 4, generator=_g)
_channels = torch.randn(6, 3, generator=_g)
_unit = torch.rand(5, 3, generator=_g)
_binary = torch.randint(0, 2, (6, 1, 4, 4), generator=_g).float()
_eps = torch.randn(6, 1, 4, 4, generator=_g)

_normal = flows.StandardNormal(2)
_flow = flows.realnvp_2d(2, hidden=8)
_flow.log_prob(_points)  # ActNorm's data-dependent initialisation happens here, once
_variational = flows.VariationalFlow(flows.planar_flows(2, 2) + flows.radial_flows(2, 1),
                                     lambda z: flows.energy_log_density("U2", z), dim=2)
_planar, _radial = flows.Planar(2), flows.Radial(2)
_additive = flows.AdditiveCoupling(4, "half", hidden=8)
_affine = flows.AffineCoupling(4, "alternating", hidden=8)
_affine_image = flows.AffineCoupling((2, 4, 4), "checkerboard", hidden=4)
_actnorm = flows.ActNorm(3)
_actnorm(_channels)
_conv = flows.Invertible1x1Conv(3, lu=True)
_squeeze, _logit = flows.Squeeze(), flows.LogitTransform()
_dequantizer = flows.VariationalDequantizer((1, 4, 4), hidden=4)
_digits = flows.realnvp_digits(n_levels=2, hidden=4, n_checkerboard=1, n_channel=1, image_size=4,
                               dequantization="variational")
_digits.log_prob(_binary)
_latent = _digits.encode(_binary)
_nan_pair = (float("nan"), 1.0)

CASES = [
    # base
    Case(_normal.log_prob, {"z": _points},
         extra_bad={"z": {"(3, 5) for a 2-D normal": torch.randn(3, 5), "one example (2,)": torch.zeros(2)}}),
    Case(_normal.sample, {"n": 5}),
    Case(_flow.forward, {"x": _points}, extra_bad={"x": {"3 coordinates": torch.randn(4, 3)}}),
    Case(_flow.inverse, {"z": _points}),
    Case(_flow.log_prob, {"x": _points}),
    Case(_flow.loss, {"x": _points}),
    Case(_flow.sample, {"n": 5, "seed": 0, "temperature": 0.7}),
    Case(_variational.forward, {"z0": _points}),
    Case(_variational.loss, {"z0": _points}),
    Case(_variational.sample, {"n": 5, "seed": 1}),
    # planar and radial
    Case(_planar.forward, {"z": _points}),
    Case(_radial.forward, {"z": _points}),
    Case(flows.planar_invertible, {"u": torch.tensor([1.0, 0.5]), "w": torch.tensor([0.3, -0.2])}),
    Case(flows.planar_map, {"z": _points, "u": torch.tensor([1.0, 0.5]), "w": torch.tensor([0.3, -0.2]), "b": 0.1}),
    Case(flows.radial_map, {"z": _points, "z0": torch.tensor([0.5, 0.0]), "alpha": 0.5, "beta": 1.0},
         extra_bad={"alpha": {"zero": 0.0}}),
    Case(flows.planar_flows, {"dim": 2, "n_flows": 3, "seed": 0}),
    Case(flows.radial_flows, {"dim": 2, "n_flows": 3, "seed": 0}),
    # couplings
    Case(flows.coupling_mask, {"kind": "checkerboard", "shape": (1, 4, 4), "flip": True},
         extra_bad={"shape": {"a vector shape for an image mask": 4, "two entries": (2, 3)}}),
    Case(_additive.forward, {"x": _vectors}),
    Case(_additive.inverse, {"y": _vectors}),
    Case(_affine.forward, {"x": _vectors}),
    Case(_affine.inverse, {"y": _vectors}),
    Case(_affine.scale_and_shift, {"kept": _vectors}),
    Case(_affine_image.forward, {"x": _images}),
    Case(_affine_image.inverse, {"y": _images}),
    # Glow layers
    Case(_actnorm.forward, {"x": _channels}),
    Case(_actnorm.inverse, {"y": _channels}),
    Case(flows.ActNorm(3).initialize, {"x": _channels}),
    Case(_conv.forward, {"x": _channels}),
    Case(_conv.inverse, {"y": _channels}),
    Case(_squeeze.forward, {"x": _images}, extra_bad={"x": {"odd height": torch.zeros(1, 1, 3, 4)}}),
    Case(_squeeze.inverse, {"y": torch.randn(2, 4, 2, 2)}),
    # dequantisation
    Case(_logit.forward, {"y": _unit}, extra_bad={"y": {"above 1": _unit + 1.5}}),
    Case(_logit.inverse, {"z": _vectors}),
    Case(flows.dequantize, {"x": _binary, "n_levels": 2},
         extra_bad={"x": {"between the levels": _binary * 0.5 + 0.25}}),
    Case(flows.discretize, {"y": _unit, "n_levels": 4}),
    Case(_dequantizer.forward, {"x": _binary, "eps": _eps}),
    Case(_dequantizer.sample, {"x": _binary}),
    Case(_digits.log_prob, {"x": _binary, "n_samples": 2, "seed": 0},
         extra_bad={"x": {"grey values for 2 levels": _binary * 0.5, "8x8 images": torch.zeros(2, 1, 8, 8)}}),
    Case(_digits.loss, {"x": _binary}),
    Case(_digits.sample, {"n": 3, "seed": 0, "temperature": 1.0}),
    Case(_digits.encode, {"x": _binary, "seed": 0}),
    Case(_digits.decode, {"z": _latent, "discrete": True}),
    Case(_digits.dequantize, {"x": _binary}),
    Case(flows.dequantized_bits_per_dim, {"model": _digits, "x": _binary, "n_samples": 2, "seed": 0, "batch_size": 4}),
    # diagnostics
    Case(flows.histogram_vs_density, {"flow": _flow, "n_samples": 2000, "limits": (-3.0, 3.0), "bins": 10,
                                      "refine": 2, "seed": 0},
         extra_bad={"limits": {"reversed": (3.0, -3.0), "NaN": _nan_pair, "one number": 3.0}}),
    Case(flows.reverse_kl, {"model": _variational, "log_z": 1.5, "n": 500, "seed": 2}),
    Case(flows.log_normaliser_2d, {"log_density": lambda z: flows.energy_log_density("U1", z), "limit": 5.0,
                                   "n": 101},
         extra_bad={"log_density": {"not a function": 3.0, "NaN everywhere": lambda z: z[:, 0] * math.nan,
                                    "one value in all": lambda z: z.sum()}}),
    Case(flows.energy_log_density, {"name": "U3", "z": _points}),
    # recipes
    Case(flows.realnvp_2d, {"n_couplings": 2, "hidden": 8, "mask": "half", "alternate": True, "actnorm": True,
                            "seed": 0}),
    Case(flows.realnvp_digits, {"n_levels": 4, "hidden": 4, "n_checkerboard": 1, "n_channel": 1, "alpha": 0.05,
                                "seed": 0, "dequantization": "uniform", "image_size": 4},
         extra_bad={"image_size": {"odd": 5}, "alpha": {"0.5": 0.5}}),
    Case(flows.moons_realnvp_pair, {"seed": 0}),
    Case(flows.planar_fits, {"target": "U2", "ks": (1, 2), "seed": 0},
         extra_bad={"ks": {"zero layers": (0,), "empty": (), "a string": "12"}}),
    Case(flows.train_moons_realnvp_pair, {"models": nn.ModuleDict(), "device": "cpu", "progress": False},
         skip={"models": "a module: no generic bad values"}),
    Case(flows.train_planar_fits, {"models": nn.ModuleDict(), "device": "cpu", "progress": False},
         skip={"models": "a module: no generic bad values"}),
    Case(flows.shipped_2d, {"name": "flows04_planar_u2", "retrain": False, "device": "cpu"}),
    # widgets
    Case(flow_widgets.invertibility_warning, {"kind": "planar", "params": {"u": (1.0, 0.0), "w": (-2.0, 0.0), "b": 0.0}},
         extra_bad={"params": {"missing w": {"u": (1.0, 0.0), "b": 0.0}, "NaN u": {"u": _nan_pair, "w": (1.0, 0.0), "b": 0.0}}}),
    Case(flow_widgets.draw_pushforward, {"kind": "radial", "params": {"alpha": 0.5, "beta": 1.0}, "limit": 3.0, "n": 21},
         extra_bad={"params": {"alpha 0": {"alpha": 0.0, "beta": 1.0}, "beta NaN": {"alpha": 0.5, "beta": math.nan}}}),
    Case(flow_widgets.flow_playground, {"kind": "radial"}),
    Case(flow_widgets.draw_grid_deformation, {"flow": _flow, "x": _points, "n_samples": 10, "seed": 0,
                                              "x_limits": (-3, 3), "z_limits": (-3, 3), "n_lines": 3},
         extra_bad={"x_limits": {"reversed": (3, -3)}}),
    Case(flow_widgets.draw_histogram_vs_density,
         {"result": flows.histogram_vs_density(_flow, 500, bins=4, refine=1), "limits": (-3, 3, -3, 3), "wrong_sign": True},
         extra_bad={"result": {"missing keys": {"edges": torch.zeros(3)}}}),
    Case(flow_widgets.draw_dequantization_noise, {"model": _digits, "x": _binary, "seed": 0, "n_show": 2}),
    Case(flow_widgets.draw_coupling_masks, {"n_layers": 2, "alternate": False}),
    Case(flow_widgets.coupling_mask_viewer, {"n_layers": 2, "alternate": True}),
]
