"""What every module shares at run time: the device, a model's device, evaluation mode, seeds, fast mode.

- :func:`device` picks where to run: ``name`` if given, else ``$COURSE_GEN_DEVICE``, else cuda, mps, cpu;
  :func:`resolve_device` accepts what a caller may pass (``None``, a name, a ``torch.device``).
- :func:`model_device` is the device of a module's parameters (or buffers), cpu for a module without any.
- :func:`evaluating` puts a module in evaluation mode for a block and restores its mode after, even on error.
- :func:`seeded` runs a block with torch's global generator seeded, then restores the caller's stream, so
  library code never moves the notebook's own randomness; :func:`seed_everything` seeds all generators
  (Python, NumPy, torch) once, for a notebook's first cell.
- :func:`single_thread` runs a block of many tiny CPU operations on one torch thread;
- :data:`FAST` and :func:`fast_or_full`: fast mode (``COURSE_GEN_FAST=1``, CI) scales sizes down.

``course_gen`` re-exports the contract names (``device``, ``seed_everything``, ``FAST``).
"""

from __future__ import annotations

import os
import random
from contextlib import contextmanager

import numpy as np
import torch

from course_gen._checks import check_int, check_seed

_TRUE = {"1", "true", "yes", "on"}


def env_flag(name: str) -> bool:
    """Whether the environment variable ``name`` is set to 1/true/yes/on (case-insensitive)."""
    return os.environ.get(name, "").strip().lower() in _TRUE


#: True when ``COURSE_GEN_FAST=1``: notebooks scale training steps and sample counts down
#: (CI sets it); the cells, plots and checked outputs stay the same.
FAST: bool = env_flag("COURSE_GEN_FAST")


def fast_or_full(fast, full):
    """Return ``fast`` in fast mode (``COURSE_GEN_FAST=1``) and ``full`` otherwise."""
    return fast if FAST else full


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def device(name: str | None = None) -> torch.device:
    """The device to run on: ``name`` if given, else ``$COURSE_GEN_DEVICE``, else cuda, mps, cpu.

    Raises ``ValueError`` for a device name torch does not know, and ``RuntimeError`` when
    the requested device type is not available on this machine.
    """
    requested = name if name is not None else os.environ.get("COURSE_GEN_DEVICE", "").strip()
    if not requested:
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    try:
        dev = torch.device(requested)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"unknown device {requested!r}: expected 'cpu', 'cuda', 'cuda:N' or 'mps'") from err
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {requested!r} was requested but CUDA is not available here")
    if dev.type == "mps" and not _mps_available():
        raise RuntimeError(f"device {requested!r} was requested but MPS is not available here")
    return dev


def resolve_device(value=None) -> torch.device:
    """A checked ``torch.device`` from ``None`` (the default :func:`device`), a name or a ``torch.device``."""
    if value is None:
        return device()
    if isinstance(value, (str, torch.device)):
        return device(str(value))
    raise TypeError(f"device must be None, a str or a torch.device, got {type(value).__name__}")


def model_device(model: torch.nn.Module) -> torch.device:
    """The device of ``model``'s first parameter (or buffer); cpu for a module that has neither."""
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"expected a torch.nn.Module, got {type(model).__name__}")
    for tensor in model.parameters():
        return tensor.device
    for tensor in model.buffers():
        return tensor.device
    return torch.device("cpu")


@contextmanager
def evaluating(*models: torch.nn.Module):
    """Evaluation mode (``model.eval()``) for the block; each model's own mode is restored after."""
    modes = [model.training for model in models]
    try:
        for model in models:
            model.eval()
        yield models[0] if len(models) == 1 else models
    finally:
        for model, mode in zip(models, modes):
            model.train(mode)


@contextmanager
def single_thread(device: torch.device | str = "cpu"):
    """One torch CPU thread for the block (restored after); nothing changes for a GPU ``device``.

    Many tiny operations in a row (dictionary-learning sweeps, pixel-by-pixel sampling) gain nothing
    from more threads, and on a machine shared with other processes the threads' synchronisation
    costs a lot (measured: 16 s with 2 threads, 9.5 s with 1, one core busy elsewhere).
    """
    if torch.device(device).type != "cpu":
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@contextmanager
def seeded(seed: int):
    """Run the block with torch's global CPU generator seeded with ``seed``; the caller's random
    stream is restored after, so seeding inside library code never changes a notebook's draws."""
    seed = check_seed(seed)
    cuda = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=cuda):  # manual_seed also seeds every CUDA device: restore those too
        torch.manual_seed(seed)
        yield


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python's, NumPy's and torch's (CPU and CUDA) random generators with ``seed``.

    Returns a ``torch.Generator`` seeded the same way, for code that wants its own stream.
    """
    seed = check_int("seed", seed, minimum=0, maximum=2**32 - 1)  # NumPy's limit
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    return torch.Generator().manual_seed(seed)


__all__ = ["FAST", "device", "env_flag", "evaluating", "fast_or_full", "model_device", "resolve_device",
           "seed_everything", "seeded", "single_thread"]
