"""Tests of course_gen.data: shapes, ranges, determinism, exact densities and file formats."""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import re

import numpy as np
import pytest
import torch
from scipy.stats import chisquare

from course_gen.data import (
    SHAPE_NAMES,
    TOY2D_LOG_PROB_NAMES,
    TOY2D_NAMES,
    digits,
    mnist,
    patches,
    read_idx,
    shapes,
    toy2d,
    toy2d_log_prob,
    write_idx,
)
from course_gen.data.shapes import render_shapes
from course_gen.data.toy2d import gaussian_circle_log_prob, ring_log_prob


# ------------------------------------------------------------------------------ digits
def _rows(images: torch.Tensor) -> set[bytes]:
    return {row.tobytes() for row in images.flatten(1).numpy()}


def test_digits_shapes_dtypes_and_ranges():
    for split, expected_n in (("train", 1497), ("test", 300), ("all", 1797)):
        x, y = digits(split)
        assert x.shape == (expected_n, 1, 8, 8) and x.dtype == torch.float32
        assert y.shape == (expected_n,) and y.dtype == torch.int64
        assert x.min() == 0.0 and x.max() == 1.0
        assert set(y.tolist()) == set(range(10))
    # 0..16 scaled by 1/16: every value is a multiple of 1/16
    x, _ = digits("all")
    assert torch.equal(x * 16, (x * 16).round())


def test_digits_split_is_a_stratified_partition():
    x_train, y_train = digits("train")
    x_test, y_test = digits("test")
    x_all, y_all = digits("all")
    assert len(x_train) + len(x_test) == 1797
    train_rows, test_rows = _rows(x_train), _rows(x_test)
    assert len(train_rows) == len(x_train) and len(test_rows) == len(x_test)
    assert train_rows.isdisjoint(test_rows)
    assert train_rows | test_rows == _rows(x_all)
    # about 1/6 of every class is test
    fraction = torch.bincount(y_test, minlength=10) / torch.bincount(y_all, minlength=10)
    assert torch.all((fraction - 1 / 6).abs() < 0.01)
    assert torch.equal(torch.bincount(y_train) + torch.bincount(y_test), torch.bincount(y_all))


def test_digits_split_is_pinned():
    # The split is part of the course's contract (reported accuracies refer to it): pin it.
    x_all, _ = digits("all")
    x_test, y_test = digits("test")
    index_of = {row.tobytes(): i for i, row in enumerate(x_all.flatten(1).numpy())}
    test_indices = [index_of[row.tobytes()] for row in x_test.flatten(1).numpy()]
    assert test_indices == sorted(test_indices)  # scikit-learn's order is kept
    assert test_indices[:8] == [3, 7, 13, 19, 36, 43, 48, 53]
    assert sum(test_indices) == 259905
    assert y_test[:8].tolist() == [3, 7, 3, 9, 0, 7, 0, 8]


def test_digits_deterministic_and_fresh_tensors():
    x1, y1 = digits("test")
    x1[:] = -1.0  # callers may modify what they get ...
    y1[:] = -1
    x2, y2 = digits("test")  # ... without changing the next call
    x3, y3 = digits("test")
    assert torch.equal(x2, x3) and torch.equal(y2, y3)
    assert x2.min() >= 0 and y2.min() >= 0


def test_digits_binarize():
    x, y = digits("train", binarize=True)
    x_raw, y_raw = digits("train")
    assert x.dtype == torch.float32 and set(x.unique().tolist()) == {0.0, 1.0}
    assert torch.equal(x, (x_raw >= 0.5).float()) and torch.equal(y, y_raw)


