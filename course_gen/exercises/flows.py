"""Checkers for the exercises of notebook 04 (change of variables, normalizing flows).

- :func:`check_planar_log_det`: ``log|1 + u^T tanh'(w^T z + b) w|`` of a planar flow;
- :func:`check_coupling_inverse`: invert an affine coupling layer given its scales and shifts;
- :func:`check_coupling_log_det`: the log-determinant ``sum (1 - m) s`` of an affine coupling;
- :func:`check_affine_coupling` (the larger task): a whole affine coupling layer ``(x_out, log|det|)``
  around a given conditioner network, its log-determinant tested against the autograd Jacobian
  (``torch.autograd.functional.jacobian`` + ``slogdet``) and its output inverted;
- :func:`check_log_det_question`: the log-determinant of ``x -> 2x`` on a 28x28 image, in nats;
- :func:`check_dequantization_bound`: ``log p(y) - D log K``, the discrete log-likelihood bound.

Each runs the student's function on cases with known answers, names the mistakes it recognises
(a sign error, a missing Jacobian term, the mask forgotten or reversed, a mean instead of a sum, ...)
and returns a :class:`~course_gen.exercises.Feedback`; none raises. An answer that calls the
package's own implementation (:mod:`course_gen.flows`) or this module's reference earns nothing.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from course_gen import flows
from course_gen.runtime import seeded
from course_gen.exercises._feedback import (
    Feedback,
    Mistake,
    answer,
    check_value,
    expect_close,
    first_mistake,
    matches,
    run_checks,
)

__all__ = [
    "check_affine_coupling", "check_coupling_inverse", "check_coupling_log_det", "check_dequantization_bound",
    "check_log_det_question", "check_planar_log_det",
]


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _per_example(got, batch: int) -> None:
    """A log-determinant must have one value per example: name a whole-batch number."""
    if isinstance(got, torch.Tensor) and got.numel() == 1 and batch > 1:
        raise Mistake(f"return one log-determinant per example, shape ({batch},), not one number for the batch")


# ============================================================================ planar


def reference_planar_log_det(z, u, w, b):
    psi = (1 - torch.tanh(z @ w + b) ** 2)[:, None] * w
    return torch.log(torch.abs(1 + psi @ u))


def check_planar_log_det(fn) -> Feedback:
    """Check ``fn(z, u, w, b) -> (B,)``: ``log|1 + u^T psi(z)|``, ``psi(z) = tanh'(w^T z + b) w``.

    ``tanh'(a) = 1 - tanh(a)^2``. Tried on 2-D and 5-D cases, some where ``1 + u^T psi`` is negative.
    """

    def checks() -> None:
        student = answer(fn, "planar_log_det", forbidden=[flows.planar_map, flows.Planar.forward,
                                                           reference_planar_log_det])
        for dim in (2, 5):
            g = _generator(dim)
            z = torch.randn(8, dim, generator=g, dtype=torch.float64)
            u = 1.5 * torch.randn(dim, generator=g, dtype=torch.float64)
            w = torch.randn(dim, generator=g, dtype=torch.float64)
            if dim == 5:  # w^T u = -3 and z near the hyperplane: 1 + u^T psi changes sign
                u = u - (w @ u + 3) * w / (w @ w)
                z = 0.2 * z
            b = 0.3
            a = z @ w + b
            h_prime = 1 - torch.tanh(a) ** 2
            expected = reference_planar_log_det(z, u, w, b)
            got = student(z.clone(), u.clone(), w.clone(), b)
            _per_example(got, z.shape[0])
            first_mistake(got, [
                (torch.log(torch.abs(1 + torch.tanh(a) * (w @ u))), "you used h = tanh instead of its derivative "
                 "h' = 1 - tanh^2: psi(z) = h'(w^T z + b) w"),
                (torch.log(torch.abs(h_prime * (w @ u))), "the 1 is missing: the Jacobian is I + u psi^T, and "
                 "det(I + u psi^T) = 1 + u^T psi (the identity part of g(z) = z + ...)"),
                (torch.log(torch.abs(1 - h_prime * (w @ u))), "sign error: det = 1 + u^T psi(z), with a plus"),
                (-expected, "sign error: this is minus log|det dg/dz|, the log-determinant of the inverse map "
                 "f = g^-1; the planar map g's own is +log|1 + u^T psi(z)|"),
                (torch.abs(1 + h_prime * (w @ u)), "the log is missing: return log|det|, not |det|"),
            ], expected)
            negative = (1 + h_prime * (w @ u)) < 0
            if isinstance(got, torch.Tensor) and got.shape == expected.shape and bool(negative.any()):
                nan = torch.isnan(got.detach().cpu())
                if bool(nan.any()) and bool((nan == negative).all()):
                    raise Mistake("NaNs exactly where 1 + u^T psi < 0: the determinant can be negative; "
                                  "take the log of its ABSOLUTE value")
            expect_close(got, expected, "log|det|", atol=1e-8, rtol=1e-8)

    return run_checks("planar log-determinant", checks)


# ============================================================================ coupling


def reference_coupling_inverse(x_out, mask, s, t):
    return mask * x_out + (1 - mask) * (x_out - t) * torch.exp(-s)


def reference_coupling_log_det(s, mask):
    return ((1 - mask) * s).flatten(1).sum(1)


def _coupling_cases():
    """``(mask, s, t, x)``: vectors ``(5, 6)`` with an alternating mask, images with a checkerboard."""
    cases = []
    for shape, mask in (((5, 6), (torch.arange(6) % 2 == 0).double()),
                        ((3, 1, 4, 4), ((torch.arange(4)[:, None] + torch.arange(4)) % 2 == 0).double()[None])):
        g = _generator(len(shape))
        x = torch.randn(shape, generator=g, dtype=torch.float64)
        s = (0.7 * torch.randn(shape, generator=g, dtype=torch.float64)) * (1 - mask)
        t = torch.randn(shape, generator=g, dtype=torch.float64) * (1 - mask)
        cases.append((mask, s, t, x))
    return cases


def check_coupling_inverse(fn) -> Feedback:
    """Check ``fn(x_out, mask, s, t) -> x``, the inverse of ``x_out = m x + (1 - m) (x exp(s) + t)``.

    ``s`` and ``t`` are given (they depend only on the kept entries ``m x = m x_out``, so they are the
    same in both directions). Expected: ``x = m x_out + (1 - m) (x_out - t) exp(-s)``.
    """

    def checks() -> None:
        student = answer(fn, "coupling_inverse", forbidden=[flows.AffineCoupling.inverse, flows.AffineCoupling.forward,
                                                             reference_coupling_inverse])
        for mask, s, t, x in _coupling_cases():
            x_out = mask * x + (1 - mask) * (x * torch.exp(s) + t)
            keep = mask * x_out
            got = student(x_out.clone(), mask.clone(), s.clone(), t.clone())
            first_mistake(got, [
                (keep + (1 - mask) * (x_out + t) * torch.exp(-s), "sign error on the shift: undo the shift first, "
                 "x = (x_out - t) exp(-s), not (x_out + t) exp(-s)"),
                (keep + (1 - mask) * (x_out - t) * torch.exp(s), "the scale is applied again instead of undone: "
                 "divide by exp(s), i.e. multiply by exp(-s)"),
                (keep + (1 - mask) * (x_out * torch.exp(-s) - t), "wrong order: the forward map scales THEN shifts, "
                 "so the inverse shifts back THEN unscales: (x_out - t) exp(-s)"),
                (x_out, "nothing was undone: this is x_out itself"),
            ], x)
            expect_close(got, x, "the reconstructed x", atol=1e-8, rtol=1e-8)

    return run_checks("coupling inverse", checks)


def check_coupling_log_det(fn) -> Feedback:
    """Check ``fn(s, mask) -> (B,)``: ``log|det dx_out/dx| = sum over the transformed entries of s``.

    ``s`` here is the raw network output (not yet masked): the kept entries (mask 1) contribute 0,
    so the answer is ``((1 - mask) * s)`` summed over every dimension but the batch.
    """

    def checks() -> None:
        student = answer(fn, "coupling_log_det", forbidden=[flows.AffineCoupling.forward, reference_coupling_log_det])
        for mask, _, _, x in _coupling_cases():
            raw = torch.randn(x.shape, generator=_generator(7), dtype=torch.float64)
            expected = reference_coupling_log_det(raw, mask)
            got = student(raw.clone(), mask.clone())
            _per_example(got, x.shape[0])
            first_mistake(got, [
                (-expected, "sign error: the forward map multiplies by exp(s), which ADDS s to log|det|"),
                (raw.flatten(1).sum(1), "the mask is missing: the kept entries (mask 1) are copied, their diagonal "
                 "entries are 1 and contribute log 1 = 0; sum s only where mask is 0"),
                ((mask * raw).flatten(1).sum(1), "the mask is the wrong way round: mask 1 marks the KEPT entries; "
                 "the scales act where mask is 0"),
                (((1 - mask) * raw.exp()).flatten(1).sum(1), "you summed exp(s): the determinant is the PRODUCT of "
                 "exp(s), so its log is the SUM of s"),
                ((1 - mask) * raw, "sum over the entries: one number per example, shape (B,)"),
                (((1 - mask) * raw).flatten(1).mean(1), "you averaged: log det of a triangular Jacobian is the SUM "
                 "of the log diagonal entries"),
            ], expected)
            expect_close(got, expected, "log|det|", atol=1e-8, rtol=1e-8)

    return run_checks("coupling log-determinant", checks)


# ============================================================================ the larger task: a coupling layer


class _Conditioner(nn.Module):
    """A small random network ``kept -> (s, t)``, both of the input's shape and nonzero everywhere
    (no mask applied: the layer must apply it). An MLP for vectors, a 3x3 conv net for images."""

    def __init__(self, shape: tuple[int, ...], seed: int):
        super().__init__()
        g = _generator(seed)
        if len(shape) == 1:
            self.body = nn.Sequential(nn.Linear(shape[0], 16), nn.Tanh(), nn.Linear(16, 2 * shape[0]))
        else:
            self.body = nn.Sequential(nn.Conv2d(shape[0], 8, 3, padding=1), nn.Tanh(),
                                      nn.Conv2d(8, 2 * shape[0], 3, padding=1))
        with torch.no_grad():
            for parameter in self.body.parameters():
                parameter.copy_(0.5 * torch.randn(parameter.shape, generator=g))
        self.double()

    def forward(self, kept: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raw_s, t = self.body(kept).chunk(2, dim=1)
        return 0.8 * torch.tanh(raw_s), t


class _Recorder:
    """The conditioner handed to the student: records what it was fed (and hides the package layer)."""

    def __init__(self, net):
        self.net = net
        self.inputs: list[torch.Tensor] = []

    def __call__(self, kept):
        if isinstance(kept, torch.Tensor):
            self.inputs.append(kept.detach().clone())
        return self.net(kept)


def _task_cases():
    """``(name, x, mask, net)``: vectors with an alternating mask, images with a checkerboard (both
    with a random conditioner whose s and t are nonzero on the kept entries), and a perturbed
    ``flows.AffineCoupling`` with a channel mask, whose ``scale_and_shift`` is the conditioner."""
    g = _generator(40)
    vectors = torch.randn(4, 6, generator=g, dtype=torch.float64)
    images = torch.randn(3, 1, 4, 4, generator=g, dtype=torch.float64)
    channels = torch.randn(2, 2, 4, 4, generator=g, dtype=torch.float64)
    with seeded(41):  # the package layer initialises from the global generator
        layer = flows.AffineCoupling((2, 4, 4), "channel", hidden=8).double()
    with torch.no_grad():
        for parameter in layer.parameters():
            parameter.add_(0.3 * torch.randn(parameter.shape, generator=g, dtype=torch.float64))
    return [
        ("vectors, alternating mask", vectors, flows.coupling_mask("alternating", 6).double(), _Conditioner((6,), 42)),
        ("images, checkerboard mask", images, flows.coupling_mask("checkerboard", (1, 4, 4)).double(),
         _Conditioner((1, 4, 4), 43)),
        ("flows.AffineCoupling's conditioner, channel mask", channels, layer.mask.clone(), layer.scale_and_shift),
    ]


def reference_affine_coupling(x, mask, net):
    s, t = net(x * mask)
    s, t = (1 - mask) * s, (1 - mask) * t
    return x * torch.exp(s) + t, s.flatten(1).sum(1)


def _inverse(x_out, mask, net):
    s, t = net(x_out * mask)
    return mask * x_out + (1 - mask) * (x_out - t) * torch.exp(-s)


def _jacobian_log_abs_det(student, x, mask, net) -> torch.Tensor:
    """log|det| of the student's map at each example, from the full autograd Jacobian and slogdet."""
    values = []
    for example in x:
        jac = torch.autograd.functional.jacobian(lambda v: student(v[None], mask, net)[0][0].flatten(), example)
        if not isinstance(jac, torch.Tensor):
            raise Mistake("x_out should be a single tensor")
        jac = jac.reshape(example.numel(), example.numel())
        if not bool(jac.any()):
            raise Mistake("autograd finds x_out independent of x (the Jacobian is all zeros): did you detach x or "
                          "work under torch.no_grad()? A flow layer must be differentiable to be trained")
        values.append(torch.linalg.slogdet(jac)[1])
    return torch.stack(values)


