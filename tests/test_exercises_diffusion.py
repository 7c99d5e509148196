"""Notebook 08's checkers accept the reference answers (with either reverse variance for the sampler), name
each known mistake, and give nothing for NaN, a wrong type, a non-function or an answer that only calls the
package.

The reference solutions below are the ones for the notebook's solution cells (short, torch only).
"""

from __future__ import annotations

import math

import pytest
import torch

from course_gen import diffusion
from course_gen.exercises import diffusion as checkers
from course_gen.exercises.diffusion import (
    DDIM_QUESTION_OPTIONS, check_ancestral_sampler, check_ddim_step, check_diffusion_question,
    check_flow_matching_target, check_posterior_mean, check_q_sample,
)

from exercise_helpers import assert_rejected, not_attempted

DELEGATES = "does the whole exercise"


# ============================================================================ reference solutions (notebook)


def sample_xt(x0, t, betas, noise):
    """x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) noise, abar_t = prod_{s<=t} (1 - beta_s)."""
    abar = torch.cumprod(1 - betas, dim=0)[t - 1]
    abar = abar.reshape(-1, *[1] * (x0.dim() - 1))  # (B,) -> (B, 1, ..., 1)
    return abar.sqrt() * x0 + (1 - abar).sqrt() * noise


def posterior_mean(x0, xt, t, betas):
    """The mean of q(x_{t-1} | x_t, x_0), t in 2..T."""
    abar = torch.cumprod(1 - betas, dim=0)
    shape = (-1,) + (1,) * (x0.dim() - 1)
    beta_t = betas[t - 1].reshape(shape)
    abar_t, abar_prev = abar[t - 1].reshape(shape), abar[t - 2].reshape(shape)
    return (abar_prev.sqrt() * beta_t * x0 + (1 - beta_t).sqrt() * (1 - abar_prev) * xt) / (1 - abar_t)


def ddim_update(xt, t, t_prev, betas, eps):
    """One deterministic DDIM step from t to t_prev (0 allowed: abar_0 = 1)."""
    abar = torch.cat([torch.ones(1, dtype=betas.dtype), torch.cumprod(1 - betas, dim=0)])  # abar[t] = abar_t
    shape = (-1,) + (1,) * (xt.dim() - 1)
    a_t, a_prev = abar[t].reshape(shape), abar[t_prev].reshape(shape)
    x0_hat = (xt - (1 - a_t).sqrt() * eps) / a_t.sqrt()
    return a_prev.sqrt() * x0_hat + (1 - a_prev).sqrt() * eps


def flow_matching_target(x0, x1, s):
    """The point x_s of the straight path from noise x0 (s = 0) to data x1 (s = 1) and its velocity."""
    s = s.reshape(-1, *[1] * (x0.dim() - 1))
    return (1 - s) * x0 + s * x1, x1 - x0


def why_ddim_can_skip_steps():
    return "C"


def ancestral_sample(eps_model, betas, x_T, noises):
    """DDPM's sampler: x_{t-1} = (x_t - beta_t / sqrt(1 - abar_t) eps) / sqrt(alpha_t) + sqrt(beta_t) z_t."""
    abar = torch.cumprod(1 - betas, dim=0)
    x = x_T
    for t in range(len(betas), 0, -1):
        beta, abar_t = betas[t - 1], abar[t - 1]
        eps = eps_model(x, torch.full((len(x),), t, dtype=torch.long))
        x = (x - beta / (1 - abar_t).sqrt() * eps) / (1 - beta).sqrt()
        if t > 1:
            x = x + beta.sqrt() * noises[t - 1]
    return x


# ============================================================================ the checkers' references


def test_the_checkers_references_are_the_package():
    for (x0, t, betas, noise), _ in checkers._q_sample_cases():
        torch.testing.assert_close(checkers._q_sample_reference(x0, t, betas, noise),
                                   diffusion.q_sample(x0, t, betas, noise))
    for (x0, xt, t, betas), _ in checkers._posterior_cases():
        torch.testing.assert_close(checkers._posterior_reference(x0, xt, t, betas),
                                   diffusion.q_posterior(x0, xt, t, betas)[0])
    for (xt, t, t_prev, betas, eps), _ in checkers._ddim_cases():
        torch.testing.assert_close(checkers._ddim_reference(xt, t, t_prev, betas, eps),
                                   diffusion.ddim_step(xt, t, t_prev, betas, eps))
    for (x0, x1, s), _ in checkers._flow_cases():
        for mine, package in zip(checkers._flow_reference(x0, x1, s), diffusion.flow_matching_pair(x0, x1, s)):
            torch.testing.assert_close(mine, package)


