"""Train a shipped model from scratch: the one recipe per model, on one process or data-parallel.

    python -m course_gen.pretrain NAME [--steps N] [--seed S] [--device D] [--out DIR]
    torchrun --nproc_per_node=4 -m course_gen.pretrain NAME       # DDP: gloo on CPU, nccl on CUDA

``NAME`` is one of :data:`course_gen.pretrained.NAMES`. The run writes, in ``--out`` (default
``assets/``): ``NAME.pt`` (the weights, listed with their sha256 in ``checkpoints.json``) and
``NAME.json`` (what it measured on the 2,000 test digits: test NLL or its bound for the likelihood
models, FID for the GAN, accuracy for the classifier; training and sampling time; steps, seed,
device, world size, torch version). Under ``torchrun`` only rank 0 evaluates and writes.

The recipes (:data:`RECIPES`) give every model the same budget: 2,000 optimiser steps of 64 images
from the 8,000 training digits (16 epochs), Adam; the likelihood models see the fixed binarisation
(``mnist10k(binarize=True)``), the GAN and the classifier the grey levels. Data-parallel training
splits each global batch of 64 between the processes, so the optimiser sees the same batches
whatever the number of processes: step ``t`` uses the ``t``-th slice of 64 of a seeded permutation
of the training set (a new permutation every epoch); process ``r`` of ``W`` takes rows
``r * 64 / W`` to ``(r + 1) * 64 / W`` of it, and DDP averages the gradients.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn

from course_gen import checkpoints, pretrained
from course_gen._checks import check_bool, check_choice, check_int, check_seed, check_tensor
from course_gen.gan import DCGANDiscriminator, GANTrainer
from course_gen.runtime import env_flag, evaluating, model_device, resolve_device, seed_everything, seeded
from course_gen.train import MAX_STEPS, to_device, train

__all__ = ["RECIPES", "STABILITY_FAMILIES", "GlobalBatches", "Recipe", "ShardedGANTrainer", "evaluate", "main", "short_run",
           "stability_runs", "test_nll_nats"]

TEST_SAMPLE_SEED = 0
#: The shipped models with a likelihood (or a bound on it): :func:`test_nll_nats` scores them.
LIKELIHOOD_MODELS = ("pixelcnn", "vae", "realnvp", "realnvp_vardeq", "ddpm")


@dataclass(frozen=True)
class Recipe:
    """How one shipped model is trained: ``steps`` Adam steps on batches of ``batch_size`` images."""

    binarize: bool  # the training images: the fixed binarisation, or grey levels
    with_labels: bool = False
    steps: int = 2000
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    grad_clip: float | None = None
    description: str = ""


RECIPES: dict[str, Recipe] = {
    "pixelcnn": Recipe(binarize=True, description="exact log-likelihood, maximised"),
    "vae": Recipe(binarize=True, description="negative ELBO (one reparameterised sample), minimised"),
    "realnvp": Recipe(binarize=True, description="uniform-dequantisation bound, maximised"),
    "realnvp_vardeq": Recipe(binarize=True, description="variational-dequantisation bound, maximised"),
    "dcgan": Recipe(binarize=False, lr=2e-4,
                    description="non-saturating GAN, k = 1, Adam(0.5, 0.999) for both players"),
    "ddpm": Recipe(binarize=True, steps=4000, lr=5e-4, grad_clip=1.0,
                   description="simple noise-prediction loss (Ho et al.), t uniform in 1..1000; twice the "
                               "others' steps, less time than PixelCNN's"),
    "mnist_classifier": Recipe(binarize=False, with_labels=True, lr=2e-3, weight_decay=1e-4,
                               description="cross-entropy on grey and binarised, shifted digits"),
}


# ============================================================================ data, one global batch at a time


class GlobalBatches:
    """One epoch of seeded global batches, this process's share of each (re-iterable: a new epoch each time).

    Epoch ``e`` shuffles the rows with ``torch.randperm`` of a generator seeded by ``seed`` (its state
    carries over between epochs); global batch ``t`` is rows ``t * B .. (t + 1) * B - 1`` of that
    permutation and process ``rank`` of ``world`` keeps its ``B / world`` consecutive rows.
    Incomplete last batches are dropped, so every step averages the same number of examples.
    """

    def __init__(self, data, batch_size: int, seed: int = 0, rank: int = 0, world: int = 1):
        self.data = data if isinstance(data, (tuple, list)) else (data,)
        self.batch_size = check_int("batch_size", batch_size, minimum=1)
        self.world = check_int("world", world, minimum=1)
        self.rank = check_int("rank", rank, minimum=0, maximum=world - 1)
        if self.batch_size % self.world:
            raise ValueError(f"the global batch ({batch_size}) must split evenly between {world} processes")
        self.generator = torch.Generator().manual_seed(seed)
        self.single = not isinstance(data, (tuple, list))

    def __len__(self) -> int:
        return len(self.data[0]) // self.batch_size

    def __iter__(self):
        order = torch.randperm(len(self.data[0]), generator=self.generator)
        share = self.batch_size // self.world
        for t in range(len(self)):
            index = order[t * self.batch_size + self.rank * share:t * self.batch_size + (self.rank + 1) * share]
            batch = tuple(tensor[index] for tensor in self.data)
            yield batch[0] if self.single else batch

    def first(self) -> torch.Tensor | tuple:
        """The first global batch (all processes' shares) of a fresh permutation, for data-dependent initialisation."""
        order = torch.randperm(len(self.data[0]), generator=torch.Generator().manual_seed(self.generator.initial_seed()))
        batch = tuple(tensor[order[:self.batch_size]] for tensor in self.data)
        return batch[0] if self.single else batch


class _LossForward(nn.Module):
    """``forward(batch) = model.loss(batch)``, so that DistributedDataParallel sees the loss as a forward pass."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, batch):
        return self.model.loss(batch)


class _DataParallelLoss(nn.Module):
    """What :func:`course_gen.train.train` trains under torchrun: ``loss`` runs through DDP (gradients averaged)."""

    def __init__(self, model: nn.Module, device: torch.device):
        super().__init__()
        from torch.nn.parallel import DistributedDataParallel

        ids = [device.index] if device.type == "cuda" else None
        self.ddp = DistributedDataParallel(_LossForward(model), device_ids=ids)

    def loss(self, batch):
        return self.ddp(batch)


class _AveragedOptimizer:
    """An optimiser whose ``step`` first averages the gradients over the processes (all-reduce)."""

    def __init__(self, optimizer: torch.optim.Optimizer, world: int):
        self.optimizer, self.world = optimizer, world
        self.param_groups = optimizer.param_groups

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def step(self) -> None:
        for group in self.optimizer.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    dist.all_reduce(p.grad)
                    p.grad /= self.world
        self.optimizer.step()


# ============================================================================ training


def _training_data(name: str):
    from course_gen.data import mnist10k

    recipe = RECIPES[name]
    images, labels = mnist10k("train", binarize=recipe.binarize)
    return (images, labels) if recipe.with_labels else images


def _initialise_data_dependent(model: nn.Module, first_batch) -> None:
    """One forward pass on the first global batch, so that layers with data-dependent initialisation
    (ActNorm) start the same on every process."""
    with torch.no_grad():
        model.loss(first_batch)


def _train_likelihood(name, model, device, seed, steps, rank=0, world=1, batch_size=None,
                      progress=True) -> tuple[float, float]:
    """Train a model with a ``loss`` (likelihood models, the classifier); returns (seconds, final loss)."""
    recipe = RECIPES[name]
    batches = GlobalBatches(_training_data(name), batch_size or recipe.batch_size, seed, rank, world)
    model.to(device)
    _initialise_data_dependent(model, to_device(batches.first(), device))
    trainee = model if world == 1 else _DataParallelLoss(model, device)
    history = train(trainee, batches, steps=steps, lr=recipe.lr, weight_decay=recipe.weight_decay,
                    grad_clip=recipe.grad_clip, device=device,
                    seed=seed + rank, progress=progress and rank == 0, desc=f"pretrain {name}")
    return history.seconds, history.last(100)


class ShardedGANTrainer(GANTrainer):
    """:class:`~course_gen.gan.GANTrainer` for process ``rank`` of ``world``: every process draws the same
    global batch of real images and noise and keeps its share; the players' gradients are averaged over
    the processes before each step. On one process it is exactly ``GANTrainer``."""

    def __init__(self, *args, rank: int = 0, world: int = 1, **kwargs):
        super().__init__(*args, **kwargs)
        self.rank, self.world = rank, world
        if self.batch_size % world:
            raise ValueError(f"the global batch ({self.batch_size}) must split evenly between {world} processes")
        if world > 1:
            self.opt_g = _AveragedOptimizer(self.opt_g, world)
            self.opt_d = _AveragedOptimizer(self.opt_d, world)

    def _share(self, rows: torch.Tensor) -> torch.Tensor:
        share = len(rows) // self.world
        return rows[self.rank * share:(self.rank + 1) * share]

    def _real_batch(self) -> torch.Tensor:
        index = torch.randint(len(self.data), (self.batch_size,), generator=self.random)
        return self.data[self._share(index).to(self.device)]

    def _noise(self) -> torch.Tensor:
        z = torch.randn(self.batch_size, self.generator.latent_dim, generator=self.random)
        return self._share(z).to(self.device)


def _train_gan(name, generator, device, seed, steps, rank=0, world=1, batch_size=None,
               progress=True) -> tuple[float, float]:
    """Train the DCGAN (its discriminator seeded by ``seed + 1``); returns (seconds, final generator loss)."""
    from tqdm.auto import tqdm

    recipe = RECIPES[name]
    with seeded(seed + 1):
        discriminator = DCGANDiscriminator(image_size=generator.image_size, width=32)
    seed_everything(seed)  # the run's own draws (a script's first line; the notebooks load the results)
    trainer = ShardedGANTrainer(generator, discriminator, _training_data(name), batch_size=batch_size or recipe.batch_size,
                                lr_g=recipe.lr, lr_d=recipe.lr, device=device, seed=seed, rank=rank, world=world)
    hidden = not progress or rank != 0 or env_flag("TQDM_DISABLE")
    with tqdm(total=steps, desc=f"pretrain {name}", disable=hidden) as bar:
        history = trainer.run(steps, callback=lambda step, history: bar.update(1))
    return history.seconds, sum(history.loss[-100:]) / len(history.loss[-100:])


# ============================================================================ evaluation


@torch.no_grad()
def test_nll_nats(name: str, model: nn.Module, x: torch.Tensor, n_samples: int = 4, batch_size: int = 500,
                  seed: int = 0, iwae_k: int | None = 1000) -> dict[str, float]:
    """Mean negative log-likelihood (or its bound) of binary test images ``x`` in nats per image.

    ``pixelcnn``: exact, ``{"nll"}``. ``vae``: ``{"elbo", "iwae"}``, the negative ELBO (``n_samples`` draws)
    and the negative IWAE bound with ``k = iwae_k`` (both upper bounds on the NLL; None skips IWAE).
    ``realnvp*``: ``{"bound"}``, the negative dequantisation bound (``n_samples`` noise draws), an upper
    bound on the NLL. ``ddpm``: ``{"total", "prior", "diffusion", "decoder"}``, the negative ELBO and its
    terms L_T, sum L_{t-1} (:data:`DDPM_BOUND_STEPS` steps t per image) and L_0. Seeded: the same call gives the same numbers. The model is in eval mode for the
    call and back in its own mode after.
    """
    if name not in LIKELIHOOD_MODELS:
        raise ValueError(f"{name!r} is not a likelihood model: expected {', '.join(LIKELIHOOD_MODELS)}")
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    check_tensor("x", x, ndim=4, dtype="float", low=0.0, high=1.0, what="(binary test images (n, 1, 28, 28))")
    if len(x) == 0:
        raise ValueError("x holds no images")
    n_samples = check_int("n_samples", n_samples, minimum=1, maximum=10_000)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    check_seed(seed)
    if iwae_k is not None:
        iwae_k = check_int("iwae_k", iwae_k, minimum=1, maximum=100_000)
    device = model_device(model)
    chunks = [x[i:i + batch_size].to(device) for i in range(0, len(x), batch_size)]
    with evaluating(model):
        return _nll(name, model, x, chunks, n_samples, batch_size, seed, iwae_k)


def _nll(name, model, x, chunks, n_samples, batch_size, seed, iwae_k) -> dict[str, float]:
    from course_gen import flows, vae

    if name == "pixelcnn":
        return {"nll": -float(torch.cat([model.log_prob(c) for c in chunks]).mean())}
    if name == "vae":
        elbo = torch.cat([model.elbo(c, n_samples=n_samples, seed=seed + i).elbo for i, c in enumerate(chunks)])
        if iwae_k is None:
            return {"elbo": -float(elbo.mean())}
        iwae = torch.cat([vae.iwae_bound(model, c, k=iwae_k, seed=seed + i) for i, c in enumerate(chunks)])
        return {"elbo": -float(elbo.mean()), "iwae": -float(iwae.mean())}
    if name == "ddpm":
        terms = [model.negative_elbo(c, n_t=DDPM_BOUND_STEPS, seed=seed + i) for i, c in enumerate(chunks)]
        return {key: float(torch.cat([t[key] for t in terms]).mean()) for key in ("total", "prior", "diffusion", "decoder")}
    if name.startswith("realnvp"):
        bpd = flows.dequantized_bits_per_dim(model, x, n_samples=n_samples, seed=seed, batch_size=batch_size)
        return {"bound": bpd * model.n_dims * math.log(2)}
    raise AssertionError(name)  # test_nll_nats checked it


def _sample(name: str, model: nn.Module, n: int, seed: int) -> torch.Tensor:
    """``n`` images (n, 1, 28, 28) in [0, 1] from a shipped generative model."""
    if name == "pixelcnn":
        return model.sample(n, shape=(28, 28), seed=seed)
    if name == "vae":
        return model.sample(n, seed=seed).reshape(n, 1, 28, 28)
    if name == "ddpm":
        return model.sample(n, steps=DDPM_SAMPLE_STEPS, sampler="ddim", seed=seed)
    return model.sample(n, seed=seed)


#: How many images the recipe draws to time sampling (PixelCNN's are kept: ``pixelcnn_samples``,
#: since drawing them takes minutes: one network evaluation per pixel).
SAMPLES_TIMED = {"pixelcnn": 500, "ddpm": 500}
#: The diffusion model's bound samples this many steps t per test image; its shipped samples take this many DDIM steps.
DDPM_BOUND_STEPS = 20
DDPM_SAMPLE_STEPS = 50
#: The sampler sweep of the diffusion model (notebook 08): FID of 500 samples per sampler and number of steps.
DDPM_SWEEP_STEPS = (5, 10, 20, 50, 100)


def sampler_sweep(model: nn.Module, real_images: torch.Tensor, classifier: nn.Module, n: int = 500,
                  steps: tuple[int, ...] = DDPM_SWEEP_STEPS, seed: int = 1) -> dict[str, dict[str, dict[str, float]]]:
    """FID (and KID, precision, recall) of ``n`` samples of a :class:`~course_gen.diffusion.DDPM` against
    ``real_images``, and the seconds per image, for each sampler ("ddpm", "ddim") and number of steps:
    ``{sampler: {str(steps): {"FID", "KID", "precision", "recall", "seconds_per_image"}}}``. The same
    noise x_T (``seed``) starts every run."""
    from course_gen.classifier import digits_scores
    from course_gen.diffusion import SAMPLERS

    sweep: dict[str, dict[str, dict[str, float]]] = {}
    for sampler in SAMPLERS:
        sweep[sampler] = {}
        for count in steps:
            start = time.perf_counter()
            images = model.sample(n, steps=count, sampler=sampler, seed=seed)
            seconds = (time.perf_counter() - start) / n
            scores = digits_scores(images, real_images, classifier)
            sweep[sampler][str(count)] = {**{k: scores[k] for k in ("FID", "KID", "precision", "recall")},
                                          "seconds_per_image": seconds}
    return sweep


def evaluate(name: str, model: nn.Module, root=None) -> tuple[dict, torch.Tensor | None]:
    """What the JSON records about a trained model on the 2,000 test digits (see the module docstring),
    and the images drawn to time sampling (None for the classifier). ``root``: where the classifier is."""
    from course_gen.classifier import accuracy
    from course_gen.data import mnist10k

    check_choice("pretrained model name", name, pretrained.NAMES)
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")

    x_grey, labels = mnist10k("test")
    x_binary, _ = mnist10k("test", binarize=True)
    if name == "mnist_classifier":
        return {"test_accuracy_grey": accuracy(model, x_grey, labels),
                "test_accuracy_binary": accuracy(model, x_binary, labels)}, None
    n_timed = SAMPLES_TIMED.get(name, 1000)
    start = time.perf_counter()
    images = _sample(name, model, n_timed, TEST_SAMPLE_SEED)
    result = {"sample_seconds_per_image": (time.perf_counter() - start) / n_timed, "sample_batch": n_timed,
              "sample_threads": torch.get_num_threads()}
    if name == "dcgan":
        from course_gen.classifier import digits_scores

        scores = digits_scores(images.cpu(), x_grey, pretrained.load("mnist_classifier", device="cpu", root=root))
        return {**result, **{f"test_{key}": value for key, value in scores.items()}}, images
    nll = test_nll_nats(name, model, x_binary)
    if name == "ddpm":
        classifier = pretrained.load("mnist_classifier", device="cpu", root=root)
        result["sampler_sweep"] = sampler_sweep(model, x_grey, classifier)
    return {**result, **{f"test_{key}_nats": value for key, value in nll.items()}}, images


def short_run(name: str, steps: int, seed: int, batch_size: int = 32, n_test: int = 250, device="cpu") -> float:
    """Train ``name`` from scratch for ``steps`` steps of its recipe (``seed`` draws the weights, the batches
    and the noise) and return one quality number: for the likelihood models the test NLL or its bound
    (nats per image: exact for PixelCNN, ELBO for the VAE, dequantisation bound for the flows) on the first
    ``n_test`` binarised test digits; for the GAN the FID of 500 samples against the 2,000 grey test digits.
    Notebook 07 runs it with three seeds: the spread across seeds measures how stable training is."""
    from course_gen import metrics
    from course_gen.data import mnist10k

    check_choice("name", name, STABILITY_FAMILIES + ("realnvp_vardeq",))
    check_int("steps", steps, minimum=1, maximum=MAX_STEPS)
    check_seed(seed)
    batch_size = check_int("batch_size", batch_size, minimum=1, maximum=8000)  # the training digits
    n_test = check_int("n_test", n_test, minimum=1, maximum=2000)  # the test digits
    device = resolve_device(device)
    model = pretrained.build(name, seed=seed)
    fit = _train_gan if name == "dcgan" else _train_likelihood
    fit(name, model, device, seed, steps, batch_size=batch_size, progress=False)
    model.eval()
    if name == "dcgan":
        classifier = pretrained.load("mnist_classifier", device=device)
        real = classifier.features(mnist10k("test")[0])
        return metrics.fid(real, classifier.features(_sample(name, model, 500, seed).cpu()))
    x = mnist10k("test", binarize=True)[0][:n_test]
    return next(iter(test_nll_nats(name, model, x, n_samples=1, seed=seed, iwae_k=None).values()))



#: The families notebook 07 compares for training stability, and how it runs them.
STABILITY_FAMILIES = ("pixelcnn", "vae", "realnvp", "dcgan")
STABILITY_STEPS = 100
STABILITY_SEEDS = (0, 1, 2)


def stability_runs(retrain: bool = False, device="cpu", root=None) -> dict[str, list[float]]:
    """:func:`short_run` of every family in :data:`STABILITY_FAMILIES` for :data:`STABILITY_STEPS` steps with
    each of :data:`STABILITY_SEEDS`: ``{family: [score per seed]}``. The spread across seeds measures how
    stable training is. The runs take about ten minutes on a CPU, so their results ship as the checkpoint
    ``stability_runs``; ``retrain=True`` runs them again and replaces it (so does a missing or altered file,
    without saving)."""
    name = "stability_runs"
    check_bool("retrain", retrain)
    device = resolve_device(device)
    if not retrain:
        try:
            state = checkpoints.load_checkpoint(name, root=root)
            return {family: state[family].tolist() for family in STABILITY_FAMILIES}
        except checkpoints.CheckpointError as err:
            print(f"[course_gen] running the stability runs instead of loading: {str(err).splitlines()[0]}")
    scores = {family: torch.tensor([short_run(family, STABILITY_STEPS, seed, device=device) for seed in STABILITY_SEEDS],
                                   dtype=torch.float64) for family in STABILITY_FAMILIES}
    if retrain:
        checkpoints.save_checkpoint(scores, name, root=root, note=(
            f"pretrain.stability_runs: short_run(family, {STABILITY_STEPS}, seed) for seeds {STABILITY_SEEDS}, "
            f"batch 32, on {device}"))
    return {family: values.tolist() for family, values in scores.items()}


# ============================================================================ command line


def _distributed() -> tuple[int, int, int]:
    """``(rank, world, local_rank)``; starts the process group when run under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 0, 1, 0
    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return dist.get_rank(), world, int(os.environ.get("LOCAL_RANK", "0"))


def _device(requested: str | None, world: int, local_rank: int) -> torch.device:
    """The device of this process: ``--device`` (or :func:`course_gen.device`), its local GPU under torchrun."""
    device = resolve_device(requested or None)
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    if device.type == "cpu" and world > 1:
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))
    return device


