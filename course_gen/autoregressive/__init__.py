"""Autoregressive image models: MADE, PixelCNN and Gated PixelCNN (notebook 03).

Every model here factorises the probability of an image along an ordering of its pixels,

    p(x) = prod_i p(x_i | x_<i),

and computes all the conditionals in ONE network evaluation: masks make output ``i`` depend
only on the inputs before ``i``. Training is therefore parallel (all true pixels are known),
sampling sequential (one network evaluation per pixel).

- :class:`NADE` (Larochelle & Murray 2011): one weight matrix shared by all conditionals.
- :class:`MaskedLinear` and :class:`MADE` (Germain et al. 2015): an autoencoder whose weight
  matrices are multiplied by 0/1 masks built from an ordering and hidden-unit degrees.
- :class:`MaskedConv2d`: a convolution whose kernel sees only the pixels above and to the left
  (type ``"A"`` also hides the centre, type ``"B"`` shows it), with channel-group masks for
  colour (R before G before B).
- :class:`PixelCNN`: one type-A layer, then type-B layers. Its receptive field has a
  **blind spot** (pixels above-right that no path reaches): see :func:`receptive_field`.
- :class:`GatedPixelCNN` (van den Oord et al. 2016): a vertical stack (rows above) and a
  horizontal stack (the current row to the left), gated units ``tanh(W_f * x) . sigm(W_g * x)``;
  no blind spot.

Binary images use one Bernoulli logit per pixel, ``n_levels = K > 2`` a K-way softmax per pixel.
Log-likelihoods are in nats per image. Images are floating-point tensors of the levels 0., 1., ...;
float64 images are cast to the model's dtype, NaN, inf, integer tensors and other values are refused.

One idea per file:

- :mod:`.masks`: masks of masked convolutions, colour groups, raster order;
- :mod:`.base`: what every model shares (``log_prob``, ``loss``, ``sample``, ``complete``, :func:`pixel_nll`);
- :mod:`.made`, :mod:`.nade`, :mod:`.pixelcnn`, :mod:`.gated`: the models;
- :mod:`.mixture`: the PixelCNN++ output, a discretised mixture of logistics;
- :mod:`.receptive_field`: receptive fields from gradients, the blind spot;
- :mod:`.recipes`: evaluation (:func:`mean_nll`, :class:`NLLTracker`) and notebook 03's experiments.

Everything is importable from here: ``from course_gen import autoregressive as ar; ar.PixelCNN``.
"""

from __future__ import annotations

# _AutoregressiveImageModel (the exercises' delegation watch) and _GatedLayer (a test of the vertical
# shift) are private but reached through this package.
from course_gen.autoregressive.base import _AutoregressiveImageModel, pixel_nll  # noqa: F401
from course_gen.autoregressive.gated import GatedPixelCNN, _GatedLayer  # noqa: F401
from course_gen.autoregressive.made import MADE, MaskedLinear, made_degrees, made_masks
from course_gen.autoregressive.masks import MASK_TYPES, channel_group_mask, conv_mask, raster_before
from course_gen.autoregressive.mixture import discretized_logistic_mixture_log_prob, fit_logistic_mixture
from course_gen.autoregressive.nade import NADE
from course_gen.autoregressive.pixelcnn import MaskedConv2d, PixelCNN
from course_gen.autoregressive.receptive_field import blind_spot, nominal_receptive_field, receptive_field
from course_gen.autoregressive.recipes import (
    COMPARISON_MODELS,
    COMPARISON_RECIPE,
    COMPARISON_SEEDS,
    NADE_MODEL,
    NADE_RECIPE,
    OVERFIT_MODEL,
    OVERFIT_RECIPE,
    NLLTracker,
    comparison_model,
    comparison_name,
    mean_nll,
    nade_model,
    overfit_model,
    overfit_name,
    tracker_state,
    train_comparison,
    train_nade,
    train_overfit,
)

__all__ = [
    "GatedPixelCNN",
    "MADE",
    "NADE",
    "MASK_TYPES",
    "MaskedConv2d",
    "MaskedLinear",
    "NLLTracker",
    "PixelCNN",
    "blind_spot",
    "mean_nll",
    "channel_group_mask",
    "conv_mask",
    "discretized_logistic_mixture_log_prob",
    "fit_logistic_mixture",
    "made_degrees",
    "made_masks",
    "nominal_receptive_field",
    "pixel_nll",
    "raster_before",
    "receptive_field",
    # notebook 03's experiments (recipes.py)
    "COMPARISON_MODELS",
    "COMPARISON_RECIPE",
    "COMPARISON_SEEDS",
    "NADE_MODEL",
    "NADE_RECIPE",
    "OVERFIT_MODEL",
    "OVERFIT_RECIPE",
    "comparison_model",
    "comparison_name",
    "nade_model",
    "overfit_model",
    "overfit_name",
    "tracker_state",
    "train_comparison",
    "train_nade",
    "train_overfit",
]
