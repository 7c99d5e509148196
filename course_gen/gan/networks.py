"""The players: generators and discriminators for 2-D points (MLPs) and for small images (DCGAN).

Every generator derives from :class:`_Generator` (``latent_dim``, :meth:`~_Generator.sample_latent`,
:meth:`~_Generator.sample`); every discriminator returns one logit per row, shape ``(n,)``.
Inputs are checked (shape, floating dtype, no NaN or inf); float64 input is cast to the
networks' float32. :func:`mlp_gan` and :func:`dcgan` build seeded pairs without moving the
caller's random stream.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from course_gen._checks import check_int, check_seed, check_tensor
from course_gen.runtime import evaluating, model_device, seeded

__all__ = [
    "DCGANDiscriminator",
    "DCGANGenerator",
    "FromUnitInterval",
    "MAX_SAMPLES",
    "MLPDiscriminator",
    "MLPGenerator",
    "ToUnitInterval",
    "dcgan",
    "mlp_gan",
]

#: The most samples (or noise vectors) one call of ``sample`` / ``sample_latent`` draws.
MAX_SAMPLES = 10**6
#: Upper bounds on the sizes of the networks (a typo there would fill the memory).
MAX_WIDTH, MAX_LAYERS, MAX_LATENT = 4096, 32, 1024


def _check_batch(name: str, x, trailing: tuple[int, ...], dtype: torch.dtype | None = None) -> torch.Tensor:
    """``x`` checked to be a finite floating batch ``(n, *trailing)``, cast to ``dtype`` if given."""
    expected = "(n, " + ", ".join(str(s) for s in trailing) + ")"
    x = check_tensor(name, x, dtype="float", finite=False)
    if x.ndim != len(trailing) + 1 or tuple(x.shape[1:]) != trailing:
        raise ValueError(f"{name} must have shape {expected}, got {tuple(x.shape)}")
    check_tensor(name, x, dtype="float", what=f"of shape {expected}")  # no NaN or inf
    return x if dtype is None else x.to(dtype)


class _Generator(nn.Module):
    """What every generator shares: ``latent_dim``, :meth:`sample_latent` and :meth:`sample`."""

    latent_dim: int

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` noise vectors ``z ~ N(0, I)``, ``(n, latent_dim)``, drawn on the CPU (so a seed
        gives the same noise on every device) and moved to the generator's device."""
        n = check_int("n", n, minimum=1, maximum=MAX_SAMPLES)
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be None or a torch.Generator, got {type(generator).__name__}")
        z = torch.randn(n, self.latent_dim, generator=generator)
        return z.to(model_device(self))

    @torch.no_grad()
    def sample(self, n: int, seed: int | None = None) -> torch.Tensor:
        """``n`` samples ``G(z)``, ``z ~ N(0, I)`` (seeded when ``seed`` is given), in eval
        mode (batch norm uses its running statistics); a detached CPU tensor."""
        generator = None if seed is None else torch.Generator().manual_seed(check_seed(seed))
        with evaluating(self):
            return self(self.sample_latent(n, generator)).cpu()

    def _check_z(self, z) -> torch.Tensor:
        return _check_batch("z", z, (self.latent_dim,), self.net[0].weight.dtype)


def _mlp(inputs: int, outputs: int, hidden: int, layers: int, activation: Callable[[], nn.Module]) -> nn.Sequential:
    hidden = check_int("hidden", hidden, minimum=1, maximum=MAX_WIDTH)
    layers = check_int("layers", layers, minimum=1, maximum=MAX_LAYERS)
    modules: list[nn.Module] = []
    width = inputs
    for _ in range(layers):
        modules += [nn.Linear(width, hidden), activation()]
        width = hidden
    modules.append(nn.Linear(width, outputs))
    return nn.Sequential(*modules)


class MLPGenerator(_Generator):
    """A generator for points: ``z (latent_dim) -> [Linear, ReLU] x layers -> Linear -> x (data_dim)``.
    ``forward(z)`` takes a finite float batch ``(n, latent_dim)`` (float64 is cast to float32)."""

    def __init__(self, latent_dim: int = 2, data_dim: int = 2, hidden: int = 64, layers: int = 3):
        super().__init__()
        self.latent_dim = check_int("latent_dim", latent_dim, minimum=1, maximum=MAX_LATENT)
        self.data_dim = check_int("data_dim", data_dim, minimum=1, maximum=MAX_WIDTH)
        self.net = _mlp(self.latent_dim, self.data_dim, hidden, layers, nn.ReLU)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(self._check_z(z))


class MLPDiscriminator(nn.Module):
    """A discriminator for points: ``x (data_dim) -> [Linear, LeakyReLU(0.2)] x layers -> Linear``;
    returns one logit per row, shape ``(n,)`` (``D(x) = sigmoid(logit)``). ``forward(x)`` takes a
    finite float batch ``(n, data_dim)`` (float64 is cast to float32)."""

    def __init__(self, data_dim: int = 2, hidden: int = 64, layers: int = 3):
        super().__init__()
        self.data_dim = check_int("data_dim", data_dim, minimum=1, maximum=MAX_WIDTH)
        self.net = _mlp(self.data_dim, 1, hidden, layers, lambda: nn.LeakyReLU(0.2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(_check_batch("x", x, (self.data_dim,), self.net[0].weight.dtype)).squeeze(1)


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
    ``forward(z)`` takes a finite float batch ``(n, latent_dim)`` (float64 is cast to float32).
    """

    def __init__(self, latent_dim: int = 16, image_size: int = 8, channels: int = 1, width: int = 32):
        super().__init__()
        self.latent_dim = check_int("latent_dim", latent_dim, minimum=1, maximum=MAX_LATENT)
        self.image_size, base, doublings = _check_image_size(image_size)  # base -> image_size
        self.channels = check_int("channels", channels, minimum=1, maximum=4)
        width = check_int("width", width, minimum=1, maximum=256)
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
    ``forward(x)`` takes a finite float batch (float64 is cast to float32).
    """

    def __init__(self, image_size: int = 8, channels: int = 1, width: int = 32):
        super().__init__()
        self.image_size, base, halvings = _check_image_size(image_size)
        self.channels = check_int("channels", channels, minimum=1, maximum=4)
        width = check_int("width", width, minimum=1, maximum=256)
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
        x = _check_batch("x", x, (self.channels, self.image_size, self.image_size), self.net[0].weight.dtype)
        return self.net(self.from_unit(x)).reshape(-1)


def mlp_gan(
    latent_dim: int = 2, hidden: int = 64, layers: int = 3, seed: int = 0
) -> tuple[MLPGenerator, MLPDiscriminator]:
    """A seeded pair (generator, discriminator) for 2-D points, as in the playground."""
    with seeded(seed):
        return MLPGenerator(latent_dim, 2, hidden, layers), MLPDiscriminator(2, hidden, layers)


def dcgan(
    image_size: int = 8, latent_dim: int = 16, channels: int = 1, width: int = 16, seed: int = 0
) -> tuple[DCGANGenerator, DCGANDiscriminator]:
    """A seeded DCGAN pair (generator, discriminator) for ``(channels, image_size, image_size)`` images."""
    with seeded(seed):
        return (
            DCGANGenerator(latent_dim, image_size, channels, width),
            DCGANDiscriminator(image_size, channels, width),
        )
