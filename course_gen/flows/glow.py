"""Glow's layers (Kingma and Dhariwal 2018) and RealNVP's squeeze.

- :class:`ActNorm`: ``y = s x + b`` per channel with a data-dependent initialisation, log-det
  ``h w sum log|s|``;
- :class:`Invertible1x1Conv`: ``y_ij = W x_ij`` at every pixel, log-det ``h w log|det W|``, optionally
  LU-parametrised (``O(c)`` log-det);
- :class:`Squeeze`: space to channels, ``(C, H, W) -> (4C, H/2, W/2)``, log-det 0.

Each works on vectors ``(B, C)`` or images ``(B, C, H, W)`` (Squeeze: images only).
"""

from __future__ import annotations

import torch
from torch import nn

from course_gen._checks import check_bool, check_int, check_positive_number
from course_gen.flows.base import Transform, _check_float, _own_dtype, _scan_finite

#: Most channels a Glow layer accepts (the 1x1 convolution holds a ``(C, C)`` matrix).
MAX_CHANNELS = 4096


def _check_channels(x, channels: int, name: str = "x") -> torch.Tensor:
    """``x`` must be ``(B, C)`` or ``(B, C, H, W)`` with ``C = channels``, finite (scanned outside a flow)."""
    x = _check_float(x, name)
    if x.ndim not in (2, 4) or x.shape[1] != channels:
        raise ValueError(f"{name} must have shape (B, {channels}) or (B, {channels}, H, W), got {tuple(x.shape)}")
    return _scan_finite(x, name)


def _pixels(x: torch.Tensor) -> int:
    """``h * w`` for images ``(B, C, H, W)``, 1 for vectors ``(B, C)``."""
    return x.shape[2] * x.shape[3] if x.ndim == 4 else 1


