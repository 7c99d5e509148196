"""Checkers for the exercises of notebook 06 (GANs: the minimax game and Jensen-Shannon).

- :func:`check_discriminator_loss`: ``-mean log D(x_real) - mean log(1 - D(x_fake))``;
- :func:`check_generator_loss`: the non-saturating ``-mean log D(G(z))``;
- :func:`check_jsd`: ``JSD(p || q)`` in nats for discrete distributions.

Each names the mistakes it recognises (labels flipped, the sign flipped, the saturating
``log(1 - D)`` in place of ``-log D``, a sum instead of a mean, bits instead of nats, a
missing 1/2, KL in place of JSD) and returns a :class:`~course_gen.exercises.Feedback`; none raises.
"""

from __future__ import annotations

import math

import torch

from course_gen.divergences import jsd, kl
from course_gen.exercises._feedback import Feedback, Mistake, expect_close, run_checks

__all__ = ["check_discriminator_loss", "check_generator_loss", "check_jsd"]

LOG2 = math.log(2.0)


def _scalar(got, what: str) -> torch.Tensor:
    if not isinstance(got, torch.Tensor):
        raise Mistake(f"{what} should be a torch.Tensor, got {type(got).__name__}")
    if got.numel() != 1:
        raise Mistake(f"{what} should be ONE number (a scalar tensor), got shape {tuple(got.shape)}: "
                      "did you forget to average over the batch?")
    return got.detach().reshape(()).to("cpu", torch.float64)


def _diagnose(got: torch.Tensor, mistakes: list[tuple[torch.Tensor, str]]) -> None:
    for wrong, message in mistakes:
        if torch.allclose(got, wrong.reshape(()).to(torch.float64), atol=1e-6, rtol=1e-5):
            raise Mistake(message)


def _probabilities(seed: int, n: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, generator=g, dtype=torch.float64) * 0.9 + 0.05


def _d_cases() -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(_probabilities(0, 8), _probabilities(1, 6)), (_probabilities(2, 5), _probabilities(3, 9))]


# ============================================================================ D loss


def check_discriminator_loss(fn) -> Feedback:
    """Check ``fn(d_real, d_fake) -> scalar``: ``-mean log d_real - mean log(1 - d_fake)``, where
    ``d_real = D(x)`` on real and ``d_fake = D(G(z))`` on fake samples (probabilities in (0, 1))."""

    def checks() -> None:
        for d_real, d_fake in _d_cases():
            got = _scalar(fn(d_real.clone(), d_fake.clone()), "the discriminator loss")
            expected = -(torch.log(d_real).mean() + torch.log1p(-d_fake).mean())
            _diagnose(got, [
                (-(torch.log1p(-d_real).mean() + torch.log(d_fake).mean()),
                 "the labels are flipped: real samples should have D(x) -> 1 (use log D(x_real)) and fake "
                 "ones D(G(z)) -> 0 (use log(1 - D(G(z))))"),
                (-expected, "the sign is flipped: D MAXIMISES V = E log D(x) + E log(1 - D(G(z))), so the loss to "
                            "minimise is -V (which is >= 0)"),
                (-(torch.log(d_real).sum() + torch.log1p(-d_fake).sum()),
                 "you summed over the samples: V is an expectation, use the mean of each batch "
                 "(the two batches may have different sizes)"),
                (-(torch.log(torch.cat([d_real, 1 - d_fake])).mean()),
                 "you averaged over both batches together: take the mean of each term separately, "
                 "E_data log D(x) + E_z log(1 - D(G(z)))"),
                (expected / LOG2, "that is in bits: use the natural logarithm (nats), as the course does"),
            ])
            expect_close(got, expected, "the discriminator loss", atol=1e-6)

    return run_checks("discriminator loss", checks)


# ============================================================================ G loss


def check_generator_loss(fn) -> Feedback:
    """Check ``fn(d_fake) -> scalar``: the NON-saturating generator loss ``-mean log D(G(z))``."""

    def checks() -> None:
        for _, d_fake in _d_cases():
            got = _scalar(fn(d_fake.clone()), "the generator loss")
            expected = -torch.log(d_fake).mean()
            _diagnose(got, [
                (torch.log1p(-d_fake).mean(),
                 "that is the SATURATING loss log(1 - D(G(z))): its gradient vanishes when D rejects the fakes "
                 "(D(G(z)) -> 0); the non-saturating loss is -log D(G(z))"),
                (-torch.log1p(-d_fake).mean(),
                 "you used -log(1 - D(G(z))): minimising it pushes D(G(z)) towards 0, helping the discriminator; "
                 "the generator wants D(G(z)) -> 1, i.e. minimise -log D(G(z))"),
                (-expected, "the sign is flipped: the generator MAXIMISES log D(G(z)), so it minimises -log D(G(z))"),
                (-torch.log(d_fake).sum(), "you summed over the batch: use the mean"),
                (expected / LOG2, "that is in bits: use the natural logarithm (nats), as the course does"),
            ])
            expect_close(got, expected, "the generator loss", atol=1e-6)

    return run_checks("non-saturating generator loss", checks)


# ============================================================================ JSD


def _jsd_cases() -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(7)
    p = torch.softmax(torch.randn(6, generator=g, dtype=torch.float64), 0)
    q = torch.softmax(torch.randn(6, generator=g, dtype=torch.float64), 0)
    disjoint_p = torch.tensor([0.3, 0.7, 0.0, 0.0], dtype=torch.float64)
    disjoint_q = torch.tensor([0.0, 0.0, 0.6, 0.4], dtype=torch.float64)
    return [(p, q), (q, p), (disjoint_p, disjoint_q)]


def check_jsd(fn) -> Feedback:
    """Check ``fn(p, q) -> scalar``: ``JSD(p || q) = 1/2 KL(p || m) + 1/2 KL(q || m)``,
    ``m = (p + q) / 2``, in nats, for 1-D probability vectors (some with zeros: ``0 log 0 = 0``)."""

    def checks() -> None:
        for p, q in _jsd_cases():
            got = _scalar(fn(p.clone(), q.clone()), "the JSD")
            if bool(torch.isnan(got)):
                raise Mistake("your JSD is NaN: with zero probabilities use 0 log 0 = 0 "
                              "(torch.xlogy(p, p / m), or only sum where p > 0)")
            expected = jsd(p, q)
            m = (p + q) / 2
            _diagnose(got, [
                (expected / LOG2, "that is in bits (log base 2): use the natural logarithm, so that "
                                  "JSD <= log 2 and C(G) = -log 4 + 2 JSD holds in nats"),
                (2 * expected, "you forgot the 1/2 factors: JSD = 1/2 KL(p || m) + 1/2 KL(q || m)"),
                (0.5 * kl(p, m), "only half of it: add 1/2 KL(q || m) too"),
                (0.5 * (kl(p, q) + kl(q, p)),
                 "that is the symmetrised KL between p and q: compare each with the MIXTURE m = (p + q) / 2"),
                (kl(p, q), "that is KL(p || q), not the JSD: use the mixture m = (p + q) / 2"),
            ])
            if bool(torch.isinf(got)):
                raise Mistake("your JSD is infinite: it never is (it is at most log 2); compare p and q with "
                              "the mixture m = (p + q) / 2, which is > 0 wherever p or q is")
            expect_close(got, expected.reshape(()), "the JSD", atol=1e-6)

    return run_checks("Jensen-Shannon divergence", checks)
