"""Notebook 02's models on MNIST: the architectures it compares, the one recipe that trains each
shipped model, and :func:`shipped`, which loads the trained weights (or trains them here).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from course_gen._checks import check_bool, check_choice, check_int, check_positive_number, check_seed
from course_gen.autoencoders.hashing import BinaryCodeAutoencoder
from course_gen.autoencoders.losses import LIKELIHOODS
from course_gen.autoencoders.models import MLPAutoencoder
from course_gen.runtime import resolve_device, seeded

#: The most training steps a recipe may ask for.
MAX_STEPS = 10**7

#: The images of ``course_gen.data.mnist10k``.
MNIST_SHAPE = (1, 28, 28)
#: Code sizes of the deep autoencoders compared with PCA (30: the deck's deep autoencoder).
DEEP_CODE_SIZES = (2, 4, 8, 16, 30)
#: Hidden units of the over-complete autoencoders (more than the 784 pixels).
OVERCOMPLETE_UNITS = 1000
#: The over-complete variants: what (if anything) stops each from learning the identity.
OVERCOMPLETE = {
    "plain": {},
    "mask25": {"corruption": "mask", "noise_level": 0.25},
    "mask50": {"corruption": "mask", "noise_level": 0.5},
    "gaussian": {"corruption": "gaussian", "noise_level": 0.5},
    "sparse": {"sparsity": 0.1},
}


def overcomplete_autoencoder(variant: str = "plain") -> MLPAutoencoder:
    """784 -> 1000 ReLU units -> 784 linear outputs, tied weights, squared error, for grey digits.

    ``variant`` (see :data:`OVERCOMPLETE`): ``"plain"`` (nothing stops the identity),
    ``"mask25"``/``"mask50"`` (masking noise, nu = 0.25 / 0.5), ``"gaussian"`` (additive noise,
    sigma = 0.5) or ``"sparse"`` (L1 penalty 0.1 on the code). Everything else is shared, so
    that the variants differ only in what stops them from copying.
    """
    check_choice("variant", variant, OVERCOMPLETE)
    return MLPAutoencoder(
        OVERCOMPLETE_UNITS,
        activation="relu",
        tied=True,
        image_shape=MNIST_SHAPE,
        likelihood="gaussian",
        **OVERCOMPLETE[variant],
    )


def deep_autoencoder(code_size: int, hidden_sizes: Sequence[int] = (128, 64)) -> MLPAutoencoder:
    """784 -> 128 -> 64 -> k -> 64 -> 128 -> 784: ELU hidden units, a linear code, squared error."""
    return MLPAutoencoder(
        code_size,
        hidden_sizes=hidden_sizes,
        activation="elu",
        code_activation="linear",
        image_shape=MNIST_SHAPE,
        likelihood="gaussian",
    )


def _loss_pair() -> nn.ModuleDict:
    """The lecture's one-hidden-layer autoencoder, ``h = sigm(b + Wx)``, 32 code units, once
    with each likelihood: sigmoid outputs + cross-entropy, linear outputs + squared error."""
    return nn.ModuleDict(
        {
            likelihood: MLPAutoencoder(32, activation="sigmoid", image_shape=MNIST_SHAPE, likelihood=likelihood)
            for likelihood in LIKELIHOODS
        }
    )


#: What a recipe trains on (see :class:`Recipe`).
RECIPE_DATA = ("grey", "binary", "centred")


@dataclass(frozen=True)
class Recipe:
    """How one shipped model of notebook 02 is built and trained.

    ``data``: ``"grey"`` (mnist10k train, in [0, 1]), ``"binary"`` (its fixed binarisation) or
    ``"centred"`` (grey, flattened, minus the training mean). Every member of a
    ``nn.ModuleDict`` is trained the same way, one after the other, from ``seed``.
    """

    build: Callable[[], nn.Module]
    data: str
    steps: int
    lr: float = 1e-3
    batch_size: int = 128
    seed: int = 0
    about: str = ""

    def __post_init__(self):
        if not callable(self.build):
            raise TypeError(f"build must be callable (it returns the model), got {type(self.build).__name__}")
        check_choice("data", self.data, RECIPE_DATA)
        check_int("steps", self.steps, minimum=1, maximum=MAX_STEPS)
        check_positive_number("lr", self.lr)
        check_int("batch_size", self.batch_size, minimum=1)
        check_seed(self.seed)
        if not isinstance(self.about, str):
            raise TypeError(f"about must be a str, got {type(self.about).__name__}")

    def note(self, name: str) -> str:
        return (
            f"{name}: course_gen.autoencoders.RECIPES[{name!r}] ({self.about}); mnist10k train, {self.data}; "
            f"Adam lr {self.lr}, {self.steps} steps of {self.batch_size}, seed {self.seed}; stored in float16"
        )


RECIPES: dict[str, Recipe] = {
    "ae02_losses": Recipe(_loss_pair, "binary", 3000, lr=3e-3, about="784-32-784 sigmoid code, bernoulli and gaussian"),
    "ae02_linear": Recipe(
        lambda: MLPAutoencoder(16, activation="linear", likelihood="gaussian", image_shape=(784,)),
        "centred",
        2000,
        lr=1e-2,
        batch_size=8000,
        about="linear 784-16-784, squared error, full batch",
    ),
    "ae02_deep": Recipe(
        lambda: nn.ModuleDict({str(k): deep_autoencoder(k) for k in DEEP_CODE_SIZES}),
        "grey",
        4000,
        about=f"deep_autoencoder(k) for k in {DEEP_CODE_SIZES}",
    ),
    **{
        f"ae02_over_{variant}": Recipe(
            lambda variant=variant: overcomplete_autoencoder(variant),
            "grey",
            4000,
            about=f"overcomplete_autoencoder({variant!r})",
        )
        for variant in OVERCOMPLETE
    },
    "ae02_hashing": Recipe(
        lambda: BinaryCodeAutoencoder(16, hidden_sizes=(256, 128), image_shape=MNIST_SHAPE, likelihood="gaussian"),
        "grey",
        4000,
        about="BinaryCodeAutoencoder(16 bits, 256-128, code noise 4)",
    ),
}


def recipe_data(kind: str) -> torch.Tensor:
    """The training images a recipe uses (see :class:`Recipe`)."""
    from course_gen.data import mnist10k

    check_choice("data", kind, RECIPE_DATA)
    images, _ = mnist10k("train", binarize=kind == "binary")
    if kind == "centred":
        flat = images.reshape(len(images), -1)
        return flat - flat.mean(dim=0)
    return images


def train_recipe(name: str, model: nn.Module | None = None, device=None, progress: bool = False,
                 steps: int | None = None) -> nn.Module:
    """Build (unless ``model`` is given) and train the model ``name`` of :data:`RECIPES`.

    ``steps`` (default: the recipe's) shortens a run, e.g. to try the recipe out. The model is
    built with torch's generator seeded by the recipe's seed, without moving the caller's stream.
    """
    from course_gen.train import train

    check_choice("name", name, RECIPES)
    if model is not None and not isinstance(model, nn.Module):
        raise TypeError(f"model must be None or an nn.Module, got {type(model).__name__}")
    if device is not None:
        device = resolve_device(device)
    check_bool("progress", progress)
    recipe = RECIPES[name]
    steps = recipe.steps if steps is None else check_int("steps", steps, minimum=1, maximum=MAX_STEPS)
    if model is None:
        with seeded(recipe.seed):
            model = recipe.build()
    x = recipe_data(recipe.data)
    members = model.values() if isinstance(model, nn.ModuleDict) else [model]
    for member in members:
        train(
            member,
            x,
            steps=steps,
            lr=recipe.lr,
            batch_size=recipe.batch_size,
            seed=recipe.seed,
            device=device,
            progress=progress,
        )
    return model.eval()


def shipped(name: str, retrain: bool = False, device=None, root=None) -> nn.Module:
    """Notebook 02's model ``name`` with its shipped weights, in eval mode, on ``device``.

    ``retrain=True`` skips the shipped file: the model is trained here with its recipe
    (:func:`train_recipe`) and saved in its place (in float16). Without it,
    ``course_gen.checkpoints.load_or_train`` loads the sha256-checked file, and trains only
    if the file is missing or altered. ``root`` (a folder of checkpoints instead of
    ``assets/``) must exist unless ``retrain=True``.
    """
    from course_gen.checkpoints import load_or_train

    check_choice("name", name, RECIPES)
    check_bool("retrain", retrain)
    if device is not None:
        device = resolve_device(device)
    with seeded(RECIPES[name].seed):  # the same initial weights on every retraining
        model = RECIPES[name].build()
    model, _ = load_or_train(model, name, lambda m: train_recipe(name, m, device), root=root, retrain=retrain,
                             note=RECIPES[name].note(name), half=True)
    if device is not None:
        model.to(device)
    return model.eval()
