"""Checkers for the exercises of notebook 08 (diffusion models and flow matching).

Conventions as in :mod:`course_gen.diffusion`: ``betas[t - 1]`` is beta_t for t = 1..T, alpha_t = 1 - beta_t,
abar_t = prod_{s <= t} alpha_s (abar_0 = 1), ``t`` an int64 tensor ``(B,)``, batches ``(B, ...)``.

- :func:`check_q_sample`: ``x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) noise``;
- :func:`check_posterior_mean`: the mean of q(x_{t-1} | x_t, x_0),
  ``sqrt(abar_{t-1}) beta_t / (1 - abar_t) x0 + sqrt(alpha_t) (1 - abar_{t-1}) / (1 - abar_t) x_t``;
- :func:`check_ddim_step`: one deterministic DDIM step (eta = 0) from t to t_prev (0 allowed),
  ``sqrt(abar_prev) x0_hat + sqrt(1 - abar_prev) eps`` with ``x0_hat = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t)``;
- :func:`check_flow_matching_target`: ``(x_s, v) = ((1 - s) x0 + s x1, x1 - x0)``, noise x0 at s = 0, data x1 at s = 1;
- :func:`check_diffusion_question`: why DDIM may take 50 steps with a network trained for T = 1000;
- :func:`check_ancestral_sampler` (the larger task): the DDPM sampling loop ``x_{t-1} = mu_theta(x_t, t) +
  sigma_t z_t`` from x_T to x_0, with the given noises, run with the exact noise predictor of Gaussian data
  N(m, diag s^2) (for which E[eps | x_t] is linear in x_t); sigma_t^2 = beta_t or the posterior's
  variance (1 - abar_{t-1}) / (1 - abar_t) beta_t, both accepted (Ho et al. found them equally good).

Each runs the student's function on cases with known answers, names the mistakes it recognises (a square
root forgotten, beta where alpha = 1 - beta belongs, abar_{t-1} or abar_{t+1} for abar_t, 0-based indexing,
signal and noise coefficients swapped, a sign, the path or the velocity reversed, the loop run upwards,
noise at the last step, ...) and returns a :class:`~course_gen.exercises.Feedback`; none raises. An answer
that calls the package's own implementation (``course_gen.diffusion.q_sample``, ``alpha_bars``,
``q_posterior``, ``ddim_step``, ``flow_matching_pair``, ``DDPM.denoise``, ...) earns nothing.
"""

from __future__ import annotations

import numbers

import torch

from course_gen import diffusion
from course_gen.diffusion import DDPM
from course_gen.exercises._feedback import (
    Feedback, Mistake, answer, check_choice, expect_close, first_mistake, matches, run_checks,
)

__all__ = [
    "DDIM_QUESTION_OPTIONS", "check_ancestral_sampler", "check_ddim_step", "check_diffusion_question",
    "check_flow_matching_target", "check_posterior_mean", "check_q_sample",
]

ATOL, RTOL = 1e-5, 1e-4  # float32 answers pass; every named mistake is further away than this

_INDEX_HINT = ("t runs from 1 to T and betas[t - 1] is beta_t, so abar_t = cumprod(1 - betas)[t - 1]: indexing "
               "with t itself (0-based) is off by one and runs past the end at t = T")
_IMAGES_HINT = ("your function works on batches (B, D) but fails on images (B, 1, H, W): shape the per-example "
                "coefficients (B,) as (B, 1, ..., 1) so they broadcast, e.g. a.reshape(-1, *[1] * (x.dim() - 1))")


# ============================================================================ shared pieces


def _cumprod(betas: torch.Tensor) -> torch.Tensor:
    """``cumprod(1 - betas)`` in float64: entry ``i`` is abar_{i+1} (0-based, as a student indexes it)."""
    return torch.cumprod(1 - betas.double(), dim=0)


