"""Notebook 08's 2-D toy: exact scores, the probability-flow ODE, flow matching, the two-sample test, shipped models."""

import math

import pytest
import torch
from torch import nn

from course_gen.diffusion import alpha_bars, betas, q_sample
from course_gen.diffusion.toy import FlowMatching, GaussianMixture2D, ToyDiffusion, ode_path, toy_mixture
from course_gen.diffusion.toy_checks import energy_distance, score_error, shipped_toy, two_sample_test

MIXTURE = toy_mixture()


def _points(n, seed=0, scale=2.0):
    return scale * torch.randn(n, 2, generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------- the mixture and its exact noised score

@pytest.mark.parametrize("abar", [1.0, 0.6, 0.05])
def test_exact_score_is_the_gradient_of_log_q_t(abar):
    noised = MIXTURE.noised(abar)
    x = _points(50).double().requires_grad_(True)
    (grad,) = torch.autograd.grad(noised.log_prob(x).sum(), x)
    torch.testing.assert_close(noised.score(x.detach()), grad, rtol=1e-10, atol=1e-10)


def test_one_component_is_a_gaussian_and_the_ring_is_where_it_says():
    mu = torch.tensor([[0.5, -1.0]])
    single = GaussianMixture2D(mu, 0.3)
    x = _points(5).double()
    expected = torch.distributions.MultivariateNormal(mu[0].double(), 0.09 * torch.eye(2, dtype=torch.float64))
    torch.testing.assert_close(single.log_prob(x), expected.log_prob(x))
    noised = single.noised(0.25)  # sqrt(0.25) mu, variance 0.25 * 0.09 + 0.75
    torch.testing.assert_close(noised.means, 0.5 * mu.double())
    assert noised.std == pytest.approx(math.sqrt(0.25 * 0.09 + 0.75))
    ring = GaussianMixture2D.ring(4, 3.0, 0.1)
    torch.testing.assert_close(ring.means, torch.tensor([[3.0, 0], [0, 3], [-3, 0], [0, -3]], dtype=torch.float64),
                               atol=1e-12, rtol=0)


def test_log_prob_integrates_to_one_and_noised_mixture_is_the_law_of_q_sample():
    grid = torch.linspace(-4, 4, 401, dtype=torch.float64)
    xx, yy = torch.meshgrid(grid, grid, indexing="ij")
    density = MIXTURE.log_prob(torch.stack([xx.flatten(), yy.flatten()], 1)).exp()
    assert float(density.sum() * (grid[1] - grid[0]) ** 2) == pytest.approx(1.0, abs=1e-4)
    schedule, t = betas(100), 30
    a = float(alpha_bars(schedule)[t - 1])
    x0 = MIXTURE.sample(200_000, seed=1)
    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(2))
    xt = q_sample(x0, torch.full((len(x0),), t), schedule, noise)
    noised = MIXTURE.noised(a)
    # second moments of the mixture: E|x|^2 = mean |m_k|^2 + 2 v
    expected = float(noised.means.pow(2).sum(1).mean() + 2 * noised.std**2)
    assert float(xt.double().pow(2).sum(1).mean()) == pytest.approx(expected, rel=0.01)
    assert float(noised.log_prob(xt[:20_000]).mean()) == pytest.approx(float(noised.log_prob(
        noised.sample(20_000, seed=3)).mean()), abs=0.03)


# ---------------------------------------------------------------- the diffusion model's time and velocity

def test_abar_at_whole_steps_is_the_schedule_and_interpolates_log_abar():
    model = ToyDiffusion(T=100, seed=0)
    steps = torch.arange(0, 101, dtype=torch.float64)
    expected = torch.cat([torch.ones(1, dtype=torch.float64), alpha_bars(betas(100))])
    torch.testing.assert_close(model.abar(steps), expected)
    middle = model.abar(torch.tensor([37.5]))
    assert float(middle) == pytest.approx(math.sqrt(float(expected[37] * expected[38])), rel=1e-12)


