"""Checkers for the exercises of notebook 02 (autoencoders).

- :func:`check_bce_loss`: the cross-entropy reconstruction loss for binary inputs;
- :func:`check_masking_noise`: the corruption of a denoising autoencoder;
- :func:`check_principal_angles`: the angles between two subspaces (linear autoencoder vs PCA).

Each runs the student's function on cases with known answers, names the mistakes it
recognises (a flipped sign, a mean instead of a sum, degrees instead of radians, ...) and
returns a :class:`~course_gen.exercises.Feedback`; none of them raises.
"""

from __future__ import annotations

import torch

from course_gen.autoencoders import bce_loss
from course_gen.exercises._feedback import Feedback, Mistake, expect_close, run_checks

__all__ = ["check_bce_loss", "check_masking_noise", "check_principal_angles"]


def _close(got, value: torch.Tensor, atol: float = 1e-5, rtol: float = 1e-4) -> bool:
    """Whether ``got`` is a tensor with ``value``'s shape and values (a quiet test, no Mistake)."""
    if not isinstance(got, torch.Tensor) or tuple(got.shape) != tuple(value.shape):
        return False
    got = got.detach().to("cpu", value.dtype)
    return bool(torch.allclose(got, value, atol=atol, rtol=rtol))


def _as_scalar(got, what: str) -> torch.Tensor:
    if not isinstance(got, torch.Tensor):
        raise Mistake(f"{what} should be a torch.Tensor, got {type(got).__name__}")
    if got.numel() != 1:
        raise Mistake(
            f"{what} should be one number (a 0-d tensor), got shape {tuple(got.shape)}: "
            "sum over the pixels of each image, then average over the batch"
        )
    return got.detach().reshape(()).to("cpu", torch.float64)


# ============================================================================ BCE


def _bce_cases() -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(x_hat, x) pairs: grey-level targets, binary targets; batch 4 and 3, 64 and 10 pixels."""
    generator = torch.Generator().manual_seed(2)
    x_hat_grey = 0.05 + 0.9 * torch.rand(4, 64, generator=generator, dtype=torch.float64)
    x_grey = torch.rand(4, 64, generator=generator, dtype=torch.float64)
    x_hat_binary = 0.05 + 0.9 * torch.rand(3, 10, generator=generator, dtype=torch.float64)
    x_binary = (torch.rand(3, 10, generator=generator, dtype=torch.float64) > 0.5).to(torch.float64)
    return [(x_hat_grey, x_grey), (x_hat_binary, x_binary)]


def _bce_mistakes(x_hat: torch.Tensor, x: torch.Tensor) -> list[tuple[torch.Tensor, str]]:
    """Values that known wrong versions of the loss return, with what to tell the student."""
    batch, pixels = x.shape
    correct = bce_loss(x_hat, x)
    per_pixel = -(x * torch.log(x_hat) + (1 - x) * torch.log(1 - x_hat))
    return [
        (
            -correct,
            "the sign is flipped: the loss is MINUS the log-likelihood, "
            "-sum_k [x_k log x_hat_k + (1 - x_k) log(1 - x_hat_k)], and must be >= 0",
        ),
        (
            correct / pixels,
            "you averaged over the pixels: the lecture's loss SUMS over the pixels k "
            "of an image (then average over the batch)",
        ),
        (
            correct * batch,
            "you summed over the batch too: sum over the pixels, then take the MEAN over the batch",
        ),
        (
            per_pixel.sum() / (batch * pixels) * batch,
            "you averaged over the pixels and summed over the batch; it is the other way round",
        ),
        (
            (-(x * torch.log(x_hat))).sum(dim=1).mean(),
            "the (1 - x_k) log(1 - x_hat_k) term is missing: pixels that are off must be penalised too",
        ),
        (
            (-(x_hat * torch.log(x.clamp_min(1e-12)) + (1 - x_hat) * torch.log((1 - x).clamp_min(1e-12))))
            .sum(dim=1)
            .mean(),
            "x and x_hat are swapped: the logarithm is of the reconstruction x_hat, weighted by the data x",
        ),
        (
            bce_loss(torch.sigmoid(x_hat), x),
            "x_hat was treated as logits (it went through a sigmoid again): "
            "it already holds probabilities, the decoder's sigm(c + W* h); "
            "take log(x_hat) directly",
        ),
    ]


def _check_bce_case(fn, x_hat: torch.Tensor, x: torch.Tensor) -> None:
    got = fn(x_hat.clone(), x.clone())
    value = _as_scalar(got, "bce_loss(x_hat, x)")
    if torch.isnan(value):
        raise Mistake("the loss is NaN: check the logs (log of a number <= 0?)")
    for wrong, message in _bce_mistakes(x_hat, x):
        if _close(value, wrong.reshape(())) and not _close(value, bce_loss(x_hat, x).reshape(())):
            raise Mistake(message)
    expect_close(value, bce_loss(x_hat, x).reshape(()), "bce_loss(x_hat, x)", atol=1e-5, rtol=1e-4)


def _check_bce_saturated(fn) -> None:
    """Perfect reconstructions with x_hat exactly 0 or 1: the loss is 0, not NaN."""
    x = torch.tensor([[0.0, 1.0, 1.0, 0.0]], dtype=torch.float64)
    got = _as_scalar(fn(x.clone(), x.clone()), "bce_loss(x, x) for binary x")
    if torch.isnan(got) or torch.isinf(got):
        raise Mistake(
            "for a perfect reconstruction x_hat = x with pixels exactly 0 or 1 the loss should be 0, "
            f"got {float(got)}: 0 * log(0) is NaN in floating point; clamp x_hat to [1e-7, 1 - 1e-7] "
            "(or use torch.nn.functional.binary_cross_entropy)"
        )
    expect_close(got, torch.zeros((), dtype=torch.float64), "bce_loss(x, x) for binary x", atol=1e-4)


def check_bce_loss(fn) -> Feedback:
    """Check ``fn(x_hat, x)``: the mean over the batch of
    ``-sum_k [x_k log x_hat_k + (1 - x_k) log(1 - x_hat_k)]`` for ``x_hat``, ``x`` of shape ``(B, D)``."""

    def checks():
        for x_hat, x in _bce_cases():
            _check_bce_case(fn, x_hat, x)
        _check_bce_saturated(fn)

    return run_checks("bce_loss", checks)


# ============================================================================ masking noise


def _call_seeded(fn, x: torch.Tensor, nu: float, seed: int):
    """``fn(x, nu)`` with the global RNG seeded, without disturbing the caller's RNG state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return fn(x, nu)