def test_the_gaussian_denoiser_is_the_best_noise_prediction():
    """E[eps | x_t] by regression on many draws of q(x_t | x_0) matches the closed form."""
    mean, std, abar = torch.tensor([2.0]), torch.tensor([0.5]), 0.3
    g = torch.Generator().manual_seed(0)
    x0 = mean + std * torch.randn(200_000, 1, generator=g, dtype=torch.float64)
    eps = torch.randn(200_000, 1, generator=g, dtype=torch.float64)
    xt = abar**0.5 * x0 + (1 - abar) ** 0.5 * eps
    design = torch.cat([xt, torch.ones_like(xt)], 1)
    slope, intercept = torch.linalg.lstsq(design, eps).solution[:, 0].tolist()
    grid = torch.tensor([[0.0], [1.0]], dtype=torch.float64)
    predicted = checkers._optimal_eps(grid, abar, mean.double(), std.double())[:, 0]
    torch.testing.assert_close(predicted, torch.tensor([intercept, intercept + slope], dtype=torch.float64),
                               atol=0.01, rtol=0)


def _exact_output(betas, mean, std, variance):
    """Mean and std of the ancestral sampler's x_0 from x_T ~ N(0, 1) with the Gaussian denoiser: every step is
    linear-Gaussian, x_{t-1} = A x_t + c + sigma_t z, so the moments follow exactly by recursion."""
    abar = torch.cumprod(1 - betas, 0)
    m, v = torch.zeros_like(mean), torch.ones_like(mean)
    for t in range(len(betas), 0, -1):
        beta, a = betas[t - 1], abar[t - 1]
        a_prev = abar[t - 2] if t > 1 else torch.tensor(1.0, dtype=torch.float64)
        k = (1 - a).sqrt() / (a * std**2 + 1 - a)  # eps = k (x - sqrt(a) m)
        gain = (1 - beta / (1 - a).sqrt() * k) / (1 - beta).sqrt()
        shift = beta / (1 - a).sqrt() * k * a.sqrt() * mean / (1 - beta).sqrt()
        noise_var = (beta if variance == "beta" else (1 - a_prev) / (1 - a) * beta) if t > 1 else 0.0
        m, v = gain * m + shift, gain**2 * v + noise_var
    return m, v.sqrt()


def test_the_sampler_case_has_a_known_answer():
    """On the course's linear schedule with T = 100, the exact DDPM sampler turns N(0, 1) into the data's
    N(m, s^2) (to 0.01 in the mean, 2% (sigma^2 = beta_t) or 9% (posterior variance) in the std), and the
    checker's 2000 chains show it within their Monte Carlo error."""
    betas, x_T, noises, mean, std = checkers._sampler_cases()[1]
    abar = torch.cumprod(1 - betas, 0)
    for variance, tolerance in (("beta", 0.02), ("posterior", 0.09)):
        exact_mean, exact_std = _exact_output(betas, mean, std, variance)
        torch.testing.assert_close(exact_mean, mean, atol=0.01, rtol=0)
        torch.testing.assert_close(exact_std, std, atol=0, rtol=tolerance)
        x0 = checkers._ancestral(betas, x_T, noises, lambda x, t: checkers._optimal_eps(x, float(abar[t - 1]), mean,
                                                                                        std), variance)
        error = exact_std / math.sqrt(len(x_T))
        assert bool(((x0.mean(0) - exact_mean).abs() < 4 * error).all()), (x0.mean(0), exact_mean)
        assert bool(((x0.std(0) / exact_std - 1).abs() < 4 / math.sqrt(2 * len(x_T))).all()), (x0.std(0), exact_std)


# ============================================================================ q(x_t | x_0)


