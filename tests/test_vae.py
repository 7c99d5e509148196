"""The ELBO, the VAE and the IWAE bound: exact identities on a tractable model, Monte Carlo
agreement with closed forms, bound ordering robust to noise, and clear errors on bad input."""

from __future__ import annotations

import math

import pytest
import torch

from course_gen import vae
from course_gen.train import train
from course_gen.vae import VAE, LinearGaussian, gaussian_kl, iwae_bound


def random_q(model: LinearGaussian, batch: int, seed: int):
    """Random Gaussian q's: means (B, k) and SPD covariances (B, k, k)."""
    generator = torch.Generator().manual_seed(seed)
    k = model.latent_dim
    mean = 2 * torch.randn(batch, k, generator=generator, dtype=torch.float64)
    root = torch.randn(batch, k, k, generator=generator, dtype=torch.float64)
    return mean, root @ root.transpose(1, 2) + 0.05 * torch.eye(k, dtype=torch.float64)


@pytest.fixture(scope="module")
def tractable():
    model = LinearGaussian.random(data_dim=5, latent_dim=3, noise_std=0.7, seed=1)
    x, _ = model.sample(16, seed=2)
    return model, x


# ============================================================================ Gaussian KL


def test_gaussian_kl_matches_monte_carlo_and_torch_distributions():
    generator = torch.Generator().manual_seed(0)
    mu = torch.randn(4, 3, generator=generator, dtype=torch.float64)
    logvar = torch.randn(4, 3, generator=generator, dtype=torch.float64)
    kl = gaussian_kl(mu, logvar)
    assert kl.shape == (4,)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    torch.testing.assert_close(kl, torch.distributions.kl_divergence(q, p).sum(1))
    # Monte Carlo: E_q[log q(z) - log p(z)] with 200k samples, within 5 standard errors.
    z = q.sample((200_000,))
    log_ratio = (q.log_prob(z) - p.log_prob(z)).sum(-1)
    estimate, stderr = log_ratio.mean(0), log_ratio.std(0) / math.sqrt(z.shape[0])
    assert bool(((estimate - kl).abs() < 5 * stderr + 1e-3).all()), (estimate, kl, stderr)


