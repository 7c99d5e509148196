"""Valid calls of course_gen.latent and the latent-space widgets (figures closed after each call)."""

import torch
from torch import nn

from bad_input_cases import Case
from bad_input_cases.cases_plotting import closing as _closing
from course_gen import latent
from course_gen.widgets.data_browser import draw_data_set
from course_gen.widgets.interpolation import draw_interpolation, extent_of, interpolation, latent_explorer, latent_map

torch.manual_seed(0)
_decoder = nn.Sequential(nn.Linear(2, 16), nn.Sigmoid())
_g = torch.Generator().manual_seed(0)
_z_a, _z_b = torch.randn(2, generator=_g), torch.randn(2, generator=_g)
_codes = torch.randn(30, 2, generator=_g)

CASES = [
    Case(latent.lerp, {"z_a": _z_a, "z_b": _z_b, "t": 0.25}),
    Case(latent.slerp, {"z_a": _z_a, "z_b": _z_b, "t": torch.linspace(0, 1, 3)},
         extra_bad={"t": {"outside [0, 1]": torch.tensor([0.5, 1.5])}}),
    Case(latent.interpolation_path, {"z_a": _z_a, "z_b": _z_b, "ts": 0.5, "path": "spherical"}),
    Case(_closing(draw_interpolation), {"decode": _decoder, "z_a": _z_a, "z_b": _z_b, "t": 0.5, "path": "linear",
                                        "frames": 3, "vmin": 0.0, "vmax": 1.0}),
    Case(_closing(latent_map), {"decode": _decoder, "extent": 2.0, "n": 3, "codes": _codes,
                                "labels": torch.arange(30) % 10, "vmin": 0.0, "vmax": 1.0}),
    Case(extent_of, {"codes": _codes, "margin": 0.1, "quantile": 0.01}),
    Case(_closing(draw_data_set), {"name": "shapes", "n": 4, "seed": 0}),
    Case(interpolation, {"decode": _decoder, "z_a": _z_a, "z_b": _z_b, "steps": 4, "path": "spherical", "frames": 3,
                         "vmin": 0.0, "vmax": 1.0}),
    Case(latent_explorer, {"decode": _decoder, "codes": _codes, "extent": 2.0, "vmin": 0.0, "vmax": 1.0}),
]
