"""What every autoregressive image model shares: its likelihood, sampling and completion.

A model's ``forward(x)`` gives the logits of every pixel at once (masked so that pixel i sees only
the pixels before it); from them :class:`_AutoregressiveImageModel` derives

- ``log_prob(x)`` and ``loss(x)`` with :func:`pixel_nll` (Bernoulli or K-way softmax per pixel);
- ``sample(n)`` and ``complete(x, observed_mask)``: one network evaluation per pixel, in order
  (on the whole image, or with ``local`` on the window that reaches the pixel).

Images are floating-point tensors (B, C, H, W) of pixel levels 0., 1., ...; float64 (or float16)
images are cast to the model's dtype (and moved to its device), integer tensors are refused.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from course_gen._checks import check_bool, check_int, check_seed, check_tensor
from course_gen.autoregressive.masks import MAX_CHANNELS, MAX_SIDE
from course_gen.runtime import evaluating, model_device

#: Bounds: pixel levels K (a K-way softmax per pixel) and images drawn by one ``sample`` call.
MAX_LEVELS = 2**16
MAX_SAMPLES = 100_000


class _AutoregressiveImageModel(nn.Module):
    """What every model here shares: log_prob, loss, sample and complete from ``forward``'s logits.

    ``forward(x)`` returns logits: ``(B, C, H, W)`` (one Bernoulli logit per pixel) when
    ``n_levels == 2``, else ``(B, K, C, H, W)`` (a K-way softmax per pixel).
    """

    channels: int = 1
    n_levels: int = 2

    def _network_input(self, x, flat_size: int | None = None) -> torch.Tensor:
        """``x`` checked (a finite floating-point tensor (B, C, H, W), or with ``flat_size`` any
        (B, ...) of that many values per image), on the model's device and in its dtype."""
        if flat_size is None:
            what = f"of images (B, {self.channels}, H, W)"
            x = check_tensor("x", x, ndim=4, dtype="float", what=what)
            if x.shape[1] != self.channels:
                raise ValueError(f"x must have shape (B, {self.channels}, H, W), got {tuple(x.shape)}")
        else:
            what = f"of images (B, {flat_size}) or (B, *{tuple(self.image_shape)})"
            x = check_tensor("x", x, dtype="float", what=what)
            if x.ndim < 2 or math.prod(x.shape[1:]) != flat_size:
                raise ValueError(f"x {what} must have {flat_size} values per image, got shape {tuple(x.shape)}")
        return x.to(model_device(self), self._dtype())

    def _input(self, x: torch.Tensor) -> torch.Tensor:
        """Pixel values scaled to [0, 1] (the network's input)."""
        return x / (self.n_levels - 1)

    def _dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    def _images(self, x, name: str = "x") -> torch.Tensor:
        """``x`` checked by :func:`_check_images`, on the model's device and in its dtype."""
        return _check_images(x, self.channels, self.n_levels, name).to(model_device(self), self._dtype())

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x) in nats, one per image, shape (B,).

        Binary: ``sum_pixels [x log sigm(l) + (1 - x) log sigm(-l)]`` with ``l`` the logits;
        K levels: ``sum_pixels log softmax(l)[x]``. ``x``: floating-point images (cast to the
        model's dtype and device) holding the levels 0, ..., K - 1.
        """
        x = self._images(x)
        return -_pixel_nll(self(x), x, self.n_levels)

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        """The mean over the batch of ``-log p(x)`` (nats per image)."""
        return -self.log_prob(x).mean()

    def _order(self, shape: tuple[int, int, int]) -> list[tuple[int, int, int]]:
        """(channel, row, column) of the pixels in sampling order: raster, R before G before B."""
        channels, height, width = shape
        return [(c, i, j) for i in range(height) for j in range(width) for c in range(channels)]

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
        """The logits of pixel (c, i, j) of the images ``x`` (B, C, H, W): (B,) or (B, K). ``local``:
        evaluate the network on the window of :meth:`window` only (exact: nothing outside it reaches
        the pixel)."""
        local = check_bool("local", local)
        x = self._network_input(x)
        _, channels, height, width = x.shape
        c, i, j = (check_int(name, v, minimum=0, maximum=size - 1)
                   for name, v, size in (("c", c, channels), ("i", i, height), ("j", j, width)))
        return self._logits_at(x, c, i, j, local)

    def _logits_at(self, x: torch.Tensor, c: int, i: int, j: int, local: bool) -> torch.Tensor:
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
        generator = torch.Generator(device=x.device).manual_seed(check_seed(seed))
        with evaluating(self):  # dropout off while sampling
            for c, i, j in self._order(tuple(x.shape[1:])):
                missing = ~observed[:, c, i, j]
                if not bool(missing.any()):
                    continue
                value = self._draw(self._logits_at(x, c, i, j, local), generator)
                x[:, c, i, j] = torch.where(missing, value, x[:, c, i, j])
        return x

    def sample(self, n: int, shape=(8, 8), seed: int = 0, local: bool = False) -> torch.Tensor:
        """``n`` images of ``shape`` ((H, W) or (C, H, W)) drawn pixel by pixel in order.

        One network evaluation per pixel (and channel): ``x_i ~ p(x_i | x_<i)``, then the next.
        ``local=True`` evaluates each time only the window of input that reaches the pixel
        (:meth:`window`; same images, less work per evaluation on large images).
        Seeded: the same seed gives the same images. Returned on the model's device.
        """
        n = check_int("n", n, minimum=1, maximum=MAX_SAMPLES)
        dims = _check_shape(shape, self.channels)
        local = check_bool("local", local)
        x = torch.zeros(n, *dims, device=model_device(self), dtype=self._dtype())
        return self._fill(x, torch.zeros_like(x, dtype=torch.bool), seed, local=local)

    def complete(self, x: torch.Tensor, observed_mask: torch.Tensor, seed: int = 0, local: bool = False) -> torch.Tensor:
        """Fill in the unobserved pixels of ``x`` by sampling them in order, keeping the observed.

        ``observed_mask``: bool, same shape as ``x`` (or (H, W) for all images), True where the
        pixel is known. Each missing pixel is drawn from ``p(x_i | x_<i)``, where ``x_<i`` mixes
        observed and already drawn pixels. (Pixels after a missing one cannot influence it:
        an autoregressive model only conditions on the past.) Only the missing pixels cost a
        network evaluation: completing the bottom half of an image costs half a sample.
        ``local``: as in :meth:`sample`. Seeded. Returned on the model's device, in its dtype.
        """
        local = check_bool("local", local)
        x = self._images(x)
        observed_mask = check_tensor("observed_mask", observed_mask, dtype=None)
        if observed_mask.dtype != torch.bool:
            raise TypeError(f"observed_mask must be a bool tensor, got {observed_mask.dtype}")
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
    (logits (B, K, ...)): ``-sum_pixels log softmax(l)[x]``. ``x`` must hold the levels 0, ..., K - 1
    (0 or 1 for binary images: other values would give a meaningless, even negative, "NLL").
    """
    n_levels = check_int("n_levels", n_levels, minimum=2, maximum=MAX_LEVELS)
    logits = check_tensor("logits", logits, dtype="float")
    x = check_tensor("x", x, ndim=tuple(range(1, 9)), what="(B, ...)")
    expected = tuple(x.shape) if n_levels == 2 else (x.shape[0], n_levels, *x.shape[1:])
    if tuple(logits.shape) != expected:
        layout = "x's shape" if n_levels == 2 else f"(B, K={n_levels}, ...) for x of shape (B, ...)"
        raise ValueError(f"logits must have shape {expected} ({layout}), got {tuple(logits.shape)}")
    _check_levels(x, n_levels, "x")
    return _pixel_nll(logits, x.to(logits.dtype), n_levels)


def _pixel_nll(logits: torch.Tensor, x: torch.Tensor, n_levels: int) -> torch.Tensor:
    """:func:`pixel_nll` without the checks (for inputs already checked)."""
    if n_levels == 2:
        per_pixel = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    else:
        per_pixel = F.cross_entropy(logits, x.long(), reduction="none")
    return per_pixel.flatten(1).sum(dim=1)


# ============================================================================ checks


def _check_model(model, name: str = "model") -> None:
    if not isinstance(model, _AutoregressiveImageModel):
        raise TypeError(f"{name} must be a NADE, MADE, PixelCNN or GatedPixelCNN, got {type(model).__name__}")


def _check_levels(x: torch.Tensor, n_levels: int, name: str) -> None:
    """The values of ``x`` must be the levels 0, ..., n_levels - 1."""
    if x.dtype == torch.bool or x.numel() == 0:
        return
    inside = (x >= 0) & (x <= n_levels - 1)
    if x.is_floating_point():
        inside &= x == x.round()
    if not bool(inside.all()):
        raise ValueError(
            f"{name} must hold pixel values in {{0, ..., {n_levels - 1}}} "
            f"({'binary images' if n_levels == 2 else f'{n_levels} levels'}), "
            f"got values in [{float(x.min()):.3g}, {float(x.max()):.3g}]"
        )


def _check_images(x, channels: int, n_levels: int, name: str = "x") -> torch.Tensor:
    """``x`` must be a float tensor (B, channels, H, W), B >= 1, with values in {0, ..., n_levels - 1}."""
    what = f"of images (B, {channels}, H, W)"
    x = check_tensor(name, x, ndim=4, dtype="float", what=what)
    if x.shape[1] != channels or x.shape[0] == 0 or x.numel() == 0:
        raise ValueError(f"{name} must have shape (B, {channels}, H, W) with B, H, W >= 1, got {tuple(x.shape)}")
    _check_levels(x, n_levels, name)
    return x


def _check_shape(shape, channels: int) -> tuple[int, int, int]:
    """``(H, W)`` or ``(C, H, W)`` as ``(C, H, W)``."""
    if isinstance(shape, (str, bytes)) or not isinstance(shape, Sequence) or len(shape) not in (2, 3):
        raise ValueError(f"shape must be (H, W) or (C, H, W), got {shape!r}")
    dims = tuple(check_int("shape entry", s, minimum=1, maximum=MAX_SIDE) for s in shape)
    if len(dims) == 2:
        dims = (channels, *dims)
    if dims[0] != channels:
        raise ValueError(f"shape has {dims[0]} channels but the model models {channels}")
    return dims


def _check_image_shape(image_shape) -> tuple[int, int, int]:
    """``(C, H, W)`` of a model's images."""
    if isinstance(image_shape, (str, bytes)) or not isinstance(image_shape, Sequence) or len(image_shape) != 3:
        raise ValueError(f"image_shape must be (C, H, W), got {image_shape!r}")
    channels, *sides = image_shape
    return (check_int("image_shape channels", channels, minimum=1, maximum=MAX_CHANNELS),
            *(check_int("image_shape entry", s, minimum=1, maximum=MAX_SIDE) for s in sides))
