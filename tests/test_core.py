"""course_gen's contract: device(), seed_everything(), FAST."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import course_gen


def run_python(code: str, **env: str) -> str:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("COURSE_GEN_")}
    full_env.update(env)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full_env)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_device_honours_environment_variable():
    assert run_python("import course_gen; print(course_gen.device())", COURSE_GEN_DEVICE="cpu") == "cpu"


def test_device_default_prefers_cuda_when_available():
    expected = "cuda" if torch.cuda.is_available() else None
    got = course_gen.device()
    if expected:
        assert got.type == "cuda"
    else:
        assert got.type in {"mps", "cpu"}


def test_device_rejects_unknown_name():
    with pytest.raises(ValueError, match="unknown device 'gpu0'"):
        course_gen.device("gpu0")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_device_unavailable_cuda_is_a_clear_error():
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        course_gen.device("cuda")


@pytest.mark.parametrize("value, expected", [("1", "True"), ("0", "False"), ("", "False"), ("true", "True")])
def test_fast_flag_follows_environment(value, expected):
    assert run_python("import course_gen; print(course_gen.FAST)", COURSE_GEN_FAST=value) == expected


def test_fast_or_full_picks_by_mode():
    code = "import course_gen; print(course_gen.fast_or_full(10, 1000))"
    assert run_python(code, COURSE_GEN_FAST="1") == "10"
    assert run_python(code, COURSE_GEN_FAST="0") == "1000"


def draw_all():
    import random

    return random.random(), np.random.rand(), torch.rand(1).item()


def test_seed_everything_makes_every_generator_repeat():
    course_gen.seed_everything(123)
    first = draw_all()
    course_gen.seed_everything(123)
    assert draw_all() == first
    course_gen.seed_everything(124)
    assert draw_all() != first


def test_seed_everything_returns_a_seeded_generator():
    a = torch.rand(3, generator=course_gen.seed_everything(7))
    b = torch.rand(3, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a, b)


@pytest.mark.parametrize("bad, error", [(1.5, TypeError), ("3", TypeError), (True, TypeError), (-1, ValueError), (2**32, ValueError)])
def test_seed_everything_rejects_bad_seeds(bad, error):
    with pytest.raises(error, match="seed must be"):
        course_gen.seed_everything(bad)


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        course_gen.nonexistent  # noqa: B018


def test_notebook_setup_seeds_limits_threads_and_returns_the_device(capsys):
    old_threads = torch.get_num_threads()
    try:
        dev = course_gen.notebook_setup(seed=3, threads=1)
        first = torch.rand(3)
        assert torch.get_num_threads() == 1
        assert dev == course_gen.device()
        assert "fast mode" in capsys.readouterr().out
        course_gen.notebook_setup(seed=3, threads=None)
        assert torch.equal(torch.rand(3), first)
        with pytest.raises(ValueError, match="threads"):
            course_gen.notebook_setup(threads=0)
    finally:
        torch.set_num_threads(old_threads)


def test_runtime_helpers_restore_what_they_change():
    from course_gen import runtime

    threads = torch.get_num_threads()
    with runtime.single_thread():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == threads

    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout(0.5))
    model.train()
    with pytest.raises(RuntimeError):
        with runtime.evaluating(model):
            assert not model.training
            raise RuntimeError("an error inside the block")
    assert model.training, "evaluating() must restore training mode even after an error"

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    with runtime.seeded(7):
        inside = torch.rand(2)
    assert torch.equal(torch.rand(3), expected), "seeded() must leave the caller's stream where it was"
    with runtime.seeded(7):
        assert torch.equal(torch.rand(2), inside)

    assert runtime.model_device(model) == torch.device("cpu")
    assert runtime.model_device(torch.nn.ReLU()) == torch.device("cpu")
    with pytest.raises(TypeError, match="torch.nn.Module"):
        runtime.model_device("not a model")
    with pytest.raises(TypeError, match="device must be"):
        runtime.resolve_device(3)
