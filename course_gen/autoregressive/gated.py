"""Gated PixelCNN (van den Oord et al. 2016): a vertical and a horizontal stack, gated units, no blind spot."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from course_gen.autoregressive.base import _AutoregressiveImageModel
from course_gen.autoregressive.pixelcnn import _configure, _output_channels, _rectangle, _shape_logits


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

    def __init__(self, n_layers: int = 5, hidden_channels: int = 32, kernel_size: int = 3, in_channels: int = 1,
                 n_levels: int = 2, dropout: float = 0.0):
        super().__init__()
        hidden, dropout = _configure(self, n_layers, in_channels, n_levels, hidden_channels, kernel_size, dropout)
        n_layers, channels, n_levels, kernel_size = self.n_layers, self.channels, self.n_levels, self.kernel_size
        if channels != 1:
            raise ValueError(f"GatedPixelCNN models one-channel images, got in_channels={channels}; "
                             "use PixelCNN for colour")
        self.layers = nn.ModuleList(
            [_GatedLayer(channels, hidden, kernel_size, first=True)]
            + [_GatedLayer(hidden, hidden, kernel_size, first=False) for _ in range(n_layers - 1)]
        )
        self.head = nn.Sequential(nn.Conv2d(hidden, hidden, 1), nn.ELU(),
                                  nn.Conv2d(hidden, _output_channels(channels, n_levels), 1))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits: (B, 1, H, W) for binary images, (B, K, 1, H, W) for K levels. ``x``: finite,
        floating-point (cast to the model's dtype)."""
        v = h = self._input(self._network_input(x))
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

