"""Checkers for the exercises of notebook 02 (autoencoders).

- :func:`check_bce_loss`: the cross-entropy reconstruction loss for binary inputs;
- :func:`check_masking_noise`: the corruption of a denoising autoencoder;
- :func:`check_principal_angles`: the angles between two subspaces (linear autoencoder vs PCA);
- :func:`check_linear_autoencoder_question`: what a linear autoencoder with squared error learns;
- :func:`check_denoising_step`: one training step of a denoising autoencoder (the larger task).

Each runs the student's function on cases with known answers, names the mistakes it
recognises (a flipped sign, a mean instead of a sum, degrees instead of radians, the noisy
input as the target, a forgotten ``zero_grad``, ...) and returns a
:class:`~course_gen.exercises.Feedback`; none of them raises. An answer that only calls the
package's own implementation (``course_gen.autoencoders.bce_loss``, ``masking_noise``,
``principal_angles``), a torch or scipy function that is the whole exercise, or the
checker's reference, earns nothing.

The module is longer than the others (about 580 lines) because it is a catalogue: each of its five
checkers builds every wrong answer it recognises (about 40 in all) next to its message, and splitting
them would separate a checker from its mistakes.
"""

from __future__ import annotations

import copy

import scipy.linalg
import torch
import torch.nn.functional as F

from course_gen import autoencoders as ae
from course_gen.runtime import seeded
from course_gen.exercises._feedback import (
    Feedback,
    Mistake,
    answer,
    as_number,
    check_choice,
    expect_close,
    expect_number,
    first_mistake,
    matches,
    run_checks,
)

__all__ = [
    "check_bce_loss",
    "check_denoising_step",
    "check_linear_autoencoder_question",
    "check_masking_noise",
    "check_principal_angles",
]

# ============================================================================ BCE

#: Functions that compute the whole cross-entropy loss: an answer calling them earns nothing.
BCE_FORBIDDEN = (
    ae.bce_loss,
    ae.bce_with_logits_loss,
    F.binary_cross_entropy,
    F.binary_cross_entropy_with_logits,
    torch._C._nn.binary_cross_entropy,
    torch.binary_cross_entropy_with_logits,
)


def _bce_cases() -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(x_hat, x) pairs: grey-level targets, binary targets; batch 4 and 3, 64 and 10 pixels."""
    generator = torch.Generator().manual_seed(2)
    x_hat_grey = 0.05 + 0.9 * torch.rand(4, 64, generator=generator, dtype=torch.float64)
    x_grey = torch.rand(4, 64, generator=generator, dtype=torch.float64)
    x_hat_binary = 0.05 + 0.9 * torch.rand(3, 10, generator=generator, dtype=torch.float64)
    x_binary = (torch.rand(3, 10, generator=generator, dtype=torch.float64) > 0.5).to(torch.float64)
    return [(x_hat_grey, x_grey), (x_hat_binary, x_binary)]


def _bce_mistakes(x_hat: torch.Tensor, x: torch.Tensor) -> list[tuple[float, str]]:
    """Values that known wrong versions of the loss return, with what to tell the student."""
    batch, pixels = x.shape
    correct = ae.bce_loss(x_hat, x)
    per_pixel = -(x * torch.log(x_hat) + (1 - x) * torch.log(1 - x_hat))
    wrong = [
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
            ae.bce_loss(torch.sigmoid(x_hat), x),
            "x_hat was treated as logits (it went through a sigmoid again): "
            "it already holds probabilities, the decoder's sigm(c + W* h); "
            "take log(x_hat) directly",
        ),
    ]
    return [(float(value), message) for value, message in wrong]


def _loss_value(got, what: str, nan_hint: str) -> float:
    """The loss as a float: a one-number tensor (it must be differentiable), finite."""
    if not isinstance(got, torch.Tensor):
        raise Mistake(
            f"{what} should be a torch.Tensor (a loss you can call .backward() on), got {type(got).__name__}"
        )
    if got.numel() != 1:
        raise Mistake(
            f"{what} should be one number (a 0-d tensor), got shape {tuple(got.shape)}: "
            "sum over the pixels of each image, then average over the batch"
        )
    if not bool(torch.isfinite(got.detach()).all()):
        raise Mistake(f"{what} is {float(got.detach().reshape(()))}: {nan_hint}")
    return as_number(got, what)


def _check_bce_case(fn, x_hat: torch.Tensor, x: torch.Tensor) -> None:
    what = "bce_loss(x_hat, x)"
    value = _loss_value(fn(x_hat.clone(), x.clone()), what, "check the logs (log of a number <= 0?)")
    expected = float(ae.bce_loss(x_hat, x))
    expect_number(value, expected, what, _bce_mistakes(x_hat, x), rtol=1e-4, atol=1e-5)


def _check_bce_saturated(fn) -> None:
    """Perfect reconstructions with x_hat exactly 0 or 1: the loss is 0, not NaN."""
    x = torch.tensor([[0.0, 1.0, 1.0, 0.0]], dtype=torch.float64)
    what = "bce_loss(x, x) for binary x"
    value = _loss_value(
        fn(x.clone(), x.clone()),
        what,
        "for a perfect reconstruction x_hat = x with pixels exactly 0 or 1 the loss should be 0; "
        "0 * log(0) is NaN in floating point: clamp x_hat to [1e-7, 1 - 1e-7] before the logs",
    )
    expect_number(value, 0.0, what, atol=1e-4)


def check_bce_loss(fn) -> Feedback:
    """Check ``fn(x_hat, x)``: the mean over the batch of
    ``-sum_k [x_k log x_hat_k + (1 - x_k) log(1 - x_hat_k)]`` for ``x_hat``, ``x`` of shape ``(B, D)``."""

    def checks():
        student = answer(fn, "bce_loss", forbidden=BCE_FORBIDDEN)
        for x_hat, x in _bce_cases():
            _check_bce_case(student, x_hat, x)
        _check_bce_saturated(student)

    return run_checks("bce_loss", checks)


# ============================================================================ masking noise


def _call_seeded(fn, x: torch.Tensor, nu: float, seed: int):
    """``fn(x, nu)`` with the global RNG seeded, without disturbing the caller's RNG state."""
    with seeded(seed):
        return fn(x, nu)