def _parse(argv) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m course_gen.pretrain", description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=pretrained.NAMES, help="the model to train")
    parser.add_argument("--steps", type=int, default=None, help="optimiser steps (default: the recipe's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1, mps (default: course_gen.device())")
    parser.add_argument("--skip-eval", action="store_true", help="write the weights without measuring them "
                        "(a quick check of the training path)")
    parser.add_argument("--sample-only", action="store_true", help="no training: draw and time the samples of the "
                        "weights already in --out, and update NAME.json")
    parser.add_argument("--out", type=Path, default=None, help="folder for NAME.pt, NAME.json and checkpoints.json "
                        "(default: assets/)")
    args = parser.parse_args(argv)
    if args.steps is not None and args.steps < 1:
        parser.error(f"--steps must be >= 1, got {args.steps}")
    if args.seed < 0:
        parser.error(f"--seed must be >= 0, got {args.seed}")
    return args


def _save_samples(name: str, images: torch.Tensor, root) -> None:
    """Keep the timed samples as 8-bit grey levels (``round(255 x)``, exact for binary images)."""
    if name in SAMPLES_TIMED:
        grey = (images.cpu().clamp(0, 1) * 255).round().to(torch.uint8)
        checkpoints.save_checkpoint({"images": grey, "scale": 255}, f"{name}_samples", root=root,
                                    note=f"{len(images)} samples of {name}, seed {TEST_SAMPLE_SEED}")


