"""The masks of autoregressive models: which input each output may see.

- :func:`conv_mask`: the (k, k) spatial mask of a masked convolution, type ``"A"`` (the centre
  hidden: the first layer) or ``"B"`` (the centre shown: later layers).
- :func:`channel_group_mask`: at the centre pixel, colour groups R before G before B.
- :func:`raster_before`: the pixels strictly before a pixel in raster order.

MADE's masks (from hidden-unit degrees) live beside the model in :mod:`.made`. The checks of
image sizes, pixels and kernels that every file of the package uses are at the end.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from course_gen._checks import check_choice, check_int

#: The two masked-convolution types: "A" hides the centre pixel (first layer), "B" shows it.
MASK_TYPES = ("A", "B")
#: Bounds on what the package builds: image height and width, channels, kernel size.
MAX_SIDE = 1024
MAX_CHANNELS = 4096
MAX_KERNEL_SIZE = 31


def channel_group_mask(out_channels: int, in_channels: int, groups: int, mask_type: str) -> torch.Tensor:
    """The (out, in) 0/1 connectivity at the centre pixel for ``groups`` colour channels.

    Channels are split into ``groups`` contiguous blocks (R, G, B for ``groups = 3``): channel
    ``c`` of ``n`` belongs to group ``g(c) = c * groups // n``. Output ``o`` may see input ``i``
    at the centre iff ``g(i) < g(o)`` (type A) or ``g(i) <= g(o)`` (type B). With one group,
    type A is all zeros and type B all ones.
    """
    out_channels = check_int("out_channels", out_channels, minimum=1, maximum=MAX_CHANNELS)
    in_channels = check_int("in_channels", in_channels, minimum=1, maximum=MAX_CHANNELS)
    groups = check_int("groups", groups, minimum=1, maximum=MAX_CHANNELS)
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
    """Bool (H, W): True at pixels strictly before ``pixel`` (inside the image) in raster order (row by row)."""
    height, width = _check_hw(shape)
    i, j = _check_pixel(pixel, (height, width))
    index = torch.arange(height * width).reshape(height, width)
    return index < i * width + j


# ============================================================================ checks


def _check_kernel_size(kernel_size) -> int:
    kernel_size = check_int("kernel_size", kernel_size, minimum=1, maximum=MAX_KERNEL_SIZE)
    if kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be odd (the mask has a centre), got {kernel_size}")
    return kernel_size


def _check_hw(shape, name: str = "shape") -> tuple[int, int]:
    """``(H, W)``: two ints in 1..MAX_SIDE."""
    if isinstance(shape, (str, bytes)) or not isinstance(shape, Sequence) or len(shape) != 2:
        raise ValueError(f"{name} must be (H, W), got {shape!r}")
    return tuple(check_int(f"{name} entry", s, minimum=1, maximum=MAX_SIDE) for s in shape)


def _check_pixel(pixel, shape: tuple[int, int]) -> tuple[int, int]:
    """``(row, column)`` inside an image of ``shape`` (H, W)."""
    if isinstance(pixel, (str, bytes)) or not isinstance(pixel, Sequence) or len(pixel) != 2:
        raise ValueError(f"pixel must be (row, column), got {pixel!r}")
    i, j = (check_int("pixel entry", p) for p in pixel)
    if not (0 <= i < shape[0] and 0 <= j < shape[1]):
        raise ValueError(f"pixel {(i, j)} lies outside the image of shape {tuple(shape)}")
    return i, j
