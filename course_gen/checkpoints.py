"""Shipped model weights, checked against a sha256 manifest.

Weights live in ``assets/`` next to the package (or ``$COURSE_GEN_ASSETS``) as
``NAME.pt`` files holding a plain ``state_dict``; ``assets/checkpoints.json`` records
each file's sha256 and size. Loading verifies the hash and uses ``torch.load`` with
``weights_only=True``, so a tampered or foreign file is refused rather than executed.

    >>> model, loaded = load_or_train(VAE(), "vae_mnist", lambda m: train(m, x, steps=2000))  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path

import torch
from torch import nn

from course_gen._checks import check_bool

__all__ = [
    "ASSETS_DIR",
    "CheckpointError",
    "MANIFEST_NAME",
    "assets_dir",
    "load_checkpoint",
    "load_or_train",
    "read_manifest",
    "save_checkpoint",
    "sha256_file",
]

MANIFEST_NAME = "checkpoints.json"
_DEFAULT_ASSETS = Path(__file__).resolve().parent.parent / "assets"
#: Where checkpoints live: ``$COURSE_GEN_ASSETS`` if set when the module was imported,
#: else ``assets/`` beside the package. Every function also takes ``root=``.
ASSETS_DIR: Path = Path(os.environ["COURSE_GEN_ASSETS"]) if os.environ.get("COURSE_GEN_ASSETS") else _DEFAULT_ASSETS
_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


class CheckpointError(RuntimeError, ValueError):
    """A checkpoint is unknown, missing, altered, unreadable or does not fit the model.

    A ``RuntimeError`` as before, and a ``ValueError``: the name, folder or manifest given does not
    lead to usable weights (``except ValueError`` catches it like any other bad argument)."""


def assets_dir(root=None) -> Path:
    """The checkpoint folder: ``root`` if given, else ``$COURSE_GEN_ASSETS``, else :data:`ASSETS_DIR`."""
    if root is not None:
        if not isinstance(root, (str, os.PathLike)):
            raise TypeError(f"root must be a path or None, got {type(root).__name__}")
        return Path(root)
    from_env = os.environ.get("COURSE_GEN_ASSETS", "").strip()
    return Path(from_env) if from_env else ASSETS_DIR


def sha256_file(path) -> str:
    """Hex sha256 digest of the file at ``path``, read in 1 MiB chunks."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no file at {path}")
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check_name(name) -> str:
    if not isinstance(name, str):
        raise TypeError(f"checkpoint name must be a str, got {type(name).__name__}")
    if not _NAME_PATTERN.fullmatch(name):
        raise ValueError(
            f"invalid checkpoint name {name!r}: use letters, digits, '_', '-' and '.' only, "
            "starting with a letter or digit"
        )
    return name


def _existing_folder(root) -> Path:
    """:func:`assets_dir` of ``root``; a ``root`` given explicitly must be an existing folder
    (``ValueError`` otherwise: a typo must not silently mean "no checkpoints")."""
    folder = assets_dir(root)
    if root is not None and not folder.is_dir():
        what = "a file, not a folder" if folder.exists() else "no such folder"
        raise ValueError(f"root {str(root)!r}: {what}; expected the folder that holds {MANIFEST_NAME}")
    return folder


def read_manifest(root=None) -> dict[str, dict]:
    """The manifest ``{name: {"file", "sha256", "bytes", "note"}}``; empty if there is none.

    ``ValueError`` when ``root`` is given but is not a folder; :class:`CheckpointError` when the
    manifest is a folder, unreadable, not UTF-8, not JSON or not a JSON object."""
    path = _existing_folder(root) / MANIFEST_NAME
    if not path.exists():
        return {}
    if not path.is_file():
        raise CheckpointError(f"the manifest {path} is not a file (a folder?): expected a JSON file")
    try:
        manifest = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as err:
        raise CheckpointError(f"the manifest {path} is not UTF-8 text: {err}") from err
    except OSError as err:
        raise CheckpointError(f"the manifest {path} cannot be read: {err}") from err
    except json.JSONDecodeError as err:
        raise CheckpointError(f"the manifest {path} is not valid JSON: {err}") from err
    if not isinstance(manifest, dict):
        raise CheckpointError(f"the manifest {path} should hold a JSON object, got {type(manifest).__name__}")
    return manifest


