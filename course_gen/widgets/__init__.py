"""Interactive widgets for the notebooks (ipywidgets and plotly load here, on first use).

Every widget is built by a function that returns the widget, with its controls and its
drawing surface reachable as attributes, so a test can set ``slider.value`` and inspect
what the callback drew without a browser (traitlets observers run synchronously).
"""

from course_gen.widgets.data_browser import data_browser
from course_gen.widgets.interpolation import draw_interpolation, interpolation, latent_explorer, latent_map, lerp, slerp

__all__ = ["data_browser", "draw_interpolation", "interpolation", "latent_explorer", "latent_map", "lerp", "slerp"]
