"""Notebook 05's comparison models: how they are built, trained, shipped and loaded."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from course_gen._checks import check_int
from course_gen.runtime import resolve_device, seeded
from course_gen.vae.model import VAE, _check_vae



#: The comparison models of notebook 05: 28x28 digits, one hidden layer of 256 units.
COMPARISON_IMAGE_SHAPE = (1, 28, 28)
COMPARISON_HIDDEN = (256,)


def build(latent_dim: int, likelihood: str = "bernoulli", decoder: str = "mlp", n_flows: int = 0,
          beta: float = 1.0, hidden_sizes: Sequence[int] = COMPARISON_HIDDEN,
          image_shape: Sequence[int] = COMPARISON_IMAGE_SHAPE, seed: int = 0) -> VAE:
    """A new :class:`VAE` (encoder ``784 -> 256 -> ...``, mirrored decoder by default) whose initial
    weights depend only on ``seed`` (drawn from a forked random state: the caller's is untouched).
    The comparisons of notebook 05 vary one argument at a time from the same seed."""
    with seeded(seed):
        return VAE(latent_dim=latent_dim, likelihood=likelihood, image_shape=image_shape,
                   hidden_sizes=hidden_sizes, beta=beta, decoder=decoder, n_flows=n_flows)


def fit(model: VAE, x: torch.Tensor, steps: int, seed: int = 0, lr: float = 1e-3, batch_size: int = 128,
        device=None, progress: bool = False):
    """The training recipe of the shipped comparison models: Adam on ``model.loss`` (the negative
    ELBO, one reparameterised sample; ``beta`` times the KL for a beta-VAE), ``steps`` batches of
    ``batch_size`` from ``x``, learning rate ``lr``, batch order from ``seed``
    (:func:`course_gen.train.train`). Then every weight is rounded to half precision, as the shipped
    files store them, so a model retrained here and a loaded one give the same numbers.
    Returns the :class:`~course_gen.train.History` (``reconstruction`` and ``kl`` per step)."""
    from course_gen.train import train

    model = _check_vae(model)
    history = train(model, x, steps=check_int("steps", steps, minimum=1), lr=lr, batch_size=batch_size,
                    device=device, seed=seed, progress=progress)
    with torch.no_grad():
        for tensor in model.state_dict().values():
            if tensor.is_floating_point():
                tensor.copy_(tensor.half().float())
    return history


def load_or_fit(model: VAE, name: str, x: torch.Tensor, steps: int, retrain: bool = False, seed: int = 0,
                device=None, note: str = "", **fit_options) -> tuple[VAE, dict[str, torch.Tensor]]:
    """The shipped weights ``name`` loaded into ``model`` (sha256-checked,
    :func:`course_gen.checkpoints.load_or_train`), trained with :func:`fit` when they are missing;
    ``retrain=True`` skips loading, trains and saves (weights in half precision, and the curves).

    Returns ``(model, curves)``: ``curves`` holds the per-step ``"reconstruction"`` and ``"kl"``
    (nats per image) of the training run, shipped as ``name + "_curves"``.
    """
    from course_gen import checkpoints

    model = _check_vae(model)
    if not isinstance(retrain, bool):
        raise TypeError(f"retrain must be a bool, got {type(retrain).__name__}")
    histories = []

    def train_fn(m):
        histories.append(fit(m, x, steps, seed=seed, device=device, **fit_options))

    recipe = note or f"vae.fit({model.extra_repr()}), {steps} steps, seed {seed}; weights stored in float16"
    model, _ = checkpoints.load_or_train(model, name, train_fn, retrain=retrain, note=recipe, half=True)
    if histories:
        history = histories[0]
        curves = {key: torch.tensor(history.metrics[key], dtype=torch.float32) for key in ("reconstruction", "kl")}
        if retrain:
            checkpoints.save_checkpoint(curves, f"{name}_curves", half=True,
                                        note=f"training curves (reconstruction, KL per step) of {name}")
    else:
        curves = {k: v.float() for k, v in checkpoints.load_checkpoint(f"{name}_curves").items()}
    return model.to(resolve_device(device)).eval(), curves
