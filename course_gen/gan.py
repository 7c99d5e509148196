"""Generative adversarial networks: the minimax game, its optimal discriminator, and GANs to train.

A generator ``G`` maps noise ``z ~ N(0, I)`` to samples; a discriminator ``D`` scores how
likely a sample is real. They play

    min_G max_D  V(D, G) = E_{x ~ p_data} log D(x) + E_{z ~ p(z)} log(1 - D(G(z))).

The theory, for discrete distributions (exact, no networks):

- :func:`optimal_discriminator`: for a fixed ``G``, ``D*(x) = p_data(x) / (p_data(x) + p_g(x))``;
- :func:`minimax_value`: ``V(D, G)`` for distributions on a finite support and ``D`` given by
  its values there; ``V(D*, G) = C(G) = -log 4 + 2 JSD(p_data || p_g)``.

The practice:

- losses on discriminator LOGITS (``D(x) = sigmoid(logit)``, computed stably with softplus):
  :func:`discriminator_loss` and :func:`generator_loss` for ``LOSSES``: ``"minimax"`` (the
  saturating ``E log(1 - D(G(z)))``), ``"non-saturating"`` (``-E log D(G(z))``) and
  ``"least-squares"`` (LSGAN: the discriminator's raw output regressed to 1 / 0);
- networks: :class:`MLPGenerator` / :class:`MLPDiscriminator` for 2-D points, and
  :class:`DCGANGenerator` / :class:`DCGANDiscriminator` for small images (DCGAN guidelines);
- :class:`GANTrainer`: THE training loop (k discriminator steps per generator step, seeded,
  any device, a :class:`~course_gen.train.History`), which the playground widget steps a few
  iterations at a time; :func:`train_gan` runs it for a number of steps;
- :func:`fit_discriminator`: train only ``D`` between two fixed sample sets (the two-sample
  test), with the course's :func:`~course_gen.train.train` loop;
- diagnostics: :func:`discriminator_probability`, :func:`jsd_estimate` (from ``D``, an
  estimate, not the true JSD), :func:`mode_coverage` (mode collapse on 8 gaussians),
  :func:`nearest_neighbours`, :func:`bilinear_game` (why simultaneous gradient steps circle).

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

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import course_gen
from course_gen._checks import check_choice, check_int, check_positive_number, check_seed
from course_gen.divergences import as_float64
from course_gen.train import History, TrainingDivergedError, _resolve_device, train

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

#: The adversarial losses :func:`discriminator_loss`, :func:`generator_loss` and the trainer accept.
LOSSES = ("minimax", "non-saturating", "least-squares")

#: D values are clipped to [EPS, 1 - EPS] before a log in the estimates (never in training).
EPS = 1e-6


# ============================================================================ exact theory


def _same_shape(**tensors: torch.Tensor) -> None:
    shapes = {name: tuple(t.shape) for name, t in tensors.items()}
    if len(set(shapes.values())) != 1:
        listed = ", ".join(f"{name} {shape}" for name, shape in shapes.items())
        raise ValueError(f"{', '.join(shapes)} must have the same shape (one value per outcome), got {listed}")


def _densities(p_data, p_g) -> tuple[torch.Tensor, torch.Tensor]:
    p_data, p_g = as_float64("p_data", p_data), as_float64("p_g", p_g)
    _same_shape(p_data=p_data, p_g=p_g)
    for name, p in (("p_data", p_data), ("p_g", p_g)):
        if bool(torch.isinf(p).any()) or bool((p < 0).any()):
            raise ValueError(f"{name} must hold finite probabilities (or densities) >= 0")
    return p_data, p_g


def optimal_discriminator(p_data, p_g) -> torch.Tensor:
    """``D*(x) = p_data(x) / (p_data(x) + p_g(x))``, elementwise (float64 tensor).

    ``p_data``, ``p_g``: probabilities or densities (>= 0) at the same points, same shape.
    Where both are 0 the discriminator is never evaluated (outside both supports) and any
    value is optimal: 1/2 is returned there.
    """
    p_data, p_g = _densities(p_data, p_g)
    total = p_data + p_g
    return torch.where(total > 0, p_data / total.where(total > 0, torch.ones_like(total)), torch.full_like(total, 0.5))


def minimax_value(p_data, p_g, d) -> torch.Tensor:
    """``V(D, G) = sum_x p_data(x) log D(x) + p_g(x) log(1 - D(x))`` (nats, float64).

    The value of the game for distributions on a finite support (the last axis; leading
    axes are batch axes and give one value each) and a discriminator given by its values
    ``d`` in [0, 1] on the same points. Terms with zero probability count 0 (``0 log 0 = 0``);
    ``D = 0`` on a real point (or 1 on a fake one) gives ``-inf``. ``V(D, G) <= C(G) =
    V(D*, G) = -log 4 + 2 JSD(p_data || p_g)`` for every ``d``.
    """
    p_data, p_g = _densities(p_data, p_g)
    d = as_float64("d", d)
    _same_shape(p_data=p_data, p_g=p_g, d=d)
    if bool(((d < 0) | (d > 1)).any()):
        raise ValueError(
            f"d must hold discriminator values in [0, 1], got values from {float(d.min()):.4g} to {float(d.max()):.4g}"
        )
    if p_data.ndim == 0:
        raise ValueError("p_data, p_g and d need an axis of outcomes, got 0-d values")
    return (torch.xlogy(p_data, d) + torch.xlogy(p_g, 1 - d)).sum(dim=-1)


# ============================================================================ losses


def _check_logits(name: str, logits) -> torch.Tensor:
    if not isinstance(logits, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of discriminator logits, got {type(logits).__name__}")
    if not logits.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {logits.dtype}")
    if logits.numel() == 0:
        raise ValueError(f"{name} is empty")
    return logits


def discriminator_loss(
    real_logits: torch.Tensor, fake_logits: torch.Tensor, loss: str = "non-saturating"
) -> torch.Tensor:
    """The discriminator's loss (to minimise) from its outputs on a real and a fake batch.

    - ``"minimax"`` and ``"non-saturating"`` (the same for ``D``): ``-V``, i.e.
      ``-mean log D(x_real) - mean log(1 - D(x_fake))`` with ``D = sigmoid(logit)``; computed
      as ``mean softplus(-real) + mean softplus(fake)``: the binary cross-entropy with
      label 1 for real and 0 for fake;
    - ``"least-squares"``: ``1/2 mean (real - 1)^2 + 1/2 mean fake^2`` on the raw outputs.
    """
    check_choice("loss", loss, LOSSES)
    real_logits, fake_logits = _check_logits("real_logits", real_logits), _check_logits("fake_logits", fake_logits)
    if loss == "least-squares":
        return 0.5 * ((real_logits - 1) ** 2).mean() + 0.5 * (fake_logits**2).mean()
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def generator_loss(fake_logits: torch.Tensor, loss: str = "non-saturating") -> torch.Tensor:
    """The generator's loss (to minimise) from the discriminator's outputs on fake samples.

    - ``"minimax"`` (saturating): ``mean log(1 - D(G(z)))`` = ``-mean softplus(logit)``;
      its gradient w.r.t. the logit is ``-D(G(z))``, which vanishes when ``D`` rejects the
      fakes (``D(G(z)) -> 0``), exactly when ``G`` most needs to learn;
    - ``"non-saturating"``: ``-mean log D(G(z))`` = ``mean softplus(-logit)``; gradient
      ``-(1 - D(G(z)))``, close to -1 there;
    - ``"least-squares"``: ``1/2 mean (fake - 1)^2`` on the raw outputs.
    """
    check_choice("loss", loss, LOSSES)
    fake_logits = _check_logits("fake_logits", fake_logits)
    if loss == "minimax":
        return -F.softplus(fake_logits).mean()
    if loss == "non-saturating":
        return F.softplus(-fake_logits).mean()
    return 0.5 * ((fake_logits - 1) ** 2).mean()


def _probability_from_output(output: torch.Tensor, loss: str) -> torch.Tensor:
    # LSGAN regresses D's raw output to 1 (real) / 0 (fake): its optimum is also
    # p_data / (p_data + p_g), so clipped to [0, 1] it reads as a probability.
    return output.clamp(0.0, 1.0) if loss == "least-squares" else torch.sigmoid(output)


@torch.no_grad()
def discriminator_probability(discriminator: nn.Module, x: torch.Tensor, loss: str = "non-saturating") -> torch.Tensor:
    """``D(x)`` in [0, 1] for each row of ``x``: ``sigmoid(output)``, or for ``"least-squares"``
    the raw output clipped to [0, 1] (its optimum is also ``p_data / (p_data + p_g)``). CPU tensor ``(n,)``."""
    check_choice("loss", loss, LOSSES)
    device = _module_device(discriminator)
    was_training = discriminator.training
    discriminator.eval()
    try:
        output = discriminator(x.to(device))
    finally:
        discriminator.train(was_training)
    return _probability_from_output(output.reshape(-1), loss).cpu()


def jsd_estimate(d_real: torch.Tensor, d_fake: torch.Tensor) -> float:
    """An ESTIMATE of ``JSD(p_data || p_g)`` from a discriminator's values, in nats:
    ``(V + log 4) / 2`` with ``V = mean log D(x_real) + mean log(1 - D(x_fake))``.

    Exact in expectation only when ``D = D*``: since ``V(D, G) <= C(G) = -log 4 + 2 JSD``,
    a weaker discriminator UNDER-estimates the JSD, and a finite batch adds noise (it can
    even dip below 0). Values of ``D`` are clipped to [1e-6, 1 - 1e-6].
    """
    for name, values in (("d_real", d_real), ("d_fake", d_fake)):
        if not isinstance(values, torch.Tensor) or values.numel() == 0:
            raise TypeError(f"{name} must be a non-empty tensor of discriminator values in [0, 1]")
        if bool(((values < 0) | (values > 1)).any()) or bool(torch.isnan(values).any()):
            raise ValueError(f"{name} must hold discriminator values in [0, 1]")
    real = d_real.double().clamp(EPS, 1 - EPS)
    fake = d_fake.double().clamp(EPS, 1 - EPS)
    value = torch.log(real).mean() + torch.log1p(-fake).mean()
    return float((value + math.log(4.0)) / 2)


# ============================================================================ networks


def _module_device(module: nn.Module) -> torch.device:
    for tensor in module.parameters():
        return tensor.device
    return torch.device("cpu")


def _check_batch(name: str, x, trailing: tuple[int, ...]) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    if x.ndim != len(trailing) + 1 or tuple(x.shape[1:]) != trailing:
        expected = "(n, " + ", ".join(str(s) for s in trailing) + ")"
        raise ValueError(f"{name} must have shape {expected}, got {tuple(x.shape)}")
    return x


class _Generator(nn.Module):
    """What every generator shares: ``latent_dim``, :meth:`sample_latent` and :meth:`sample`."""

    latent_dim: int

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` noise vectors ``z ~ N(0, I)``, ``(n, latent_dim)``, drawn on the CPU (so a seed
        gives the same noise on every device) and moved to the generator's device."""
        n = check_int("n", n, minimum=1)
        z = torch.randn(n, self.latent_dim, generator=generator)
        return z.to(_module_device(self))

    @torch.no_grad()
    def sample(self, n: int, seed: int | None = None) -> torch.Tensor:
        """``n`` samples ``G(z)``, ``z ~ N(0, I)`` (seeded when ``seed`` is given), in eval
        mode (batch norm uses its running statistics); a detached CPU tensor."""
        generator = None if seed is None else torch.Generator().manual_seed(check_seed(seed))
        was_training = self.training
        self.eval()
        try:
            return self(self.sample_latent(n, generator)).cpu()
        finally:
            self.train(was_training)

    def _check_z(self, z) -> torch.Tensor:
        return _check_batch("z", z, (self.latent_dim,))


