"""Autoregressive image models: MADE, PixelCNN and Gated PixelCNN (notebook 03).

Every model here factorises the probability of an image along an ordering of its pixels,

    p(x) = prod_i p(x_i | x_<i),

and computes all the conditionals in ONE network evaluation: masks make output ``i`` depend
only on the inputs before ``i``. Training is therefore parallel (all true pixels are known),
sampling sequential (one network evaluation per pixel).

- :class:`NADE` (Larochelle & Murray 2011): one weight matrix shared by all conditionals.
- :class:`MaskedLinear` and :class:`MADE` (Germain et al. 2015): an autoencoder whose weight
  matrices are multiplied by 0/1 masks built from an ordering and hidden-unit degrees.
- :class:`MaskedConv2d`: a convolution whose kernel sees only the pixels above and to the left
  (type ``"A"`` also hides the centre, type ``"B"`` shows it), with channel-group masks for
  colour (R before G before B).
- :class:`PixelCNN`: one type-A layer, then type-B layers. Its receptive field has a
  **blind spot** (pixels above-right that no path reaches): see :func:`receptive_field`.
- :class:`GatedPixelCNN` (van den Oord et al. 2016): a vertical stack (rows above) and a
  horizontal stack (the current row to the left), gated units ``tanh(W_f * x) . sigm(W_g * x)``;
  no blind spot.

Binary images use one Bernoulli logit per pixel, ``n_levels = K > 2`` a K-way softmax per pixel.
Log-likelihoods are in nats per image.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from course_gen._checks import check_bool, check_choice, check_int, check_probability, check_seed

__all__ = [
    "GatedPixelCNN",
    "MADE",
    "NADE",
    "MASK_TYPES",
    "MaskedConv2d",
    "MaskedLinear",
    "NLLTracker",
    "PixelCNN",
    "blind_spot",
    "mean_nll",
    "channel_group_mask",
    "conv_mask",
    "discretized_logistic_mixture_log_prob",
    "fit_logistic_mixture",
    "made_degrees",
    "made_masks",
    "nominal_receptive_field",
    "pixel_nll",
    "raster_before",
    "receptive_field",
]

#: The two masked-convolution types: "A" hides the centre pixel (first layer), "B" shows it.
MASK_TYPES = ("A", "B")


# ============================================================================ checks


def _check_images(x, channels: int, n_levels: int, name: str = "x") -> torch.Tensor:
    """``x`` must be a float tensor (B, channels, H, W) with values in {0, ..., n_levels - 1}."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of images, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor (values 0., 1., ...), got dtype {x.dtype}")
    if x.ndim != 4 or x.shape[1] != channels:
        raise ValueError(f"{name} must have shape (B, {channels}, H, W), got {tuple(x.shape)}")
    levels = torch.arange(n_levels, device=x.device, dtype=x.dtype)
    if not bool(torch.isin(x, levels).all()):
        raise ValueError(
            f"{name} must hold pixel values in {{0, ..., {n_levels - 1}}} "
            f"({'binary images' if n_levels == 2 else f'{n_levels} levels'}), "
            f"got values in [{float(x.min()):.3g}, {float(x.max()):.3g}]"
        )
    return x


def _check_shape(shape, channels: int) -> tuple[int, int, int]:
    """``(H, W)`` or ``(C, H, W)`` as ``(C, H, W)``."""
    if not isinstance(shape, Sequence) or len(shape) not in (2, 3):
        raise ValueError(f"shape must be (H, W) or (C, H, W), got {shape!r}")
    dims = tuple(check_int("shape entry", s, minimum=1) for s in shape)
    if len(dims) == 2:
        dims = (channels, *dims)
    if dims[0] != channels:
        raise ValueError(f"shape has {dims[0]} channels but the model models {channels}")
    return dims


def _check_kernel_size(kernel_size) -> int:
    kernel_size = check_int("kernel_size", kernel_size, minimum=1)
    if kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be odd (the mask has a centre), got {kernel_size}")
    return kernel_size




# ============================================================================ masks


def channel_group_mask(out_channels: int, in_channels: int, groups: int, mask_type: str) -> torch.Tensor:
    """The (out, in) 0/1 connectivity at the centre pixel for ``groups`` colour channels.

    Channels are split into ``groups`` contiguous blocks (R, G, B for ``groups = 3``): channel
    ``c`` of ``n`` belongs to group ``g(c) = c * groups // n``. Output ``o`` may see input ``i``
    at the centre iff ``g(i) < g(o)`` (type A) or ``g(i) <= g(o)`` (type B). With one group,
    type A is all zeros and type B all ones.
    """
    check_choice("mask_type", mask_type, MASK_TYPES)
    for name, n in (("out_channels", out_channels), ("in_channels", in_channels)):
        if n % groups:
            raise ValueError(f"{name} must be a multiple of groups={groups}, got {n}")
    out_group = torch.arange(out_channels) * groups // out_channels
    in_group = torch.arange(in_channels) * groups // in_channels
    if mask_type == "A":
        return (in_group[None, :] < out_group[:, None]).float()
    return (in_group[None, :] <= out_group[:, None]).float()


def conv_mask(kernel_size: int, mask_type: str) -> torch.Tensor:
    """The (k, k) spatial mask of a one-channel masked convolution (k odd, centre c = k // 2):

    1 on every row above the centre, 1 left of the centre on the centre row, the centre itself
    0 for type A and 1 for type B, 0 elsewhere. For k = 5, type A:
    ``11111 / 11111 / 11000 / 00000 / 00000``.
    """
    kernel_size = _check_kernel_size(kernel_size)
    check_choice("mask_type", mask_type, MASK_TYPES)
    centre = kernel_size // 2
    mask = torch.zeros(kernel_size, kernel_size)
    mask[:centre, :] = 1
    mask[centre, :centre] = 1
    if mask_type == "B":
        mask[centre, centre] = 1
    return mask


def raster_before(shape: tuple[int, int], pixel: tuple[int, int]) -> torch.Tensor:
    """Bool (H, W): True at pixels strictly before ``pixel`` in raster order (row by row)."""
    height, width = shape
    i, j = pixel
    index = torch.arange(height * width).reshape(height, width)
    return index < i * width + j


# ============================================================================ MADE


