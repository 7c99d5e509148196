"""Valid calls of course_gen.autoregressive (notebook 03) and of its widgets (masks, receptive fields)."""

import math

import torch

from bad_input_cases import Case
from course_gen import autoregressive as ar
from course_gen.runtime import seeded
from course_gen.widgets import masks, receptive_field

_g = torch.Generator().manual_seed(0)


def _binary(*shape) -> torch.Tensor:
    return torch.randint(0, 2, shape, generator=_g).float()


with seeded(0):
    _made = ar.MADE(image_shape=(1, 3, 3), hidden_sizes=(12,))
    _nade = ar.NADE(image_shape=(1, 3, 3), hidden=6)
    _pixelcnn = ar.PixelCNN(n_layers=2, hidden_channels=6)
    _gated = ar.GatedPixelCNN(n_layers=2, hidden_channels=6)
    _levels = ar.PixelCNN(n_layers=1, hidden_channels=6, n_levels=4)
    _linear = ar.MaskedLinear(3, 4)
    _conv = ar.MaskedConv2d(1, 3, 3, "A")

_x = _binary(2, 1, 3, 3)
_x_levels = torch.randint(0, 4, (2, 1, 3, 3), generator=_g).float()
_observed = torch.zeros(3, 3, dtype=torch.bool)
_observed[0] = True
_discrete = {"not binary (0..255)": torch.full((2, 1, 3, 3), 255.0), "fractional": torch.full((2, 1, 3, 3), 0.5)}
_steps = {"skip": {"steps": "None (a bad value of an int) means the recipe's own steps: a valid, long run"},
          "bad_steps": {"negative": -1, "zero": 0, "huge": 10**12, "fractional": 1.5, "a string": "1"}}
_mixture = {"logit_weights": torch.zeros(3), "means": torch.tensor([10.0, 100.0, 200.0]),
            "log_scales": torch.full((3,), math.log(8.0))}

