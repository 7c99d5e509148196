"""Checkers for the exercises of notebook 04 (change of variables, normalizing flows).

- :func:`check_coupling_inverse`: invert an affine coupling layer given its scales and shifts;
- :func:`check_coupling_log_det`: the log-determinant ``sum (1 - m) s`` of an affine coupling;
- :func:`check_planar_log_det`: ``log|1 + u^T tanh'(w^T z + b) w|`` of a planar flow;
- :func:`check_dequantization_bound`: ``log p(y) - D log K``, the discrete log-likelihood bound.

Each runs the student's function on cases with known answers, names the mistakes it recognises
(a sign error, a missing Jacobian term, the mask forgotten, a mean instead of a sum, ...) and
returns a :class:`~course_gen.exercises.Feedback`; none raises.
"""

from __future__ import annotations

import math

import torch

from course_gen.exercises._feedback import Feedback, Mistake, expect_close, run_checks

__all__ = ["check_coupling_inverse", "check_coupling_log_det", "check_dequantization_bound", "check_planar_log_det"]


def _same(got, value: torch.Tensor, atol: float = 1e-6) -> bool:
    if not isinstance(got, torch.Tensor) or tuple(got.shape) != tuple(value.shape):
        return False
    return bool(torch.allclose(got.detach().to("cpu", value.dtype), value, atol=atol))


def _diagnose(got, mistakes) -> None:
    for wrong, message in mistakes:
        if _same(got, wrong):
            raise Mistake(message)


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ============================================================================ coupling


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
        for mask, s, t, x in _coupling_cases():
            x_out = mask * x + (1 - mask) * (x * torch.exp(s) + t)
            got = fn(x_out.clone(), mask.clone(), s.clone(), t.clone())
            keep = mask * x_out
            _diagnose(got, [
                (keep + (1 - mask) * (x_out + t) * torch.exp(-s), "sign error on the shift: undo the shift first, "
                 "x = (x_out - t) exp(-s), not (x_out + t) exp(-s)"),
                (keep + (1 - mask) * (x_out - t) * torch.exp(s), "the scale is applied again instead of undone: "
                 "divide by exp(s), i.e. multiply by exp(-s)"),
                (keep + (1 - mask) * (x_out * torch.exp(-s) - t), "wrong order: the forward map scales THEN shifts, "
                 "so the inverse shifts back THEN unscales: (x_out - t) exp(-s)"),
            ])
            if _same(got, (x_out - t) * torch.exp(-s)) and not _same(got, x):
                raise Mistake("the kept entries changed: with mask 1 they pass through unchanged (x = x_out there)")
            expect_close(got, x, "the reconstructed x", atol=1e-8, rtol=1e-8)

    return run_checks("coupling inverse", checks)


def check_coupling_log_det(fn) -> Feedback:
    """Check ``fn(s, mask) -> (B,)``: ``log|det dx_out/dx| = sum over the transformed entries of s``.

    ``s`` here is the raw network output (not yet masked): the kept entries (mask 1) contribute 0,
    so the answer is ``((1 - mask) * s)`` summed over every dimension but the batch.
    """

    def checks() -> None:
        for mask, _, _, x in _coupling_cases():
            raw = torch.randn(x.shape, generator=_generator(7), dtype=torch.float64)
            got = fn(raw.clone(), mask.clone())
            expected = ((1 - mask) * raw).flatten(1).sum(1)
            if isinstance(got, torch.Tensor) and got.numel() == 1 and x.shape[0] > 1:
                raise Mistake(f"return one log-determinant per example, shape ({x.shape[0]},), not one number for the batch")
            _diagnose(got, [
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
            ])
            expect_close(got, expected, "log|det|", atol=1e-8, rtol=1e-8)

    return run_checks("coupling log-determinant", checks)


# ============================================================================ planar


def reference_planar_log_det(z, u, w, b):
    psi = (1 - torch.tanh(z @ w + b) ** 2)[:, None] * w
    return torch.log(torch.abs(1 + psi @ u))


