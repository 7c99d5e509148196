"""What every autoregressive image model shares: its likelihood, sampling and completion.

A model's ``forward(x)`` gives the logits of every pixel at once (masked so that pixel i sees only
the pixels before it); from them :class:`_AutoregressiveImageModel` derives

- ``log_prob(x)`` and ``loss(x)`` with :func:`pixel_nll` (Bernoulli or K-way softmax per pixel);
- ``sample(n)`` and ``complete(x, observed_mask)``: one network evaluation per pixel, in order
  (on the whole image, or with ``local`` on the window that reaches the pixel).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from course_gen._checks import check_bool, check_int, check_seed


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