def _at(table: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``table[index]`` as Python indexes it (negative indices wrap), NaN past the end (where a student's
    code would raise): the values a slip in the indexing produces."""
    n = len(table)
    safe = index.clamp(-n, n - 1)
    return torch.where(index < n, table[safe], torch.full_like(table[safe], float("nan")))


def _col(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Per-example values ``(B,)`` shaped ``(B, 1, ..., 1)`` to broadcast against ``like``."""
    return values.reshape(-1, *([1] * (like.dim() - 1)))


def _call(student, args: tuple, images: bool, index_hint: str = _INDEX_HINT):
    """``student(*args)``, with an IndexError or (on images) a broadcasting error explained."""
    try:
        return student(*args)
    except IndexError as error:
        raise Mistake(f"IndexError ({error}): {index_hint}") from None
    except RuntimeError as error:
        if images:
            raise Mistake(f"{_IMAGES_HINT} (the error: {error})") from None
        raise


def _schedules() -> list[torch.Tensor]:
    """Two schedules with large steps (so that neighbouring abar_t differ clearly): linear over T = 8,
    the course's cosine over T = 20."""
    return [torch.linspace(0.05, 0.3, 8, dtype=torch.float64), diffusion.betas(20, "cosine")]


def _batch(seed: int, images: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Three tensors ``(B, ...)``: (6, 3) or images (4, 1, 2, 3), seeded."""
    g = torch.Generator().manual_seed(seed)
    shape = (4, 1, 2, 3) if images else (6, 3)
    return tuple(torch.randn(shape, generator=g, dtype=torch.float64) * 1.5 + 0.5 for _ in range(3))


#: What computes abar for the student: forbidden in every diffusion exercise (it is part of each).
_SCHEDULE_FORBIDDEN = (diffusion.alpha_bars, diffusion.snr)


# ============================================================================ q(x_t | x_0)


def _q_sample_reference(x0, t, betas, noise):
    a = _col(_cumprod(betas)[t - 1], x0)
    return a.sqrt() * x0 + (1 - a).sqrt() * noise


def _q_sample_mistakes(x0, t, betas, noise) -> list[tuple[torch.Tensor, str]]:
    cp = _cumprod(betas)
    a, beta = _col(cp[t - 1], x0), _col(betas.double()[t - 1], x0)

    def mix(signal, noisy):
        return signal * x0 + noisy * noise

    single = "the closed form needs abar_t = prod_{s=1..t} (1 - beta_s), the product over ALL steps up to t"
    return [
        (mix(a, 1 - a), "the square roots are missing: x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) noise (abar_t and "
                        "1 - abar_t are the variances of the two parts; the coefficients are their square roots)"),
        (mix(a, (1 - a).sqrt()), "sqrt forgotten on abar_t: the signal's coefficient is sqrt(abar_t), not abar_t"),
        (mix(a.sqrt(), 1 - a), "the noise's coefficient is the standard deviation sqrt(1 - abar_t), not the "
                               "variance 1 - abar_t"),
        (mix((1 - a).sqrt(), a.sqrt()), "signal and noise coefficients are swapped: sqrt(abar_t) multiplies x0 "
                                        "(abar_t is near 1 at small t, where x_t is almost x0)"),
        (mix(a.sqrt(), -(1 - a).sqrt()), "wrong sign: the noise is ADDED, + sqrt(1 - abar_t) noise"),
        (mix(_col(torch.cumprod(betas.double(), 0)[t - 1], x0).sqrt(),
             (1 - _col(torch.cumprod(betas.double(), 0)[t - 1], x0)).sqrt()),
         "beta used where 1 - beta belongs: abar_t = prod_{s<=t} alpha_s with alpha_s = 1 - beta_s; you "
         "multiplied the betas"),
        (mix((1 - beta).sqrt(), beta.sqrt()),
         f"that is ONE step q(x_t | x_{{t-1}}) with alpha_t = 1 - beta_t: {single}"),
        (mix(beta.sqrt(), (1 - beta).sqrt()), f"beta_t used where abar_t belongs: {single}"),
        (mix(_col(_at(cp, t), x0).sqrt(), (1 - _col(_at(cp, t), x0)).sqrt()),
         f"t is off by one: you used abar_{{t+1}} (0-based indexing, cumprod(1 - betas)[t]); {_INDEX_HINT}"),
        (mix(_col(_at(cp, t - 2), x0).sqrt(), (1 - _col(_at(cp, t - 2), x0)).sqrt()),
         "t is off by one: you used abar_{t-1} (cumprod(1 - betas)[t - 2]); abar_t includes step t itself, "
         "it is cumprod(1 - betas)[t - 1]"),
    ]


def _q_sample_cases() -> list[tuple[tuple, bool]]:
    short, cosine = _schedules()
    x0, noise, _ = _batch(1, images=False)
    t = torch.tensor([2, 5, 7, 3, 6, 4])  # away from 1 and T: every off-by-one gives a number to recognise
    x0_img, noise_img, _ = _batch(2, images=True)
    t_img = torch.tensor([1, 20, 9, 14])
    return [((x0, t, short, noise), False), ((x0_img, t_img, cosine, noise_img), True)]


_Q_SAMPLE_FORBIDDEN = (diffusion.q_sample, _q_sample_reference) + _SCHEDULE_FORBIDDEN


def check_q_sample(fn) -> Feedback:
    """Check ``fn(x0, t, betas, noise) -> x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) noise``, abar_t =
    ``cumprod(1 - betas)[t - 1]``, for batches (B, D) and images (B, 1, H, W), t in 1..T."""

    def checks() -> None:
        student = answer(fn, "q_sample", forbidden=_Q_SAMPLE_FORBIDDEN)
        for args, images in _q_sample_cases():
            got = _call(student, tuple(a.clone() for a in args), images)
            expected = _q_sample_reference(*args)
            first_mistake(got, _q_sample_mistakes(*args), expected, atol=ATOL)
            expect_close(got, expected, "x_t", atol=ATOL, rtol=RTOL)

    return run_checks("sample of q(x_t | x_0)", checks)


# ============================================================================ posterior mean


def _posterior_formula(x0, xt, beta, abar_t, abar_prev, root=(True, True)):
    """``sqrt(abar_prev) beta / (1 - abar_t) x0 + sqrt(alpha) (1 - abar_prev) / (1 - abar_t) xt`` from (B,)
    values; ``root`` = (sqrt on abar_prev, sqrt on alpha): False drops it (a mistake)."""
    beta, abar_t, abar_prev = (_col(v, x0) for v in (beta, abar_t, abar_prev))
    signal = abar_prev.sqrt() if root[0] else abar_prev
    alpha = (1 - beta).sqrt() if root[1] else 1 - beta
    return (signal * beta * x0 + alpha * (1 - abar_prev) * xt) / (1 - abar_t)


def _posterior_reference(x0, xt, t, betas):
    cp = _cumprod(betas)
    return _posterior_formula(x0, xt, betas.double()[t - 1], cp[t - 1], cp[t - 2])


def _posterior_mistakes(x0, xt, t, betas) -> list[tuple[torch.Tensor, str]]:
    cp, b = _cumprod(betas), betas.double()
    beta, abar_t, abar_prev = b[t - 1], cp[t - 1], cp[t - 2]
    c = [_col(v, x0) for v in (beta, abar_t, abar_prev)]
    coef_x0, coef_xt = c[2].sqrt() * c[0] / (1 - c[1]), (1 - c[0]).sqrt() * (1 - c[2]) / (1 - c[1])

    def at_shift(k):  # the whole formula evaluated at t + k, as a shifted index computes it
        return _posterior_formula(x0, xt, _at(b, t - 1 + k), _at(cp, t - 1 + k), _at(cp, t - 2 + k))

    return [
        (coef_xt * x0 + coef_x0 * xt, "the coefficients of x0 and x_t are swapped: x0's is sqrt(abar_{t-1}) "
                                      "beta_t / (1 - abar_t), x_t's is sqrt(alpha_t) (1 - abar_{t-1}) / (1 - abar_t)"),
        (_posterior_formula(x0, xt, beta, abar_t, abar_prev, (False, False)),
         "both square roots are missing: sqrt(abar_{t-1}) in x0's coefficient and sqrt(alpha_t) in x_t's"),
        (_posterior_formula(x0, xt, beta, abar_t, abar_prev, (False, True)),
         "sqrt forgotten on abar_{t-1}: x0's coefficient is sqrt(abar_{t-1}) beta_t / (1 - abar_t)"),
        (_posterior_formula(x0, xt, beta, abar_t, abar_prev, (True, False)),
         "sqrt forgotten on alpha_t: x_t's coefficient is sqrt(alpha_t) (1 - abar_{t-1}) / (1 - abar_t)"),
        (c[2].sqrt() * (1 - c[0]) / (1 - c[1]) * x0 + c[0].sqrt() * (1 - c[2]) / (1 - c[1]) * xt,
         "alpha and beta are swapped: x0's coefficient has beta_t, x_t's has sqrt(alpha_t) = sqrt(1 - beta_t)"),
        (c[2].sqrt() * (1 - c[0]) / (1 - c[1]) * x0 + coef_xt * xt,
         "x0's coefficient has beta_t (you used alpha_t = 1 - beta_t): sqrt(abar_{t-1}) beta_t / (1 - abar_t)"),
        (coef_x0 * x0 + c[0].sqrt() * (1 - c[2]) / (1 - c[1]) * xt,
         "x_t's coefficient has sqrt(alpha_t) = sqrt(1 - beta_t), not sqrt(beta_t)"),
        (coef_x0 * x0 + c[1].sqrt() * (1 - c[2]) / (1 - c[1]) * xt,
         "x_t's coefficient has sqrt(alpha_t) of the single step t (1 - beta_t), not sqrt(abar_t)"),
        (_posterior_formula(x0, xt, beta, abar_t, abar_t), "you used abar_t where abar_{t-1} belongs (the "
                                                            "numerators have abar_{t-1}, the denominators 1 - abar_t)"),
        (_posterior_formula(x0, xt, beta, abar_prev, abar_prev), "the denominators are 1 - abar_t, not 1 - abar_{t-1}"),
        (at_shift(1), f"t is off by one: you used the formula at t + 1 (0-based indexing: betas[t] is beta_{{t+1}}); "
                      f"{_INDEX_HINT}, abar_{{t-1}} = cumprod(1 - betas)[t - 2]"),
        (at_shift(-1), "t is off by one: you used the formula at t - 1; beta_t = betas[t - 1], abar_t = "
                       "cumprod(1 - betas)[t - 1], abar_{t-1} = cumprod(1 - betas)[t - 2]"),
    ]


def _posterior_cases() -> list[tuple[tuple, bool]]:
    short, cosine = _schedules()
    x0, xt, _ = _batch(3, images=False)
    t = torch.tensor([3, 5, 7, 4, 6, 3])  # 3..T-1: both off-by-ones give numbers
    x0_img, xt_img, _ = _batch(4, images=True)
    t_img = torch.tensor([2, 20, 11, 6])
    return [((x0, xt, t, short), False), ((x0_img, xt_img, t_img, cosine), True)]


_POSTERIOR_FORBIDDEN = (diffusion.q_posterior, diffusion.ddpm_mean, _posterior_reference) + _SCHEDULE_FORBIDDEN


def check_posterior_mean(fn) -> Feedback:
    """Check ``fn(x0, xt, t, betas)``: the mean of q(x_{t-1} | x_t, x_0) for t in 2..T,
    ``sqrt(abar_{t-1}) beta_t / (1 - abar_t) x0 + sqrt(alpha_t) (1 - abar_{t-1}) / (1 - abar_t) x_t``."""

    def checks() -> None:
        student = answer(fn, "posterior_mean", forbidden=_POSTERIOR_FORBIDDEN)
        for args, images in _posterior_cases():
            got = _call(student, tuple(a.clone() for a in args), images)
            if isinstance(got, (tuple, list)):
                raise Mistake("return the mean only (one tensor shaped like x0), not a tuple such as (mean, variance)")
            expected = _posterior_reference(*args)
            first_mistake(got, _posterior_mistakes(*args), expected, atol=ATOL)
            expect_close(got, expected, "the posterior mean", atol=ATOL, rtol=RTOL)

    return run_checks("posterior mean of q(x_{t-1} | x_t, x_0)", checks)


# ============================================================================ DDIM step


def _ddim_formula(xt, eps, abar_t, abar_prev, roots=(True, True, True, True)):
    """``sqrt(ap) x0_hat + sqrt(1 - ap) eps``, ``x0_hat = (xt - sqrt(1 - at) eps) / sqrt(at)``; ``roots``
    switches off the sqrt on (1 - at, at, ap, 1 - ap) in that order (mistakes)."""
    at, ap = _col(abar_t, xt), _col(abar_prev, xt)

    def root(v, keep):
        return v.sqrt() if keep else v

    x0_hat = (xt - root(1 - at, roots[0]) * eps) / root(at, roots[1])
    return root(ap, roots[2]) * x0_hat + root(1 - ap, roots[3]) * eps


def _padded(betas: torch.Tensor) -> torch.Tensor:
    """abar_0 = 1, abar_1, ..., abar_T, indexed by t itself."""
    return torch.cat([torch.ones(1, dtype=torch.float64), _cumprod(betas)])


def _ddim_reference(xt, t, t_prev, betas, eps):
    abar = _padded(betas)
    return _ddim_formula(xt, eps, abar[t], abar[t_prev])


def _ddim_mistakes(xt, t, t_prev, betas, eps) -> list[tuple[torch.Tensor, str]]:
    cp, abar, b = _cumprod(betas), _padded(betas), betas.double()
    at, ap = abar[t], abar[t_prev]
    x0_hat = (xt - _col((1 - at).sqrt(), xt) * eps) / _col(at.sqrt(), xt)
    alphas = torch.cat([torch.ones(1, dtype=torch.float64), 1 - b])  # alpha_t of the single step, alpha_0 := 1
    betabar = torch.cat([torch.ones(1, dtype=torch.float64), torch.cumprod(b, 0)])
    ddpm_mean = (xt - _col(b[t - 1] / (1 - at).sqrt(), xt) * eps) / _col((1 - b[t - 1]).sqrt(), xt)
    no_roots = "forgotten: x0_hat = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t)"
    return [
        (_ddim_formula(xt, eps, at, _at(cp, t_prev - 1)),
         "at t_prev = 0 you used cumprod(1 - betas)[-1], which is abar_T (Python wraps index -1 around): "
         "abar_0 = 1 (x_0 carries no noise), so prepend a 1 to the abar table, or treat t_prev = 0 apart"),
        (_ddim_formula(xt, eps, at, torch.where(t_prev == 0, torch.zeros_like(ap), ap)),
         "abar_0 = 1, not 0: x_0 carries no noise, so the step to t_prev = 0 returns x0_hat itself"),
        (_ddim_formula(xt, eps, _at(cp, t), _at(cp, t_prev)),
         f"t is off by one: you used abar_{{t+1}} and abar_{{t_prev+1}} (0-based indexing); {_INDEX_HINT}"),
        (_ddim_formula(xt, eps, at, abar[t - 1]), "you stepped to t - 1: a DDIM step jumps from t straight to "
                                                  "t_prev, with abar_{t_prev}"),
        (_ddim_formula(xt, eps, at, ap, (False, False, True, True)), f"both square roots in x0_hat are {no_roots}"),
        (_ddim_formula(xt, eps, at, ap, (True, False, True, True)), f"sqrt on abar_t {no_roots}"),
        (_ddim_formula(xt, eps, at, ap, (False, True, True, True)), f"sqrt on 1 - abar_t {no_roots}"),
        (_ddim_formula(xt, eps, at, ap, (True, True, False, False)),
         "the square roots are missing in the step: x_{t_prev} = sqrt(abar_prev) x0_hat + sqrt(1 - abar_prev) eps"),
        (_ddim_formula(xt, eps, at, ap, (True, True, False, True)),
         "sqrt forgotten on abar_prev: x_{t_prev} = sqrt(abar_prev) x0_hat + sqrt(1 - abar_prev) eps"),
        (_ddim_formula(xt, eps, at, ap, (True, True, True, False)),
         "sqrt forgotten on 1 - abar_prev: x_{t_prev} = sqrt(abar_prev) x0_hat + sqrt(1 - abar_prev) eps"),
        (_col((1 - ap).sqrt(), xt) * x0_hat + _col(ap.sqrt(), xt) * eps,
         "signal and noise coefficients are swapped: sqrt(abar_prev) multiplies x0_hat, sqrt(1 - abar_prev) eps"),
        (_col(ap.sqrt(), xt) * x0_hat - _col((1 - ap).sqrt(), xt) * eps,
         "wrong sign: x_{t_prev} = sqrt(abar_prev) x0_hat + sqrt(1 - abar_prev) eps (the same eps, added back)"),
        (_col(ap.sqrt(), xt) * (xt + _col((1 - at).sqrt(), xt) * eps) / _col(at.sqrt(), xt)
         + _col((1 - ap).sqrt(), xt) * eps,
         "wrong sign in x0_hat: x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps gives x0_hat = (x_t - sqrt(1 - abar_t) "
         "eps) / sqrt(abar_t)"),
        (_col(ap.sqrt(), xt) * (xt - _col((1 - at).sqrt(), xt) * eps) + _col((1 - ap).sqrt(), xt) * eps,
         "x0_hat must be divided by sqrt(abar_t): x0_hat = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t)"),
        (x0_hat, "you returned x0_hat, the predicted x_0: the step goes to x_{t_prev} = sqrt(abar_prev) x0_hat + "
                 "sqrt(1 - abar_prev) eps (x0_hat only when t_prev = 0)"),
        (_ddim_formula(xt, eps, alphas[t], alphas[t_prev]),
         "alpha_t = 1 - beta_t of a single step used where abar_t, the product of all alphas up to t, belongs"),
        (_ddim_formula(xt, eps, betabar[t], betabar[t_prev]),
         "beta used where 1 - beta belongs: abar_t = prod_{s<=t} (1 - beta_s); you multiplied the betas"),
        (ddpm_mean, "that is the DDPM (ancestral) mean for one step t -> t - 1; DDIM predicts x0_hat and jumps "
                    "to t_prev: sqrt(abar_prev) x0_hat + sqrt(1 - abar_prev) eps"),
        (xt.clone(), "you returned x_t unchanged"),
    ]


_DDIM_INDEX_HINT = (f"{_INDEX_HINT}; for t_prev = 0 use abar_0 = 1, e.g. a table "
                    "torch.cat([torch.ones(1), cumprod(1 - betas)]) indexed by t itself")


def _ddim_cases() -> list[tuple[tuple, bool]]:
    short, cosine = _schedules()
    xt, eps, _ = _batch(5, images=False)
    t, t_prev = torch.tensor([7, 6, 5, 4, 3, 2]), torch.tensor([5, 0, 2, 0, 1, 1])  # below T: off-by-ones give numbers
    xt_img, eps_img, _ = _batch(6, images=True)
    t_img, t_prev_img = torch.tensor([20, 1, 12, 20]), torch.tensor([0, 0, 7, 19])
    return [((xt, t, t_prev, short, eps), False), ((xt_img, t_img, t_prev_img, cosine, eps_img), True)]


_DDIM_FORBIDDEN = (diffusion.ddim_step, diffusion.predicted_x0, diffusion.q_sample, _ddim_reference) + \
    _SCHEDULE_FORBIDDEN


def check_ddim_step(fn) -> Feedback:
    """Check ``fn(xt, t, t_prev, betas, eps)``: one deterministic DDIM step (eta = 0),
    ``sqrt(abar_prev) x0_hat + sqrt(1 - abar_prev) eps``, ``x0_hat = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t)``,
    with t_prev in 0..t-1 and abar_0 = 1."""

    def checks() -> None:
        student = answer(fn, "ddim_step", forbidden=_DDIM_FORBIDDEN)
        for args, images in _ddim_cases():
            got = _call(student, tuple(a.clone() for a in args), images, _DDIM_INDEX_HINT)
            expected = _ddim_reference(*args)
            first_mistake(got, _ddim_mistakes(*args), expected, atol=ATOL)
            if matches(got, expected, ATOL, RTOL) and not matches(student(*(a.clone() for a in args)), got, 1e-12, 0):
                raise Mistake("a DDIM step with eta = 0 is deterministic: it draws no noise of its own (the "
                              "given eps is the model's prediction, reused in the step)")
            expect_close(got, expected, "x_{t_prev}", atol=ATOL, rtol=RTOL)

    return run_checks("one DDIM step", checks)


# ============================================================================ flow matching


def _flow_reference(x0, x1, s):
    s = _col(s, x0)
    return (1 - s) * x0 + s * x1, x1 - x0


def _flow_cases() -> list[tuple[tuple, bool]]:
    x0, x1, _ = _batch(7, images=False)
    s = torch.tensor([0.1, 0.35, 0.5, 0.62, 0.8, 0.93], dtype=torch.float64)  # inside (0, 1): mistakes show
    x0_img, x1_img, _ = _batch(8, images=True)
    s_img = torch.tensor([0.0, 1.0, 0.25, 0.6], dtype=torch.float64)  # the ends of the path too
    return [((x0, x1, s), False), ((x0_img, x1_img, s_img), True)]


def _flow_point_mistakes(x0, x1, s) -> list[tuple[torch.Tensor, str]]:
    c = _col(s, x0)
    return [
        (c * x0 + (1 - c) * x1, "the interpolation is reversed: s = 0 is the noise x0 and s = 1 the data x1, so "
                                "x_s = (1 - s) x0 + s x1"),
        ((1 - c).sqrt() * x0 + c.sqrt() * x1, "the straight path is linear in s: x_s = (1 - s) x0 + s x1 (square "
                                              "roots belong to the variance-preserving diffusion path)"),
        (x0 + c * x1, "x_s = (1 - s) x0 + s x1: the noise fades out as the data fades in"),
    ]


def _flow_velocity_mistakes(x0, x1, s) -> list[tuple[torch.Tensor, str]]:
    c = _col(s, x0)
    xs = (1 - c) * x0 + c * x1
    constant = "on a straight path the velocity is constant: v = d x_s / ds = x1 - x0"
    return [
        (x0 - x1, "the velocity is reversed: it points from the noise toward the data, v = d x_s / ds = x1 - x0"),
        (x1 - xs, f"x1 - x_s = (1 - s)(x1 - x0) shrinks along the path: {constant}"),
        (xs - x0, f"x_s - x0 = s (x1 - x0) is the distance travelled so far: {constant}"),
        (x1.clone(), f"the velocity is not the data point: {constant}"),
        (x0.clone(), f"that is the noise (DDPM's epsilon target); flow matching regresses the velocity: {constant}"),
    ]


def _pair(got) -> tuple:
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise Mistake(f"return the pair (x_s, velocity), e.g. `return xs, v`; got {type(got).__name__}")
    return tuple(got)


def check_flow_matching_target(fn) -> Feedback:
    """Check ``fn(x0, x1, s) -> (x_s, v)``: the point ``(1 - s) x0 + s x1`` of the straight path from the
    noise x0 (s = 0) to the data x1 (s = 1) and its velocity ``x1 - x0``; ``s`` is ``(B,)`` in [0, 1]."""

    def checks() -> None:
        student = answer(fn, "flow_matching_target", forbidden=[diffusion.flow_matching_pair, _flow_reference])
        for args, images in _flow_cases():
            xs, v = _pair(_call(student, tuple(a.clone() for a in args), images))
            expected_xs, expected_v = _flow_reference(*args)
            if matches(xs, expected_v, ATOL, RTOL) and matches(v, expected_xs, ATOL, RTOL):
                raise Mistake("you returned (velocity, x_s): return them in the order (x_s, velocity)")
            first_mistake(xs, _flow_point_mistakes(*args), expected_xs, atol=ATOL)
            expect_close(xs, expected_xs, "x_s", atol=ATOL, rtol=RTOL)
            s = args[2]
            if isinstance(v, torch.Tensor) and v.shape == expected_v.shape and v.is_floating_point():
                bad = ~torch.isfinite(v.detach().cpu()).reshape(len(s), -1).all(1)
                if bool(bad.any()) and bool((s[bad] == 1).all()):
                    raise Mistake("your velocity is NaN or inf at s = 1: you divided by 1 - s; on a straight path "
                                  "the velocity is simply x1 - x0, the same at every s")
            first_mistake(v, _flow_velocity_mistakes(*args), expected_v, atol=ATOL)
            expect_close(v, expected_v, "the target velocity", atol=ATOL, rtol=RTOL)

    return run_checks("flow-matching target", checks)


# ============================================================================ the question

#: The options of the conceptual question of notebook 08: why may DDIM take 50 steps with a network trained
#: for T = 1000?
DDIM_QUESTION_OPTIONS = {
    "A": "DDIM fine-tunes the network on the 50-step chain before sampling",
    "B": "each of the 50 steps adds 20 times more fresh noise, which averages out the network's errors",
    "C": "the training loss only involves the marginals q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I): the "
         "network predicts the noise in x_t whatever chain led there, so any process with the same abar_t at "
         "the kept steps (such as DDIM's jump from t to t_prev) can use it",
    "D": "DDIM's deterministic steps make no error at any step size, so 1 step would do as well as 50",
}

_DDIM_WHY_NOT = {
    "A": "no weight changes: DDIM samples with the very network trained with T = 1000 (the same weights); only "
         "the sampling chain is different",
    "B": "with eta = 0 a DDIM step adds no noise at all: it is deterministic, x_T fixes the image",
    "D": "x0_hat is only the network's guess of E[x_0 | x_t]: one jump from t = T returns that average, a blurry "
         "digit. Each step moves along an ODE, and large steps have discretisation error; the FID against the "
         "number of steps in this notebook shows it",
}


def check_diffusion_question(fn) -> Feedback:
    """Check ``fn() -> "C"``: DDIM may skip steps because the noise-prediction loss only sees the marginals
    q(x_t | x_0), not the Markov chain between them. Each wrong letter is explained."""
    return check_choice("why DDIM may skip steps", fn, DDIM_QUESTION_OPTIONS, "C", _DDIM_WHY_NOT)


# ============================================================================ ancestral sampler (larger task)


def _optimal_eps(x: torch.Tensor, abar: float, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """E[eps | x_t = x] for data N(mean, diag std^2): x_t = sqrt(abar) x0 + sqrt(1 - abar) eps is Gaussian with
    variance abar std^2 + 1 - abar and covariance sqrt(1 - abar) with eps, so the regression is linear."""
    return (1 - abar) ** 0.5 * (x - abar ** 0.5 * mean) / (abar * std**2 + 1 - abar)


class _GaussianDenoiser:
    """The best noise predictor ``eps_model(x, t)`` for Gaussian data; it checks how it is called (the
    batch x shaped like x_T, one step t in 1..T as an int or an integer tensor) and records the steps."""

    def __init__(self, betas: torch.Tensor, mean: torch.Tensor, std: torch.Tensor, shape: tuple[int, ...]):
        self.abar, self.mean, self.std, self.shape = _cumprod(betas), mean, std, shape
        self.steps: list[int] = []

    def _step(self, t) -> int:
        if isinstance(t, numbers.Integral) and not isinstance(t, bool):
            values = [int(t)]
        elif isinstance(t, torch.Tensor) and not t.is_floating_point() and t.dtype != torch.bool and t.dim() <= 1:
            values = sorted(set(int(v) for v in t.reshape(-1).tolist()))
        else:
            raise Mistake("eps_model(x, t) takes the step t as an integer tensor (B,), e.g. "
                          f"torch.full((len(x),), t, dtype=torch.long); got {type(t).__name__} "
                          f"{getattr(t, 'dtype', '')}".rstrip())
        if len(values) != 1:
            raise Mistake(f"all chains are at the same step: pass one t for the whole batch, got steps {values}")
        T = len(self.abar)
        if not 1 <= values[0] <= T:
            raise Mistake(f"eps_model was called with t = {values[0]}: the steps run t = T, T - 1, ..., 1 "
                          f"(here T = {T}), 1-based like betas[t - 1] = beta_t; a loop over range(T) must pass t + 1")
        return values[0]

    def __call__(self, x, t):
        if not isinstance(x, torch.Tensor) or tuple(x.shape) != self.shape:
            raise Mistake(f"eps_model(x, t) takes the whole batch x of x_T's shape {self.shape}, got "
                          f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
        step = self._step(t)
        self.steps.append(step)
        return _optimal_eps(x, float(self.abar[step - 1]), self.mean.to(x.dtype), self.std.to(x.dtype))


def _ancestral(betas, x_T, noises, eps_fn, variance="beta", **slip) -> torch.Tensor:
    """The DDPM sampler, ``x_{t-1} = (x_t - beta_t / sqrt(1 - abar_t) eps) / sqrt(alpha_t) + sigma_t z_t`` for
    t = T..1 with ``z_t = noises[t - 1]`` and no noise at t = 1, ``sigma_t^2`` = beta_t (``variance="beta"``) or
    the posterior's; ``slip`` switches on one mistake (see :func:`_sampler_mistakes`)."""
    b, cp = betas.double(), _cumprod(betas)
    T, x = len(b), x_T.clone()
    for t in range(T, 0, -1):
        beta, abar, abar_prev = b[t - 1], cp[t - 1], (cp[t - 2] if t > 1 else torch.tensor(1.0, dtype=torch.float64))
        eps = eps_fn(x, t)
        coef = slip.get("coef", lambda be, ab, abp: be / (1 - ab).sqrt())(beta, abar, abar_prev)
        divisor = slip.get("divisor", lambda be, ab: (1 - be).sqrt())(beta, abar)
        x = (x - slip.get("eps_sign", 1.0) * coef * eps) / divisor
        var = beta if variance == "beta" else (1 - abar_prev) / (1 - abar) * beta
        sigma = var if slip.get("sigma_is_variance") else var.sqrt()
        if (t > 1 or slip.get("last_noise")) and not slip.get("no_noise"):
            z = noises[T - t] if slip.get("noise_in_loop_order") else noises[t - 1]
            x = x + slip.get("noise_sign", 1.0) * sigma * z
    return x