def _write_manifest(manifest: Mapping, root: Path) -> None:
    """Write sorted, indented JSON (stable diffs) through a temporary file."""
    path = root / MANIFEST_NAME
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _cpu_state_dict(model_or_state_dict) -> dict:
    if isinstance(model_or_state_dict, nn.Module):
        state = model_or_state_dict.state_dict()
    elif isinstance(model_or_state_dict, Mapping):
        state = model_or_state_dict
    else:
        raise TypeError(
            "save_checkpoint expects an nn.Module or a state_dict (a mapping of names to "
            f"tensors), got {type(model_or_state_dict).__name__}"
        )
    return {
        key: value.detach().cpu() if isinstance(value, torch.Tensor) else value
        for key, value in state.items()
    }


def save_checkpoint(model_or_state_dict, name: str, root=None, note: str = "", half: bool = False) -> Path:
    """Save a model's ``state_dict`` (on cpu) to ``root/NAME.pt`` and record its sha256.

    ``half=True`` stores floating-point tensors in float16: half the file, and loading casts them back to
    the model's dtype (fine for the course's small models, whose outputs move in the 4th digit).
    Returns the path of the written file.
    """
    _check_name(name)
    if not isinstance(note, str):
        raise TypeError(f"note must be a str, got {type(note).__name__}")
    check_bool("half", half)
    state = _cpu_state_dict(model_or_state_dict)
    if half:
        state = {key: value.half() if value.is_floating_point() else value for key, value in state.items()}
    folder = assets_dir(root)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.pt"
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)
    manifest = read_manifest(folder)
    manifest[name] = {
        "file": path.name,
        "sha256": sha256_file(path),
        "bytes": path.stat().st_size,
        "note": note,
    }
    _write_manifest(manifest, folder)
    return path


def _manifest_entry(manifest: Mapping, name: str, folder: Path) -> tuple[str, str]:
    """``(file name, sha256)`` of ``name``'s manifest entry, checked to be usable."""
    if name not in manifest:
        available = ", ".join(sorted(manifest)) or "none"
        raise CheckpointError(
            f"no checkpoint named {name!r} in {folder / MANIFEST_NAME}; available: {available}"
        )
    entry = manifest[name]
    if not isinstance(entry, Mapping):
        raise CheckpointError(
            f"checkpoint {name!r}: its entry in {folder / MANIFEST_NAME} should be an object with "
            f"'file' and 'sha256', got {type(entry).__name__} {str(entry)[:60]!r}"
        )
    file_name, expected = entry.get("file", f"{name}.pt"), entry.get("sha256")
    if not isinstance(file_name, str) or not file_name or Path(file_name).name != file_name or file_name in (".", ".."):
        raise CheckpointError(f"checkpoint {name!r}: manifest file {file_name!r} must be a bare file name")
    if not isinstance(expected, str):
        raise CheckpointError(f"checkpoint {name!r}: its manifest entry has no sha256 string, got {expected!r}")
    return file_name, expected


def _verified_path(name: str, root) -> Path:
    """The checkpoint file, after checking it is listed, present and unaltered."""
    folder = _existing_folder(root)
    file_name, expected = _manifest_entry(read_manifest(root), name, folder)
    path = folder / file_name
    if not path.is_file():
        raise CheckpointError(
            f"checkpoint {name!r} is listed but its file {path} is missing; "
            "the notebook can train the model instead"
        )
    got = sha256_file(path)
    if expected != got:
        raise CheckpointError(
            f"checkpoint {name!r} at {path} fails its sha256 check: "
            f"expected {expected}, got {got}; the file was altered or is incomplete"
        )
    return path


