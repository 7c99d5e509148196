"""Coupling layers: NICE's :class:`AdditiveCoupling` (log-det 0) and RealNVP's :class:`AffineCoupling`
(log-det ``sum (1 - m) s``), with the masks of :func:`coupling_mask`: ``"half"``/``"alternating"`` for
vectors, ``"checkerboard"``/``"channel"`` for images.

The mask ``m`` (1 = kept) splits the entries: the kept ones pass unchanged and condition, through a
network, the transformation of the others. The Jacobian is triangular, so its determinant never
involves the network, which can be anything.
"""

from __future__ import annotations

import torch
from torch import nn

from course_gen._checks import check_bool, check_choice, check_int, check_positive_number, check_tensor
from course_gen.flows.base import Transform, _check_event, _check_shape, _own_dtype, _trusted

#: Coupling masks: two for vectors (shape ``(D,)``), two for images (shape ``(C, H, W)``).
MASKS = ("half", "alternating", "checkerboard", "channel")
#: Most hidden units (or channels) of a conditioner network.
MAX_HIDDEN = 4096


def coupling_mask(kind: str, shape, flip: bool = False) -> torch.Tensor:
    """The 0/1 mask of a coupling layer: 1 marks the entries kept (they condition the others).

    - ``"half"`` (vectors ``(D,)``): the first ``ceil(D / 2)`` entries;
    - ``"alternating"`` (vectors): entries 0, 2, 4, ...;
    - ``"checkerboard"`` (images ``(C, H, W)``): pixels with ``i + j`` even, in every channel;
    - ``"channel"`` (images, ``C >= 2``): the first ``C // 2`` channels.

    ``flip=True`` returns ``1 - mask``: alternate it between layers so every entry gets transformed.
    """
    check_choice("mask", kind, MASKS)
    check_bool("flip", flip)
    shape = _check_shape(shape)
    if kind in ("half", "alternating"):
        if len(shape) != 1:
            raise ValueError(f"mask {kind!r} is for vectors: shape must be an int D, got {shape}")
        index = torch.arange(shape[0])
        mask = (index < (shape[0] + 1) // 2) if kind == "half" else (index % 2 == 0)
    else:
        if len(shape) != 3:
            raise ValueError(f"mask {kind!r} is for images: shape must be (C, H, W), got {shape}")
        channels, height, width = shape
        if kind == "checkerboard":
            parity = (torch.arange(height)[:, None] + torch.arange(width)[None, :]) % 2 == 0
            mask = parity.expand(channels, height, width)
        else:
            if channels < 2:
                raise ValueError(f"a channel mask needs at least 2 channels, got shape {shape}")
            mask = (torch.arange(channels) < channels // 2)[:, None, None].expand(channels, height, width)
    mask = mask.float()
    return 1 - mask if flip else mask.clone()


def _resolve_mask(mask, shape: tuple[int, ...], flip: bool) -> torch.Tensor:
    if isinstance(mask, str):
        return coupling_mask(mask, shape if len(shape) == 3 else shape[0], flip)
    if not isinstance(mask, torch.Tensor):
        raise TypeError(f"mask must be one of {MASKS} or a 0/1 tensor, got {type(mask).__name__}")
    if tuple(mask.shape) != shape:
        raise ValueError(f"mask must have shape {shape}, got {tuple(mask.shape)}")
    check_tensor("mask", mask)
    if not bool(((mask == 0) | (mask == 1)).all()):
        raise ValueError("mask must hold only 0s and 1s")
    mask = mask.float()
    return 1 - mask if flip else mask.clone()


def _coupling_net(shape: tuple[int, ...], hidden: int, outputs: int, extra_channels: int = 1) -> nn.Module:
    """An MLP for vectors, a 3x3 conv net for images; ``outputs`` copies of the input size out.

    Images come in with ``extra_channels`` more channels (the couplings append their mask).
    The last layer starts at zero, so a fresh coupling layer is the identity (stable training)."""
    if len(shape) == 1:
        layers = [nn.Linear(shape[0], hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                  nn.Linear(hidden, outputs * shape[0])]
    else:
        channels = shape[0]
        layers = [nn.Conv2d(channels + extra_channels, hidden, 3, padding=1), nn.ReLU(), nn.Conv2d(hidden, hidden, 3, padding=1),
                  nn.ReLU(), nn.Conv2d(hidden, outputs * channels, 3, padding=1)]
    nn.init.zeros_(layers[-1].weight)
    nn.init.zeros_(layers[-1].bias)
    return nn.Sequential(*layers)


class _Coupling(Transform):
    """Shared by the two couplings: the mask, the conditioner network and its input."""

    n_outputs = 1

    def __init__(self, dim, mask="half", hidden: int = 64, flip: bool = False):
        super().__init__()
        self.event_shape = _check_shape(dim)
        hidden = check_int("hidden", hidden, minimum=1, maximum=MAX_HIDDEN)
        self.register_buffer("mask", _resolve_mask(mask, self.event_shape, check_bool("flip", flip)))
        self.net = _coupling_net(self.event_shape, hidden, self.n_outputs)

    def _input(self, x, name: str) -> torch.Tensor:
        """``x`` checked as a batch ``(B, *event_shape)`` and cast to the layer's dtype."""
        return _own_dtype(self, _check_event(x, self.event_shape, name))

    def _conditioner(self, kept: torch.Tensor) -> torch.Tensor:
        """The network applied to the kept entries (images also get the mask as a channel)."""
        if len(self.event_shape) == 3:
            mask = self.mask[:1].expand(kept.shape[0], 1, *self.event_shape[1:]).to(kept.dtype)
            return self.net(torch.cat([kept, mask], dim=1))
        return self.net(kept)


class AdditiveCoupling(_Coupling):
    """NICE's additive coupling: ``y = m x + (1 - m) (x + t(m x))``; log|det| = 0 (volume preserving).

    Inverse: ``x = m y + (1 - m) (y - t(m y))``. ``dim``: an int (vectors) or ``(C, H, W)``; ``mask``:
    a name from :data:`MASKS` or a 0/1 tensor of that shape (1 = kept); ``flip`` swaps the halves.
    """

    def forward(self, x):
        x = self._input(x, "x")
        shift = self._conditioner(x * self.mask) * (1 - self.mask)
        return x + shift, x.new_zeros(x.shape[0])

    def inverse(self, y):
        y = self._input(y, "y")
        shift = self._conditioner(y * self.mask) * (1 - self.mask)
        return y - shift, y.new_zeros(y.shape[0])


class AffineCoupling(_Coupling):
    """RealNVP's affine coupling: ``y = m x + (1 - m) (x exp(s(m x)) + t(m x))``.

    The Jacobian is triangular with diagonal 1 (kept entries) and ``exp(s)`` (transformed ones), so
    ``log|det dy/dx| = sum (1 - m) s``: no determinant of the network, which can be anything.
    Inverse: ``x = m y + (1 - m) (y - t(m y)) exp(-s(m y))``, log-det ``-sum (1 - m) s``.
    ``s = scale_bound * tanh(raw / scale_bound)`` keeps the scales in a safe range.
    """

    n_outputs = 2

    def __init__(self, dim, mask="half", hidden: int = 64, flip: bool = False, scale_bound: float = 3.0):
        super().__init__(dim, mask, hidden, flip)
        self.scale_bound = check_positive_number("scale_bound", scale_bound)

    def scale_and_shift(self, kept: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(s, t)`` from the kept entries, both zero on the kept entries themselves."""
        raw_s, t = self._conditioner(self._input(kept, "kept")).chunk(2, dim=1)
        s = self.scale_bound * torch.tanh(raw_s / self.scale_bound)
        return s * (1 - self.mask), t * (1 - self.mask)

    def forward(self, x):
        x = self._input(x, "x")
        with _trusted():  # x is scanned: its kept half needs no second scan
            s, t = self.scale_and_shift(x * self.mask)
        return x * torch.exp(s) + t, s.flatten(1).sum(1)

    def inverse(self, y):
        y = self._input(y, "y")
        with _trusted():
            s, t = self.scale_and_shift(y * self.mask)
        return (y - t) * torch.exp(-s), -s.flatten(1).sum(1)