# ------------------------------------------------------------------------------ shapes
def test_shapes_deterministic_binary_and_factor_ranges():
    x1, f1 = shapes(300, size=16, seed=3)
    x2, f2 = shapes(300, size=16, seed=3)
    x3, _ = shapes(300, size=16, seed=4)
    assert torch.equal(x1, x2) and all(torch.equal(f1[k], f2[k]) for k in f1)
    assert not torch.equal(x1, x3)
    assert x1.shape == (300, 1, 16, 16) and x1.dtype == torch.float32
    assert set(x1.unique().tolist()) == {0.0, 1.0}
    assert set(f1) == {"shape", "scale", "rotation", "x", "y"}
    assert f1["shape"].dtype == torch.int64
    assert set(f1["shape"].tolist()) == set(range(len(SHAPE_NAMES)))
    for key, (low, high) in {"scale": (0.5, 1.0), "rotation": (0.0, 2 * math.pi),
                             "x": (0.25, 0.75), "y": (0.25, 0.75)}.items():
        assert f1[key].dtype == torch.float32 and f1[key].shape == (300,)
        assert f1[key].min() >= low and f1[key].max() <= high


def test_shapes_do_not_use_global_rng():
    torch.manual_seed(0)
    before = torch.rand(1)
    torch.manual_seed(0)
    shapes(5, seed=1)
    assert torch.equal(torch.rand(1), before)


@pytest.mark.parametrize("size", [8, 12, 16, 32, 64])
def test_every_shape_visible_and_inside_the_image(size):
    x, f = shapes(200, size=size, seed=size)
    assert set(f["shape"].tolist()) == set(range(4))
    assert torch.all(x.flatten(1).sum(dim=1) > 0)
    if size >= 16:  # the shape reaches at most 0.45 from the border: outer pixels stay off
        border = torch.cat([x[..., 0, :], x[..., -1, :], x[..., :, 0], x[..., :, -1]], dim=-1)
        assert border.sum() == 0


def test_symmetric_shapes_are_centred_on_xy():
    size = 32
    x, f = shapes(300, size=size, seed=0)
    symmetric = (f["shape"] == SHAPE_NAMES.index("square")) | (f["shape"] == SHAPE_NAMES.index("ellipse"))
    x, fx, fy = x[symmetric, 0], f["x"][symmetric], f["y"][symmetric]
    centres = (torch.arange(size) + 0.5) / size
    mass = x.sum(dim=(1, 2))
    cx = (x.sum(dim=1) * centres).sum(dim=1) / mass  # columns -> x
    cy = (x.sum(dim=2) * centres).sum(dim=1) / mass  # rows -> y
    assert (cx - fx).abs().max() < 0.6 / size
    assert (cy - fy).abs().max() < 0.6 / size
    # and a shifted ground truth would not pass: the check can tell
    assert (cx - (fx + 2 / size)).abs().max() > 1 / size


def test_shape_area_grows_as_scale_squared():
    size = 64
    n = 40
    g = torch.Generator().manual_seed(0)
    base = {
        "shape": torch.arange(n) % 4,
        "rotation": 2 * math.pi * torch.rand(n, generator=g),
        "x": 0.4 + 0.2 * torch.rand(n, generator=g),
        "y": 0.4 + 0.2 * torch.rand(n, generator=g),
    }
    small = render_shapes({**base, "scale": torch.full((n,), 0.5)}, size).sum(dim=(1, 2, 3))
    large = render_shapes({**base, "scale": torch.full((n,), 1.0)}, size).sum(dim=(1, 2, 3))
    ratio = large / small
    assert torch.all((ratio - 4.0).abs() < 0.4), ratio


def test_heart_is_upright_and_triangle_points_up():
    size = 64
    factors = {"shape": torch.tensor([SHAPE_NAMES.index("heart"), SHAPE_NAMES.index("triangle")]),
               "scale": torch.ones(2), "rotation": torch.zeros(2),
               "x": torch.full((2,), 0.5), "y": torch.full((2,), 0.5)}
    heart, triangle = render_shapes(factors, size)[:, 0]
    heart_rows = heart.sum(dim=1).nonzero().squeeze(1)
    top, bottom = heart[heart_rows[0]], heart[heart_rows[-1]]
    assert top.sum() > bottom.sum()  # two wide lobes at the top, a point at the bottom
    # the top row of the heart has a gap between its lobes
    on = top.nonzero().squeeze(1)
    assert (on[-1] - on[0] + 1) > len(on)
    tri_rows = triangle.sum(dim=1).nonzero().squeeze(1)
    assert triangle[tri_rows[0]].sum() < triangle[tri_rows[-1]].sum()


