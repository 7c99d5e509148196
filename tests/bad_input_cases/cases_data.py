"""Valid calls of course_gen.data."""

import tempfile
from pathlib import Path

import numpy as np
import torch

from bad_input_cases import Case
from course_gen import data
from course_gen.data.digits import stratified_test_mask
from course_gen.data.shapes import render_shapes
from course_gen.data.toy2d import checkerboard_log_prob, circles_log_prob, gaussian_circle_log_prob, ring_log_prob

_root = Path(tempfile.mkdtemp(prefix="course_gen_idx_"))
_rng = np.random.RandomState(0)
data.write_idx(_rng.randint(0, 256, (5, 4, 4)).astype(np.uint8), _root / "train-images-idx3-ubyte")
data.write_idx(_rng.randint(0, 10, 5).astype(np.uint8), _root / "train-labels-idx1-ubyte")
_points = torch.tensor([[0.5, 0.5], [-1.5, -1.5], [2.0, 0.1]], dtype=torch.float64)
_missing_file = "a path that is not a file raises FileNotFoundError naming it, Python's own error (tests/test_data.py)"

CASES = [
    Case(data.digits, {"split": "test", "binarize": False}),
    Case(data.mnist10k, {"split": "test", "binarize": True}),
    Case(data.patches, {"n": 4, "size": 8, "seed": 0, "normalize": True}),
    Case(data.shapes, {"n": 3, "size": 16, "seed": 0}),
    Case(render_shapes, {"factors": data.shapes(2, size=8)[1], "size": 16},
         extra_bad={"factors": {"a missing key": {"shape": torch.zeros(2, dtype=torch.int64)},
                                "an unknown shape": {**data.shapes(2, size=8)[1], "shape": torch.tensor([0, 7])}}}),
    Case(data.toy2d, {"name": "moons", "n": 5, "seed": 0}),
    Case(data.toy2d_log_prob, {"name": "8gaussians", "x": _points}),
    Case(gaussian_circle_log_prob, {"x": _points, "radius": 2.0, "std": 0.2, "count": 8}),
    Case(ring_log_prob, {"x": _points, "radius": 2.0, "std": 0.25}),
    Case(circles_log_prob, {"x": _points, "std": 0.1}),
    Case(checkerboard_log_prob, {"x": _points[:1]}),
    Case(stratified_test_mask, {"labels": np.arange(20) % 3, "seed": 0}),
    Case(data.mnist, {"root": str(_root), "split": "train", "download": False}, skip={"root": _missing_file}),
    Case(data.read_idx, {"path": str(_root / "train-labels-idx1-ubyte")}, skip={"path": _missing_file}),
    Case(data.write_idx, {"array": np.zeros((2, 3), np.uint8), "path": str(_root / "written.idx")}),
]