class MLPGenerator(_Generator):
    """A generator for points: ``z (latent_dim) -> [Linear, ReLU] x layers -> Linear -> x (data_dim)``."""

    def __init__(self, latent_dim: int = 2, data_dim: int = 2, hidden: int = 64, layers: int = 3):
        super().__init__()
        self.latent_dim = check_int("latent_dim", latent_dim, minimum=1)
        self.data_dim = check_int("data_dim", data_dim, minimum=1)
        self.net = _mlp(self.latent_dim, self.data_dim, hidden, layers, nn.ReLU)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(self._check_z(z))


class MLPDiscriminator(nn.Module):
    """A discriminator for points: ``x (data_dim) -> [Linear, LeakyReLU(0.2)] x layers -> Linear``;
    returns one logit per row, shape ``(n,)`` (``D(x) = sigmoid(logit)``)."""

    def __init__(self, data_dim: int = 2, hidden: int = 64, layers: int = 3):
        super().__init__()
        self.data_dim = check_int("data_dim", data_dim, minimum=1)
        self.net = _mlp(self.data_dim, 1, hidden, layers, lambda: nn.LeakyReLU(0.2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(_check_batch("x", x, (self.data_dim,))).squeeze(1)


def _mlp(inputs: int, outputs: int, hidden: int, layers: int, activation: Callable[[], nn.Module]) -> nn.Sequential:
    hidden = check_int("hidden", hidden, minimum=1)
    layers = check_int("layers", layers, minimum=1)
    modules: list[nn.Module] = []
    width = inputs
    for _ in range(layers):
        modules += [nn.Linear(width, hidden), activation()]
        width = hidden
    modules.append(nn.Linear(width, outputs))
    return nn.Sequential(*modules)


def _check_image_size(image_size: int) -> tuple[int, int, int]:
    """``(image_size, base, doublings)`` with ``image_size = base * 2**doublings``, base 2 (powers of
    2: 8, 16, 32, 64) or 7 (28, MNIST's size)."""
    image_size = check_int("image_size", image_size, minimum=8, maximum=64)
    base, doublings = image_size, 0
    while base % 2 == 0 and base > 2:
        base, doublings = base // 2, doublings + 1
    if base not in (2, 7):
        raise ValueError(f"image_size must be 28 or a power of 2 (8, 16, 32, 64), got {image_size}")
    return image_size, base, doublings


class ToUnitInterval(nn.Module):
    """``x -> (x + 1) / 2``: a ``tanh`` output in [-1, 1] as an image in [0, 1] (no parameters)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x + 1) / 2

    def extra_repr(self) -> str:
        return "x -> (x + 1) / 2"


class FromUnitInterval(nn.Module):
    """``x -> 2 x - 1``: an image in [0, 1] as the [-1, 1] input a DCGAN discriminator expects."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 2 * x - 1

    def extra_repr(self) -> str:
        return "x -> 2 x - 1"


class DCGANGenerator(_Generator):
    """DCGAN generator for ``(channels, image_size, image_size)`` images in [0, 1].

    DCGAN guidelines: no pooling and no fully connected hidden layers; the code ``z`` is
    projected to a ``2 x 2`` map (``7 x 7`` for 28x28 images) by a transposed convolution, then fractionally-strided
    (transposed, stride 2) convolutions double the size up to ``image_size``; batch norm
    and ReLU after every layer but the last, which ends in ``nn.Tanh`` (the last module of
    ``net``). :class:`ToUnitInterval` then maps [-1, 1] to [0, 1]: ``x = (tanh(h) + 1) / 2``.
    Every operation that runs is a module, so ``print(generator)`` shows them all; the two
    parameter-free modules leave the state-dict keys as they were before they existed.
    """

    def __init__(self, latent_dim: int = 16, image_size: int = 8, channels: int = 1, width: int = 32):
        super().__init__()
        self.latent_dim = check_int("latent_dim", latent_dim, minimum=1)
        self.image_size, base, doublings = _check_image_size(image_size)  # base -> image_size
        self.channels = check_int("channels", channels, minimum=1, maximum=4)
        width = check_int("width", width, minimum=1)
        widths = [width * 2 ** (doublings - i) for i in range(doublings + 1)]  # e.g. 128, 64, 32
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(self.latent_dim, widths[0], base, 1, 0, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(),
        ]
        for i in range(doublings):
            last = i == doublings - 1
            out = self.channels if last else widths[i + 1]
            layers.append(nn.ConvTranspose2d(widths[i], out, 4, 2, 1, bias=last))
            if not last:
                layers += [nn.BatchNorm2d(out), nn.ReLU()]
        layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)
        self.to_unit = ToUnitInterval()

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.to_unit(self.net(self._check_z(z)[:, :, None, None]))


class DCGANDiscriminator(nn.Module):
    """DCGAN discriminator for ``(channels, image_size, image_size)`` images in [0, 1].

    Maps the input to [-1, 1], then strided convolutions (stride 2, no pooling) halve the
    size down to ``2 x 2`` (``7 x 7`` for 28x28 images), LeakyReLU(0.2) everywhere, batch norm on all but the
    first layer; a last convolution over that whole map gives one logit per image, shape ``(n,)``.
    """

    def __init__(self, image_size: int = 8, channels: int = 1, width: int = 32):
        super().__init__()
        self.image_size, base, halvings = _check_image_size(image_size)
        self.channels = check_int("channels", channels, minimum=1, maximum=4)
        width = check_int("width", width, minimum=1)
        layers: list[nn.Module] = []
        channels_in = self.channels
        for i in range(halvings):
            out = width * 2**i
            layers.append(nn.Conv2d(channels_in, out, 4, 2, 1, bias=i == 0))
            if i > 0:
                layers.append(nn.BatchNorm2d(out))
            layers.append(nn.LeakyReLU(0.2))
            channels_in = out
        layers.append(nn.Conv2d(channels_in, 1, base, 1, 0))
        self.from_unit = FromUnitInterval()
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _check_batch("x", x, (self.channels, self.image_size, self.image_size))
        return self.net(self.from_unit(x)).reshape(-1)


def mlp_gan(
    latent_dim: int = 2, hidden: int = 64, layers: int = 3, seed: int = 0
) -> tuple[MLPGenerator, MLPDiscriminator]:
    """A seeded pair (generator, discriminator) for 2-D points, as in the playground."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(check_seed(seed))
        return MLPGenerator(latent_dim, 2, hidden, layers), MLPDiscriminator(2, hidden, layers)


def dcgan(
    image_size: int = 8, latent_dim: int = 16, channels: int = 1, width: int = 16, seed: int = 0
) -> tuple[DCGANGenerator, DCGANDiscriminator]:
    """A seeded DCGAN pair (generator, discriminator) for ``(channels, image_size, image_size)`` images."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(check_seed(seed))
        return (
            DCGANGenerator(latent_dim, image_size, channels, width),
            DCGANDiscriminator(image_size, channels, width),
        )


# ============================================================================ a DCGAN on shapes (latent arithmetic)

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


def upright_shapes(n: int, size: int = 28, seed: int = 0) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Large upright shapes for latent arithmetic: ``(images, factors)``.

    The factors of :func:`course_gen.data.shapes` (same ``seed``: same shape and scale), with
    rotation 0, the centre ``x``, ``y`` mapped into :data:`CENTRE_RANGE` and every shape drawn
    :data:`SIZE_FACTOR` times larger: at ``scale`` in [0.5, 1] it reaches ``0.4 * scale`` image
    widths from its centre (an upright square of scale 1 is 16 x 16 pixels at 28x28, one of
    scale 0.5 is 8 x 8). What one sees of a shape is then its kind (square, ellipse, triangle,
    heart), its size and a little of its position: the factors latent arithmetic works on.
    ``images`` float32 ``(n, 1, size, size)`` in {0, 1}; ``factors["scale"]`` keeps [0.5, 1].
    """
    from course_gen.data import shapes
    from course_gen.data.shapes import POSITION_HIGH, POSITION_LOW, render_shapes

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
    images, _ = upright_shapes(r["n_images"], r["image_size"], seed=r["data_seed"])
    _, discriminator = shapes_dcgan(seed=seed + 1)
    return train_gan(
        generator, discriminator, images, steps=r["steps"] if steps is None else steps, loss=r["loss"], k=r["k"],
        batch_size=r["batch_size"], lr_g=r["lr"], lr_d=r["lr"], device=device, seed=seed,
    )


# ============================================================================ training


def _check_data(data) -> torch.Tensor:
    if not isinstance(data, torch.Tensor):
        raise TypeError(f"data must be a torch.Tensor of real samples (n, ...), got {type(data).__name__}")
    if not data.is_floating_point():
        raise TypeError(f"data must be a floating-point tensor, got dtype {data.dtype}")
    if data.ndim < 2 or data.shape[0] < 1:
        raise ValueError(f"data must have shape (n, ...) with n >= 1 samples, got {tuple(data.shape)}")
    if not bool(torch.isfinite(data).all()):
        raise ValueError("data contains NaN or inf")
    return data


class GANTrainer:
    """The GAN training loop, as an object that keeps its state between calls.

    Each iteration (one "step"):

    1. ``k`` times: draw a batch of real samples (with replacement) and of noise; one
       optimiser step on ``discriminator_loss(D(x_real), D(G(z)), loss)``;
    2. new noise; one optimiser step on ``generator_loss(D(G(z)), loss)`` (``D`` fixed).

    Adam with ``betas`` (DCGAN's 0.5, 0.999) for both players, with their own learning rates.
    ``history.loss`` is the generator's loss per step; ``history.metrics`` holds
    ``"d_loss"`` (last discriminator step), ``"d_real"`` and ``"d_fake"`` (mean ``D`` on
    that step's real and fake batch) and ``"jsd_estimate"`` (:func:`jsd_estimate` of that
    batch: an estimate from ``D``). Batches and noise come from a CPU ``torch.Generator``
    seeded by ``seed``, so a run is reproducible and the same on every device.

    ``loss``, ``k``, ``lr_g`` and ``lr_d`` may be changed between calls to :meth:`run`
    (the playground does). Raises :class:`~course_gen.train.TrainingDivergedError` if a loss
    becomes NaN or infinite (before that step's update).
    """

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        data: torch.Tensor,
        *,
        loss: str = "non-saturating",
        k: int = 1,
        batch_size: int = 128,
        lr_g: float = 2e-4,
        lr_d: float = 2e-4,
        betas: tuple[float, float] = (0.5, 0.999),
        device=None,
        seed: int = 0,
    ):
        if not isinstance(generator, _Generator):
            raise TypeError(
                "generator must be a course_gen.gan generator (MLPGenerator, DCGANGenerator), "
                f"got {type(generator).__name__}"
            )
        if not isinstance(discriminator, nn.Module):
            raise TypeError(f"discriminator must be a torch.nn.Module, got {type(discriminator).__name__}")
        self.device = _resolve_device(device)
        self.data = _check_data(data).to(self.device)
        self.batch_size = check_int("batch_size", batch_size, minimum=1)
        self.generator = generator.to(self.device)
        self.discriminator = discriminator.to(self.device)
        self.loss = loss
        self.k = k
        self.random = torch.Generator().manual_seed(check_seed(seed))
        lr_g, lr_d = check_positive_number("lr_g", lr_g), check_positive_number("lr_d", lr_d)
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=lr_g, betas=betas)
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=lr_d, betas=betas)
        self.history = History(device=str(self.device))

    # settings that the playground changes between runs -------------------------------
    @property
    def loss(self) -> str:
        return self._loss

    @loss.setter
    def loss(self, value: str) -> None:
        self._loss = check_choice("loss", value, LOSSES)

    @property
    def k(self) -> int:
        return self._k

    @k.setter
    def k(self, value: int) -> None:
        self._k = check_int("k", value, minimum=1, maximum=100)

    def set_learning_rates(self, lr_g: float | None = None, lr_d: float | None = None) -> None:
        """Change the players' learning rates (the optimisers keep their moment estimates)."""
        for lr, opt, name in ((lr_g, self.opt_g, "lr_g"), (lr_d, self.opt_d, "lr_d")):
            if lr is not None:
                lr = check_positive_number(name, lr)
                for group in opt.param_groups:
                    group["lr"] = lr

    # one iteration ------------------------------------------------------------------
    def _real_batch(self) -> torch.Tensor:
        index = torch.randint(len(self.data), (self.batch_size,), generator=self.random)
        return self.data[index.to(self.device)]

    def _noise(self) -> torch.Tensor:
        return torch.randn(self.batch_size, self.generator.latent_dim, generator=self.random).to(self.device)

    def _discriminator_step(self) -> tuple[float, torch.Tensor, torch.Tensor]:
        real = self._real_batch()
        with torch.no_grad():
            fake = self.generator(self._noise())
        real_out, fake_out = self.discriminator(real), self.discriminator(fake)
        loss = discriminator_loss(real_out, fake_out, self.loss)
        value = self._check_finite(float(loss.detach()), "discriminator")
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d.step()
        return value, real_out.detach(), fake_out.detach()

    def _generator_step(self) -> float:
        for p in self.discriminator.parameters():
            p.requires_grad_(False)
        try:
            loss = generator_loss(self.discriminator(self.generator(self._noise())), self.loss)
            value = self._check_finite(float(loss.detach()), "generator")
            self.opt_g.zero_grad(set_to_none=True)
            loss.backward()
            self.opt_g.step()
        finally:
            for p in self.discriminator.parameters():
                p.requires_grad_(True)
        return value

    def _check_finite(self, value: float, player: str) -> float:
        if not math.isfinite(value):
            raise TrainingDivergedError(
                f"the {player} loss became {value} at step {self.history.steps + 1}; try smaller learning rates"
            )
        return value

    def step(self) -> dict[str, float]:
        """One iteration (k discriminator steps, one generator step); returns what it recorded."""
        self.generator.train()
        self.discriminator.train()
        for _ in range(self.k):
            d_loss, real_out, fake_out = self._discriminator_step()
        g_loss = self._generator_step()
        d_real = _probability_from_output(real_out, self.loss)
        d_fake = _probability_from_output(fake_out, self.loss)
        record = {
            "d_loss": d_loss,
            "d_real": float(d_real.mean()),
            "d_fake": float(d_fake.mean()),
            "jsd_estimate": jsd_estimate(d_real, d_fake),
        }
        self.history.loss.append(g_loss)
        for key, value in record.items():
            self.history.metrics.setdefault(key, []).append(value)
        self.history.steps += 1
        return {"g_loss": g_loss, **record}

    def run(self, steps: int, callback: Callable[[int, History], bool | None] | None = None) -> History:
        """``steps`` iterations; ``callback(step, history)`` after each (True stops early).
        Leaves both networks in eval mode; returns the (growing) :attr:`history`."""
        steps = check_int("steps", steps, minimum=1)
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable, got {type(callback).__name__}")
        start = time.perf_counter()
        try:
            for _ in range(steps):
                self.step()
                if callback is not None and callback(self.history.steps, self.history) is True:
                    break
        finally:
            self.history.seconds += time.perf_counter() - start
            self.generator.eval()
            self.discriminator.eval()
        return self.history


def train_gan(
    generator: nn.Module,
    discriminator: nn.Module,
    data: torch.Tensor,
    *,
    steps: int,
    loss: str = "non-saturating",
    k: int = 1,
    batch_size: int = 128,
    lr_g: float = 2e-4,
    lr_d: float = 2e-4,
    betas: tuple[float, float] = (0.5, 0.999),
    device=None,
    seed: int = 0,
    callback: Callable[[int, History], bool | None] | None = None,
) -> History:
    """Train a GAN for ``steps`` iterations of :class:`GANTrainer` (k D-steps, one G-step each)
    and return its :class:`~course_gen.train.History`. ``data``: real samples ``(n, ...)``,
    e.g. ``toy2d(...)`` points or ``digits()`` images in [0, 1]. Seeds everything with
    ``seed`` first (``seed_everything``), so the same call gives the same networks."""
    course_gen.seed_everything(seed)
    trainer = GANTrainer(
        generator, discriminator, data, loss=loss, k=k, batch_size=batch_size, lr_g=lr_g, lr_d=lr_d,
        betas=betas, device=device, seed=seed,
    )
    return trainer.run(steps, callback=callback)


class _TwoSampleTask(nn.Module):
    """``discriminator`` with the loss ``train()`` calls: binary cross-entropy, label 1 = real."""

    def __init__(self, discriminator: nn.Module):
        super().__init__()
        self.discriminator = discriminator

    def loss(self, batch):
        x, label = batch
        return F.binary_cross_entropy_with_logits(self.discriminator(x), label)


def fit_discriminator(
    discriminator: nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    *,
    steps: int = 1000,
    batch_size: int = 256,
    lr: float = 1e-3,
    device=None,
    seed: int = 0,
) -> History:
    """Train ``discriminator`` alone to tell ``real`` (label 1) from ``fake`` (label 0) samples:
    the two-sample test, and ``D``'s half of the game for a FIXED generator.

    It minimises the binary cross-entropy (= ``-V(D, G)`` when the two sets are equally
    large), so it approaches ``D*(x) = p_data(x) / (p_data(x) + p_g(x))`` and its logit the
    log density ratio ``log p_data(x) - log p_g(x)``. Uses :func:`course_gen.train.train`.
    """
    if not isinstance(discriminator, nn.Module):
        raise TypeError(f"discriminator must be a torch.nn.Module, got {type(discriminator).__name__}")
    real, fake = _check_data(real), _check_data(fake)
    if real.shape[1:] != fake.shape[1:]:
        raise ValueError(
            "real and fake samples must have the same shape per sample, "
            f"got {tuple(real.shape)} and {tuple(fake.shape)}"
        )
    x = torch.cat([real, fake]).float()
    labels = torch.cat([torch.ones(len(real)), torch.zeros(len(fake))])
    return train(
        _TwoSampleTask(discriminator), (x, labels), steps=steps, batch_size=batch_size, lr=lr,
        device=device, seed=seed, progress=False,
    )


# ============================================================================ diagnostics


def mode_coverage(
    samples: torch.Tensor, centres: torch.Tensor, radius: float, min_fraction: float = 0.01
) -> tuple[int, float]:
    """How many modes the samples cover, and the fraction of samples that are near some mode.

    A sample belongs to its nearest centre if it lies within ``radius`` of it (e.g. 3 standard
    deviations); a mode is covered when at least ``min_fraction`` of the samples belong to it.
    Returns ``(covered_modes, fraction_near_a_mode)``. Mode collapse: few modes covered
    although most samples look fine (high fraction).
    """
    if not isinstance(samples, torch.Tensor) or samples.ndim != 2:
        got = tuple(samples.shape) if isinstance(samples, torch.Tensor) else type(samples).__name__
        raise ValueError(f"samples must be a tensor of points (n, d), got {got}")
    samples = _check_batch("samples", samples, (samples.shape[1],))
    centres = _check_batch("centres", centres, (samples.shape[1],))
    radius = check_positive_number("radius", radius)
    if not 0 < min_fraction < 1:
        raise ValueError(f"min_fraction must lie in (0, 1), got {min_fraction}")
    distances = torch.cdist(samples.detach().double().cpu(), centres.detach().double().cpu())
    nearest, which = distances.min(dim=1)
    close = nearest <= radius
    counts = torch.bincount(which[close], minlength=len(centres))
    covered = int((counts >= min_fraction * len(samples)).sum())
    return covered, float(close.double().mean())


def nearest_neighbours(queries: torch.Tensor, pool: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For each query, the index of its nearest row of ``pool`` (Euclidean, flattened) and the
    distance: ``(indices (q,), distances (q,))``. Generated images identical to their nearest
    training image would mean the GAN memorised the data."""
    index, best = _k_nearest(queries, pool, 1)
    return index[:, 0], best[:, 0]


def nearest_neighbour_factors(
    images: torch.Tensor, pool: torch.Tensor, pool_factors: dict[str, torch.Tensor], k: int = 5
) -> dict[str, torch.Tensor]:
    """Read the factors of ``images`` off their ``k`` nearest images in a labelled ``pool``
    (Euclidean distance in pixel space): a k-nearest-neighbour classifier and regressor.

    ``pool_factors``: dict of ``(len(pool),)`` tensors; integer ones (e.g. ``"shape"``) get the
    majority vote of the neighbours (ties: the smallest value), floating ones (``"scale"``,
    ``"x"``, ...) their mean. Returns the same keys, one value per image. Use it to measure
    what a generator drew, e.g. the shape and size of generated shapes.
    """
    if not isinstance(pool_factors, dict) or not pool_factors:
        raise TypeError("pool_factors must be a non-empty dict of per-image factor tensors")
    index, _ = _k_nearest(images, pool, k)
    result = {}
    for name, values in pool_factors.items():
        if not isinstance(values, torch.Tensor) or values.shape != (len(pool),):
            got = tuple(values.shape) if isinstance(values, torch.Tensor) else type(values).__name__
            raise ValueError(f"pool_factors[{name!r}] must have shape ({len(pool)},), one value per pool image, got {got}")
        neighbours = values[index]  # (n, k)
        result[name] = neighbours.mean(dim=1) if values.is_floating_point() else neighbours.mode(dim=1).values
    return result


def _k_nearest(queries: torch.Tensor, pool: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    for name, x in (("queries", queries), ("pool", pool)):
        if not isinstance(x, torch.Tensor) or not x.is_floating_point() or x.ndim < 2 or len(x) == 0:
            got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise TypeError(f"{name} must be a non-empty floating tensor (n, ...), got {got}")
    if queries.shape[1:] != pool.shape[1:]:
        raise ValueError(
            f"queries and pool must have the same shape per item, got {tuple(queries.shape)} and {tuple(pool.shape)}"
        )
    k = check_int("k", k, minimum=1, maximum=len(pool))
    distances = torch.cdist(queries.detach().flatten(1).double().cpu(), pool.detach().flatten(1).double().cpu())
    best, index = distances.topk(k, dim=1, largest=False)
    return index, best


def bilinear_game(x0: float, y0: float, lr: float, steps: int, simultaneous: bool = True) -> np.ndarray:
    """Gradient play on ``min_x max_y x * y`` (equilibrium at 0): the simplest game where
    gradient steps fail to converge. Returns the trajectory ``(steps + 1, 2)``.

    Simultaneous steps ``x <- x - lr y``, ``y <- y + lr x`` multiply the distance to the
    equilibrium by exactly ``sqrt(1 + lr^2)`` each step: the players spiral OUT. Alternating
    steps (``y`` sees the new ``x``) stay on a closed orbit around it, never reaching it.
    """
    lr = check_positive_number("lr", lr)
    steps = check_int("steps", steps, minimum=1)
    x, y = float(x0), float(y0)
    path = [(x, y)]
    for _ in range(steps):
        if simultaneous:
            x, y = x - lr * y, y + lr * x
        else:
            x = x - lr * y
            y = y + lr * x
        path.append((x, y))
    return np.array(path)