# ----------------------------------------------------------------------------- patches
def test_patches_shape_range_and_determinism():
    p = patches(500, size=8, seed=1)
    assert p.shape == (500, 64) and p.dtype == torch.float32
    assert p.min() >= 0 and p.max() <= 1
    assert p.std() > 0.05  # real photographs, not a constant
    assert torch.equal(p, patches(500, size=8, seed=1))
    assert not torch.equal(p, patches(500, size=8, seed=2))
    assert patches(3, size=12).shape == (3, 144)


def test_patches_normalize():
    p = patches(500, size=8, seed=0, normalize=True).double()
    assert p.shape == (500, 64)
    assert torch.allclose(p.mean(dim=1), torch.zeros(500, dtype=torch.float64), atol=1e-5)
    assert torch.allclose(p.std(dim=1, unbiased=False), torch.ones(500, dtype=torch.float64), atol=2e-3)


# ------------------------------------------------------------------------------- toy2d
@pytest.mark.parametrize("name", TOY2D_NAMES)
def test_toy2d_samples(name):
    x = toy2d(name, 2000, seed=0)
    assert x.shape == (2000, 2) and x.dtype == torch.float32
    assert torch.isfinite(x).all()
    assert x.abs().max() < 4.5 and 0.5 < x.std() < 3.0
    assert torch.equal(x, toy2d(name, 2000, seed=0))
    assert not torch.equal(x, toy2d(name, 2000, seed=1))


def _grid(low: float, high: float, step: float) -> torch.Tensor:
    """Midpoints of a square grid with spacing ``step``: ``(m*m, 2)`` float64."""
    axis = torch.arange(low + step / 2, high, step, dtype=torch.float64)
    gx, gy = torch.meshgrid(axis, axis, indexing="xy")
    return torch.stack([gx.flatten(), gy.flatten()], dim=1)


@pytest.mark.parametrize("name", TOY2D_LOG_PROB_NAMES)
def test_toy2d_log_prob_integrates_to_one(name):
    step = 0.01  # divides 1: grid cells never straddle a checkerboard edge
    points = _grid(-5.0, 5.0, step)
    log_p = toy2d_log_prob(name, points)
    assert log_p.shape == (len(points),) and log_p.dtype == torch.float64
    total = log_p.exp().sum().item() * step**2
    assert abs(total - 1.0) < 0.01, total
    # float32 in, float32 out; samples have finite density
    samples = toy2d(name, 5000, seed=0)
    assert toy2d_log_prob(name, samples).dtype == torch.float32
    assert torch.isfinite(toy2d_log_prob(name, samples)).all()


