"""Planar flows in the VAE posterior, the rounded Gaussian decoder, and the notebook's recipe:
log-determinants against autograd Jacobians, the ELBO as the mean of the log-weights, the exact
gap on the linear-Gaussian model, and the save/load round trip of the shipped weights."""

from __future__ import annotations

import math

import pytest
import torch

from course_gen import vae
from course_gen.flows import planar_map
from course_gen.vae import VAE, LinearGaussian, amortised_planar


def random_params(batch: int, k: int, seed: int):
    generator = torch.Generator().manual_seed(seed)
    u, w = (torch.randn(batch, k, generator=generator, dtype=torch.float64) for _ in range(2))
    b = torch.randn(batch, generator=generator, dtype=torch.float64)
    return u, w, b


def test_amortised_planar_log_det_matches_the_autograd_jacobian():
    u, w, b = random_params(4, 3, seed=0)
    u = 3 * u  # large u: without the constraint some maps would fold
    z = torch.randn(5, 4, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    y, log_det = amortised_planar(z, u, w, b)
    assert y.shape == z.shape and log_det.shape == (5, 4)
    for s in range(5):
        for i in range(4):
            jac = torch.autograd.functional.jacobian(
                lambda v: amortised_planar(v[None, None].expand(1, 4, 3), u, w, b)[0][0, i], z[s, i])
            sign, logabsdet = torch.linalg.slogdet(jac)
            assert float(sign) > 0  # invertible, orientation kept
            torch.testing.assert_close(log_det[s, i], logabsdet)


def test_amortised_planar_is_the_planar_map_with_the_constrained_u():
    u, w, b = random_params(3, 2, seed=2)
    z = torch.randn(7, 3, 2, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    y, log_det = amortised_planar(z, u, w, b)
    for i in range(3):
        wu = torch.dot(w[i], u[i])
        u_hat = u[i] + (torch.nn.functional.softplus(wu) - 1 - wu) * w[i] / w[i].pow(2).sum()
        assert float(torch.dot(w[i], u_hat)) > -1
        expected_y, expected_log_det = planar_map(z[:, i], u_hat, w[i], b[i])
        torch.testing.assert_close(y[:, i], expected_y)
        torch.testing.assert_close(log_det[:, i], expected_log_det)
    with pytest.raises(ValueError, match="z must have shape"):
        amortised_planar(z[..., :1], u, w, b)
    with pytest.raises(ValueError, match="u and w"):
        amortised_planar(z, u, w[:, :1], b)


@pytest.fixture(scope="module")
def flow_vae():
    torch.manual_seed(0)
    return VAE(latent_dim=3, hidden_sizes=(16,), n_flows=2).double().eval()


def test_flow_vae_log_q_is_the_change_of_variables_through_the_encoder_maps(flow_vae):
    """log q(z_K | x) = log q_0(z_0) - log|det dz_K/dz_0|, the Jacobian of the whole composition
    taken by autograd for each image."""
    x = (torch.rand(2, 64, generator=torch.Generator().manual_seed(0)) > 0.5).double()
    generator = torch.Generator().manual_seed(5)
    z, log_q, mu, logvar = flow_vae._posterior_samples(x, 3, generator)
    _, _, params = flow_vae._encode_all(x)
    eps = torch.randn((3, 2, 3), generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    z0 = mu + torch.exp(0.5 * logvar) * eps
    log_q0 = torch.distributions.Normal(mu, torch.exp(0.5 * logvar)).log_prob(z0).sum(-1)
    for s in range(3):
        for i in range(2):
            def compose(v, i=i):
                out = v[None].expand(2, 3).clone()
                for u, w, b in params:
                    out = amortised_planar(out, u.detach(), w.detach(), b.detach())[0]
                return out[i]
            jac = torch.autograd.functional.jacobian(compose, z0[s, i])
            torch.testing.assert_close(compose(z0[s, i]), z[s, i])
            expected = log_q0[s, i] - torch.linalg.slogdet(jac)[1]
            torch.testing.assert_close(log_q[s, i], expected)


def test_flow_vae_elbo_is_the_mean_of_its_log_weights_and_iwae_is_above(flow_vae):
    x = (torch.rand(4, 1, 8, 8, generator=torch.Generator().manual_seed(1)) > 0.5).double()
    with torch.no_grad():
        terms = flow_vae.elbo(x, n_samples=50, seed=3)
        log_w = flow_vae.log_weights(x, k=50, seed=3)
    torch.testing.assert_close(terms.elbo, log_w.mean(0))
    torch.testing.assert_close(terms.elbo, terms.reconstruction - terms.kl)
    torch.testing.assert_close(vae.iwae_bound(flow_vae, x, k=50, seed=3), vae.log_mean_exp(log_w))
    assert bool((vae.iwae_bound(flow_vae, x, k=50, seed=3) >= log_w.mean(0)).all())  # Jensen on the same draws


def test_flow_vae_without_flows_is_the_plain_vae():
    plain, zero = vae.build(4, image_shape=(1, 8, 8), hidden_sizes=(16,)), vae.build(4, image_shape=(1, 8, 8), hidden_sizes=(16,), n_flows=0)
    assert plain.state_dict().keys() == zero.state_dict().keys()
    with_flows = vae.build(4, image_shape=(1, 8, 8), hidden_sizes=(16,), n_flows=3)
    assert with_flows.encoder[-1].out_features == 2 * 4 + 3 * (2 * 4 + 1)
    with pytest.raises(ValueError, match="n_flows"):
        VAE(latent_dim=2, n_flows=-1)


def test_planar_posterior_gap_is_the_mean_field_gap_at_k0_and_shrinks_with_flows():
    model = LinearGaussian(torch.tensor([[1.0, 0.9], [0.9, 1.0], [0.5, 0.4]], dtype=torch.float64),
                           torch.zeros(3, dtype=torch.float64), noise_std=0.3)
    x, _ = model.sample(1, seed=0)
    _, cov = model.posterior(x)
    # The best diagonal Gaussian has the posterior's diagonal precision: gap = 1/2 (sum log P_ii + log det S).
    best_mean_field_gap = 0.5 * float(torch.log(torch.diagonal(torch.linalg.inv(cov))).sum() + torch.logdet(cov))
    assert best_mean_field_gap > 0.5  # a strongly correlated posterior
    k0 = vae.fit_planar_posterior(model, x, n_flows=0, steps=600, seed=0)
    k4 = vae.fit_planar_posterior(model, x, n_flows=4, steps=600, seed=0)
    assert abs(k0.gap - best_mean_field_gap) < 0.05
    assert k4.gap < 0.5 * k0.gap and k4.gap > -0.02  # a bound stays a bound (up to Monte Carlo noise)
    assert k4.samples.shape == (2000, 2)


def test_rounded_gaussian_elbo_is_a_probit_bernoulli():
    model = VAE(latent_dim=2, likelihood="gaussian", hidden_sizes=(16,), decoder_std=0.4).eval()
    x = (torch.rand(5, 1, 8, 8, generator=torch.Generator().manual_seed(0)) > 0.5).float()
    terms = vae.rounded_gaussian_elbo(model, x, n_samples=4, seed=1)
    with torch.no_grad():
        mu, logvar = model.encode(x)
        z = model.reparameterize(mu, logvar, 4, torch.Generator().manual_seed(1))
        p_one = torch.distributions.Normal(0.0, 1.0).cdf((model.decoder(z) - 0.5) / 0.4)
        expected = torch.distributions.Bernoulli(probs=p_one).log_prob(x.reshape(5, 64)).sum(-1).mean(0)
    torch.testing.assert_close(terms.reconstruction, expected, rtol=1e-4, atol=1e-4)
    assert bool((terms.reconstruction <= 0).all())  # a probability, unlike the Gaussian density
    with pytest.raises(ValueError, match="binary"):
        vae.rounded_gaussian_elbo(model, torch.full((2, 64), 0.3))
    with pytest.raises(ValueError, match="gaussian"):
        vae.rounded_gaussian_elbo(VAE(latent_dim=2), x)


def test_build_is_seeded_and_fit_rounds_to_half_precision():
    a, b = vae.build(3, image_shape=(1, 8, 8), seed=4), vae.build(3, image_shape=(1, 8, 8), seed=4)
    state = torch.get_rng_state()
    c = vae.build(3, image_shape=(1, 8, 8), seed=5)
    assert torch.equal(state, torch.get_rng_state())  # the caller's random state is untouched
    assert all(torch.equal(a.state_dict()[k], b.state_dict()[k]) for k in a.state_dict())
    assert not torch.equal(a.encoder[0].weight, c.encoder[0].weight)
    x = (torch.rand(64, 1, 8, 8, generator=torch.Generator().manual_seed(0)) > 0.5).float()
    history = vae.fit(a, x, steps=3, device="cpu")
    assert len(history.metrics["kl"]) == 3
    for value in a.state_dict().values():
        torch.testing.assert_close(value, value.half().float(), rtol=0, atol=0)


def test_load_or_fit_retrains_saves_and_loads_the_same_weights_and_curves(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_GEN_ASSETS", str(tmp_path))
    x = (torch.rand(64, 1, 8, 8, generator=torch.Generator().manual_seed(0)) > 0.5).float()
    model, curves = vae.load_or_fit(vae.build(2, image_shape=(1, 8, 8), hidden_sizes=(8,)), "tiny", x, steps=4,
                                    retrain=True, device="cpu")
    assert (tmp_path / "tiny.pt").is_file() and (tmp_path / "tiny_curves.pt").is_file()
    loaded, loaded_curves = vae.load_or_fit(vae.build(2, image_shape=(1, 8, 8), hidden_sizes=(8,), seed=9), "tiny",
                                            x, steps=4, device="cpu")
    for key, value in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[key], value, rtol=0, atol=0)
    torch.testing.assert_close(loaded_curves["kl"], curves["kl"], rtol=1e-3, atol=1e-3)
    assert not loaded.training
    with pytest.raises(TypeError, match="retrain"):
        vae.load_or_fit(loaded, "tiny", x, steps=4, retrain=1)
