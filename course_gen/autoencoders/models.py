"""The autoencoder models: a shared base, a fully connected one and a convolutional one.

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

Inputs and codes must be finite floating-point tensors; one of another floating dtype (float64
given to a float32 model) is cast to the dtype of the model's parameters, so the outputs come in
the model's dtype. Wrong shapes, integer or complex tensors, NaN or inf raise a ``ValueError`` or
``TypeError`` saying what was expected and what came. :class:`BinaryCodeAutoencoder` (semantic
hashing) lives in :mod:`course_gen.autoencoders.hashing`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from course_gen._checks import check_bool, check_choice, check_int, check_nonnegative, check_probability, check_tensor
from course_gen.autoencoders.losses import (
    _bce_with_logits,
    _check_likelihood,
    _half_squared_error,
    bce_with_logits_loss,
    squared_error_loss,
)
from course_gen.autoencoders.noise import CORRUPTIONS, gaussian_noise, masking_noise
from course_gen.runtime import resolve_device

#: Hidden-unit nonlinearities by name.
ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": F.relu,
    "elu": F.elu,
    "linear": lambda a: a,
}

#: The most units in one layer (code, hidden layer, pixels of an image) and weights in one layer:
#: bounds that keep a typo from allocating gigabytes.
MAX_UNITS = 10**7
MAX_LAYER_WEIGHTS = 10**8


def _check_image_shape(image_shape) -> tuple[int, ...]:
    try:
        if isinstance(image_shape, (str, bytes)):
            raise TypeError
        entries = tuple(image_shape)
    except TypeError as err:
        raise TypeError(f"image_shape must be a tuple of ints such as (1, 8, 8), got {image_shape!r}") from err
    shape = tuple(check_int("image_shape entry", s, minimum=1, maximum=MAX_UNITS) for s in entries)
    if not shape:
        raise ValueError(f"image_shape must be a non-empty tuple of positive ints, got {image_shape!r}")
    if math.prod(shape) > MAX_UNITS:
        raise ValueError(f"image_shape {shape} has {math.prod(shape)} pixels: at most {MAX_UNITS} are supported")
    return shape


def _check_layer(n_in: int, n_out: int) -> None:
    if n_in * n_out > MAX_LAYER_WEIGHTS:
        raise ValueError(
            f"a layer from {n_in} to {n_out} units would have {n_in * n_out} weights: "
            f"at most {MAX_LAYER_WEIGHTS} are supported"
        )


def _check_activation(name: str, value: str) -> str:
    return check_choice(name, value, ACTIVATIONS)


def _first(batch):
    """The images of a batch: the tensor itself, or the first entry of a tuple/list."""
    if isinstance(batch, (tuple, list)):
        if not batch:
            raise ValueError("batch is an empty tuple/list: expected images first")
        return batch[0]
    return batch


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
        self.code_size = check_int("code_size", code_size, minimum=1, maximum=MAX_UNITS)
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

    def _dtype(self) -> torch.dtype:
        """The dtype of the parameters, to which inputs and codes are cast."""
        for parameter in self.parameters():
            return parameter.dtype
        return torch.get_default_dtype()

    def _check_input(self, x, method: str, targets: bool = False) -> torch.Tensor:
        """``x`` as a batch in this model's layout and dtype; ValueError/TypeError naming expected vs got.

        ``targets``: ``x`` is also what the reconstruction is compared with (``loss``), so for a
        ``"bernoulli"`` likelihood its values must lie in [0, 1]."""
        name = f"{type(self).__name__}.{method}"
        bounded = targets and self.likelihood == "bernoulli"
        check_tensor(f"the input of {name}", x, dtype="float", low=0.0 if bounded else None,
                     high=1.0 if bounded else None, what="(a bernoulli likelihood's targets)" if bounded else "")
        shape = tuple(x.shape)
        is_flat = len(shape) == 2 and shape[1] == self.n_inputs
        is_image = shape[1:] == self.image_shape and len(shape) == len(self.image_shape) + 1
        if not (is_flat or is_image) or shape[0] == 0:
            hint = ""
            if shape == self.image_shape or shape == (self.n_inputs,):
                hint = " (a single example: add a batch dimension with x[None])"
            raise ValueError(f"{name} expects a batch of shape {self._expected_input()}, got {shape}{hint}")
        x = x.to(self._dtype())
        if self.input_layout == "flat":
            return x.reshape(shape[0], self.n_inputs)
        return x.reshape(shape[0], *self.image_shape)

    def _check_code(self, z, method: str = "decode") -> torch.Tensor:
        name = f"{type(self).__name__}.{method}"
        check_tensor(f"the codes given to {name}", z, dtype="float")
        if z.ndim != 2 or z.shape[1] != self.code_size or z.shape[0] == 0:
            hint = (
                " (a single code: add a batch dimension with z[None])"
                if tuple(z.shape) == (self.code_size,)
                else ""
            )
            raise ValueError(
                f"{name} expects codes of shape (B, {self.code_size}), got {tuple(z.shape)}{hint}"
            )
        return z.to(self._dtype())

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
        Gaussian noise (std ``noise_level``) or ``x`` itself, in the shape ``x`` came in."""
        return self._corrupt(self._check_input(x, "corrupt")).reshape(x.shape)

    def _corrupt(self, x: torch.Tensor) -> torch.Tensor:
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

    def _reconstruction_loss(self, output: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """:meth:`reconstruction_loss` unchecked: a diverging model's NaN reaches the training loop."""
        return (_bce_with_logits if self.likelihood == "bernoulli" else _half_squared_error)(output, x)

    def _training_code(self, x_tilde: torch.Tensor) -> torch.Tensor:
        """The code used by ``loss``; binary-code models add noise here."""
        return self._encode(x_tilde)

    def loss(self, batch) -> dict[str, torch.Tensor]:
        """``reconstruction(x, g(f(x_tilde))) + sparsity * mean_batch(sum_j |h_j|)``.

        ``x_tilde`` is the corrupted input in train mode and ``x`` itself in eval mode.
        Returns ``{"loss", "reconstruction"}`` plus ``"code_l1"`` when ``sparsity > 0``.
        """
        x = self._check_input(_first(batch), "loss", targets=True)
        x_tilde = self._corrupt(x) if self.training else x
        code = self._training_code(x_tilde)
        output = self._decoder_output(code).reshape(x.shape)
        reconstruction = self._reconstruction_loss(output, x)
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
        self.hidden_sizes = tuple(check_int("hidden size", h, minimum=1, maximum=MAX_UNITS) for h in hidden_sizes)
        self.activation = _check_activation("activation", activation)
        self.code_activation = _check_activation(
            "code_activation", activation if code_activation is None else code_activation
        )
        self.tied = check_bool("tied", tied)
        sizes = [self.n_inputs, *self.hidden_sizes, self.code_size]
        pairs = list(zip(sizes[:-1], sizes[1:]))
        for n_in, n_out in pairs:
            _check_layer(n_in, n_out)
        self.encoder_layers = nn.ModuleList(nn.Linear(n_in, n_out) for n_in, n_out in pairs)
        if self.tied:
            self.decoder_biases = nn.ParameterList(
                nn.Parameter(torch.zeros(n_in)) for n_in, _ in reversed(pairs)
            )
        else:
            self.decoder_layers = nn.ModuleList(nn.Linear(n_out, n_in) for n_in, n_out in reversed(pairs))
        if device is not None:
            self.to(resolve_device(device))

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
        if isinstance(channels, (str, bytes)) or not isinstance(channels, Sequence):
            raise TypeError(f"channels must be a tuple of ints such as (16, 32), got {channels!r}")
        self.channels = tuple(check_int("channels", c, minimum=1, maximum=4096) for c in channels)
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
        _check_layer(math.prod(self._bottom), self.code_size)
        widths = [in_channels, *self.channels]
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            _check_layer(9 * c_in, c_out)
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
            self.to(resolve_device(device))

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

