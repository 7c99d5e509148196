"""Every flow transform's log-determinant against autograd, inverses, densities and errors.

Log-determinants follow zuko's pattern: the Jacobian of one example by
``torch.autograd.functional.jacobian`` (flattened for images), ``slogdet`` in float64, for random
parameters (default initialisations are perturbed so that no layer is the identity).
"""

from __future__ import annotations

import math

import pytest
import torch

from course_gen import flows
from course_gen.data import digits, toy2d
from course_gen.train import train

torch.set_num_threads(1)


def perturbed(transform, seed=0, scale=0.5):
    """The transform in float64 with every parameter moved by Gaussian noise."""
    transform = transform.double()
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in transform.parameters():
            parameter.add_(scale * torch.randn(parameter.shape, generator=generator, dtype=torch.float64))
    return transform


def example_input(shape, seed=1, batch=4, unit=False):
    generator = torch.Generator().manual_seed(seed)
    if unit:
        return torch.rand((batch, *shape), generator=generator, dtype=torch.float64)
    return torch.randn((batch, *shape), generator=generator, dtype=torch.float64)


def autograd_log_abs_det(fn, x):
    """``slogdet`` of the Jacobian of ``fn`` (one example -> one example), per example of ``x``."""
    values = []
    for example in x:
        jac = torch.autograd.functional.jacobian(lambda v: fn(v[None])[0][0].flatten(), example)
        values.append(torch.linalg.slogdet(jac.reshape(jac.shape[0], -1))[1])
    return torch.stack(values)


def actnorm_initialised(channels, shape):
    layer = flows.ActNorm(channels).double()
    layer(example_input(shape, seed=7, batch=16))  # data-dependent initialisation
    return layer


CASES = {
    "planar": (lambda: flows.Planar(3), (3,), False),
    "radial": (lambda: flows.Radial(4), (4,), False),
    "additive-half": (lambda: flows.AdditiveCoupling(5, "half", hidden=16), (5,), False),
    "additive-checkerboard": (lambda: flows.AdditiveCoupling((1, 4, 4), "checkerboard", hidden=8), (1, 4, 4), False),
    "affine-half": (lambda: flows.AffineCoupling(4, "half", hidden=16), (4,), False),
    "affine-alternating-flip": (lambda: flows.AffineCoupling(5, "alternating", hidden=16, flip=True), (5,), False),
    "affine-checkerboard": (lambda: flows.AffineCoupling((2, 4, 4), "checkerboard", hidden=8), (2, 4, 4), False),
    "affine-channel": (lambda: flows.AffineCoupling((4, 2, 3), "channel", hidden=8, flip=True), (4, 2, 3), False),
    "actnorm-vector": (lambda: actnorm_initialised(3, (3,)), (3,), False),
    "actnorm-image": (lambda: actnorm_initialised(3, (3, 4, 4)), (3, 4, 4), False),
    "1x1conv": (lambda: flows.Invertible1x1Conv(3), (3, 3, 2), False),
    "1x1conv-lu": (lambda: flows.Invertible1x1Conv(4, lu=True), (4, 2, 2), False),
    "squeeze": (lambda: flows.Squeeze(), (2, 4, 2), False),
    "logit": (lambda: flows.LogitTransform(0.05), (2, 3), True),
}
INVERTIBLE = [name for name in CASES if name not in ("planar", "radial")]