def _check_output(got, x: torch.Tensor, what: str) -> torch.Tensor:
    if not isinstance(got, torch.Tensor):
        raise Mistake(f"{what} should return a torch.Tensor, got {type(got).__name__}")
    if tuple(got.shape) != tuple(x.shape):
        raise Mistake(f"{what} should keep the input's shape {tuple(x.shape)}, got {tuple(got.shape)}")
    return got.detach().to("cpu", torch.float64)


def _check_not_in_place(fn) -> None:
    x = torch.rand(8, 64, generator=torch.Generator().manual_seed(3)) + 0.5
    original = x.clone()
    _call_seeded(fn, x, 0.5, seed=1)
    if not torch.equal(x, original):
        raise Mistake(
            "masking_noise changed its input in place: return a new tensor and leave x as it was "
            "(the clean x is the training target)"
        )


def _check_extreme_rates(fn) -> None:
    x = torch.rand(8, 64, generator=torch.Generator().manual_seed(4)) + 0.5
    none_dropped = _check_output(_call_seeded(fn, x, 0.0, seed=2), x, "masking_noise(x, 0.0)")
    if not torch.equal(none_dropped, x.to(torch.float64)):
        if torch.equal(none_dropped, torch.zeros_like(none_dropped)):
            raise Mistake(
                "with nu = 0 every pixel was set to 0: nu is the probability of DROPPING a pixel, "
                "not of keeping it"
            )
        raise Mistake("with nu = 0 nothing should change: masking_noise(x, 0.0) must return x's values")
    all_dropped = _check_output(_call_seeded(fn, x, 1.0, seed=2), x, "masking_noise(x, 1.0)")
    if not torch.equal(all_dropped, torch.zeros_like(all_dropped)):
        raise Mistake("with nu = 1 every pixel should be set to 0")


def _check_drop_statistics(fn, nu: float = 0.25) -> None:
    x = torch.rand(400, 200, generator=torch.Generator().manual_seed(5)) + 0.5  # no zeros in x
    got = _check_output(_call_seeded(fn, x, nu, seed=3), x, f"masking_noise(x, {nu})")
    dropped = got == 0
    kept_values, originals = got[~dropped], x.to(torch.float64)[~dropped]
    if kept_values.numel() and torch.allclose(kept_values, originals / (1 - nu), rtol=1e-4):
        raise Mistake(
            f"the kept pixels were divided by 1 - nu = {1 - nu} (inverted dropout): masking noise "
            "keeps the surviving pixels unchanged"
        )
    if kept_values.numel() and not torch.allclose(kept_values, originals, rtol=1e-5, atol=1e-6):
        raise Mistake(
            "some pixels were changed rather than dropped: masking noise sets a pixel to 0 "
            "or leaves it exactly as it was (no added noise, no rescaling)"
        )
    fraction = float(dropped.to(torch.float64).mean())
    if abs(fraction - (1 - nu)) < 0.01:
        raise Mistake(
            f"about {fraction:.0%} of the pixels were dropped with nu = {nu}: you KEEP each pixel "
            "with probability nu; drop it with probability nu instead"
        )
    rows_all_or_nothing = (dropped.all(dim=1) | (~dropped).all(dim=1)).all()
    if bool(rows_all_or_nothing):
        raise Mistake(
            "whole examples were dropped or kept together: draw one independent coin per pixel, "
            "with a mask of the same shape as x"
        )
    if bool((dropped == dropped[0]).all()):
        raise Mistake(
            "every example got the same mask: draw a new mask for every example (a mask with "
            "the shape of x, not of one row)"
        )
    # 80,000 pixels: the dropped fraction has standard deviation about 0.0015 around nu.
    if abs(fraction - nu) > 0.01:
        raise Mistake(
            f"with nu = {nu} a fraction {fraction:.3f} of the pixels was dropped, expected about {nu}: "
            "each pixel must be dropped independently with probability nu"
        )