def test_gaussian_kl_is_zero_only_at_the_prior_and_checks_its_input():
    assert float(gaussian_kl(torch.zeros(2, 5), torch.zeros(2, 5)).abs().max()) == 0.0
    assert bool((gaussian_kl(torch.randn(3, 2), torch.randn(3, 2)) > 0).all())
    assert gaussian_kl(torch.zeros(4), torch.ones(4)).shape == ()
    with pytest.raises(ValueError, match="same shape"):
        gaussian_kl(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(TypeError, match="floating-point"):
        gaussian_kl(torch.zeros(2, 3, dtype=torch.long), torch.zeros(2, 3))
    with pytest.raises(ValueError, match="NaN"):
        gaussian_kl(torch.full((2, 3), float("nan")), torch.zeros(2, 3))


def test_log_mean_exp_is_stable_far_below_the_exp_range():
    values = torch.tensor([[-1000.0, -1001.0], [-1000.0, -1003.0]], dtype=torch.float64)
    expected = torch.tensor([-1000.0, -1001.0 + math.log((1 + math.exp(-2)) / 2)], dtype=torch.float64)
    torch.testing.assert_close(vae.log_mean_exp(values, dim=0), expected)


# ============================================================================ tractable model


def test_posterior_is_bayes_rule(tractable):
    """p(z | x) = p(x, z) / p(x): the log densities must agree at random z."""
    model, x = tractable
    mean, cov = model.posterior(x)
    z = torch.randn(x.shape[0], model.latent_dim, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    log_posterior = torch.distributions.MultivariateNormal(mean, covariance_matrix=cov).log_prob(z)
    torch.testing.assert_close(log_posterior, model.log_joint(x, z) - model.log_marginal(x))


def test_log_marginal_matches_importance_sampling_from_the_prior():
    model = LinearGaussian.random(data_dim=2, latent_dim=1, noise_std=1.0, seed=0)
    x, _ = model.sample(3, seed=1)
    z = torch.randn(400_000, 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    log_likelihood = torch.stack([
        model.log_joint(x[i].expand(len(z), -1), z) + 0.5 * (math.log(2 * math.pi) + z.pow(2).sum(1))
        for i in range(3)
    ])
    estimate = torch.logsumexp(log_likelihood, dim=1) - math.log(len(z))
    torch.testing.assert_close(estimate, model.log_marginal(x), atol=0.01, rtol=0)


def test_elbo_is_below_log_marginal_everywhere_with_the_kl_as_gap(tractable):
    model, x = tractable
    log_px = model.log_marginal(x)
    for seed in range(5):
        mean, cov = random_q(model, x.shape[0], seed)
        elbo = model.elbo(x, mean, cov)
        assert bool((elbo <= log_px + 1e-9).all())
        torch.testing.assert_close(log_px - elbo, model.kl_to_posterior(x, mean, cov), atol=1e-8, rtol=1e-8)


def test_elbo_equals_log_marginal_at_the_true_posterior(tractable):
    model, x = tractable
    mean, cov = model.posterior(x)
    elbo = model.elbo(x, mean, cov)
    assert float((elbo - model.log_marginal(x)).abs().max()) < 1e-5
    assert float(model.kl_to_posterior(x, mean, cov).abs().max()) < 1e-5
    # Any move away from the posterior opens a gap.
    assert bool((model.elbo(x, mean + 0.1, cov) < elbo).all())
    assert bool((model.elbo(x, mean, 1.5 * cov) < elbo).all())


def test_closed_form_elbo_matches_its_monte_carlo_definition(tractable):
    """ELBO = E_q[log p(x, z) - log q(z)]: sample q and average, within 5 standard errors."""
    model, x = tractable
    mean, cov = random_q(model, 1, seed=9)
    q = torch.distributions.MultivariateNormal(mean[0], covariance_matrix=cov[0])
    z = q.sample((100_000,))
    x0 = x[:1].expand(len(z), -1)
    terms = model.log_joint(x0, z) - q.log_prob(z)
    stderr = float(terms.std()) / math.sqrt(len(z))
    assert abs(float(terms.mean()) - float(model.elbo(x[:1], mean, cov)[0])) < 5 * stderr


def test_tractable_model_rejects_bad_shapes_and_non_covariances(tractable):
    model, x = tractable
    mean, cov = model.posterior(x)
    with pytest.raises(ValueError, match=r"x must have shape \(B, 5\)"):
        model.log_marginal(torch.zeros(3, 4, dtype=torch.float64))
    with pytest.raises(ValueError, match="q_cov must be a covariance matrix"):
        model.elbo(x, mean, torch.ones(3, dtype=torch.float64))
    with pytest.raises(ValueError, match="positive definite"):
        model.elbo(x, mean, -cov)
    with pytest.raises(ValueError, match="same batch size"):
        model.elbo(x, mean[:3], cov)
    with pytest.raises(ValueError, match="noise_std must be a positive"):
        LinearGaussian.random(noise_std=0.0)


# ============================================================================ VAE


@pytest.fixture(scope="module")
def digits():
    from course_gen import data

    x, _ = data.digits("train", binarize=True)
    return x


@pytest.fixture(scope="module")
def trained(digits):
    torch.manual_seed(0)
    model = VAE(latent_dim=4, likelihood="bernoulli", hidden_sizes=(64,))
    train(model, digits, steps=150, lr=3e-3, batch_size=128, device="cpu", progress=False)
    return model.eval()


@pytest.mark.parametrize("latent_dim", [1, 2, 7, 20])
def test_vae_shapes_for_any_latent_size(latent_dim):
    model = VAE(latent_dim=latent_dim, likelihood="bernoulli")
    x = torch.rand(5, 1, 8, 8)
    mu, logvar = model.encode(x)
    assert mu.shape == logvar.shape == (5, latent_dim)
    assert model.decode(mu).shape == (5, 1, 8, 8)
    terms = model.elbo(x.reshape(5, 64), n_samples=3)
    assert terms.elbo.shape == terms.reconstruction.shape == terms.kl.shape == (5,)
    torch.testing.assert_close(terms.elbo, terms.reconstruction - terms.kl)
    samples = model.sample(6)
    assert samples.shape == (6, 1, 8, 8) and float(samples.min()) >= 0 and float(samples.max()) <= 1
    binary = model.sample(6, binary=True)
    assert set(binary.unique().tolist()) <= {0.0, 1.0}
    torch.testing.assert_close(model.sample(6, seed=3), model.sample(6, seed=3))


def test_vae_other_image_shapes_and_gaussian_likelihood():
    model = VAE(latent_dim=3, likelihood="gaussian", image_shape=(1, 12, 12), decoder_std=0.5)
    x = torch.randn(4, 1, 12, 12) * 3  # any real values
    terms = model.elbo(x)
    # With a fixed sigma, the reconstruction term is the Gaussian log-density: -SSE / (2 sigma^2) - const.
    with torch.no_grad():
        z = model.reparameterize(*model.encode(x), generator=torch.Generator().manual_seed(0))
        mean = model.decoder(z)[0]
    expected = -((x.reshape(4, -1) - mean) ** 2).sum(1) / (2 * 0.25) - 144 / 2 * math.log(2 * math.pi * 0.25)
    got = model._log_likelihood(z, x.reshape(4, -1))[0]
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-3)
    assert terms.elbo.shape == (4,)
    learned = VAE(latent_dim=2, likelihood="gaussian")
    assert any(name == "decoder_log_std" for name, _ in learned.named_parameters())


def test_vae_loss_is_the_negative_elbo_and_trains(digits, trained):
    x = digits[:200]
    torch.manual_seed(0)
    untrained = VAE(latent_dim=4, hidden_sizes=(64,)).eval()
    with torch.no_grad():
        before = untrained.elbo(x, n_samples=20, seed=0).elbo.mean()
        after = trained.elbo(x, n_samples=20, seed=0).elbo.mean()
        torch.manual_seed(5)
        loss = trained.loss(x)
        torch.manual_seed(5)
        terms = trained.elbo(x)
    assert float(after) > float(before) + 10  # 150 steps gain far more than 10 nats
    torch.testing.assert_close(loss["loss"], -terms.elbo.mean())
    torch.testing.assert_close(loss["kl"], terms.kl.mean())
    beta_model = VAE(latent_dim=4, hidden_sizes=(64,), beta=4.0)
    beta_model.load_state_dict(trained.state_dict())
    torch.manual_seed(5)
    beta_loss = beta_model.loss(x)
    torch.testing.assert_close(beta_loss["loss"], beta_loss["reconstruction"] + 4.0 * beta_loss["kl"])


def test_made_decoder_is_autoregressive_in_the_pixels():
    """Logit d of the MADE decoder depends on pixels before d only (and on z)."""
    model = VAE(latent_dim=3, decoder="made", hidden_sizes=(32,)).double()
    z = torch.randn(1, 3, dtype=torch.float64)
    x = torch.rand(1, 64, dtype=torch.float64)
    jacobian = torch.autograd.functional.jacobian(lambda inp: model.decoder.logits(z, inp)[0], x)[:, 0]
    assert float(jacobian.triu().abs().max()) == 0.0
    assert float(jacobian.tril(-1).abs().sum()) > 0
    samples = model.float().sample(3, binary=True)
    assert samples.shape == (3, 1, 8, 8) and set(samples.unique().tolist()) <= {0.0, 1.0}


def test_mlp_ar_decoder_is_autoregressive_and_is_the_mlp_decoder_without_direct_weights():
    """Logit d of decoder='mlp_ar' depends on pixels before d only; with W = 0 it is the MLP decoder."""
    torch.manual_seed(0)
    model = VAE(latent_dim=3, decoder="mlp_ar", hidden_sizes=(16,)).double()
    with torch.no_grad():
        model.decoder.direct.normal_()
    z = torch.randn(1, 3, dtype=torch.float64)
    x = torch.rand(1, 64, dtype=torch.float64)
    jacobian = torch.autograd.functional.jacobian(lambda inp: model.decoder.logits(z, inp)[0], x)[:, 0]
    assert float(jacobian.triu().abs().max()) == 0.0
    below = torch.tril_indices(64, 64, offset=-1)
    assert float(jacobian[below[0], below[1]].abs().min()) > 0  # every earlier pixel is connected
    assert model.decoder.direct.numel() == 64 * 63 // 2
    plain = VAE(latent_dim=3, hidden_sizes=(16,)).double()
    plain.encoder.load_state_dict(model.encoder.state_dict())
    plain.decoder.load_state_dict(model.decoder.mlp.state_dict())
    with torch.no_grad():
        model.decoder.direct.zero_()
        torch.testing.assert_close(model.log_likelihood(x, z), plain.log_likelihood(x, z))
    samples = model.float().sample(3, binary=True)
    assert samples.shape == (3, 1, 8, 8) and set(samples.unique().tolist()) <= {0.0, 1.0}
    with pytest.raises(ValueError, match="likelihood='bernoulli'"):
        VAE(latent_dim=2, likelihood="gaussian", decoder="mlp_ar")


def test_active_units_is_the_variance_of_the_posterior_mean():
    """A latent whose mean ignores x is inactive; one whose mean copies a pixel has that pixel's variance."""
    model = VAE(latent_dim=2, hidden_sizes=(8,))
    with torch.no_grad():
        for parameter in model.encoder.parameters():
            parameter.zero_()
        first, last = model.encoder[0], model.encoder[-1]
        first.weight[0, 5] = 1.0  # hidden unit 0 = elu(pixel 5) = pixel 5 for pixels in [0, 1]
        last.weight[1, 0] = 1.0  # mu_1 = hidden unit 0; mu_0 = 0 for every image
    x = torch.rand(200, 64, generator=torch.Generator().manual_seed(0))
    count, activity = vae.active_units(model, x)
    assert count == 1
    torch.testing.assert_close(activity, torch.stack([torch.tensor(0.0), x[:, 5].var()]))
    assert vae.active_units(model, x, threshold=1.0)[0] == 0
    with pytest.raises(ValueError, match="at least 2 images"):
        vae.active_units(model, x[:1])

@pytest.mark.parametrize(
    "bad, error, match",
    [
        (torch.rand(5, 1, 7, 7), ValueError, r"expects a batch of shape \(B, 1, 8, 8\) or \(B, 64\), got \(5, 1, 7, 7\)"),
        (torch.rand(1, 8, 8), ValueError, "add a batch dimension"),
        (torch.rand(5, 63), ValueError, "got \\(5, 63\\)"),
        (torch.rand(5, 64) * 2, ValueError, r"pixels in \[0, 1\]"),
        (-torch.rand(5, 64), ValueError, r"pixels in \[0, 1\]"),
        (torch.full((2, 64), float("nan")), ValueError, "NaN"),
        (torch.ones(5, 64, dtype=torch.long), TypeError, "floating-point"),
        ([[0.0] * 64], TypeError, "torch.Tensor"),
    ],
)
def test_vae_rejects_wrong_shapes_ranges_and_types(bad, error, match):
    model = VAE(latent_dim=2, likelihood="bernoulli")
    with pytest.raises(error, match=match):
        model.elbo(bad)
    with pytest.raises(error, match=match):
        iwae_bound(model, bad, k=2)


def test_vae_rejects_bad_arguments():
    model = VAE(latent_dim=2)
    with pytest.raises(ValueError, match="unknown likelihood"):
        VAE(latent_dim=2, likelihood="poisson")
    with pytest.raises(ValueError, match="latent_dim must be an int >= 1"):
        VAE(latent_dim=0)
    with pytest.raises(ValueError, match="likelihood='bernoulli'"):
        VAE(latent_dim=2, likelihood="gaussian", decoder="made")
    with pytest.raises(ValueError, match=r"codes of shape \(B, 2\)"):
        model.decode(torch.zeros(3, 5))
    with pytest.raises(ValueError, match="n_samples must be an int >= 1"):
        model.elbo(torch.rand(2, 64), n_samples=0)
    with pytest.raises(ValueError, match="k must be an int >= 1"):
        iwae_bound(model, torch.rand(2, 64), k=0)
    with pytest.raises(TypeError, match="VAE"):
        iwae_bound(torch.nn.Linear(2, 2), torch.rand(2, 64), k=2)


def test_caller_tensors_are_not_modified(trained, digits):
    x = digits[:10].clone()
    before = x.clone()
    trained.elbo(x)
    iwae_bound(trained, x, k=5)
    assert torch.equal(x, before)


# ============================================================================ IWAE


def test_iwae_with_one_sample_equals_the_elbo_in_expectation(trained, digits):
    x = digits[:50]
    repeats = 400
    with torch.no_grad():
        iwae_1 = torch.stack([iwae_bound(trained, x, k=1, seed=s) for s in range(repeats)]).mean(1)
        elbo = torch.stack([trained.elbo(x, seed=10_000 + s).elbo for s in range(repeats)]).mean(1)
    difference = float(iwae_1.mean() - elbo.mean())
    stderr = math.sqrt(float(iwae_1.var() + elbo.var()) / repeats)
    assert abs(difference) < 4 * stderr + 1e-4, (difference, stderr)


def test_iwae_bound_does_not_decrease_with_k_and_stays_below_a_larger_k(trained, digits):
    """E[L_1] <= E[L_5] <= E[L_50]: means over 40 seeds, each step up must not fall by more than
    3 standard errors of the difference (and the total gain must be clearly positive)."""
    x = digits[:100]
    seeds = range(40)
    means = {}
    for k in (1, 5, 50):
        values = torch.stack([iwae_bound(trained, x, k=k, seed=s).mean() for s in seeds])
        means[k] = values
    for small, large in ((1, 5), (5, 50)):
        difference = means[large] - means[small]
        stderr = float(difference.std()) / math.sqrt(len(difference))
        assert float(difference.mean()) > -3 * stderr, (small, large, float(difference.mean()), stderr)
    assert float(means[50].mean() - means[1].mean()) > 0.1


def test_iwae_is_chunk_independent_and_stable_for_large_k(trained, digits):
    x = digits[:8]
    a = iwae_bound(trained, x, k=300, seed=1, chunk=300)
    b = iwae_bound(trained, x, k=300, seed=1, chunk=7)
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-4)
    assert bool(torch.isfinite(iwae_bound(trained, x, k=1000, seed=2)).all())


def test_iwae_equals_log_mean_exp_of_the_log_weights(trained, digits):
    x = digits[:6]
    with torch.no_grad():
        log_w = trained.log_weights(x, k=30, seed=4)
    torch.testing.assert_close(iwae_bound(trained, x, k=30, seed=4), vae.log_mean_exp(log_w, dim=0))
    # With k = 1 the IWAE bound is one sample of log w, whose mean is the ELBO: same draw of z.
    with torch.no_grad():
        elbo_sample = trained.log_weights(x, k=1, seed=4)[0]
    torch.testing.assert_close(iwae_bound(trained, x, k=1, seed=4), elbo_sample)


# ============================================================================ diagnostics


def test_kl_per_dimension_sums_to_the_kl(trained, digits):
    x = digits[:40]
    per_dim = vae.kl_per_dimension(trained, x)
    assert per_dim.shape == (4,)
    with torch.no_grad():
        torch.testing.assert_close(per_dim.sum(), trained.elbo(x).kl.mean())


def test_factor_correlations_find_a_latent_that_is_a_factor():
    """A VAE whose encoder mean copies pixels is checked against factors that are those pixels."""
    model = VAE(latent_dim=2, hidden_sizes=(8,))
    x = torch.rand(50, 1, 8, 8)
    with torch.no_grad():
        mu, _ = model.encode(x)
    factors = {"x": mu[:, 0].clone(), "y": -mu[:, 1].clone(), "scale": torch.rand(50)}
    corr = vae.factor_correlations(model, x, factors)
    assert corr.shape == (2, 3)
    assert float(corr[0, 0]) == pytest.approx(1.0) and float(corr[1, 1]) == pytest.approx(1.0)
    assert float(corr[:, 2].max()) < 0.5
    with pytest.raises(ValueError, match="unknown factor"):
        vae.factor_correlations(model, x, factors, names=("rotation",))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_vae_and_iwae_on_cuda(digits):
    model = VAE(latent_dim=3).to("cuda")
    x = digits[:16].to("cuda")
    assert model.elbo(x, seed=0).elbo.device.type == "cuda"
    assert iwae_bound(model, x, k=10, seed=0).device.type == "cuda"
    assert model.sample(4, seed=0).device.type == "cuda"
    history = train(model, digits, steps=3, device="cuda", progress=False)
    assert len(history) == 3


def test_log_likelihood_matches_bernoulli_formula_and_checks_pairs(trained, digits):
    x = digits[:5]
    with torch.no_grad():
        mu, _ = trained.encode(x)
        probs = trained.decode(mu).reshape(5, 64)
        expected = (x.reshape(5, 64) * probs.log() + (1 - x.reshape(5, 64)) * (1 - probs).log()).sum(1)
        torch.testing.assert_close(trained.log_likelihood(x, mu), expected, rtol=1e-4, atol=1e-3)
    with pytest.raises(ValueError, match="one code per image"):
        trained.log_likelihood(x, mu[:3])


def test_gaussian_log_prob_matches_torch_and_checks_input():
    x, mean = torch.randn(3, 4), torch.randn(3, 4)
    expected = torch.distributions.Normal(mean, 0.5).log_prob(x).sum(1)
    torch.testing.assert_close(vae.gaussian_log_prob(x, mean, 2 * math.log(0.5)), expected)
    with pytest.raises(ValueError, match="does not broadcast"):
        vae.gaussian_log_prob(x, torch.zeros(3, 5), 0.0)
    with pytest.raises(TypeError, match="floating-point"):
        vae.gaussian_log_prob(torch.ones(3, 4, dtype=torch.long), mean, 0.0)


def test_vae_device_argument():
    model = VAE(latent_dim=2, device="cpu")
    assert next(model.parameters()).device.type == "cpu"
    with pytest.raises(ValueError, match="unknown device"):
        VAE(latent_dim=2, device="nonsense")


# ============================================================================ bad input (issue 17)


def test_vae_casts_float64_input_to_its_weights_dtype():
    model = vae.build(2, hidden_sizes=(8,), image_shape=(1, 4, 4), seed=0)
    x = (torch.rand(3, 1, 4, 4, generator=torch.Generator().manual_seed(0)) > 0.5)
    with torch.no_grad():
        single = model.elbo(x.float(), seed=1).elbo
        double = model.elbo(x.double(), seed=1).elbo
        assert double.dtype == torch.float32
        torch.testing.assert_close(single, double)
        torch.testing.assert_close(model.decode(torch.zeros(2, 2, dtype=torch.float64)), model.decode(torch.zeros(2, 2)))
        doubled = vae.build(2, hidden_sizes=(8,), image_shape=(1, 4, 4), seed=0).double()
        assert doubled.elbo(x.float(), seed=1).elbo.dtype == torch.float64
        assert doubled.sample(2).dtype == torch.float64


def test_counts_and_sizes_are_bounded_so_a_typo_cannot_exhaust_memory_or_hang():
    model = vae.build(2, hidden_sizes=(8,), image_shape=(1, 4, 4), seed=0)
    x = torch.zeros(3, 16)
    with pytest.raises(ValueError, match="weights"):
        vae.build(10**9, hidden_sizes=(8,), image_shape=(1, 4, 4))
    with pytest.raises(ValueError, match="n_flows must be an int <="):
        VAE(latent_dim=2, n_flows=10**6)
    with pytest.raises(ValueError, match="n must be an int <="):
        model.sample(10**12)
    with pytest.raises(ValueError, match="n_samples must be an int <="):
        model.elbo(x, n_samples=10**9)
    with pytest.raises(ValueError, match="k must be an int <="):
        iwae_bound(model, x, k=10**7)
    with pytest.raises(ValueError, match="data_dim must be an int <="):
        LinearGaussian.random(data_dim=10**6)
    with pytest.raises(ValueError, match="steps must be an int <="):
        vae.fit_planar_posterior(LinearGaussian.random(), torch.zeros(1, 2), 1, steps=10**9)


def test_reparameterize_checks_its_arguments():
    model = vae.build(2, hidden_sizes=(8,), image_shape=(1, 4, 4), seed=0)
    mu, logvar = torch.zeros(3, 2), torch.zeros(3, 2)
    assert model.reparameterize(mu, logvar, 4).shape == (4, 3, 2)
    with pytest.raises(ValueError, match="same shape"):
        model.reparameterize(mu, torch.zeros(3, 3))
    with pytest.raises(ValueError, match="NaN"):
        model.reparameterize(torch.full((3, 2), float("nan")), logvar)
    with pytest.raises(TypeError, match="generator"):
        model.reparameterize(mu, logvar, generator=0)


def test_gaussian_log_prob_and_log_mean_exp_reject_what_would_give_a_wrong_number():
    x = torch.zeros(3, 2)
    with pytest.raises(ValueError, match="logvar must be a finite number"):
        vae.gaussian_log_prob(x, x, float("nan"))
    with pytest.raises(ValueError, match="does not broadcast"):  # a larger mean would be summed wrongly
        vae.gaussian_log_prob(x, torch.zeros(4, 3, 2), 0.0)
    with pytest.raises(ValueError, match="dim must be an int <= 1"):
        vae.log_mean_exp(x, dim=2)
    with pytest.raises(ValueError, match="NaN or \\+inf"):
        vae.log_mean_exp(torch.tensor([0.0, float("inf")]))
    # a draw of zero weight (-inf) is allowed: log mean exp of (log 1, log 0) is log 1/2
    assert float(vae.log_mean_exp(torch.tensor([0.0, -float("inf")]))) == pytest.approx(-math.log(2))


def test_factor_correlations_reject_non_finite_factors_and_a_bare_name():
    model = vae.build(2, hidden_sizes=(8,), image_shape=(1, 4, 4), seed=0)
    x = torch.rand(5, 16, generator=torch.Generator().manual_seed(0))
    factors = {"x": torch.arange(5.0), "y": torch.tensor([float("nan")] * 5)}
    assert vae.factor_correlations(model, x, factors, names=["x"]).shape == (2, 1)
    with pytest.raises(ValueError, match="NaN"):
        vae.factor_correlations(model, x, factors, names=("y",))
    with pytest.raises(TypeError, match="names must be a non-empty sequence"):
        vae.factor_correlations(model, x, factors, names="x")
    with pytest.raises(ValueError, match="at least 2 images"):
        vae.factor_correlations(model, x[:1], factors, names=("x",))


def test_fit_planar_posterior_says_when_the_fit_diverges():
    model = LinearGaussian.random(data_dim=2, latent_dim=1, seed=0)
    with pytest.raises(ValueError, match="diverged"):
        vae.fit_planar_posterior(model, torch.zeros(1, 2, dtype=torch.float64), 1, steps=20, n_samples=8,
                                 lr=1e12, n_eval=50)