def _without_subnormals(state: Mapping) -> dict:
    """``state`` with subnormal floats (|x| < the dtype's smallest normal, not 0) set to 0: they carry nothing a
    model can use, yet a CPU computes with them many times slower (the shipped digit classifier held 19,925,
    which made its forward pass 5 times slower)."""
    cleaned = {}
    for key, value in state.items():
        if isinstance(value, torch.Tensor) and value.is_floating_point():
            value = torch.where(value.abs() < torch.finfo(value.dtype).tiny, torch.zeros_like(value), value)
        cleaned[key] = value
    return cleaned


def _load_into(model: nn.Module, state: Mapping, name: str) -> nn.Module:
    state = _without_subnormals(state)
    expected, found = set(model.state_dict()), set(state)
    missing, unexpected = sorted(expected - found), sorted(found - expected)
    if missing or unexpected:
        raise CheckpointError(
            f"checkpoint {name!r} does not fit {type(model).__name__}: "
            f"missing keys {missing}, unexpected keys {unexpected}"
        )
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise CheckpointError(
            f"checkpoint {name!r} does not fit {type(model).__name__}: {err}"
        ) from err
    return model


def load_checkpoint(name: str, model: nn.Module | None = None, root=None, map_location="cpu"):
    """Load checkpoint ``name`` after checking its sha256 against the manifest.

    Loads with ``torch.load(..., weights_only=True)``. With ``model`` the weights are
    loaded into it (strict: every key must match; subnormal floats become 0) and the model is returned; without,
    the ``state_dict`` is returned. Raises :class:`CheckpointError` when the name is
    unknown, the file is missing or altered, cannot be loaded safely, or does not fit.
    """
    _check_name(name)
    if model is not None and not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module or None, got {type(model).__name__}")
    path = _verified_path(name, root)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # UnpicklingError, RuntimeError, EOFError, ...
        raise CheckpointError(
            f"checkpoint {name!r} at {path} could not be loaded as plain weights "
            f"(weights_only=True): {type(err).__name__}: {err}"
        ) from err
    if not isinstance(state, Mapping):
        raise CheckpointError(
            f"checkpoint {name!r} holds a {type(state).__name__}, expected a state_dict"
        )
    return state if model is None else _load_into(model, state, name)


def load_or_train(
    model: nn.Module,
    name: str,
    train_fn: Callable[[nn.Module], object],
    root=None,
    save: bool = False,
    retrain: bool = False,
    note: str = "",
    half: bool = False,
) -> tuple[nn.Module, bool]:
    """Load checkpoint ``name`` into ``model``, or train it with ``train_fn(model)``.

    When loading fails a one-line note says why, then ``train_fn(model)`` runs (if it
    returns an ``nn.Module``, that module is used); with ``save=True`` the trained weights
    are saved under ``name``. ``retrain=True`` (a notebook's ``RETRAIN`` switch) skips loading:
    it trains and saves, replacing the shipped file. ``note`` goes into the manifest with the saved
    weights (say how they were made), ``half`` stores them in float16 (:func:`save_checkpoint`).
    A ``root`` that is not an existing folder raises ``ValueError`` (a mistyped path must not start a
    long training run), unless the weights are to be saved there. Returns ``(model, loaded)``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    if not callable(train_fn):
        raise TypeError(f"train_fn must be callable as train_fn(model), got {type(train_fn).__name__}")
    _check_name(name)
    save, retrain, half = check_bool("save", save), check_bool("retrain", retrain), check_bool("half", half)
    if not isinstance(note, str):
        raise TypeError(f"note must be a str, got {type(note).__name__}")
    if retrain:
        save = True
    elif root is not None and not assets_dir(root).is_dir() and save:
        print(f"[course_gen] training {type(model).__name__}: no folder {root} to load from yet")
    else:
        _existing_folder(root)  # a mistyped root must not mean "train for minutes"
        try:
            return load_checkpoint(name, model, root=root), True
        except CheckpointError as err:
            reason = str(err).splitlines()[0]
            print(f"[course_gen] training {type(model).__name__} instead of loading: {reason}")
    result = train_fn(model)
    if isinstance(result, nn.Module):
        model = result
    if save:
        save_checkpoint(model, name, root=root, note=note, half=half)
    return model, False