def _chi_square_p(samples: torch.Tensor, log_prob, limit: float = 4.0, bins: int = 24, sub: int = 16) -> float:
    """Chi-square goodness-of-fit p-value of ``samples`` against ``exp(log_prob)`` on a
    ``bins x bins`` grid over [-limit, limit]^2 (bin probabilities integrated with ``sub x sub``
    midpoints per bin); bins expecting < 5 counts, and the outside, are pooled into one."""
    n = len(samples)
    width = 2 * limit / bins
    density = log_prob(_grid(-limit, limit, width / sub)).exp()
    # _grid orders points with x fastest: reshape to (y bin, y sub, x bin, x sub)
    probs = density.view(bins, sub, bins, sub).sum(dim=(1, 3)) * (width / sub) ** 2
    expected = (n * probs).flatten().numpy()
    edges = np.linspace(-limit, limit, bins + 1)
    counts, _, _ = np.histogram2d(samples[:, 1].numpy(), samples[:, 0].numpy(), bins=[edges, edges])
    observed = counts.flatten()
    keep = expected >= 5
    f_obs = np.append(observed[keep], n - observed[keep].sum())
    f_exp = np.append(expected[keep], n - expected[keep].sum())
    if f_exp[-1] < 5:  # too little left over for its own bin: add it to the smallest kept one
        smallest = np.argmin(f_exp[:-1])
        f_obs[smallest] += f_obs[-1]
        f_exp[smallest] += f_exp[-1]
        f_obs, f_exp = f_obs[:-1], f_exp[:-1]
    assert keep.sum() > 20  # the test has enough bins to be meaningful
    return chisquare(f_obs, f_exp * n / f_exp.sum()).pvalue


@pytest.mark.parametrize("name", TOY2D_LOG_PROB_NAMES)
def test_toy2d_samples_follow_the_density(name):
    samples = toy2d(name, 20000, seed=0).double()
    p = _chi_square_p(samples, lambda x: toy2d_log_prob(name, x))
    assert p > 1e-3, p


def test_chi_square_rejects_a_wrong_density():
    gaussians = toy2d("8gaussians", 20000, seed=0).double()
    assert _chi_square_p(gaussians, lambda x: gaussian_circle_log_prob(x, std=0.22)) < 1e-6
    ring = toy2d("ring", 20000, seed=0).double()
    assert _chi_square_p(ring, lambda x: ring_log_prob(x, radius=2.05)) < 1e-6
    assert _chi_square_p(ring, lambda x: toy2d_log_prob("circles", x)) < 1e-6


def test_toy2d_log_prob_known_values():
    # at a centre of 8gaussians the nearest component dominates: log(1/8 * 1/(2 pi 0.04))
    centre = torch.tensor([[2.0, 0.0]], dtype=torch.float64)
    expected = -math.log(8) - math.log(2 * math.pi * 0.2**2)
    assert abs(toy2d_log_prob("8gaussians", centre).item() - expected) < 1e-6
    board = torch.tensor([[-1.5, -1.5], [-0.5, -1.5], [0.5, 0.5], [3.0, 0.5]])
    assert toy2d_log_prob("checkerboard", board).tolist() == pytest.approx(
        [-math.log(8), -math.inf, -math.log(8), -math.inf])
    # the ring is rotation invariant and peaks at radius 2
    angles = torch.linspace(0, 2 * math.pi, 7, dtype=torch.float64)
    circle = 2.0 * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    values = toy2d_log_prob("ring", circle)
    assert torch.allclose(values, values[0].expand(7))
    assert (toy2d_log_prob("ring", 1.1 * circle) < values).all()


def test_toy2d_log_prob_is_differentiable():
    x = torch.randn(10, 2, requires_grad=True)
    toy2d_log_prob("8gaussians", x).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


# --------------------------------------------------------------------------------- IDX
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 3, 4)])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip(tmp_path, dtype, shape, suffix):
    rng = np.random.default_rng(0)
    info = np.iinfo(dtype) if np.issubdtype(dtype, np.integer) else None
    if info is not None:
        array = rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype)
    else:
        array = rng.normal(size=shape).astype(dtype)
    path = write_idx(array, tmp_path / f"a{suffix}")
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == (suffix == ".gz")
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.shape == shape
    np.testing.assert_array_equal(back, array)


def test_idx_header_is_big_endian(tmp_path):
    path = write_idx(np.array([[1, 256]], dtype=np.int32), tmp_path / "b")
    assert path.read_bytes() == bytes([0, 0, 0x0C, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 1, 0])


