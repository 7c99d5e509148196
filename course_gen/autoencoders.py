"""Autoencoders, from PCA to denoising and semantic hashing (notebook 02).

An autoencoder is an encoder ``h = f(x)`` and a decoder ``x_hat = g(h)`` trained so that
``g(f(x))`` reproduces ``x``. The lecture's one-hidden-layer version is

    h(x)   = sigm(b + W x)              (encoder)
    x_hat  = sigm(c + W* h(x))          (decoder; tied weights: W* = W^T)

with the reconstruction loss chosen by the kind of data (``likelihood``):

- ``"bernoulli"`` (alias ``"bce"``): inputs in [0, 1] read as probabilities of binary pixels;
  the decoder's output goes through a sigmoid and the loss is the cross-entropy
  ``l(x) = -sum_k [x_k log x_hat_k + (1 - x_k) log(1 - x_hat_k)]``;
- ``"gaussian"`` (alias ``"mse"``): real-valued inputs; linear output units and the
  squared error ``l(x) = 1/2 sum_k (x_hat_k - x_k)^2``.

Both are summed over the pixels of an image and averaged over the batch.

Every model here is an ``nn.Module`` with

- ``encode(x)``: a batch of images ``(B, *image_shape)`` (e.g. ``(B, 1, 8, 8)``) or of
  flat vectors ``(B, D)`` with ``D = prod(image_shape)`` (e.g. ``(B, 64)``) -> codes ``(B, k)``;
- ``decode(z)``: codes ``(B, k)`` -> images ``(B, *image_shape)``, the mean of the likelihood
  (probabilities for ``"bernoulli"``, real values for ``"gaussian"``);
- ``forward(x)``: the reconstruction ``decode(encode(x))``, in the shape ``x`` came in;
- ``loss(batch)``: what :func:`course_gen.train.train` minimises: a dict with ``"loss"``
  (reconstruction + penalties), ``"reconstruction"`` and, for sparse models, ``"code_l1"``.
  ``batch`` is a tensor of images or a tuple/list whose first entry is (labels are ignored).
  While the model is in train mode, denoising models corrupt the input first and compare
  the reconstruction of the corrupted input with the clean one.

Wrong input shapes raise a ``ValueError`` saying what was expected and what came.

Also here: :func:`pca` (the linear baseline), :func:`principal_angles` between subspaces,
the noise processes (:func:`masking_noise`, :func:`gaussian_noise`), and the semantic
hashing tools (:func:`hamming_distances`, :func:`nearest_neighbours`, :func:`precision_at_k`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from course_gen._checks import check_bool, check_choice, check_int, check_nonnegative, check_probability

__all__ = [
    "ACTIVATIONS",
    "CORRUPTIONS",
    "LIKELIHOODS",
    "PCA",
    "Autoencoder",
    "BinaryCodeAutoencoder",
    "ConvAutoencoder",
    "DEEP_CODE_SIZES",
    "MLPAutoencoder",
    "MNIST_SHAPE",
    "OVERCOMPLETE",
    "OVERCOMPLETE_UNITS",
    "RECIPES",
    "Recipe",
    "bce_loss",
    "bce_with_logits_loss",
    "gaussian_noise",
    "hamming_distances",
    "masking_noise",
    "deep_autoencoder",
    "nearest_distance",
    "nearest_neighbours",
    "neighbour_correlation",
    "noise_gain",
    "overcomplete_autoencoder",
    "pca",
    "precision_at_k",
    "principal_angles",
    "recipe_data",
    "reconstruction_error",
    "relative_error",
    "shipped",
    "squared_error_loss",
    "train_recipe",
]

#: Reconstruction likelihoods (and their loss-name aliases).
LIKELIHOODS = ("bernoulli", "gaussian")
_LIKELIHOOD_ALIASES = {"bce": "bernoulli", "mse": "gaussian"}

#: Hidden-unit nonlinearities by name.
ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": F.relu,
    "elu": F.elu,
    "linear": lambda a: a,
}

#: Input corruptions of a denoising autoencoder.
CORRUPTIONS = ("none", "mask", "gaussian")

#: Probabilities are clamped to [EPS, 1 - EPS] before taking logs in :func:`bce_loss`.
EPS = 1e-7


# ============================================================================ checks


def _check_tensor(name: str, value) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if not value.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {value.dtype}")
    return value


def _check_image_shape(image_shape) -> tuple[int, ...]:
    try:
        shape = tuple(int(s) for s in image_shape)
    except TypeError as err:
        raise TypeError(
            f"image_shape must be a tuple of ints such as (1, 8, 8), got {image_shape!r}"
        ) from err
    if not shape or any(s < 1 for s in shape):
        raise ValueError(f"image_shape must be a non-empty tuple of positive ints, got {image_shape!r}")
    return shape


def _check_likelihood(likelihood: str) -> str:
    """The likelihood's name, with the aliases ``"bce"``/``"mse"`` mapped to their likelihood."""
    check_choice("likelihood", likelihood, LIKELIHOODS + tuple(_LIKELIHOOD_ALIASES))
    return _LIKELIHOOD_ALIASES.get(likelihood, likelihood)


def _check_activation(name: str, value: str) -> str:
    return check_choice(name, value, ACTIVATIONS)






