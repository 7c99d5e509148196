"""Training a GAN: :class:`GANTrainer` (the loop, as an object that keeps its state between calls),
:func:`train_gan` (run it for a number of steps) and :func:`fit_discriminator` (only ``D``, between
two fixed sample sets: the two-sample test).

The loop is built on the pieces of :func:`course_gen.train.train`: its :class:`~course_gen.train.History`
(:func:`~course_gen.train.record`), its divergence check (:func:`~course_gen.train.check_loss`, which
raises :class:`~course_gen.train.TrainingDivergedError` with the history attached), its callback
protocol (:func:`~course_gen.train.check_callback`, :func:`~course_gen.train.wants_stop`) and its
handling of the notebook's stop button (:func:`~course_gen.train.note_interrupt`).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from course_gen._checks import check_choice, check_int, check_positive_number, check_probability, check_seed, check_tensor
from course_gen.gan.losses import LOSSES, _discriminator_loss, _generator_loss, _probability_from_output, jsd_estimate
from course_gen.gan.networks import _Generator
from course_gen.runtime import resolve_device, seeded
from course_gen.train import MAX_STEPS, History, check_callback, check_loss, note_interrupt, record, train, wants_stop

__all__ = ["MAX_BATCH", "MAX_STEPS", "GANTrainer", "fit_discriminator", "train_gan"]

#: The largest batch (real samples, drawn with replacement, and noise vectors) the trainer takes.
MAX_BATCH = 2**16


def _check_data(data, name: str = "data") -> torch.Tensor:
    data = check_tensor(name, data, dtype="float", what="of real samples (n, ...)")
    if data.ndim < 2 or data.shape[0] < 1:
        raise ValueError(f"{name} must have shape (n, ...) with n >= 1 samples, got {tuple(data.shape)}")
    return data


def _check_betas(betas) -> tuple[float, float]:
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise TypeError(f"betas must be a pair of numbers in [0, 1) (Adam's beta1, beta2), got {betas!r}")
    return check_probability("betas[0]", betas[0]), check_probability("betas[1]", betas[1])


class GANTrainer:
    """The GAN training loop, as an object that keeps its state between calls.

    Each iteration (one "step"):

    1. ``k`` times: draw a batch of real samples (with replacement) and of noise; one
       optimiser step on ``discriminator_loss(D(x_real), D(G(z)), loss)``;
    2. new noise; one optimiser step on ``generator_loss(D(G(z)), loss)`` (``D`` fixed).

    Adam with ``betas`` (DCGAN's 0.5, 0.999) for both players, with their own learning rates.
    ``history.loss`` is the generator's loss per step; ``history.metrics`` holds
    ``"d_loss"`` (last discriminator step), ``"d_real"`` and ``"d_fake"`` (mean ``D`` on
    that step's real and fake batch) and ``"jsd_estimate"`` (:func:`jsd_estimate` of that
    batch: an estimate from ``D``). Batches and noise come from a CPU ``torch.Generator``
    seeded by ``seed``, so a run is reproducible and the same on every device.

    ``loss``, ``k``, ``lr_g`` and ``lr_d`` may be changed between calls to :meth:`run`
    (the playground does). Raises :class:`~course_gen.train.TrainingDivergedError` (with the
    history attached) if a loss becomes NaN or infinite or explodes (before that step's update).
    ``data``: finite floating real samples ``(n, ...)``; ``batch_size`` at most :data:`MAX_BATCH`.
    """

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        data: torch.Tensor,
        *,
        loss: str = "non-saturating",
        k: int = 1,
        batch_size: int = 128,
        lr_g: float = 2e-4,
        lr_d: float = 2e-4,
        betas: tuple[float, float] = (0.5, 0.999),
        device=None,
        seed: int = 0,
    ):
        if not isinstance(generator, _Generator):
            raise TypeError(
                "generator must be a course_gen.gan generator (MLPGenerator, DCGANGenerator), "
                f"got {type(generator).__name__}"
            )
        if not isinstance(discriminator, nn.Module):
            raise TypeError(f"discriminator must be a torch.nn.Module, got {type(discriminator).__name__}")
        self.device = resolve_device(device)
        self.data = _check_data(data).to(self.device)
        self.batch_size = check_int("batch_size", batch_size, minimum=1, maximum=MAX_BATCH)
        self.loss = loss
        self.k = k
        self.random = torch.Generator().manual_seed(check_seed(seed))
        lr_g, lr_d = check_positive_number("lr_g", lr_g), check_positive_number("lr_d", lr_d)
        betas = _check_betas(betas)
        self.generator = generator.to(self.device)
        self.discriminator = discriminator.to(self.device)
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=lr_g, betas=betas)
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=lr_d, betas=betas)
        self.history = History(device=str(self.device))

    # settings that the playground changes between runs -------------------------------
    @property
    def loss(self) -> str:
        return self._loss

    @loss.setter
    def loss(self, value: str) -> None:
        self._loss = check_choice("loss", value, LOSSES)

    @property
    def k(self) -> int:
        return self._k

    @k.setter
    def k(self, value: int) -> None:
        self._k = check_int("k", value, minimum=1, maximum=100)

    def set_learning_rates(self, lr_g: float | None = None, lr_d: float | None = None) -> None:
        """Change the players' learning rates (the optimisers keep their moment estimates)."""
        lr_g = None if lr_g is None else check_positive_number("lr_g", lr_g)
        lr_d = None if lr_d is None else check_positive_number("lr_d", lr_d)
        for lr, opt in ((lr_g, self.opt_g), (lr_d, self.opt_d)):
            if lr is not None:
                for group in opt.param_groups:
                    group["lr"] = lr

    # one iteration ------------------------------------------------------------------
    def _real_batch(self) -> torch.Tensor:
        index = torch.randint(len(self.data), (self.batch_size,), generator=self.random)
        return self.data[index.to(self.device)]

    def _noise(self) -> torch.Tensor:
        return torch.randn(self.batch_size, self.generator.latent_dim, generator=self.random).to(self.device)

    def _discriminator_step(self) -> tuple[float, torch.Tensor, torch.Tensor]:
        real = self._real_batch()
        with torch.no_grad():
            fake = self.generator(self._noise())
        real_out, fake_out = self.discriminator(real), self.discriminator(fake)
        loss = _discriminator_loss(real_out, fake_out, self.loss)
        value = check_loss(float(loss.detach()), self.history.steps + 1, self.history, what="discriminator loss",
                           first=self._first("d_loss"))
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d.step()
        return value, real_out.detach(), fake_out.detach()

    def _generator_step(self) -> float:
        for p in self.discriminator.parameters():
            p.requires_grad_(False)
        try:
            loss = _generator_loss(self.discriminator(self.generator(self._noise())), self.loss)
            value = check_loss(float(loss.detach()), self.history.steps + 1, self.history, what="generator loss")
            self.opt_g.zero_grad(set_to_none=True)
            loss.backward()
            self.opt_g.step()
        finally:
            for p in self.discriminator.parameters():
                p.requires_grad_(True)
        return value

    def _first(self, key: str) -> float | None:
        values = self.history.metrics.get(key)
        return values[0] if values else None

    def step(self) -> dict[str, float]:
        """One iteration (k discriminator steps, one generator step); returns what it recorded."""
        self.generator.train()
        self.discriminator.train()
        for _ in range(self.k):
            d_loss, real_out, fake_out = self._discriminator_step()
        g_loss = self._generator_step()
        d_real = _probability_from_output(real_out, self.loss)
        d_fake = _probability_from_output(fake_out, self.loss)
        metrics = {
            "d_loss": d_loss,
            "d_real": float(d_real.mean()),
            "d_fake": float(d_fake.mean()),
            "jsd_estimate": jsd_estimate(d_real, d_fake),
        }
        record(self.history, g_loss, metrics)
        return {"g_loss": g_loss, **metrics}

    def run(self, steps: int, callback: Callable[[int, History], bool | None] | None = None) -> History:
        """``steps`` iterations (at most :data:`MAX_STEPS`); ``callback(step, history)`` after each
        (True stops early). The notebook's stop button (KeyboardInterrupt) ends the run early with
        ``history.interrupted`` set. Leaves both networks in eval mode; returns the (growing) :attr:`history`."""
        steps = check_int("steps", steps, minimum=1, maximum=MAX_STEPS)
        callback = check_callback(callback)
        start = time.perf_counter()
        try:
            for _ in range(steps):
                self.step()
                if wants_stop(callback, self.history.steps, self.history):
                    break
        except KeyboardInterrupt:
            note_interrupt(self.history)
        finally:
            self.history.seconds += time.perf_counter() - start
            self.generator.eval()
            self.discriminator.eval()
        return self.history


def train_gan(
    generator: nn.Module,
    discriminator: nn.Module,
    data: torch.Tensor,
    *,
    steps: int,
    loss: str = "non-saturating",
    k: int = 1,
    batch_size: int = 128,
    lr_g: float = 2e-4,
    lr_d: float = 2e-4,
    betas: tuple[float, float] = (0.5, 0.999),
    device=None,
    seed: int = 0,
    callback: Callable[[int, History], bool | None] | None = None,
) -> History:
    """Train a GAN for ``steps`` iterations of :class:`GANTrainer` (k D-steps, one G-step each)
    and return its :class:`~course_gen.train.History`. ``data``: real samples ``(n, ...)``,
    e.g. ``toy2d(...)`` points or ``digits()`` images in [0, 1]. Like :func:`course_gen.train.train`
    its draws are seeded with ``seed`` (:func:`course_gen.runtime.seeded`) and the caller's random
    stream is left where it was."""
    steps = check_int("steps", steps, minimum=1, maximum=MAX_STEPS)
    callback = check_callback(callback)
    with seeded(seed):
        trainer = GANTrainer(
            generator, discriminator, data, loss=loss, k=k, batch_size=batch_size, lr_g=lr_g, lr_d=lr_d,
            betas=betas, device=device, seed=seed,
        )
        return trainer.run(steps, callback=callback)


class _TwoSampleTask(nn.Module):
    """``discriminator`` with the loss ``train()`` calls: binary cross-entropy, label 1 = real."""

    def __init__(self, discriminator: nn.Module):
        super().__init__()
        self.discriminator = discriminator

    def loss(self, batch):
        x, label = batch
        return F.binary_cross_entropy_with_logits(self.discriminator(x), label)


def fit_discriminator(
    discriminator: nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    *,
    steps: int = 1000,
    batch_size: int = 256,
    lr: float = 1e-3,
    device=None,
    seed: int = 0,
) -> History:
    """Train ``discriminator`` alone to tell ``real`` (label 1) from ``fake`` (label 0) samples:
    the two-sample test, and ``D``'s half of the game for a FIXED generator.

    It minimises the binary cross-entropy (= ``-V(D, G)`` when the two sets are equally
    large), so it approaches ``D*(x) = p_data(x) / (p_data(x) + p_g(x))`` and its logit the
    log density ratio ``log p_data(x) - log p_g(x)``. Uses :func:`course_gen.train.train`.
    """
    if not isinstance(discriminator, nn.Module):
        raise TypeError(f"discriminator must be a torch.nn.Module, got {type(discriminator).__name__}")
    real, fake = _check_data(real, "real"), _check_data(fake, "fake")
    if real.shape[1:] != fake.shape[1:]:
        raise ValueError(
            "real and fake samples must have the same shape per sample, "
            f"got {tuple(real.shape)} and {tuple(fake.shape)}"
        )
    x = torch.cat([real, fake.to(real.device)]).float()
    labels = torch.cat([torch.ones(len(real)), torch.zeros(len(fake))]).to(x.device)
    return train(
        _TwoSampleTask(discriminator), (x, labels), steps=steps, batch_size=batch_size, lr=lr,
        device=device, seed=seed, progress=False,
    )
