"""Valid calls of course_gen.plotting (figures are closed after each call)."""

import functools

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from bad_input_cases import Case  # noqa: E402
from course_gen import plotting  # noqa: E402
from course_gen.data import toy2d, toy2d_log_prob  # noqa: E402


def closing(function):
    """``function``, closing the matplotlib figure it returns (the sweep draws hundreds)."""
    @functools.wraps(function)
    def call(**arguments):
        result = function(**arguments)
        if isinstance(result, matplotlib.figure.Figure):
            plt.close(result)
        return result
    return call


_images = torch.rand(4, 1, 6, 6, generator=torch.Generator().manual_seed(0))
_points = toy2d("moons", 50)


def _log_prob(x):
    return toy2d_log_prob("8gaussians", x)


CASES = [
    Case(plotting.make_grid, {"images": _images, "nrow": 2, "pad": 1, "pad_value": 1.0}),
    Case(closing(plotting.image_grid), {"images": _images, "nrow": 2, "titles": "four", "cmap": "gray",
                                         "vmin": 0.0, "vmax": 1.0, "pad": 1}),
    Case(plotting.density_grid, {"log_prob_fn": _log_prob, "xlim": (-3, 3), "ylim": (-3, 3), "n": 12}),
    Case(closing(plotting.plot_density_2d), {"log_prob_fn": _log_prob, "n": 12, "samples": _points, "title": "t"}),
    Case(closing(plotting.plot_samples_2d), {"x": _points, "title": "moons", "s": 4.0, "alpha": 0.5}),
    Case(plotting.surface_3d, {"log_prob_fn": _log_prob, "n": 10, "title": "t"}),
    Case(closing(plotting.plot_history), {"history_or_losses": torch.tensor([3.0, 2.0, 1.5, 1.0]), "smooth": 2,
                                           "logy": True, "keys": "loss"}),
    Case(plotting.figure_to_png, {"fig": plt.figure(figsize=(1, 1)), "close": False}),
]