def check_masking_noise(fn) -> Feedback:
    """Check ``fn(x, nu)``: each entry of ``x`` set to 0 independently with probability ``nu``,
    the others unchanged, ``x`` itself not modified."""

    def checks():
        _check_not_in_place(fn)
        _check_extreme_rates(fn)
        _check_drop_statistics(fn)

    return run_checks("masking_noise", checks)


# ============================================================================ principal angles


def _subspaces_at_angles(
    angles: list[float], dim: int = 7, seed: int = 6
) -> tuple[torch.Tensor, torch.Tensor]:
    """Bases ``a``, ``b`` (dim x k), neither orthonormal, whose principal angles are ``angles``.

    With orthonormal columns ``q_1..q_2k``: span(a) = span(q_1..q_k) and span(b) is spanned by
    ``cos(theta_i) q_i + sin(theta_i) q_{k+i}``; both bases are then mixed by random matrices.
    """
    k = len(angles)
    generator = torch.Generator().manual_seed(seed)
    q = torch.linalg.qr(torch.randn(dim, dim, generator=generator, dtype=torch.float64)).Q
    theta = torch.tensor(angles, dtype=torch.float64)
    a_orthonormal = q[:, :k]
    b_orthonormal = q[:, :k] * torch.cos(theta) + q[:, k : 2 * k] * torch.sin(theta)
    mix_a = torch.randn(k, k, generator=generator, dtype=torch.float64) + 2 * torch.eye(
        k, dtype=torch.float64
    )
    mix_b = torch.randn(k, k, generator=generator, dtype=torch.float64) + 2 * torch.eye(
        k, dtype=torch.float64
    )
    return a_orthonormal @ mix_a, b_orthonormal @ mix_b


def _angle_mistakes(
    a: torch.Tensor, b: torch.Tensor, expected: torch.Tensor
) -> list[tuple[torch.Tensor, str]]:
    unorthonormalised = torch.arccos(torch.linalg.svdvals(a.T @ b).clamp(-1, 1)).sort().values
    return [
        (torch.rad2deg(expected), "these are degrees: return the angles in radians (between 0 and pi/2)"),
        (
            torch.cos(expected),
            "these are the cosines of the angles (the singular values of Q_a^T Q_b): take their arccos",
        ),
        (
            torch.cos(expected).flip(0),
            "these are the cosines of the angles (the singular values of Q_a^T Q_b): take their arccos",
        ),
        (expected.flip(0), "the angles are in descending order: sort them ascending, smallest first"),
        (
            unorthonormalised,
            "the bases were not orthonormalised: the singular values of A^T B are cosines only "
            "when A and B have orthonormal columns (use torch.linalg.qr first)",
        ),
    ]


def _check_angles_case(fn, angles: list[float]) -> None:
    a, b = _subspaces_at_angles(angles)
    expected = torch.tensor(sorted(angles), dtype=torch.float64)
    got = fn(a.clone(), b.clone())
    if isinstance(got, torch.Tensor) and torch.isnan(got.detach().to(torch.float64)).any():
        raise Mistake(
            "some angles are NaN: a cosine slightly above 1 from rounding makes arccos NaN; "
            "clamp the cosines to [-1, 1] first"
        )
    if _close(got, expected, atol=1e-6):
        return
    for wrong, message in _angle_mistakes(a, b, expected):
        if _close(got, wrong, atol=1e-6):
            raise Mistake(message)
    expect_close(
        got,
        expected,
        f"principal_angles for a subspace pair with angles {[round(v, 3) for v in angles]}",
        atol=1e-6,
        rtol=1e-5,
    )


def _check_same_subspace(fn) -> None:
    """Two different bases of one subspace: every angle is 0."""
    a, _ = _subspaces_at_angles([0.3, 0.6, 0.9])
    mix = torch.tensor([[1.0, 2.0, 0.0], [0.0, 1.0, 3.0], [1.0, 0.0, 1.0]], dtype=torch.float64)
    got = fn(a.clone(), a @ mix)
    if isinstance(got, torch.Tensor) and torch.isnan(got.detach().to(torch.float64)).any():
        raise Mistake(
            "for two bases of the same subspace you returned NaN: rounding puts cosines slightly "
            "above 1; clamp them to [-1, 1] before arccos"
        )
    expect_close(
        got,
        torch.zeros(3, dtype=torch.float64),
        "the angles between two bases of the same subspace",
        atol=1e-3,
    )


def check_principal_angles(fn) -> Feedback:
    """Check ``fn(A, B)``: the principal angles (radians, ascending) between the column spans
    of ``A`` (D, k) and ``B`` (D, k), bases that are not orthonormal."""

    def checks():
        _check_angles_case(fn, [0.2, 0.7])
        _check_angles_case(fn, [0.1, 0.5, 1.2])
        _check_same_subspace(fn)

    return run_checks("principal_angles", checks)
