"""Valid calls of course_gen.divergences."""

import torch

from bad_input_cases import Case
from course_gen import divergences

_p, _q = torch.tensor([0.2, 0.3, 0.5]), torch.tensor([0.4, 0.4, 0.2])
_g = torch.Generator().manual_seed(0)
_x, _y = torch.randn(50, 2, generator=_g), torch.randn(60, 2, generator=_g) + 0.5
_not_a_distribution = {"sums to 0.6": torch.tensor([0.2, 0.2, 0.2]), "negative entry": torch.tensor([1.2, -0.2, 0.0])}

CASES = [
    Case(divergences.kl, {"p": _p, "q": _q}, extra_bad={"p": _not_a_distribution, "q": _not_a_distribution}),
    Case(divergences.jsd, {"p": _p, "q": _q}, extra_bad={"p": _not_a_distribution, "q": _not_a_distribution}),
    Case(divergences.as_float64, {"name": "p", "value": _p}),
    Case(divergences.as_distribution, {"name": "p", "value": _p}, extra_bad={"value": _not_a_distribution}),
    Case(divergences.histogram2d, {"points": _x, "bins": 8, "limit": 4.0}),
    Case(divergences.binned_jsd, {"x": _x, "y": _y, "bins": 8, "limit": 4.0}),
]
