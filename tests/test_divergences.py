"""kl and jsd against independent references (scipy), their bounds, and their input checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.spatial.distance import jensenshannon
from scipy.special import rel_entr

from course_gen.divergences import jsd, kl


def random_distributions(rows, size, seed):
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(size), size=rows)
    return p


def test_kl_matches_scipy_rel_entr():
    p, q = random_distributions(5, 7, 0), random_distributions(5, 7, 1)
    expected = rel_entr(p, q).sum(axis=1)
    np.testing.assert_allclose(kl(p, q), expected, rtol=1e-12)
    got = kl(torch.tensor(p), torch.tensor(q))
    assert isinstance(got, torch.Tensor) and got.shape == (5,) and got.dtype == torch.float64
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12)


def test_kl_hand_computed_value_and_asymmetry():
    p, q = torch.tensor([0.5, 0.5]), torch.tensor([0.9, 0.1])
    expected = 0.5 * math.log(0.5 / 0.9) + 0.5 * math.log(0.5 / 0.1)
    assert float(kl(p, q)) == pytest.approx(expected, rel=1e-6)
    assert float(kl(q, p)) != pytest.approx(expected, rel=1e-3)
    assert float(kl(p, p)) == 0.0


def test_kl_is_infinite_where_q_has_no_mass_and_zero_terms_count_nothing():
    assert math.isinf(kl(np.array([0.5, 0.5, 0.0]), np.array([1.0, 0.0, 0.0])))
    assert kl(np.array([1.0, 0.0]), np.array([0.5, 0.5])) == pytest.approx(math.log(2))


def test_jsd_matches_scipy_jensenshannon_squared():
    p, q = random_distributions(4, 6, 2), random_distributions(4, 6, 3)
    expected = jensenshannon(p, q, axis=1) ** 2  # scipy returns the distance sqrt(JSD), natural log
    np.testing.assert_allclose(jsd(p, q), expected, rtol=1e-10)
    np.testing.assert_allclose(jsd(q, p), expected, rtol=1e-10)


def test_jsd_bounds_disjoint_supports_give_log_2_while_kl_is_infinite():
    p, q = torch.tensor([0.3, 0.7, 0.0, 0.0]), torch.tensor([0.0, 0.0, 0.4, 0.6])
    assert float(jsd(p, q)) == pytest.approx(math.log(2), abs=1e-7)
    assert math.isinf(float(kl(p, q)))
    many = random_distributions(50, 5, 4), random_distributions(50, 5, 5)
    values = jsd(*many)
    assert (values >= 0).all() and (values <= math.log(2)).all()
    assert jsd(many[0], many[0]) == pytest.approx(np.zeros(50), abs=1e-15)


def test_float32_tensors_keep_their_dtype_and_are_not_modified():
    p = torch.softmax(torch.randn(3, 10, generator=torch.Generator().manual_seed(0)), dim=1)
    q = torch.full((3, 10), 0.1)
    before = p.clone()
    assert jsd(p, q).dtype == torch.float32 and kl(p, q).dtype == torch.float32
    assert torch.equal(p, before)


@pytest.mark.parametrize("fn", [kl, jsd])
def test_bad_inputs_give_clear_errors(fn):
    with pytest.raises(ValueError, match="negative"):
        fn(np.array([1.2, -0.2]), np.array([0.5, 0.5]))
    with pytest.raises(ValueError, match="sum to 1.*0.9"):
        fn(np.array([0.4, 0.5]), np.array([0.5, 0.5]))
    with pytest.raises(ValueError, match="same shape"):
        fn(np.array([0.5, 0.5]), np.array([0.2, 0.3, 0.5]))
    with pytest.raises(ValueError, match="NaN"):
        fn(torch.tensor([float("nan"), 1.0]), torch.tensor([0.5, 0.5]))
    with pytest.raises(ValueError, match="last axis"):
        fn(torch.tensor(1.0), torch.tensor(1.0))
    with pytest.raises(TypeError, match="Tensor or a NumPy array"):
        fn("0.5, 0.5", np.array([0.5, 0.5]))


def test_histogram2d_counts_points_per_cell_and_clips_outliers():
    from course_gen.divergences import histogram2d

    points = torch.tensor([[-0.5, -0.5], [0.5, 0.5], [0.6, 0.7], [9.0, 9.0]], dtype=torch.float32)
    h = histogram2d(points, bins=2, limit=1.0)
    assert h.shape == (4,) and h.dtype == torch.float64
    assert h.tolist() == [0.25, 0.0, 0.0, 0.75]  # cell (0, 0) and cell (1, 1), the outlier clipped into it
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        histogram2d(torch.zeros(3, 3))
    with pytest.raises(ValueError, match="bins"):
        histogram2d(points, bins=0)


def test_binned_jsd_zero_for_the_same_points_log2_for_disjoint_ones():
    from course_gen.divergences import binned_jsd

    g = torch.Generator().manual_seed(0)
    x = torch.randn(2000, 2, generator=g)
    assert binned_jsd(x, x) == pytest.approx(0.0, abs=1e-12)
    assert binned_jsd(x * 0.1 - 2, x * 0.1 + 2, bins=8, limit=4) == pytest.approx(math.log(2))
    shifted = [binned_jsd(x, torch.randn(2000, 2, generator=g) + shift) for shift in (0.0, 0.5, 1.5)]
    assert shifted[0] < shifted[1] < shifted[2] < math.log(2)


def test_as_float64_rejects_inf_and_as_distribution_checks_like_kl():
    from course_gen.divergences import as_distribution, as_float64, histogram2d

    with pytest.raises(ValueError, match="inf"):
        as_float64("p", torch.tensor([0.5, float("inf")]))
    with pytest.raises(ValueError, match="sum to 1"):
        as_distribution("p", [0.2, 0.2, 0.2])
    assert as_distribution("p", [0.25, 0.75]).dtype == torch.float64
    with pytest.raises(ValueError, match="bins must be an int <= 1000"):
        histogram2d(torch.zeros(3, 2), bins=10**6)
