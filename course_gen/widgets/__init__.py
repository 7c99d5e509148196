"""Interactive widgets for the notebooks (ipywidgets and plotly load here, on first use).

Every widget is built by a function that returns the widget, with its controls and its
drawing surface reachable as attributes, so a test can set ``slider.value`` and inspect
what the callback drew without a browser (traitlets observers run synchronously).
"""

from course_gen.widgets.data_browser import data_browser  # 00
from course_gen.widgets.sparse_coding import sparse_code_explorer  # 01
from course_gen.widgets.interpolation import draw_interpolation, interpolation, latent_explorer, latent_map, lerp, slerp  # 02, 05, 06
from course_gen.widgets.masks import mask_viewer  # 03
from course_gen.widgets.receptive_field import receptive_field_viewer  # 03
from course_gen.widgets.flows import coupling_mask_viewer, flow_playground  # 04
from course_gen.widgets.vae import latent_traversal  # 05
from course_gen.widgets.gan import gan_playground  # 06
from course_gen.widgets.metrics import damage_explorer  # 07
from course_gen.widgets.diffusion import diffusion_viewer, transport_playground  # 08

__all__ = [
    "coupling_mask_viewer", "damage_explorer", "data_browser", "diffusion_viewer", "draw_interpolation",
    "flow_playground", "gan_playground", "interpolation", "latent_explorer", "latent_map", "latent_traversal",
    "lerp", "mask_viewer", "receptive_field_viewer", "slerp", "sparse_code_explorer", "transport_playground",
]