def _ddim_chain(betas, x_T, eps_fn) -> torch.Tensor:
    abar, x = _padded(betas), x_T.clone()
    for t in range(len(betas), 0, -1):
        eps = eps_fn(x, t)
        x0_hat = (x - (1 - abar[t]).sqrt() * eps) / abar[t].sqrt()
        x = abar[t - 1].sqrt() * x0_hat + (1 - abar[t - 1]).sqrt() * eps
    return x


_SAMPLER_SLIPS = [
    (dict(last_noise=True), "no noise at the last step: at t = 1 the sampler returns the mean mu_theta(x_1, 1) "
                            "(DDPM's algorithm takes z = 0 when t = 1)"),
    (dict(no_noise=True), "no noise was added: ancestral sampling adds sigma_t z_t (z_t = noises[t - 1]) at every "
                          "step t > 1; without it the chain collapses toward the mean"),
    (dict(sigma_is_variance=True), "sigma_t is a standard deviation: add sqrt(beta_t) z_t (or the square root of "
                                   "the posterior variance), not beta_t z_t"),
    (dict(noise_sign=-1.0), "the noise is added: x_{t-1} = mu_theta(x_t, t) + sigma_t z_t"),
    (dict(noise_in_loop_order=True), "noises[t - 1] is the z of step t: the first step (t = T) uses noises[T - 1], "
                                     "not noises[0]"),
    (dict(eps_sign=-1.0), "wrong sign: mu_theta = (x_t - beta_t / sqrt(1 - abar_t) eps) / sqrt(alpha_t) SUBTRACTS "
                          "the predicted noise"),
    (dict(divisor=lambda be, ab: 1 - be), "sqrt forgotten on alpha_t: mu_theta divides by sqrt(alpha_t) = "
                                          "sqrt(1 - beta_t)"),
    (dict(divisor=lambda be, ab: ab.sqrt()), "mu_theta divides by sqrt(alpha_t) of the single step t, not by "
                                             "sqrt(abar_t)"),
    (dict(divisor=lambda be, ab: be.sqrt()), "beta used where alpha belongs: mu_theta divides by sqrt(alpha_t) = "
                                             "sqrt(1 - beta_t)"),
    (dict(coef=lambda be, ab, abp: be / (1 - ab)), "sqrt forgotten on 1 - abar_t: the noise coefficient is "
                                                   "beta_t / sqrt(1 - abar_t)"),
    (dict(coef=lambda be, ab, abp: (1 - be) / (1 - ab).sqrt()), "alpha used where beta belongs: the noise "
                                                                 "coefficient is beta_t / sqrt(1 - abar_t)"),
    (dict(coef=lambda be, ab, abp: (1 - ab).sqrt()), "the noise coefficient of mu_theta is beta_t / sqrt(1 - abar_t); "
                                                     "sqrt(1 - abar_t) is q(x_t | x_0)'s"),
    (dict(coef=lambda be, ab, abp: be / (1 - abp).sqrt()), "abar_{t-1} used where abar_t belongs: the noise "
                                                           "coefficient is beta_t / sqrt(1 - abar_t)"),
]


