"""MADE (Germain et al. 2015): an autoencoder made autoregressive by masking its weights.

- :class:`MaskedLinear`: ``y = x (W . M)^T + b``, the mask a buffer, the weight never modified.
- :func:`made_degrees`: every unit's degree m (inputs: their position in the ordering; hidden units:
  drawn with a seeded generator), and :func:`made_masks`: ``M[k', k] = 1 if m(k') >= m(k)`` (``>`` for
  the output layer), so that output d sees only the inputs before d.
- :class:`MADE`: the model on images (flattened inside), one pass for all D conditionals.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from course_gen._checks import check_bool, check_int, check_probability, check_seed, check_tensor
from course_gen.autoregressive.base import _AutoregressiveImageModel, _check_image_shape


#: Bound on the units of one layer (inputs D = C H W included).
MAX_UNITS = 10_000


class MaskedLinear(nn.Linear):
    """``y = x (W . M)^T + b``: a linear layer whose weight is multiplied by a fixed 0/1 mask ``M``.

    ``mask`` has the weight's shape ``(out_features, in_features)``; it is a buffer (moves with
    the module, saved in the state dict) and the weight itself is never modified.
    """

    def __init__(self, in_features: int, out_features: int, mask: torch.Tensor | None = None, bias: bool = True):
        super().__init__(check_int("in_features", in_features, minimum=1, maximum=MAX_UNITS),
                         check_int("out_features", out_features, minimum=1, maximum=MAX_UNITS),
                         bias=check_bool("bias", bias))
        self.register_buffer("mask", torch.ones(out_features, in_features))
        if mask is not None:
            self.set_mask(mask)

    def set_mask(self, mask: torch.Tensor) -> None:
        """Replace the mask (shape ``(out_features, in_features)``, values 0 or 1)."""
        mask = check_tensor("mask", mask, shape=tuple(self.weight.shape), dtype=None)
        if not bool(((mask == 0) | (mask == 1)).all()):
            raise ValueError("mask must hold only 0s and 1s")
        self.mask.copy_(mask.to(self.mask.dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x (W . M)^T + b`` for a finite floating-point ``x`` (..., in_features), cast to the weight's dtype."""
        x = check_tensor("x", x, ndim=tuple(range(1, 9)), dtype="float", what=f"(..., {self.in_features})")
        if x.shape[-1] != self.in_features:
            raise ValueError(f"x must have shape (..., {self.in_features}), got {tuple(x.shape)}")
        return self.unchecked(x.to(self.weight.dtype))

    def unchecked(self, x: torch.Tensor) -> torch.Tensor:
        """:meth:`forward` without its checks, for a model that has checked its own input once."""
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
    n_inputs = check_int("n_inputs", n_inputs, minimum=1, maximum=MAX_UNITS)
    hidden_sizes = _check_hidden_sizes(hidden_sizes)
    if ordering is None:
        input_degrees = torch.arange(1, n_inputs + 1)
    else:
        ordering = _check_ordering(ordering, n_inputs)
        input_degrees = torch.empty(n_inputs, dtype=torch.long)
        input_degrees[ordering] = torch.arange(1, n_inputs + 1)  # ordering[t] is the t-th pixel
    generator = torch.Generator().manual_seed(check_seed(seed))
    degrees = [input_degrees]
    for size in hidden_sizes:
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
    if isinstance(degrees, torch.Tensor) or not isinstance(degrees, Sequence) or len(degrees) < 2:
        raise ValueError("degrees must be a list of at least two 1-D integer tensors (inputs, hidden layers...), "
                         f"got {type(degrees).__name__}")
    degrees = [check_tensor(f"degrees[{k}]", d, ndim=1, dtype="integer") for k, d in enumerate(degrees)]
    masks = [
        (upper[:, None] >= lower[None, :]).float() for lower, upper in zip(degrees[:-1], degrees[1:])
    ]
    masks.append((degrees[0][:, None] > degrees[-1][None, :]).float())
    return masks


def _check_hidden_sizes(hidden_sizes) -> tuple[int, ...]:
    if isinstance(hidden_sizes, (int, str)) or not isinstance(hidden_sizes, Sequence) or not hidden_sizes:
        raise ValueError(f"hidden_sizes must be a non-empty sequence of ints, got {hidden_sizes!r}")
    return tuple(check_int("hidden size", size, minimum=1, maximum=MAX_UNITS) for size in hidden_sizes)


def _check_ordering(ordering, n_inputs: int) -> torch.Tensor:
    """A permutation of 0..n_inputs-1 (a tensor or a sequence of ints) as a long tensor."""
    if not isinstance(ordering, torch.Tensor):
        if isinstance(ordering, (str, bytes)) or not isinstance(ordering, Sequence):
            raise TypeError(f"ordering must be a tensor or a sequence of ints, got {type(ordering).__name__}")
        ordering = torch.tensor([check_int("ordering entry", k) for k in ordering], dtype=torch.long)
    ordering = check_tensor("ordering", ordering, ndim=1, dtype="integer", what="(a permutation)")
    if sorted(ordering.tolist()) != list(range(n_inputs)):
        raise ValueError(f"ordering must be a permutation of 0..{n_inputs - 1}, got {ordering.tolist()}")
    return ordering.long()


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
        self.hidden_sizes = _check_hidden_sizes(hidden_sizes)
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
        """Logits shaped like ``x``: (B, C, H, W) or flat (B, D); ``x`` finite, floating-point (cast to
        the model's dtype)."""
        n_inputs = self.layers[0].in_features
        x = self._network_input(x, flat_size=n_inputs)
        h = self._input(x.reshape(x.shape[0], n_inputs))
        for layer in self.layers[:-1]:
            h = self.dropout(torch.relu(layer.unchecked(h)))
        return self.layers[-1].unchecked(h).reshape(x.shape)

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

