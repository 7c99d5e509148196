"""Tests for course_gen.checkpoints: shipped weights with a sha256 manifest."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from course_gen.checkpoints import (
    CheckpointError,
    load_checkpoint,
    load_or_train,
    read_manifest,
    save_checkpoint,
    sha256_file,
)


def small_model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))


def other_architecture() -> nn.Module:
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2), nn.ReLU(), nn.Linear(2, 1))


def test_round_trip_gives_equal_tensors(tmp_path):
    model = small_model(seed=0)
    path = save_checkpoint(model, "tiny", root=tmp_path, note="a test")
    assert path == tmp_path / "tiny.pt" and path.is_file()

    fresh = small_model(seed=1)
    assert not torch.equal(fresh[0].weight, model[0].weight)
    loaded = load_checkpoint("tiny", fresh, root=tmp_path)
    assert loaded is fresh
    for key, value in model.state_dict().items():
        assert torch.equal(fresh.state_dict()[key], value)

    state = load_checkpoint("tiny", root=tmp_path)
    assert set(state) == set(model.state_dict())


def test_loading_sets_subnormal_weights_to_zero(tmp_path):
    model = small_model(seed=0)
    tiny = torch.finfo(torch.float32).tiny
    with torch.no_grad():
        model[0].weight[0, :3] = torch.tensor([tiny / 4, -tiny / 1000, tiny])  # two subnormals, one normal
    save_checkpoint(model, "sub", root=tmp_path)
    loaded = load_checkpoint("sub", small_model(seed=1), root=tmp_path)
    assert loaded[0].weight[0, :3].tolist() == [0.0, 0.0, tiny]
    assert torch.equal(loaded[0].weight[1:], model[0].weight[1:]) and torch.equal(loaded[2].weight, model[2].weight)


def test_manifest_records_hash_size_and_is_sorted(tmp_path):
    save_checkpoint(small_model(), "zeta", root=tmp_path)
    save_checkpoint(small_model(), "alpha", root=tmp_path, note="first")
    text = (tmp_path / "checkpoints.json").read_text()
    manifest = json.loads(text)
    assert list(manifest) == ["alpha", "zeta"]
    assert text.startswith('{\n  "alpha"')
    entry = manifest["alpha"]
    assert entry["sha256"] == sha256_file(tmp_path / "alpha.pt")
    assert entry["bytes"] == (tmp_path / "alpha.pt").stat().st_size
    assert entry["file"] == "alpha.pt" and entry["note"] == "first"
    assert read_manifest(tmp_path) == manifest


def test_flipped_byte_fails_the_sha256_check(tmp_path):
    path = save_checkpoint(small_model(), "tiny", root=tmp_path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="sha256") as info:
        load_checkpoint("tiny", small_model(), root=tmp_path)
    assert read_manifest(tmp_path)["tiny"]["sha256"] in str(info.value)


def test_missing_file_is_reported(tmp_path):
    path = save_checkpoint(small_model(), "tiny", root=tmp_path)
    path.unlink()
    with pytest.raises(CheckpointError, match="missing") as info:
        load_checkpoint("tiny", root=tmp_path)
    assert str(path) in str(info.value) and "train" in str(info.value)


def test_unknown_name_lists_available(tmp_path):
    save_checkpoint(small_model(), "vae_mnist", root=tmp_path)
    save_checkpoint(small_model(), "flow-moons", root=tmp_path)
    with pytest.raises(CheckpointError, match="flow-moons, vae_mnist"):
        load_checkpoint("gan", root=tmp_path)


def test_wrong_architecture_names_the_keys(tmp_path):
    save_checkpoint(small_model(), "tiny", root=tmp_path)
    with pytest.raises(CheckpointError, match=r"missing keys \['4.bias', '4.weight'\]"):
        load_checkpoint("tiny", other_architecture(), root=tmp_path)


def test_wrong_shapes_are_a_checkpoint_error(tmp_path):
    save_checkpoint(small_model(), "tiny", root=tmp_path)
    wider = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 2))
    with pytest.raises(CheckpointError, match="size mismatch"):
        load_checkpoint("tiny", wider, root=tmp_path)


def test_invalid_names_are_refused(tmp_path):
    for name in ["../escape", "a b", "", "x/y"]:
        with pytest.raises(ValueError, match="invalid checkpoint name"):
            save_checkpoint(small_model(), name, root=tmp_path)
    with pytest.raises(TypeError, match="nn.Module or a state_dict"):
        save_checkpoint([1, 2, 3], "tiny", root=tmp_path)


class Payload:
    """Any non-tensor object: weights_only loading must refuse to unpickle it."""


def test_pickled_object_is_refused_even_with_a_matching_hash(tmp_path):
    path = save_checkpoint(small_model(), "tiny", root=tmp_path)
    torch.save({"weight": Payload()}, path)  # a file that is not plain weights
    manifest = read_manifest(tmp_path)
    manifest["tiny"]["sha256"] = sha256_file(path)  # so the hash check passes
    (tmp_path / "checkpoints.json").write_text(json.dumps(manifest))
    with pytest.raises(CheckpointError, match="weights_only"):
        load_checkpoint("tiny", root=tmp_path)


def test_load_or_train_falls_back_and_can_save(tmp_path, capsys):
    calls = []

    def train_fn(model):
        calls.append(model)
        with torch.no_grad():
            model[0].weight.fill_(0.25)

    model, loaded = load_or_train(small_model(), "tiny", train_fn, root=tmp_path, save=True)
    assert loaded is False and calls == [model]
    note = capsys.readouterr().out
    assert "tiny" in note and note.count("\n") == 1

    again, loaded_again = load_or_train(small_model(seed=5), "tiny", train_fn, root=tmp_path)
    assert loaded_again is True and len(calls) == 1
    assert torch.all(again[0].weight == 0.25)


def test_load_or_train_retrains_and_replaces_the_shipped_file(tmp_path):
    save_checkpoint(small_model(), "tiny", root=tmp_path)

    def train_fn(model):
        with torch.no_grad():
            model[0].weight.fill_(0.5)

    model, loaded = load_or_train(small_model(seed=3), "tiny", train_fn, root=tmp_path, retrain=True)
    assert loaded is False and torch.all(model[0].weight == 0.5)
    reloaded = load_checkpoint("tiny", small_model(seed=4), root=tmp_path)
    assert torch.all(reloaded[0].weight == 0.5), "retrain=True must save the new weights"


def test_half_precision_checkpoints_load_back_as_float32(tmp_path):
    model = small_model()
    save_checkpoint(model, "tiny", root=tmp_path, half=True)
    stored = torch.load(tmp_path / "tiny.pt", weights_only=True)
    assert all(value.dtype == torch.float16 for value in stored.values())
    loaded = load_checkpoint("tiny", small_model(seed=1), root=tmp_path)
    assert loaded[0].weight.dtype == torch.float32
    assert torch.equal(loaded[0].weight, model[0].weight.half().float())


def test_env_var_sets_the_default_root(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_GEN_ASSETS", str(tmp_path))
    save_checkpoint(small_model(), "tiny")
    assert (tmp_path / "tiny.pt").is_file()
    assert "tiny" in read_manifest()


@pytest.mark.parametrize("manifest_bytes, message", [
    (b'{"tiny": "tiny.pt"}', "should be an object"),
    (b'{"tiny": {"file": "tiny.pt"}}', "no sha256"),
    (b'{"tiny": {"file": 3, "sha256": "00"}}', "bare file name"),
    (b'{"tiny": {"file": "../tiny.pt", "sha256": "00"}}', "bare file name"),
    ('{"tiny": "caf\u00e9"}'.encode("latin-1"), "not UTF-8"),
    (b"[1, 2]", "JSON object"),
])
def test_broken_manifests_are_checkpoint_errors_and_load_or_train_trains(tmp_path, capsys, manifest_bytes, message):
    (tmp_path / "checkpoints.json").write_bytes(manifest_bytes)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint("tiny", root=tmp_path)
    model, loaded = load_or_train(small_model(), "tiny", lambda m: None, root=tmp_path)
    assert not loaded and message in capsys.readouterr().out


def test_a_manifest_that_is_a_folder_is_a_checkpoint_error(tmp_path, capsys):
    (tmp_path / "checkpoints.json").mkdir()
    with pytest.raises(CheckpointError, match="not a file"):
        read_manifest(tmp_path)
    _, loaded = load_or_train(small_model(), "tiny", lambda m: None, root=tmp_path)
    assert not loaded


def test_a_root_that_does_not_exist_is_refused_before_training(tmp_path):
    trained = []
    with pytest.raises(ValueError, match="no such folder"):
        load_or_train(small_model(), "tiny", trained.append, root=tmp_path / "typo")
    assert trained == []
    with pytest.raises(ValueError, match="no such folder"):
        load_checkpoint("tiny", root=tmp_path / "typo")
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(ValueError, match="not a folder"):
        read_manifest(tmp_path / "a_file")
    _, loaded = load_or_train(small_model(), "tiny", trained.append, root=tmp_path / "new", save=True)
    assert not loaded and len(trained) == 1 and (tmp_path / "new" / "tiny.pt").is_file()
    assert isinstance(CheckpointError("x"), RuntimeError)
