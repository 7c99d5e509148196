"""The adversarial losses on discriminator LOGITS, and what a discriminator's values say.

``D(x) = sigmoid(logit)``, computed stably with softplus. :func:`discriminator_loss` and
:func:`generator_loss` for :data:`LOSSES`; :func:`discriminator_probability` reads ``D(x)`` off
a network; :func:`jsd_estimate` turns ``D``'s values on a real and a fake batch into an ESTIMATE
of the Jensen-Shannon divergence.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from course_gen._checks import check_choice, check_tensor
from course_gen.runtime import evaluating, model_device

__all__ = ["EPS", "LOSSES", "discriminator_loss", "discriminator_probability", "generator_loss", "jsd_estimate"]

#: The adversarial losses :func:`discriminator_loss`, :func:`generator_loss` and the trainer accept.
LOSSES = ("minimax", "non-saturating", "least-squares")

#: D values are clipped to [EPS, 1 - EPS] before a log in the estimates (never in training).
EPS = 1e-6


def _check_logits(name: str, logits) -> torch.Tensor:
    logits = check_tensor(name, logits, dtype="float", what="of discriminator logits")
    if logits.numel() == 0:
        raise ValueError(f"{name} is empty: expected one discriminator logit per sample")
    return logits


def _discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor, loss: str) -> torch.Tensor:
    if loss == "least-squares":
        return 0.5 * ((real_logits - 1) ** 2).mean() + 0.5 * (fake_logits**2).mean()
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def _generator_loss(fake_logits: torch.Tensor, loss: str) -> torch.Tensor:
    if loss == "minimax":
        return -F.softplus(fake_logits).mean()
    if loss == "non-saturating":
        return F.softplus(-fake_logits).mean()
    return 0.5 * ((fake_logits - 1) ** 2).mean()


def discriminator_loss(
    real_logits: torch.Tensor, fake_logits: torch.Tensor, loss: str = "non-saturating"
) -> torch.Tensor:
    """The discriminator's loss (to minimise) from its outputs on a real and a fake batch.

    - ``"minimax"`` and ``"non-saturating"`` (the same for ``D``): ``-V``, i.e.
      ``-mean log D(x_real) - mean log(1 - D(x_fake))`` with ``D = sigmoid(logit)``; computed
      as ``mean softplus(-real) + mean softplus(fake)``: the binary cross-entropy with
      label 1 for real and 0 for fake;
    - ``"least-squares"``: ``1/2 mean (real - 1)^2 + 1/2 mean fake^2`` on the raw outputs.

    The logits must be finite floating-point tensors (not empty).
    """
    check_choice("loss", loss, LOSSES)
    real_logits, fake_logits = _check_logits("real_logits", real_logits), _check_logits("fake_logits", fake_logits)
    return _discriminator_loss(real_logits, fake_logits, loss)


def generator_loss(fake_logits: torch.Tensor, loss: str = "non-saturating") -> torch.Tensor:
    """The generator's loss (to minimise) from the discriminator's outputs on fake samples.

    - ``"minimax"`` (saturating): ``mean log(1 - D(G(z)))`` = ``-mean softplus(logit)``;
      its gradient w.r.t. the logit is ``-D(G(z))``, which vanishes when ``D`` rejects the
      fakes (``D(G(z)) -> 0``), exactly when ``G`` most needs to learn;
    - ``"non-saturating"``: ``-mean log D(G(z))`` = ``mean softplus(-logit)``; gradient
      ``-(1 - D(G(z)))``, close to -1 there;
    - ``"least-squares"``: ``1/2 mean (fake - 1)^2`` on the raw outputs.
    """
    check_choice("loss", loss, LOSSES)
    return _generator_loss(_check_logits("fake_logits", fake_logits), loss)


def _probability_from_output(output: torch.Tensor, loss: str) -> torch.Tensor:
    # LSGAN regresses D's raw output to 1 (real) / 0 (fake): its optimum is also
    # p_data / (p_data + p_g), so clipped to [0, 1] it reads as a probability.
    return output.clamp(0.0, 1.0) if loss == "least-squares" else torch.sigmoid(output)


@torch.no_grad()
def discriminator_probability(discriminator: nn.Module, x: torch.Tensor, loss: str = "non-saturating") -> torch.Tensor:
    """``D(x)`` in [0, 1] for each row of ``x``: ``sigmoid(output)``, or for ``"least-squares"``
    the raw output clipped to [0, 1] (its optimum is also ``p_data / (p_data + p_g)``). CPU tensor ``(n,)``.

    ``discriminator`` runs in eval mode (its own mode is restored after); ``x``: a finite
    floating-point batch ``(n, ...)`` of what it takes.
    """
    check_choice("loss", loss, LOSSES)
    if not isinstance(discriminator, nn.Module):
        raise TypeError(f"discriminator must be a torch.nn.Module, got {type(discriminator).__name__}")
    x = check_tensor("x", x, dtype="float", what="(a batch of samples (n, ...))")
    if x.dim() < 1 or len(x) == 0:
        raise ValueError(f"x must be a non-empty batch (n, ...), got shape {tuple(x.shape)}")
    with evaluating(discriminator):
        output = discriminator(x.to(model_device(discriminator)))
    if not isinstance(output, torch.Tensor) or output.numel() != len(x):
        got = tuple(output.shape) if isinstance(output, torch.Tensor) else type(output).__name__
        raise ValueError(f"the discriminator must return one logit per row of x ({len(x)}), got {got}")
    return _probability_from_output(output.reshape(-1), loss).cpu()


def jsd_estimate(d_real: torch.Tensor, d_fake: torch.Tensor) -> float:
    """An ESTIMATE of ``JSD(p_data || p_g)`` from a discriminator's values, in nats:
    ``(V + log 4) / 2`` with ``V = mean log D(x_real) + mean log(1 - D(x_fake))``.

    Exact in expectation only when ``D = D*``: since ``V(D, G) <= C(G) = -log 4 + 2 JSD``,
    a weaker discriminator UNDER-estimates the JSD, and a finite batch adds noise (it can
    even dip below 0). Values of ``D`` are clipped to [1e-6, 1 - 1e-6].
    """
    for name, values in (("d_real", d_real), ("d_fake", d_fake)):
        check_tensor(name, values, low=0.0, high=1.0, what="(discriminator values in [0, 1])")
        if values.numel() == 0:
            raise ValueError(f"{name} is empty: expected discriminator values in [0, 1]")
    real = d_real.double().clamp(EPS, 1 - EPS)
    fake = d_fake.double().clamp(EPS, 1 - EPS)
    value = torch.log(real).mean() + torch.log1p(-fake).mean()
    return float((value + math.log(4.0)) / 2)