def _check_output(got, x: torch.Tensor, what: str) -> torch.Tensor:
    if not isinstance(got, torch.Tensor):
        raise Mistake(f"{what} should return a torch.Tensor, got {type(got).__name__}")
    if tuple(got.shape) != tuple(x.shape):
        raise Mistake(f"{what} should keep the input's shape {tuple(x.shape)}, got {tuple(got.shape)}")
    got = got.detach().to("cpu", torch.float64)
    if not bool(torch.isfinite(got).all()):
        kind = "NaN" if bool(torch.isnan(got).any()) else "inf"
        raise Mistake(f"{what} contains {kind}: a dropped pixel is 0, a kept one is exactly x's value")
    return got


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
    if torch.equal(none_dropped, torch.zeros_like(none_dropped)):
        raise Mistake(
            "with nu = 0 every pixel was set to 0: nu is the probability of DROPPING a pixel, "
            "not of keeping it"
        )
    if not matches(none_dropped, x.to(torch.float64), atol=0, rtol=0):
        raise Mistake("with nu = 0 nothing should change: masking_noise(x, 0.0) must return x's values")
    all_dropped = _check_output(_call_seeded(fn, x, 1.0, seed=2), x, "masking_noise(x, 1.0)")
    if not torch.equal(all_dropped, torch.zeros_like(all_dropped)):
        raise Mistake("with nu = 1 every pixel should be set to 0")


def _check_drop_statistics(fn, nu: float = 0.25) -> None:
    x = torch.rand(400, 200, generator=torch.Generator().manual_seed(5)) + 0.5  # no zeros in x
    got = _check_output(_call_seeded(fn, x, nu, seed=3), x, f"masking_noise(x, {nu})")
    dropped = got == 0
    kept_values, originals = got[~dropped], x.to(torch.float64)[~dropped]
    if kept_values.numel() and matches(kept_values, originals / (1 - nu), atol=0, rtol=1e-4):
        raise Mistake(
            f"the kept pixels were divided by 1 - nu = {1 - nu} (inverted dropout): masking noise "
            "keeps the surviving pixels unchanged"
        )
    if kept_values.numel() and not matches(kept_values, originals, atol=1e-6, rtol=1e-5):
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
        student = answer(fn, "masking_noise", forbidden=[ae.masking_noise])
        _check_not_in_place(student)
        _check_extreme_rates(student)
        _check_drop_statistics(student)

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


def _reject_nan(got, message: str) -> None:
    if isinstance(got, torch.Tensor) and torch.isnan(got.detach().to(torch.float64)).any():
        raise Mistake(message)