def q_slip(kind):
    """sample_xt with one slip."""

    def fn(x0, t, betas, noise):
        cp = torch.cumprod(1 - betas, 0)
        index = {"next": t, "prev": t - 2}.get(kind, t - 1)
        a = (torch.cumprod(betas, 0) if kind == "betas" else cp)[index]
        if kind == "alpha":
            a = 1 - betas[t - 1]
        a = a.reshape(-1, *[1] * (x0.dim() - 1))
        signal, noisy = a.sqrt(), (1 - a).sqrt()
        if kind == "no_sqrt":
            signal, noisy = a, 1 - a
        elif kind == "no_sqrt_signal":
            signal = a
        elif kind == "variance_noise":
            noisy = 1 - a
        elif kind == "swap":
            signal, noisy = noisy, signal
        elif kind == "sign":
            noisy = -noisy
        return signal * x0 + noisy * noise

    return fn


def test_q_sample_accepts_the_reference():
    feedback = check_q_sample(sample_xt)
    assert feedback.passed and str(feedback).startswith("\u2714")


@pytest.mark.parametrize("kind, phrase", [
    ("no_sqrt", "square roots are missing"),
    ("no_sqrt_signal", "sqrt forgotten on abar_t"),
    ("variance_noise", "standard deviation sqrt(1 - abar_t)"),
    ("swap", "coefficients are swapped"),
    ("sign", "wrong sign"),
    ("betas", "beta used where 1 - beta belongs"),
    ("alpha", "ONE step"),
    ("next", "abar_{t+1}"),
    ("prev", "abar_{t-1}"),
])
def test_q_sample_names_each_mistake(kind, phrase):
    assert_rejected(check_q_sample(q_slip(kind)), phrase)


def test_q_sample_explains_indexing_past_the_end_and_broadcasting():
    def zero_based_on_every_case(x0, t, betas, noise):  # t = T on the second case runs past the end
        return sample_xt(x0, t + 1, betas, noise)

    assert_rejected(check_q_sample(zero_based_on_every_case), "abar_{t+1}")

    def unsqueezed(x0, t, betas, noise):  # right for (B, D), wrong for images
        a = torch.cumprod(1 - betas, 0)[t - 1][:, None]
        return a.sqrt() * x0 + (1 - a).sqrt() * noise

    assert_rejected(check_q_sample(unsqueezed), "(B, 1, ..., 1)")

    def indexes_past_the_end(x0, t, betas, noise):
        if int(t.max()) == len(betas):
            return torch.cumprod(1 - betas, 0)[t]
        return sample_xt(x0, t, betas, noise)

    assert_rejected(check_q_sample(indexes_past_the_end), "IndexError", "betas[t - 1] is beta_t")


def test_q_sample_rejects_the_package_nan_and_wrong_types():
    assert_rejected(check_q_sample(diffusion.q_sample), DELEGATES, "q_sample")

    def with_alpha_bars(x0, t, betas, noise):
        a = diffusion.alpha_bars(betas)[t - 1].reshape(-1, *[1] * (x0.dim() - 1))
        return a.sqrt() * x0 + (1 - a).sqrt() * noise

    assert_rejected(check_q_sample(with_alpha_bars), DELEGATES, "alpha_bars")
    assert_rejected(check_q_sample(lambda x0, t, b, n: x0 * float("nan")), "NaN")
    assert_rejected(check_q_sample(lambda *args: sample_xt(*args).tolist()), "torch.Tensor", "list")
    assert_rejected(check_q_sample(lambda *args: sample_xt(*args) + 0.1), "is off")
    assert_rejected(check_q_sample("x_t"), "should be a function")
    assert_rejected(check_q_sample(not_attempted), "not attempted")


# ============================================================================ posterior mean


