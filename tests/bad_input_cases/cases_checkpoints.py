"""Valid calls of course_gen.checkpoints, on weights saved in a temporary folder."""

import tempfile
from pathlib import Path

import torch
from torch import nn

from bad_input_cases import Case
from course_gen import checkpoints

_root = Path(tempfile.mkdtemp(prefix="course_gen_cases_"))
torch.manual_seed(0)
_model = nn.Linear(3, 2)
_file = checkpoints.save_checkpoint(_model, "tiny", root=_root, note="bad-input cases")

CASES = [
    Case(checkpoints.load_checkpoint, {"name": "tiny", "model": nn.Linear(3, 2), "root": str(_root), "map_location": "cpu"}),
    Case(checkpoints.save_checkpoint, {"model_or_state_dict": _model, "name": "tiny_copy", "root": str(_root),
                                       "note": "a copy", "half": False}),
    Case(checkpoints.load_or_train, {"model": nn.Linear(3, 2), "name": "tiny", "train_fn": lambda m: None,
                                     "root": str(_root), "save": False, "retrain": False, "note": "", "half": False}),
    Case(checkpoints.read_manifest, {"root": str(_root)}),
    Case(checkpoints.assets_dir, {"root": str(_root)}),
    Case(checkpoints.sha256_file, {"path": str(_file)},
         skip={"path": "a path that is not a file raises FileNotFoundError, Python's own error for it "
                       "(tests/test_checkpoints.py)"}),
]

from course_gen import pretrained  # noqa: E402

CASES += [
    Case(pretrained.build, {"name": "vae", "seed": 0}),
    Case(pretrained.load, {"name": "vae", "device": "cpu", "root": str(checkpoints.assets_dir())}),
    Case(pretrained.samples, {"name": "pixelcnn", "root": str(checkpoints.assets_dir())}),
    Case(pretrained.report, {"name": "vae", "root": str(checkpoints.assets_dir())}),
    Case(pretrained.rebuild_command, {"name": "vae"}),
]
