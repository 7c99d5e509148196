"""Sparse coding: the Lasso solver against scikit-learn and the optimality conditions,
dictionary learning's monotone objective and unit-norm atoms, the PSD encoder, the atom
measurements, the explorer widget, and clear errors for bad inputs."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from course_gen import sparse_coding as sc
from course_gen.train import train


def random_problem(n=20, d=16, k=32, seed=0, dtype=torch.float64):
    generator = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=generator, dtype=dtype)
    D = torch.randn(k, d, generator=generator, dtype=dtype)
    return X, D / D.norm(dim=1, keepdim=True)


def coherent_patch_problem(n=300, k=60, seed=0):
    """Mean-removed photo patches, with atoms that are other patches: highly coherent atoms."""
    from course_gen.data import patches

    X = patches(n, seed=seed).double()
    X = X - X.mean(1, keepdim=True)
    D = patches(k, seed=seed + 100).double()
    D = D - D.mean(1, keepdim=True)
    return X, D / D.norm(dim=1, keepdim=True)


def sklearn_lasso_codes(X, D, lam):
    """Row by row with scikit-learn's Lasso: target x (d samples), design D^T, alpha = lam / d
    (its objective is 1/(2 d) ||x - D^T a||^2 + alpha ||a||_1, i.e. ours divided by d)."""
    from sklearn.linear_model import Lasso

    d = X.shape[1]
    codes = []
    for x in X.numpy():
        model = Lasso(alpha=lam / d, fit_intercept=False, tol=1e-12, max_iter=100_000)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(D.numpy().T, x)
        codes.append(model.coef_)
    return torch.tensor(np.array(codes), dtype=torch.float64)


# ----------------------------------------------------------------------------- sparse_encode


@pytest.mark.parametrize("lam", [0.05, 0.3, 1.0])
def test_sparse_encode_reaches_sklearn_lasso_objective(lam):
    X, D = random_problem()
    ours = sc.lasso_objective(X, D, sc.sparse_encode(X, D, lam), lam)
    reference = sc.lasso_objective(X, D, sklearn_lasso_codes(X, D, lam), lam)
    assert abs(ours - reference) <= 1e-4 * reference, (ours, reference)


def test_sparse_encode_matches_sklearn_on_coherent_patch_atoms_in_float32():
    X, D = coherent_patch_problem(n=60)
    lam = 0.05
    codes = sc.sparse_encode(X.float(), D.float(), lam)
    assert codes.dtype == torch.float32 and codes.shape == (60, 60)
    ours = sc.lasso_objective(X, D, codes.double(), lam)
    reference = sc.lasso_objective(X, D, sklearn_lasso_codes(X, D, lam), lam)
    assert abs(ours - reference) <= 1e-4 * reference, (ours, reference)


def kkt_violation(X, D, codes, lam):
    """Largest violation of the Lasso optimality conditions, relative to lam:
    (x - a D) phi_k = lam sign(a_k) where a_k != 0, |(x - a D) phi_k| <= lam elsewhere."""
    correlation = (X - codes @ D) @ D.T
    active = codes != 0
    on = torch.where(active, (correlation - lam * torch.sign(codes)).abs(), 0.0)
    off = torch.where(active, 0.0, (correlation.abs() - lam).clamp_min(0))
    return float(torch.maximum(on, off).max()) / lam


@pytest.mark.parametrize("problem", ["random", "coherent patches"])
def test_codes_satisfy_the_optimality_conditions(problem):
    X, D = random_problem() if problem == "random" else coherent_patch_problem()
    lam = 0.2 if problem == "random" else 0.05
    codes = sc.sparse_encode(X, D, lam)
    assert kkt_violation(X, D, codes, lam) < 1e-3
    assert 0 < (codes != 0).float().mean() < 1  # sparse, not trivially zero


def test_without_exact_finish_fista_alone_also_converges():
    X, D = coherent_patch_problem(n=100)
    codes = sc.sparse_encode(X, D, 0.05, polish_every=0, tol=1e-8, max_iter=5000)
    assert kkt_violation(X, D, codes, 0.05) < 1e-3


def test_code_is_exactly_zero_when_lam_reaches_the_largest_correlation():
    X, D = random_problem()
    largest = (X @ D.T).abs().amax(1)
    codes = sc.sparse_encode(X, D, float(largest.max()))
    assert torch.count_nonzero(codes) == 0
    # per row: rows whose largest correlation is below lam are exactly zero, the others are not
    lam = float(largest.median())
    codes = sc.sparse_encode(X, D, lam)
    assert torch.equal((codes != 0).any(1), largest > lam)


def test_orthonormal_dictionary_gives_soft_thresholded_correlations():
    X, _ = random_problem(d=8)
    D = torch.linalg.qr(torch.randn(8, 8, generator=torch.Generator().manual_seed(1), dtype=torch.float64))[0].T
    lam = 0.4
    expected = sc.soft_threshold(X @ D.T, lam)
    assert torch.allclose(sc.sparse_encode(X, D, lam), expected, atol=1e-10)


def test_lam_zero_with_an_undercomplete_dictionary_is_least_squares():
    X, D = random_problem(d=16, k=6)
    expected = torch.linalg.lstsq(D.T, X.T).solution.T
    assert torch.allclose(sc.sparse_encode(X, D, 0.0, tol=1e-10, max_iter=20000), expected, atol=1e-6)


def test_warm_start_reaches_the_same_codes():
    X, D = random_problem()
    cold = sc.sparse_encode(X, D, 0.2)
    warm = sc.sparse_encode(X, D, 0.2, init=cold + 0.1)
    assert torch.allclose(cold, warm, atol=1e-4)


def test_ista_steps_converge_to_the_sparse_code():
    X, D = random_problem(n=4, k=12, d=10)
    codes = torch.zeros(4, 12, dtype=torch.float64)
    for _ in range(3000):
        codes = sc.ista_step(codes, X, D, 0.3)
    assert torch.allclose(codes, sc.sparse_encode(X, D, 0.3), atol=1e-6)


def test_lasso_path_matches_one_solve_per_lambda():
    X, D = random_problem(n=1)
    lams = [0.02, 0.2, 1.0]
    path = sc.lasso_path(X[0], D, lams)
    for row, lam in zip(path, lams):
        assert torch.allclose(row, sc.sparse_encode(X, D, lam)[0], atol=1e-8)


def test_code_formula_lists_the_largest_coefficients_first():
    code = torch.tensor([0.0, 0.3, 0.0, -0.8, 0.05, 0.5])
    assert sc.code_formula(code, n_terms=3) == "x ~ -0.80*phi_3 + 0.50*phi_5 + 0.30*phi_1 + ... (1 more)"
    assert sc.code_formula(torch.zeros(4)).startswith("x ~ 0")


# ----------------------------------------------------------------------------- bad inputs


@pytest.mark.parametrize(
    "X, D, lam, error, message",
    [
        (torch.zeros(5), torch.eye(3), 0.1, ValueError, r"X must be 2-D \(n, d\).*got shape \(5,\)"),
        (torch.zeros(4, 3), torch.zeros(2, 5), 0.1, ValueError, r"same number of columns d.*X is \(4, 3\).*D is \(2, 5\)"),
        (torch.zeros(4, 3), torch.eye(3), -0.1, ValueError, r"lam must be a finite number >= 0, got -0.1"),
        (torch.zeros(4, 3), torch.eye(3), float("nan"), ValueError, r"lam must be a finite number >= 0, got nan"),
        (torch.zeros(4, 3), torch.eye(3), "0.1", TypeError, r"lam must be a number >= 0, got str"),
        (torch.zeros(4, 3, dtype=torch.int64), torch.eye(3), 0.1, TypeError, r"X must be a floating-point tensor.*int64"),
        (np.zeros((4, 3)), torch.eye(3), 0.1, TypeError, r"X must be a torch.Tensor.*got ndarray"),
        (torch.zeros(0, 3), torch.eye(3), 0.1, ValueError, r"X must not be empty"),
    ],
)
def test_bad_inputs_raise_clear_errors(X, D, lam, error, message):
    with pytest.raises(error, match=message):
        sc.sparse_encode(X, D, lam)


def test_non_finite_entries_are_located():
    X = torch.zeros(4, 3)
    X[2, 1] = float("nan")
    with pytest.raises(ValueError, match=r"X contains NaN at row 2, column 1"):
        sc.sparse_encode(X, torch.eye(3), 0.1)
    D = torch.eye(3)
    D[0, 2] = float("inf")
    with pytest.raises(ValueError, match=r"D contains an infinite value at row 0, column 2"):
        sc.sparse_encode(torch.zeros(4, 3), D, 0.1)


def test_bad_init_and_options_raise():
    X, D = random_problem()
    with pytest.raises(ValueError, match=r"codes must have shape \(n, k\) = \(20, 32\), got \(20, 31\)"):
        sc.sparse_encode(X, D, 0.1, init=torch.zeros(20, 31, dtype=torch.float64))
    with pytest.raises(ValueError, match="max_iter must be an int >= 1"):
        sc.sparse_encode(X, D, 0.1, max_iter=0)
    with pytest.raises(ValueError, match="tol must be a positive finite number"):
        sc.sparse_encode(X, D, 0.1, tol=-1.0)


# ----------------------------------------------------------------------------- dictionary learning


def patch_data(n=600, seed=0):
    from course_gen.data import patches

    X, _ = sc.whiten_patches(sc.high_contrast(patches(2 * n, seed=seed), 0.5))
    return X


def test_learn_dictionary_objective_never_increases_and_atoms_stay_unit_norm():
    X = patch_data()
    D, history = sc.learn_dictionary(X, 40, 0.1, n_iter=8, device="cpu")
    assert D.shape == (40, 64) and D.dtype == X.dtype and len(history) == 8
    assert all(later <= earlier * (1 + 1e-9) for earlier, later in zip(history, history[1:]))
    assert history[-1] < 0.95 * history[0]
    assert torch.allclose(D.norm(dim=1), torch.ones(40), atol=1e-5)


def test_learn_dictionary_is_deterministic_given_the_seed():
    X = patch_data(n=300)
    threads = torch.get_num_threads()
    first, history = sc.learn_dictionary(X, 20, 0.1, n_iter=3, seed=5, device="cpu")
    assert torch.get_num_threads() == threads  # the one-thread CPU loop restores the setting
    again, history_again = sc.learn_dictionary(X, 20, 0.1, n_iter=3, seed=5, device="cpu")
    other, _ = sc.learn_dictionary(X, 20, 0.1, n_iter=3, seed=6, device="cpu")
    assert torch.equal(first, again) and history == history_again
    assert not torch.allclose(first, other)


def test_learn_dictionary_accepts_init_and_rejects_bad_arguments():
    X = patch_data(n=300)
    start = X[:10] / X[:10].norm(dim=1, keepdim=True)
    D, _ = sc.learn_dictionary(X, 10, 0.1, n_iter=2, init=start, device="cpu")
    assert D.shape == (10, 64)
    with pytest.raises(ValueError, match=r"init must have shape \(n_atoms, d\) = \(10, 64\), got \(9, 64\)"):
        sc.learn_dictionary(X, 10, 0.1, init=start[:9], device="cpu")
    with pytest.raises(ValueError, match=r"n_atoms \(10\) must be <= the number of non-zero rows of X \(5\)"):
        sc.learn_dictionary(torch.cat([X[:5], torch.zeros(20, 64)]), 10, 0.1, device="cpu")
    with pytest.raises(ValueError, match="lam must be a finite number >= 0"):
        sc.learn_dictionary(X, 10, -1.0, device="cpu")


def test_dictionary_update_decreases_the_objective_and_reinitialises_unused_atoms():
    X, D = random_problem(n=50, d=8, k=12)
    codes = sc.sparse_encode(X, D, 0.3)
    codes[:, 0] = 0  # atom 0 unused
    before = sc.lasso_objective(X, D, codes, 0.3)
    new = sc.dictionary_update(X, codes, D, n_sweeps=3)
    assert sc.lasso_objective(X, new, codes, 0.3) <= before
    assert torch.allclose(new.norm(dim=1), torch.ones(12, dtype=torch.float64))
    worst = int(((X - codes @ new) ** 2).sum(1).argmax())  # the residual does not involve the unused atom
    assert torch.allclose(new[0], X[worst] / X[worst].norm())


# ----------------------------------------------------------------------------- PSD encoder


@pytest.mark.parametrize("nonlinearity", ["tanh", "shrink"])
def test_psd_encoder_learns_to_predict_the_codes(nonlinearity):
    X = patch_data(n=500)
    D, _ = sc.learn_dictionary(X, 30, 0.1, n_iter=4, device="cpu")
    codes = sc.sparse_encode(X, D, 0.1)
    model = sc.PSDEncoder(64, 30, nonlinearity, dictionary=D, lam=0.1)
    history = train(model, (X, codes), steps=150, lr=3e-3, batch_size=128, progress=False, device="cpu")
    assert history.last(20) < 0.8 * history.loss[0]
    with torch.no_grad():
        error = float(((model(X) - codes) ** 2).sum(1).mean())
    trivial = float((codes**2).sum(1).mean())  # predicting all-zero codes
    assert error < 0.7 * trivial


def test_psd_shrink_encoder_gives_exact_zeros_and_checks_shapes():
    model = sc.PSDEncoder(8, 5, "shrink")
    with torch.no_grad():
        model.raw_threshold.fill_(10.0)
    assert torch.count_nonzero(model(torch.randn(3, 8))) == 0
    with pytest.raises(ValueError, match=r"expects patches of shape \(B, 8\), got \(3, 7\)"):
        model(torch.randn(3, 7))
    with pytest.raises(ValueError, match="unknown nonlinearity 'relu'"):
        sc.PSDEncoder(8, 5, "relu")


# ----------------------------------------------------------------------------- patches and atoms


def test_whitening_removes_the_mean_and_flattens_the_spectrum():
    from course_gen.data import patches

    raw = patches(2000, seed=0).double()
    X, whitening = sc.whiten_patches(raw, eps=0.05)
    assert torch.allclose(X.mean(1), torch.zeros(2000, dtype=torch.float64), atol=1e-8)
    assert math.isclose(float((X**2).sum(1).mean()), 1.0, rel_tol=1e-6)

    def spread(Y):  # variance of the 1st principal direction over that of the 10th
        centred = Y - Y.mean(1, keepdim=True)
        variances = torch.linalg.eigvalsh(centred.T @ centred).flip(0)
        return float(variances[0] / variances[9])

    assert spread(raw) > 10 and spread(X) < spread(raw) / 4
    assert torch.allclose(whitening.transform(raw[:5]), X[:5])


def test_high_contrast_keeps_the_rows_with_the_largest_spread_in_order():
    X = torch.tensor([[0.0, 0.0], [0.0, 3.0], [0.0, 1.0], [0.0, 2.0]])
    assert torch.equal(sc.high_contrast(X, 0.5), X[[1, 3]])


def test_gabor_fit_recovers_a_gabor_and_rejects_noise():
    truth = dict(amplitude=1.0, x0=3.4, y0=4.1, theta=0.6, frequency=0.18, phase=0.3, sigma_x=1.6, sigma_y=2.2)
    image = sc.gabor((8, 8), *truth.values())
    params, r2 = sc.gabor_fit(torch.tensor(image).flatten())
    assert r2 > 0.999
    fitted = sc.gabor((8, 8), *params.values())
    assert np.allclose(fitted, image, atol=1e-3)
    noise = torch.randn(64, generator=torch.Generator().manual_seed(0))
    assert sc.gabor_fit(noise)[1] < 0.5


def test_stripes_one_pixel_wide_fit_a_gabor_but_are_not_gabor_like():
    alternation = torch.tensor(sc.gabor((8, 8), 1.0, 3.0, 3.0, 0.0, 0.5, 0.0, 2.0, 2.0), dtype=torch.float32)
    bar = torch.tensor(sc.gabor((8, 8), 1.0, 3.5, 3.5, 0.3, 0.15, 0.0, 1.5, 2.5), dtype=torch.float32)
    stats = sc.atom_statistics(torch.stack([alternation.flatten(), bar.flatten()]))
    assert stats["gabor_r2"][0] >= sc.GABOR_R2_THRESHOLD, "the fit alone would call the alternation an edge"
    assert stats["frequency"][0] >= sc.NYQUIST_BAND
    assert sc.gabor_like(stats).tolist() == [False, True]
    with pytest.raises(TypeError, match="atom_statistics"):
        sc.gabor_like({"gabor_r2": np.ones(2)})


def test_linear_probe_predictions_give_the_accuracy():
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(60) % 3
    features = torch.nn.functional.one_hot(labels, 3).float() + 0.3 * torch.randn(60, 3, generator=generator)
    predictions = sc.linear_probe_predictions(features[:40], labels[:40], features[40:])
    assert predictions.shape == (20,)
    accuracy = sc.linear_probe_accuracy(features[:40], labels[:40], features[40:], labels[40:])
    assert accuracy == np.mean(predictions == labels[40:].numpy()) > 0.8


def test_orientation_coherence_and_concentration_of_simple_patterns():
    edge = np.zeros((8, 8))
    edge[:, 4:] = 1.0
    checkerboard = np.indices((8, 8)).sum(0) % 2 * 2.0 - 1
    assert sc.orientation_coherence(edge) > 0.99
    assert sc.orientation_coherence(checkerboard) < 0.05
    dot = np.zeros((8, 8))
    dot[2, 5] = 1.0
    assert sc.spatial_concentration(dot) == 1.0
    assert math.isclose(sc.spatial_concentration(np.ones((8, 8))), 16 / 64)


# ----------------------------------------------------------------------------- widget and devices


def test_explorer_redraws_for_lambda_and_patch():
    widgets = pytest.importorskip("course_gen.widgets")
    X, D = random_problem(n=5, d=16, k=24)
    explorer = widgets.sparse_code_explorer(D, X, lam=0.1)
    drawn = {bytes(explorer.image.value)}
    assert next(iter(drawn)).startswith(b"\x89PNG")
    explorer.lam.value = 0.5
    assert bytes(explorer.image.value) not in drawn, "moving the lambda slider did not redraw"
    drawn.add(bytes(explorer.image.value))
    explorer.patch.value = 3
    assert bytes(explorer.image.value) not in drawn, "picking another patch did not redraw"
    with pytest.raises(ValueError, match="same d"):
        widgets.sparse_code_explorer(D, X[:, :5])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_sparse_encode_runs_on_cuda_and_agrees_with_cpu():
    X, D = random_problem(n=200)
    on_gpu = sc.sparse_encode(X.cuda(), D.cuda(), 0.2)
    assert on_gpu.device.type == "cuda"
    assert torch.allclose(on_gpu.cpu(), sc.sparse_encode(X, D, 0.2), atol=1e-6)
    learned, history = sc.learn_dictionary(X.cuda().float(), 10, 0.2, n_iter=3, device="cuda")
    assert learned.device.type == "cuda" and len(history) == 3


# ----------------------------------------------------------------------------- bad input (issue 17)


def test_soft_threshold_rejects_a_negative_or_non_finite_threshold():
    z = torch.tensor([-2.0, 0.5, 3.0])
    assert sc.soft_threshold(z, torch.tensor([0.0, 1.0, 1.0])).tolist() == [-2.0, 0.0, 2.0]
    with pytest.raises(ValueError, match="threshold must be a finite number >= 0, got -1"):
        sc.soft_threshold(z, -1)  # would grow every value by 1
    with pytest.raises(ValueError, match=r"threshold must lie in \[0, inf\]"):
        sc.soft_threshold(z, torch.tensor([0.1, -0.1, 0.1]))
    with pytest.raises(ValueError, match="must broadcast to z"):
        sc.soft_threshold(z, torch.ones(2, 3))
    with pytest.raises(ValueError, match="NaN"):
        sc.soft_threshold(torch.tensor([float("nan")]), 0.1)


def test_iteration_counts_are_bounded():
    X, D = torch.randn(3, 4), torch.eye(4)
    with pytest.raises(ValueError, match="max_iter must be an int <="):
        sc.sparse_encode(X, D, 0.1, max_iter=10**9)
    with pytest.raises(ValueError, match="n_iter must be an int <="):
        sc.learn_dictionary(X, 2, 0.1, n_iter=10**9)
    with pytest.raises(ValueError, match="n_sweeps must be an int <="):
        sc.dictionary_update(X, torch.zeros(3, 4), D, n_sweeps=10**9)
    with pytest.raises(ValueError, match="weights"):
        sc.PSDEncoder(10**6, 10**6)


def test_psd_encoder_checks_patches_and_targets_and_casts_float64():
    model = sc.PSDEncoder(4, 3)
    x = torch.randn(5, 4, dtype=torch.float64)
    assert model(x).dtype == torch.float32
    with pytest.raises(ValueError, match="NaN"):
        model(torch.full((2, 4), float("nan")))
    with pytest.raises(ValueError, match=r"target codes \(one code per patch\) must have shape \(5, 3\)"):
        model.loss((x, torch.zeros(2, 3)))
    with pytest.raises(ValueError, match="NaN"):
        model.loss((x, torch.full((5, 3), float("nan"))))


def test_atom_measures_and_gabor_reject_non_finite_or_degenerate_input():
    with pytest.raises(ValueError, match="NaN"):
        sc.orientation_coherence(torch.full((4, 4), float("nan")))
    with pytest.raises(ValueError, match="NaN"):
        sc.gabor_fit(np.full((4, 4), np.nan))
    with pytest.raises(ValueError, match="at least 2 x 2"):
        sc.spatial_concentration(torch.ones(1, 5), window=1)
    with pytest.raises(TypeError, match="atom must be"):
        sc.orientation_coherence("an atom")
    with pytest.raises(ValueError, match="sigma_x must be a positive"):
        sc.gabor((4, 4), 1.0, 1.5, 1.5, 0.0, 0.2, 0.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="theta must be a finite number"):
        sc.gabor((4, 4), 1.0, 1.5, 1.5, float("nan"), 0.2, 0.0, 1.0, 1.0)
    with pytest.raises(TypeError, match="shape must be a pair"):
        sc.gabor((4,), 1.0, 1.5, 1.5, 0.0, 0.2, 0.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="finite numbers"):
        sc.gabor_like({"gabor_r2": np.array([np.nan, 0.9]), "frequency": np.array([0.1, 0.1])})


def test_linear_probe_checks_features_and_labels_before_scikit_learn():
    features, labels = torch.randn(10, 3), torch.arange(10) % 2
    with pytest.raises(ValueError, match="train_features contains NaN"):
        sc.linear_probe_predictions(torch.full((10, 3), float("nan")), labels, features)
    with pytest.raises(ValueError, match="one label per row of the features: 10, got 4"):
        sc.linear_probe_predictions(features, labels[:4], features)
    with pytest.raises(ValueError, match="whole numbers"):
        sc.linear_probe_predictions(features, labels + 0.5, features)
    with pytest.raises(ValueError, match="the 3 columns"):
        sc.linear_probe_predictions(features, labels, features[:, :2])
    with pytest.raises(ValueError, match="at least two classes"):
        sc.linear_probe_predictions(features, torch.zeros(10), features)
    with pytest.raises(ValueError, match="one label per row"):
        sc.linear_probe_accuracy(features, labels, features, labels[:3])
