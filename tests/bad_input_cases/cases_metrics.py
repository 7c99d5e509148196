"""Valid calls of course_gen.metrics and course_gen.divergences."""

import torch

from bad_input_cases import Case
from course_gen import divergences, metrics

_g = torch.Generator().manual_seed(0)
_features = torch.randn(40, 3, generator=_g, dtype=torch.float64)
_other = torch.randn(40, 3, generator=_g, dtype=torch.float64) + 0.5

CASES = [
    Case(metrics.frechet_distance, {"mu1": _features.mean(0), "sigma1": torch.cov(_features.T),
                                    "mu2": _other.mean(0), "sigma2": torch.cov(_other.T)},
         extra_bad={"sigma1": {"not PSD": -torch.eye(3, dtype=torch.float64),
                               "not symmetric": torch.eye(3, dtype=torch.float64) + torch.triu(torch.ones(3, 3), 1)}}),
    Case(divergences.kl, {"p": torch.tensor([0.2, 0.3, 0.5]), "q": torch.tensor([0.4, 0.4, 0.2])}),
    Case(divergences.jsd, {"p": torch.tensor([0.2, 0.3, 0.5]), "q": torch.tensor([0.4, 0.4, 0.2])}),
]