def _sampler_mistakes(betas, x_T, noises, eps_fn) -> list[tuple[torch.Tensor, str]]:
    mistakes = [(_ancestral(betas, x_T, noises, eps_fn, variance, **slip), message)
                for slip, message in _SAMPLER_SLIPS for variance in ("beta", "posterior")]
    return mistakes + [(_ddim_chain(betas, x_T, eps_fn), "that is DDIM (deterministic, eta = 0); ancestral "
                        "sampling takes the DDPM mean mu_theta(x_t, t) and adds sigma_t z_t at each step t > 1")]


def _sampler_case(seed: int, betas: torch.Tensor, chains: int):
    """``(betas, x_T, noises, mean, std)``: Gaussian data N(mean, diag std^2) in 2-D, seeded."""
    g = torch.Generator().manual_seed(seed)
    x_T = torch.randn(chains, 2, generator=g, dtype=torch.float64)
    noises = torch.randn(len(betas), chains, 2, generator=g, dtype=torch.float64)
    mean, std = torch.tensor([2.0, -1.0], dtype=torch.float64), torch.tensor([0.5, 1.5], dtype=torch.float64)
    return betas, x_T, noises, mean, std


def _sampler_cases() -> list:
    """Few chains on a short schedule with large steps (every slip shows), then 2000 chains on the course's
    linear schedule with T = 100, whose samples follow the data distribution N(m, diag s^2)."""
    return [_sampler_case(0, torch.linspace(0.02, 0.4, 10, dtype=torch.float64), 5),
            _sampler_case(1, diffusion.betas(100), 2000)]