def test_probability_flow_velocity_matches_its_formula():
    model = ToyDiffusion(T=100, hidden=16, seed=0)
    x, t = _points(7), 37
    s = 1 - t / 100
    beta_t = float(betas(100)[t - 1])
    a = float(alpha_bars(betas(100))[t - 1])
    eps = model.predict_noise(x, float(t))
    # dx/ds = T/2 beta(t) (x + score), beta(t) = -log(1 - beta_t) per step, score = -eps / sqrt(1 - abar_t)
    expected = 100 / 2 * -math.log(1 - beta_t) * (x - eps / math.sqrt(1 - a))
    torch.testing.assert_close(model.velocity(x, s), expected, rtol=1e-5, atol=1e-5)
    per_point = torch.full((7,), s, dtype=torch.float64)
    torch.testing.assert_close(model.velocity(x, per_point), expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(model.score(x, float(t)), -eps / math.sqrt(1 - a), rtol=1e-5, atol=1e-6)


def test_probability_flow_ode_with_the_exact_score_carries_the_gaussian_to_the_mixture():
    """The ODE dx/ds = T/2 beta (x + grad log q_t) (the formula of ToyDiffusion.velocity) with the true score."""
    model = ToyDiffusion(T=100, hidden=16, seed=0)

    def exact_velocity(x, s):
        t = max(100 * (1 - s), 1.0)
        i = math.ceil(t)
        rate = float(model.log_abar[i - 1] - model.log_abar[i]) * 50
        return rate * (x + MIXTURE.noised(float(model.abar(t))).score(x).float())

    end = ode_path(exact_velocity, _points(1000, seed=4, scale=1.0), 40, "heun")[-1]
    result = two_sample_test(end, MIXTURE.sample(1000, seed=5), 200, seed=0)
    print("exact-score probability-flow ODE vs data:", result)
    assert not result["reject"]
    untransported = two_sample_test(_points(1000, seed=4, scale=1.0), MIXTURE.sample(1000, seed=5), 200, seed=0)
    assert untransported["reject"]


# ---------------------------------------------------------------- the losses at their known minimisers

class PointMassVelocity(nn.Module):
    """The optimal flow-matching field for data = a point mass c: v*(x, s) = (c - x) / (1 - s)."""

    def __init__(self, c, shift=0.0):
        super().__init__()
        self.c, self.shift = c, shift

    def forward(self, x, s):
        return (self.c - x) / (1 - s)[:, None] + self.shift


class PointMassV(nn.Module):
    """The optimal v-prediction for data = a point mass c: eps* = (x - sqrt(a) c) / sqrt(1 - a), so
    v* = sqrt(a) eps* - sqrt(1 - a) c = (sqrt(a) x - c) / sqrt(1 - a), a = abar_t."""

    def __init__(self, model, c, shift=0.0):
        super().__init__()
        self.abar, self.c, self.shift = model.abar, c, shift

    def forward(self, x, tau):
        a = self.abar(tau.double() * 100).float()[:, None]
        return (a.sqrt() * x - self.c) / (1 - a).sqrt() + self.shift


def test_flow_matching_loss_is_zero_at_the_optimal_velocity_of_a_point_mass_and_positive_elsewhere():
    c = torch.tensor([1.5, -0.5])
    data = c.expand(512, 2).clone()
    model = FlowMatching(hidden=16)
    losses = {}
    for shift in (0.0, 0.1):
        model.net = PointMassVelocity(c, shift)
        with torch.random.fork_rng():
            torch.manual_seed(0)
            losses[shift] = float(model.loss(data))
    assert losses[0.0] < 1e-8
    assert losses[0.1] == pytest.approx(2 * 0.1**2, rel=1e-4)


def test_denoising_loss_is_zero_at_the_optimal_noise_of_a_point_mass_and_positive_elsewhere():
    c = torch.tensor([-1.0, 2.0])
    model = ToyDiffusion(T=100, hidden=16)
    losses = {}
    for shift in (0.0, 0.1):
        model.net = PointMassV(model, c, shift)
        with torch.random.fork_rng():
            torch.manual_seed(0)
            losses[shift] = float(model.loss(c.expand(512, 2).clone()))
    assert losses[0.0] < 1e-8
    # a shift d of v_theta moves eps_theta by sqrt(abar) d: loss = (2 abar d^2 / abar) / 2 = d^2 at every t
    assert losses[0.1] == pytest.approx(0.1**2, rel=1e-4)


# ---------------------------------------------------------------- transport: shapes, ends, determinism

@pytest.mark.parametrize("stochastic", [False, True])
def test_diffusion_transport_shapes_start_and_determinism(stochastic):
    model = ToyDiffusion(T=20, hidden=16, seed=0)
    x = _points(9, scale=1.0)
    path = model.transport(x, 10, stochastic=stochastic, seed=3)
    assert path.shape == (11, 9, 2) and bool(torch.isfinite(path).all())
    torch.testing.assert_close(path[0], x)
    torch.testing.assert_close(model.transport(x, 10, stochastic=stochastic, seed=3), path, rtol=0, atol=0)
    other = model.transport(x, 10, stochastic=stochastic, seed=4)
    assert torch.equal(other, path) != stochastic  # only the SDE draws noise
    torch.testing.assert_close(model.sample(9, 10, seed=3, stochastic=stochastic), model.sample(9, 10, seed=3,
                               stochastic=stochastic), rtol=0, atol=0)
    times = model.times(10, stochastic=stochastic)
    assert times.shape == (11,) and times[0] == 0 and times[-1] == 1 and bool((times.diff() > 0).all())
    if stochastic:  # 10 of the 20 steps, evenly spaced from t = 20 down to t = 1 (s = 1 - 1/20), then x_0
        torch.testing.assert_close(times[-2], torch.tensor(1 - 1 / 20, dtype=torch.float64))


def test_flow_transport_follows_the_ode_and_refuses_the_sde():
    model = FlowMatching(hidden=16, seed=0)
    x = _points(5, scale=1.0)
    path = model.transport(x, 4, solver="euler")
    assert path.shape == (5, 5, 2)
    with torch.no_grad():
        torch.testing.assert_close(path[1], x + 0.25 * model.velocity(x, 0.0))
    with pytest.raises(ValueError, match="stochastic"):
        model.transport(x, 4, stochastic=True)


def test_heun_is_second_order_on_a_linear_ode():
    """dx/ds = -x: x(1) = x0 / e; Euler's error falls like h, Heun's like h^2."""
    x = _points(3, scale=1.0)
    exact = x / math.e
    errors = {solver: [float((ode_path(lambda y, s: -y, x, n, solver)[-1] - exact).abs().max()) for n in (10, 20)]
              for solver in ("euler", "heun")}
    assert errors["euler"][0] / errors["euler"][1] == pytest.approx(2, rel=0.1)
    assert errors["heun"][0] / errors["heun"][1] == pytest.approx(4, rel=0.1)


# ---------------------------------------------------------------- the two-sample test

def test_energy_distance_known_answer():
    x = torch.zeros(2, 2)
    y = torch.tensor([[3.0, 4.0], [3.0, 4.0]])
    assert energy_distance(x, y) == pytest.approx(2 * 5.0)
    assert energy_distance(x, x) == pytest.approx(0.0)


def test_two_sample_test_accepts_held_out_data_and_rejects_a_gaussian_with_the_same_moments():
    data, held_out = MIXTURE.sample(800, seed=1), MIXTURE.sample(800, seed=2)
    same = two_sample_test(held_out, data, 200, seed=0)
    # N(0, 2.04 I) has the ring's mean and covariance (radius^2 / 2 + std^2 = 2.04)
    gaussian = two_sample_test(math.sqrt(2.04) * _points(800, seed=3, scale=1.0), data, 200, seed=0)
    print("held-out data:", same, "\nmoment-matched Gaussian:", gaussian)
    assert not same["reject"] and same["statistic"] < same["threshold"]
    assert gaussian["reject"] and gaussian["p_value"] == pytest.approx(1 / 201)
    assert gaussian["statistic"] > gaussian["threshold"] > 0


# ---------------------------------------------------------------- the shipped models

@pytest.fixture(scope="module")
def shipped():
    return {name: shipped_toy(name) for name in ("diffusion08_dsm", "diffusion08_flow")}


def test_score_error_of_the_shipped_model_is_small_and_far_below_an_untrained_one(shipped):
    t_values = torch.tensor([2, 10, 20, 50, 100])
    trained = score_error(shipped["diffusion08_dsm"], MIXTURE, t_values, 1000, seed=0)
    untrained = score_error(ToyDiffusion(seed=1), MIXTURE, t_values, 1000, seed=0)
    print("relative score error, trained:", trained, "\nuntrained:", untrained)
    assert all(math.isfinite(v) for v in trained.values())
    assert trained[2] < 0.1 and trained[10] < 0.03 and trained[50] < 0.002 and trained[100] < 0.001
    assert trained[2] > trained[10] > trained[20] > trained[50]  # the score is hardest to learn at low noise
    # (at high noise eps_theta -> x_t by construction, right even untrained: compare where the net matters)
    assert all(trained[t] < untrained[t] / 10 for t in (2, 10, 20))


@pytest.mark.parametrize("name, stochastic, steps", [("diffusion08_flow", False, 50), ("diffusion08_dsm", False, 100),
                                                     ("diffusion08_dsm", True, 100)])
def test_shipped_models_transport_the_gaussian_to_the_data(shipped, name, stochastic, steps):
    model = shipped[name]
    kwargs = {"stochastic": True} if stochastic else {}
    samples = model.sample(1000, steps, seed=3, **kwargs)
    result = two_sample_test(samples, MIXTURE.sample(1000, seed=1), 200, seed=0)
    print(name, "SDE" if stochastic else "ODE", steps, "steps:", result)
    assert not result["reject"]


def test_the_untrained_flow_is_rejected():
    samples = FlowMatching(seed=0).sample(1000, 20, seed=3)
    assert two_sample_test(samples, MIXTURE.sample(1000, seed=1), 200, seed=0)["reject"]