def _per_channel(v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """A ``(C,)`` parameter shaped to broadcast against ``x``."""
    return v.view(1, -1, 1, 1) if x.ndim == 4 else v.view(1, -1)


class ActNorm(Transform):
    """Glow's activation normalisation: ``y = s x + b`` per channel, log|det| = ``h w sum log|s|``.

    ``s = exp(log_scale)``. Data-dependent initialisation: the first forward call sets
    ``b`` and ``s`` so that this first output has zero mean and unit variance per channel (over the
    batch and the pixels); later calls use the learned values. Vectors ``(B, C)`` or images
    ``(B, C, H, W)``. Inverse ``x = (y - b) / s``.
    """

    def __init__(self, channels: int, eps: float = 1e-6):
        super().__init__()
        self.channels = check_int("channels", channels, minimum=1, maximum=MAX_CHANNELS)
        self.eps = check_positive_number("eps", eps)
        self.log_scale = nn.Parameter(torch.zeros(self.channels))
        self.bias = nn.Parameter(torch.zeros(self.channels))
        self.register_buffer("initialized", torch.tensor(False))

    @torch.no_grad()
    def initialize(self, x: torch.Tensor) -> None:
        """Set ``b = -mean / std`` and ``s = 1 / std`` from ``x``'s per-channel statistics."""
        x = _own_dtype(self, _check_channels(x, self.channels))
        if x.shape[0] * _pixels(x) < 2:
            raise ValueError("ActNorm's data-dependent initialisation needs more than one value per channel")
        values = x.transpose(0, 1).reshape(self.channels, -1)
        mean, std = values.mean(1), values.std(1, unbiased=False)
        self.log_scale.copy_(-torch.log(std + self.eps))
        self.bias.copy_(-mean / (std + self.eps))
        self.initialized.fill_(True)

    def forward(self, x):
        x = _own_dtype(self, _check_channels(x, self.channels))
        if not bool(self.initialized):
            self.initialize(x)
        y = x * _per_channel(self.log_scale.exp(), x) + _per_channel(self.bias, x)
        return y, (_pixels(x) * self.log_scale.sum()).expand(x.shape[0])

    def inverse(self, y):
        y = _own_dtype(self, _check_channels(y, self.channels, "y"))
        x = (y - _per_channel(self.bias, y)) * _per_channel(torch.exp(-self.log_scale), y)
        return x, (-_pixels(y) * self.log_scale.sum()).expand(y.shape[0])


class Invertible1x1Conv(Transform):
    """Glow's invertible 1x1 convolution: ``y_ij = W x_ij`` at every pixel, log|det| = ``h w log|det W|``.

    ``W`` starts as a random rotation (seeded by ``generator``). With ``lu=True``,
    ``W = P L (U + diag(sign(s) exp(log|s|)))`` (P fixed, L unit lower triangular, U strictly upper),
    so ``log|det W| = sum log|s|`` costs O(c) instead of O(c^3). Inverse ``x_ij = W^-1 y_ij``.
    """

    def __init__(self, channels: int, lu: bool = False, generator: torch.Generator | None = None):
        super().__init__()
        self.channels = check_int("channels", channels, minimum=1, maximum=MAX_CHANNELS)
        self.lu = check_bool("lu", lu)
        rotation, _ = torch.linalg.qr(torch.randn(self.channels, self.channels, generator=generator))
        if not self.lu:
            self.weight_param = nn.Parameter(rotation)
            return
        permutation, lower, upper = torch.linalg.lu(rotation)
        diagonal = torch.diagonal(upper)
        self.register_buffer("permutation", permutation)
        self.register_buffer("sign_s", torch.sign(diagonal))
        self.register_buffer("lower_mask", torch.tril(torch.ones(self.channels, self.channels), -1))
        self.lower = nn.Parameter(lower)
        self.upper = nn.Parameter(torch.triu(upper, 1))
        self.log_s = nn.Parameter(torch.log(diagonal.abs()))

    def weight(self) -> torch.Tensor:
        """The ``(c, c)`` matrix ``W``."""
        if not self.lu:
            return self.weight_param
        eye = torch.eye(self.channels, dtype=self.lower.dtype, device=self.lower.device)
        lower = self.lower * self.lower_mask + eye
        upper = self.upper * self.lower_mask.T + torch.diag(self.sign_s * self.log_s.exp())
        return self.permutation @ lower @ upper

    def log_abs_det_weight(self) -> torch.Tensor:
        """``log|det W|``: ``sum log|s|`` with LU, ``slogdet`` otherwise."""
        return self.log_s.sum() if self.lu else torch.linalg.slogdet(self.weight_param)[1]

    @staticmethod
    def _mix(matrix: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 2:
            return x @ matrix.T
        return torch.einsum("oc,bchw->bohw", matrix, x)

    def _checked_log_abs_det(self) -> torch.Tensor:
        log_abs_det = self.log_abs_det_weight()
        if not bool(torch.isfinite(log_abs_det)):
            raise ValueError(f"the 1x1 convolution's W is singular (log|det W| = {float(log_abs_det.detach())}): not invertible")
        return log_abs_det

    def forward(self, x):
        x = _own_dtype(self, _check_channels(x, self.channels))
        return self._mix(self.weight(), x), (_pixels(x) * self._checked_log_abs_det()).expand(x.shape[0])

    def inverse(self, y):
        y = _own_dtype(self, _check_channels(y, self.channels, "y"))
        log_abs_det = self._checked_log_abs_det()
        return self._mix(torch.linalg.inv(self.weight()), y), (-_pixels(y) * log_abs_det).expand(y.shape[0])


class Squeeze(Transform):
    """Space to channels: ``(B, C, H, W) -> (B, 4C, H/2, W/2)``, each 2x2 block into 4 channels.

    A permutation of the entries, so log|det| = 0. RealNVP and Glow use it to turn checkerboard
    couplings into channel couplings at a coarser scale.
    """

    def forward(self, x):
        x = _check_float(x, "x")
        if x.ndim != 4 or x.shape[2] % 2 or x.shape[3] % 2:
            raise ValueError(f"Squeeze needs images (B, C, H, W) with even H and W, got {tuple(x.shape)}")
        _scan_finite(x, "x")
        b, c, h, w = x.shape
        y = x.reshape(b, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4).reshape(b, 4 * c, h // 2, w // 2)
        return y, x.new_zeros(b)

    def inverse(self, y):
        y = _check_float(y, "y")
        if y.ndim != 4 or y.shape[1] % 4:
            raise ValueError(f"Squeeze's inverse needs (B, 4C, H, W), got {tuple(y.shape)}")
        _scan_finite(y, "y")
        b, c4, h, w = y.shape
        x = y.reshape(b, c4 // 4, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3).reshape(b, c4 // 4, 2 * h, 2 * w)
        return x, y.new_zeros(b)

    def output_shape(self, shape):
        c, h, w = shape
        return (4 * c, h // 2, w // 2)