def _check_steps(steps: list[int], T: int) -> None:
    """The model must be called at t = T, T - 1, ..., 1, once each."""
    if steps == list(range(T, 0, -1)):
        return
    if not steps:
        raise Mistake("your sampler never called eps_model: each step predicts the noise, eps_model(x_t, t)")
    if steps == list(range(1, T + 1)):
        raise Mistake("the loop runs the wrong way: the reverse chain starts at x_T (t = T) and steps DOWN to "
                      "t = 1, e.g. for t in range(T, 0, -1)")
    raise Mistake(f"eps_model should be called once per step, at t = T, T - 1, ..., 1 (T = {T}); yours was called "
                  f"{len(steps)} times, first at t = {steps[0]}, last at t = {steps[-1]}")


def _pair_text(values: torch.Tensor) -> str:
    return "(" + ", ".join(f"{v:.2f}" for v in values.tolist()) + ")"


def _moments(x: torch.Tensor) -> str:
    return f"mean {_pair_text(x.mean(0))}, std {_pair_text(x.std(0))}"


_SAMPLER_INDEX_HINT = ("the steps run t = T, ..., 1 (1-based): beta_t = betas[t - 1], abar_t = cumprod(1 - betas)"
                       "[t - 1], z_t = noises[t - 1]; an index t itself runs past the end at t = T")