def _check_same_shape(x_hat: torch.Tensor, x: torch.Tensor) -> None:
    if x_hat.shape != x.shape:
        raise ValueError(
            f"the reconstruction and the input must have the same shape, got {tuple(x_hat.shape)} "
            f"and {tuple(x.shape)}"
        )
    if x.ndim < 1 or x.shape[0] == 0:
        raise ValueError(f"expected a non-empty batch (B, ...), got shape {tuple(x.shape)}")


def _first(batch):
    """The images of a batch: the tensor itself, or the first entry of a tuple/list."""
    if isinstance(batch, (tuple, list)):
        if not batch:
            raise ValueError("batch is an empty tuple/list: expected images first")
        return batch[0]
    return batch


def _module_device(module: nn.Module) -> torch.device:
    for tensor in module.parameters():
        return tensor.device
    return torch.device("cpu")


# ============================================================================ losses


def _sum_over_example(values: torch.Tensor) -> torch.Tensor:
    """Sum every dimension but the first (batch) one: one number per example."""
    return values.reshape(values.shape[0], -1).sum(dim=1)


def bce_loss(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Cross-entropy for binary (or [0, 1]) inputs, from probabilities ``x_hat``.

    ``mean_over_batch( -sum_k [x_k log x_hat_k + (1 - x_k) log(1 - x_hat_k)] )``, with
    ``x_hat`` clamped to ``[EPS, 1 - EPS]``. Prefer :func:`bce_with_logits_loss` for training.
    """
    _check_tensor("x_hat", x_hat)
    _check_tensor("x", x)
    _check_same_shape(x_hat, x)
    p = x_hat.clamp(EPS, 1 - EPS)
    per_pixel = -(x * torch.log(p) + (1 - x) * torch.log1p(-p))
    return _sum_over_example(per_pixel).mean()


def bce_with_logits_loss(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """:func:`bce_loss` of ``x_hat = sigm(logits)``, computed stably from the logits ``a``:

    ``-[x log sigm(a) + (1 - x) log(1 - sigm(a))] = softplus(a) - x a`` per pixel.
    """
    _check_tensor("logits", logits)
    _check_tensor("x", x)
    _check_same_shape(logits, x)
    per_pixel = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    return _sum_over_example(per_pixel).mean()


def squared_error_loss(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Squared error for real-valued inputs: ``mean_over_batch( 1/2 sum_k (x_hat_k - x_k)^2 )``."""
    _check_tensor("x_hat", x_hat)
    _check_tensor("x", x)
    _check_same_shape(x_hat, x)
    return 0.5 * _sum_over_example((x_hat - x) ** 2).mean()


@torch.no_grad()
def reconstruction_error(reconstruct: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> float:
    """Mean over images of the summed squared pixel error ``sum_k (x_hat_k - x_k)^2``.

    ``reconstruct`` maps a batch to its reconstruction of the same shape: a model (its
    ``forward``), a :class:`PCA`, or any function. The same yardstick for every model,
    whatever loss it was trained with. The model is put in eval mode (no input noise).
    """
    if not callable(reconstruct):
        raise TypeError(f"reconstruct must be callable, got {type(reconstruct).__name__}")
    _check_tensor("x", x)
    if isinstance(reconstruct, nn.Module):
        reconstruct.eval()
        x = x.to(_module_device(reconstruct))
    x_hat = reconstruct(x)
    _check_same_shape(x_hat, x)
    return float(_sum_over_example((x_hat - x) ** 2).mean())


# ============================================================================ noise


def masking_noise(x: torch.Tensor, nu: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Set each input component to 0 independently with probability ``nu``; keep the rest.

    ``x_tilde = x * m`` with ``m_k ~ Bernoulli(1 - nu)``. No rescaling of the kept values
    (unlike dropout): the denoising autoencoder must fill in the missing pixels. Returns a
    new tensor; ``x`` is not modified. ``generator`` (on ``x``'s device) makes it repeatable.
    """
    _check_tensor("x", x)
    nu = check_probability("nu", nu, include_one=True)
    keep = torch.rand(x.shape, generator=generator, device=x.device) >= nu
    return x * keep.to(x.dtype)


def gaussian_noise(x: torch.Tensor, sigma: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Additive isotropic Gaussian noise: ``x_tilde = x + sigma * eps`` with ``eps ~ N(0, I)``."""
    _check_tensor("x", x)
    sigma = check_nonnegative("sigma", sigma)
    return x + sigma * torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)


# ============================================================================ models


class Autoencoder(nn.Module):
    """What every autoencoder here shares: shape checks, corruption, losses, ``loss(batch)``.

    Subclasses implement ``_encode(x)`` (``x`` in the layout named by ``input_layout``:
    ``"flat"`` (B, D) or ``"image"`` (B, *image_shape)) returning codes ``(B, k)``, and
    ``_decoder_output(z)`` returning the decoder's pre-activation ``(B, D)`` or
    ``(B, *image_shape)``: logits for ``"bernoulli"``, the mean for ``"gaussian"``.
    """

    input_layout = "flat"

    def __init__(
        self,
        code_size: int,
        image_shape: Sequence[int] = (1, 8, 8),
        likelihood: str = "bernoulli",
        corruption: str = "none",
        noise_level: float = 0.0,
        sparsity: float = 0.0,
    ):
        super().__init__()
        self.code_size = check_int("code_size", code_size, minimum=1)
        self.image_shape = _check_image_shape(image_shape)
        self.n_inputs = math.prod(self.image_shape)
        self.likelihood = _check_likelihood(likelihood)
        self.corruption = check_choice("corruption", corruption, CORRUPTIONS)
        if self.corruption == "mask":
            self.noise_level = check_probability("noise_level (masking probability nu)", noise_level)
        else:
            self.noise_level = check_nonnegative("noise_level", noise_level)
        if self.corruption == "none" and self.noise_level != 0:
            raise ValueError(
                f"noise_level={noise_level} needs a corruption: pass corruption='mask' or 'gaussian'"
            )
        self.sparsity = check_nonnegative("sparsity", sparsity)

    # ------------------------------------------------------------------ shapes
    def _expected_input(self) -> str:
        return f"(B, {self.n_inputs}) or (B, {', '.join(map(str, self.image_shape))})"

    def _check_input(self, x, method: str) -> torch.Tensor:
        """``x`` as a batch in this model's layout; ValueError naming expected vs got."""
        name = f"{type(self).__name__}.{method}"
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{name} expects a torch.Tensor, got {type(x).__name__}")
        if not x.is_floating_point():
            raise TypeError(f"{name} expects a floating-point tensor, got dtype {x.dtype}")
        shape = tuple(x.shape)
        is_flat = len(shape) == 2 and shape[1] == self.n_inputs
        is_image = shape[1:] == self.image_shape and len(shape) == len(self.image_shape) + 1
        if not (is_flat or is_image) or shape[0] == 0:
            hint = ""
            if shape == self.image_shape or shape == (self.n_inputs,):
                hint = " (a single example: add a batch dimension with x[None])"
            raise ValueError(f"{name} expects a batch of shape {self._expected_input()}, got {shape}{hint}")
        if self.input_layout == "flat":
            return x.reshape(shape[0], self.n_inputs)
        return x.reshape(shape[0], *self.image_shape)

    def _check_code(self, z, method: str = "decode") -> torch.Tensor:
        name = f"{type(self).__name__}.{method}"
        if not isinstance(z, torch.Tensor):
            raise TypeError(f"{name} expects a torch.Tensor of codes, got {type(z).__name__}")
        if not z.is_floating_point():
            raise TypeError(f"{name} expects floating-point codes, got dtype {z.dtype}")
        if z.ndim != 2 or z.shape[1] != self.code_size or z.shape[0] == 0:
            hint = (
                " (a single code: add a batch dimension with z[None])"
                if tuple(z.shape) == (self.code_size,)
                else ""
            )
            raise ValueError(
                f"{name} expects codes of shape (B, {self.code_size}), got {tuple(z.shape)}{hint}"
            )
        return z

    # ------------------------------------------------------------------ public API
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Codes ``(B, k)`` of a batch ``(B, *image_shape)`` or ``(B, D)``."""
        return self._encode(self._check_input(x, "encode"))

    def decoder_output(self, z: torch.Tensor) -> torch.Tensor:
        """The decoder before its output nonlinearity, as images ``(B, *image_shape)``:
        logits for ``"bernoulli"``, the reconstruction itself for ``"gaussian"``."""
        z = self._check_code(z, "decoder_output")
        return self._decoder_output(z).reshape(z.shape[0], *self.image_shape)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Images ``(B, *image_shape)`` from codes ``(B, k)``: ``sigm(output)`` for
        ``"bernoulli"``, the linear output for ``"gaussian"``."""
        z = self._check_code(z, "decode")
        output = self._decoder_output(z).reshape(z.shape[0], *self.image_shape)
        return torch.sigmoid(output) if self.likelihood == "bernoulli" else output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The reconstruction ``decode(encode(x))`` in the shape ``x`` came in."""
        code = self.encode(x)
        return self.decode(code).reshape(x.shape)

    def corrupt(self, x: torch.Tensor) -> torch.Tensor:
        """The corrupted input ``x_tilde``: masking noise (probability ``noise_level``),
        Gaussian noise (std ``noise_level``) or ``x`` itself."""
        if self.corruption == "mask" and self.noise_level > 0:
            return masking_noise(x, self.noise_level)
        if self.corruption == "gaussian" and self.noise_level > 0:
            return gaussian_noise(x, self.noise_level)
        return x

    def reconstruction_loss(self, output: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Cross-entropy from logits (``"bernoulli"``) or half the squared error (``"gaussian"``),
        summed over pixels and averaged over the batch."""
        if self.likelihood == "bernoulli":
            return bce_with_logits_loss(output, x)
        return squared_error_loss(output, x)

    def _training_code(self, x_tilde: torch.Tensor) -> torch.Tensor:
        """The code used by ``loss``; binary-code models add noise here."""
        return self._encode(x_tilde)

    def loss(self, batch) -> dict[str, torch.Tensor]:
        """``reconstruction(x, g(f(x_tilde))) + sparsity * mean_batch(sum_j |h_j|)``.

        ``x_tilde`` is the corrupted input in train mode and ``x`` itself in eval mode.
        Returns ``{"loss", "reconstruction"}`` plus ``"code_l1"`` when ``sparsity > 0``.
        """
        x = self._check_input(_first(batch), "loss")
        x_tilde = self.corrupt(x) if self.training else x
        code = self._training_code(x_tilde)
        output = self._decoder_output(code).reshape(x.shape)
        reconstruction = self.reconstruction_loss(output, x)
        result = {"loss": reconstruction, "reconstruction": reconstruction.detach()}
        if self.sparsity > 0:
            code_l1 = code.abs().sum(dim=1).mean()
            result["loss"] = reconstruction + self.sparsity * code_l1
            result["code_l1"] = code_l1.detach()
        return result

    def extra_repr(self) -> str:
        parts = [
            f"code_size={self.code_size}",
            f"image_shape={self.image_shape}",
            f"likelihood={self.likelihood!r}",
        ]
        if self.corruption != "none":
            parts.append(f"corruption={self.corruption!r}, noise_level={self.noise_level}")
        if self.sparsity:
            parts.append(f"sparsity={self.sparsity}")
        return ", ".join(parts)


class MLPAutoencoder(Autoencoder):
    """A fully connected autoencoder ``D -> hidden_sizes -> k -> reversed(hidden_sizes) -> D``.

    - One hidden layer (``hidden_sizes=()``) is the lecture's ``h = act(b + W x)``,
      ``x_hat = out(c + W* h)``; deeper ones stack such layers (a deep autoencoder).
    - ``activation``: hidden units (``"sigmoid"``, ``"tanh"``, ``"relu"``, ``"elu"``, ``"linear"``);
      ``code_activation``: the code layer (defaults to ``activation``). All ``"linear"`` with
      ``likelihood="gaussian"`` gives the linear autoencoder that finds PCA's subspace.
    - ``tied=True``: each decoder layer uses the transpose of its mirror encoder layer,
      ``W* = W^T`` (one weight matrix per layer, separate biases).
    - ``corruption``/``noise_level``: a denoising autoencoder (``"mask"``: probability nu;
      ``"gaussian"``: std); ``sparsity``: weight of the L1 penalty on the code.
    - ``device``: where to put the parameters (None: leave them on the CPU; ``train`` moves them).
    """

    def __init__(
        self,
        code_size: int,
        hidden_sizes: Sequence[int] = (),
        image_shape: Sequence[int] = (1, 8, 8),
        activation: str = "sigmoid",
        code_activation: str | None = None,
        likelihood: str = "bernoulli",
        tied: bool = False,
        corruption: str = "none",
        noise_level: float = 0.0,
        sparsity: float = 0.0,
        device=None,
    ):
        super().__init__(code_size, image_shape, likelihood, corruption, noise_level, sparsity)
        if not isinstance(hidden_sizes, (tuple, list)):
            raise TypeError(
                f"hidden_sizes must be a tuple of ints such as (128,) or (), got {hidden_sizes!r}"
            )
        self.hidden_sizes = tuple(check_int("hidden size", h, minimum=1) for h in hidden_sizes)
        self.activation = _check_activation("activation", activation)
        self.code_activation = _check_activation(
            "code_activation", activation if code_activation is None else code_activation
        )
        self.tied = check_bool("tied", tied)
        sizes = [self.n_inputs, *self.hidden_sizes, self.code_size]
        pairs = list(zip(sizes[:-1], sizes[1:]))
        self.encoder_layers = nn.ModuleList(nn.Linear(n_in, n_out) for n_in, n_out in pairs)
        if self.tied:
            self.decoder_biases = nn.ParameterList(
                nn.Parameter(torch.zeros(n_in)) for n_in, _ in reversed(pairs)
            )
        else:
            self.decoder_layers = nn.ModuleList(nn.Linear(n_out, n_in) for n_in, n_out in reversed(pairs))
        if device is not None:
            self.to(device)

    def _decoder_weights(self) -> list[torch.Tensor]:
        """Decoder weight matrices, from the code to the output; ``(n_out, n_in)`` each."""
        if self.tied:
            return [layer.weight.t() for layer in reversed(self.encoder_layers)]
        return [layer.weight for layer in self.decoder_layers]

    def _decoder_biases(self) -> list[torch.Tensor]:
        if self.tied:
            return list(self.decoder_biases)
        return [layer.bias for layer in self.decoder_layers]

    @property
    def encoder_matrix(self) -> torch.Tensor:
        """The first encoder layer's weights ``W`` (first hidden size x D): its rows are the
        filters the hidden units apply to the input."""
        return self.encoder_layers[0].weight

    @property
    def decoder_matrix(self) -> torch.Tensor:
        """The last decoder layer's weights ``W*`` (D x last hidden size): its columns span
        the images the decoder can produce (for a linear autoencoder: its subspace)."""
        return self._decoder_weights()[-1]

    def _code_preactivation(self, x: torch.Tensor) -> torch.Tensor:
        hidden = ACTIVATIONS[self.activation]
        h = x
        for layer in self.encoder_layers[:-1]:
            h = hidden(layer(h))
        return self.encoder_layers[-1](h)

    def _encode(self, x: torch.Tensor) -> torch.Tensor:
        return ACTIVATIONS[self.code_activation](self._code_preactivation(x))

    def _decoder_output(self, z: torch.Tensor) -> torch.Tensor:
        hidden = ACTIVATIONS[self.activation]
        weights, biases = self._decoder_weights(), self._decoder_biases()
        h = z
        for index, (weight, bias) in enumerate(zip(weights, biases)):
            h = F.linear(h, weight, bias)
            if index < len(weights) - 1:
                h = hidden(h)
        return h

    def extra_repr(self) -> str:
        return (
            f"{super().extra_repr()}, hidden_sizes={self.hidden_sizes}, activation={self.activation!r}, "
            f"code_activation={self.code_activation!r}, tied={self.tied}"
        )


class ConvAutoencoder(Autoencoder):
    """A convolutional autoencoder for small images.

    Encoder: ``len(channels)`` convolutions (3x3, stride 2, padding 1), each halving height
    and width, then a linear layer to the ``k``-dimensional code. Decoder: the mirror, with
    transposed convolutions (4x4, stride 2, padding 1) doubling the size back. Height and
    width must be divisible by ``2 ** len(channels)`` (8x8 digits: up to 3 stages).
    """

    input_layout = "image"

    def __init__(
        self,
        code_size: int,
        image_shape: Sequence[int] = (1, 8, 8),
        channels: Sequence[int] = (16, 32),
        activation: str = "relu",
        likelihood: str = "bernoulli",
        corruption: str = "none",
        noise_level: float = 0.0,
        sparsity: float = 0.0,
        device=None,
    ):
        super().__init__(code_size, image_shape, likelihood, corruption, noise_level, sparsity)
        if len(self.image_shape) != 3:
            raise ValueError(f"ConvAutoencoder needs image_shape (C, H, W), got {self.image_shape}")
        self.channels = tuple(check_int("channels", c, minimum=1) for c in channels)
        if not self.channels:
            raise ValueError("channels must name at least one convolution, got ()")
        self.activation = _check_activation("activation", activation)
        in_channels, height, width = self.image_shape
        factor = 2 ** len(self.channels)
        if height % factor or width % factor:
            raise ValueError(
                f"ConvAutoencoder with {len(self.channels)} stride-2 stages needs height and width "
                f"divisible by {factor}, got image_shape {self.image_shape}"
            )
        self._bottom = (self.channels[-1], height // factor, width // factor)
        widths = [in_channels, *self.channels]
        self.convs = nn.ModuleList(
            nn.Conv2d(c_in, c_out, 3, stride=2, padding=1) for c_in, c_out in zip(widths[:-1], widths[1:])
        )
        self.to_code = nn.Linear(math.prod(self._bottom), self.code_size)
        self.from_code = nn.Linear(self.code_size, math.prod(self._bottom))
        self.deconvs = nn.ModuleList(
            nn.ConvTranspose2d(c_out, c_in, 4, stride=2, padding=1)
            for c_in, c_out in reversed(list(zip(widths[:-1], widths[1:])))
        )
        if device is not None:
            self.to(device)

    def _encode(self, x: torch.Tensor) -> torch.Tensor:
        act = ACTIVATIONS[self.activation]
        h = x
        for conv in self.convs:
            h = act(conv(h))
        return self.to_code(h.flatten(1))

    def _decoder_output(self, z: torch.Tensor) -> torch.Tensor:
        act = ACTIVATIONS[self.activation]
        h = act(self.from_code(z)).reshape(z.shape[0], *self._bottom)
        for index, deconv in enumerate(self.deconvs):
            h = deconv(h)
            if index < len(self.deconvs) - 1:
                h = act(h)
        return h


class BinaryCodeAutoencoder(MLPAutoencoder):
    """A deep autoencoder whose code is (nearly) binary, for semantic hashing.

    The code layer is ``sigm(a)``. Training pushes it to 0 or 1 in one of two ways:

    - ``method="noise"`` (Salakhutdinov & Hinton): Gaussian noise of std ``code_noise`` is
      added to ``a`` before the sigmoid; only codes far from 0.5 survive the noise, so the
      encoder learns large ``|a|``;
    - ``method="straight_through"``: the forward pass uses the hard code ``1[sigm(a) >= 0.5]``,
      the backward pass the gradient of ``sigm(a)``.

    ``binary_code(x)`` thresholds at 0.5 and returns a ``{0, 1}`` float tensor ``(B, k)``.
    """

    METHODS = ("noise", "straight_through")

    def __init__(
        self,
        code_size: int,
        hidden_sizes: Sequence[int] = (256, 128),
        image_shape: Sequence[int] = (1, 8, 8),
        activation: str = "elu",
        likelihood: str = "bernoulli",
        method: str = "noise",
        code_noise: float = 4.0,
        device=None,
    ):
        super().__init__(
            code_size, hidden_sizes, image_shape, activation, "sigmoid", likelihood, device=device
        )
        self.method = check_choice("method", method, self.METHODS)
        self.code_noise = check_nonnegative("code_noise", code_noise)

    def _training_code(self, x_tilde: torch.Tensor) -> torch.Tensor:
        pre = self._code_preactivation(x_tilde)
        if not self.training:
            return torch.sigmoid(pre)
        if self.method == "noise":
            return torch.sigmoid(pre + self.code_noise * torch.randn_like(pre))
        soft = torch.sigmoid(pre)
        return soft + ((soft >= 0.5).to(soft.dtype) - soft).detach()

    @torch.no_grad()
    def binary_code(self, x: torch.Tensor) -> torch.Tensor:
        """``1[sigm(a(x)) >= 0.5]``: a ``(B, k)`` float tensor of 0s and 1s."""
        pre = self._code_preactivation(self._check_input(x, "binary_code"))
        return (pre >= 0).to(pre.dtype)


# ============================================================================ PCA and subspaces


@dataclass
class PCA:
    """Principal component analysis fitted by :func:`pca`: the linear baseline.

    ``components`` ``(D, k)`` has orthonormal columns (the top-k eigenvectors of the data's
    covariance), ``variances`` ``(k,)`` the matching eigenvalues, ``mean`` ``(D,)``.
    ``encode(x) = (x - mean) U``, ``decode(z) = z U^T + mean`` (as images), and calling the
    object reconstructs: the best rank-k linear reconstruction in squared error.
    """

    mean: torch.Tensor
    components: torch.Tensor
    variances: torch.Tensor
    image_shape: tuple[int, ...]

    @property
    def code_size(self) -> int:
        return self.components.shape[1]

    def _flat(self, x: torch.Tensor) -> torch.Tensor:
        _check_tensor("x", x)
        dim = self.mean.shape[0]
        if (
            x.ndim < 2
            or x.shape[0] == 0
            or math.prod(x.shape[1:]) != dim
            or (x.ndim > 2 and tuple(x.shape[1:]) != self.image_shape)
        ):
            raise ValueError(
                f"PCA expects a batch of shape (B, {dim}) or (B, {', '.join(map(str, self.image_shape))}), "
                f"got {tuple(x.shape)}"
            )
        return x.reshape(x.shape[0], dim).to(self.mean)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Coordinates ``(B, k)`` of the centred input in the principal basis."""
        return (self._flat(x) - self.mean) @ self.components

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Images ``(B, *image_shape)`` ``z U^T + mean``."""
        _check_tensor("z", z)
        if z.ndim != 2 or z.shape[1] != self.code_size:
            raise ValueError(f"PCA.decode expects codes of shape (B, {self.code_size}), got {tuple(z.shape)}")
        return (z.to(self.mean) @ self.components.T + self.mean).reshape(z.shape[0], *self.image_shape)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """The reconstruction, in the shape ``x`` came in."""
        return self.decode(self.encode(x)).reshape(x.shape)

    def binary_code(self, x: torch.Tensor) -> torch.Tensor:
        """``1[(x - mean) u_j > 0]``: each principal coordinate's sign as a bit (a hashing baseline)."""
        return (self.encode(x) > 0).to(self.mean.dtype)

    def first(self, k: int) -> PCA:
        """The PCA with only the first ``k`` components (the same as ``pca(x, k)``, without a new SVD)."""
        k = check_int("k", k, minimum=1, maximum=self.code_size)
        return PCA(self.mean, self.components[:, :k], self.variances[:k], self.image_shape)


def pca(x: torch.Tensor, k: int) -> PCA:
    """Fit PCA with ``k`` components to ``x`` ``(N, D)`` or ``(N, *image_shape)`` via the SVD.

    With ``X_c = X - mean = U S V^T``, the components are the first ``k`` columns of ``V``
    and the variances ``S_j^2 / (N - 1)``. Each component's sign is fixed so that its entry
    of largest magnitude is positive (the same picture on every run).
    """
    _check_tensor("x", x)
    if x.ndim < 2 or x.shape[0] < 2:
        raise ValueError(
            f"pca expects at least 2 examples of shape (N, D) or (N, C, H, W), got {tuple(x.shape)}"
        )
    flat = x.reshape(x.shape[0], -1)
    dim = flat.shape[1]
    k = check_int("k", k, minimum=1, maximum=min(dim, flat.shape[0]))
    mean = flat.mean(dim=0)
    _, singular, vh = torch.linalg.svd(flat - mean, full_matrices=False)
    components = vh[:k].T.clone()
    largest = components.abs().argmax(dim=0)
    signs = torch.sign(components[largest, torch.arange(k, device=components.device)])
    components = components * signs
    variances = singular[:k] ** 2 / (flat.shape[0] - 1)
    return PCA(mean, components, variances, tuple(x.shape[1:]))


def _as_matrix(name: str, value) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        try:
            value = torch.as_tensor(value)
        except (TypeError, ValueError, RuntimeError) as err:
            raise TypeError(
                f"{name} must be a matrix (torch.Tensor or array), got {type(value).__name__}"
            ) from err
    if value.ndim != 2 or value.shape[0] == 0 or value.shape[1] == 0:
        raise ValueError(
            f"{name} must be a matrix (D, k) whose columns span a subspace, got shape {tuple(value.shape)}"
        )
    return value.detach().to("cpu", torch.float64)


def principal_angles(a, b) -> torch.Tensor:
    """Principal angles (radians, ascending) between the column spans of ``a`` (D, k_a) and ``b`` (D, k_b).

    With orthonormal bases ``Q_a``, ``Q_b`` (QR), ``cos theta_i`` are the singular values of
    ``Q_a^T Q_b`` (descending) and ``sin theta_i`` those of ``Q_b - Q_a Q_a^T Q_b`` (the part
    of ``Q_b`` outside span(a)), ascending; ``theta_i = atan2(sin, cos)`` is accurate for
    small and large angles alike. Returns ``min(k_a, k_b)`` angles in ``[0, pi/2]``, as a
    float64 CPU tensor; ``0`` means a shared direction. Columns must be linearly independent.
    """
    a, b = _as_matrix("a", a), _as_matrix("b", b)
    if a.shape[0] != b.shape[0]:
        raise ValueError(
            "a and b must live in the same space (same number of rows), "
            f"got {tuple(a.shape)} and {tuple(b.shape)}"
        )
    if a.shape[1] < b.shape[1]:
        a, b = b, a  # span(a) is the larger one: every direction of b gets an angle
    for name, m in (("a", a), ("b", b)):
        if torch.linalg.matrix_rank(m) < m.shape[1]:
            raise ValueError(
                f"the columns of {name} are linearly dependent: they do not span a {m.shape[1]}-D subspace"
            )
    qa, qb = torch.linalg.qr(a).Q, torch.linalg.qr(b).Q
    overlap = qa.T @ qb
    cosines = torch.linalg.svdvals(overlap)  # descending
    sines = torch.linalg.svdvals(qb - qa @ overlap).flip(0)  # ascending
    return torch.atan2(sines, cosines.clamp(max=1.0))


def neighbour_correlation(filters: torch.Tensor, image_shape: Sequence[int] = (8, 8)) -> float:
    """How smooth filters are: the mean over filters of ``sum_(i~j) w_i w_j / sum_i w_i^2``,
    with each filter centred (its mean removed) and ``i ~ j`` running over horizontally and
    vertically adjacent pixel pairs, averaged over the two directions.

    About 0 for white noise, near 1 for smooth blobs and strokes, negative for checkerboards.
    ``filters``: ``(n, H * W)`` (e.g. an encoder's weight matrix) or ``(n, H, W)``.
    """
    _check_tensor("filters", filters)
    height, width = (int(s) for s in image_shape)
    if filters.ndim < 2 or math.prod(filters.shape[1:]) != height * width:
        raise ValueError(
            f"filters must have shape (n, {height * width}) or (n, {height}, {width}), "
            f"got {tuple(filters.shape)}"
        )
    w = filters.detach().to("cpu", torch.float64).reshape(-1, height, width)
    w = w - w.mean(dim=(1, 2), keepdim=True)
    energy = (w**2).sum(dim=(1, 2)).clamp_min(1e-12)
    across = (w[:, :, 1:] * w[:, :, :-1]).sum(dim=(1, 2))
    down = (w[:, 1:, :] * w[:, :-1, :]).sum(dim=(1, 2))
    return float(((across + down) / (2 * energy)).mean())


# ============================================================================ semantic hashing


def _check_codes(name: str, codes) -> torch.Tensor:
    if not isinstance(codes, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(codes).__name__}")
    if codes.ndim != 2 or codes.shape[0] == 0:
        raise ValueError(f"{name} must have shape (N, bits), got {tuple(codes.shape)}")
    return codes


def hamming_distances(query_codes: torch.Tensor, database_codes: torch.Tensor) -> torch.Tensor:
    """Number of differing bits between every query and every database code: ``(Q, N)`` int64.

    Codes are ``{0, 1}`` tensors (bool, int or float). ``d(q, c) = sum_j [q_j != c_j]
    = sum_j q_j (1 - c_j) + (1 - q_j) c_j``.
    """
    q, c = _check_codes("query_codes", query_codes), _check_codes("database_codes", database_codes)
    if q.shape[1] != c.shape[1]:
        raise ValueError(
            f"query and database codes need the same number of bits, got {q.shape[1]} and {c.shape[1]}"
        )
    for name, codes in (("query_codes", q), ("database_codes", c)):
        if not bool(((codes == 0) | (codes == 1)).all()):
            raise ValueError(f"{name} must contain only 0s and 1s (binary codes); threshold them first")
    q, c = q.to(torch.float64), c.to(q.device, torch.float64)
    return (q @ (1 - c).T + (1 - q) @ c.T).round().to(torch.int64)


def nearest_neighbours(query, database, k: int, metric: str = "hamming") -> torch.Tensor:
    """Indices ``(Q, k)`` of each query's ``k`` nearest database rows, nearest first.

    ``metric``: ``"hamming"`` (binary codes, :func:`hamming_distances`) or ``"euclidean"``
    (real-valued codes or images, flattened). Ties keep database order (a stable sort), so
    the answer is deterministic.
    """
    check_choice("metric", metric, ("hamming", "euclidean"))
    if metric == "hamming":
        distances = hamming_distances(query, database).to(torch.float64)
    else:
        q = _check_tensor("query", query).reshape(query.shape[0], -1).to(torch.float64)
        c = _check_tensor("database", database).reshape(database.shape[0], -1).to(q)
        if q.shape[1] != c.shape[1]:
            raise ValueError(f"query and database need the same dimension, got {q.shape[1]} and {c.shape[1]}")
        distances = torch.cdist(q, c)
    k = check_int("k", k, minimum=1, maximum=distances.shape[1])
    return torch.sort(distances, dim=1, stable=True).indices[:, :k]


def precision_at_k(
    query_codes,
    query_labels: torch.Tensor,
    database_codes,
    database_labels: torch.Tensor,
    k: int = 10,
    metric: str = "hamming",
) -> float:
    """Mean over queries of the fraction of the ``k`` retrieved database items sharing the query's label.

    ``precision@k = 1/Q sum_q (1/k) |{i in top-k(q) : label_i = label_q}|``, neighbours from
    :func:`nearest_neighbours` (ties in database order).
    """
    for name, labels, codes in (
        ("query_labels", query_labels, query_codes),
        ("database_labels", database_labels, database_codes),
    ):
        if not isinstance(labels, torch.Tensor) or labels.ndim != 1 or labels.shape[0] != codes.shape[0]:
            got = tuple(labels.shape) if isinstance(labels, torch.Tensor) else type(labels).__name__
            raise ValueError(
                f"{name} must be a 1-D tensor with one label per code ({codes.shape[0]}), got {got}"
            )
    neighbours = nearest_neighbours(query_codes, database_codes, k, metric)
    retrieved = database_labels.to(neighbours.device)[neighbours]
    hits = retrieved == query_labels.to(neighbours.device)[:, None]
    return float(hits.to(torch.float64).mean())


# ============================================================================ measuring what a model does


def relative_error(reconstruct: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> float:
    """The share of the inputs' energy a map gets wrong: ``sum_n |r(x_n) - x_n|^2 / sum_n |x_n|^2``.

    0 for the identity; about 1 for a map that returns (nearly) nothing or something unrelated
    to its input. Uses :func:`reconstruction_error` (eval mode, no input noise).
    """
    _check_tensor("x", x)
    energy = float(_sum_over_example(x.detach().to(torch.float64) ** 2).mean())
    if energy == 0:
        raise ValueError("x is all zeros: the relative error of an empty input is undefined")
    return reconstruction_error(reconstruct, x) / energy


@torch.no_grad()
def noise_gain(
    reconstruct: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    sigma: float = 0.1,
    seed: int = 0,
    mask: torch.Tensor | None = None,
) -> float:
    """How much of a small random perturbation of the input reaches the output:

    ``sum_n |r(x_n + delta_n) - r(x_n)|^2 / sum_n |delta_n|^2`` with ``delta_n = sigma eps_n``,
    ``eps_n ~ N(0, I)``, times ``mask`` when given (a boolean tensor broadcastable to ``x``:
    only those pixels are perturbed, e.g. the ink or the background of each image).

    1 for the identity (every perturbation passes unchanged), ``k / D`` for the orthogonal
    projection onto a k-dimensional subspace of R^D, near 0 for a map that ignores directions
    off the data. A model that "learned the identity" scores near 1 on any input.
    """
    if not callable(reconstruct):
        raise TypeError(f"reconstruct must be callable, got {type(reconstruct).__name__}")
    _check_tensor("x", x)
    sigma = check_nonnegative("sigma", sigma)
    if sigma == 0:
        raise ValueError("sigma must be positive: the gain of a zero perturbation is undefined")
    if isinstance(reconstruct, nn.Module):
        reconstruct.eval()
        x = x.to(_module_device(reconstruct))
    generator = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))
    delta = sigma * torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device)
    if mask is not None:
        if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
            got = f"dtype {mask.dtype}" if isinstance(mask, torch.Tensor) else type(mask).__name__
            raise TypeError(f"mask must be a boolean tensor, got {got}")
        try:
            delta = delta * mask.to(x.device).expand(x.shape)
        except RuntimeError as error:
            raise ValueError(f"mask of shape {tuple(mask.shape)} does not broadcast to x's {tuple(x.shape)}") from error
        if not bool(mask.any()):
            raise ValueError("mask selects no pixel: the gain of a zero perturbation is undefined")
    moved = reconstruct(x + delta) - reconstruct(x)
    _check_same_shape(moved, x)
    return float((moved.double() ** 2).sum() / (delta.double() ** 2).sum())


@torch.no_grad()
def nearest_distance(x: torch.Tensor, database: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Euclidean distance from each row of ``x`` to its nearest row of ``database`` ``(N,)``.

    ``min_i |x_n - d_i|`` over flattened images, in batches of ``batch_size`` queries (the
    full distance matrix of 8,000 training digits would not fit comfortably otherwise). A
    simple "how far from the data" yardstick: compare with the same number for real test images.
    """
    _check_tensor("x", x)
    _check_tensor("database", database)
    if x.ndim < 2 or database.ndim < 2 or x.shape[0] == 0 or database.shape[0] == 0:
        raise ValueError(
            f"x and database must be non-empty batches (N, ...), got {tuple(x.shape)} and {tuple(database.shape)}"
        )
    q = x.detach().reshape(x.shape[0], -1).to("cpu", torch.float64)
    d = database.detach().reshape(database.shape[0], -1).to("cpu", torch.float64)
    if q.shape[1] != d.shape[1]:
        raise ValueError(f"x and database need the same dimension, got {q.shape[1]} and {d.shape[1]}")
    batch_size = check_int("batch_size", batch_size, minimum=1)
    return torch.cat([torch.cdist(q[i : i + batch_size], d).min(dim=1).values for i in range(0, len(q), batch_size)])


# ============================================================================ notebook 02's models on MNIST

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

    check_choice("data", kind, ("grey", "binary", "centred"))
    images, _ = mnist10k("train", binarize=kind == "binary")
    if kind == "centred":
        flat = images.reshape(len(images), -1)
        return flat - flat.mean(dim=0)
    return images


def train_recipe(name: str, model: nn.Module | None = None, device=None, progress: bool = False) -> nn.Module:
    """Build (unless ``model`` is given) and train the model ``name`` of :data:`RECIPES`."""
    from course_gen.train import train

    check_choice("name", name, RECIPES)
    recipe = RECIPES[name]
    if model is None:
        import course_gen

        course_gen.seed_everything(recipe.seed)
        model = recipe.build()
    x = recipe_data(recipe.data)
    members = model.values() if isinstance(model, nn.ModuleDict) else [model]
    for member in members:
        train(
            member,
            x,
            steps=recipe.steps,
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
    if the file is missing or altered.
    """
    from course_gen.checkpoints import load_or_train

    check_choice("name", name, RECIPES)
    check_bool("retrain", retrain)
    import course_gen

    course_gen.seed_everything(RECIPES[name].seed)  # the same initial weights on every retraining
    model = RECIPES[name].build()
    model, _ = load_or_train(model, name, lambda m: train_recipe(name, m, device), root=root, retrain=retrain,
                             note=RECIPES[name].note(name), half=True)
    if device is not None:
        model.to(device)
    return model.eval()
