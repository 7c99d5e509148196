"""course_gen: the PyTorch package behind the deep generative models course.

The notebooks import it for models, data, the training loop, metrics, widgets and
homework checkers. Importing it is cheap: plotly and ipywidgets load only when a widget
or an interactive plot is first used.

Contract names: ``device()``, ``seed_everything(seed)``, ``FAST``.
"""

from __future__ import annotations

import importlib

import torch

from course_gen._checks import check_int
from course_gen.runtime import FAST, device, fast_or_full, seed_everything

__version__ = "0.1.0"


def notebook_setup(seed: int = 0, threads: int | None = 1) -> torch.device:
    """The first cell of every notebook: course figure style, seeds, CPU threads, device.

    Applies ``plotting.use_course_style()``, calls ``seed_everything(seed)``, limits torch to
    ``threads`` CPU threads (the course's models are small: one thread trains them as fast,
    and stays steady on a busy 2-core laptop; ``None`` keeps torch's default), prints the
    device and fast-mode line and returns ``device()``.
    """
    from course_gen import plotting

    if threads is not None:
        torch.set_num_threads(check_int("threads", threads, minimum=1))
    plotting.use_course_style()
    seed_everything(seed)
    dev = device()
    print("device:", dev, "| fast mode:", FAST)
    return dev


_LAZY_SUBMODULES = {
    "autoencoders", "autoregressive", "checkpoints", "classifier", "data", "diffusion", "divergences", "exercises",
    "flows", "gan", "homework", "metrics", "plotting", "pretrain", "pretrained", "runtime", "sparse_coding", "train",
    "vae", "widgets",
}


def __getattr__(name: str):
    # Submodules load on first use, so `import course_gen` stays fast and does not pull in
    # plotly or ipywidgets.
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'course_gen' has no attribute {name!r}")


__all__ = ["FAST", "device", "fast_or_full", "notebook_setup", "seed_everything", "__version__"]