def test_idx_gzip_detected_by_content(tmp_path):
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    gz = write_idx(array, tmp_path / "x.gz")
    renamed = gz.rename(tmp_path / "no_extension")
    np.testing.assert_array_equal(read_idx(renamed), array)
    plain = write_idx(array, tmp_path / "plain")
    misnamed = plain.rename(tmp_path / "plain_but_called.gz")
    np.testing.assert_array_equal(read_idx(misnamed), array)


def test_idx_errors_name_the_file(tmp_path):
    bad_magic = tmp_path / "bad_magic"
    bad_magic.write_bytes(bytes([1, 0, 8, 1, 0, 0, 0, 1, 7]))
    with pytest.raises(ValueError, match=f"{re.escape(bad_magic.name)}.*magic"):
        read_idx(bad_magic)
    bad_code = tmp_path / "bad_code"
    bad_code.write_bytes(bytes([0, 0, 0x0A, 1, 0, 0, 0, 1, 7]))
    with pytest.raises(ValueError, match=f"{re.escape(bad_code.name)}.*dtype code 0x0A"):
        read_idx(bad_code)
    full = write_idx(np.zeros((4, 5), np.float32), tmp_path / "full").read_bytes()
    truncated = tmp_path / "truncated"
    truncated.write_bytes(full[:-3])
    with pytest.raises(ValueError, match=f"{re.escape(truncated.name)}.*need 80 bytes, got 77"):
        read_idx(truncated)
    short_header = tmp_path / "short_header"
    short_header.write_bytes(bytes([0, 0, 8, 2, 0, 0, 0, 1]))
    with pytest.raises(ValueError, match="short_header.*truncated IDX header"):
        read_idx(short_header)
    broken_gzip = tmp_path / "broken.gz"
    broken_gzip.write_bytes(gzip.compress(full)[:-10])
    with pytest.raises(ValueError, match="broken.gz.*gzip"):
        read_idx(broken_gzip)
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="empty.*not an IDX file"):
        read_idx(empty)


def test_write_idx_rejects_unsupported_dtypes(tmp_path):
    for array in (np.zeros(3, np.int64), np.zeros(3, np.float16), np.zeros(3, bool)):
        with pytest.raises(ValueError, match=f"dtype must be one of .*got {array.dtype}"):
            write_idx(array, tmp_path / "x")


# ------------------------------------------------------------------------------- MNIST
def _write_mnist(folder, split: str, n: int, suffix: str = "", seed: int = 0):
    prefix = "train" if split == "train" else "t10k"
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 6, 5), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n).astype(np.uint8)
    folder.mkdir(parents=True, exist_ok=True)
    write_idx(images, folder / f"{prefix}-images-idx3-ubyte{suffix}")
    write_idx(labels, folder / f"{prefix}-labels-idx1-ubyte{suffix}")
    return images, labels


def test_mnist_reads_plain_and_gzip_files(tmp_path):
    train_images, train_labels = _write_mnist(tmp_path, "train", 7, suffix="")
    test_images, test_labels = _write_mnist(tmp_path, "test", 4, suffix=".gz", seed=1)
    x, y = mnist(tmp_path)
    assert x.shape == (7, 1, 6, 5) and x.dtype == torch.float32
    assert y.shape == (7,) and y.dtype == torch.int64
    assert torch.allclose(x[:, 0], torch.from_numpy(train_images).float() / 255)
    assert y.tolist() == train_labels.tolist()
    x, y = mnist(str(tmp_path), split="test")
    assert torch.allclose(x[:, 0], torch.from_numpy(test_images).float() / 255)
    assert y.tolist() == test_labels.tolist()
    assert 0 <= x.min() and x.max() <= 1


def test_mnist_missing_files_message(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"t10k-images-idx3-ubyte.*t10k-labels-idx1-ubyte") as info:
        mnist(tmp_path, split="test")
    assert str(tmp_path) in str(info.value) and "download=True" in str(info.value)