def posterior_slip(kind):
    """posterior_mean with one slip."""

    def fn(x0, xt, t, betas):
        cp = torch.cumprod(1 - betas, 0)
        k = {"next": 1, "prev": -1}.get(kind, 0)
        shape = (-1,) + (1,) * (x0.dim() - 1)
        beta, a, ap = (v.reshape(shape) for v in (betas[t - 1 + k], cp[t - 1 + k], cp[t - 2 + k]))
        if kind == "abar_t_for_prev":
            ap = a
        if kind == "abar_prev_for_t":
            a = ap
        root_ap, root_alpha = ap.sqrt(), (1 - beta).sqrt()
        cx0_beta, cxt_alpha = beta, root_alpha
        if kind in ("no_sqrt", "no_sqrt_abar"):
            root_ap = ap
        if kind in ("no_sqrt", "no_sqrt_alpha"):
            cxt_alpha = 1 - beta
        if kind in ("swap_alpha_beta", "alpha_in_x0"):
            cx0_beta = 1 - beta
        if kind in ("swap_alpha_beta", "beta_in_xt"):
            cxt_alpha = beta.sqrt()
        if kind == "abar_in_xt":
            cxt_alpha = a.sqrt()
        coef_x0, coef_xt = root_ap * cx0_beta / (1 - a), cxt_alpha * (1 - ap) / (1 - a)
        if kind == "swap":
            coef_x0, coef_xt = coef_xt, coef_x0
        mean = coef_x0 * x0 + coef_xt * xt
        return (mean, beta) if kind == "tuple" else mean

    return fn


def test_posterior_mean_accepts_the_reference():
    assert check_posterior_mean(posterior_mean).passed


@pytest.mark.parametrize("kind, phrase", [
    ("swap", "coefficients of x0 and x_t are swapped"),
    ("no_sqrt", "both square roots are missing"),
    ("no_sqrt_abar", "sqrt forgotten on abar_{t-1}"),
    ("no_sqrt_alpha", "sqrt forgotten on alpha_t"),
    ("swap_alpha_beta", "alpha and beta are swapped"),
    ("alpha_in_x0", "you used alpha_t = 1 - beta_t"),
    ("beta_in_xt", "not sqrt(beta_t)"),
    ("abar_in_xt", "not sqrt(abar_t)"),
    ("abar_t_for_prev", "abar_t where abar_{t-1} belongs"),
    ("abar_prev_for_t", "denominators are 1 - abar_t"),
    ("next", "t is off by one: you used the formula at t + 1"),
    ("prev", "t is off by one: you used the formula at t - 1"),
    ("tuple", "return the mean only"),
])
def test_posterior_mean_names_each_mistake(kind, phrase):
    assert_rejected(check_posterior_mean(posterior_slip(kind)), phrase)


def test_posterior_mean_rejects_the_package_nan_and_wrong_types():
    assert_rejected(check_posterior_mean(lambda *args: diffusion.q_posterior(*args)[0]), DELEGATES, "q_posterior")
    assert_rejected(check_posterior_mean(lambda x0, xt, t, b: xt * float("inf")), "inf")
    assert_rejected(check_posterior_mean(lambda *args: posterior_mean(*args)[0]), "shape")
    assert_rejected(check_posterior_mean(None), "should be a function")
    assert_rejected(check_posterior_mean(not_attempted), "not attempted")


# ============================================================================ DDIM step


def ddim_slip(kind):
    """ddim_update with one slip."""

    def fn(xt, t, t_prev, betas, eps):
        cp = torch.cumprod(1 - betas, 0)
        padded = torch.cat([torch.ones(1, dtype=betas.dtype), cp])
        shape = (-1,) + (1,) * (xt.dim() - 1)
        a, ap = padded[t], padded[t_prev]
        if kind == "wrap":
            ap = cp[t_prev - 1]
        elif kind == "abar0_zero":
            ap = torch.where(t_prev == 0, torch.zeros_like(ap), ap)
        elif kind == "zero_based":
            a, ap = cp[t], cp[t_prev]
        elif kind == "one_step":
            ap = padded[t - 1]
        elif kind == "alpha":
            alphas = torch.cat([torch.ones(1, dtype=betas.dtype), 1 - betas])
            a, ap = alphas[t], alphas[t_prev]
        elif kind == "betas":
            bbar = torch.cat([torch.ones(1, dtype=betas.dtype), torch.cumprod(betas, 0)])
            a, ap = bbar[t], bbar[t_prev]
        a, ap = a.reshape(shape), ap.reshape(shape)
        x0_hat = (xt - (1 - a).sqrt() * eps) / a.sqrt()
        if kind == "no_sqrt_x0":
            x0_hat = (xt - (1 - a) * eps) / a
        elif kind == "sign_x0":
            x0_hat = (xt + (1 - a).sqrt() * eps) / a.sqrt()
        elif kind == "no_divide":
            x0_hat = xt - (1 - a).sqrt() * eps
        signal, noisy = ap.sqrt(), (1 - ap).sqrt()
        if kind == "no_sqrt_step":
            signal, noisy = ap, 1 - ap
        elif kind == "no_sqrt_signal":
            signal = ap
        elif kind == "swap":
            signal, noisy = noisy, signal
        elif kind == "sign":
            noisy = -noisy
        elif kind == "x0_hat":
            return x0_hat
        elif kind == "ddpm":
            beta = betas[t - 1].reshape(shape)
            return (xt - beta / (1 - a).sqrt() * eps) / (1 - beta).sqrt()
        return signal * x0_hat + noisy * eps

    return fn


