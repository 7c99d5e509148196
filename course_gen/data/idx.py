"""The IDX file format (MNIST's), a reader, a writer and an MNIST loader.

An IDX file is a header followed by the raw data, all big-endian:

- bytes 0-1: zero; byte 2: the dtype code (``IDX_DTYPES``); byte 3: the number of dims;
- then one unsigned 32-bit integer per dimension;
- then ``prod(dims)`` values of the dtype, in C (row-major) order.

The files are usually gzip-compressed; ``read_idx`` recognises gzip by its magic bytes
``0x1f 0x8b``, whatever the file is called.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import tempfile
import urllib.request
import zlib
from pathlib import Path

import numpy as np
import torch

from course_gen._checks import check_bool, check_choice

#: IDX dtype code -> numpy dtype (big-endian, as stored in the file).
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODE_OF_KIND = {(dtype.kind, dtype.itemsize): code for code, dtype in IDX_DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"

#: Where ``mnist(download=True)`` fetches the four ``.gz`` files when no ``base_url`` is given.
MNIST_BASE_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
#: The published sha256 of each ``.gz`` file (LeCun's originals, as mirrored by PyTorch and TensorFlow);
#: ``mnist(download=True)`` refuses a download that does not match.
MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
#: Split -> (images file, labels file), without the optional ``.gz``.
MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


# --------------------------------------------------------------------------- read/write
def _check_path(name: str, path) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path (str or os.PathLike), got {type(path).__name__}")
    return Path(path)


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped when they start with the gzip magic ``1f 8b``."""
    raw = path.read_bytes()
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as err:
        raise ValueError(f"{path}: corrupt or truncated gzip data ({err})") from err


def _parse_header(data: bytes, path: Path) -> tuple[np.dtype, tuple[int, ...], int]:
    """Return (dtype, dims, header length) of IDX ``data``; ``ValueError`` naming ``path``."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(
            f"{path}: not an IDX file: expected magic bytes 00 00 <dtype> <ndim>, "
            f"got {data[:4].hex(' ') or 'an empty file'}"
        )
    code, ndim = data[2], data[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X} ({d.name})" for c, d in IDX_DTYPES.items())
        raise ValueError(f"{path}: unknown IDX dtype code 0x{code:02X}: expected one of {known}")
    header_length = 4 + 4 * ndim
    if len(data) < header_length:
        raise ValueError(
            f"{path}: truncated IDX header: {ndim} dims need {header_length} bytes, got {len(data)}"
        )
    dims = struct.unpack(f">{ndim}I", data[4:header_length])
    return IDX_DTYPES[code], dims, header_length


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (plain or gzip-compressed) into a numpy array.

    Returns an array of shape ``dims`` (from the header) in native byte order, with dtype
    uint8, int8, int16, int32, float32 or float64 (codes 0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E).
    Raises ``ValueError`` naming the file for a bad magic, an unknown dtype code, or data
    whose length does not match the dims (a truncated or padded file).
    """
    path = _check_path("path", path)
    if not path.is_file():
        raise FileNotFoundError(f"no IDX file at {path}")
    data = _read_bytes(path)
    dtype, dims, start = _parse_header(data, path)
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    got = len(data) - start
    if got != expected:
        raise ValueError(
            f"{path}: data length does not match the header: dims {dims} of {dtype.name} "
            f"need {expected} bytes, got {got} (truncated or corrupt file)"
        )
    array = np.frombuffer(data, dtype=dtype, offset=start).reshape(dims)
    return array.astype(dtype.newbyteorder("="))  # a writable copy in native byte order


def write_idx(array, path: str | os.PathLike) -> Path:
    """Write ``array`` as an IDX file at ``path`` (gzip-compressed if the name ends in ``.gz``).

    ``array`` (anything ``numpy.asarray`` takes) must have dtype uint8, int8, int16, int32,
    float32 or float64 and at most 255 dims, each < 2**32. Returns ``path`` as a ``Path``.
    """
    array = np.asarray(array)
    code = _CODE_OF_KIND.get((array.dtype.kind, array.dtype.itemsize))
    if code is None:
        allowed = ", ".join(d.name for d in IDX_DTYPES.values())
        raise ValueError(f"write_idx: dtype must be one of {allowed}, got {array.dtype}")
    if array.ndim > 255 or any(d >= 2**32 for d in array.shape):
        raise ValueError(f"write_idx: IDX holds at most 255 dims, each < 2**32, got shape {array.shape}")
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()
    path = _check_path("path", path)
    if path.name.endswith(".gz"):
        payload = gzip.compress(payload, mtime=0)
    path.write_bytes(payload)
    return path