class MaskedLinear(nn.Linear):
    """``y = x (W . M)^T + b``: a linear layer whose weight is multiplied by a fixed 0/1 mask ``M``.

    ``mask`` has the weight's shape ``(out_features, in_features)``; it is a buffer (moves with
    the module, saved in the state dict) and the weight itself is never modified.
    """

    def __init__(self, in_features: int, out_features: int, mask: torch.Tensor | None = None, bias: bool = True):
        super().__init__(check_int("in_features", in_features, minimum=1),
                         check_int("out_features", out_features, minimum=1), bias=bias)
        self.register_buffer("mask", torch.ones(out_features, in_features))
        if mask is not None:
            self.set_mask(mask)

    def set_mask(self, mask: torch.Tensor) -> None:
        """Replace the mask (shape ``(out_features, in_features)``, values 0 or 1)."""
        if not isinstance(mask, torch.Tensor):
            raise TypeError(f"mask must be a torch.Tensor, got {type(mask).__name__}")
        if tuple(mask.shape) != tuple(self.weight.shape):
            raise ValueError(f"mask must have shape {tuple(self.weight.shape)}, got {tuple(mask.shape)}")
        if not bool(((mask == 0) | (mask == 1)).all()):
            raise ValueError("mask must hold only 0s and 1s")
        self.mask.copy_(mask.to(self.mask.dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.mask, self.bias)


def made_degrees(
    n_inputs: int, hidden_sizes: Sequence[int], ordering: torch.Tensor | None = None, seed: int = 0
) -> list[torch.Tensor]:
    """Degrees ``m`` of every layer's units (Germain et al.): inputs first, then each hidden layer.

    Input ``k`` gets its position in ``ordering`` (1..D; the natural order 1, 2, ..., D by
    default). A hidden unit's degree m is the largest input position it may depend on; it is
    drawn uniformly from ``[min degree of the layer below, D - 1]`` with a seeded generator
    (units of degree D could only feed outputs that depend on nothing, so none are made).
    """
    n_inputs = check_int("n_inputs", n_inputs, minimum=1)
    if ordering is None:
        input_degrees = torch.arange(1, n_inputs + 1)
    else:
        ordering = torch.as_tensor(ordering)
        if sorted(ordering.tolist()) != list(range(n_inputs)):
            raise ValueError(f"ordering must be a permutation of 0..{n_inputs - 1}, got {ordering.tolist()}")
        input_degrees = torch.empty(n_inputs, dtype=torch.long)
        input_degrees[ordering] = torch.arange(1, n_inputs + 1)  # ordering[t] is the t-th pixel
    generator = torch.Generator().manual_seed(check_seed(seed))
    degrees = [input_degrees]
    for size in hidden_sizes:
        size = check_int("hidden size", size, minimum=1)
        low = min(int(degrees[-1].min()), n_inputs - 1)
        high = max(n_inputs - 1, low)
        degrees.append(torch.randint(low, high + 1, (size,), generator=generator))
    return degrees


def made_masks(degrees: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """The masks from ``made_degrees``'s degrees, one per layer (shape ``(out, in)``):

    hidden layers ``M[k', k] = 1 if m_l(k') >= m_{l-1}(k)``; the output layer (output d has
    the degree of input d) ``M[d, k] = 1 if m_in(d) > m_L(k)``, strict so that output d never
    sees input d. The product of the masks is then strictly lower triangular in the ordering.
    """
    masks = [
        (upper[:, None] >= lower[None, :]).float() for lower, upper in zip(degrees[:-1], degrees[1:])
    ]
    masks.append((degrees[0][:, None] > degrees[-1][None, :]).float())
    return masks


class _AutoregressiveImageModel(nn.Module):
    """What every model here shares: log_prob, loss, sample and complete from ``forward``'s logits.

    ``forward(x)`` returns logits: ``(B, C, H, W)`` (one Bernoulli logit per pixel) when
    ``n_levels == 2``, else ``(B, K, C, H, W)`` (a K-way softmax per pixel).
    """

    channels: int = 1
    n_levels: int = 2

    def _input(self, x: torch.Tensor) -> torch.Tensor:
        """Pixel values scaled to [0, 1] (the network's input)."""
        return x / (self.n_levels - 1)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x) in nats, one per image, shape (B,).

        Binary: ``sum_pixels [x log sigm(l) + (1 - x) log sigm(-l)]`` with ``l`` the logits;
        K levels: ``sum_pixels log softmax(l)[x]``.
        """
        _check_images(x, self.channels, self.n_levels)
        return -pixel_nll(self(x), x, self.n_levels)

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        """The mean over the batch of ``-log p(x)`` (nats per image)."""
        return -self.log_prob(x).mean()

    def _order(self, shape: tuple[int, int, int]) -> list[tuple[int, int, int]]:
        """(channel, row, column) of the pixels in sampling order: raster, R before G before B."""
        channels, height, width = shape
        return [(c, i, j) for i in range(height) for j in range(width) for c in range(channels)]

    def _device(self) -> torch.device:
        return next(self.parameters()).device

    @torch.no_grad()
    def _draw(self, logits_at: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """One pixel value per image from its logits (B,) or (B, K)."""
        if self.n_levels == 2:
            u = torch.rand(logits_at.shape, generator=generator, device=logits_at.device)
            return (u < torch.sigmoid(logits_at)).to(logits_at.dtype)
        probs = torch.softmax(logits_at, dim=1)
        return torch.multinomial(probs, 1, generator=generator)[:, 0].to(logits_at.dtype)

    def window(self) -> tuple[int, int] | None:
        """``(rows_up, cols_side)``: the logits at pixel (i, j) depend only on the inputs in rows
        ``i - rows_up .. i`` and columns ``j - cols_side .. j + cols_side``; None when they may
        depend on any earlier pixel (MADE, NADE)."""
        return None

    def logits_at(self, x: torch.Tensor, c: int, i: int, j: int, local: bool = False) -> torch.Tensor:
        """The logits of pixel (c, i, j): (B,) or (B, K). ``local``: evaluate the network on the
        window of :meth:`window` only (exact: nothing outside it reaches the pixel)."""
        reach = self.window() if local else None
        if reach is None:
            logits = self(x)
        else:
            rows, cols = reach
            top, left = max(0, i - rows), max(0, j - cols)
            logits = self(x[:, :, top:i + 1, left:j + cols + 1])
            i, j = i - top, j - left
        return logits[:, c, i, j] if self.n_levels == 2 else logits[:, :, c, i, j]

    @torch.no_grad()
    def _fill(self, x: torch.Tensor, observed: torch.Tensor, seed: int, local: bool = False) -> torch.Tensor:
        """Sample every unobserved pixel in order: one network evaluation per pixel to fill
        (on the whole image, or with ``local`` on the window that reaches the pixel)."""
        seed = check_seed(seed)
        generator = torch.Generator(device=x.device).manual_seed(seed)
        was_training = self.training
        self.eval()  # dropout off while sampling
        try:
            for c, i, j in self._order(tuple(x.shape[1:])):
                missing = ~observed[:, c, i, j]
                if not bool(missing.any()):
                    continue
                value = self._draw(self.logits_at(x, c, i, j, local), generator)
                x[:, c, i, j] = torch.where(missing, value, x[:, c, i, j])
        finally:
            self.train(was_training)
        return x

    def sample(self, n: int, shape=(8, 8), seed: int = 0, local: bool = False) -> torch.Tensor:
        """``n`` images of ``shape`` ((H, W) or (C, H, W)) drawn pixel by pixel in order.

        One network evaluation per pixel (and channel): ``x_i ~ p(x_i | x_<i)``, then the next.
        ``local=True`` evaluates each time only the window of input that reaches the pixel
        (:meth:`window`; same images, less work per evaluation on large images).
        Seeded: the same seed gives the same images. Returned on the model's device.
        """
        n = check_int("n", n, minimum=1)
        dims = _check_shape(shape, self.channels)
        x = torch.zeros(n, *dims, device=self._device(), dtype=next(self.parameters()).dtype)
        return self._fill(x, torch.zeros_like(x, dtype=torch.bool), seed, local=check_bool("local", local))

    def complete(self, x: torch.Tensor, observed_mask: torch.Tensor, seed: int = 0, local: bool = False) -> torch.Tensor:
        """Fill in the unobserved pixels of ``x`` by sampling them in order, keeping the observed.

        ``observed_mask``: bool, same shape as ``x`` (or (H, W) for all images), True where the
        pixel is known. Each missing pixel is drawn from ``p(x_i | x_<i)``, where ``x_<i`` mixes
        observed and already drawn pixels. (Pixels after a missing one cannot influence it:
        an autoregressive model only conditions on the past.) Only the missing pixels cost a
        network evaluation: completing the bottom half of an image costs half a sample.
        ``local``: as in :meth:`sample`. Seeded.
        """
        local = check_bool("local", local)
        _check_images(x, self.channels, self.n_levels)
        if not isinstance(observed_mask, torch.Tensor) or observed_mask.dtype != torch.bool:
            got = observed_mask.dtype if isinstance(observed_mask, torch.Tensor) else type(observed_mask).__name__
            raise TypeError(f"observed_mask must be a bool tensor, got {got}")
        try:
            observed = torch.broadcast_to(observed_mask.to(x.device), x.shape)
        except RuntimeError as err:
            raise ValueError(
                f"observed_mask must broadcast to x's shape {tuple(x.shape)}, got {tuple(observed_mask.shape)}"
            ) from err
        filled = torch.where(observed, x, torch.zeros_like(x)).clone()
        return self._fill(filled, observed.clone(), seed, local=local)

    def nominal_field(self, shape: tuple[int, int], pixel: tuple[int, int]) -> torch.Tensor:
        """Bool (H, W): the pixels the architecture nominally reaches (overridden per model)."""
        raise NotImplementedError


def pixel_nll(logits: torch.Tensor, x: torch.Tensor, n_levels: int = 2) -> torch.Tensor:
    """Negative log-likelihood per image in nats, shape (B,).

    Binary (``n_levels = 2``, logits shaped like x): ``-sum_pixels [x log sigm(l) + (1-x) log sigm(-l)]``,
    the binary cross-entropy with logits summed (not averaged) over the pixels. K levels
    (logits (B, K, ...)): ``-sum_pixels log softmax(l)[x]``.
    """
    if n_levels == 2:
        per_pixel = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    else:
        per_pixel = F.cross_entropy(logits, x.long(), reduction="none")
    return per_pixel.flatten(1).sum(dim=1)


def _check_image_shape(image_shape) -> tuple[int, int, int]:
    if not isinstance(image_shape, Sequence) or len(image_shape) != 3:
        raise ValueError(f"image_shape must be (C, H, W), got {image_shape!r}")
    return tuple(check_int("image_shape entry", s, minimum=1) for s in image_shape)


class MADE(_AutoregressiveImageModel):
    """Masked Autoencoder for Distribution Estimation (Germain et al. 2015), for binary images.

    ``h_l = relu(b_l + (W_l . M_l) h_{l-1})``, output logits ``l = c + (V . M_V) h_L``, with the
    masks of :func:`made_masks`: output d depends only on the inputs before d in ``ordering``
    (raster order by default). One pass gives all D conditionals ``p(x_d = 1 | x_<d) = sigm(l_d)``.

    ``image_shape``: (C, H, W) of the images (flattened inside, D = C H W). ``dropout`` applies
    to the hidden units while training.
    """

    def __init__(
        self,
        image_shape=(1, 8, 8),
        hidden_sizes: Sequence[int] = (256,),
        ordering: torch.Tensor | None = None,
        seed: int = 0,
        dropout: float = 0.0,
    ):
        super().__init__()
        self.image_shape = _check_image_shape(image_shape)
        self.channels = self.image_shape[0]
        n_inputs = math.prod(self.image_shape)
        if isinstance(hidden_sizes, int) or not isinstance(hidden_sizes, Sequence) or not hidden_sizes:
            raise ValueError(f"hidden_sizes must be a non-empty sequence of ints, got {hidden_sizes!r}")
        self.hidden_sizes = tuple(hidden_sizes)
        self.degrees = made_degrees(n_inputs, self.hidden_sizes, ordering, seed)
        masks = made_masks(self.degrees)
        sizes = [n_inputs, *self.hidden_sizes, n_inputs]
        self.layers = nn.ModuleList(
            MaskedLinear(fan_in, fan_out, mask) for fan_in, fan_out, mask in zip(sizes[:-1], sizes[1:], masks)
        )
        self.dropout = nn.Dropout(check_probability("dropout", dropout))
        self.register_buffer("ordering", torch.argsort(self.degrees[0]))  # ordering[t] = t-th pixel

    def masks(self) -> list[torch.Tensor]:
        """The layers' masks, input side first (each (out, in))."""
        return [layer.mask.detach().cpu() for layer in self.layers]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits shaped like ``x``: (B, C, H, W) or flat (B, D)."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
        flat = x.reshape(x.shape[0], -1) if x.ndim > 1 else None
        n_inputs = self.layers[0].in_features
        if flat is None or flat.shape[1] != n_inputs:
            raise ValueError(f"x must have shape (B, {n_inputs}) or (B, *{self.image_shape}), got {tuple(x.shape)}")
        h = self._input(flat)
        for layer in self.layers[:-1]:
            h = self.dropout(torch.relu(layer(h)))
        return self.layers[-1](h).reshape(x.shape)

    def _order(self, shape):
        if tuple(shape) != self.image_shape:
            raise ValueError(f"MADE models images of shape {self.image_shape}, got shape {tuple(shape)}")
        channels, height, width = shape
        return [(int(p) // (height * width), int(p) % (height * width) // width, int(p) % width)
                for p in self.ordering.tolist()]

    def sample(self, n: int, shape=None, seed: int = 0) -> torch.Tensor:
        """``n`` images drawn one pixel at a time in the model's ordering (``shape`` is fixed)."""
        return super().sample(n, self.image_shape if shape is None else shape, seed)

    def nominal_field(self, shape, pixel):
        """Every pixel before ``pixel`` in the ordering (one channel)."""
        if (1, *shape) != self.image_shape:
            raise ValueError(f"MADE models images of shape {self.image_shape}, got shape {tuple(shape)}")
        position = torch.empty_like(self.ordering)
        position[self.ordering] = torch.arange(len(self.ordering), device=position.device)
        position = position.reshape(shape).cpu()
        return position < position[pixel]


# ============================================================================ NADE


class NADE(_AutoregressiveImageModel):
    """Neural Autoregressive Distribution Estimator (Larochelle & Murray 2011) for binary images.

    One weight matrix ``W`` (H x D) is shared by all D conditionals, in raster order:

        a_1 = c,   a_{i+1} = a_i + W[:, i] x_i          (so a_i = c + W[:, <i] x_<i)
        h_i = sigm(a_i),   p(x_i = 1 | x_<i) = sigm(b_i + V_i . h_i).

    ``forward`` computes every ``a_i`` at once with a cumulative sum: O(D H) per image, not O(D^2 H).
    Training (``loss``) conditions every pixel on the *true* earlier pixels (teacher forcing);
    ``sample`` conditions on the model's own draws, updating ``a`` one pixel at a time (O(D H) too).
    """

    def __init__(self, image_shape=(1, 28, 28), hidden: int = 100):
        super().__init__()
        self.image_shape = _check_image_shape(image_shape)
        self.channels = self.image_shape[0]
        n_inputs = math.prod(self.image_shape)
        self.hidden = check_int("hidden", hidden, minimum=1)
        self.W = nn.Parameter(torch.randn(self.hidden, n_inputs) / math.sqrt(n_inputs))
        self.c = nn.Parameter(torch.zeros(self.hidden))
        self.V = nn.Parameter(torch.randn(n_inputs, self.hidden) / math.sqrt(self.hidden))
        self.b = nn.Parameter(torch.zeros(n_inputs))

    def _flat(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
        n_inputs = self.b.shape[0]
        if x.ndim < 2 or math.prod(x.shape[1:]) != n_inputs:
            raise ValueError(f"x must have shape (B, {n_inputs}) or (B, *{self.image_shape}), got {tuple(x.shape)}")
        return x.reshape(x.shape[0], n_inputs)

    def hidden_states(self, x: torch.Tensor) -> torch.Tensor:
        """``h_i = sigm(c + W[:, <i] x_<i)`` for every i: (B, D, H), from an exclusive cumulative sum."""
        flat = self._flat(x).to(self.W.dtype)
        contributions = flat[:, :, None] * self.W.T[None]            # (B, D, H): W[:, k] x_k
        inclusive = torch.cumsum(contributions, dim=1)                # sum over k <= i
        a = self.c + inclusive - contributions                        # sum over k < i
        return torch.sigmoid(a)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``b_i + V_i . h_i`` shaped like ``x``."""
        h = self.hidden_states(x)
        return (self.b + (h * self.V).sum(dim=-1)).reshape(x.shape)

    def nominal_field(self, shape, pixel):
        """Every earlier pixel in raster order."""
        return raster_before(shape, pixel)

    @torch.no_grad()
    def _fill(self, x: torch.Tensor, observed: torch.Tensor, seed: int, local: bool = False) -> torch.Tensor:
        """In raster order: draw ``x_i`` from ``sigm(b_i + V_i . sigm(a))`` where missing, then
        ``a += W[:, i] x_i`` (the drawn or observed value). O(D H) per image."""
        if tuple(x.shape[1:]) != self.image_shape:
            raise ValueError(f"NADE models images of shape {self.image_shape}, got {tuple(x.shape[1:])}")
        generator = torch.Generator(device=x.device).manual_seed(check_seed(seed))
        flat, known = x.reshape(x.shape[0], -1), observed.reshape(x.shape[0], -1)
        a = self.c.expand(x.shape[0], -1).clone()
        for i in range(flat.shape[1]):
            missing = ~known[:, i]
            if bool(missing.any()):
                value = self._draw(self.b[i] + torch.sigmoid(a) @ self.V[i], generator)
                flat[:, i] = torch.where(missing, value, flat[:, i])
            a += flat[:, i, None] * self.W[:, i]
        return flat.reshape(x.shape)

    def sample(self, n: int, shape=None, seed: int = 0, local: bool = False) -> torch.Tensor:
        """``n`` images (n, *image_shape), each pixel drawn given the model's own earlier draws. Seeded."""
        shape = self.image_shape if shape is None else shape
        if tuple(_check_shape(shape, self.channels)) != self.image_shape:
            raise ValueError(f"NADE models images of shape {self.image_shape}, got shape {shape!r}")
        return super().sample(n, self.image_shape, seed)


# ============================================================================ PixelCNN


class MaskedConv2d(nn.Conv2d):
    """A 'same' convolution whose (k x k) kernel is multiplied by a fixed mask (van den Oord et al.).

    Spatially (see :func:`conv_mask`): all rows above the centre, the pixels left of the centre
    on its row, and the centre itself only for ``mask_type="B"``. At the centre, channels are
    split into ``groups`` colour groups (R, G, B for 3) and output group g sees input groups
    < g (type A) or <= g (type B) (:func:`channel_group_mask`). ``y = conv(x, W . M) + b``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        mask_type: str = "A",
        groups: int = 1,
        bias: bool = True,
    ):
        kernel_size = _check_kernel_size(kernel_size)
        check_choice("mask_type", mask_type, MASK_TYPES)
        groups = check_int("groups", groups, minimum=1)
        super().__init__(check_int("in_channels", in_channels, minimum=1),
                         check_int("out_channels", out_channels, minimum=1),
                         kernel_size, padding=kernel_size // 2, bias=bias)
        self.mask_type = mask_type
        self.colour_groups = groups
        centre = kernel_size // 2
        mask = conv_mask(kernel_size, "A").expand(out_channels, in_channels, -1, -1).clone()
        mask[:, :, centre, centre] = channel_group_mask(out_channels, in_channels, groups, mask_type)
        self.register_buffer("mask", mask)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


def _output_channels(channels: int, n_levels: int) -> int:
    return channels if n_levels == 2 else channels * n_levels


def _shape_logits(out: torch.Tensor, channels: int, n_levels: int) -> torch.Tensor:
    """(B, C, H, W) for binary, (B, K, C, H, W) for K levels (channel-major groups)."""
    if n_levels == 2:
        return out
    batch, _, height, width = out.shape
    return out.reshape(batch, channels, n_levels, height, width).transpose(1, 2)


def _check_model_args(n_layers, channels, n_levels, hidden_channels, kernel_size, dropout):
    n_layers = check_int("n_layers", n_layers, minimum=1)
    channels = check_int("in_channels", channels, minimum=1)
    n_levels = check_int("n_levels", n_levels, minimum=2)
    hidden_channels = check_int("hidden_channels", hidden_channels, minimum=1)
    if hidden_channels % channels:
        raise ValueError(f"hidden_channels must be a multiple of in_channels={channels}, got {hidden_channels}")
    return n_layers, channels, n_levels, hidden_channels, _check_kernel_size(kernel_size), check_probability(
        "dropout", dropout
    )


def _rectangle(shape, rows: tuple[int, int], cols: tuple[int, int]) -> torch.Tensor:
    """Bool (H, W), True for rows[0] <= i <= rows[1] and cols[0] <= j <= cols[1]."""
    height, width = shape
    i = torch.arange(height)[:, None]
    j = torch.arange(width)[None, :]
    return (i >= rows[0]) & (i <= rows[1]) & (j >= cols[0]) & (j <= cols[1])


class PixelCNN(_AutoregressiveImageModel):
    """Plain PixelCNN: a type-A masked convolution, ``n_layers - 1`` type-B ones, 1x1 output layers.

    ``h_1 = elu(convA(x))``, ``h_l = elu(convB(h_{l-1}))`` (+ ``h_{l-1}``, a residual), then
    two 1x1 type-B layers give the logits. Each layer reaches ``kernel_size // 2`` pixels further,
    but only up and left: the stacked masks never reach a triangle above-right of the pixel,
    the **blind spot** (see :func:`receptive_field`).

    ``in_channels = 3`` models colour with R before G before B (channel-group masks);
    ``n_levels = K > 2`` gives a K-way softmax per pixel. ``dropout`` on the hidden features.
    """

    def __init__(
        self,
        n_layers: int = 5,
        hidden_channels: int = 32,
        kernel_size: int = 3,
        in_channels: int = 1,
        n_levels: int = 2,
        dropout: float = 0.0,
    ):
        super().__init__()
        n_layers, channels, n_levels, hidden, kernel_size, dropout = _check_model_args(
            n_layers, in_channels, n_levels, hidden_channels, kernel_size, dropout
        )
        self.n_layers, self.channels, self.n_levels, self.kernel_size = n_layers, channels, n_levels, kernel_size
        self.convs = nn.ModuleList(
            [MaskedConv2d(channels, hidden, kernel_size, "A", groups=channels)]
            + [MaskedConv2d(hidden, hidden, kernel_size, "B", groups=channels) for _ in range(n_layers - 1)]
        )
        self.head = nn.ModuleList([
            MaskedConv2d(hidden, hidden, 1, "B", groups=channels),
            MaskedConv2d(hidden, _output_channels(channels, n_levels), 1, "B", groups=channels),
        ])
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits: (B, C, H, W) for binary images, (B, K, C, H, W) for K levels."""
        if not isinstance(x, torch.Tensor) or x.ndim != 4 or x.shape[1] != self.channels:
            got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"x must have shape (B, {self.channels}, H, W), got {got}")
        h = F.elu(self.convs[0](self._input(x)))
        for conv in self.convs[1:]:
            h = h + F.elu(conv(self.dropout(h)))
        out = self.head[1](F.elu(self.head[0](self.dropout(h))))
        return _shape_logits(out, self.channels, self.n_levels)

    def window(self):
        """L p rows up and L p columns either side (p = k // 2): each layer reaches p further."""
        reach = self.n_layers * (self.kernel_size // 2)
        return reach, reach

    def nominal_field(self, shape, pixel):
        """Rows i - L p .. i - 1 and columns j - L p .. j + L p, plus row i left of j (p = k // 2)."""
        i, j = pixel
        reach = self.n_layers * (self.kernel_size // 2)
        above = _rectangle(shape, (i - reach, i - 1), (j - reach, j + reach))
        return above | _rectangle(shape, (i, i), (j - reach, j - 1))


class _GatedLayer(nn.Module):
    """One Gated PixelCNN layer: vertical and horizontal stacks, gated units, residual on h.

    vertical:   ``a_v = conv_{(p+1) x k}(v)`` over rows i - p .. i (all columns j - p .. j + p),
                ``v' = tanh(a_v^f) . sigm(a_v^g)``;
    horizontal: ``a_h = conv_{1 x (p+1)}(h)`` over row i, columns j - p .. j (the centre hidden in
                the first layer, type A) ``+ link(shift_down(a_v))``, ``h' = h + 1x1(tanh(a_h^f) . sigm(a_h^g))``.

    The vertical stack may include its own row (it only ever feeds h through the shift): shifting
    ``a_v`` down one row means h at row i sees only rows <= i - 1 through it, so nothing at or after
    the current pixel leaks in.
    """

    def __init__(self, in_channels: int, hidden: int, kernel_size: int, first: bool):
        super().__init__()
        self.p = kernel_size // 2
        self.first = first
        self.vertical = nn.Conv2d(in_channels, 2 * hidden, (self.p + 1, kernel_size))
        self.horizontal = nn.Conv2d(in_channels, 2 * hidden, (1, self.p + 1))
        mask = torch.ones_like(self.horizontal.weight)
        if first:
            mask[..., -1] = 0  # type A: the centre column (the current pixel) is hidden
        self.register_buffer("horizontal_mask", mask)
        self.link = nn.Conv2d(2 * hidden, 2 * hidden, 1)
        self.out = nn.Conv2d(hidden, hidden, 1)
        self.residual = not first

    @staticmethod
    def gate(a: torch.Tensor) -> torch.Tensor:
        """``tanh(a_f) . sigm(a_g)`` for the two halves of the channels."""
        f, g = a.chunk(2, dim=1)
        return torch.tanh(f) * torch.sigmoid(g)

    @staticmethod
    def shift_down(a: torch.Tensor) -> torch.Tensor:
        """Row i of the result is row i - 1 of ``a`` (row 0 is zeros)."""
        return F.pad(a, (0, 0, 1, 0))[:, :, :-1, :]

    def forward(self, v: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        p = self.p
        a_v = self.vertical(F.pad(v, (p, p, p, 0)))  # row i sees rows i - p .. i
        a_h = F.conv2d(F.pad(h, (p, 0, 0, 0)), self.horizontal.weight * self.horizontal_mask,
                       self.horizontal.bias)  # row i, columns j - p .. j
        a_h = a_h + self.link(self.shift_down(a_v))
        h_new = self.out(self.gate(a_h))
        return self.gate(a_v), (h + h_new if self.residual else h_new)


class GatedPixelCNN(_AutoregressiveImageModel):
    """Gated PixelCNN (van den Oord et al. 2016) for one-channel images: no blind spot.

    A vertical stack sees every row above the pixel (all columns within reach), a horizontal
    stack the current row to the left; the vertical stack feeds the horizontal one shifted
    down by one row. Gated units ``tanh(W_f * x) . sigm(W_g * x)``; residual connections on the
    horizontal stack; two 1x1 layers on the horizontal stack give the logits.
    ``n_levels = K > 2`` gives a K-way softmax per pixel; ``dropout`` on the horizontal stack.
    """

    def __init__(
        self,
        n_layers: int = 5,
        hidden_channels: int = 32,
        kernel_size: int = 3,
        in_channels: int = 1,
        n_levels: int = 2,
        dropout: float = 0.0,
    ):
        super().__init__()
        n_layers, channels, n_levels, hidden, kernel_size, dropout = _check_model_args(
            n_layers, in_channels, n_levels, hidden_channels, kernel_size, dropout
        )
        if channels != 1:
            raise ValueError(f"GatedPixelCNN models one-channel images, got in_channels={channels}; "
                             "use PixelCNN for colour")
        self.n_layers, self.channels, self.n_levels, self.kernel_size = n_layers, channels, n_levels, kernel_size
        self.layers = nn.ModuleList(
            [_GatedLayer(channels, hidden, kernel_size, first=True)]
            + [_GatedLayer(hidden, hidden, kernel_size, first=False) for _ in range(n_layers - 1)]
        )
        self.head = nn.Sequential(nn.Conv2d(hidden, hidden, 1), nn.ELU(),
                                  nn.Conv2d(hidden, _output_channels(channels, n_levels), 1))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits: (B, 1, H, W) for binary images, (B, K, 1, H, W) for K levels."""
        if not isinstance(x, torch.Tensor) or x.ndim != 4 or x.shape[1] != self.channels:
            got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"x must have shape (B, {self.channels}, H, W), got {got}")
        v = h = self._input(x)
        for layer in self.layers:
            v, h = layer(v, self.dropout(h))
        return _shape_logits(self.head(self.dropout(h)), self.channels, self.n_levels)

    def window(self):
        """L p + 1 rows up (the vertical stack's shift adds one) and L p columns either side."""
        reach = self.n_layers * (self.kernel_size // 2)
        return reach + 1, reach

    def nominal_field(self, shape, pixel):
        """Rows i - L p - 1 .. i - 1 and columns j - L p .. j + L p, plus row i left of j."""
        i, j = pixel
        reach = self.n_layers * (self.kernel_size // 2)
        above = _rectangle(shape, (i - reach - 1, i - 1), (j - reach, j + reach))
        return above | _rectangle(shape, (i, i), (j - reach, j - 1))


# ============================================================================ PixelCNN++ output


def _check_mixture(logit_weights, means, log_scales) -> None:
    for name, t in (("logit_weights", logit_weights), ("means", means), ("log_scales", log_scales)):
        if not isinstance(t, torch.Tensor) or not t.is_floating_point():
            got = t.dtype if isinstance(t, torch.Tensor) else type(t).__name__
            raise TypeError(f"{name} must be a floating-point tensor (..., K), got {got}")
    if not (logit_weights.shape == means.shape == log_scales.shape):
        raise ValueError("logit_weights, means and log_scales must have the same shape (..., K), got "
                         f"{tuple(logit_weights.shape)}, {tuple(means.shape)}, {tuple(log_scales.shape)}")


def discretized_logistic_mixture_log_prob(x, logit_weights, means, log_scales, n_levels: int = 256):
    """log P(x) of integer values ``x`` in {0, ..., n_levels - 1} under a discretised mixture of logistics
    (PixelCNN++, Salimans et al. 2017), in nats; shape: ``x``'s broadcast with the parameters' ``(...)``.

    Component k is a logistic with mean ``mu_k`` and scale ``s_k = exp(log_scales_k)`` on the value scale,
    CDF ``F_k(y) = sigm((y - mu_k) / s_k)``; value x gets the mass of its bin [x - 1/2, x + 1/2], the edge
    values the whole tail:

        P_k(0) = F_k(1/2),  P_k(n-1) = 1 - F_k(n - 3/2),  P_k(x) = F_k(x + 1/2) - F_k(x - 1/2),
        P(x) = sum_k pi_k P_k(x),  pi = softmax(logit_weights).

    So the n_levels probabilities sum to one. Computed in log space (softplus for the tails; where a bin's
    mass underflows, log of the density at its centre, bin width 1). Parameters: ``(..., K)`` each.
    """
    n_levels = check_int("n_levels", n_levels, minimum=2)
    _check_mixture(logit_weights, means, log_scales)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor of values 0..{n_levels - 1}, got {type(x).__name__}")
    xf = x.to(means.dtype)
    if bool(((xf != xf.round()) | (xf < 0) | (xf > n_levels - 1)).any()):
        raise ValueError(f"x must hold integers in {{0, ..., {n_levels - 1}}}, got values in "
                         f"[{float(xf.min()):.4g}, {float(xf.max()):.4g}]")
    xf = xf[..., None]
    inv_s = torch.exp(-log_scales)
    upper = (xf + 0.5 - means) * inv_s
    lower = (xf - 0.5 - means) * inv_s
    log_cdf_upper = -F.softplus(-upper)                  # log F(x + 1/2): the left edge (x = 0)
    log_survival_lower = -F.softplus(lower)              # log (1 - F(x - 1/2)): the right edge (x = n - 1)
    mass = torch.sigmoid(upper) - torch.sigmoid(lower)
    centre = (xf - means) * inv_s
    log_density = centre - log_scales - 2 * F.softplus(centre)
    log_mid = torch.where(mass > 1e-5, torch.log(mass.clamp_min(1e-12)), log_density)
    log_p = torch.where(xf < 0.5, log_cdf_upper, torch.where(xf > n_levels - 1.5, log_survival_lower, log_mid))
    return torch.logsumexp(torch.log_softmax(logit_weights, dim=-1) + log_p, dim=-1)


def fit_logistic_mixture(values: torch.Tensor, n_components: int = 5, steps: int = 500, lr: float = 0.05,
                         n_levels: int = 256, seed: int = 0) -> dict[str, torch.Tensor]:
    """Maximum-likelihood discretised logistic mixture for integer ``values`` in {0..n_levels-1} (any shape).

    Minimises ``-(1/N) sum_v count_v log P(v)`` (the histogram makes one step cost O(n_levels K)) with Adam
    for ``steps`` steps from means spread over the range (seeded jitter). Returns the fitted
    ``{"logit_weights", "means", "log_scales"}``, each (K,), detached.
    """
    n_components = check_int("n_components", n_components, minimum=1)
    steps = check_int("steps", steps, minimum=1)
    n_levels = check_int("n_levels", n_levels, minimum=2)
    if not isinstance(values, torch.Tensor):
        raise TypeError(f"values must be a torch.Tensor of integers, got {type(values).__name__}")
    flat = values.reshape(-1).to(torch.float64)
    if flat.numel() == 0 or bool(((flat != flat.round()) | (flat < 0) | (flat > n_levels - 1)).any()):
        raise ValueError(f"values must be a non-empty tensor of integers in {{0, ..., {n_levels - 1}}}")
    counts = torch.bincount(flat.long(), minlength=n_levels).to(torch.float64)
    weights = counts / counts.sum()
    levels = torch.arange(n_levels, dtype=torch.float64)
    generator = torch.Generator().manual_seed(check_seed(seed))
    spread = torch.linspace(0, n_levels - 1, n_components, dtype=torch.float64)
    jitter = torch.rand(n_components, generator=generator, dtype=torch.float64)
    unit = float(n_levels - 1)  # means are optimised in units of the whole range, so one lr suits all
    raw = {
        "logit_weights": torch.zeros(n_components, dtype=torch.float64, requires_grad=True),
        "means": ((spread + jitter) / unit).requires_grad_(True),
        "log_scales": torch.full((n_components,), math.log(n_levels / (4 * n_components)),
                                 dtype=torch.float64).requires_grad_(True),
    }
    optimizer = torch.optim.Adam(raw.values(), lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        log_p = discretized_logistic_mixture_log_prob(levels, raw["logit_weights"], unit * raw["means"],
                                                      raw["log_scales"], n_levels)
        loss = -(weights * log_p).sum()
        loss.backward()
        optimizer.step()
    return {"logit_weights": raw["logit_weights"].detach(), "means": unit * raw["means"].detach(),
            "log_scales": raw["log_scales"].detach()}


# ============================================================================ receptive fields


def _check_pixel(pixel, shape) -> tuple[int, int]:
    if not isinstance(pixel, Sequence) or len(pixel) != 2:
        raise ValueError(f"pixel must be (row, column), got {pixel!r}")
    i, j = (check_int("pixel entry", p) for p in pixel)
    if not (0 <= i < shape[0] and 0 <= j < shape[1]):
        raise ValueError(f"pixel {(i, j)} lies outside the image of shape {tuple(shape)}")
    return i, j


def receptive_field(model: nn.Module, shape=(8, 8), pixel=(4, 4), seed: int = 0) -> torch.Tensor:
    """``|d out(i, j) / d x|`` summed over channels: the (H, W) map of what output pixel (i, j) sees.

    ``out(i, j)`` is the sum of the model's logits at pixel ``(i, j)`` (all channels and levels);
    the gradient is taken at a random binary image (seeded), in float64 on a copy of the model
    in eval mode, so a zero means "no path", not rounding. Returned as float64 on the CPU.
    """
    import copy

    if not isinstance(model, _AutoregressiveImageModel):
        raise TypeError(f"model must be a NADE, MADE, PixelCNN or GatedPixelCNN, got {type(model).__name__}")
    if not isinstance(shape, Sequence) or len(shape) != 2:
        raise ValueError(f"shape must be (H, W), got {shape!r}")
    height, width = (check_int("shape entry", s, minimum=1) for s in shape)
    i, j = _check_pixel(pixel, (height, width))
    probe = copy.deepcopy(model).to(torch.float64).eval()
    generator = torch.Generator().manual_seed(check_seed(seed))
    x = torch.randint(0, probe.n_levels, (1, probe.channels, height, width), generator=generator)
    x = x.to(next(probe.parameters()).device, torch.float64).requires_grad_(True)
    logits = probe(x)
    (grad,) = torch.autograd.grad(logits[..., i, j].sum(), x)
    return grad.abs().sum(dim=(0, 1)).cpu()


def nominal_receptive_field(model: nn.Module, shape=(8, 8), pixel=(4, 4)) -> torch.Tensor:
    """Bool (H, W): the pixels before ``pixel`` that the architecture nominally reaches.

    PixelCNN with L layers of kernel k (p = k // 2): the rows i - L p .. i - 1 over the columns
    j - L p .. j + L p, and row i left of j as far as j - L p. Gated PixelCNN: one more row above
    (the vertical stack's shift). MADE: every pixel earlier in its ordering.
    """
    if not isinstance(model, _AutoregressiveImageModel):
        raise TypeError(f"model must be a NADE, MADE, PixelCNN or GatedPixelCNN, got {type(model).__name__}")
    shape = tuple(check_int("shape entry", s, minimum=1) for s in shape)
    return model.nominal_field(shape, _check_pixel(pixel, shape))


def blind_spot(model: nn.Module, shape=(8, 8), pixel=(4, 4), seed: int = 0) -> torch.Tensor:
    """Bool (H, W): pixels inside the nominal receptive field that output ``pixel`` does NOT see
    (zero gradient). Empty for MADE and Gated PixelCNN; a growing triangle above-right for PixelCNN."""
    seen = receptive_field(model, shape, pixel, seed) != 0
    return nominal_receptive_field(model, shape, pixel) & ~seen


# ============================================================================ training helpers


class NLLTracker:
    """A ``train(..., callback=tracker)`` callback recording the mean NLL (nats/image) of data sets.

    Every ``every`` steps (and at step 1) it evaluates ``-log_prob`` in eval mode on each set of
    ``datasets`` (name -> images) and appends it to ``tracker.nll[name]``; ``tracker.steps`` holds
    the steps. Training mode is restored afterwards.
    """

    def __init__(self, model: nn.Module, datasets: Mapping[str, torch.Tensor], every: int = 50):
        if not isinstance(model, _AutoregressiveImageModel):
            raise TypeError(f"model must be a NADE, MADE, PixelCNN or GatedPixelCNN, got {type(model).__name__}")
        if not isinstance(datasets, Mapping) or not datasets:
            raise TypeError("datasets must be a non-empty dict name -> images")
        self.model, self.datasets = model, dict(datasets)
        self.every = check_int("every", every, minimum=1)
        self.steps: list[int] = []
        self.nll: dict[str, list[float]] = {name: [] for name in self.datasets}

    @torch.no_grad()
    def __call__(self, step: int, history) -> None:
        if step != 1 and step % self.every:
            return None
        was_training = self.model.training
        self.model.eval()
        try:
            self.steps.append(step)
            for name, images in self.datasets.items():
                self.nll[name].append(float(-self.model.log_prob(images).mean()))
        finally:
            self.model.train(was_training)
        return None


def mean_nll(model: nn.Module, x: torch.Tensor, batch_size: int | None = None) -> float:
    """Mean ``-log p(x)`` over the images of ``x`` in nats per image (eval mode, no gradients),
    ``batch_size`` images at a time (all at once by default)."""
    if not isinstance(model, _AutoregressiveImageModel):
        raise TypeError(f"model must be a NADE, MADE, PixelCNN or GatedPixelCNN, got {type(model).__name__}")
    was_training = model.training
    model.eval()
    try:
        size = len(x) if batch_size is None else check_int("batch_size", batch_size, minimum=1)
        with torch.no_grad():
            log_p = [model.log_prob(x[i:i + size].to(model._device())) for i in range(0, len(x), size)]
            return float(-torch.cat(log_p).mean())
    finally:
        model.train(was_training)



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


def _seeded(build, seed: int) -> nn.Module:
    """``build()`` with weights drawn from ``seed`` (the caller's random state is left as it was)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(check_seed(seed))
        return build()


def comparison_model(kind: str, seed: int = 0) -> nn.Module:
    """An untrained model of the fair comparison: ``kind`` "PixelCNN" or "Gated PixelCNN"
    (:data:`COMPARISON_MODELS`), initial weights from ``seed``."""
    check_choice("kind", kind, tuple(COMPARISON_MODELS))
    model_class = PixelCNN if kind == "PixelCNN" else GatedPixelCNN
    return _seeded(lambda: model_class(**COMPARISON_MODELS[kind]), seed)


def comparison_name(kind: str, seed: int) -> str:
    """The checkpoint name of a comparison model, e.g. ``ar_compare_gated_s0``."""
    check_choice("kind", kind, tuple(COMPARISON_MODELS))
    return f"ar_compare_{'plain' if kind == 'PixelCNN' else 'gated'}_s{check_seed(seed)}"


def train_comparison(model: nn.Module, x: torch.Tensor, seed: int = 0, steps: int | None = None, device=None):
    """Train a comparison model with :data:`COMPARISON_RECIPE` (``steps`` overrides its steps) on the
    binary images ``x``; ``seed`` fixes the batch order. Returns the :class:`~course_gen.train.History`."""
    from course_gen.train import train

    recipe = dict(COMPARISON_RECIPE)
    if steps is not None:
        recipe["steps"] = check_int("steps", steps, minimum=1)
    return train(model, x, seed=seed, device=device, progress=False, **recipe)


def overfit_model(dropout: float, seed: int = 0) -> nn.Module:
    """The PixelCNN of :data:`OVERFIT_MODEL` with ``dropout`` on its hidden features (weights from ``seed``)."""
    dropout = check_probability("dropout", dropout)
    return _seeded(lambda: PixelCNN(**OVERFIT_MODEL, dropout=dropout), seed)


def overfit_name(dropout: float) -> str:
    """The checkpoint name of the overfitting run, e.g. ``ar_overfit_p50`` for dropout 0.5."""
    return f"ar_overfit_p{round(100 * check_probability('dropout', dropout)):02d}"


def train_overfit(model: nn.Module, x_small: torch.Tensor, x_test: torch.Tensor, seed: int = 0,
                  steps: int | None = None, device=None) -> NLLTracker:
    """Train ``model`` on the few images ``x_small`` with :data:`OVERFIT_RECIPE`, recording the mean NLL
    of ``x_small`` and of ``x_test`` every ``every`` steps. Returns the :class:`NLLTracker`
    (``tracker.nll["train"]``, ``tracker.nll["test"]``, ``tracker.steps``)."""
    from course_gen.train import train

    recipe = dict(OVERFIT_RECIPE)
    steps = recipe["steps"] if steps is None else check_int("steps", steps, minimum=1)
    tracker = NLLTracker(model, {"train": x_small, "test": x_test}, every=recipe["every"])
    train(model, x_small, steps=steps, lr=recipe["lr"], batch_size=recipe["batch_size"], seed=seed,
          device=device, progress=False, callback=tracker)
    return tracker


def tracker_state(trackers: Mapping[float, NLLTracker]) -> dict[str, torch.Tensor]:
    """The curves of several overfitting runs (dropout -> tracker) as a checkpoint-ready dict of tensors:
    ``steps``, ``train_pNN`` and ``test_pNN`` (NN = 100 x dropout)."""
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
    return _seeded(lambda: NADE(**NADE_MODEL), seed)


def train_nade(model: NADE, x: torch.Tensor, seed: int = 0, steps: int | None = None, device=None):
    """Maximise the teacher-forced log-likelihood of the binary images ``x`` with :data:`NADE_RECIPE`
    (``steps`` overrides its steps). Returns the :class:`~course_gen.train.History`."""
    from course_gen.train import train

    if not isinstance(model, NADE):
        raise TypeError(f"model must be a NADE, got {type(model).__name__}")
    recipe = dict(NADE_RECIPE)
    if steps is not None:
        recipe["steps"] = check_int("steps", steps, minimum=1)
    return train(model, x, seed=seed, device=device, progress=False, **recipe)
