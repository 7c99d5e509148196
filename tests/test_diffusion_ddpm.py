"""The digits diffusion model: its samplers and its bound, checked with an oracle noise predictor whose
answers are known in closed form (the data is one image x*)."""

from __future__ import annotations

import pytest
import torch

from course_gen import diffusion
from course_gen.diffusion import DDPM


class PointMassDDPM(DDPM):
    """A DDPM whose noise predictor is the exact one for data that is always the image ``target``:
    eps*(x_t, t) = (x_t - sqrt(abar_t) x*) / sqrt(1 - abar_t)."""

    def __init__(self, target: torch.Tensor, T: int = 50):
        super().__init__(T=T, channels=8)
        self.target = 2 * target - 1

    def predict_noise(self, xt, t):
        abar = diffusion.alpha_bars(self.betas)[t - 1].float().reshape(-1, 1, 1, 1)
        return (xt - abar.sqrt() * self.target) / (1 - abar).sqrt()


def _digit(seed: int) -> torch.Tensor:
    return (torch.rand(1, 1, 28, 28, generator=torch.Generator().manual_seed(seed)) > 0.7).float()


def test_the_unet_predicts_noise_of_the_right_shape_and_starts_at_zero():
    model = DDPM(T=10, channels=8)
    x, t = torch.randn(3, 1, 28, 28), torch.tensor([1, 5, 10])
    assert torch.equal(model.predict_noise(x, t), torch.zeros(3, 1, 28, 28))  # zero-initialised head
    embeddings = diffusion.step_embedding(torch.arange(1, 11), 32)
    assert torch.cdist(embeddings, embeddings).fill_diagonal_(1).min() > 0.1  # every step has its own code
    model.net.head[-1].weight.data.normal_()
    model.loss((x > 0).float()).backward()
    assert model.net.stem.weight.grad.abs().sum() > 0


def test_the_simple_loss_of_the_exact_noise_predictor_is_zero():
    star = _digit(0)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        assert float(PointMassDDPM(star).loss(star.expand(8, -1, -1, -1))) < 1e-8
        assert float(PointMassDDPM(star).loss(_digit(1).expand(8, -1, -1, -1))) > 1e-3


@pytest.mark.parametrize("sampler", diffusion.SAMPLERS)
def test_both_samplers_with_the_exact_predictor_land_on_the_data(sampler):
    star = _digit(0)
    model = PointMassDDPM(star)
    for steps in (1, 7, 50):
        images = model.sample(3, steps=steps, sampler=sampler, seed=steps)
        assert torch.allclose(images, star.expand(3, -1, -1, -1), atol=1e-4), (sampler, steps)


def test_samples_are_seeded():
    model = DDPM(T=20, channels=8)
    model.net.head[-1].weight.data.normal_(0, 0.1)
    a, b, c = (model.sample(2, steps=5, sampler="ddpm", seed=s) for s in (0, 0, 1))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_inpainting_keeps_the_known_pixels_and_completes_the_rest():
    star, other = _digit(0), _digit(1)
    mask = torch.zeros(1, 1, 28, 28)
    mask[..., :14, :] = 1
    completed = PointMassDDPM(star).inpaint(other, mask, steps=20)
    assert torch.equal(completed[..., :14, :], other[..., :14, :])
    assert torch.allclose(completed[..., 14:, :], star[..., 14:, :], atol=1e-3)  # the model knows only x*


def test_inpainting_needs_both_the_images_and_the_mask():
    model = DDPM(T=10, channels=8)
    with pytest.raises(ValueError, match="both known"):
        model.denoise(torch.randn(1, 1, 28, 28), steps=2, mask=torch.ones(1, 1, 28, 28))


def test_the_bound_of_a_point_mass_model_equals_its_kl_terms_in_closed_form():
    """For data x0 and a model sure of x*, eps - eps_theta = -sqrt(abar_t / (1 - abar_t)) (x0 - x*): every
    L_{t-1} is deterministic. Compare with the KL between the posterior and the model's step computed
    from q_posterior and ddpm_mean (equal variances: ||mean difference||^2 / (2 sigma_t^2))."""
    star, x = _digit(0), _digit(1)
    model = PointMassDDPM(star, T=30)
    b = model.betas
    x0, xstar = 2 * x - 1, 2 * star - 1
    expected = 0.0
    for t in range(2, 31):
        tt = torch.tensor([t])
        xt = diffusion.q_sample(x0, tt, b, torch.randn_like(x0))
        mean_q, var = diffusion.q_posterior(x0, xt, tt, b)
        mean_p = diffusion.ddpm_mean(xt, tt, b, model.predict_noise(xt, tt))
        expected += float((mean_q - mean_p).pow(2).sum() / (2 * var.flatten()[0]))
    terms = model.negative_elbo(x, n_t=29, seed=3)  # one t in each of 29 strata of 2..30: every t once
    assert float(terms["diffusion"]) == pytest.approx(expected, rel=1e-6)
    sampled = torch.stack([model.negative_elbo(x, n_t=4, seed=s)["diffusion"] for s in range(300)])
    standard_error = float(sampled.std()) / len(sampled) ** 0.5
    assert abs(float(sampled.mean()) - expected) < 4 * standard_error  # stratified sampling of t is unbiased
    own = model.negative_elbo(star, n_t=5)
    assert float(own["diffusion"]) < 1e-6 and float(own["decoder"]) < 1e-6
    abar_T = float(diffusion.alpha_bars(b)[-1])
    prior = 0.5 * 784 * (abar_T + (1 - abar_T) - 1 - torch.log(torch.tensor(1 - abar_T)))
    assert float(own["total"]) == pytest.approx(float(prior), rel=1e-6)


def test_respaced_chain_keeps_alpha_bar_at_the_kept_steps():
    b = diffusion.betas(1000, "linear")
    steps, short = diffusion.respaced(b, 37)
    assert steps[0] == 1 and steps[-1] == 1000 and bool((steps[1:] > steps[:-1]).all())
    assert torch.allclose(diffusion.alpha_bars(short), diffusion.alpha_bars(b)[steps - 1], rtol=1e-10)
    assert torch.allclose(diffusion.respaced(b, 1000)[1], b, rtol=1e-9)  # all steps kept: the chain itself


class GaussianDDPM(DDPM):
    """The exact noise predictor when every pixel is N(0, s^2) on the {-1, +1} scale:
    x_t ~ N(0, abar s^2 + 1 - abar), so E[eps | x_t] = sqrt(1 - abar) x_t / (abar s^2 + 1 - abar)."""

    def __init__(self, s: float, T: int = 1000):
        super().__init__(T=T, channels=8)
        self.s = s

    def predict_noise(self, xt, t):
        abar = diffusion.alpha_bars(self.betas)[t - 1].float().reshape(-1, 1, 1, 1)
        return (1 - abar).sqrt() * xt / (abar * self.s**2 + 1 - abar)


@pytest.mark.parametrize("sampler", diffusion.SAMPLERS)
def test_both_samplers_reach_the_data_variance_with_the_exact_predictor(sampler):
    s = 0.3
    _, path = GaussianDDPM(s).denoise(torch.randn(12, 1, 28, 28, generator=torch.Generator().manual_seed(0)),
                                      steps=1000, sampler=sampler, seed=1, keep_every=1)
    t_last, x1 = path[-1]
    assert t_last == 1
    # on the full chain (on a short one the reverse steps' fixed variances no longer fit: std 0.25-0.27 at 50)
    assert float(x1.std()) == pytest.approx(s, rel=0.02)  # ancestral noise of the wrong size would miss it
