"""course_gen.metrics: each number against an exact value or an independent reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import torch

from course_gen import metrics


def random_cov(d, seed, rank=None):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(d, rank or d + 3, generator=g, dtype=torch.float64)
    return a @ a.T / a.shape[1]


def scipy_frechet(mu1, s1, mu2, s2):
    """The reference implementation (pytorch-fid): a general matrix square root of S1 S2."""
    mu1, s1, mu2, s2 = (np.asarray(t, dtype=np.float64) for t in (mu1, s1, mu2, s2))
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean).real)


# ============================================================================ likelihood units


def test_bits_and_nats_conversions_are_exact():
    assert metrics.nats_to_bits(math.log(2)) == pytest.approx(1.0, rel=1e-15)
    assert metrics.bits_to_nats(metrics.nats_to_bits(3.7)) == pytest.approx(3.7, rel=1e-15)
    # a uniform model over binary 8x8 images: 64 ln 2 nats = 64 bits = 1 bit/dim
    assert metrics.bits_per_dim(64 * math.log(2), 64) == pytest.approx(1.0, rel=1e-15)
    # uniform over 256 levels: 8 bits per dimension
    assert metrics.bits_per_dim(3 * 32 * 32 * math.log(256), 3 * 32 * 32) == pytest.approx(8.0, rel=1e-14)


def test_bits_per_dim_works_per_image_and_keeps_the_input():
    nll = torch.tensor([10.0, 20.0])
    out = metrics.bits_per_dim(nll, 10)
    assert torch.allclose(out, nll / (10 * math.log(2)))
    assert torch.equal(nll, torch.tensor([10.0, 20.0]))


def test_dequantisation_offset_and_bound():
    assert metrics.dequantization_offset(64, 2) == pytest.approx(64 * math.log(2))
    # a uniform density on the unit cube has nll 0; as a discrete model it is uniform over K^D
    # values: the bound is then exact, K = 256 gives 8 bits/dim
    nll = metrics.discrete_nll(0.0, 784, 256)
    assert metrics.bits_per_dim(nll, 784) == pytest.approx(8.0, rel=1e-14)


@pytest.mark.parametrize("call, error", [
    (lambda: metrics.bits_per_dim(1.0, 0), ValueError),
    (lambda: metrics.bits_per_dim(1.0, 2.5), TypeError),
    (lambda: metrics.bits_per_dim("3", 4), TypeError),
    (lambda: metrics.dequantization_offset(4, 1), ValueError),
])
def test_likelihood_helpers_reject_bad_arguments(call, error):
    with pytest.raises(error):
        call()


# ============================================================================ Inception Score


def test_inception_score_is_c_for_confident_uniform_predictions():
    classes, splits = 7, 5
    labels = torch.arange(classes).repeat(splits * 3)  # every split holds each class 3 times
    probs = torch.nn.functional.one_hot(labels, classes).double()
    mean, std = metrics.inception_score(probs, splits=splits)
    assert mean == pytest.approx(classes, rel=1e-12)
    assert std == pytest.approx(0.0, abs=1e-12)


def test_inception_score_is_one_for_constant_predictions():
    probs = torch.softmax(torch.randn(1, 10, generator=torch.Generator().manual_seed(0)), 1).repeat(200, 1)
    mean, std = metrics.inception_score(probs, splits=4)
    assert mean == pytest.approx(1.0, abs=1e-12) and std == pytest.approx(0.0, abs=1e-12)


def test_inception_score_matches_its_definition():
    g = torch.Generator().manual_seed(1)
    probs = torch.softmax(3 * torch.randn(60, 5, generator=g, dtype=torch.float64), 1)
    marginal = probs.mean(0)
    kl = (probs * (probs.log() - marginal.log())).sum(1)
    assert metrics.inception_score(probs, splits=1)[0] == pytest.approx(float(kl.mean().exp()), rel=1e-12)
    # between 1 and the number of classes
    mean, _ = metrics.inception_score(probs, splits=3)
    assert 1.0 <= mean <= 5.0


@pytest.mark.parametrize("probs, message", [
    (torch.rand(10), "shape"),
    (torch.randn(10, 3), ">= 0"),
    (torch.rand(10, 3) + 1, "sum to 1"),
    (torch.full((4, 3), float("nan")), "NaN"),
])
def test_inception_score_rejects_bad_probabilities(probs, message):
    with pytest.raises(ValueError, match=message):
        metrics.inception_score(probs, splits=1)


def test_inception_score_rejects_more_splits_than_rows():
    with pytest.raises(ValueError, match="splits"):
        metrics.inception_score(torch.full((3, 2), 0.5), splits=4)


# ============================================================================ Fréchet distance


@pytest.mark.parametrize("d, rank", [(5, None), (40, None), (30, 10)])
def test_frechet_distance_equals_the_scipy_sqrtm_reference(d, rank):
    g = torch.Generator().manual_seed(d)
    mu1, mu2 = torch.randn(d, generator=g, dtype=torch.float64), torch.randn(d, generator=g, dtype=torch.float64)
    s1, s2 = random_cov(d, 1, rank), random_cov(d, 2, rank)
    ours = metrics.frechet_distance(mu1, s1, mu2, s2)
    assert ours == pytest.approx(scipy_frechet(mu1, s1, mu2, s2), rel=1e-6)
    assert ours == pytest.approx(metrics.frechet_distance(mu2, s2, mu1, s1), rel=1e-9)  # symmetric


def test_frechet_distance_is_zero_for_equal_inputs_and_exact_for_known_gaussians():
    s = random_cov(12, 3)
    mu = torch.arange(12, dtype=torch.float64)
    assert metrics.frechet_distance(mu, s, mu, s) == pytest.approx(0.0, abs=1e-9)
    # 1-D: (m1 - m2)^2 + (s1 - s2)^2 with standard deviations s1, s2
    one = metrics.frechet_distance(torch.tensor([1.0]), torch.tensor([[4.0]]), torch.tensor([3.0]), torch.tensor([[9.0]]))
    assert one == pytest.approx((1 - 3) ** 2 + (2 - 3) ** 2, rel=1e-12)


def test_fid_of_features_uses_unbiased_covariances():
    g = torch.Generator().manual_seed(4)
    a, b = torch.randn(300, 6, generator=g), torch.randn(200, 6, generator=g) * 1.5 + 0.3
    ref = scipy_frechet(a.numpy().mean(0), np.cov(a.numpy(), rowvar=False), b.numpy().mean(0), np.cov(b.numpy(), rowvar=False))
    assert metrics.fid(a, b) == pytest.approx(ref, rel=1e-6)
    assert metrics.fid(a.numpy(), b.numpy()) == pytest.approx(ref, rel=1e-6)  # numpy in, same answer
    assert metrics.fid(a, a) == pytest.approx(0.0, abs=1e-9)


def test_fid_is_biased_upwards_for_small_samples():
    g = torch.Generator().manual_seed(5)
    small = [metrics.fid(torch.randn(50, 8, generator=g), torch.randn(50, 8, generator=g)) for _ in range(5)]
    large = [metrics.fid(torch.randn(2000, 8, generator=g), torch.randn(2000, 8, generator=g)) for _ in range(5)]
    assert min(small) > max(large) > 0


def test_fid_leaves_its_inputs_alone():
    a = torch.randn(20, 3)
    copy = a.clone()
    metrics.fid(a, a + 1)
    assert torch.equal(a, copy)


@pytest.mark.parametrize("call, message", [
    (lambda: metrics.fid(torch.randn(10, 3), torch.randn(10, 4)), "same feature size"),
    (lambda: metrics.fid(torch.randn(10), torch.randn(10, 4)), r"shape \(n, d\)"),
    (lambda: metrics.fid(torch.randn(1, 3), torch.randn(10, 3)), "at least 2 rows"),
    (lambda: metrics.frechet_distance(torch.zeros(3), torch.eye(4), torch.zeros(3), torch.eye(3)), r"\(3, 3\)"),
    (lambda: metrics.frechet_distance(torch.zeros(3), torch.triu(torch.ones(3, 3)), torch.zeros(3), torch.eye(3)), "symmetric"),
    (lambda: metrics.frechet_distance(torch.zeros(2), torch.eye(2), torch.zeros(3), torch.eye(3)), "same dimension"),
])
def test_frechet_rejects_bad_shapes(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_fid_rejects_non_tensors():
    with pytest.raises(TypeError, match="torch.Tensor or a numpy array"):
        metrics.fid([[1.0, 2.0]], torch.randn(3, 2))


# ============================================================================ KID


def test_kid_is_unbiased_for_one_distribution_and_positive_for_two():
    g = torch.Generator().manual_seed(6)
    same = [metrics.kid(torch.randn(100, 5, generator=g), torch.randn(100, 5, generator=g), n_subsets=5, seed=s)[0]
            for s in range(40)]
    mean, sem = np.mean(same), np.std(same) / math.sqrt(len(same))
    assert abs(mean) < 3 * sem  # centred on 0 (FID on the same data is always > 0)
    assert min(same) < 0 < max(same)
    shifted = metrics.kid(torch.randn(100, 5, generator=g), torch.randn(100, 5, generator=g) + 0.5, n_subsets=5)[0]
    assert shifted > 10 * sem


def test_kid_matches_a_direct_unbiased_mmd():
    g = torch.Generator().manual_seed(7)
    x, y = torch.randn(30, 4, generator=g, dtype=torch.float64), torch.randn(30, 4, generator=g, dtype=torch.float64)
    k = lambda a, b: (a @ b.T / 4 + 1) ** 3  # noqa: E731
    m = 30
    direct = sum(float(k(x[i:i + 1], x[j:j + 1])) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    direct += sum(float(k(y[i:i + 1], y[j:j + 1])) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    direct -= 2 * float(k(x, y).mean())
    mean, std = metrics.kid(x, y, n_subsets=3, subset_size=30)  # all rows: every subset is the whole set
    assert mean == pytest.approx(direct, rel=1e-10) and std == pytest.approx(0.0, abs=1e-12)


def test_kid_is_seeded_and_checks_its_arguments():
    x, y = torch.randn(50, 3), torch.randn(40, 3)
    assert metrics.kid(x, y, n_subsets=4, subset_size=20, seed=3) == metrics.kid(x, y, n_subsets=4, subset_size=20, seed=3)
    with pytest.raises(ValueError, match="same feature size"):
        metrics.kid(x, torch.randn(40, 2))
    with pytest.raises(ValueError, match="subset_size"):
        metrics.kid(x, y, subset_size=1)


# ============================================================================ precision / recall


def test_precision_recall_separate_fidelity_from_diversity():
    g = torch.Generator().manual_seed(8)
    real = torch.randn(400, 2, generator=g)
    assert metrics.precision_recall(real, real) == (1.0, 1.0)
    collapsed = real[real[:, 0] > 1.0]  # samples from one corner of the data only
    p, r = metrics.precision_recall(real, collapsed)
    assert p == 1.0 and r < 0.5
    far = torch.randn(400, 2, generator=g) + 10.0  # diverse but all off the data
    assert metrics.precision_recall(real, far) == (0.0, 0.0)


def test_precision_recall_matches_a_brute_force_count():
    g = torch.Generator().manual_seed(9)
    real, fake = torch.randn(30, 3, generator=g), torch.randn(25, 3, generator=g) * 1.3
    k = 2

    def radius(x, i):
        return sorted(float((x[i] - x[j]).norm()) for j in range(len(x)) if j != i)[k - 1]

    def covered(ref, q):
        return any(float((q - ref[i]).norm()) <= radius(ref, i) for i in range(len(ref)))

    precision = np.mean([covered(real, f) for f in fake])
    recall = np.mean([covered(fake, r) for r in real])
    got = metrics.precision_recall(real, fake, k=k)
    assert got.precision == pytest.approx(precision) and got.recall == pytest.approx(recall)


def test_precision_recall_reuses_the_real_radius():
    g = torch.Generator().manual_seed(3)
    real = torch.randn(40, 3, generator=g)
    radius = metrics.kth_neighbour_radius(real, 2)
    assert radius.shape == (40,) and bool((radius > 0).all())
    for shift in (0.0, 0.5, 2.0):
        fake = torch.randn(30, 3, generator=g) + shift
        assert metrics.precision_recall(real, fake, k=2, real_radius=radius) == metrics.precision_recall(real, fake, k=2)
    with pytest.raises(ValueError, match=r"real_radius.*shape \(40\), got \(10,\)"):
        metrics.precision_recall(real, fake, k=2, real_radius=radius[:10])


def test_precision_recall_needs_more_than_k_rows():
    with pytest.raises(ValueError, match="at least 4 rows"):
        metrics.precision_recall(torch.randn(3, 2), torch.randn(10, 2), k=3)


# ============================================================================ Parzen windows


def test_parzen_matches_scipy_gaussian_kde_sum():
    from scipy.stats import multivariate_normal

    g = torch.Generator().manual_seed(10)
    samples, x = torch.randn(50, 3, generator=g, dtype=torch.float64), torch.randn(7, 3, generator=g, dtype=torch.float64)
    h = 0.7
    ref = np.log(np.mean([multivariate_normal(mean=s.numpy(), cov=h * h * np.eye(3)).pdf(x.numpy()) for s in samples], axis=0))
    assert np.allclose(metrics.parzen_log_likelihood(x, samples, h).numpy(), ref, rtol=1e-10)


def test_parzen_of_one_sample_is_a_normal_density_and_bandwidth_selection_works():
    out = metrics.parzen_log_likelihood(torch.zeros(1, 2), torch.zeros(1, 2), 1.0)
    assert float(out) == pytest.approx(-math.log(2 * math.pi))
    g = torch.Generator().manual_seed(11)
    data = torch.randn(200, 2, generator=g)
    best = metrics.select_parzen_bandwidth(torch.randn(100, 2, generator=g), data, [0.01, 0.3, 100.0])
    assert best == 0.3
    with pytest.raises(ValueError, match="same number of dimensions"):
        metrics.parzen_log_likelihood(torch.zeros(3, 2), torch.zeros(3, 4), 1.0)
    with pytest.raises(ValueError, match="positive"):
        metrics.parzen_log_likelihood(torch.zeros(3, 2), torch.zeros(3, 2), 0.0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_metrics_on_cuda_match_cpu():
    g = torch.Generator().manual_seed(12)
    a, b = torch.randn(100, 8, generator=g), torch.randn(80, 8, generator=g) + 0.2
    assert metrics.fid(a.cuda(), b.cuda()) == pytest.approx(metrics.fid(a, b), rel=1e-9)
    assert metrics.kid(a.cuda(), b.cuda(), n_subsets=3)[0] == pytest.approx(metrics.kid(a, b, n_subsets=3)[0], rel=1e-9)
    assert metrics.precision_recall(a.cuda(), b.cuda()) == metrics.precision_recall(a, b)


# ============================================================================ probes


def test_probes_degrade_in_one_controlled_way_and_leave_inputs_alone():
    g = torch.Generator().manual_seed(13)
    x = torch.rand(20, 1, 8, 8, generator=g)
    copy = x.clone()
    assert torch.equal(metrics.add_noise(x, 0.0), x) and torch.equal(metrics.blur(x, 0.0), x)
    noisy = metrics.add_noise(x, 0.3, seed=1)
    assert torch.equal(noisy, metrics.add_noise(x, 0.3, seed=1)) and 0 <= float(noisy.min()) and float(noisy.max()) <= 1
    constant = torch.full((2, 1, 8, 8), 0.4)
    assert torch.allclose(metrics.blur(constant, 1.0), constant)  # a normalised kernel keeps flat images
    blurred = metrics.blur(x, 1.0)
    assert float(blurred.var()) < float(x.var())  # smoother
    assert torch.allclose(metrics.fade(x, 1.0), x.mean(0, keepdim=True).expand_as(x))
    assert torch.equal(metrics.fade(x, 0.0), x)
    labels = torch.arange(20) % 10
    kept = metrics.drop_classes(x, labels, keep=3, n=5)
    assert kept.shape == (5, 1, 8, 8)
    assert all(any(torch.equal(k, x[i]) for i in range(20) if labels[i] < 3) for k in kept)
    assert torch.equal(x, copy)
    with pytest.raises(ValueError, match="fewer than n"):
        metrics.drop_classes(x, labels, keep=1, n=5)
    with pytest.raises(ValueError, match=r"\(n, C, H, W\)"):
        metrics.blur(torch.rand(8, 8), 1.0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        metrics.fade(x, 1.5)


# ============================================================================ widget


def test_damage_explorer_redraws_and_its_scores_react():
    from course_gen import classifier
    from course_gen.data import digits
    from course_gen.widgets import damage_explorer
    from course_gen.widgets.metrics import damage

    x, y = digits("train")
    ref, _ = digits("test")
    clf = classifier.digits_classifier(device="cpu")
    box = damage_explorer(x, y, ref, clf, n=200, kid_subsets=2)
    before = bytes(box.image.value)
    box.severity.value = 0.9
    after_severity = bytes(box.image.value)
    box.kind.value = "drop classes"
    assert before != after_severity != bytes(box.image.value)
    feats = clf.features(ref)
    fids = [metrics.fid(feats, clf.features(damage(x, y, "blur", s, 200))) for s in (0.0, 0.5, 1.0)]
    assert fids[0] < fids[1] < fids[2]
    with pytest.raises(ValueError, match="unknown damage"):
        damage(x, y, "rotate", 0.5, 10)


# ============================================================================ issue 17: bad input


def test_covariances_must_be_symmetric_and_positive_semi_definite():
    eye = torch.eye(3, dtype=torch.float64)
    with pytest.raises(ValueError, match="positive semi-definite"):
        metrics.frechet_distance(torch.zeros(3), -eye, torch.zeros(3), eye)  # was 0.0
    with pytest.raises(ValueError, match="symmetric"):
        metrics.sqrtm_psd(eye + torch.triu(torch.ones(3, 3, dtype=torch.float64), 1))  # was the identity
    with pytest.raises(ValueError, match="positive semi-definite"):
        metrics.trace_sqrt_product(eye, -eye)
    singular = random_cov(30, 1, rank=10)  # round-off makes some eigenvalues slightly negative: accepted
    assert torch.allclose(metrics.sqrtm_psd(singular) @ metrics.sqrtm_psd(singular), singular, atol=1e-10)
    assert metrics.sqrtm_psd(torch.eye(2) * 4).dtype == torch.float32  # the input's dtype comes back


def test_numbers_nan_and_bounds():
    with pytest.raises(ValueError, match="NaN or inf"):
        metrics.nats_to_bits(torch.tensor([1.0, float("nan")]))
    with pytest.raises(ValueError, match="finite"):
        metrics.bits_to_nats(float("inf"))
    a = torch.randn(10, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match="n_subsets must be an int <= "):
        metrics.kid(a, a + 1, n_subsets=10**12)
    with pytest.raises(ValueError, match="degree must be an int <= "):
        metrics.polynomial_kernel(a, a, degree=10**6)
    assert metrics.polynomial_kernel(a.float(), a, degree=2).dtype == torch.float64
    with pytest.raises(TypeError, match="amount"):
        metrics.fade(torch.rand(2, 1, 4, 4), "0.3")
    with pytest.raises(TypeError, match="labels"):
        metrics.drop_classes(torch.rand(4, 1, 4, 4), torch.tensor([0.0, 1.0, 0.5, 1.0]), keep=1, n=1)
    with pytest.raises(ValueError, match="NaN or inf"):
        metrics.blur(torch.full((2, 1, 4, 4), float("nan")), 1.0)
    with pytest.raises(ValueError, match="too small"):
        metrics.parzen_log_likelihood(torch.zeros(2, 3), torch.full((4, 3), 100.0), bandwidth=1e-160)
    with pytest.raises(ValueError, match="too small"):
        metrics.parzen_log_likelihood(torch.zeros(2, 3), torch.full((4, 3), 100.0), bandwidth=1e-200)