def check_affine_coupling(fn) -> Feedback:
    """Check ``fn(x, mask, net) -> (x_out, log_abs_det)``, a RealNVP affine coupling layer.

    ``s, t = net(x * mask)`` are raw (not zero on the kept entries); expected
    ``x_out = m x + (1 - m) (x exp(s) + t)`` and ``log_abs_det = sum (1 - m) s`` per example. Besides the
    values: the log-determinant must equal ``slogdet`` of the autograd Jacobian of the student's own
    map, and the section-4 inverse must recover ``x`` from ``x_out``.
    """

    def checks() -> None:
        student = answer(fn, "affine_coupling_forward", forbidden=[
            flows.AffineCoupling.forward, flows.AffineCoupling.inverse, reference_affine_coupling, _inverse])
        for name, x, mask, net in _task_cases():
            m = mask
            with torch.no_grad():
                s_raw, t_raw = net(x * m)
                s, t = (1 - m) * s_raw, (1 - m) * t_raw
                x_expected, log_det_expected = reference_affine_coupling(x, m, net)
                s_all, t_all = net(x)
                s_flip, t_flip = net(x * (1 - m))
            keep = m * x
            recorder = _Recorder(net)
            out = student(x.clone(), m.clone(), recorder)
            if not isinstance(out, (tuple, list)) or len(out) != 2:
                raise Mistake(f"return a pair (x_out, log_abs_det), got {type(out).__name__}"
                              + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else ""))
            x_out, log_det = out
            if not recorder.inputs:
                raise Mistake("the conditioner was never called: compute s, t = net(x * mask) inside your layer")
            where = f" ({name})"
            first_mistake(x_out, [
                (keep + (1 - m) * (x * torch.exp(s_all) + t_all), "the conditioner was fed the unmasked x: then s "
                 "and t depend on the entries they transform, the Jacobian is no longer triangular (its log-det is "
                 "not sum s) and the layer cannot be inverted; feed it x * mask"),
                ((1 - m) * x + m * (x * torch.exp(s_flip) + t_flip), "the mask is the wrong way round: mask 1 marks "
                 "the KEPT entries, which pass unchanged and are what the conditioner sees (x * mask); the entries "
                 "with mask 0 are transformed"),
                ((1 - m) * x + m * (x * torch.exp(s_raw) + t_raw), "the mask is the wrong way round: you transformed "
                 "the kept entries (mask 1) and copied the others"),
                (x * torch.exp(s_raw) + t_raw, "the kept entries changed: net's s and t are not zero on them, so "
                 "apply the scale and shift only where mask is 0 (the kept entries pass unchanged)"),
                (keep + (1 - m) * (x * torch.exp(-s_raw) + t_raw), "you multiply by exp(-s): the layer multiplies "
                 "the transformed entries by exp(s) (s is the log-scale, log|det| = +sum s); exp(-s) belongs to the "
                 "inverse" + (" - and your +sum s log-det does not even match your own scaling, whose log-det is -sum s"
                              if matches(log_det, log_det_expected) else "")),
                (keep + (1 - m) * (x + t_raw) * torch.exp(s_raw), "wrong order: scale THEN shift, x exp(s) + t, "
                 "not (x + t) exp(s)"),
                (keep + (1 - m) * (x * s_raw + t_raw), "s is a LOG-scale: multiply by exp(s), not by s"),
                (x + (1 - m) * t_raw, "the scale is missing: this is NICE's additive coupling, x + t; the affine "
                 "layer multiplies by exp(s) first"),
            ], x_expected)
            fed = recorder.inputs[0]
            if not matches(fed, keep) and not matches(x_out, x_expected):
                raise Mistake("the conditioner should see only the kept entries, net(x * mask) (zeros where mask is 0); "
                              "yours got something else")
            expect_close(x_out, x_expected, "x_out" + where, atol=1e-8, rtol=1e-8)
            _per_example(log_det, x.shape[0])
            first_mistake(log_det, [
                (s_raw.flatten(1).sum(1), "the log-det summed s over the kept entries too: they are copied (diagonal "
                 "entries 1, log 1 = 0); sum s only where mask is 0"),
                (-log_det_expected, "sign error on the log-det: multiplying by exp(s) ADDS s to log|det|"),
                ((m * s_raw).flatten(1).sum(1), "the log-det sums s where mask is 1: the mask is the wrong way round "
                 "(mask 1 marks the kept entries, the scales act where mask is 0)"),
                (((1 - m) * torch.exp(s_raw)).flatten(1).sum(1), "you summed exp(s): the determinant is the "
                 "PRODUCT of exp(s), so its log is the SUM of s"),
                (torch.exp(s).flatten(1).prod(1), "that is |det| itself: return its log, the sum of s"),
                (s, "sum over the entries: one log-determinant per example, shape (B,)"),
                (s.flatten(1).mean(1), "you averaged: the log-det of a triangular Jacobian is the SUM of its log "
                 "diagonal entries"),
            ], log_det_expected)
            expect_close(log_det, log_det_expected, "log_abs_det" + where, atol=1e-8, rtol=1e-8)
            # The tests of the lecture: the full Jacobian's log-determinant, and the inverse.
            by_autograd = _jacobian_log_abs_det(student, x[:2], m, net)
            if not torch.allclose(by_autograd, log_det_expected[:2], atol=1e-7, rtol=1e-7):
                raise Mistake(f"your log-det {float(log_det_expected[0]):.4f} disagrees with slogdet of the autograd "
                              f"Jacobian of your layer, {float(by_autograd[0]):.4f}{where}")
            with torch.no_grad():
                x_back = _inverse(x_out.detach().to(x.dtype), m, net)
            expect_close(x_back, x, "x recovered by the inverse from your x_out" + where, atol=1e-8, rtol=1e-8)

    return run_checks("affine coupling layer", checks)


