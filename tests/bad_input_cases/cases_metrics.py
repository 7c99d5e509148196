"""Valid calls of course_gen.metrics and of the damage widget (course_gen.widgets.metrics)."""

import torch

from bad_input_cases import Case
from course_gen import metrics
from course_gen.classifier import new_classifier
from course_gen.widgets import metrics as metrics_widgets

_g = torch.Generator().manual_seed(0)
_features = torch.randn(40, 3, generator=_g, dtype=torch.float64)
_other = torch.randn(40, 3, generator=_g, dtype=torch.float64) + 0.5
_sigma, _sigma_other = torch.cov(_features.T), torch.cov(_other.T)
_not_psd = {"not PSD": -torch.eye(3, dtype=torch.float64),
            "not symmetric": torch.eye(3, dtype=torch.float64) + torch.triu(torch.ones(3, 3, dtype=torch.float64), 1)}
_probs = torch.softmax(torch.randn(20, 4, generator=_g), dim=1)
_images = torch.rand(40, 1, 8, 8, generator=_g)
_labels = torch.arange(40) % 10
_bad_labels = {"negative labels": _labels - 5, "float labels": _labels.float()}

CASES = [
    Case(metrics.frechet_distance, {"mu1": _features.mean(0), "sigma1": _sigma, "mu2": _other.mean(0), "sigma2": _sigma_other},
         extra_bad={"sigma1": _not_psd, "sigma2": _not_psd}),
    Case(metrics.sqrtm_psd, {"sigma": _sigma}, extra_bad={"sigma": _not_psd}),
    Case(metrics.trace_sqrt_product, {"sigma1": _sigma, "sigma2": _sigma_other},
         extra_bad={"sigma1": _not_psd, "sigma2": _not_psd}),
    Case(metrics.gaussian_stats, {"features": _features}),
    Case(metrics.fid, {"features_real": _features, "features_fake": _other}),
    Case(metrics.kid, {"features_real": _features, "features_fake": _other, "n_subsets": 5, "subset_size": 20,
                       "degree": 3, "seed": 0}),
    Case(metrics.polynomial_kernel, {"a": _features, "b": _other, "degree": 3, "coef0": 1.0}),
    Case(metrics.precision_recall, {"features_real": _features, "features_fake": _other, "k": 3,
                                    "real_radius": metrics.kth_neighbour_radius(_features, 3)}),
    Case(metrics.kth_neighbour_radius, {"x": _features, "k": 3}),
    Case(metrics.inception_score, {"probs": _probs, "splits": 2},
         extra_bad={"probs": {"logits": torch.randn(20, 4, generator=_g)}}),
    Case(metrics.nats_to_bits, {"nats": torch.tensor([80.0, 90.0])}),
    Case(metrics.bits_to_nats, {"bits": 1.5}),
    Case(metrics.bits_per_dim, {"nll_nats": torch.tensor([80.0, 90.0]), "n_dims": 64}),
    Case(metrics.dequantization_offset, {"n_dims": 64, "n_levels": 256}),
    Case(metrics.discrete_nll, {"continuous_nll_nats": torch.tensor([80.0, 90.0]), "n_dims": 64, "n_levels": 17}),
    Case(metrics.parzen_log_likelihood, {"x": _features[:10], "samples": _other, "bandwidth": 0.5, "batch_size": 4}),
    Case(metrics.select_parzen_bandwidth, {"validation": _features[:10], "samples": _other, "bandwidths": [0.2, 0.5, 1.0]},
         extra_bad={"bandwidths": {"empty": [], "a NaN": [0.5, float("nan")], "not a list": 0.5}}),
    Case(metrics.add_noise, {"images": _images, "std": 0.1, "seed": 0}),
    Case(metrics.blur, {"images": _images, "sigma": 1.0}),
    Case(metrics.fade, {"images": _images, "amount": 0.3}),
    Case(metrics.drop_classes, {"images": _images, "labels": _labels, "keep": 5, "n": 10, "seed": 0},
         extra_bad={"labels": _bad_labels}),
    Case(metrics_widgets.damage, {"images": _images, "labels": _labels, "kind": "noise", "severity": 0.3, "n": 20, "seed": 0},
         extra_bad={"labels": _bad_labels, "severity": {"a number as text": "0.3", "above 1": 1.5}}),
    Case(metrics_widgets.damage_explorer, {"images": _images, "labels": _labels, "reference": _images[:30],
                                           "classifier": new_classifier(seed=0), "n": 30, "kid_subsets": 2},
         extra_bad={"classifier": {"not a classifier": torch.nn.Linear(2, 2)}}),
]