_SAMPLER_FORBIDDEN = (DDPM.denoise, DDPM.sample, DDPM.inpaint, diffusion.ddpm_mean, diffusion.q_posterior,
                      diffusion.predicted_x0, diffusion.ddim_step, _ancestral) + _SCHEDULE_FORBIDDEN


def check_ancestral_sampler(fn) -> Feedback:
    """Check ``fn(eps_model, betas, x_T, noises) -> x_0``: DDPM's ancestral sampler, for t = T, ..., 1:

        eps = eps_model(x, t)                                      # t: int64 tensor (B,)
        x = (x - beta_t / sqrt(1 - abar_t) * eps) / sqrt(alpha_t) + sigma_t * noises[t - 1]   (no noise at t = 1)

    with sigma_t^2 = beta_t or the posterior variance (1 - abar_{t-1}) / (1 - abar_t) beta_t (both accepted);
    ``noises`` ``(T, *x_T.shape)``. Run with the exact noise predictor of Gaussian data N(m, diag s^2): on 2000
    chains the samples must follow that distribution.
    """

    def checks() -> None:
        student = answer(fn, "ancestral_sample", forbidden=_SAMPLER_FORBIDDEN)
        for betas, x_T, noises, mean, std in _sampler_cases():
            model = _GaussianDenoiser(betas, mean, std, tuple(x_T.shape))
            got = _call(student, (model, betas.clone(), x_T.clone(), noises.clone()), False, _SAMPLER_INDEX_HINT)
            _check_steps(model.steps, len(betas))
            abar = _cumprod(betas)

            def eps_fn(x, t):
                return _optimal_eps(x, float(abar[t - 1]), mean, std)

            accepted = [_ancestral(betas, x_T, noises, eps_fn, variance) for variance in ("beta", "posterior")]
            if len(x_T) < 100 and isinstance(got, torch.Tensor) and not matches(student(
                    _GaussianDenoiser(betas, mean, std, tuple(x_T.shape)), betas.clone(), x_T.clone(), noises.clone()),
                    got, 1e-12, 0):  # on the small case only (the large one costs more)
                raise Mistake("your sampler gives another result with the same noises: use noises[t - 1] as z_t "
                              "and draw no noise of your own")
            if any(matches(got, a, ATOL, RTOL) for a in accepted):
                continue
            for wrong, message in _sampler_mistakes(betas, x_T, noises, eps_fn):
                if matches(got, wrong, ATOL, RTOL) and not any(matches(wrong, a, ATOL, RTOL) for a in accepted):
                    raise Mistake(message)
            expect_close(got, accepted[0], "x_0", atol=float("inf"), rtol=0)  # only its type, shape, finiteness
            detail = ""
            if len(x_T) >= 1000:
                detail = (f"; on {len(x_T)} chains your samples have {_moments(got.detach().double())}, while the "
                          f"data N(m, diag s^2) have mean {_pair_text(mean)}, std {_pair_text(std)}")
            raise Mistake("x_0 is not what the sampler should give with these noises: follow the update above step "
                          f"by step (sigma_t^2 = beta_t or the posterior variance){detail}")

    return run_checks("ancestral sampler", checks)
