"""The diffusion schedule and closed forms, against their definitions computed another way."""

from __future__ import annotations

import math

import pytest
import torch

from course_gen import diffusion


def test_linear_schedule_matches_ddpm_and_scales_with_T():
    b = diffusion.betas(1000)
    assert b.dtype == torch.float64 and b.shape == (1000,)
    assert math.isclose(float(b[0]), 1e-4) and math.isclose(float(b[-1]), 0.02)
    short = diffusion.betas(250)
    assert math.isclose(float(short[0]), 4e-4) and math.isclose(float(short[-1]), 0.08)
    assert bool((b[1:] > b[:-1]).all())


def test_cosine_schedule_follows_its_alpha_bar_formula():
    T, s = 200, 0.008
    b = diffusion.betas(T, "cosine")
    f = lambda t: math.cos((t / T + s) / (1 + s) * math.pi / 2) ** 2  # noqa: E731
    abar = diffusion.alpha_bars(b)
    for t in (1, 50, 100, 150):
        assert math.isclose(float(abar[t - 1]), f(t) / f(0), rel_tol=1e-9)
    assert float(b.max()) <= 0.999 and float(abar[-1]) < 1e-4
    ratio = diffusion.snr(b)
    assert bool((ratio[1:] < ratio[:-1]).all()), "the signal-to-noise ratio falls with t"


def test_closed_form_matches_running_the_chain_step_by_step():
    """q(x_t | x_0) from sqrt(abar_t) x0 + sqrt(1 - abar_t) eps has the moments of t noisy steps."""
    g = torch.Generator().manual_seed(0)
    b = diffusion.betas(100)
    n, t, x0 = 200_000, 40, 1.5
    x = torch.full((n,), x0, dtype=torch.float64)
    for step in range(1, t + 1):
        x = (1 - b[step - 1]).sqrt() * x + b[step - 1].sqrt() * torch.randn(n, generator=g, dtype=torch.float64)
    abar = float(diffusion.alpha_bars(b)[t - 1])
    closed = diffusion.q_sample(torch.full((n, 1), x0, dtype=torch.float64), torch.full((n,), t), b,
                                torch.randn(n, 1, generator=g, dtype=torch.float64)).flatten()
    for sample in (x, closed):
        assert abs(float(sample.mean()) - math.sqrt(abar) * x0) < 4 * math.sqrt((1 - abar) / n)
        assert abs(float(sample.var()) - (1 - abar)) < 0.01 * (1 - abar)


def test_q_sample_is_the_formula_per_example():
    b = diffusion.betas(10)
    x0, noise = torch.randn(3, 1, 2, 2), torch.randn(3, 1, 2, 2)
    t = torch.tensor([1, 5, 10])
    abar = diffusion.alpha_bars(b)
    got = diffusion.q_sample(x0, t, b, noise)
    for i, step in enumerate(t.tolist()):
        a = float(abar[step - 1])
        assert torch.allclose(got[i], math.sqrt(a) * x0[i] + math.sqrt(1 - a) * noise[i], atol=1e-6)


def test_posterior_matches_bayes_rule_computed_numerically():
    """Mean and variance of q(x_{t-1} | x_t, x_0) by quadrature of q(x_{t-1} | x_0) q(x_t | x_{t-1})."""
    b = diffusion.betas(50, "cosine")
    abar = diffusion.alpha_bars(b)
    x0, xt = torch.tensor([[0.7]], dtype=torch.float64), torch.tensor([[-0.4]], dtype=torch.float64)
    for t in (2, 10, 35):
        grid = torch.linspace(-8, 8, 400_001, dtype=torch.float64)
        prior_mean, prior_var = math.sqrt(abar[t - 2]) * 0.7, 1 - float(abar[t - 2])
        log_density = (-(grid - prior_mean) ** 2 / (2 * prior_var)
                       - (-0.4 - (1 - b[t - 1]).sqrt() * grid) ** 2 / (2 * b[t - 1]))
        weights = torch.softmax(log_density, dim=0)
        mean = float((weights * grid).sum())
        variance = float((weights * (grid - mean) ** 2).sum())
        got_mean, got_variance = diffusion.q_posterior(x0, xt, torch.tensor([t]), b)
        assert math.isclose(float(got_mean), mean, rel_tol=1e-6, abs_tol=1e-9)
        assert math.isclose(float(got_variance), variance, rel_tol=1e-5)


