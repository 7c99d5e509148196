"""Data sets for the course, all available offline.

- ``mnist10k``: 10,000 real MNIST digits at 28x28 (8,000 train / 2,000 test), embedded in
  ``assets/``: the course's image data.
- ``digits``: scikit-learn's 8x8 handwritten digits, with a fixed train/test split.
- ``shapes``: procedural dSprites-like images with their factors of variation.
- ``patches``: grayscale patches of the two photographs bundled with scikit-learn.
- ``toy2d`` / ``toy2d_log_prob``: 2-D toy distributions, with exact densities for some.
- ``read_idx`` / ``write_idx`` / ``mnist``: the IDX format and an MNIST loader (files in a
  folder, downloaded only when asked).

Importing this package is light: scikit-learn loads only when digits or photos are needed.
"""

from __future__ import annotations

from .digits import digits
from .idx import mnist, read_idx, write_idx
from .mnist10k import MNIST10K_SPLITS, mnist10k
from .patches import patches
from .shapes import SHAPE_NAMES, shapes
from .toy2d import TOY2D_LOG_PROB_NAMES, TOY2D_NAMES, toy2d, toy2d_log_prob

__all__ = [
    "MNIST10K_SPLITS",
    "SHAPE_NAMES",
    "TOY2D_LOG_PROB_NAMES",
    "TOY2D_NAMES",
    "digits",
    "mnist",
    "mnist10k",
    "patches",
    "read_idx",
    "shapes",
    "toy2d",
    "toy2d_log_prob",
    "write_idx",
]