def test_mnist_rejects_mismatched_files(tmp_path):
    _write_mnist(tmp_path, "train", 5)
    write_idx(np.zeros(4, np.uint8), tmp_path / "train-labels-idx1-ubyte")
    with pytest.raises(ValueError, match="5 images but .* 4 labels"):
        mnist(tmp_path)
    write_idx(np.zeros((5, 6), np.uint8), tmp_path / "train-images-idx3-ubyte")
    with pytest.raises(ValueError, match="expected 3-D uint8 images"):
        mnist(tmp_path)


def _digests(folder):
    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in folder.iterdir()}


def test_mnist_download_from_file_url(tmp_path):
    remote = tmp_path / "remote"
    images, labels = _write_mnist(remote, "train", 6, suffix=".gz")
    root = tmp_path / "cache" / "mnist"
    x, y = mnist(root, download=True, base_url=remote.as_uri(), sha256=_digests(remote))
    assert sorted(os.listdir(root)) == ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]
    assert y.tolist() == labels.tolist()
    assert torch.allclose(x[:, 0], torch.from_numpy(images).float() / 255)
    # now cached: no download needed, and the remote is not consulted
    for f in remote.iterdir():
        f.unlink()
    x2, y2 = mnist(root)
    assert torch.equal(x, x2) and torch.equal(y, y2)


def test_failed_download_leaves_no_partial_file(tmp_path):
    remote = tmp_path / "remote"
    _write_mnist(remote, "train", 3, suffix=".gz")
    (remote / "train-labels-idx1-ubyte.gz").unlink()  # the second file is missing remotely
    root = tmp_path / "root"
    with pytest.raises(OSError, match="train-labels-idx1-ubyte.gz"):
        mnist(root, download=True, base_url=remote.as_uri() + "/",
              sha256={**_digests(remote), "train-labels-idx1-ubyte.gz": "0" * 64})
    # the complete first file may stay; nothing half-written, no temporary file
    assert sorted(os.listdir(root)) == ["train-images-idx3-ubyte.gz"]
    # a server that answers with something that is not gzip (an HTML error page, say)
    (remote / "t10k-images-idx3-ubyte.gz").write_bytes(b"<html>not found</html>")
    with pytest.raises(OSError, match="did not return gzip data"):
        mnist(root, split="test", download=True, base_url=remote.as_uri())
    assert sorted(os.listdir(root)) == ["train-images-idx3-ubyte.gz"]


def test_download_checked_against_the_published_digests(tmp_path):
    """Files that are not LeCun's MNIST are refused by default, and nothing stays behind."""
    from course_gen.data.idx import MNIST_FILES, MNIST_SHA256

    assert set(MNIST_SHA256) == {f"{name}.gz" for pair in MNIST_FILES.values() for name in pair}
    remote = tmp_path / "remote"
    _write_mnist(remote, "test", 4, suffix=".gz")
    root = tmp_path / "root"
    with pytest.raises(OSError, match=r"sha256 [0-9a-f]{64} does not match the expected 8d422c7b"):
        mnist(root, split="test", download=True, base_url=remote.as_uri())
    assert os.listdir(root) == []


def test_download_with_a_matching_digest_but_broken_idx_is_refused(tmp_path):
    """A digest only says the bytes are the ones promised: the IDX header and length are checked too."""
    import gzip

    remote = tmp_path / "remote"
    _write_mnist(remote, "test", 4, suffix=".gz")
    truncated = gzip.decompress((remote / "t10k-images-idx3-ubyte.gz").read_bytes())[:-5]
    (remote / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(truncated))
    root = tmp_path / "root"
    with pytest.raises(OSError, match="data length does not match the header"):
        mnist(root, split="test", download=True, base_url=remote.as_uri(), sha256=_digests(remote))
    assert os.listdir(root) == []


