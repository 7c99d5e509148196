"""A DCGAN on large upright shapes, for latent arithmetic on known factors (checkpoint ``gan_shapes``).

:func:`upright_shapes` draws the data with its factors, :func:`shapes_dcgan` builds the seeded pair
of :data:`SHAPES_RECIPE` and :func:`train_shapes_dcgan` trains it with that recipe.
"""

from __future__ import annotations

import torch

from course_gen._checks import check_int
from course_gen.gan.networks import DCGANDiscriminator, DCGANGenerator, dcgan
from course_gen.gan.trainer import MAX_STEPS, train_gan
from course_gen.train import History

__all__ = ["CENTRE_RANGE", "SHAPES_RECIPE", "SIZE_FACTOR", "shapes_dcgan", "train_shapes_dcgan", "upright_shapes"]

#: The recipe of the shipped shapes DCGAN (checkpoint ``gan_shapes``): data, networks, training.
SHAPES_RECIPE = {
    "n_images": 8000, "image_size": 28, "data_seed": 0, "latent_dim": 16, "width": 16,
    "steps": 2500, "batch_size": 64, "lr": 5e-4, "loss": "non-saturating", "k": 1,
}
#: :func:`upright_shapes` draws shapes this many times larger than :func:`course_gen.data.shapes`
#: (which makes them reach 0.2 scale image widths from their centre) ...
SIZE_FACTOR = 2.0
#: ... with their centres in this range (image widths), so that even the largest stays inside.
CENTRE_RANGE = (0.4, 0.6)
#: The most images one call of :func:`upright_shapes` draws.
MAX_IMAGES = 100_000


def upright_shapes(n: int, size: int = 28, seed: int = 0) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Large upright shapes for latent arithmetic: ``(images, factors)``.

    The factors of :func:`course_gen.data.shapes` (same ``seed``: same shape and scale), with
    rotation 0, the centre ``x``, ``y`` mapped into :data:`CENTRE_RANGE` and every shape drawn
    :data:`SIZE_FACTOR` times larger: at ``scale`` in [0.5, 1] it reaches ``0.4 * scale`` image
    widths from its centre (an upright square of scale 1 is 16 x 16 pixels at 28x28, one of
    scale 0.5 is 8 x 8). What one sees of a shape is then its kind (square, ellipse, triangle,
    heart), its size and a little of its position: the factors latent arithmetic works on.
    ``images`` float32 ``(n, 1, size, size)`` in {0, 1}; ``factors["scale"]`` keeps [0.5, 1].
    ``n`` at most :data:`MAX_IMAGES`.
    """
    from course_gen.data import shapes
    from course_gen.data.shapes import MAX_SIZE, MIN_SIZE, POSITION_HIGH, POSITION_LOW, render_shapes

    n = check_int("n", n, minimum=1, maximum=MAX_IMAGES)
    size = check_int("size", size, minimum=MIN_SIZE, maximum=MAX_SIZE)
    _, factors = shapes(n, size=8, seed=seed)  # the factors only (8x8 renders fastest)
    low, high = CENTRE_RANGE
    to_centre = {key: low + (factors[key] - POSITION_LOW) / (POSITION_HIGH - POSITION_LOW) * (high - low) for key in ("x", "y")}
    factors = {**factors, **to_centre, "rotation": torch.zeros_like(factors["rotation"])}
    images = render_shapes({**factors, "scale": factors["scale"] * SIZE_FACTOR}, size)
    return images, factors


def shapes_dcgan(seed: int = 0) -> tuple[DCGANGenerator, DCGANDiscriminator]:
    """The seeded DCGAN pair of :data:`SHAPES_RECIPE` for 28x28 shapes (``z`` in R^16, width 16)."""
    r = SHAPES_RECIPE
    return dcgan(image_size=r["image_size"], latent_dim=r["latent_dim"], width=r["width"], seed=seed)


def train_shapes_dcgan(generator: DCGANGenerator, steps: int | None = None, device=None, seed: int = 0) -> History:
    """Train ``generator`` (from :func:`shapes_dcgan`) on ``upright_shapes(8000, 28, seed=0)`` with
    :data:`SHAPES_RECIPE` (non-saturating loss, k = 1, Adam(0.5, 0.999), lr 5e-4 for both, batch 64,
    2500 steps unless ``steps`` is given), against a fresh discriminator seeded by ``seed + 1``."""
    r = SHAPES_RECIPE
    if not isinstance(generator, DCGANGenerator) or generator.image_size != r["image_size"]:
        raise TypeError(f"generator must be the 28x28 DCGANGenerator of shapes_dcgan(), got {type(generator).__name__}")
    steps = r["steps"] if steps is None else check_int("steps", steps, minimum=1, maximum=MAX_STEPS)
    seed = check_int("seed", seed, minimum=0, maximum=2**32 - 2)  # seed + 1 seeds the discriminator
    images, _ = upright_shapes(r["n_images"], r["image_size"], seed=r["data_seed"])
    _, discriminator = shapes_dcgan(seed=seed + 1)
    return train_gan(
        generator, discriminator, images, steps=steps, loss=r["loss"], k=r["k"],
        batch_size=r["batch_size"], lr_g=r["lr"], lr_d=r["lr"], device=device, seed=seed,
    )