def test_ddim_step_accepts_the_reference():
    assert check_ddim_step(ddim_update).passed


@pytest.mark.parametrize("kind, phrase", [
    ("wrap", "abar_0 = 1 (x_0 carries no noise)"),
    ("abar0_zero", "abar_0 = 1, not 0"),
    ("zero_based", "off by one"),
    ("one_step", "you stepped to t - 1"),
    ("alpha", "alpha_t = 1 - beta_t of a single step"),
    ("betas", "beta used where 1 - beta belongs"),
    ("no_sqrt_x0", "both square roots in x0_hat"),
    ("sign_x0", "wrong sign in x0_hat"),
    ("no_divide", "divided by sqrt(abar_t)"),
    ("no_sqrt_step", "square roots are missing in the step"),
    ("no_sqrt_signal", "sqrt forgotten on abar_prev"),
    ("swap", "coefficients are swapped"),
    ("sign", "wrong sign"),
    ("x0_hat", "you returned x0_hat"),
    ("ddpm", "DDPM (ancestral) mean"),
])
def test_ddim_step_names_each_mistake(kind, phrase):
    assert_rejected(check_ddim_step(ddim_slip(kind)), phrase)


def test_ddim_step_refuses_noise_of_its_own_and_explains_indexing():
    def stochastic(xt, t, t_prev, betas, eps):
        return ddim_update(xt, t, t_prev, betas, eps) + 1e-9 * torch.randn_like(xt)

    assert_rejected(check_ddim_step(stochastic), "deterministic")

    def past_the_end(xt, t, t_prev, betas, eps):
        return torch.cumprod(1 - betas, 0)[t + 1]

    assert_rejected(check_ddim_step(past_the_end), "IndexError", "abar_0 = 1")
    assert_rejected(check_ddim_step(diffusion.ddim_step), DELEGATES, "ddim_step")

    def via_predicted_x0(xt, t, t_prev, betas, eps):
        x0_hat = diffusion.predicted_x0(xt, t, betas, eps)
        return ddim_update(xt, t, t_prev, betas, eps) * 0 + x0_hat

    assert_rejected(check_ddim_step(via_predicted_x0), DELEGATES, "predicted_x0")
    assert_rejected(check_ddim_step(lambda *args: (ddim_update(*args), None)), "torch.Tensor", "tuple")
    assert_rejected(check_ddim_step(not_attempted), "not attempted")


# ============================================================================ flow matching


def flow_slip(kind):
    def fn(x0, x1, s):
        s = s.reshape(-1, *[1] * (x0.dim() - 1))
        xs, v = (1 - s) * x0 + s * x1, x1 - x0
        if kind == "reversed_path":
            xs = s * x0 + (1 - s) * x1
        elif kind == "sqrt_path":
            xs = (1 - s).sqrt() * x0 + s.sqrt() * x1
        elif kind == "reversed_velocity":
            v = x0 - x1
        elif kind == "to_target":
            v = x1 - xs
        elif kind == "divided":
            v = (x1 - xs) / (1 - s)
        elif kind == "travelled":
            v = xs - x0
        elif kind == "data":
            v = x1
        elif kind == "noise":
            v = x0
        elif kind == "swapped":
            return v, xs
        elif kind == "one":
            return xs
        return xs, v

    return fn


def test_flow_matching_target_accepts_the_reference():
    assert check_flow_matching_target(flow_matching_target).passed


