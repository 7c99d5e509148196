"""The shipped models (course_gen.pretrained) and the one recipe that rebuilds them (course_gen.pretrain)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from course_gen import checkpoints, pretrain, pretrained
from course_gen.data import mnist10k

LIKELIHOOD_MODELS = ("pixelcnn", "vae", "realnvp", "realnvp_vardeq")


@pytest.fixture(scope="module")
def binary_test():
    return mnist10k("test", binarize=True)[0]


# ---------------------------------------------------------------------------- shipped weights
@pytest.mark.parametrize("name", pretrained.NAMES)
def test_every_shipped_model_loads_small_and_in_eval_mode(name):
    model = pretrained.load(name, device="cpu")
    assert not model.training
    entry = checkpoints.read_manifest()[name]
    assert entry["bytes"] < 5_000_000
    report = pretrained.report(name)
    assert report["name"] == name and report["steps"] == pretrain.RECIPES[name].steps
    assert report["parameters"] == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", LIKELIHOOD_MODELS)
def test_shipped_weights_reproduce_the_recorded_test_nll(name, binary_test):
    """The numbers in NAME.json come back, within 0.5 nats, from the shipped file."""
    model = pretrained.load(name, device="cpu")
    report = pretrained.report(name)
    measured = pretrain.test_nll_nats(name, model, binary_test)
    for key, value in measured.items():
        assert abs(value - report[f"test_{key}_nats"]) < 0.5, (key, value, report[f"test_{key}_nats"])


def test_shipped_diffusion_model_reproduces_its_recorded_bound(binary_test):
    """The bound in ddpm.json (2,000 digits) comes back from the shipped file on 100 digits, within 4 standard
    errors of the per-image spread, and its terms add up; its timed samples ship as 8-bit levels in [0, 1]."""
    report = pretrained.report("ddpm")
    assert report["test_total_nats"] == pytest.approx(
        report["test_prior_nats"] + report["test_diffusion_nats"] + report["test_decoder_nats"], rel=1e-9)
    terms = pretrained.load("ddpm", device="cpu").negative_elbo(binary_test[:100], n_t=pretrain.DDPM_BOUND_STEPS)
    total = terms["total"]
    assert abs(float(total.mean()) - report["test_total_nats"]) < 4 * float(total.std()) / len(total) ** 0.5
    images = pretrained.samples("ddpm")
    assert images.shape == (pretrain.SAMPLES_TIMED["ddpm"], 1, 28, 28) and 0 <= images.min() <= images.max() <= 1
    assert set(report["sampler_sweep"]) == {"ddpm", "ddim"}


def test_the_lecture_orderings_hold_for_the_shipped_models():
    """Exact NLL < IWAE bound <= ELBO; the flows beat independent pixels (what notebook 07 checks)."""
    pixelcnn, vae = pretrained.report("pixelcnn"), pretrained.report("vae")
    assert pixelcnn["test_nll_nats"] < vae["test_iwae_nats"] <= vae["test_elbo_nats"]
    x_train, x_test = mnist10k("train", binarize=True)[0], mnist10k("test", binarize=True)[0]
    on = x_train.mean(0).clamp(1e-3, 1 - 1e-3)
    independent = float(-(x_test * on.log() + (1 - x_test) * (1 - on).log()).flatten(1).sum(1).mean())
    assert pretrained.report("realnvp_vardeq")["test_bound_nats"] < independent


def test_shipped_classifier_is_accurate():
    report = pretrained.report("mnist_classifier")
    assert report["test_accuracy_grey"] > 0.95 and report["test_accuracy_binary"] > 0.9


@pytest.fixture()
def assets_copy(tmp_path):
    for path in checkpoints.assets_dir().iterdir():
        if path.suffix in (".pt", ".json"):
            shutil.copy(path, tmp_path / path.name)
    return tmp_path


def test_altered_or_missing_weights_are_refused_with_the_rebuild_command(assets_copy):
    weights = assets_copy / "vae.pt"
    data = bytearray(weights.read_bytes())
    data[-100] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(checkpoints.CheckpointError, match=r"fails its sha256 check(.|\n)*python -m course_gen.pretrain vae"):
        pretrained.load("vae", root=assets_copy)
    weights.unlink()
    with pytest.raises(checkpoints.CheckpointError, match=r"missing(.|\n)*python -m course_gen.pretrain vae"):
        pretrained.load("vae", root=assets_copy)
    assert not pretrained.load("pixelcnn", root=assets_copy, device="cpu").training  # the others still load


def test_unknown_name():
    with pytest.raises(ValueError, match=r"unknown pretrained model name 'gan': expected one of 'pixelcnn'"):
        pretrained.load("gan")
    with pytest.raises(ValueError, match="unknown pretrained model name"):
        pretrained.build("PixelCNN")


def test_build_is_seeded_and_leaves_the_global_random_state_alone():
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    a, b, c = pretrained.build("vae", seed=1), pretrained.build("vae", seed=1), pretrained.build("vae", seed=2)
    assert torch.equal(torch.random.get_rng_state(), before)
    first = next(a.parameters())
    assert torch.equal(first, next(b.parameters())) and not torch.equal(first, next(c.parameters()))


# ---------------------------------------------------------------------------- the recipe's data split
def test_global_batches_split_evenly_and_cover_each_epoch():
    data = torch.arange(20)
    single = list(pretrain.GlobalBatches(data, batch_size=4, seed=3))
    shares = [list(pretrain.GlobalBatches(data, batch_size=4, seed=3, rank=r, world=2)) for r in range(2)]
    assert len(single) == 5
    for t, batch in enumerate(single):
        assert torch.equal(torch.cat([shares[0][t], shares[1][t]]), batch)  # the processes' shares make the global batch
    assert sorted(torch.cat(single).tolist()) == list(range(20))  # one epoch sees every row once
    batches = pretrain.GlobalBatches(data, batch_size=4, seed=3)
    assert not torch.equal(torch.cat(list(batches)), torch.cat(list(batches)))  # a new order every epoch
    with pytest.raises(ValueError, match="must split evenly between 3 processes"):
        pretrain.GlobalBatches(data, batch_size=4, world=3)


def test_sharded_gan_trainer_on_one_process_is_the_gan_trainer():
    from course_gen.gan import GANTrainer, dcgan

    images = mnist10k("test")[0][:256]
    results = []
    for cls in (GANTrainer, pretrain.ShardedGANTrainer):
        generator, discriminator = dcgan(image_size=28, latent_dim=8, width=8, seed=0)
        torch.manual_seed(0)
        cls(generator, discriminator, images, batch_size=16, device="cpu", seed=0).run(3)
        results.append(torch.cat([p.detach().flatten() for p in generator.parameters()]))
    assert torch.equal(*results)


# ---------------------------------------------------------------------------- the command line, 1 and 2 processes
def _run(args, tmp_path, env_extra=None):
    import os

    env = dict(os.environ, OMP_NUM_THREADS="1", TQDM_DISABLE="1", COURSE_GEN_DEVICE="cpu", **(env_extra or {}))
    result = subprocess.run(args, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def test_ddp_with_two_gloo_processes_matches_one_process(tmp_path):
    """torchrun --nproc_per_node=2 trains the same parameters as one process on the same global batches,
    and only rank 0 writes files."""
    common = ["-m", "course_gen.pretrain", "pixelcnn", "--steps", "3", "--skip-eval"]
    _run([sys.executable, *common, "--out", str(tmp_path / "one")], tmp_path)
    _run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", *common,
          "--out", str(tmp_path / "two")], tmp_path)
    one = checkpoints.load_checkpoint("pixelcnn", root=tmp_path / "one")
    two = checkpoints.load_checkpoint("pixelcnn", root=tmp_path / "two")
    assert set(one) == set(two)
    worst = max(float((one[key].float() - two[key].float()).abs().max()) for key in one)
    assert worst < 1e-5, f"DDP and single-process parameters differ by {worst}"
    moved = max(float((one[key].float() - pretrained.build("pixelcnn").state_dict()[key].float()).abs().max()) for key in one)
    assert moved > 1e-3  # three Adam steps did change the weights
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == ["checkpoints.json", "pixelcnn.json", "pixelcnn.pt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one", "two"]  # nothing written elsewhere
    report = json.loads((tmp_path / "two" / "pixelcnn.json").read_text())
    assert report["world_size"] == 2 and report["steps"] == 3 and report["device"] == "cpu"


def test_command_line_errors(tmp_path):
    for args, message in [(["nope"], "invalid choice: 'nope'"), (["vae", "--steps", "0"], "--steps must be >= 1"),
                          (["vae", "--seed", "-1"], "--seed must be >= 0")]:
        result = subprocess.run([sys.executable, "-m", "course_gen.pretrain", *args], capture_output=True, text=True,
                                cwd=tmp_path, timeout=120)
        assert result.returncode == 2 and message in result.stderr


def test_short_run_is_seeded():
    """Notebook 07's stability column: the same seed gives the same score, another seed another one."""
    first, again, other = (pretrain.short_run("vae", 3, seed, n_test=50) for seed in (0, 0, 1))
    assert first == again and first != other
    assert 400 < first < 600  # three steps from scratch: far from trained (about 110 nats), far below 784 ln 2


def test_test_nll_refuses_a_model_without_likelihood():
    with pytest.raises(ValueError, match="'dcgan' is not a likelihood model"):
        pretrain.test_nll_nats("dcgan", pretrained.build("dcgan"), torch.zeros(2, 1, 28, 28))


def test_shipped_stability_runs_hold_three_seeds_per_family_and_the_gan_spreads_most():
    runs = pretrain.stability_runs()
    assert set(runs) == set(pretrain.STABILITY_FAMILIES)
    spread = {name: float(np.std(values, ddof=1) / np.mean(values)) for name, values in runs.items()}
    assert all(len(values) == len(pretrain.STABILITY_SEEDS) and np.all(np.isfinite(values)) for values in runs.values())
    assert spread["dcgan"] > 5 * max(spread[name] for name in ("pixelcnn", "vae", "realnvp"))
