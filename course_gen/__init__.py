"""course_gen: the PyTorch package behind the deep generative models course.

The notebooks import it for models, data, the training loop, metrics, widgets and
homework checkers. Importing it is cheap: plotly and ipywidgets load only when a widget
or an interactive plot is first used.

Contract names: ``device()``, ``seed_everything(seed)``, ``FAST``.
"""

from __future__ import annotations

import importlib
import os
import random

import numpy as np
import torch

from course_gen._checks import check_int

__version__ = "0.1.0"

_TRUE = {"1", "true", "yes", "on"}


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUE


#: True when ``COURSE_GEN_FAST=1``: notebooks scale training steps and sample counts down
#: (CI sets it); the cells, plots and checked outputs stay the same.
FAST: bool = _env_flag("COURSE_GEN_FAST")


def fast_or_full(fast, full):
    """Return ``fast`` in fast mode (``COURSE_GEN_FAST=1``) and ``full`` otherwise."""
    return fast if FAST else full


def device(name: str | None = None) -> torch.device:
    """The device to run on: ``name`` if given, else ``$COURSE_GEN_DEVICE``, else cuda, mps, cpu.

    Raises ``ValueError`` for a device name torch does not know, and ``RuntimeError`` when
    the requested device type is not available on this machine.
    """
    requested = name if name is not None else os.environ.get("COURSE_GEN_DEVICE", "").strip()
    if not requested:
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(requested)
    except (RuntimeError, TypeError) as err:
        raise ValueError(
            f"unknown device {requested!r}: expected 'cpu', 'cuda', 'cuda:N' or 'mps'"
        ) from err
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {requested!r} was requested but CUDA is not available here")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise RuntimeError(f"device {requested!r} was requested but MPS is not available here")
    return dev


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python's, NumPy's and torch's (CPU and CUDA) random generators with ``seed``.

    Returns a ``torch.Generator`` seeded the same way, for code that wants its own stream.
    """
    seed = check_int("seed", seed, minimum=0, maximum=2**32 - 1)  # NumPy's limit
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    return torch.Generator().manual_seed(seed)


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
    "autoencoders", "autoregressive", "checkpoints", "classifier", "data", "divergences", "exercises",
    "flows", "gan", "metrics", "plotting", "pretrain", "pretrained", "sparse_coding", "train", "vae", "widgets",
}


def __getattr__(name: str):
    # Submodules load on first use, so `import course_gen` stays fast and does not pull in
    # plotly or ipywidgets.
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'course_gen' has no attribute {name!r}")


__all__ = ["FAST", "device", "fast_or_full", "notebook_setup", "seed_everything", "__version__"]
