"""NADE, local (windowed) sampling, the discretised logistic mixture and notebook 03's recipes."""

from __future__ import annotations

import math

import pytest
import torch

from course_gen import autoregressive as ar
from course_gen.autoregressive import (
    NADE,
    GatedPixelCNN,
    PixelCNN,
    discretized_logistic_mixture_log_prob,
    fit_logistic_mixture,
)

pytestmark = pytest.mark.usefixtures("one_thread")


def all_binary_images(shape) -> torch.Tensor:
    d = math.prod(shape)
    codes = torch.arange(2 ** d)
    return ((codes[:, None] >> torch.arange(d)) & 1).to(torch.float64).reshape(2 ** d, *shape)


def random_nade(shape=(1, 3, 4), hidden=7, seed=0) -> NADE:
    torch.manual_seed(seed)
    model = NADE(shape, hidden=hidden).double()
    with torch.no_grad():  # biases away from zero, so that every term matters
        model.b.normal_()
        model.c.normal_()
    return model


# ============================================================================ NADE


def test_nade_is_autoregressive_by_gradients():
    model = random_nade((1, 3, 4))
    x = torch.bernoulli(torch.full((1, 1, 3, 4), 0.5, dtype=torch.float64), generator=torch.Generator().manual_seed(1))
    jac = torch.autograd.functional.jacobian(lambda v: model(v).reshape(-1), x).reshape(12, 12)
    before = torch.tril(torch.ones(12, 12, dtype=torch.bool), -1)
    assert int((jac[~before] != 0).sum()) == 0  # no output sees itself or a later input
    assert int((jac[before] == 0).sum()) == 0  # and every earlier input reaches it


def test_nade_log_prob_matches_the_chain_rule_computed_naively():
    model = random_nade((1, 2, 5), hidden=6)
    x = torch.bernoulli(torch.full((4, 1, 2, 5), 0.5, dtype=torch.float64), generator=torch.Generator().manual_seed(2))
    flat = x.reshape(4, -1)
    expected = torch.zeros(4, dtype=torch.float64)
    for i in range(10):
        h = torch.sigmoid(model.c + flat[:, :i] @ model.W[:, :i].T)  # W[:, <i] x_<i
        p = torch.sigmoid(model.b[i] + h @ model.V[i])
        expected += torch.where(flat[:, i] == 1, p, 1 - p).log()
    assert torch.allclose(model.log_prob(x), expected, atol=1e-10)


def test_nade_probabilities_sum_to_one_over_all_images():
    model = random_nade((1, 2, 4), hidden=5)
    total = model.log_prob(all_binary_images((1, 2, 4))).exp().sum()
    assert abs(float(total.detach()) - 1) < 1e-10