# -------------------------------------------------------------------------------- MNIST
def _find(root: Path, name: str) -> Path | None:
    """``root/name`` or ``root/name.gz``, whichever exists first; None if neither."""
    for candidate in (root / name, root / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _download(url: str, destination: Path, sha256: str) -> None:
    """Fetch ``url`` into ``destination`` via a temporary file in the same folder, renamed
    into place only once complete, checked to be gzip and to have the digest ``sha256``;
    nothing is left behind on failure."""
    handle, temporary = tempfile.mkstemp(
        dir=destination.parent, prefix=f".{destination.name}.", suffix=".part"
    )
    try:
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
            while chunk := response.read(1 << 20):
                out.write(chunk)
        with open(temporary, "rb") as check:
            if check.read(2) != _GZIP_MAGIC:
                raise ValueError(f"{url} did not return gzip data")
        digest = hashlib.sha256(Path(temporary).read_bytes()).hexdigest()
        if digest != sha256:
            raise ValueError(f"sha256 {digest} does not match the expected {sha256}")
        read_idx(temporary)  # the header and the data length must agree too
        os.replace(temporary, destination)
    except BaseException as err:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(err, Exception):
            raise OSError(f"could not download {url} to {destination}: {err}") from err
        raise


def mnist(
    root: str | os.PathLike, split: str = "train", download: bool = False, base_url: str | None = None,
    sha256: dict[str, str] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(images, labels)`` of MNIST (or any IDX images/labels pair named like it).

    - ``images``: float32 ``(N, 1, H, W)``, the uint8 pixels divided by 255, so in [0, 1]
      (H = W = 28 for MNIST; any size is accepted).
    - ``labels``: int64 ``(N,)``.

    Reads ``train-images-idx3-ubyte`` and ``train-labels-idx1-ubyte`` (``split="train"``) or
    ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` (``split="test"``) from
    ``root``, each plain or with ``.gz``. When a file is missing: ``download=False`` raises
    ``FileNotFoundError``; ``download=True`` fetches ``<base_url>/<name>.gz`` into ``root``
    (default ``MNIST_BASE_URL``; ``file://`` URLs work too), through a temporary file so a
    failed download leaves nothing half-written, and checks it against ``sha256[<name>.gz]``
    (default :data:`MNIST_SHA256`, the published digests) and parsed as IDX (header and length must
    agree): a file that fails either is refused, ``OSError`` saying why. ``ValueError`` if the images are not a
    3-D uint8 array or the labels not 1-D integers of the same length.
    """
    check_choice("split", split, tuple(MNIST_FILES))
    check_bool("download", download)
    root = _check_path("root", root)
    if base_url is not None and not isinstance(base_url, str):
        raise TypeError(f"base_url must be a str or None, got {type(base_url).__name__}")
    if sha256 is not None and not isinstance(sha256, dict):
        raise TypeError(f"sha256 must be a dict {{file name: hex digest}} or None, got {type(sha256).__name__}")
    base_url = MNIST_BASE_URL if base_url is None else base_url
    digests = MNIST_SHA256 if sha256 is None else sha256
    paths = []
    for name in MNIST_FILES[split]:
        path = _find(root, name)
        if path is None and download:
            root.mkdir(parents=True, exist_ok=True)
            path = root / f"{name}.gz"
            if f"{name}.gz" not in digests:
                raise ValueError(f"no sha256 given for {name}.gz: pass sha256={{'{name}.gz': '<hex digest>'}}")
            _download(f"{base_url.rstrip('/')}/{name}.gz", path, digests[f"{name}.gz"])
        paths.append(path)
    if None in paths:
        names = " and ".join(f"{name}[.gz]" for name in MNIST_FILES[split])
        raise FileNotFoundError(
            f"MNIST {split} files not found: looked for {names} in {root}; "
            f"pass download=True to fetch them from {base_url}"
        )
    return _images_and_labels(read_idx(paths[0]), read_idx(paths[1]), paths)


def _images_and_labels(
    images: np.ndarray, labels: np.ndarray, paths: list[Path],
) -> tuple[torch.Tensor, torch.Tensor]:
    """Check the pair and convert: images ``/ 255`` to float32 ``(N, 1, H, W)``, labels int64."""
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(
            f"{paths[0]}: expected 3-D uint8 images (N, H, W), got {images.ndim}-D {images.dtype}"
        )
    if labels.ndim != 1 or labels.dtype.kind not in "ui":
        raise ValueError(f"{paths[1]}: expected 1-D integer labels (N,), got {labels.ndim}-D {labels.dtype}")
    if len(images) != len(labels):
        raise ValueError(f"{paths[0]} holds {len(images)} images but {paths[1]} holds {len(labels)} labels")
    x = torch.from_numpy(images).to(torch.float32).div_(255.0).unsqueeze(1)
    return x, torch.from_numpy(labels.astype(np.int64))
