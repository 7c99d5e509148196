"""Trained models shipped with the course, ready at once: ``pretrained.load(name)``.

Every model here was trained on the embedded MNIST digits (:func:`course_gen.data.mnist10k`, the
8,000 training images) by ``python -m course_gen.pretrain NAME``, the one recipe for each (see
:mod:`course_gen.pretrain`). Its weights are ``assets/NAME.pt`` (sha256 in ``assets/checkpoints.json``,
loaded ``weights_only``) and what the run measured is ``assets/NAME.json`` (:func:`report`).

=====================  ==========================================================================
name                   model (likelihood models on the fixed binarisation of the digits)
=====================  ==========================================================================
``pixelcnn``           :class:`~course_gen.autoregressive.GatedPixelCNN`, 6 layers of 32 channels
``vae``                :class:`~course_gen.vae.VAE`, 32 latents, Bernoulli decoder
``realnvp``            RealNVP/Glow flow, uniform dequantisation (:func:`~course_gen.flows.realnvp_digits`)
``realnvp_vardeq``     the same flow with Flow++'s variational dequantisation
``dcgan``              the generator of a DCGAN trained on the grey-level digits
``ddpm``               :class:`~course_gen.diffusion.DDPM`, a U-Net of width 24 predicting the noise, T = 1000
``mnist_classifier``   the CNN whose features and class probabilities give FID, KID, IS, precision/recall
=====================  ==========================================================================

    >>> model = pretrained.load("pixelcnn")            # doctest: +SKIP
    >>> model.log_prob(mnist10k("test", binarize=True)[0][:10])   # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Callable

import torch
from torch import nn

from course_gen import checkpoints
from course_gen._checks import check_choice
from course_gen.runtime import resolve_device, seeded

__all__ = ["IMAGE_SHAPE", "NAMES", "build", "load", "rebuild_command", "report", "samples"]

#: Shape of one image for every shipped model.
IMAGE_SHAPE = (1, 28, 28)


def _pixelcnn(seed: int) -> nn.Module:
    from course_gen.autoregressive import GatedPixelCNN

    return GatedPixelCNN(n_layers=6, hidden_channels=32)


def _vae(seed: int) -> nn.Module:
    from course_gen.vae import VAE

    return VAE(latent_dim=32, likelihood="bernoulli", image_shape=IMAGE_SHAPE, hidden_sizes=(256, 256))


def _realnvp(dequantization: str) -> Callable[[int], nn.Module]:
    def make(seed: int) -> nn.Module:
        from course_gen.flows import realnvp_digits

        return realnvp_digits(n_levels=2, hidden=32, n_checkerboard=4, n_channel=4, image_size=28,
                              dequantization=dequantization, seed=seed)
    return make


def _dcgan(seed: int) -> nn.Module:
    from course_gen.gan import DCGANGenerator

    return DCGANGenerator(latent_dim=32, image_size=28, width=32)


def _ddpm(seed: int) -> nn.Module:
    from course_gen.diffusion import DDPM

    return DDPM(T=1000, schedule="linear", channels=24)


def _classifier(seed: int) -> nn.Module:
    from course_gen.classifier import DigitsClassifier

    return DigitsClassifier(hidden=128, image_size=28)


_ARCHITECTURES: dict[str, Callable[[int], nn.Module]] = {
    "pixelcnn": _pixelcnn,
    "vae": _vae,
    "realnvp": _realnvp("uniform"),
    "realnvp_vardeq": _realnvp("variational"),
    "dcgan": _dcgan,
    "ddpm": _ddpm,
    "mnist_classifier": _classifier,
}
#: The shipped models (contract).
NAMES: tuple[str, ...] = tuple(_ARCHITECTURES)


def rebuild_command(name: str) -> str:
    """The shell command that retrains ``name`` (one of :data:`NAMES`) from scratch with its recipe."""
    return f"python -m course_gen.pretrain {check_choice('pretrained model name', name, NAMES)}"


def build(name: str, seed: int = 0) -> nn.Module:
    """A new, untrained model with the architecture of ``name``; its initial weights depend only on ``seed``
    (drawn from a forked random state: the caller's global random state is left as it was)."""
    check_choice("pretrained model name", name, NAMES)
    with seeded(seed):
        return _ARCHITECTURES[name](seed)


def load(name: str, device=None, root=None) -> nn.Module:
    """The shipped model ``name`` (one of :data:`NAMES`), trained, in eval mode, on ``device``
    (default :func:`course_gen.device`). Raises :class:`~course_gen.checkpoints.CheckpointError`,
    naming the command that rebuilds it, when its file is missing or altered."""
    model = build(name)
    resolve_device(device)  # a bad device fails before the file is read
    try:
        checkpoints.load_checkpoint(name, model, root=root)
    except checkpoints.CheckpointError as err:
        raise checkpoints.CheckpointError(f"{err}\nRebuild it with: {rebuild_command(name)}") from err
    return model.to(resolve_device(device)).eval()


def samples(name: str, root=None) -> torch.Tensor:
    """The samples the recipe drew and kept (``NAME_samples``: PixelCNN's, which take minutes to draw, and the
    diffusion model's): float32 ``(n, 1, 28, 28)`` in [0, 1] (stored as 8-bit levels, ``scale`` = 255; older files
    hold binary 0/1 images without a scale)."""
    state = checkpoints.load_checkpoint(f"{check_choice('pretrained model name', name, NAMES)}_samples", root=root)
    return state["images"].to(torch.float32) / float(state.get("scale", 1))


def report(name: str, root=None) -> dict:
    """What ``python -m course_gen.pretrain NAME`` measured when it made the shipped file:
    test NLL or bound, training and sampling time, steps, seed, device, torch version."""
    check_choice("pretrained model name", name, NAMES)
    path = checkpoints.assets_dir(root) / f"{name}.json"
    if not path.is_file():
        raise checkpoints.CheckpointError(f"no report {path}; rebuild it with: {rebuild_command(name)}")
    return json.loads(path.read_text(encoding="utf-8"))