@pytest.mark.parametrize("name", list(CASES))
def test_forward_log_abs_det_matches_autograd(name):
    make, shape, unit = CASES[name]
    transform = perturbed(make())
    x = example_input(shape, unit=unit)
    _, log_abs_det = transform(x)
    assert log_abs_det.shape == (x.shape[0],)
    expected = autograd_log_abs_det(transform, x)
    torch.testing.assert_close(log_abs_det, expected, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("name", INVERTIBLE)
def test_inverse_undoes_forward_and_its_log_abs_det_matches_autograd(name):
    make, shape, unit = CASES[name]
    transform = perturbed(make(), seed=3)
    x = example_input(shape, unit=unit)
    y, forward_log_det = transform(x)
    x_back, inverse_log_det = transform.inverse(y)
    torch.testing.assert_close(x_back, x, atol=1e-9, rtol=1e-9)
    torch.testing.assert_close(inverse_log_det, -forward_log_det, atol=1e-9, rtol=1e-9)
    torch.testing.assert_close(inverse_log_det, autograd_log_abs_det(transform.inverse, y), atol=1e-6, rtol=1e-6)


def test_the_perturbed_transforms_are_not_the_identity():
    for name in INVERTIBLE:
        if name in ("squeeze", "logit"):
            continue
        make, shape, unit = CASES[name]
        x = example_input(shape, unit=unit)
        y, _ = perturbed(make())(x)
        assert (y - x).abs().max() > 1e-3, name


def test_fresh_couplings_start_as_the_identity_and_keep_the_masked_entries():
    coupling = flows.AffineCoupling(6, "alternating", hidden=8)
    x = torch.randn(5, 6)
    y, log_det = coupling(x)
    assert torch.equal(y, x) and torch.equal(log_det, torch.zeros(5))
    trained = perturbed(flows.AffineCoupling(6, "alternating", hidden=8)).float()
    y, _ = trained(x)
    kept = coupling.mask.bool()
    assert torch.equal(y[:, kept], x[:, kept]) and not torch.allclose(y[:, ~kept], x[:, ~kept])


def test_coupling_masks():
    assert flows.coupling_mask("half", 5).tolist() == [1, 1, 1, 0, 0]
    assert flows.coupling_mask("alternating", 4, flip=True).tolist() == [0, 1, 0, 1]
    board = flows.coupling_mask("checkerboard", (2, 3, 3))
    assert board[1].tolist() == [[1, 0, 1], [0, 1, 0], [1, 0, 1]] and torch.equal(board[0], board[1])
    channel = flows.coupling_mask("channel", (4, 2, 2))
    assert channel[:2].eq(1).all() and channel[2:].eq(0).all()
    with pytest.raises(ValueError, match="for images"):
        flows.coupling_mask("checkerboard", 4)
    with pytest.raises(ValueError, match="for vectors"):
        flows.coupling_mask("half", (1, 4, 4))
    with pytest.raises(ValueError, match="at least 2 channels"):
        flows.coupling_mask("channel", (1, 4, 4))
    with pytest.raises(ValueError, match="unknown mask"):
        flows.coupling_mask("diagonal", 4)


# ============================================================================ Glow's table


def test_actnorm_first_output_has_zero_mean_and_unit_variance_per_channel():
    x = 3.0 + 2.5 * torch.randn(64, 3, 5, 5) * torch.tensor([1.0, 0.2, 4.0]).view(1, 3, 1, 1)
    layer = flows.ActNorm(3)
    y, log_det = layer(x)
    per_channel = y.transpose(0, 1).reshape(3, -1)
    torch.testing.assert_close(per_channel.mean(1), torch.zeros(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(per_channel.var(1, unbiased=False), torch.ones(3), atol=1e-4, rtol=0)
    torch.testing.assert_close(log_det, (25 * layer.log_scale.sum()).expand(64))  # h w sum log|s|
    y_again, _ = layer(x + 1.0)  # initialised once: the second batch is not standardised
    assert y_again.mean() > 0.1


def test_1x1_conv_log_det_is_pixels_times_log_det_w_and_lu_agrees():
    conv = flows.Invertible1x1Conv(4, lu=True)
    weight = conv.weight()
    torch.testing.assert_close(conv.log_abs_det_weight(), torch.linalg.slogdet(weight)[1], atol=1e-5, rtol=0)
    x = torch.randn(2, 4, 3, 5)
    _, log_det = conv(x)
    torch.testing.assert_close(log_det, (15 * torch.linalg.slogdet(weight)[1]).expand(2), atol=1e-4, rtol=0)
    assert torch.allclose(weight @ weight.T, torch.eye(4), atol=1e-5)  # starts as a rotation


# ============================================================================ planar and radial


def test_planar_u_hat_keeps_it_invertible_for_any_raw_parameters():
    layer = flows.Planar(2)
    with torch.no_grad():
        layer.w.copy_(torch.tensor([1.0, 0.5]))
        layer.u.copy_(torch.tensor([-4.0, -3.0]))  # w^T u = -5.5: the raw map folds
    assert not flows.planar_invertible(layer.u, layer.w)
    assert flows.planar_invertible(layer.u_hat().detach(), layer.w)
    z = torch.linspace(-6, 6, 2001)[:, None] * torch.tensor([1.0, 0.5])  # along w
    y, log_det = layer(z)
    projection = y @ layer.w.detach()
    assert bool((projection[1:] > projection[:-1]).all())  # monotone along w: no folding
    assert torch.isfinite(log_det).all()
    _, raw_log_det = flows.planar_map(z, layer.u.detach(), layer.w.detach(), 0.0)
    assert bool((raw_log_det < -3).any())  # the raw map's Jacobian passes through zero


def test_radial_keeps_beta_above_minus_alpha():
    layer = flows.Radial(2)
    with torch.no_grad():
        layer.beta_raw.fill_(-30.0)
    assert float(layer.beta.detach()) >= -float(layer.alpha.detach())
    _, log_det = layer(torch.randn(100, 2))
    assert torch.isfinite(log_det).all()


# ============================================================================ Flow


def grid_mass(log_prob, limit=7.0, n=400):
    xs = torch.linspace(-limit, limit, n, dtype=torch.float64)
    grid = torch.stack(torch.meshgrid(xs, xs, indexing="xy"), dim=-1).reshape(-1, 2)
    with torch.no_grad():
        density = log_prob(grid).exp()
    return float(density.sum() * (xs[1] - xs[0]) ** 2)


def test_flow_log_prob_integrates_to_one_on_a_grid():
    flow = flows.Flow([perturbed(flows.AffineCoupling(2, "half", hidden=16), scale=0.15),
                       perturbed(flows.Invertible1x1Conv(2), scale=0.2),
                       perturbed(flows.AdditiveCoupling(2, "half", hidden=16, flip=True), scale=0.15)]).double()
    assert abs(grid_mass(flow.log_prob, limit=10, n=600) - 1) < 0.01
    points = torch.randn(100, 2, dtype=torch.float64)
    gaussian = flows.StandardNormal((2,)).log_prob(points)
    assert (flow.log_prob(points) - gaussian).abs().max() > 0.1  # not the base density in disguise
    realnvp = flows.realnvp_2d(4).double()
    realnvp.log_prob(toy2d("moons", 500).double())  # ActNorm's data-dependent initialisation
    assert abs(grid_mass(realnvp.log_prob) - 1) < 0.01


def test_variational_flow_density_integrates_to_one():
    # q_K(z_K) from the sampling direction: evaluate it on a grid via the samples' change of variables.
    vf = flows.VariationalFlow([perturbed(flows.Planar(2), scale=1.0), perturbed(flows.Radial(2))], None, 2).double()
    z0 = torch.randn(4000, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    z_k, log_q = vf(z0)
    # importance check: E_q[p0 / q] over the image must be 1 when log_q is the exact density of z_K
    log_base_at_zk = vf.base.log_prob(z_k)
    assert abs(float((log_base_at_zk - log_q).detach().exp().mean()) - 1) < 0.1


def test_flow_sample_uses_the_inverses_and_matches_log_prob():
    flow = flows.Flow([perturbed(flows.AffineCoupling(2, "half", hidden=8), scale=0.3),
                       perturbed(flows.AffineCoupling(2, "half", hidden=8, flip=True), scale=0.3)])
    x = flow.sample(500, seed=3)
    assert x.shape == (500, 2) and torch.equal(x, flow.sample(500, seed=3))
    with torch.no_grad():
        z, _ = flow(x)
    assert z.std() == pytest.approx(1.0, abs=0.1)


def test_flow_checks_its_inputs():
    flow = flows.realnvp_2d(2)
    with pytest.raises(ValueError, match=r"shape \(B, 2\)"):
        flow.log_prob(torch.randn(5, 3))
    with pytest.raises(TypeError, match="floating-point"):
        flow.log_prob(torch.ones(5, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="NaN"):
        flow.log_prob(torch.tensor([[0.0, float("nan")]]))
    with pytest.raises(TypeError, match="Transform"):
        flows.Flow([torch.nn.Linear(2, 2)])
    with pytest.raises(ValueError, match="at least one"):
        flows.Flow([])
    with pytest.raises(NotImplementedError, match="no inverse implemented"):
        flows.Flow([flows.Planar(2)]).sample(3)
    with pytest.raises(ValueError, match="event_shape"):
        flows.Flow([flows.ActNorm(2)])
    with pytest.raises(ValueError, match=r"\(B, 3\) or \(B, 3, H, W\)"):
        flows.ActNorm(3)(torch.randn(4, 2))
    with pytest.raises(ValueError, match="even H and W"):
        flows.Squeeze()(torch.randn(1, 1, 3, 4))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        flows.LogitTransform()(torch.tensor([[1.5]]))
    with pytest.raises(ValueError, match="shape"):
        flows.AffineCoupling(4, torch.ones(3))
    with pytest.raises(ValueError, match="0s and 1s"):
        flows.AffineCoupling(2, torch.tensor([0.5, 1.0]))
    with pytest.raises(ValueError, match="shape"):
        flows.planar_map(torch.randn(3, 2), torch.randn(3), torch.randn(2), 0.0)


def test_non_invertible_parameters_give_clear_errors():
    conv = flows.Invertible1x1Conv(3)
    with torch.no_grad():
        conv.weight_param[2] = conv.weight_param[0]  # two equal rows: det W = 0
    with pytest.raises(ValueError, match="singular"):
        conv(torch.randn(2, 3, 4, 4))
    with pytest.raises(ValueError, match="singular"):
        conv.inverse(torch.randn(2, 3, 4, 4))
    lu_conv = flows.Invertible1x1Conv(3, lu=True)
    with torch.no_grad():
        lu_conv.log_s[0] = -float("inf")
    with pytest.raises(ValueError, match="singular"):
        lu_conv(torch.randn(2, 3))
    with pytest.raises(ValueError, match=r"alpha must lie in \(0, 0.5\)"):
        flows.LogitTransform(0.0)


def test_transforms_do_not_modify_their_inputs():
    x = torch.randn(8, 1, 4, 4)
    saved = x.clone()
    for transform in (flows.ActNorm(1), perturbed(flows.AffineCoupling((1, 4, 4), "checkerboard", hidden=4)).float(),
                      flows.Invertible1x1Conv(1), flows.Squeeze()):
        transform(x)
    assert torch.equal(x, saved)


def test_realnvp_without_alternating_leaves_one_coordinate_gaussian():
    x = toy2d("moons", 2000, seed=0)
    for alternate in (True, False):
        flow = flows.realnvp_2d(4, hidden=32, alternate=alternate, actnorm=False)
        train(flow, x, steps=150, lr=3e-3, batch_size=256, progress=False, device="cpu")
        samples = flow.sample(2000, seed=0)
        latent, _ = flow(samples)
        kept = flow.transforms[0].mask.bool()
        untouched = torch.allclose(samples[:, kept], latent[:, kept])
        assert untouched != alternate  # without alternation x_1 = z_1 exactly (it never changes)


# ============================================================================ dequantisation


def test_dequantize_works_for_any_number_of_levels_and_discretize_inverts_it():
    generator = torch.Generator().manual_seed(0)
    for n_levels in (2, 5, 17):
        x = torch.randint(0, n_levels, (50, 1, 8, 8), generator=generator).float() / (n_levels - 1)
        y = flows.dequantize(x, n_levels, torch.Generator().manual_seed(1))
        assert bool(((y >= 0) & (y < 1)).all())
        assert torch.equal(flows.discretize(y, n_levels), x)
    with pytest.raises(ValueError, match="17 levels"):
        flows.dequantize(torch.tensor([0.3]), 17)


def one_dimensional_flow():
    """A 1-D flow on [0, 1) (logit, then a perturbed affine map) and its log-density on a fine grid."""
    flow = flows.Flow([flows.LogitTransform(0.05), perturbed(flows.ActNorm(1)).float()], event_shape=(1,))
    with torch.no_grad():
        flow.transforms[1].initialized.fill_(True)
    ys = torch.linspace(0, 1, 20001)[:-1, None]
    with torch.no_grad():
        log_density = flow.log_prob(ys)
    return flow, ys, log_density


def exact_log_probability(ys, log_density, k, n_levels):
    """``log P(k)``: the log of the density's integral over the cell ``[k/K, (k+1)/K)`` (grid mean)."""
    cell = log_density[(ys[:, 0] >= k / n_levels) & (ys[:, 0] < (k + 1) / n_levels)]
    return math.log(float(cell.exp().mean()) / n_levels), cell


def test_the_dequantisation_bound_is_below_the_exact_discrete_log_likelihood():
    # P(k) = integral of p over [k/K, (k+1)/K); the bound E_u log p(y) - log K must lie below log P(k).
    n_levels = 4
    flow, ys, log_density = one_dimensional_flow()
    model = flows.DequantizedFlow(flow, n_levels)
    for k in range(n_levels):
        exact, cell = exact_log_probability(ys, log_density, k, n_levels)
        jensen = float(cell.mean()) - math.log(n_levels)  # E_u log p(y) - log K, on the grid
        with torch.no_grad():
            bound = float(model.log_prob(torch.full((1, 1), k / (n_levels - 1)), n_samples=4000, seed=0))
        assert bound <= exact + 1e-3
        assert bound == pytest.approx(jensen, abs=0.15)  # Monte Carlo error; log K = 1.39


@pytest.mark.parametrize("shape", [(3,), (1, 4, 4), (2, 2, 3)])
def test_variational_dequantizer_log_q_matches_the_autograd_jacobian(shape):
    # u = g_x(eps) elementwise-invertible, so log q(u|x) = log N(eps) - log|det du/deps|.
    dequantizer = perturbed(flows.VariationalDequantizer(shape, hidden=6), scale=0.3)
    x = torch.randint(0, 5, (4, *shape), generator=torch.Generator().manual_seed(2)).double() / 4
    eps = example_input(shape, seed=3)
    u, log_q = dequantizer(x, eps)
    log_det = torch.stack([
        torch.linalg.slogdet(torch.autograd.functional.jacobian(
            lambda e, i=i: dequantizer(x[i:i + 1], e[None])[0][0].flatten(), eps[i]).reshape(u[0].numel(), -1))[1]
        for i in range(len(x))])
    normal = (-0.5 * eps.pow(2) - 0.5 * math.log(2 * math.pi)).flatten(1).sum(1)
    torch.testing.assert_close(log_q, normal - log_det, rtol=0, atol=1e-6)
    assert bool(((u > 0) & (u < 1)).all())
    model = flows.DequantizedFlow(flows.Flow([flows.LogitTransform()], event_shape=shape), 5,
                                  dequantizer.float())
    y, _ = model.dequantize(x.float(), torch.Generator().manual_seed(0))
    assert torch.equal(flows.discretize(y, 5), x.float())  # the noise stays inside the cell of x


def test_learning_the_dequantisation_noise_closes_the_gap_to_the_exact_likelihood():
    # The gap of the variational bound is KL(q(u|x) || p(u|x)): training q alone (the flow frozen)
    # must bring the bound from far below log P(k) (uniform noise) to near it, never above it.
    n_levels = 4
    flow, ys, log_density = one_dimensional_flow()
    flow.requires_grad_(False)
    uniform = flows.DequantizedFlow(flow, n_levels)
    torch.manual_seed(0)
    variational = flows.DequantizedFlow(flow, n_levels, flows.VariationalDequantizer(1, hidden=16))
    levels = (torch.arange(n_levels, dtype=torch.float32) / (n_levels - 1))[:, None]
    train(variational, levels.repeat(64, 1), steps=300, lr=1e-2, batch_size=64, progress=False, device="cpu", seed=0)
    uniform_gaps, variational_gaps = [], []
    for k in range(n_levels):
        exact, _ = exact_log_probability(ys, log_density, k, n_levels)
        with torch.no_grad():
            uniform_gaps.append(exact - float(uniform.log_prob(levels[k:k + 1], n_samples=20000, seed=0)))
            variational_gaps.append(exact - float(variational.log_prob(levels[k:k + 1], n_samples=20000, seed=0)))
    assert min(variational_gaps) > -1e-2  # still a lower bound (up to Monte Carlo error)
    assert sum(uniform_gaps) > 1.0 and sum(variational_gaps) < 0.1 * sum(uniform_gaps)


def test_dequantized_flow_rejects_a_dequantizer_that_does_not_fit():
    flow = flows.Flow([flows.LogitTransform()], event_shape=(1, 8, 8))
    with pytest.raises(ValueError, match=r"dequantizer's shape \(1, 4, 4\) must be the flow's \(1, 8, 8\)"):
        flows.DequantizedFlow(flow, 2, flows.VariationalDequantizer((1, 4, 4)))
    with pytest.raises(TypeError, match="VariationalDequantizer, got str"):
        flows.DequantizedFlow(flow, 2, "variational")
    with pytest.raises(ValueError, match=r"D or \(D,\) for vectors or \(C, H, W\) for images, got \(2, 3\)"):
        flows.VariationalDequantizer((2, 3))
    with pytest.raises(ValueError, match="eps must have the shape of x"):
        flows.VariationalDequantizer(3)(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="uniform.*variational"):
        flows.realnvp_digits(dequantization="gaussian")


@pytest.mark.parametrize("dequantization", flows.DEQUANTIZATIONS)
def test_realnvp_digits_trains_below_the_uniform_bits_per_dim_and_samples_images(dequantization):
    x_train, _ = digits("train", binarize=True)
    model = flows.realnvp_digits(n_levels=2, hidden=8, n_checkerboard=2, n_channel=1, dequantization=dequantization)
    uniform = 1.0  # a uniform distribution over {0, 1}^64 has exactly 1 bit/dim
    train(model, x_train, steps=60, lr=3e-3, batch_size=128, progress=False, device="cpu")
    assert flows.dequantized_bits_per_dim(model, x_train[:300]) < uniform
    samples = model.sample(6, seed=0)
    assert samples.shape == (6, 1, 8, 8) and set(samples.unique().tolist()) <= {0.0, 1.0}
    z = model.encode(x_train[:2])
    assert z.shape == (2, 4, 4, 4) and model.decode(z).shape == (2, 1, 8, 8)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_flows_run_on_cuda():
    model = flows.realnvp_digits(n_levels=17, hidden=8, n_checkerboard=2, n_channel=1)
    x_train, _ = digits("train")
    train(model, x_train[:256], steps=5, lr=1e-3, batch_size=64, progress=False, device="cuda")
    assert model.sample(4).device.type == "cuda"
    assert math.isfinite(flows.dequantized_bits_per_dim(model, x_train[:64].cuda()))
    flow = flows.realnvp_2d(2).cuda()
    assert flow.sample(5).device.type == "cuda"


# ============================================================================ notebook 04's 2-D additions


def scaled_gaussian_flow(log_scale=(0.4, -0.7), bias=(0.3, -0.2)) -> flows.Flow:
    """``z = s x + b`` per coordinate: ``p_X`` is a Gaussian, ``log|det df/dx| = sum log s``."""
    actnorm = flows.ActNorm(2)
    with torch.no_grad():
        actnorm.initialized.fill_(True)
        actnorm.log_scale.copy_(torch.tensor(log_scale))
        actnorm.bias.copy_(torch.tensor(bias))
    return flows.Flow([actnorm], event_shape=(2,))


def test_histogram_vs_density_integrates_to_one_and_flags_the_wrong_sign():
    flow = scaled_gaussian_flow()
    result = flows.histogram_vs_density(flow, n_samples=50_000, limits=(-8, 8), bins=64, seed=0)
    assert result["integral"] == pytest.approx(1.0, abs=1e-3)
    # wrong sign: p_Z(f(x)) / |det| = p_X(x) / |det|^2, so its integral is exp(-2 sum log s)
    assert result["wrong_sign_integral"] == pytest.approx(math.exp(-2 * (0.4 - 0.7)), rel=1e-3)
    assert result["total_variation"] < 0.05 < result["wrong_sign_total_variation"]
    assert result["histogram"].shape == result["density"].shape == (64, 64)
    assert result["histogram"].sum() * (16 / 64) ** 2 == pytest.approx(1 - result["outside"], abs=1e-9)


def test_histogram_vs_density_rejects_what_it_cannot_use():
    with pytest.raises(TypeError, match="Flow"):
        flows.histogram_vs_density(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="2-D"):
        flows.histogram_vs_density(flows.Flow([flows.ActNorm(3)], event_shape=(3,)))
    with pytest.raises(ValueError, match="high > low"):
        flows.histogram_vs_density(scaled_gaussian_flow(), limits=(1, -1))


def test_reverse_kl_matches_the_closed_form_between_gaussians():
    # q = N(b', s'^2) through z = s z0 + b; target N(0, I) unnormalised, log Z = log(2 pi)
    log_s, b = torch.tensor([0.4, -0.7]), torch.tensor([0.3, -0.2])
    actnorm = flows.ActNorm(2)
    with torch.no_grad():
        actnorm.initialized.fill_(True)
        actnorm.log_scale.copy_(log_s)
        actnorm.bias.copy_(b)
    model = flows.VariationalFlow([actnorm], lambda z: -0.5 * z.pow(2).sum(1), dim=2)
    exact = float((-log_s + (torch.exp(2 * log_s) + b**2) / 2 - 0.5).sum())
    kl, error = flows.reverse_kl(model, math.log(2 * math.pi), n=50_000, seed=0)
    assert abs(kl - exact) < 4 * error and error < 0.02
    with pytest.raises(TypeError, match="VariationalFlow"):
        flows.reverse_kl(flows.VariationalFlow([actnorm], None, dim=2), 0.0)


def test_log_normaliser_2d_of_a_gaussian():
    assert flows.log_normaliser_2d(lambda z: -0.5 * z.pow(2).sum(1)) == pytest.approx(math.log(2 * math.pi), abs=1e-6)


@pytest.mark.parametrize("limit", [4.0, 6.0])
def test_log_normaliser_2d_of_u2_is_the_normaliser_of_the_box(limit):
    # exp(-U2) has no term in z1 (infinite mass on R^2): on [-L, L]^2 its z2-integral is a whole Gaussian of
    # std 0.4, so Z = 2 L 0.4 sqrt(2 pi), growing with the box.
    log_z = flows.log_normaliser_2d(lambda z: flows.energy_log_density("U2", z), limit=limit)
    assert log_z == pytest.approx(math.log(2 * limit * 0.4 * math.sqrt(2 * math.pi)), abs=2e-3)


def test_planar_fits_builds_one_variational_flow_per_k():
    models = flows.planar_fits("U2", ks=(1, 3))
    assert list(models) == ["1", "3"] and len(models["3"].transforms) == 3
    z, log_q = models["3"](torch.randn(5, 2))
    assert z.shape == (5, 2) and log_q.shape == (5,)
    with pytest.raises(ValueError, match="energy"):
        flows.planar_fits("U9")


def test_shipped_2d_models_load_and_show_what_the_notebook_claims():
    moons = flows.shipped_2d("flows04_moons", device="cpu")
    x = toy2d("moons", 1000, seed=1)
    with torch.no_grad():
        nll = {name: -float(model.log_prob(x).mean()) for name, model in moons.items()}
    assert nll["alternating"] < nll["same_mask"] - 0.3
    planar = flows.shipped_2d("flows04_planar_u2", device="cpu")
    log_z = flows.log_normaliser_2d(lambda z: flows.energy_log_density("U2", z))
    kl = {int(k): flows.reverse_kl(model, log_z, n=5000, seed=2)[0] for k, model in planar.items()}
    assert kl[8] < kl[2] < kl[1] and min(kl.values()) > -0.05
    with pytest.raises(ValueError, match="shipped 2-D model"):
        flows.shipped_2d("moons")


# ============================================================================ structure and bad input (issue 17)


def test_standard_normal_refuses_a_batch_of_the_wrong_event_shape():
    normal = flows.StandardNormal(2)
    assert normal.log_prob(torch.zeros(3, 2)).shape == (3,)
    with pytest.raises(ValueError, match=r"z must have shape \(B, 2\), got \(3, 5\)"):
        normal.log_prob(torch.zeros(3, 5))  # used to sum over all 5 entries
    with pytest.raises(ValueError, match=r"shape \(B, 2\)"):
        normal.log_prob(torch.zeros(2))


def test_a_flow_scans_its_input_for_nan_once_not_in_every_layer(monkeypatch):
    flow = flows.realnvp_2d(4, hidden=8)
    x = torch.randn(16, 2)
    flow.log_prob(x)  # ActNorm's initialisation
    calls = []
    real_isfinite = torch.isfinite
    monkeypatch.setattr(torch, "isfinite", lambda t: calls.append(t.shape) or real_isfinite(t))
    flow.log_prob(x)
    flow(x)
    flow.inverse(x)
    assert len(calls) == 3  # one scan per call, for 8 layers
    calls.clear()
    flow.transforms[1](x)  # a layer called on its own still scans
    assert len(calls) == 1
    with pytest.raises(ValueError, match="NaN"):
        flow.transforms[1](torch.full((2, 2), float("nan")))
    with pytest.raises(ValueError, match="NaN or inf"):
        flow.log_prob(torch.tensor([[0.0, float("inf")]]))


def test_float64_input_is_cast_to_the_models_dtype():
    flow = flows.realnvp_2d(2, hidden=8)
    x = torch.randn(10, 2, dtype=torch.float64)
    log_p = flow.log_prob(x)
    assert log_p.dtype == torch.float32
    torch.testing.assert_close(log_p, flow.log_prob(x.float()))
    assert flow.double().log_prob(x.float()).dtype == torch.float64
    coupling = flows.AffineCoupling(4, hidden=8)
    assert coupling(torch.randn(3, 4, dtype=torch.float64))[0].dtype == torch.float32


def test_building_a_model_leaves_the_callers_random_stream_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    first = flows.realnvp_2d(2, hidden=8, seed=5)
    flows.realnvp_digits(n_levels=2, hidden=4, n_checkerboard=1, n_channel=1, image_size=4, seed=5,
                         dequantization="variational")
    assert torch.equal(torch.rand(3), expected)
    second = flows.realnvp_2d(2, hidden=8, seed=5)
    for a, b in zip(first.parameters(), second.parameters()):
        assert torch.equal(a, b)  # the seed still fixes the initial weights


def test_losses_refuse_an_empty_batch_and_models_their_own_shapes():
    with pytest.raises(ValueError, match="at least one example"):
        flows.realnvp_2d(2, hidden=8).loss(torch.zeros(0, 2))
    with pytest.raises(ValueError, match="at least one example"):
        flows.VariationalFlow(flows.planar_flows(2, 1), lambda z: -z.pow(2).sum(1), 2).loss(torch.zeros(0, 2))
    broadcasting = flows.VariationalFlow(flows.planar_flows(2, 1), lambda z: -z.pow(2).sum(1, keepdim=True), 2)
    with pytest.raises(ValueError, match=r"target_log_prob\(z\) must return one value per example"):
        broadcasting.loss(torch.randn(4, 2))  # (B, 1) against (B,) used to broadcast to (B, B)


def test_the_dequantisation_term_comes_from_metrics_and_energies_live_beside_toy2d():
    import importlib

    from course_gen import metrics

    toy2d_module = importlib.import_module("course_gen.data.toy2d")  # the module (course_gen.data.toy2d is the function)

    model = flows.realnvp_digits(n_levels=4, hidden=4, n_checkerboard=1, n_channel=1, image_size=4)
    assert model.offset == metrics.dequantization_offset(16, 4) == 16 * math.log(4)
    assert flows.energy_log_density is toy2d_module.energy_log_density
    assert flows.ENERGY_NAMES == toy2d_module.ENERGY_NAMES == ("U1", "U2", "U3", "U4")
