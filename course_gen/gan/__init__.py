"""Generative adversarial networks: the minimax game, its optimal discriminator, and GANs to train.

A generator ``G`` maps noise ``z ~ N(0, I)`` to samples; a discriminator ``D`` scores how
likely a sample is real. They play

    min_G max_D  V(D, G) = E_{x ~ p_data} log D(x) + E_{z ~ p(z)} log(1 - D(G(z))).

One idea per file:

- :mod:`.theory`, the game for discrete distributions (exact, no networks):
  :func:`optimal_discriminator` ``D*(x) = p_data(x) / (p_data(x) + p_g(x))`` and
  :func:`minimax_value` ``V(D, G)``, with ``V(D*, G) = C(G) = -log 4 + 2 JSD(p_data || p_g)``;
- :mod:`.losses`, on discriminator LOGITS (``D(x) = sigmoid(logit)``, computed stably with softplus):
  :func:`discriminator_loss` and :func:`generator_loss` for ``LOSSES``: ``"minimax"`` (the
  saturating ``E log(1 - D(G(z)))``), ``"non-saturating"`` (``-E log D(G(z))``) and
  ``"least-squares"`` (LSGAN: the discriminator's raw output regressed to 1 / 0); and what
  ``D`` says: :func:`discriminator_probability`, :func:`jsd_estimate` (an estimate, not the true JSD);
- :mod:`.networks`: :class:`MLPGenerator` / :class:`MLPDiscriminator` for 2-D points, and
  :class:`DCGANGenerator` / :class:`DCGANDiscriminator` for small images (DCGAN guidelines),
  seeded pairs from :func:`mlp_gan` and :func:`dcgan`;
- :mod:`.trainer`: :class:`GANTrainer`, THE training loop (k discriminator steps per generator
  step, seeded, any device), built on the pieces of :func:`course_gen.train.train` (its
  :class:`~course_gen.train.History`, divergence check and callbacks), which the playground
  widget steps a few iterations at a time; :func:`train_gan` runs it for a number of steps;
  :func:`fit_discriminator` trains only ``D`` between two fixed sample sets (the two-sample test);
- :mod:`.diagnostics`: :func:`mode_coverage` (mode collapse on 8 gaussians),
  :func:`nearest_neighbours`, :func:`nearest_neighbour_factors`, :func:`bilinear_game` (why
  simultaneous gradient steps circle);
- :mod:`.shapes`: a DCGAN on large upright shapes for latent arithmetic.

The DCGAN trained on the MNIST digits ships with the course; samples in [0, 1]::

    from course_gen import pretrained
    generator = pretrained.load("dcgan")                  # z in R^32 -> (1, 28, 28)
    samples = generator.sample(500, seed=0)               # (500, 1, 28, 28) in [0, 1], on the CPU

Its recipe is ``python -m course_gen.pretrain dcgan`` (a :class:`GANTrainer`, k = 1, 2,000 steps).
A small one to train yourself: ``generator, discriminator = dcgan(image_size=28, latent_dim=16)``,
then ``train_gan(generator, discriminator, images, steps=..., batch_size=64)``. For latent
arithmetic on known factors, :func:`upright_shapes`, :func:`shapes_dcgan` and
:func:`train_shapes_dcgan` (shipped as the checkpoint ``gan_shapes``), and
:func:`nearest_neighbour_factors` to read the factors of what a generator drew.

Both DCGAN networks work in data space: the generator's ``tanh`` output is mapped to [0, 1]
(:class:`ToUnitInterval`) and the discriminator maps its [0, 1] input to [-1, 1] itself
(:class:`FromUnitInterval`).
"""

from course_gen.gan.diagnostics import (
    MAX_GAME_STEPS,
    bilinear_game,
    mode_coverage,
    nearest_neighbour_factors,
    nearest_neighbours,
)
from course_gen.gan.losses import (
    EPS,
    LOSSES,
    discriminator_loss,
    discriminator_probability,
    generator_loss,
    jsd_estimate,
)
from course_gen.gan.networks import (
    DCGANDiscriminator,
    DCGANGenerator,
    FromUnitInterval,
    MLPDiscriminator,
    MLPGenerator,
    ToUnitInterval,
    dcgan,
    mlp_gan,
)
from course_gen.gan.shapes import (
    CENTRE_RANGE,
    SHAPES_RECIPE,
    SIZE_FACTOR,
    shapes_dcgan,
    train_shapes_dcgan,
    upright_shapes,
)
from course_gen.gan.theory import minimax_value, optimal_discriminator
from course_gen.gan.trainer import GANTrainer, fit_discriminator, train_gan

__all__ = [
    "LOSSES",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "FromUnitInterval",
    "GANTrainer",
    "MLPDiscriminator",
    "MLPGenerator",
    "ToUnitInterval",
    "bilinear_game",
    "dcgan",
    "discriminator_loss",
    "discriminator_probability",
    "fit_discriminator",
    "generator_loss",
    "jsd_estimate",
    "minimax_value",
    "mlp_gan",
    "mode_coverage",
    "nearest_neighbour_factors",
    "nearest_neighbours",
    "optimal_discriminator",
    "shapes_dcgan",
    "train_gan",
    "train_shapes_dcgan",
    "upright_shapes",
]

# Functions and classes show their public path (``course_gen.gan.discriminator_loss``, not the file they live in) in
# messages, reprs and the exercise checkers' feedback, as before the split into files.
for _name in __all__:
    if getattr(globals()[_name], "__module__", "").startswith(__name__ + "."):
        globals()[_name].__module__ = __name__
del _name
