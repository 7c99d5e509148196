"""Interactive widgets for the notebooks (ipywidgets and plotly load here, on first use).

Every widget is built by a function that returns the widget, with its controls and its
drawing surface reachable as attributes, so a test can set ``slider.value`` and inspect
what the callback drew without a browser (traitlets observers run synchronously).
"""

from course_gen.widgets.data_browser import data_browser
from course_gen.widgets.sparse_coding import sparse_code_explorer
from course_gen.widgets.interpolation import draw_interpolation, interpolation, latent_explorer, latent_map, lerp, slerp
from course_gen.widgets.masks import mask_viewer
from course_gen.widgets.receptive_field import receptive_field_viewer
from course_gen.widgets.flows import coupling_mask_viewer, flow_playground
from course_gen.widgets.gan import gan_playground
from course_gen.widgets.vae import latent_traversal

__all__ = ["coupling_mask_viewer", "flow_playground", "gan_playground", "data_browser", "draw_interpolation", "interpolation", "latent_explorer", "latent_map", "lerp", "mask_viewer", "receptive_field_viewer", "slerp", "sparse_code_explorer", "latent_traversal"]