# -------------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: digits("validation"), ValueError, r"unknown split 'validation'.*'train', 'test', 'all'"),
        (lambda: digits("train", binarize=1), TypeError, "binarize must be a bool"),
        (lambda: shapes(0), ValueError, r"n must be an int >= 1, got 0"),
        (lambda: shapes(-1), ValueError, r"n must be an int >= 1, got -1"),
        (lambda: shapes(2.0), TypeError, r"n must be an int, got float"),
        (lambda: shapes("3"), TypeError, r"n must be an int, got str"),
        (lambda: shapes(True), TypeError, r"n must be an int, got bool"),
        (lambda: shapes(4, size=4), ValueError, r"size must be an int >= 8, got 4"),
        (lambda: shapes(4, size=16.0), TypeError, r"size must be an int, got float"),
        (lambda: shapes(4, seed=1.5), TypeError, r"seed must be an int, got float"),
        (lambda: shapes(4, seed=-1), ValueError, r"seed must be an int >= 0, got -1"),
        (lambda: patches(0), ValueError, r"n must be an int >= 1, got 0"),
        (lambda: patches(-1), ValueError, r"n must be an int >= 1, got -1"),
        (lambda: patches(2.5), TypeError, r"n must be an int, got float"),
        (lambda: patches(3, size=1), ValueError, r"size must be an int >= 2, got 1"),
        (lambda: patches(3, size=1000), ValueError, r"size must be an int <= 213, got 1000"),
        (lambda: patches(3, normalize="yes"), TypeError, r"normalize must be a bool"),
        (lambda: toy2d("banana", 10), ValueError, r"unknown toy2d name 'banana'.*'moons'.*'swissroll'"),
        (lambda: toy2d("moons", 0), ValueError, r"n must be an int >= 1, got 0"),
        (lambda: toy2d("moons", -1), ValueError, r"n must be an int >= 1, got -1"),
        (lambda: toy2d("moons", 10.0), TypeError, r"n must be an int, got float"),
        (lambda: toy2d(3, 10), ValueError, r"unknown toy2d name 3"),
        (lambda: toy2d_log_prob("banana", torch.zeros(3, 2)), ValueError,
         r"unknown toy2d_log_prob name 'banana'.*'8gaussians', 'ring', 'circles', 'checkerboard'"),
        (lambda: toy2d_log_prob("moons", torch.zeros(3, 2)), ValueError,
         r"'moons' has no closed-form density.*'8gaussians', 'ring', 'circles', 'checkerboard'"),
        (lambda: toy2d_log_prob("spirals", torch.zeros(3, 2)), ValueError, r"no closed-form density"),
        (lambda: toy2d_log_prob("swissroll", torch.zeros(3, 2)), ValueError, r"no closed-form density"),
        (lambda: toy2d_log_prob("ring", torch.zeros(3, 3)), ValueError, r"shape \(n, 2\), got \(3, 3\)"),
        (lambda: toy2d_log_prob("ring", torch.zeros(6)), ValueError, r"shape \(n, 2\), got \(6,\)"),
        (lambda: toy2d_log_prob("ring", torch.zeros(3, 2, dtype=torch.int64)), TypeError,
         r"floating-point tensor, got dtype torch.int64"),
        (lambda: toy2d_log_prob("ring", np.zeros((3, 2))), TypeError, r"torch.Tensor of shape \(n, 2\), got ndarray"),
        (lambda: mnist("/nonexistent", split="val"), ValueError, r"unknown split 'val'.*'train', 'test'"),
        (lambda: mnist("/nonexistent", download="no"), TypeError, r"download must be a bool"),
    ],
)
def test_bad_inputs(call, error, message):
    with pytest.raises(error, match=message):
        call()


# -------------------------------------------------------------------------- mnist10k
def test_mnist10k_contract():
    from course_gen.data import mnist10k

    for split, n in (("train", 8000), ("test", 2000)):
        x, y = mnist10k(split)
        assert x.shape == (n, 1, 28, 28) and x.dtype == torch.float32
        assert y.shape == (n,) and y.dtype == torch.int64
        assert float(x.min()) == 0.0 and float(x.max()) == 1.0
        # grey levels are bytes / 255, exactly as in the MNIST files
        assert torch.equal(torch.round(x * 255) / 255, x)
        assert sorted(y.unique().tolist()) == list(range(10))