def test_nade_samples_are_seeded_and_follow_its_distribution():
    model = random_nade((1, 1, 2), hidden=3, seed=4)
    a = model.sample(4000, seed=0)
    assert torch.equal(a, model.sample(4000, seed=0)) and not torch.equal(a, model.sample(4000, seed=1))
    index = (a[:, 0, 0, 0] * 2 + a[:, 0, 0, 1]).long()
    frequencies = torch.bincount(index, minlength=4).double() / 4000
    images = torch.tensor([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=torch.float64).reshape(4, 1, 1, 2)
    assert torch.allclose(frequencies, model.log_prob(images).exp().detach(), atol=0.03)


def test_nade_complete_keeps_the_given_pixels():
    model = random_nade((1, 4, 4), hidden=5)
    x = torch.bernoulli(torch.full((6, 1, 4, 4), 0.5, dtype=torch.float64), generator=torch.Generator().manual_seed(3))
    observed = torch.zeros(4, 4, dtype=torch.bool)
    observed[:2] = True
    filled = model.complete(x, observed, seed=2)
    assert torch.equal(filled[:, :, :2], x[:, :, :2])
    assert torch.equal(filled, model.complete(x, observed, seed=2))
    assert bool(((filled == 0) | (filled == 1)).all())


def test_nade_rejects_other_shapes():
    with pytest.raises(ValueError, match="shape"):
        NADE((1, 4, 4)).sample(1, (5, 5))
    with pytest.raises(ValueError, match="shape"):
        NADE((1, 4, 4))(torch.zeros(2, 1, 3, 3))


# ============================================================================ local sampling


@pytest.mark.parametrize("model_class", [PixelCNN, GatedPixelCNN])
def test_the_window_holds_everything_a_pixel_sees(model_class):
    torch.manual_seed(0)
    model = model_class(n_layers=3, hidden_channels=4, kernel_size=3).double().eval()
    x = torch.bernoulli(torch.full((2, 1, 14, 15), 0.5, dtype=torch.float64), generator=torch.Generator().manual_seed(0))
    full = model(x)
    for i, j in [(0, 0), (3, 14), (13, 7), (9, 0), (13, 14), (6, 5)]:
        assert torch.allclose(model.logits_at(x, 0, i, j, local=True), full[:, 0, i, j], atol=1e-12)
    # a window one row too small would miss the pixel's top row: the gradient test says it matters
    rows, cols = model.window()
    field = ar.receptive_field(model, (14, 15), (13, 7)) != 0
    assert bool(field[13 - rows].any()) and not bool(field[: 13 - rows].any())


@pytest.mark.parametrize("model_class", [PixelCNN, GatedPixelCNN])
def test_local_completion_keeps_given_pixels_is_seeded_and_equals_the_full_one(model_class):
    torch.manual_seed(1)
    model = model_class(n_layers=2, hidden_channels=4, kernel_size=3).double()
    x = torch.bernoulli(torch.full((3, 1, 9, 10), 0.5, dtype=torch.float64), generator=torch.Generator().manual_seed(5))
    observed = torch.zeros(9, 10, dtype=torch.bool)
    observed[:5] = True
    local = model.complete(x, observed, seed=3, local=True)
    assert torch.equal(local[:, :, :5], x[:, :, :5])
    assert torch.equal(local, model.complete(x, observed, seed=3, local=True))
    assert not torch.equal(local, model.complete(x, observed, seed=4, local=True))
    assert torch.equal(local, model.complete(x, observed, seed=3, local=False))
    assert torch.equal(model.sample(2, (6, 7), seed=1, local=True), model.sample(2, (6, 7), seed=1))


# ============================================================================ discretised logistic mixture


def random_mixture(batch=5, k=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    weights = torch.randn(batch, k, generator=g, dtype=torch.float64)
    means = torch.rand(batch, k, generator=g, dtype=torch.float64) * 320 - 30   # some beyond the edges
    log_scales = torch.randn(batch, k, generator=g, dtype=torch.float64) * 1.5 - 0.5   # some very narrow
    return weights, means, log_scales


def test_the_256_probabilities_sum_to_one():
    weights, means, log_scales = random_mixture()
    values = torch.arange(256, dtype=torch.float64)[:, None]
    total = discretized_logistic_mixture_log_prob(values, weights, means, log_scales).exp().sum(dim=0)
    assert torch.allclose(total, torch.ones(5, dtype=torch.float64), atol=1e-6)


def test_it_matches_numerical_integration_of_the_logistic_density():
    weights, means, log_scales = random_mixture(batch=1, k=2, seed=3)
    log_scales = log_scales.clamp_min(0.5)  # broad enough for a grid of 0.01
    pi = torch.softmax(weights[0], dim=0)
    s = log_scales[0].exp()

    def density(y):
        z = (y[:, None] - means[0]) / s
        return (pi * torch.sigmoid(z) * torch.sigmoid(-z) / s).sum(dim=1)

    for value in (0, 1, 37, 128, 254, 255):
        low = -2000.0 if value == 0 else value - 0.5
        high = 2300.0 if value == 255 else value + 0.5
        grid = torch.linspace(low, high, 400001, dtype=torch.float64)
        integral = torch.trapezoid(density(grid), grid)
        got = discretized_logistic_mixture_log_prob(torch.tensor(float(value)), weights[0], means[0], log_scales[0]).exp()
        assert abs(float(got) - float(integral)) < 1e-6 * max(1.0, float(integral) * 1e3), value


def test_the_edges_get_the_tails():
    one = torch.zeros(1, dtype=torch.float64)
    # a narrow logistic far left of 0 puts all its mass on 0, far right of 255 on 255
    left = discretized_logistic_mixture_log_prob(torch.tensor(0.0), one, torch.tensor([-50.0], dtype=torch.float64), one)
    right = discretized_logistic_mixture_log_prob(torch.tensor(255.0), one, torch.tensor([400.0], dtype=torch.float64), one)
    assert float(left.exp()) > 1 - 1e-9 and float(right.exp()) > 1 - 1e-9
    # without the tails the edge value would get only its bin: mass 0.5 for a logistic centred on it
    at_zero = discretized_logistic_mixture_log_prob(torch.tensor(0.0), one, torch.tensor([0.0], dtype=torch.float64), one)
    assert abs(float(at_zero.exp()) - 1 / (1 + math.exp(-0.5))) < 1e-12


def test_fit_recovers_a_known_logistic():
    g = torch.Generator().manual_seed(0)
    u = torch.rand(200_000, generator=g, dtype=torch.float64)
    values = (100 + 12 * torch.log(u / (1 - u))).round().clamp(0, 255)
    fit = fit_logistic_mixture(values, n_components=1, steps=200)
    assert abs(float(fit["means"][0]) - 100) < 1.0
    assert abs(float(fit["log_scales"][0].exp()) - 12) < 0.5


def test_mixture_bad_input_is_named():
    w, m, s = (torch.zeros(3, dtype=torch.float64) for _ in range(3))
    with pytest.raises(ValueError, match="integers"):
        discretized_logistic_mixture_log_prob(torch.tensor(256.0), w, m, s)
    with pytest.raises(ValueError, match="integers"):
        discretized_logistic_mixture_log_prob(torch.tensor(2.5), w, m, s)
    with pytest.raises(ValueError, match="same shape"):
        discretized_logistic_mixture_log_prob(torch.tensor(2.0), w, m, torch.zeros(4, dtype=torch.float64))
    with pytest.raises(TypeError, match="floating-point"):
        discretized_logistic_mixture_log_prob(torch.tensor(2.0), w.long(), m, s)


def test_mixture_refuses_non_finite_parameters_and_a_runaway_fit():
    w, m, s = (torch.zeros(3, dtype=torch.float64) for _ in range(3))
    with pytest.raises(ValueError, match="means .*NaN"):
        discretized_logistic_mixture_log_prob(torch.tensor(2.0), w, torch.full((3,), float("nan")), s)
    with pytest.raises(ValueError, match="broadcast"):
        discretized_logistic_mixture_log_prob(torch.zeros(4), *(torch.zeros(2, 3) for _ in range(3)))
    values = torch.randint(0, 256, (50,), generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="steps must be an int <= 10000000"):
        fit_logistic_mixture(values, steps=10**8)
    with pytest.raises(ValueError, match="lr must be a positive finite number"):
        fit_logistic_mixture(values, steps=2, lr=float("inf"))
    with pytest.raises(ValueError, match="diverged"):
        fit_logistic_mixture(values, steps=20, lr=1e6)


# ============================================================================ recipes


def test_the_compared_models_have_matched_sizes_and_named_checkpoints():
    counts = {kind: sum(p.numel() for p in ar.comparison_model(kind).parameters()) for kind in ar.COMPARISON_MODELS}
    plain, gated = counts["PixelCNN"], counts["Gated PixelCNN"]
    assert abs(plain - gated) / gated < 0.02
    assert ar.comparison_name("Gated PixelCNN", 2) == "ar_compare_gated_s2"
    assert ar.overfit_name(0.5) == "ar_overfit_p50" and ar.overfit_name(0.0) == "ar_overfit_p00"
    a, b = ar.comparison_model("PixelCNN", 1), ar.comparison_model("PixelCNN", 1)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(next(a.parameters()), next(ar.comparison_model("PixelCNN", 2).parameters()))


@pytest.mark.parametrize("recipe", ["train_comparison", "train_nade"])
@pytest.mark.parametrize("steps, error", [(0, ValueError), (10**12, ValueError), (1.5, TypeError), ("1", TypeError)])
def test_recipes_check_their_steps(recipe, steps, error):
    model = ar.nade_model() if recipe == "train_nade" else ar.comparison_model("PixelCNN")
    with pytest.raises(error, match="steps must be an int"):
        getattr(ar, recipe)(model, torch.ones(2, 1, 28, 28), steps=steps)


def test_model_builders_leave_the_callers_random_stream_alone():
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    ar.comparison_model("Gated PixelCNN", seed=1), ar.overfit_model(0.5, seed=2), ar.nade_model(seed=3)
    assert torch.equal(torch.rand(3), expected)
