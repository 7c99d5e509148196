"""Random square patches of the two natural photographs bundled with scikit-learn.

``sklearn.datasets.load_sample_images()`` ships ``china.jpg`` (a temple) and
``flower.jpg``, both 427x640 RGB (reading them needs pillow). Here they become grayscale
in [0, 1] and are downsampled by 2 (2x2 block means, giving 213x320), so that a small
patch holds more edges and texture. The classic use: learn a sparse code or ICA of
natural-image patches and watch Gabor-like filters appear.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from course_gen._checks import check_bool, check_int, check_seed

#: Luma weights for red, green and blue (ITU-R BT.601): gray = 0.299 R + 0.587 G + 0.114 B.
GRAY_WEIGHTS = (0.299, 0.587, 0.114)
#: The photographs are shrunk by this factor (block means) before patches are cut.
DOWNSAMPLE = 2
#: Added to each patch's standard deviation when ``normalize=True``.
NORMALIZE_EPS = 1e-6


def _to_gray(rgb: np.ndarray) -> np.ndarray:
    """uint8 ``(H, W, 3)`` -> float64 ``(H, W)`` in [0, 1]: ``(0.299 R + 0.587 G + 0.114 B) / 255``."""
    return rgb.astype(np.float64) @ np.asarray(GRAY_WEIGHTS) / 255.0


def _downsample(image: np.ndarray, factor: int) -> np.ndarray:
    """Mean of each ``factor x factor`` block (an odd last row or column is dropped)."""
    h, w = image.shape[0] // factor, image.shape[1] // factor
    blocks = image[: h * factor, : w * factor].reshape(h, factor, w, factor)
    return blocks.mean(axis=(1, 3))


@functools.lru_cache(maxsize=1)
def gray_photos() -> tuple[np.ndarray, ...]:
    """The bundled photographs as read-only float32 grayscale arrays ``(213, 320)`` in [0, 1].

    Order: china.jpg, flower.jpg. Cached after the first call.
    """
    from sklearn.datasets import load_sample_images  # here: keeps `import course_gen.data` light

    photos = []
    for rgb in load_sample_images().images:
        gray = _downsample(_to_gray(rgb), DOWNSAMPLE).astype(np.float32)
        gray.setflags(write=False)
        photos.append(gray)
    return tuple(photos)


def _cut(photo: torch.Tensor, top: torch.Tensor, left: torch.Tensor, size: int) -> torch.Tensor:
    """Patches ``photo[top:top+size, left:left+size]`` for each (top, left): ``(m, size, size)``."""
    offsets = torch.arange(size)
    rows = (top[:, None] + offsets)[:, :, None]  # (m, size, 1)
    cols = (left[:, None] + offsets)[:, None, :]  # (m, 1, size)
    return photo[rows, cols]


def patches(n: int, size: int = 8, seed: int = 0, normalize: bool = False) -> torch.Tensor:
    """Return ``n`` random ``size x size`` grayscale patches, flattened: float32 ``(n, size*size)``.

    Each patch picks one of the two photographs with equal probability, then a top-left
    corner uniformly among the positions where the patch fits (photographs downsampled by
    2, so ``size`` may be 2..213). Row-major flattening: ``patch[i, j]`` is entry ``i*size + j``.

    - ``normalize=False``: raw gray values in [0, 1].
    - ``normalize=True``: each patch is standardised, ``(p - mean(p)) / (std(p) + 1e-6)``
      (population std), so every row has mean 0 and standard deviation ~1. Flat patches
      (sky, dark background) get their JPEG noise amplified: that is what this does.

    A local ``torch.Generator`` seeded with ``seed`` makes the result depend on it only.
    ``n`` is at most 10**6.
    """
    n = check_int("n", n, minimum=1, maximum=10**6)
    photos = [torch.from_numpy(np.array(p)) for p in gray_photos()]
    smallest = min(min(p.shape) for p in photos)
    size = check_int("size", size, minimum=2, maximum=smallest)
    generator = torch.Generator().manual_seed(check_seed(seed))
    check_bool("normalize", normalize)

    which = torch.randint(len(photos), (n,), generator=generator)
    out = torch.empty(n, size, size)
    for index, photo in enumerate(photos):
        rows = (which == index).nonzero().squeeze(1)
        top = torch.randint(photo.shape[0] - size + 1, (len(rows),), generator=generator)
        left = torch.randint(photo.shape[1] - size + 1, (len(rows),), generator=generator)
        out[rows] = _cut(photo, top, left, size)
    flat = out.reshape(n, size * size)
    if normalize:
        flat64 = flat.double()
        mean = flat64.mean(dim=1, keepdim=True)
        std = flat64.std(dim=1, unbiased=False, keepdim=True)
        flat = ((flat64 - mean) / (std + NORMALIZE_EPS)).float()
    return flat
