"""The 8x8 handwritten digits bundled with scikit-learn (no download), with a fixed split.

``sklearn.datasets.load_digits()`` holds 1797 grey-level images of the digits 0-9, each
8x8 with integer values 0..16. Here they are scaled to [0, 1] and split once, with a
fixed seed, into 1497 training and 300 test images (stratified: about 1/6 of every class
goes to the test set).
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from course_gen._checks import check_bool, check_choice, check_int

#: The splits ``digits`` accepts.
DIGITS_SPLITS = ("train", "test", "all")

#: Seed of the ``numpy.random.RandomState`` that draws the fixed train/test split.
SPLIT_SEED = 0
#: About one image in ``TEST_FRACTION_DENOMINATOR`` of every class goes to the test set.
TEST_FRACTION_DENOMINATOR = 6


def stratified_test_mask(labels: np.ndarray, seed: int = SPLIT_SEED) -> np.ndarray:
    """Return a bool array, True for the test images of a stratified split of ``labels``.

    For each class c (in increasing order) one ``RandomState(seed)`` draws a permutation
    of that class's indices; the first ``round(count_c / 6)`` (halves rounded up) are test.
    """
    if not isinstance(labels, np.ndarray) or labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise TypeError(f"labels must be a 1-D numpy array of integers, got {type(labels).__name__}")
    rng = np.random.RandomState(check_int("seed", seed, minimum=0, maximum=2**32 - 1))
    is_test = np.zeros(len(labels), dtype=bool)
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        n_test = (len(members) + TEST_FRACTION_DENOMINATOR // 2) // TEST_FRACTION_DENOMINATOR
        is_test[rng.permutation(members)[:n_test]] = True
    return is_test


@functools.lru_cache(maxsize=1)
def _load_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Images (1797, 1, 8, 8) float32 in [0, 1], labels (1797,) int64 and the test mask.

    Cached and read-only; ``digits`` copies them into fresh tensors.
    """
    from sklearn.datasets import load_digits  # imported here: keeps `import course_gen.data` light

    bunch = load_digits()
    images = (bunch.data.reshape(-1, 1, 8, 8) / 16.0).astype(np.float32)
    labels = bunch.target.astype(np.int64)
    is_test = stratified_test_mask(labels)
    for array in (images, labels, is_test):
        array.setflags(write=False)
    return images, labels, is_test


def digits(split: str = "train", binarize: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(images, labels)`` of scikit-learn's 8x8 digits.

    - ``images``: float32 tensor ``(N, 1, 8, 8)``, the 0..16 grey levels divided by 16, so
      values in [0, 1]; with ``binarize=True`` thresholded, ``(x >= 0.5)``, values in {0., 1.}.
    - ``labels``: int64 tensor ``(N,)`` with the digit 0..9.
    - ``split``: ``"train"`` (N = 1497), ``"test"`` (N = 300) or ``"all"`` (N = 1797, in
      scikit-learn's order). The split is stratified and fixed (see ``stratified_test_mask``);
      train and test keep scikit-learn's order within themselves.

    The same call returns the same values every time, in new tensors the caller may modify.
    """
    check_choice("split", split, DIGITS_SPLITS)
    check_bool("binarize", binarize)
    images, labels, is_test = _load_arrays()
    if split == "train":
        keep = ~is_test
    elif split == "test":
        keep = is_test
    else:
        keep = np.ones_like(is_test)
    x = torch.tensor(images[keep])  # torch.tensor copies: callers get their own memory
    y = torch.tensor(labels[keep])
    if binarize:
        x = (x >= 0.5).to(torch.float32)
    return x, y