# ============================================================================ question


LOG_DET_QUESTION = {"height": 28, "width": 28, "channels": 1, "scale": 2.0}


def check_log_det_question(fn) -> Feedback:
    """Check ``fn() -> number``: ``log|det|`` in nats of ``x -> 2x`` on a one-channel 28x28 image.

    The Jacobian is ``2 I`` (784 x 784), so ``log|det| = 784 log 2 = 543.4`` nats: an actnorm with
    ``sigma = 2`` (``h w sum log|sigma|``); each wrong answer below says where it went off.
    """
    d = LOG_DET_QUESTION["height"] * LOG_DET_QUESTION["width"] * LOG_DET_QUESTION["channels"]
    ln2 = math.log(LOG_DET_QUESTION["scale"])
    mistakes = [
        (ln2, "that is one pixel's share: the Jacobian is 2I with 784 diagonal entries equal to 2, so det = 2^784 "
         "and log|det| = 784 log 2 (actnorm's h w sum log|sigma|)"),
        (-d * ln2, "sign: doubling spreads the images over 2^784 times the volume, so log|det| > 0; "
         "-784 log 2 belongs to the inverse map x -> x / 2"),
        (d, "that is in bits (log base 2): the question asks for nats, 784 ln 2"),
        (d * math.log10(2), "that is log base 10: nats are natural logarithms, 784 ln 2"),
        (2 * d, "you added the diagonal entries (that is the trace): the log-determinant adds their LOGS"),
        (math.log(2 * d), "that is the log of the trace: the determinant of a diagonal matrix is the PRODUCT of its "
         "diagonal entries, 2^784, whose log is 784 ln 2"),
        (2.0 ** d, "that is the determinant itself, 2^784: return its log, in nats"),
        (28 * ln2, "28 is one row: a 28x28 image has 784 pixels, and each one is doubled"),
        (3 * d * ln2, "a digit has one channel, not three: 784 entries, not 2352"),
    ]
    return check_value("log-determinant of x -> 2x", fn, d * ln2, "log|det| of x -> 2x on a 28x28 image, in nats",
                       mistakes)