@pytest.mark.parametrize("kind, phrase", [
    ("reversed_path", "interpolation is reversed"),
    ("sqrt_path", "linear in s"),
    ("reversed_velocity", "velocity is reversed"),
    ("to_target", "(1 - s)(x1 - x0) shrinks"),
    ("divided", "NaN or inf at s = 1"),
    ("travelled", "distance travelled"),
    ("data", "not the data point"),
    ("noise", "epsilon target"),
    ("swapped", "order (x_s, velocity)"),
    ("one", "return the pair"),
])
def test_flow_matching_target_names_each_mistake(kind, phrase):
    assert_rejected(check_flow_matching_target(flow_slip(kind)), phrase)


def test_flow_matching_target_rejects_the_package_and_unbroadcast_times():
    assert_rejected(check_flow_matching_target(diffusion.flow_matching_pair), DELEGATES, "flow_matching_pair")

    def unbroadcast(x0, x1, s):
        s = s[:, None]
        return (1 - s) * x0 + s * x1, x1 - x0

    assert_rejected(check_flow_matching_target(unbroadcast), "(B, 1, ..., 1)")
    assert_rejected(check_flow_matching_target(lambda x0, x1, s: (x0 * float("nan"), x1 - x0)), "NaN")
    assert_rejected(check_flow_matching_target(not_attempted), "not attempted")


# ============================================================================ the question


def test_diffusion_question_accepts_the_marginals():
    assert check_diffusion_question(why_ddim_can_skip_steps).passed
    assert check_diffusion_question(lambda: " c ").passed


@pytest.mark.parametrize("letter, phrase", [("A", "no weight changes"), ("B", "adds no noise"),
                                            ("D", "discretisation error")])
def test_diffusion_question_explains_each_wrong_option(letter, phrase):
    assert_rejected(check_diffusion_question(lambda: letter), f"not {letter}", phrase)


def test_diffusion_question_rejects_other_answers():
    assert set(DDIM_QUESTION_OPTIONS) == {"A", "B", "C", "D"}
    assert_rejected(check_diffusion_question(lambda: 3), "return one of")
    assert_rejected(check_diffusion_question("C"), "should be a function")


# ============================================================================ ancestral sampler (larger task)


def ancestral_with_posterior_variance(eps_model, betas, x_T, noises):
    abar = torch.cumprod(1 - betas, dim=0)
    x = x_T
    for t in range(len(betas), 0, -1):
        beta, a = betas[t - 1], abar[t - 1]
        eps = eps_model(x, torch.full((len(x),), t, dtype=torch.long))
        x = (x - beta / (1 - a).sqrt() * eps) / (1 - beta).sqrt()
        if t > 1:
            x = x + ((1 - abar[t - 2]) / (1 - a) * beta).sqrt() * noises[t - 1]
    return x


def sampler_slip(kind):
    """ancestral_sample with one slip."""

    def fn(eps_model, betas, x_T, noises):
        abar = torch.cumprod(1 - betas, dim=0)
        T, x = len(betas), x_T
        steps = range(1, T + 1) if kind == "upwards" else range(T, 0, -1)
        for t in steps:
            beta, a = betas[t - 1], abar[t - 1]
            eps = eps_model(x, torch.full((len(x),), t - (kind == "zero_based_model"), dtype=torch.long))
            coef = {"no_sqrt_coef": beta / (1 - a), "alpha_coef": (1 - beta) / (1 - a).sqrt()}.get(
                kind, beta / (1 - a).sqrt())
            divisor = {"no_sqrt_alpha": 1 - beta, "abar_divisor": a.sqrt()}.get(kind, (1 - beta).sqrt())
            x = (x - (-1 if kind == "eps_sign" else 1) * coef * eps) / divisor
            sigma = beta if kind == "sigma_variance" else beta.sqrt()
            z = noises[T - t] if kind == "noise_order" else noises[t - 1]
            if (t > 1 or kind == "last_noise") and kind != "no_noise":
                x = x + (-1 if kind == "noise_sign" else 1) * sigma * z
            if kind == "fresh" and t > 1:
                x = x + 1e-3 * torch.randn_like(x)
        return [x] if kind == "list" else x

    return fn