def check_planar_log_det(fn) -> Feedback:
    """Check ``fn(z, u, w, b) -> (B,)``: ``log|1 + u^T psi(z)|``, ``psi(z) = tanh'(w^T z + b) w``.

    ``tanh'(a) = 1 - tanh(a)^2``. Tried on 2-D and 5-D cases, some where ``1 + u^T psi`` is negative.
    """

    def checks() -> None:
        for dim in (2, 5):
            g = _generator(dim)
            z = torch.randn(8, dim, generator=g, dtype=torch.float64)
            u = 1.5 * torch.randn(dim, generator=g, dtype=torch.float64)
            w = torch.randn(dim, generator=g, dtype=torch.float64)
            if dim == 5:  # w^T u = -3 and z near the hyperplane: 1 + u^T psi changes sign
                u = u - (w @ u + 3) * w / (w @ w)
                z = 0.2 * z
            b = 0.3
            got = fn(z.clone(), u.clone(), w.clone(), b)
            a = z @ w + b
            h_prime = 1 - torch.tanh(a) ** 2
            _diagnose(got, [
                (torch.log(torch.abs(1 + torch.tanh(a) * (w @ u))), "you used h = tanh instead of its derivative "
                 "h' = 1 - tanh^2: psi(z) = h'(w^T z + b) w"),
                (torch.log(torch.abs(h_prime * (w @ u))), "the 1 is missing: the Jacobian is I + u psi^T, and "
                 "det(I + u psi^T) = 1 + u^T psi (the identity part of g(z) = z + ...)"),
                (torch.log(torch.abs(1 - h_prime * (w @ u))), "sign error: det = 1 + u^T psi(z), with a plus"),
                (-reference_planar_log_det(z, u, w, b), "sign error: this is minus log|det dg/dz|, the log-determinant "
                 "of the inverse map f = g^-1; the planar map g's own is +log|1 + u^T psi(z)|"),
            ])
            if isinstance(got, torch.Tensor) and bool(torch.isnan(got).any()):
                raise Mistake("NaNs: 1 + u^T psi can be negative; take the log of its ABSOLUTE value")
            expect_close(got, reference_planar_log_det(z, u, w, b), "log|det|", atol=1e-8, rtol=1e-8)

    return run_checks("planar log-determinant", checks)


# ============================================================================ dequantisation


def check_dequantization_bound(fn) -> Feedback:
    """Check ``fn(log_p_y, n_levels, n_dims) -> log P(x)`` bound in nats: ``log p(y) - D log K``.

    ``y = (k + u) / K`` squeezes each of the K levels into a cell of width ``1 / K`` in every one
    of the D dimensions; the change of variables from ``k + u`` to ``y`` contributes ``-D log K``.
    """

    def checks() -> None:
        g = _generator(11)
        for n_levels, n_dims in ((17, 64), (256, 3), (2, 64)):
            log_p_y = 20 * torch.randn(6, generator=g, dtype=torch.float64)
            got = fn(log_p_y.clone(), n_levels, n_dims)
            if isinstance(got, (int, float)):
                got = torch.tensor(float(got), dtype=torch.float64)
            expected = log_p_y - n_dims * math.log(n_levels)
            _diagnose(got, [
                (log_p_y + n_dims * math.log(n_levels), "sign error: squeezing each level into a cell of width "
                 "1/K makes the density K times higher per dimension, so SUBTRACT D log K"),
                (log_p_y, "the Jacobian term is missing: y = (k + u) / K, so p_v(k + u) = p_y(y) / K per dimension, "
                 "i.e. subtract D log K"),
                (log_p_y - math.log(n_levels), "the correction is per DIMENSION: subtract D log K, not log K"),
                (log_p_y - n_dims * math.log(n_levels - 1), "K levels, K cells: the cell width is 1/K, not 1/(K - 1)"),
                ((log_p_y - n_dims * math.log(n_levels)) / math.log(2), "that is in bits: the bound is in nats"),
            ])
            expect_close(got, expected, f"the bound for K={n_levels}, D={n_dims}", atol=1e-6, rtol=1e-8)

    return run_checks("dequantisation bound", checks)