def test_mnist10k_split_is_stratified_and_disjoint():
    from course_gen.data import mnist10k

    (train, y_train), (test, y_test) = mnist10k("train"), mnist10k("test")
    train_counts, test_counts = torch.bincount(y_train, minlength=10), torch.bincount(y_test, minlength=10)
    # one image in five of every class is test (the package holds 1001 zeros, 1127 ones, ...)
    assert torch.all((test_counts.double() / (train_counts + test_counts) - 0.2).abs() < 0.001)
    assert test_counts.tolist()[:2] == [200, 225]
    # no image in both splits (compared as bytes)
    train_keys = {bytes(row) for row in (train * 255).round().to(torch.uint8).flatten(1).numpy()}
    test_keys = [bytes(row) for row in (test * 255).round().to(torch.uint8).flatten(1).numpy()]
    assert not train_keys.intersection(test_keys)


def test_mnist10k_binarization_is_a_fixed_bernoulli_draw():
    from course_gen.data import mnist10k

    grey, _ = mnist10k("test")
    binary, _ = mnist10k("test", binarize=True)
    again, _ = mnist10k("test", binarize=True)
    assert torch.equal(binary, again)
    assert set(binary.unique().tolist()) == {0.0, 1.0}
    assert torch.all(binary[grey == 0] == 0) and torch.all(binary[grey == 1] == 1)
    # a Bernoulli(grey) draw, not a threshold: mid-grey pixels come out 1 about half the time
    middle = (grey > 0.4) & (grey < 0.6)
    assert 0.4 < float(binary[middle].mean()) < 0.6
    assert abs(float(binary.mean()) - float(grey.mean())) < 0.002
    # the fixed draw, pinned: a change of seed, of order or of split would move these numbers
    assert int(binary.sum()) == 206217
    assert int(mnist10k("train", binarize=True)[0].sum()) == 821706


def test_mnist10k_returns_fresh_tensors():
    from course_gen.data import mnist10k

    x, _ = mnist10k("test")
    x.zero_()
    assert float(mnist10k("test")[0].max()) == 1.0


def test_mnist10k_file_hash_is_checked(tmp_path, monkeypatch):
    from course_gen.checkpoints import assets_dir, sha256_file
    from course_gen.data import mnist10k
    from course_gen.data.mnist10k import MNIST10K_FILE, MNIST10K_SHA256, _load_arrays

    shipped = assets_dir() / MNIST10K_FILE
    assert sha256_file(shipped) == MNIST10K_SHA256
    altered = tmp_path / MNIST10K_FILE
    data = bytearray(shipped.read_bytes())
    data[len(data) // 2] ^= 1
    altered.write_bytes(bytes(data))
    monkeypatch.setenv("COURSE_GEN_ASSETS", str(tmp_path))
    _load_arrays.cache_clear()
    try:
        with pytest.raises(ValueError, match="fails its sha256 check"):
            mnist10k("test")
        altered.unlink()
        with pytest.raises(FileNotFoundError, match="build_mnist10k.py"):
            mnist10k("test")
    finally:
        monkeypatch.delenv("COURSE_GEN_ASSETS")
        _load_arrays.cache_clear()


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"split": "validation"}, ValueError, r"unknown split 'validation': expected one of 'train', 'test'"),
        ({"split": "all"}, ValueError, r"unknown split 'all'"),
        ({"binarize": 1}, TypeError, r"binarize must be a bool, got int"),
        ({"binarize": "yes"}, TypeError, r"binarize must be a bool, got str"),
    ],
)
def test_mnist10k_bad_arguments(kwargs, error, message):
    from course_gen.data import mnist10k

    with pytest.raises(error, match=message):
        mnist10k(**kwargs)