def test_ancestral_sampler_accepts_both_reverse_variances():
    assert check_ancestral_sampler(ancestral_sample).passed
    assert check_ancestral_sampler(ancestral_with_posterior_variance).passed

    def with_int_steps_in_float32(eps_model, betas, x_T, noises):  # t as a Python int, float32 arithmetic
        betas, x = betas.float(), x_T.float()
        abar = torch.cumprod(1 - betas, 0)
        for t in range(len(betas), 0, -1):
            x = (x - betas[t - 1] / (1 - abar[t - 1]).sqrt() * eps_model(x, t)) / (1 - betas[t - 1]).sqrt()
            x = x + (betas[t - 1].sqrt() * noises[t - 1].float() if t > 1 else 0)
        return x

    assert check_ancestral_sampler(with_int_steps_in_float32).passed


@pytest.mark.parametrize("kind, phrase", [
    ("upwards", "loop runs the wrong way"),
    ("zero_based_model", "eps_model was called with t = 0"),
    ("last_noise", "no noise at the last step"),
    ("no_noise", "no noise was added"),
    ("sigma_variance", "standard deviation"),
    ("noise_sign", "the noise is added"),
    ("noise_order", "noises[t - 1] is the z of step t"),
    ("eps_sign", "SUBTRACTS"),
    ("no_sqrt_alpha", "sqrt forgotten on alpha_t"),
    ("abar_divisor", "not by sqrt(abar_t)"),
    ("no_sqrt_coef", "sqrt forgotten on 1 - abar_t"),
    ("alpha_coef", "alpha used where beta belongs"),
    ("fresh", "draw no noise of your own"),
    ("list", "torch.Tensor"),
])
def test_ancestral_sampler_names_each_mistake(kind, phrase):
    assert_rejected(check_ancestral_sampler(sampler_slip(kind)), phrase)


def test_ancestral_sampler_names_ddim_short_loops_and_index_errors():
    def ddim_chain(eps_model, betas, x_T, noises):
        abar = torch.cat([torch.ones(1, dtype=betas.dtype), torch.cumprod(1 - betas, 0)])
        x = x_T
        for t in range(len(betas), 0, -1):
            eps = eps_model(x, torch.full((len(x),), t))
            x = abar[t - 1].sqrt() * (x - (1 - abar[t]).sqrt() * eps) / abar[t].sqrt() + (1 - abar[t - 1]).sqrt() * eps
        return x

    assert_rejected(check_ancestral_sampler(ddim_chain), "that is DDIM")

    def stops_early(eps_model, betas, x_T, noises):
        return ancestral_sample(eps_model, betas[1:], x_T, noises[1:])

    assert_rejected(check_ancestral_sampler(stops_early), "called once per step")

    def zero_based_schedule(eps_model, betas, x_T, noises):
        for t in range(len(betas), 0, -1):
            betas[t]  # noqa: B018
        return x_T

    assert_rejected(check_ancestral_sampler(zero_based_schedule), "IndexError", "z_t = noises[t - 1]")

    def per_chain(eps_model, betas, x_T, noises):
        return eps_model(x_T[0], 1)

    assert_rejected(check_ancestral_sampler(per_chain), "whole batch")

    def float_steps(eps_model, betas, x_T, noises):
        return eps_model(x_T, torch.full((len(x_T),), 3.0))

    assert_rejected(check_ancestral_sampler(float_steps), "integer tensor")
    assert_rejected(check_ancestral_sampler(lambda model, betas, x_T, noises: x_T), "never called eps_model")


def test_ancestral_sampler_reports_moments_for_an_unknown_mistake_and_refuses_the_package():
    def slightly_off(eps_model, betas, x_T, noises):
        return ancestral_sample(eps_model, betas, x_T, noises) + 0.3 * (len(x_T) > 100)

    feedback = check_ancestral_sampler(slightly_off)
    assert_rejected(feedback, "not what the sampler should give", "on 2000 chains", "mean (2.00, -1.00)")

    def via_ddpm_mean(eps_model, betas, x_T, noises):
        x = x_T
        for t in range(len(betas), 0, -1):
            step = torch.full((len(x),), t)
            x = diffusion.ddpm_mean(x, step, betas, eps_model(x, step))
        return x

    assert_rejected(check_ancestral_sampler(via_ddpm_mean), DELEGATES, "ddpm_mean")
    assert_rejected(check_ancestral_sampler(not_attempted), "not attempted")