# ============================================================================ dequantisation


def reference_dequantization_bound(log_p_y, n_levels, n_dims):
    return log_p_y - n_dims * math.log(n_levels)


def check_dequantization_bound(fn) -> Feedback:
    """Check ``fn(log_p_y, n_levels, n_dims) -> log P(x)`` bound in nats: ``log p(y) - D log K``.

    ``y = (k + u) / K`` squeezes each of the K levels into a cell of width ``1 / K`` in every one
    of the D dimensions; the change of variables from ``k + u`` to ``y`` contributes ``-D log K``.
    """

    def checks() -> None:
        student = answer(fn, "dequantization_bound", forbidden=[
            flows.DequantizedFlow.log_prob, flows.dequantized_bits_per_dim, reference_dequantization_bound])
        g = _generator(11)
        for n_levels, n_dims in ((17, 64), (256, 3), (2, 64)):
            log_p_y = 20 * torch.randn(6, generator=g, dtype=torch.float64)
            expected = reference_dequantization_bound(log_p_y, n_levels, n_dims)
            got = student(log_p_y.clone(), n_levels, n_dims)
            first_mistake(got, [
                (log_p_y + n_dims * math.log(n_levels), "sign error: squeezing each level into a cell of width "
                 "1/K makes the density K times higher per dimension, so SUBTRACT D log K"),
                (log_p_y, "the Jacobian term is missing: y = (k + u) / K, so p_v(k + u) = p_y(y) / K per dimension, "
                 "i.e. subtract D log K"),
                (log_p_y - math.log(n_levels), "the correction is per DIMENSION: subtract D log K, not log K"),
                (log_p_y - n_dims * math.log(n_levels - 1), "K levels, K cells: the cell width is 1/K, not 1/(K - 1)"),
                (expected / math.log(2), "that is in bits: the bound is in nats"),
                (expected / n_dims, "that is per dimension: the bound is on log P(x) of the whole image"),
            ], expected)
            expect_close(got, expected, f"the bound for K={n_levels}, D={n_dims}", atol=1e-6, rtol=1e-8)

    return run_checks("dequantisation bound", checks)
