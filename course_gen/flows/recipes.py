"""Recipes: the flows the notebooks build, and notebook 04's shipped 2-D models.

- :func:`realnvp_2d`: affine couplings (ActNorm before each) for 2-D points;
- :func:`realnvp_digits`: a small RealNVP/Glow flow for digits, as a :class:`~course_gen.flows.DequantizedFlow`;
- :func:`shipped_2d`: notebook 04's trained 2-D models (:data:`SHIPPED_2D`), with the recipes that make them
  (:data:`MOONS_RECIPE`, :data:`PLANAR_RECIPE`).

Recipe for digits and binarized digits (the shipped 28x28 flows of notebooks 04 and 07 are
``pretrained.load("realnvp")`` and ``"realnvp_vardeq"``, built with ``image_size=28, n_levels=2``)::

    model = flows.realnvp_digits(n_levels=2)          # or 17 for the grey-level digits;
                                                      # dequantization="variational" learns the noise
    train(model, x_train, steps=2000, lr=1e-3)        # loss(x): -bound / D, dequantised inside
    flows.dequantized_bits_per_dim(model, x_test)     # test bits/dim (an upper bound)
    model.log_prob(x_test)                            # lower bound on log P(x), nats per image
    model.sample(16)                                  # discrete images, values k / (K - 1)

Initial weights depend only on ``seed``, drawn under :func:`course_gen.runtime.seeded`: building a model
leaves the caller's random stream as it was.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import torch
from torch import nn

from course_gen._checks import check_bool, check_choice, check_int, check_seed
from course_gen.data.toy2d import ENERGY_NAMES, energy_log_density
from course_gen.flows.base import Flow, Transform, VariationalFlow
from course_gen.flows.coupling import MASKS, MAX_HIDDEN, AffineCoupling
from course_gen.flows.dequantization import (DEQUANTIZATIONS, MAX_LEVELS, DequantizedFlow, LogitTransform,
                                             VariationalDequantizer)
from course_gen.flows.diagnostics import reverse_kl
from course_gen.flows.glow import ActNorm, Invertible1x1Conv, Squeeze
from course_gen.flows.planar import planar_flows
from course_gen.runtime import resolve_device, seeded

#: Most layers a recipe builds.
MAX_LAYERS = 1000
#: Largest side of the images :func:`realnvp_digits` builds a flow for.
MAX_IMAGE_SIZE = 1024


def realnvp_2d(n_couplings: int = 6, hidden: int = 64, mask: str = "alternating", alternate: bool = True,
               actnorm: bool = True, seed: int = 0) -> Flow:
    """A RealNVP flow for 2-D points: ``n_couplings`` affine couplings (with ActNorm before each).

    ``alternate=True`` flips the mask between layers (so both coordinates get transformed);
    ``alternate=False`` keeps the same kept half everywhere: that coordinate passes through untouched,
    so its marginal stays the base's Gaussian (the failure the notebook shows).
    """
    n_couplings = check_int("n_couplings", n_couplings, minimum=1, maximum=MAX_LAYERS)
    check_bool("alternate", alternate)
    check_bool("actnorm", actnorm)
    check_choice("mask", mask, MASKS[:2])  # the masks for vectors
    layers: list[Transform] = []
    with seeded(check_seed(seed)):
        for k in range(n_couplings):
            if actnorm:
                layers.append(ActNorm(2))
            layers.append(AffineCoupling(2, mask, hidden=hidden, flip=alternate and k % 2 == 1))
    return Flow(layers)


def realnvp_digits(n_levels: int = 17, hidden: int = 32, n_checkerboard: int = 2, n_channel: int = 2,
                   alpha: float = 0.05, seed: int = 0, dequantization: str = "uniform",
                   image_size: int = 8) -> DequantizedFlow:
    """A small RealNVP/Glow flow for digits, as a :class:`DequantizedFlow` with ``n_levels`` levels.

    Logit transform; ``n_checkerboard`` affine couplings with alternating checkerboard masks on
    ``(1, S, S)`` (ActNorm before each), ``S = image_size`` (8 for the 8x8 digits, 28 for MNIST);
    :class:`Squeeze` to ``(4, S/2, S/2)``; then ``n_channel`` Glow steps (ActNorm, LU 1x1 convolution,
    channel coupling with alternating halves). ``dequantization`` (see :data:`DEQUANTIZATIONS`):
    ``"variational"`` adds a :class:`VariationalDequantizer` with ``hidden // 2`` channels.
    Parameters are seeded by ``seed``. See the module docstring for the recipe.
    """
    check_int("n_levels", n_levels, minimum=2, maximum=MAX_LEVELS)
    check_choice("dequantization", dequantization, DEQUANTIZATIONS)
    size = check_int("image_size", image_size, minimum=2, maximum=MAX_IMAGE_SIZE)
    if size % 2:
        raise ValueError(f"image_size must be even (the flow squeezes 2x2 blocks into channels), got {size}")
    hidden = check_int("hidden", hidden, minimum=1, maximum=MAX_HIDDEN)
    n_checkerboard = check_int("n_checkerboard", n_checkerboard, minimum=0, maximum=MAX_LAYERS)
    n_channel = check_int("n_channel", n_channel, minimum=0, maximum=MAX_LAYERS)
    generator = torch.Generator().manual_seed(check_seed(seed))
    image, squeezed = (1, size, size), (4, size // 2, size // 2)
    with seeded(seed):
        layers: list[Transform] = [LogitTransform(alpha)]
        for k in range(n_checkerboard):
            layers += [ActNorm(1), AffineCoupling(image, "checkerboard", hidden=hidden, flip=k % 2 == 1)]
        layers.append(Squeeze())
        for k in range(n_channel):
            layers += [ActNorm(4), Invertible1x1Conv(4, lu=True, generator=generator),
                       AffineCoupling(squeezed, "channel", hidden=hidden, flip=k % 2 == 1)]
        dequantizer = VariationalDequantizer(image, hidden=max(hidden // 2, 1)) if dequantization == "variational" else None
    return DequantizedFlow(Flow(layers, event_shape=image), n_levels, dequantizer)


# ============================================================================ notebook 04's shipped 2-D models

#: Recipe of ``flows04_moons``: both RealNVPs of :func:`moons_realnvp_pair` on ``toy2d("moons", 4000, seed=0)``.
MOONS_RECIPE = {"n": 4000, "data_seed": 0, "steps": 800, "lr": 2e-3, "batch_size": 256, "seed": 0}
#: Recipe of ``flows04_planar_u2``: K planar layers fitted to ``exp(-U2)`` by reverse KL; every K gets the
#: same budget, two phases (``steps[i]`` Adam steps at ``lr[i]``) from each of the ``restarts`` seeds,
#: and keeps the restart with the lower reverse KL on ``select_seed``'s base draws.
PLANAR_RECIPE = {"target": "U2", "ks": (1, 2, 4, 8), "n_base": 20_000, "base_seed": 0, "steps": (3000, 1000),
                 "lr": (5e-3, 1e-3), "batch_size": 256, "restarts": (0, 1), "select_seed": 3}
#: The shipped 2-D models of notebook 04 (files ``assets/NAME.pt``), see :func:`shipped_2d`.
SHIPPED_2D = ("flows04_moons", "flows04_planar_u2")


def moons_realnvp_pair(seed: int = 0) -> nn.ModuleDict:
    """Two untrained :func:`realnvp_2d` flows (6 couplings, 64 hidden): ``"alternating"`` masks and
    ``"same_mask"`` in every layer; parameters seeded by ``seed``."""
    return nn.ModuleDict({"alternating": realnvp_2d(6, 64, alternate=True, seed=seed),
                          "same_mask": realnvp_2d(6, 64, alternate=False, seed=seed)})


def train_moons_realnvp_pair(models: nn.ModuleDict, device=None, progress: bool = False) -> nn.ModuleDict:
    """Maximum likelihood for both flows of :func:`moons_realnvp_pair` with :data:`MOONS_RECIPE`."""
    from course_gen.data import toy2d
    from course_gen.train import train

    device = _check_recipe_call(models, device, progress)
    recipe = MOONS_RECIPE
    x = toy2d("moons", recipe["n"], seed=recipe["data_seed"])
    for model in models.values():
        with seeded(recipe["seed"]):
            train(model, x, steps=recipe["steps"], lr=recipe["lr"], batch_size=recipe["batch_size"],
                  seed=recipe["seed"], device=device, progress=progress)
    return models.eval()


def planar_fits(target: str = "U2", ks: Sequence[int] = PLANAR_RECIPE["ks"], seed: int = 0) -> nn.ModuleDict:
    """Untrained :class:`VariationalFlow` s of ``K`` planar layers for each ``K`` in ``ks`` (keys ``str(K)``),
    each targeting ``exp(-U)`` of :func:`energy_log_density` (``target`` in :data:`ENERGY_NAMES`)."""
    check_choice("energy", target, ENERGY_NAMES)
    if isinstance(ks, (str, bytes)) or not isinstance(ks, Sequence) or not ks:
        raise TypeError(f"ks must be a non-empty sequence of layer counts, got {ks!r}")
    ks = [check_int("ks entry", k, minimum=1, maximum=MAX_LAYERS) for k in ks]
    log_density = functools.partial(energy_log_density, target)
    return nn.ModuleDict({str(k): VariationalFlow(planar_flows(2, k, seed=seed), log_density, dim=2) for k in ks})


def train_planar_fits(models: nn.ModuleDict, device=None, progress: bool = False) -> nn.ModuleDict:
    """Fit every :class:`VariationalFlow` of :func:`planar_fits` by reverse KL with :data:`PLANAR_RECIPE`
    (same base draws and budget for every K; the best of the restarts is kept)."""
    from course_gen.train import train

    device = _check_recipe_call(models, device, progress)
    recipe = PLANAR_RECIPE
    z0 = torch.randn(recipe["n_base"], 2, generator=torch.Generator().manual_seed(recipe["base_seed"]))
    for key, model in models.items():
        best, best_kl = None, math.inf
        for restart in recipe["restarts"]:
            candidate = VariationalFlow(planar_flows(2, int(key), seed=restart), model.target_log_prob, dim=2)
            with seeded(restart):
                for steps, lr in zip(recipe["steps"], recipe["lr"]):
                    train(candidate, z0, steps=steps, lr=lr, batch_size=recipe["batch_size"], seed=restart,
                          device=device, progress=progress)
            kl, _ = reverse_kl(candidate, 0.0, seed=recipe["select_seed"])
            if kl < best_kl:
                best, best_kl = candidate, kl
        model.load_state_dict(best.state_dict())
    return models.eval()


def _check_recipe_call(models, device, progress):
    """The checks shared by the two training recipes; returns the device (None: the default)."""
    if not isinstance(models, nn.ModuleDict):
        raise TypeError(f"models must be the nn.ModuleDict of the recipe's builder, got {type(models).__name__}")
    check_bool("progress", progress)
    return None if device is None else resolve_device(device)


def _shipped_recipe(name: str):
    if name == "flows04_moons":
        note = f"moons_realnvp_pair() trained by train_moons_realnvp_pair, MOONS_RECIPE {MOONS_RECIPE}"
        return moons_realnvp_pair, train_moons_realnvp_pair, note
    return planar_fits, train_planar_fits, f"planar_fits() trained by train_planar_fits, PLANAR_RECIPE {PLANAR_RECIPE}"


def shipped_2d(name: str, retrain: bool = False, device=None, root=None) -> nn.ModuleDict:
    """Notebook 04's 2-D models (``name`` in :data:`SHIPPED_2D`) with their shipped weights, in eval mode.

    ``flows04_moons``: :func:`moons_realnvp_pair` trained on two moons; ``flows04_planar_u2``:
    :func:`planar_fits` fitted to ``exp(-U2)``. Loading goes through
    :func:`course_gen.checkpoints.load_or_train` (sha256-checked; trains with the recipe if the file is
    missing or altered); ``retrain=True`` trains with the recipe and saves the file in its place.
    """
    from course_gen import checkpoints

    check_choice("shipped 2-D model", name, SHIPPED_2D)
    check_bool("retrain", retrain)
    device = None if device is None else resolve_device(device)
    build, fit, note = _shipped_recipe(name)
    model = build()
    model, _ = checkpoints.load_or_train(model, name, lambda m: fit(m, device), root=root, retrain=retrain, note=note)
    if device is not None:
        model.to(device)
    return model.eval()