@pytest.mark.parametrize("call, message", [
    (lambda: diffusion.q_sample(torch.zeros(2, 3), torch.tensor([0, 1]), diffusion.betas(10), torch.zeros(2, 3)), "1..10"),
    (lambda: diffusion.q_sample(torch.zeros(2, 3), torch.tensor([1, 11]), diffusion.betas(10), torch.zeros(2, 3)), "1..10"),
    (lambda: diffusion.q_sample(torch.zeros(2, 3), torch.tensor([1.0, 2.0]), diffusion.betas(10), torch.zeros(2, 3)), "integer"),
    (lambda: diffusion.q_sample(torch.zeros(2, 3), torch.tensor([1, 2, 3]), diffusion.betas(10), torch.zeros(2, 3)), "one step per example"),
    (lambda: diffusion.q_sample(torch.zeros(2, 3), torch.tensor([1, 2]), diffusion.betas(10), torch.zeros(3, 2)), "noise must have"),
    (lambda: diffusion.q_sample(torch.zeros(2, 3), torch.tensor([1, 2]), torch.tensor([0.1, 1.0]), torch.zeros(2, 3)), "(0, 1)"),
    (lambda: diffusion.q_sample(torch.zeros(2, 3), torch.tensor([1, 2]), torch.tensor([0.0, 0.1]), torch.zeros(2, 3)), "(0, 1)"),
    (lambda: diffusion.q_posterior(torch.zeros(2, 3), torch.zeros(2, 3), torch.tensor([1, 2]), diffusion.betas(10)), "2..10"),
    (lambda: diffusion.q_posterior(torch.zeros(2, 3), torch.zeros(2, 4), torch.tensor([2, 2]), diffusion.betas(10)), "same shape"),
    (lambda: diffusion.betas(0), "T must be"),
    (lambda: diffusion.betas(10, "quadratic"), "unknown kind"),
])
def test_bad_input_is_named(call, message):
    with pytest.raises((ValueError, TypeError), match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        call()


def noisy_batch(T=30, seed=1):
    g = torch.Generator().manual_seed(seed)
    b = diffusion.betas(T, "cosine")
    x0 = torch.randn(4, 1, 3, 3, generator=g, dtype=torch.float64)
    noise = torch.randn(4, 1, 3, 3, generator=g, dtype=torch.float64)
    t = torch.tensor([2, 9, 17, T])
    return b, x0, noise, t, diffusion.q_sample(x0, t, b, noise)


def test_ddim_with_the_true_noise_lands_on_the_forward_process():
    b, x0, noise, t, xt = noisy_batch()
    t_prev = torch.tensor([1, 4, 16, 0])
    got = diffusion.ddim_step(xt, t, t_prev, b, noise)
    expected = diffusion.q_sample(x0[:3], t_prev[:3], b, noise[:3])
    assert torch.allclose(got[:3], expected, atol=1e-10)
    assert torch.allclose(got[3], x0[3], atol=1e-10), "t_prev = 0 is x_0 itself"
    assert torch.allclose(diffusion.predicted_x0(xt, t, b, noise), x0, atol=1e-10)


def test_ddpm_mean_with_the_true_noise_is_the_posterior_mean():
    b, x0, noise, t, xt = noisy_batch()
    posterior_mean, _ = diffusion.q_posterior(x0, xt, t, b)
    assert torch.allclose(diffusion.ddpm_mean(xt, t, b, noise), posterior_mean, atol=1e-10)


def test_elbo_weights_turn_the_kl_terms_into_weighted_noise_errors():
    """L_{t-1} = KL(q(x_{t-1}|x_t,x_0) || p(x_{t-1}|x_t)) with equal variances = weight_t ||eps - eps_hat||^2."""
    b, x0, noise, t, xt = noisy_batch()
    eps_hat = noise + 0.3 * torch.randn(noise.shape, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    mean_q, variance = diffusion.q_posterior(x0, xt, t, b)
    mean_p = diffusion.ddpm_mean(xt, t, b, eps_hat)
    kl = ((mean_q - mean_p) ** 2 / (2 * variance)).flatten(1).sum(1)
    weighted = diffusion.elbo_weights(b)[t - 1] * ((noise - eps_hat) ** 2).flatten(1).sum(1)
    assert torch.allclose(kl, weighted, rtol=1e-9)
    assert float(diffusion.elbo_weights(b)[0]) == 0.0


def test_flow_matching_target_is_the_velocity_of_the_straight_path():
    g = torch.Generator().manual_seed(3)
    x0, x1 = torch.randn(5, 2, generator=g, dtype=torch.float64), torch.randn(5, 2, generator=g, dtype=torch.float64)
    s = torch.rand(5, generator=g, dtype=torch.float64)
    point, velocity = diffusion.flow_matching_pair(x0, x1, s)
    ahead, _ = diffusion.flow_matching_pair(x0, x1, (s + 1e-6).clamp(max=1))
    assert torch.allclose((ahead - point) / 1e-6, velocity, atol=1e-5)
    assert torch.allclose(diffusion.flow_matching_pair(x0, x1, torch.zeros(5, dtype=torch.float64))[0], x0)
    assert torch.allclose(diffusion.flow_matching_pair(x0, x1, torch.ones(5, dtype=torch.float64))[0], x1)


def test_samplers_and_targets_name_bad_input():
    b, x0, noise, t, xt = noisy_batch()
    with pytest.raises(ValueError, match="t_prev must be smaller than t"):
        diffusion.ddim_step(xt, t, t, b, noise)
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        diffusion.flow_matching_pair(x0, noise, torch.full((4,), 1.5, dtype=torch.float64))
    with pytest.raises(ValueError, match="same shape"):
        diffusion.predicted_x0(xt, t, b, noise[:, :, :2])