def _sample_only(args) -> dict:
    """Redraw and time the samples of saved weights; the rest of NAME.json stays."""
    model = pretrained.load(args.name, device=args.device, root=args.out)
    start = time.perf_counter()
    images = _sample(args.name, model, SAMPLES_TIMED.get(args.name, 1000), TEST_SAMPLE_SEED)
    report = pretrained.report(args.name, root=args.out)
    report.update(sample_seconds_per_image=(time.perf_counter() - start) / len(images), sample_batch=len(images),
                  sample_threads=torch.get_num_threads())
    _save_samples(args.name, images, args.out)
    (checkpoints.assets_dir(args.out) / f"{args.name}.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


def main(argv=None) -> dict | None:
    """Train ``NAME`` with its recipe, evaluate it and write the checkpoint and the JSON (rank 0)."""
    args = _parse(argv)
    if args.sample_only:
        return _sample_only(args)
    rank, world, local_rank = _distributed()
    device = _device(args.device, world, local_rank)
    recipe = RECIPES[args.name]
    steps = recipe.steps if args.steps is None else args.steps
    model = pretrained.build(args.name, seed=args.seed)
    fit = _train_gan if args.name == "dcgan" else _train_likelihood
    seconds, final_loss = fit(args.name, model, device, args.seed, steps, rank, world)
    record = None
    if rank == 0:
        model.eval()
        record = {
            "name": args.name, "recipe": recipe.description, "steps": steps, "batch_size": recipe.batch_size,
            "lr": recipe.lr, "seed": args.seed, "device": str(device), "world_size": world,
            "torch": torch.__version__, "python": platform.python_version(),
            "threads": torch.get_num_threads(), "parameters": sum(p.numel() for p in model.parameters()),
            "train_seconds": round(seconds, 1), "final_train_loss": final_loss,
        }
        if not args.skip_eval:
            measured, images = evaluate(args.name, model, root=args.out)
            record.update(measured)
            _save_samples(args.name, images, args.out)
        note = f"{args.name}: {steps} steps, seed {args.seed}, world {world}, {device}"
        path = checkpoints.save_checkpoint(model, args.name, root=args.out, note=note)
        report = path.with_suffix(".json")
        report.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        print(json.dumps(record, indent=2))
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
    return record


if __name__ == "__main__":
    main()
