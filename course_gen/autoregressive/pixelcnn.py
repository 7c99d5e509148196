"""Masked convolutions and the plain PixelCNN (van den Oord et al. 2016), with its blind spot.

- :class:`MaskedConv2d`: ``y = conv(x, W . M) + b`` with the masks of :mod:`.masks`.
- :class:`PixelCNN`: one type-A layer, type-B layers after it, 1x1 output layers; its stacked masks
  never reach a triangle above-right of the pixel (the blind spot, :mod:`.receptive_field`).
- The helpers the gated model shares: the logits' shape for K levels, the constructor checks and
  the nominal field's rectangles.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from course_gen._checks import check_bool, check_int, check_probability, check_tensor
from course_gen.autoregressive.base import MAX_LEVELS, _AutoregressiveImageModel
from course_gen.autoregressive.masks import MAX_CHANNELS, _check_kernel_size, channel_group_mask, conv_mask

#: Bound on the number of layers of a PixelCNN or Gated PixelCNN.
MAX_LAYERS = 100


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
        centre_mask = channel_group_mask(out_channels, in_channels, groups, mask_type)  # checks all four
        spatial_mask = conv_mask(kernel_size, "A")
        super().__init__(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=check_bool("bias", bias))
        self.mask_type = mask_type
        self.colour_groups = groups
        centre = kernel_size // 2
        mask = spatial_mask.expand(out_channels, in_channels, -1, -1).clone()
        mask[:, :, centre, centre] = centre_mask
        self.register_buffer("mask", mask)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The masked convolution of a finite floating-point ``x`` (B, in_channels, H, W), cast to the weight's dtype."""
        what = f"(B, {self.in_channels}, H, W)"
        x = check_tensor("x", x, ndim=4, dtype="float", what=what)
        if x.shape[1] != self.in_channels:
            raise ValueError(f"x must have shape {what}, got {tuple(x.shape)}")
        return self.unchecked(x.to(self.weight.dtype))

    def unchecked(self, x: torch.Tensor) -> torch.Tensor:
        """:meth:`forward` without its checks, for a model that has checked its own input once."""
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


def _output_channels(channels: int, n_levels: int) -> int:
    return channels if n_levels == 2 else channels * n_levels


def _shape_logits(out: torch.Tensor, channels: int, n_levels: int) -> torch.Tensor:
    """(B, C, H, W) for binary, (B, K, C, H, W) for K levels (channel-major groups)."""
    if n_levels == 2:
        return out
    batch, _, height, width = out.shape
    return out.reshape(batch, channels, n_levels, height, width).transpose(1, 2)


def _configure(model, n_layers, channels, n_levels, hidden_channels, kernel_size, dropout) -> tuple[int, float]:
    """Check a (Gated) PixelCNN's arguments; set ``model.n_layers``, ``channels``, ``n_levels`` and
    ``kernel_size``; return the checked ``(hidden_channels, dropout)``."""
    n_layers = check_int("n_layers", n_layers, minimum=1, maximum=MAX_LAYERS)
    channels = check_int("in_channels", channels, minimum=1, maximum=MAX_CHANNELS)
    n_levels = check_int("n_levels", n_levels, minimum=2, maximum=MAX_LEVELS)
    hidden_channels = check_int("hidden_channels", hidden_channels, minimum=1, maximum=MAX_CHANNELS)
    if channels * n_levels > MAX_CHANNELS:
        raise ValueError(f"in_channels x n_levels (the output channels) must be at most {MAX_CHANNELS}, "
                         f"got {channels} x {n_levels}")
    if hidden_channels % channels:
        raise ValueError(f"hidden_channels must be a multiple of in_channels={channels}, got {hidden_channels}")
    model.n_layers, model.channels, model.n_levels = n_layers, channels, n_levels
    model.kernel_size = _check_kernel_size(kernel_size)
    return hidden_channels, check_probability("dropout", dropout)


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

    def __init__(self, n_layers: int = 5, hidden_channels: int = 32, kernel_size: int = 3, in_channels: int = 1,
                 n_levels: int = 2, dropout: float = 0.0):
        super().__init__()
        hidden, dropout = _configure(self, n_layers, in_channels, n_levels, hidden_channels, kernel_size, dropout)
        n_layers, channels, n_levels, kernel_size = self.n_layers, self.channels, self.n_levels, self.kernel_size
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
        """Logits: (B, C, H, W) for binary images, (B, K, C, H, W) for K levels. ``x``: finite,
        floating-point (cast to the model's dtype)."""
        h = F.elu(self.convs[0].unchecked(self._input(self._network_input(x))))
        for conv in self.convs[1:]:
            h = h + F.elu(conv.unchecked(self.dropout(h)))
        out = self.head[1].unchecked(F.elu(self.head[0].unchecked(self.dropout(h))))
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