def _check_angles_case(fn, angles: list[float]) -> None:
    a, b = _subspaces_at_angles(angles)
    expected = torch.tensor(sorted(angles), dtype=torch.float64)
    got = fn(a.clone(), b.clone())
    _reject_nan(
        got,
        "some angles are NaN: a cosine slightly above 1 from rounding makes arccos NaN; "
        "clamp the cosines to [-1, 1] first",
    )
    if matches(got, expected, atol=1e-6):
        return
    first_mistake(got, _angle_mistakes(a, b, expected), expected, atol=1e-6)
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
    _reject_nan(
        got,
        "for two bases of the same subspace you returned NaN: rounding puts cosines slightly "
        "above 1; clamp them to [-1, 1] before arccos",
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
        student = answer(
            fn, "principal_angles", forbidden=[ae.principal_angles, scipy.linalg.subspace_angles]
        )
        _check_angles_case(student, [0.2, 0.7])
        _check_angles_case(student, [0.1, 0.5, 1.2])
        _check_same_subspace(student)

    return run_checks("principal_angles", checks)


# ============================================================================ question: linear AE

LINEAR_AE_OPTIONS = {
    "A": "the first k principal components themselves: orthonormal columns, ordered by variance",
    "B": "some basis of the span of the first k principal components, not necessarily orthonormal or ordered",
    "C": "the k directions of smallest variance, where the data is thinnest",
    "D": "a subspace that depends on the initialisation: two training runs find unrelated subspaces",
}

LINEAR_AE_WHY_NOT = {
    "A": (
        "the loss only sees the product W* W: replacing W* by W* A and W by A^-1 W, for any invertible "
        "k x k matrix A, gives the same reconstructions and the same loss, so nothing in training prefers "
        "the principal directions, their order or orthonormal columns (section 2: the decoder columns are "
        "mixtures of the components, and W^T W is far from the identity)"
    ),
    "C": (
        "the reconstruction error is the variance left in the directions the code cannot represent; to "
        "make it small the code must keep the directions of LARGEST variance, as PCA does"
    ),
    "D": (
        "at the minimum of the squared error the subspace is unique (when the k-th and (k+1)-th variances "
        "differ): it is the principal subspace, and a linear autoencoder has no other minima; only the "
        "basis inside that subspace depends on the initialisation"
    ),
}


def check_linear_autoencoder_question(fn) -> Feedback:
    """Check ``fn()``: the letter of what a linear autoencoder with squared error learns (B)."""
    return check_choice("linear_autoencoder_question", fn, LINEAR_AE_OPTIONS, "B", LINEAR_AE_WHY_NOT)


# ============================================================================ task: a denoising step


def _reference_denoising_step(model, optimizer, x, keep):
    """One step: x_tilde = x * keep, cross-entropy of model(x_tilde) against the CLEAN x,
    summed over pixels and averaged over the batch; zero_grad, backward, step."""
    optimizer.zero_grad()
    x_hat = model(x * keep)
    per_pixel = -(x * torch.log(x_hat) + (1 - x) * torch.log(1 - x_hat))
    loss = per_pixel.sum(dim=1).mean()
    loss.backward()
    optimizer.step()
    return loss.detach()


def _bce(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return (-(x * torch.log(x_hat) + (1 - x) * torch.log(1 - x_hat))).sum(dim=1).mean()


def _step_with_loss(loss_of):
    """A (wrong) step whose loss is ``loss_of(model, x, keep)``, otherwise done right."""

    def step(model, optimizer, x, keep):
        optimizer.zero_grad()
        loss = loss_of(model, x, keep)
        loss.backward()
        optimizer.step()
        return loss.detach()

    return step


def _no_zero_grad(model, optimizer, x, keep):
    loss = _bce(model(x * keep), x)
    loss.backward()
    optimizer.step()
    return loss.detach()


_STEP_MISTAKES = [
    (
        _step_with_loss(lambda model, x, keep: _bce(model(x * keep), x * keep)),
        "the target is the noisy input: a denoising autoencoder compares the reconstruction of "
        "x_tilde = x * keep with the CLEAN x (the model must fill in the dropped pixels)",
    ),
    (
        _step_with_loss(lambda model, x, keep: _bce(model(x), x * keep)),
        "the noise went on the target instead of the input: feed the corrupted x_tilde = x * keep to "
        "the model and compare its reconstruction with the clean x",
    ),
    (
        _step_with_loss(lambda model, x, keep: _bce(model(x), x)),
        "the input was not corrupted: this is a plain autoencoder's step; feed x_tilde = x * keep to "
        "the model (and keep the clean x as the target)",
    ),
    (
        _step_with_loss(lambda model, x, keep: _bce(model(x * (1 - keep)), x)),
        "the mask is inverted: keep[i, k] = 1 means pixel k of image i is KEPT, so x_tilde = x * keep",
    ),
    (
        _no_zero_grad,
        "the gradients of an earlier step were still there: call optimizer.zero_grad() before "
        "loss.backward(), otherwise backward adds the new gradients to the old ones",
    ),
    (
        _step_with_loss(lambda model, x, keep: _bce(model(x * keep), x) / x.shape[1]),
        "the loss was averaged over the pixels (F.binary_cross_entropy's default reduction='mean' does "
        "that): SUM over the pixels of each image, then average over the batch",
    ),
    (
        _step_with_loss(lambda model, x, keep: _bce(model(x * keep), x) * x.shape[0]),
        "the loss was summed over the batch: sum over the pixels, then take the MEAN over the batch",
    ),
    (
        _step_with_loss(lambda model, x, keep: _bce(torch.sigmoid(model(x * keep)), x)),
        "the reconstruction went through a sigmoid twice: model(x) already returns probabilities "
        "(use the cross-entropy of probabilities, or model.decoder_output(model.encode(x)) as logits)",
    ),
    (
        _step_with_loss(lambda model, x, keep: 0.5 * ((model(x * keep) - x) ** 2).sum(dim=1).mean()),
        "this is the squared error: the task asks for the cross-entropy "
        "-sum_k [x_k log x_hat_k + (1 - x_k) log(1 - x_hat_k)] (the digits' pixels are probabilities)",
    ),
]


def _step_model(seed: int) -> torch.nn.Module:
    """A small sigmoid autoencoder of the package: 16 pixels, a 3-unit code, float64."""
    with seeded(seed):
        model = ae.MLPAutoencoder(code_size=3, image_shape=(16,), activation="sigmoid").double()
        for parameter in model.parameters():  # gradients left over from an earlier step
            parameter.grad = 0.5 * torch.randn_like(parameter)
    return model


def _step_case(seed: int, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand(batch, 16, generator=generator, dtype=torch.float64)
    keep = (torch.rand(batch, 16, generator=generator, dtype=torch.float64) >= 0.3).to(torch.float64)
    return x, keep


def _flat_parameters(model: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def _run_step(step, model_seed: int, make_optimizer, x, keep):
    """``step`` on a fresh copy of the case's model: (parameters after, returned value, model, x, keep)."""
    model = _step_model(model_seed)
    optimizer = make_optimizer(model.parameters())
    x_in, keep_in = x.clone(), keep.clone()
    returned = step(model, optimizer, x_in, keep_in)
    return _flat_parameters(model), returned, model, x_in, keep_in


def _check_step_case(fn, model_seed: int, data_seed: int, batch: int, make_optimizer) -> None:
    x, keep = _step_case(data_seed, batch)
    expected_parameters, expected_loss, reference_model, _, _ = _run_step(
        _reference_denoising_step, model_seed, make_optimizer, x, keep
    )
    before = _flat_parameters(_step_model(model_seed))
    try:
        got_parameters, returned, _, x_after, keep_after = _run_step(fn, model_seed, make_optimizer, x, keep)
    except RuntimeError as error:
        if "modified by an inplace operation" in str(error):
            raise Mistake(
                "loss.backward() failed because the parameters changed after the forward pass: "
                "optimizer.step() ran before loss.backward(); the order is zero_grad, forward, loss, "
                "backward, step"
            ) from None
        raise
    if not torch.equal(x_after, x):
        raise Mistake(
            "your step changed x in place: x is the clean target; build a new tensor x_tilde = x * keep"
        )
    if not torch.equal(keep_after, keep):
        raise Mistake("your step changed keep in place: leave the mask as it was given")
    if not bool(torch.isfinite(got_parameters).all()):
        raise Mistake("after your step some parameters are NaN or inf: check the loss (log of 0?)")
    if not matches(got_parameters, expected_parameters, atol=1e-8, rtol=1e-6):
        if matches(got_parameters, before, atol=0, rtol=0):
            raise Mistake(
                "the parameters did not change: compute the loss, call loss.backward(), then "
                "optimizer.step() (optimizer.zero_grad() comes BEFORE backward, not between backward and step)"
            )
        wrong = [(_run_step(step, model_seed, make_optimizer, x, keep)[0], message) for step, message in _STEP_MISTAKES]
        first_mistake(got_parameters, wrong, expected_parameters, atol=1e-8)
        raise Mistake(
            "the parameters after your step differ from one step of the given optimizer on the "
            "cross-entropy of model(x * keep) against the clean x (summed over pixels, averaged over "
            "the batch); use the optimizer you are given, do not make a new one"
        )
    with torch.no_grad():
        after_step_loss = float(_bce(reference_model(x * keep), x))
    expect_number(
        returned,
        float(expected_loss),
        "the loss your step returns",
        [(after_step_loss, "you returned the loss after the step: return the loss this step minimised, "
                           "computed before optimizer.step()")],
        rtol=1e-6,
    )


def check_denoising_step(fn) -> Feedback:
    """Check ``fn(model, optimizer, x, keep)``: one training step of a denoising autoencoder with
    the given mask (``x_tilde = x * keep``), the cross-entropy of ``model(x_tilde)`` against the
    clean ``x`` summed over pixels and averaged over the batch; returns that loss."""

    def checks():
        student = answer(fn, "denoising_step", forbidden=[_reference_denoising_step])
        _check_step_case(student, 0, 10, 5, lambda params: torch.optim.SGD(params, lr=0.5))
        _check_step_case(student, 1, 11, 3, lambda params: torch.optim.Adam(params, lr=0.01))

    return run_checks("denoising_step", checks)