CASES = [
    # masks
    Case(ar.conv_mask, {"kernel_size": 5, "mask_type": "A"}, extra_bad={"kernel_size": {"even": 4}}),
    Case(ar.channel_group_mask, {"out_channels": 6, "in_channels": 3, "groups": 3, "mask_type": "B"},
         extra_bad={"out_channels": {"not a multiple of groups": 4}, "groups": {"zero": 0}}),
    Case(ar.raster_before, {"shape": (4, 5), "pixel": (2, 3)},
         extra_bad={"shape": {"one entry": (4,), "zero": (0, 5)}, "pixel": {"outside": (4, 0), "negative": (-1, 2)}}),
    # MADE
    Case(ar.made_degrees, {"n_inputs": 5, "hidden_sizes": (8,), "ordering": torch.tensor([4, 2, 0, 1, 3]), "seed": 0},
         extra_bad={"ordering": {"not a permutation": torch.tensor([0, 0, 1, 2, 3])},
                    "hidden_sizes": {"an int": 8, "a zero size": (0,)}}),
    Case(ar.made_masks, {"degrees": ar.made_degrees(4, (6,))},
         extra_bad={"degrees": {"one layer": [torch.arange(1, 5)], "not tensors": [[1, 2], [1, 1]]}}),
    Case(ar.MaskedLinear, {"in_features": 3, "out_features": 4, "mask": torch.ones(4, 3), "bias": True},
         extra_bad={"mask": {"not 0/1": torch.full((4, 3), 0.5), "transposed": torch.ones(3, 4)}}),
    Case(_linear.set_mask, {"mask": torch.ones(4, 3)}, extra_bad={"mask": {"not 0/1": torch.full((4, 3), 2.0)}}),
    Case(_linear.forward, {"x": torch.randn(2, 3, generator=_g)}),
    Case(ar.MADE, {"image_shape": (1, 3, 3), "hidden_sizes": (12,), "ordering": None, "seed": 0, "dropout": 0.1},
         extra_bad={"image_shape": {"two entries": (3, 3)}, "dropout": {"one": 1.0}}),
    Case(_made.forward, {"x": _x}),
    Case(_made.log_prob, {"x": _x}, extra_bad={"x": _discrete}),
    Case(_made.loss, {"x": _x}, extra_bad={"x": _discrete}),
    Case(_made.sample, {"n": 2, "shape": None, "seed": 0}, extra_bad={"shape": {"other": (4, 4)}}),
    Case(_made.complete, {"x": _x, "observed_mask": _observed, "seed": 0, "local": False},
         extra_bad={"x": _discrete, "observed_mask": {"wrong shape": torch.zeros(2, 2, dtype=torch.bool)}}),
    # NADE
    Case(ar.NADE, {"image_shape": (1, 3, 3), "hidden": 6}, extra_bad={"hidden": {"zero": 0}}),
    Case(_nade.forward, {"x": _x}),
    Case(_nade.hidden_states, {"x": _x}),
    Case(_nade.log_prob, {"x": _x}, extra_bad={"x": _discrete}),
    Case(_nade.loss, {"x": _x}),
    Case(_nade.sample, {"n": 2, "shape": (1, 3, 3), "seed": 0, "local": False},
         extra_bad={"shape": {"other": (4, 4)}}),
    Case(_nade.complete, {"x": _x, "observed_mask": _observed, "seed": 1, "local": False}),
    # PixelCNN and Gated PixelCNN
    Case(ar.MaskedConv2d, {"in_channels": 3, "out_channels": 6, "kernel_size": 3, "mask_type": "B", "groups": 3,
                           "bias": True},
         extra_bad={"kernel_size": {"even": 2}, "out_channels": {"not a multiple of groups": 4}}),
    Case(_conv.forward, {"x": torch.randn(2, 1, 4, 4, generator=_g)}),
    Case(ar.PixelCNN, {"n_layers": 2, "hidden_channels": 6, "kernel_size": 3, "in_channels": 3, "n_levels": 4,
                       "dropout": 0.0},
         extra_bad={"hidden_channels": {"not a multiple of in_channels": 4}, "kernel_size": {"even": 4}}),
    Case(ar.GatedPixelCNN, {"n_layers": 2, "hidden_channels": 6, "kernel_size": 3, "in_channels": 1, "n_levels": 2,
                            "dropout": 0.0}, extra_bad={"in_channels": {"colour": 3}}),
    Case(_pixelcnn.forward, {"x": _x}),
    Case(_pixelcnn.log_prob, {"x": _x}, extra_bad={"x": _discrete}),
    Case(_pixelcnn.loss, {"x": _x}, extra_bad={"x": _discrete}),
    Case(_pixelcnn.sample, {"n": 2, "shape": (3, 3), "seed": 0, "local": True},
         extra_bad={"shape": {"no rows": (0, 3), "one entry": (3,)}}),
    Case(_pixelcnn.complete, {"x": _x, "observed_mask": _observed, "seed": 0, "local": True}),
    Case(_pixelcnn.logits_at, {"x": _x, "c": 0, "i": 1, "j": 2, "local": True},
         extra_bad={"i": {"outside": 3}, "j": {"outside": 3}, "c": {"outside": 1}}),
    Case(_gated.forward, {"x": _x}),
    Case(_gated.log_prob, {"x": _x}, extra_bad={"x": _discrete}),
    Case(_gated.sample, {"n": 2, "shape": (3, 3), "seed": 0, "local": False}),
    Case(_gated.complete, {"x": _x, "observed_mask": _observed, "seed": 0, "local": True}),
    Case(_levels.log_prob, {"x": _x_levels}, extra_bad={"x": {"level 4 of 4": _x_levels + 1}}),
    Case(_levels.sample, {"n": 1, "shape": (3, 3), "seed": 0, "local": False}),
    Case(ar.pixel_nll, {"logits": torch.randn(2, 1, 3, 3, generator=_g), "x": _x, "n_levels": 2},
         extra_bad={"x": _discrete, "logits": {"other shape": torch.randn(2, 1, 3, 4, generator=_g)}}),
    Case(ar.pixel_nll, {"logits": torch.randn(2, 4, 1, 3, 3, generator=_g), "x": _x_levels, "n_levels": 4},
         extra_bad={"x": {"level 4 of 4": _x_levels + 1}, "n_levels": {"one": 1}}),
    # the discretised logistic mixture
    Case(ar.discretized_logistic_mixture_log_prob, {"x": torch.arange(256.0), **_mixture, "n_levels": 256},
         extra_bad={"x": {"outside 0..255": torch.tensor([300.0]), "fractional": torch.tensor([1.5])},
                    "means": {"other shape": torch.zeros(2)}}),
    Case(ar.fit_logistic_mixture, {"values": torch.randint(0, 256, (50,), generator=_g), "n_components": 3,
                                   "steps": 3, "lr": 0.05, "n_levels": 256, "seed": 0},
         extra_bad={"values": {"outside 0..255": torch.tensor([300])}, "steps": {"too many": 10**8}}),
    # receptive fields
    Case(ar.receptive_field, {"model": _pixelcnn, "shape": (6, 6), "pixel": (3, 3), "seed": 0},
         extra_bad={"pixel": {"outside": (6, 0)}, "model": {"a plain module": _conv}}),
    Case(ar.nominal_receptive_field, {"model": _gated, "shape": (6, 6), "pixel": (3, 3)},
         extra_bad={"pixel": {"outside": (0, 6)}, "shape": {"three entries": (1, 6, 6)}}),
    Case(ar.blind_spot, {"model": _pixelcnn, "shape": (6, 6), "pixel": (4, 2), "seed": 0}),
    Case(ar.blind_spot, {"model": _made, "shape": (3, 3), "pixel": (1, 1), "seed": 0},
         extra_bad={"shape": {"not the model's": (4, 4)}}),
    # evaluation and notebook 03's recipes
    Case(ar.mean_nll, {"model": _pixelcnn, "x": _x, "batch_size": 1}, extra_bad={"x": _discrete}),
    Case(ar.NLLTracker, {"model": _nade, "datasets": {"train": _x}, "every": 2},
         extra_bad={"datasets": {"empty": {}, "not images": {"train": torch.full((2, 1, 3, 3), 7.0)}}}),
    Case(ar.NLLTracker(_nade, {"train": _x}, every=2).__call__, {"step": 2, "history": None}),
    Case(ar.comparison_model, {"kind": "PixelCNN", "seed": 0}),
    Case(ar.comparison_name, {"kind": "Gated PixelCNN", "seed": 1}),
    Case(ar.overfit_model, {"dropout": 0.5, "seed": 0}),
    Case(ar.overfit_name, {"dropout": 0.5}),
    Case(ar.nade_model, {"seed": 0}),
    Case(ar.train_comparison, {"model": _pixelcnn, "x": _x, "seed": 0, "steps": 1, "device": "cpu"},
         skip=_steps["skip"], extra_bad={"x": _discrete, "steps": _steps["bad_steps"]}),
    Case(ar.train_overfit, {"model": _pixelcnn, "x_small": _x, "x_test": _x, "seed": 0, "steps": 1, "device": "cpu"},
         skip=_steps["skip"], extra_bad={"x_test": _discrete, "steps": _steps["bad_steps"]}),
    Case(ar.train_nade, {"model": _nade, "x": _x, "seed": 0, "steps": 1, "device": "cpu"},
         skip=_steps["skip"], extra_bad={"model": {"a PixelCNN": _pixelcnn}, "steps": _steps["bad_steps"]}),
    Case(ar.tracker_state, {"trackers": {0.5: ar.NLLTracker(_nade, {"train": _x, "test": _x})}},
         extra_bad={"trackers": {"not trackers": {0.5: [1.0]}, "without train and test": {
             0.5: ar.NLLTracker(_nade, {"other": _x})}}}),
    # widgets: the mask viewer and the receptive fields
    Case(masks.draw_made_masks, {"n_inputs": 4, "hidden_sizes": (4,), "ordering": "random", "seed": 0},
         extra_bad={"hidden_sizes": {"an int": 4, "a zero": (0,)}}),
    Case(masks.draw_conv_masks, {"kernel_size": 3, "colour": True}, extra_bad={"kernel_size": {"even": 4}}),
    Case(masks.mask_viewer, {"n_inputs": 4, "kernel_size": 3}),
    Case(receptive_field.layers_label, {"n_layers": 2}),
    Case(receptive_field.random_model, {"kind": "Gated PixelCNN", "n_layers": 2, "kernel_size": 3,
                                        "hidden_channels": 4, "seed": 0},
         extra_bad={"kernel_size": {"even": 4}}),
    Case(receptive_field.draw_receptive_fields, {"models": [("plain", _pixelcnn)], "shape": (6, 6),
                                                 "pixel": (3, 3), "ncols": 1},
         extra_bad={"models": {"empty": [], "not pairs": [_pixelcnn], "not a model": [("plain", 3)]},
                    "pixel": {"outside": (6, 6)}}),
    Case(receptive_field.receptive_field_viewer, {"shape": (6, 6), "max_layers": 2, "hidden_channels": 4}),
]
