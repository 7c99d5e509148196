"""course_gen.autoencoders: the models, their losses and noise, PCA, principal angles, hashing."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import torch
import torch.nn.functional as F

import course_gen
from course_gen import checkpoints, data
from course_gen.autoencoders import (
    PCA,
    BinaryCodeAutoencoder,
    ConvAutoencoder,
    MLPAutoencoder,
    bce_loss,
    bce_with_logits_loss,
    gaussian_noise,
    hamming_distances,
    masking_noise,
    nearest_neighbours,
    neighbour_correlation,
    pca,
    precision_at_k,
    principal_angles,
    reconstruction_error,
    squared_error_loss,
)
from course_gen.train import train

CPU = "cpu"


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def digits_flat():
    images, labels = data.digits("train")
    return images.reshape(len(images), -1), labels


# ============================================================================ linear AE = PCA


def test_linear_autoencoder_finds_the_principal_subspace(digits_flat):
    """A linear autoencoder with squared error spans the top-k principal subspace
    (largest principal angle small) with decoder columns that are not orthonormal."""
    x, _ = digits_flat
    centred = x - x.mean(dim=0)
    k = 8
    course_gen.seed_everything(0)
    model = MLPAutoencoder(k, activation="linear", likelihood="gaussian", image_shape=(64,))
    train(model, centred, steps=600, lr=2e-2, batch_size=len(centred), progress=False, device=CPU)

    angles = principal_angles(model.decoder_matrix, pca(centred, k).components)
    assert math.degrees(float(angles.max())) < 5.0
    weights = model.decoder_matrix.detach()
    assert float((weights.T @ weights - torch.eye(k)).abs().max()) > 0.5, (
        "decoder columns came out orthonormal"
    )
    assert reconstruction_error(model, centred) == pytest.approx(
        reconstruction_error(pca(centred, k), centred), rel=1e-3
    )


# ============================================================================ principal angles, PCA


@pytest.mark.parametrize("k_a, k_b", [(3, 3), (2, 5), (5, 2), (1, 1)])
def test_principal_angles_match_scipy(k_a, k_b):
    generator = torch.Generator().manual_seed(k_a * 10 + k_b)
    a = torch.randn(9, k_a, generator=generator, dtype=torch.float64)
    b = torch.randn(9, k_b, generator=generator, dtype=torch.float64)
    ours = principal_angles(a, b)
    reference = np.sort(scipy.linalg.subspace_angles(a.numpy(), b.numpy()))
    assert ours.shape == (min(k_a, k_b),)
    assert torch.all(ours[1:] >= ours[:-1]), "angles should be ascending"
    np.testing.assert_allclose(ours.numpy(), reference, atol=1e-10)


def test_principal_angles_known_values_and_basis_invariance():
    q = torch.linalg.qr(torch.randn(6, 6, generator=torch.Generator().manual_seed(1), dtype=torch.float64)).Q
    theta = torch.tensor([0.25, 1.0], dtype=torch.float64)
    a = q[:, :2] @ torch.tensor([[2.0, 1.0], [0.5, 3.0]], dtype=torch.float64)  # not orthonormal
    b = q[:, :2] * torch.cos(theta) + q[:, 2:4] * torch.sin(theta)
    torch.testing.assert_close(principal_angles(a, b), theta)
    torch.testing.assert_close(
        principal_angles(a, a @ torch.tensor([[1.0, 2.0], [3.0, 1.0]], dtype=torch.float64)),
        torch.zeros(2, dtype=torch.float64),
        atol=1e-7,
        rtol=0,
    )
    torch.testing.assert_close(
        principal_angles(q[:, :2], q[:, 2:4]), torch.full((2,), math.pi / 2, dtype=torch.float64)
    )


def test_principal_angles_tiny_angles_are_accurate():
    """arccos alone loses small angles to rounding; the sine branch keeps them."""
    q = torch.linalg.qr(torch.randn(5, 5, generator=torch.Generator().manual_seed(2), dtype=torch.float64)).Q
    b = q[:, :1] * math.cos(1e-9) + q[:, 1:2] * math.sin(1e-9)
    assert float(principal_angles(q[:, :1], b)[0]) == pytest.approx(1e-9, rel=1e-5)


def test_principal_angles_reject_bad_inputs():
    with pytest.raises(ValueError, match="same space"):
        principal_angles(torch.randn(5, 2), torch.randn(6, 2))
    with pytest.raises(ValueError, match="linearly dependent"):
        principal_angles(torch.ones(5, 2), torch.randn(5, 2))
    with pytest.raises(ValueError, match=r"must be a matrix \(D, k\).*got shape \(5,\)"):
        principal_angles(torch.randn(5), torch.randn(5, 2))


def test_pca_matches_scikit_learn(digits_flat):
    from sklearn.decomposition import PCA as SkPCA

    x, _ = digits_flat
    ours = pca(x, 5)
    theirs = SkPCA(5, svd_solver="full").fit(x.numpy().astype(np.float64))
    gram = ours.components.T @ ours.components
    torch.testing.assert_close(gram, torch.eye(5), atol=1e-5, rtol=0)
    assert float(principal_angles(ours.components, torch.tensor(theirs.components_.T)).max()) < 1e-3
    np.testing.assert_allclose(ours.variances.numpy(), theirs.explained_variance_, rtol=1e-4)
    reconstruction = theirs.inverse_transform(theirs.transform(x.numpy()))
    np.testing.assert_allclose(ours(x).numpy(), reconstruction, atol=1e-4)


def test_pca_shapes_and_full_rank_reconstruction():
    images, _ = data.digits("test")
    full = pca(images, 64)
    assert isinstance(full, PCA) and full.encode(images).shape == (300, 64)
    assert full.decode(full.encode(images)).shape == (300, 1, 8, 8)
    assert reconstruction_error(full, images) < 1e-8
    codes = pca(images, 4).binary_code(images)
    assert set(codes.unique().tolist()) <= {0.0, 1.0}
    with pytest.raises(
        ValueError, match=r"PCA expects a batch of shape \(B, 64\) or \(B, 1, 8, 8\), got \(300, 63\)"
    ):
        full.encode(images.reshape(300, 64)[:, :63])


# ============================================================================ losses and noise


def test_bce_loss_equals_torch_reference():
    generator = torch.Generator().manual_seed(0)
    x_hat = torch.rand(6, 1, 8, 8, generator=generator) * 0.98 + 0.01
    x = torch.rand(6, 1, 8, 8, generator=generator)
    expected = F.binary_cross_entropy(x_hat, x, reduction="sum") / 6
    torch.testing.assert_close(bce_loss(x_hat, x), expected)
    logits = torch.randn(6, 64, generator=generator)
    torch.testing.assert_close(
        bce_with_logits_loss(logits, x.reshape(6, 64)),
        bce_loss(torch.sigmoid(logits), x.reshape(6, 64)),
        rtol=1e-5,
        atol=1e-5,
    )
    torch.testing.assert_close(squared_error_loss(x_hat, x), 0.5 * F.mse_loss(x_hat, x, reduction="sum") / 6)


def test_bce_loss_of_perfect_binary_reconstruction_is_zero_not_nan():
    x = torch.tensor([[0.0, 1.0, 1.0, 0.0]])
    assert float(bce_loss(x, x)) == pytest.approx(0.0, abs=1e-4)


def test_losses_reject_mismatched_shapes():
    with pytest.raises(ValueError, match=r"same shape, got \(2, 64\) and \(2, 1, 8, 8\)"):
        bce_loss(torch.rand(2, 64), torch.rand(2, 1, 8, 8))


@pytest.mark.parametrize("nu", [0.25, 0.5])
def test_masking_noise_drops_a_fraction_nu_and_keeps_the_rest(nu):
    x = torch.rand(500, 200, generator=torch.Generator().manual_seed(1)) + 0.5  # no zeros
    original = x.clone()
    corrupted = masking_noise(x, nu, generator=torch.Generator().manual_seed(2))
    dropped = corrupted == 0
    # 100,000 independent pixels: the dropped fraction has standard deviation < 0.0016.
    assert abs(float(dropped.float().mean()) - nu) < 0.01
    assert torch.equal(corrupted[~dropped], x[~dropped]), "kept pixels must be unchanged (no rescaling)"
    assert torch.equal(x, original), "the input must not be modified"
    assert not torch.equal(dropped[0], dropped[1]), "each example needs its own mask"
    assert torch.equal(masking_noise(x, 0.0), x)
    assert torch.equal(masking_noise(x, 1.0), torch.zeros_like(x))
    with pytest.raises(ValueError, match=r"nu must lie in \[0, 1\], got 1.5"):
        masking_noise(x, 1.5)


def test_gaussian_noise_has_the_requested_standard_deviation():
    x = torch.zeros(400, 250)
    noisy = gaussian_noise(x, 0.3, generator=torch.Generator().manual_seed(0))
    assert float(noisy.std()) == pytest.approx(0.3, rel=0.02)
    assert abs(float(noisy.mean())) < 0.01


def test_neighbour_correlation_tells_smooth_filters_from_noise():
    generator = torch.Generator().manual_seed(0)
    noise = torch.randn(200, 64, generator=generator)
    rows, cols = torch.meshgrid(torch.arange(8.0), torch.arange(8.0), indexing="ij")
    blob = torch.exp(-((rows - 3.5) ** 2 + (cols - 3.5) ** 2) / 8).reshape(1, 64)
    checkerboard = ((rows + cols) % 2 * 2 - 1).reshape(1, 8, 8)
    assert abs(neighbour_correlation(noise)) < 0.05
    assert neighbour_correlation(blob) > 0.7
    assert neighbour_correlation(checkerboard) == pytest.approx(-56 / 64)  # 56 adjacent pairs per direction
    with pytest.raises(ValueError, match=r"filters must have shape \(n, 64\)"):
        neighbour_correlation(torch.randn(3, 60))


# ============================================================================ models


def test_tied_weights_are_one_parameter_and_the_decoder_uses_its_transpose():
    model = MLPAutoencoder(16, hidden_sizes=(32,), tied=True)
    untied = MLPAutoencoder(16, hidden_sizes=(32,), tied=False)
    weights = [p for name, p in model.named_parameters() if name.endswith("weight")]
    assert len(weights) == 2, "tied: one weight matrix per layer"
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(untied) - count(model) == 64 * 32 + 32 * 16
    assert model.decoder_matrix.data_ptr() == model.encoder_matrix.data_ptr()
    torch.testing.assert_close(model.decoder_matrix, model.encoder_matrix.T)
    # The decoder really is W^T: a one-layer tied linear model decodes z to W^T z + c.
    linear = MLPAutoencoder(4, activation="linear", likelihood="gaussian", tied=True)
    z = torch.randn(3, 4)
    expected = z @ linear.encoder_matrix + linear.decoder_biases[0]
    torch.testing.assert_close(linear.decode(z).reshape(3, 64), expected)


def test_tied_weights_stay_tied_through_training():
    images, _ = data.digits("test")
    model = MLPAutoencoder(8, tied=True)
    before = model.encoder_matrix.detach().clone()
    train(model, images, steps=5, progress=False, device=CPU)
    assert not torch.equal(before, model.encoder_matrix.detach())
    torch.testing.assert_close(model.decoder_matrix, model.encoder_matrix.T)


@pytest.mark.parametrize(
    "make",
    [
        lambda: MLPAutoencoder(5, hidden_sizes=(20,), activation="elu", code_activation="linear"),
        lambda: MLPAutoencoder(5, tied=True, likelihood="gaussian"),
        lambda: ConvAutoencoder(5, channels=(4, 8)),
        lambda: BinaryCodeAutoencoder(5, hidden_sizes=(20,)),
    ],
)
def test_models_accept_images_and_flat_vectors(make):
    model = make()
    images = torch.rand(3, 1, 8, 8)
    assert model.encode(images).shape == (3, 5)
    torch.testing.assert_close(model.encode(images), model.encode(images.reshape(3, 64)))
    assert model.decode(torch.randn(3, 5)).shape == (3, 1, 8, 8)
    assert model(images).shape == (3, 1, 8, 8)
    assert model(images.reshape(3, 64)).shape == (3, 64)
    loss = model.loss((images, torch.zeros(3)))  # a labelled batch: labels ignored
    assert set(loss) >= {"loss", "reconstruction"} and loss["loss"].requires_grad


@pytest.mark.parametrize("make", [lambda: MLPAutoencoder(5), lambda: ConvAutoencoder(5)])
@pytest.mark.parametrize(
    "bad, message",
    [
        (
            torch.rand(64),
            r"expects a batch of shape \(B, 64\) or \(B, 1, 8, 8\), got \(64,\) "
            r"\(a single example: add a batch dimension",
        ),
        (torch.rand(1, 8, 8), r"got \(1, 8, 8\) \(a single example"),
        (torch.rand(4, 63), r"expects a batch of shape \(B, 64\) or \(B, 1, 8, 8\), got \(4, 63\)"),
        (torch.rand(4, 3, 8, 8), r"got \(4, 3, 8, 8\)"),
        (torch.rand(0, 64), r"got \(0, 64\)"),
    ],
)
def test_encoders_reject_wrong_input_shapes(make, bad, message):
    model = make()
    with pytest.raises(ValueError, match=message):
        model.encode(bad)
    with pytest.raises(ValueError, match=message):
        model(bad)


def test_decoders_reject_wrong_code_shapes_and_types():
    model = MLPAutoencoder(5)
    with pytest.raises(
        ValueError, match=r"MLPAutoencoder.decode expects codes of shape \(B, 5\), got \(3, 4\)"
    ):
        model.decode(torch.randn(3, 4))
    with pytest.raises(ValueError, match=r"got \(5,\) \(a single code: add a batch dimension"):
        model.decode(torch.randn(5))
    with pytest.raises(TypeError, match="floating-point"):
        model.encode(torch.ones(2, 64, dtype=torch.long))
    with pytest.raises(TypeError, match="input of MLPAutoencoder.encode must be a torch.Tensor, got ndarray"):
        model.encode(np.zeros((2, 64), dtype=np.float32))


def test_constructor_arguments_are_checked():
    with pytest.raises(ValueError, match="unknown likelihood 'poisson'"):
        MLPAutoencoder(4, likelihood="poisson")
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        MLPAutoencoder(4, activation="swish")
    with pytest.raises(ValueError, match="needs a corruption"):
        MLPAutoencoder(4, noise_level=0.3)
    with pytest.raises(ValueError, match=r"masking probability nu\) must lie in \[0, 1\)"):
        MLPAutoencoder(4, corruption="mask", noise_level=1.0)
    with pytest.raises(TypeError, match=r"hidden_sizes must be a tuple of ints such as \(128,\)"):
        MLPAutoencoder(4, hidden_sizes=128)
    with pytest.raises(ValueError, match="divisible by 8"):
        ConvAutoencoder(4, image_shape=(1, 12, 12), channels=(4, 4, 4))
    assert MLPAutoencoder(4, likelihood="mse").likelihood == "gaussian"
    assert MLPAutoencoder(4, likelihood="bce").likelihood == "bernoulli"


def test_loss_is_the_chosen_reconstruction_term():
    images, _ = data.digits("test")
    batch = images[:10]
    bernoulli = MLPAutoencoder(6, hidden_sizes=(16,))
    torch.testing.assert_close(
        bernoulli.loss(batch)["loss"], bce_loss(bernoulli(batch), batch), rtol=1e-4, atol=1e-4
    )
    gaussian = MLPAutoencoder(6, hidden_sizes=(16,), likelihood="gaussian")
    torch.testing.assert_close(gaussian.loss(batch)["loss"], squared_error_loss(gaussian(batch), batch))


def test_denoising_corrupts_in_train_mode_only():
    images, _ = data.digits("test")
    model = MLPAutoencoder(6, corruption="mask", noise_level=0.5)
    model.eval()
    clean = model.loss(images)["loss"]
    torch.testing.assert_close(clean, model.loss(images)["loss"])
    model.train()
    torch.manual_seed(0)
    noisy = model.loss(images)["loss"]
    assert not torch.isclose(noisy, clean)
    gaussian = MLPAutoencoder(6, corruption="gaussian", noise_level=0.2)
    assert not torch.equal(gaussian.corrupt(images), images)


def test_sparsity_penalty_adds_lambda_times_the_code_l1_norm():
    images, _ = data.digits("test")
    torch.manual_seed(0)
    plain = MLPAutoencoder(12)
    sparse = MLPAutoencoder(12, sparsity=0.5)
    sparse.load_state_dict(plain.state_dict())
    plain_loss, sparse_loss = plain.loss(images), sparse.loss(images)
    code_l1 = plain.encode(images).abs().sum(dim=1).mean()
    assert float(sparse_loss["loss"].detach()) > float(plain_loss["loss"].detach())
    torch.testing.assert_close(sparse_loss["loss"], plain_loss["loss"] + 0.5 * code_l1)
    torch.testing.assert_close(sparse_loss["code_l1"], code_l1.detach())


def test_conv_autoencoder_learns():
    images, _ = data.digits("test")
    model = ConvAutoencoder(8, channels=(8, 16))
    history = train(model, images, steps=60, lr=3e-3, progress=False, device=CPU)
    assert sum(history.loss[-5:]) / 5 < 0.8 * sum(history.loss[:5]) / 5


# ============================================================================ semantic hashing


@pytest.mark.parametrize("method", ["noise", "straight_through"])
def test_binary_codes_are_zeros_and_ones(method):
    images, _ = data.digits("test")
    model = BinaryCodeAutoencoder(10, hidden_sizes=(32,), method=method)
    train(model, images, steps=3, progress=False, device=CPU)
    codes = model.binary_code(images)
    assert codes.shape == (300, 10)
    assert set(codes.unique().tolist()) <= {0.0, 1.0}
    torch.testing.assert_close(codes, (model.encode(images) >= 0.5).float())


def test_straight_through_training_code_is_binary_with_gradients():
    model = BinaryCodeAutoencoder(6, hidden_sizes=(16,), method="straight_through")
    model.train()
    code = model._training_code(torch.rand(4, 64))
    assert set(code.detach().unique().tolist()) <= {0.0, 1.0}
    code.sum().backward()
    assert model.encoder_layers[0].weight.grad.abs().sum() > 0


def test_hamming_distances_count_differing_bits():
    queries = torch.tensor([[0, 0, 0, 0], [1, 1, 0, 0]])
    database = torch.tensor([[0, 0, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0]], dtype=torch.bool)
    assert hamming_distances(queries, database).tolist() == [[0, 4, 1], [2, 2, 1]]
    with pytest.raises(ValueError, match="only 0s and 1s"):
        hamming_distances(torch.tensor([[0.5, 1.0]]), torch.tensor([[0.0, 1.0]]))
    with pytest.raises(ValueError, match="same number of bits"):
        hamming_distances(torch.zeros(1, 3), torch.zeros(1, 4))


def test_precision_at_k_on_a_constructed_case():
    database = torch.tensor([[0, 0, 0], [0, 0, 1], [1, 1, 1], [1, 1, 0], [0, 1, 1]])
    database_labels = torch.tensor([0, 0, 1, 1, 0])
    queries = torch.tensor([[0, 0, 0], [1, 1, 1]])
    query_labels = torch.tensor([0, 1])
    # query 0: distances [0, 1, 3, 2, 2] -> top-3 rows 0, 1, 3 (tie at 2 kept in order) -> labels 0, 0, 1
    # query 1: distances [3, 2, 0, 1, 1] -> top-3 rows 2, 3, 4 -> labels 1, 1, 0
    assert nearest_neighbours(queries, database, 3).tolist() == [[0, 1, 3], [2, 3, 4]]
    assert precision_at_k(queries, query_labels, database, database_labels, k=3) == pytest.approx(4 / 6)
    assert precision_at_k(queries, query_labels, database, database_labels, k=1) == pytest.approx(1.0)
    real = torch.tensor([[0.0, 0.0], [5.0, 5.0], [0.1, 0.0]])
    assert (
        precision_at_k(real[:1], torch.tensor([1]), real, torch.tensor([1, 0, 1]), k=2, metric="euclidean")
        == 1.0
    )
    with pytest.raises(ValueError, match="one label per code"):
        precision_at_k(queries, torch.tensor([0]), database, database_labels)


# ============================================================================ devices


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_models_and_helpers_run_on_cuda():
    images, labels = data.digits("test")
    for model in (
        MLPAutoencoder(4, tied=True, corruption="mask", noise_level=0.2),
        ConvAutoencoder(4),
        BinaryCodeAutoencoder(4, hidden_sizes=(16,)),
    ):
        train(model, images, steps=3, progress=False, device="cuda")
        assert reconstruction_error(model, images) > 0
    codes = model.binary_code(images.cuda())
    assert codes.is_cuda
    assert 0 <= precision_at_k(codes, labels, codes, labels, k=5) <= 1
    assert pca(images.cuda(), 3).components.is_cuda


# ============================================================================ measurements (notebook 02)


def test_relative_error_is_zero_for_the_identity_and_one_for_zero():
    from course_gen.autoencoders import relative_error

    x = torch.rand(20, 1, 8, 8)
    assert relative_error(lambda u: u, x) == pytest.approx(0.0)
    assert relative_error(torch.zeros_like, x) == pytest.approx(1.0)
    assert relative_error(lambda u: 0.5 * u, x) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="all zeros"):
        relative_error(lambda u: u, torch.zeros(3, 4))


def test_noise_gain_is_one_for_the_identity_and_k_over_d_for_a_projection():
    from course_gen.autoencoders import noise_gain

    x = torch.rand(400, 100)
    assert noise_gain(lambda u: u, x) == pytest.approx(1.0)
    assert noise_gain(lambda u: 3 * u + 1, x) == pytest.approx(9.0)
    q = torch.linalg.qr(torch.randn(100, 10, generator=torch.Generator().manual_seed(1))).Q
    projection = lambda u: u @ q @ q.T
    assert noise_gain(projection, x) == pytest.approx(10 / 100, rel=0.05)
    assert noise_gain(lambda u: u, x, seed=3) == noise_gain(lambda u: u, x, seed=3)
    with pytest.raises(ValueError, match="sigma must be positive"):
        noise_gain(lambda u: u, x, sigma=0)


def test_noise_gain_with_a_mask_measures_only_the_masked_pixels():
    from course_gen.autoencoders import noise_gain

    x = torch.rand(300, 1, 4, 5)
    left = torch.zeros(1, 1, 4, 5, dtype=torch.bool)
    left[..., :2] = True
    keep_left = lambda u: u * left  # passes the left two columns, drops the rest
    assert noise_gain(keep_left, x, mask=left) == pytest.approx(1.0)
    assert noise_gain(keep_left, x, mask=~left) == pytest.approx(0.0)
    assert noise_gain(keep_left, x) == pytest.approx(2 / 5, rel=0.1)
    assert noise_gain(lambda u: 2 * u, x, mask=x > 0.5) == pytest.approx(4.0)
    with pytest.raises(TypeError, match="boolean"):
        noise_gain(keep_left, x, mask=left.float())
    with pytest.raises(ValueError, match="does not broadcast"):
        noise_gain(keep_left, x, mask=torch.ones(3, dtype=torch.bool))
    with pytest.raises(ValueError, match="selects no pixel"):
        noise_gain(keep_left, x, mask=torch.zeros_like(left))


def test_nearest_distance_matches_brute_force():
    from course_gen.autoencoders import nearest_distance

    generator = torch.Generator().manual_seed(0)
    database = torch.rand(50, 1, 4, 4, generator=generator)
    queries = torch.rand(7, 16, generator=generator)
    expected = torch.tensor([min(float((q - d.flatten()).norm()) for d in database) for q in queries])
    got = nearest_distance(queries, database, batch_size=3)
    assert torch.allclose(got.float(), expected, atol=1e-5)
    assert torch.allclose(nearest_distance(database, database), torch.zeros(50, dtype=torch.float64))
    with pytest.raises(ValueError, match="same dimension"):
        nearest_distance(queries, torch.rand(5, 15))


def test_pca_first_equals_a_fresh_fit(digits_flat):
    x, _ = digits_flat
    full = pca(x, 10)
    three = full.first(3)
    fresh = pca(x, 3)
    assert torch.allclose(three.components, fresh.components, atol=1e-5)
    assert torch.allclose(three(x), fresh(x), atol=1e-4)
    with pytest.raises(ValueError):
        full.first(11)


# ============================================================================ notebook 02's shipped models


def test_overcomplete_variants_differ_only_in_what_stops_the_identity():
    from course_gen.autoencoders import OVERCOMPLETE, overcomplete_autoencoder

    models = {variant: overcomplete_autoencoder(variant) for variant in OVERCOMPLETE}
    for model in models.values():
        assert model.code_size > model.n_inputs == 784 and model.tied and model.likelihood == "gaussian"
    assert models["plain"].corruption == "none" and models["plain"].sparsity == 0
    assert (models["mask50"].corruption, models["mask50"].noise_level) == ("mask", 0.5)
    assert models["gaussian"].corruption == "gaussian" and models["sparse"].sparsity > 0
    with pytest.raises(ValueError, match="variant"):
        overcomplete_autoencoder("dropout")


def test_every_recipe_has_a_shipped_checkpoint_that_fits_its_model():
    from course_gen import checkpoints
    from course_gen.autoencoders import RECIPES

    manifest = checkpoints.read_manifest()
    for name, recipe in RECIPES.items():
        assert name in manifest, f"{name} is not shipped in assets/checkpoints.json"
        assert "float16" in manifest[name]["note"] and name in manifest[name]["note"]
        model = checkpoints.load_checkpoint(name, recipe.build())
        assert all(p.dtype == torch.float32 for p in model.parameters())


def test_shipped_loads_half_precision_weights_and_retrain_saves_them(tmp_path, monkeypatch):
    from course_gen import autoencoders

    model = autoencoders.RECIPES["ae02_linear"].build()
    checkpoints.save_checkpoint(model, "ae02_linear", note="test", root=tmp_path, half=True)
    loaded = autoencoders.shipped("ae02_linear", root=tmp_path)
    assert not loaded.training
    assert torch.allclose(loaded.decoder_matrix, model.decoder_matrix, atol=1e-3)
    assert not torch.equal(loaded.decoder_matrix, model.decoder_matrix)  # rounded to float16

    calls = []
    monkeypatch.setattr(autoencoders.recipes, "train_recipe", lambda name, m, device=None: calls.append(name) or m)
    autoencoders.shipped("ae02_linear", retrain=True, root=tmp_path / "new")
    assert calls == ["ae02_linear"] and (tmp_path / "new" / "ae02_linear.pt").is_file()
    with pytest.raises(ValueError, match="name"):
        autoencoders.shipped("vae")


# ---------------------------------------------------------------- issue 17: runtime and bad input


def test_models_cast_float64_inputs_and_codes_to_their_own_dtype():
    torch.manual_seed(0)
    x = torch.rand(4, 1, 8, 8)
    for model in (MLPAutoencoder(3, hidden_sizes=(8,)), ConvAutoencoder(3, channels=(4,)),
                  BinaryCodeAutoencoder(3, hidden_sizes=(8,))):
        model.eval()
        out = model(x.double())
        assert out.dtype == torch.float32 and torch.allclose(out, model(x))
        assert torch.equal(model.encode(x.double()), model.encode(x))
        z = model.encode(x)
        assert torch.equal(model.decode(z.double()), model.decode(z))
        assert float(model.loss(x.double())["loss"]) == pytest.approx(float(model.loss(x)["loss"]))
    double = MLPAutoencoder(3).double()
    assert double(x).dtype == torch.float64  # a float64 model casts float32 inputs up


def test_cross_entropies_reject_targets_and_probabilities_outside_0_1():
    x = torch.rand(3, 64, generator=torch.Generator().manual_seed(0))
    logits = torch.randn(3, 64, generator=torch.Generator().manual_seed(1))
    assert float(bce_with_logits_loss(logits, x)) > 0
    with pytest.raises(ValueError, match=r"x \(targets of a cross-entropy\) must lie in \[0, 1\]"):
        bce_with_logits_loss(logits, 3 * x - 1)  # gave a negative "loss" before
    with pytest.raises(ValueError, match=r"x_hat must lie in \[0, 1\]"):
        bce_loss(x + 1, x)
    with pytest.raises(ValueError, match="NaN or inf"):
        squared_error_loss(logits * float("nan"), x)
    with pytest.raises(ValueError, match=r"bernoulli likelihood's targets\) must lie in \[0, 1\]"):
        MLPAutoencoder(3).loss(3 * x - 1)
    assert float(MLPAutoencoder(3, likelihood="gaussian").loss(3 * x - 1)["loss"]) > 0  # any real target


def test_a_diverged_model_still_returns_its_nan_loss_for_the_training_loop():
    model = MLPAutoencoder(3)
    with torch.no_grad():
        model.encoder_layers[0].weight.fill_(float("nan"))
    assert math.isnan(float(model.loss(torch.rand(2, 64))["loss"]))
    with pytest.raises(ValueError, match="NaN or inf"):
        reconstruction_error(model, torch.rand(2, 64))


def test_measures_restore_the_models_mode_and_check_what_reconstruct_returns():
    from course_gen.autoencoders import noise_gain

    model = MLPAutoencoder(3, corruption="mask", noise_level=0.5)
    x = torch.rand(4, 1, 8, 8)
    reconstruction_error(model, x)
    noise_gain(model, x)
    assert model.training
    model.eval()
    reconstruction_error(model, x)
    assert not model.training
    with pytest.raises(TypeError, match=r"the reconstruction \(what reconstruct returned\) must be a torch.Tensor"):
        reconstruction_error(lambda u: u.numpy(), x)
    with pytest.raises(ValueError, match="same shape"):
        reconstruction_error(lambda u: u[:, 0], x)


def test_noise_takes_only_a_generator_on_the_inputs_device():
    x = torch.rand(2, 64)
    with pytest.raises(TypeError, match="generator must be None or a torch.Generator"):
        masking_noise(x, 0.5, generator=3)
    with pytest.raises(TypeError, match="generator must be None or a torch.Generator"):
        gaussian_noise(x, 0.5, generator=0)


def test_constructors_bound_layer_sizes_and_check_devices():
    with pytest.raises(ValueError, match="code_size must be an int <="):
        MLPAutoencoder(10**12)
    with pytest.raises(ValueError, match="weights: at most"):
        MLPAutoencoder(3, hidden_sizes=(10**5, 10**5))
    with pytest.raises(ValueError, match="unknown device"):
        MLPAutoencoder(3, device="gpu0")
    with pytest.raises(TypeError, match="image_shape must be a tuple of ints"):
        MLPAutoencoder(3, image_shape="1x8x8")


def test_recipes_leave_the_callers_random_stream_alone_and_check_their_arguments(tmp_path):
    from course_gen import autoencoders

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    model = autoencoders.RECIPES["ae02_linear"].build()
    checkpoints.save_checkpoint(model, "ae02_linear", note="test", root=tmp_path, half=True)
    torch.manual_seed(123)
    autoencoders.shipped("ae02_linear", root=tmp_path)
    assert torch.equal(torch.rand(3), expected)  # seeded() restores the caller's stream

    with pytest.raises(ValueError, match="root .*typo"):
        autoencoders.shipped("ae02_linear", root=tmp_path / "typo")  # used to train for minutes
    for steps, error in ((0, ValueError), (10**8, ValueError), (1.5, TypeError)):
        with pytest.raises(error, match="steps"):
            autoencoders.train_recipe("ae02_losses", steps=steps)
    with pytest.raises(ValueError, match="steps must be an int <="):
        autoencoders.Recipe(lambda: MLPAutoencoder(2), "grey", 10**9)
