"""Evaluation and notebook 03's shipped experiments.

- :class:`NLLTracker` (a training callback) and :func:`mean_nll`: NLL in nats per image, eval mode.
- The fair comparison PixelCNN / Gated PixelCNN, the overfitting run with and without dropout, and
  NADE: each a model-builder (seeded weights), a checkpoint name and a training recipe.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from course_gen._checks import check_choice, check_int, check_probability, check_seed
from course_gen.autoregressive.base import _check_images, _check_model
from course_gen.autoregressive.gated import GatedPixelCNN
from course_gen.autoregressive.nade import NADE
from course_gen.autoregressive.pixelcnn import PixelCNN
from course_gen.runtime import evaluating, seeded
from course_gen.train import MAX_STEPS, train


class NLLTracker:
    """A ``train(..., callback=tracker)`` callback recording the mean NLL (nats/image) of data sets.

    Every ``every`` steps (and at step 1) it evaluates ``-log_prob`` in eval mode on each set of
    ``datasets`` (name -> images) and appends it to ``tracker.nll[name]``; ``tracker.steps`` holds
    the steps. Training mode is restored afterwards.
    """

    def __init__(self, model: nn.Module, datasets: Mapping[str, torch.Tensor], every: int = 50):
        _check_model(model)
        if not isinstance(datasets, Mapping) or not datasets:
            raise TypeError(f"datasets must be a non-empty dict name -> images, got {datasets!r:.80}")
        for name, images in datasets.items():
            if not isinstance(name, str):
                raise TypeError(f"datasets' names must be strings, got {type(name).__name__}")
            _check_images(images, model.channels, model.n_levels, name=f"datasets[{name!r}]")
        self.model, self.datasets = model, dict(datasets)
        self.every = check_int("every", every, minimum=1, maximum=MAX_STEPS)
        self.steps: list[int] = []
        self.nll: dict[str, list[float]] = {name: [] for name in self.datasets}

    @torch.no_grad()
    def __call__(self, step: int, history) -> None:
        step = check_int("step", step, minimum=0)
        if step != 1 and step % self.every:
            return None
        with evaluating(self.model):
            self.steps.append(step)
            for name, images in self.datasets.items():
                self.nll[name].append(float(-self.model.log_prob(images).mean()))
        return None


def mean_nll(model: nn.Module, x: torch.Tensor, batch_size: int | None = None) -> float:
    """Mean ``-log p(x)`` over the images of ``x`` in nats per image (eval mode, no gradients),
    ``batch_size`` images at a time (all at once by default)."""
    _check_model(model)
    x = _check_images(x, model.channels, model.n_levels)
    size = len(x) if batch_size is None else check_int("batch_size", batch_size, minimum=1)
    with evaluating(model), torch.no_grad():
        log_p = [model.log_prob(x[i:i + size]) for i in range(0, len(x), size)]
        return float(-torch.cat(log_p).mean())

# ============================================================================ notebook 03's shipped experiments


#: The fair comparison of notebook 03: same depth (3 layers) and kernel (5x5), widths chosen so that
#: both have about 23k parameters (23,122 and 23,473).
COMPARISON_MODELS = {
    "PixelCNN": dict(n_layers=3, hidden_channels=21, kernel_size=5),
    "Gated PixelCNN": dict(n_layers=3, hidden_channels=16, kernel_size=5),
}
#: Their shared training recipe on the 8,000 binarised mnist10k training digits.
COMPARISON_RECIPE = dict(steps=800, lr=3e-3, batch_size=32)
#: The seeds of the comparison (weights and batch order).
COMPARISON_SEEDS = (0, 1)
#: The PixelCNN that memorises 100 digits, and its recipe (dropout 0 or 0.5 on the hidden features).
OVERFIT_MODEL = dict(n_layers=3, hidden_channels=32, kernel_size=5)
OVERFIT_RECIPE = dict(n_train=100, steps=600, lr=3e-3, batch_size=25, every=50, n_test=200)


def comparison_model(kind: str, seed: int = 0) -> nn.Module:
    """An untrained model of the fair comparison: ``kind`` "PixelCNN" or "Gated PixelCNN"
    (:data:`COMPARISON_MODELS`), initial weights from ``seed``."""
    check_choice("kind", kind, tuple(COMPARISON_MODELS))
    model_class = PixelCNN if kind == "PixelCNN" else GatedPixelCNN
    with seeded(seed):  # the caller's random stream is left as it was
        return model_class(**COMPARISON_MODELS[kind])


def comparison_name(kind: str, seed: int) -> str:
    """The checkpoint name of a comparison model, e.g. ``ar_compare_gated_s0``."""
    check_choice("kind", kind, tuple(COMPARISON_MODELS))
    return f"ar_compare_{'plain' if kind == 'PixelCNN' else 'gated'}_s{check_seed(seed)}"


def train_comparison(model: nn.Module, x: torch.Tensor, seed: int = 0, steps: int | None = None, device=None):
    """Train a comparison model with :data:`COMPARISON_RECIPE` (``steps`` overrides its steps) on the
    binary images ``x``; ``seed`` fixes the batch order. Returns the :class:`~course_gen.train.History`."""
    _check_model(model)
    return _train(model, x, COMPARISON_RECIPE, seed, steps, device)


def overfit_model(dropout: float, seed: int = 0) -> nn.Module:
    """The PixelCNN of :data:`OVERFIT_MODEL` with ``dropout`` on its hidden features (weights from ``seed``)."""
    dropout = check_probability("dropout", dropout)
    with seeded(seed):
        return PixelCNN(**OVERFIT_MODEL, dropout=dropout)


def overfit_name(dropout: float) -> str:
    """The checkpoint name of the overfitting run, e.g. ``ar_overfit_p50`` for dropout 0.5."""
    return f"ar_overfit_p{round(100 * check_probability('dropout', dropout)):02d}"


def train_overfit(model: nn.Module, x_small: torch.Tensor, x_test: torch.Tensor, seed: int = 0,
                  steps: int | None = None, device=None) -> NLLTracker:
    """Train ``model`` on the few images ``x_small`` with :data:`OVERFIT_RECIPE`, recording the mean NLL
    of ``x_small`` and of ``x_test`` every ``every`` steps. Returns the :class:`NLLTracker`
    (``tracker.nll["train"]``, ``tracker.nll["test"]``, ``tracker.steps``)."""
    tracker = NLLTracker(model, {"train": x_small, "test": x_test}, every=OVERFIT_RECIPE["every"])
    recipe = {key: OVERFIT_RECIPE[key] for key in ("steps", "lr", "batch_size")}
    _train(model, x_small, recipe, seed, steps, device, callback=tracker)
    return tracker


def tracker_state(trackers: Mapping[float, NLLTracker]) -> dict[str, torch.Tensor]:
    """The curves of several overfitting runs (dropout -> tracker) as a checkpoint-ready dict of tensors:
    ``steps``, ``train_pNN`` and ``test_pNN`` (NN = 100 x dropout)."""
    if not isinstance(trackers, Mapping) or not trackers:
        raise TypeError(f"trackers must be a non-empty dict dropout -> NLLTracker, got {trackers!r:.80}")
    for dropout, tracker in trackers.items():
        if not isinstance(tracker, NLLTracker) or not {"train", "test"} <= set(tracker.nll):
            raise TypeError(f"trackers[{dropout!r}] must be an NLLTracker of 'train' and 'test' (from train_overfit), "
                            f"got {type(tracker).__name__}")
    state: dict[str, torch.Tensor] = {}
    for dropout, tracker in trackers.items():
        tag = overfit_name(dropout).split("_")[-1]
        state["steps"] = torch.tensor(tracker.steps)
        for key in ("train", "test"):
            state[f"{key}_{tag}"] = torch.tensor(tracker.nll[key], dtype=torch.float64)
    return state


#: NADE on the binarised mnist10k digits: its size and its training recipe (teacher forcing: the loss
#: conditions every pixel on the true earlier pixels).
NADE_MODEL = dict(image_shape=(1, 28, 28), hidden=100)
NADE_RECIPE = dict(steps=1000, lr=3e-3, batch_size=32)


def nade_model(seed: int = 0) -> NADE:
    """The untrained NADE of :data:`NADE_MODEL` (weights from ``seed``)."""
    with seeded(seed):
        return NADE(**NADE_MODEL)


def train_nade(model: NADE, x: torch.Tensor, seed: int = 0, steps: int | None = None, device=None):
    """Maximise the teacher-forced log-likelihood of the binary images ``x`` with :data:`NADE_RECIPE`
    (``steps`` overrides its steps). Returns the :class:`~course_gen.train.History`."""
    if not isinstance(model, NADE):
        raise TypeError(f"model must be a NADE, got {type(model).__name__}")
    return _train(model, x, NADE_RECIPE, seed, steps, device)


def _train(model: nn.Module, x: torch.Tensor, recipe: dict, seed: int, steps: int | None, device, **extra):
    """:func:`~course_gen.train.train` with ``recipe`` (``steps`` overrides its steps), quietly."""
    recipe = dict(recipe)
    if steps is not None:
        recipe["steps"] = check_int("steps", steps, minimum=1, maximum=MAX_STEPS)
    return train(model, x, seed=seed, device=device, progress=False, **recipe, **extra)
