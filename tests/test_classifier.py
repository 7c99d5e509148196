"""The digits classifier behind IS-digits and FID-digits: shipped, accurate, safe to load, re-trainable."""

from __future__ import annotations

import shutil

import pytest
import torch

from course_gen import checkpoints, classifier, metrics
from course_gen.data import digits


@pytest.fixture(scope="module")
def shipped():
    return classifier.digits_classifier(device="cpu")


def test_the_checkpoint_is_listed_small_and_loads_as_plain_weights():
    entry = checkpoints.read_manifest()[classifier.CHECKPOINT_NAME]
    path = checkpoints.assets_dir() / entry["file"]
    assert path.stat().st_size < 200_000 and entry["bytes"] == path.stat().st_size
    state = torch.load(path, weights_only=True)
    assert set(state) == set(classifier.DigitsClassifier().state_dict())


def test_the_shipped_classifier_has_the_stated_test_accuracy(shipped):
    x, y = digits("test")
    xb, _ = digits("test", binarize=True)
    assert classifier.accuracy(shipped, x, y) >= 0.99  # docstring: 99.7 %
    assert classifier.accuracy(shipped, xb, y) >= 0.955  # docstring: 96.0 %


def test_features_and_probabilities(shipped):
    x, _ = digits("test")
    features, probs = shipped.features(x), shipped.probs(x)
    assert features.shape == (300, 64) and bool((features >= 0).all())  # ReLU units of fc1
    assert probs.shape == (300, 10) and torch.allclose(probs.sum(1), torch.ones(300), atol=1e-5)
    assert not features.requires_grad
    # real test digits: confident and balanced, so IS-digits is close to 10
    assert metrics.inception_score(probs, splits=1)[0] > 8.5
    # same images in a different order and batching: the same features
    perm = torch.randperm(300, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(shipped.features(x[perm]), features[perm], atol=1e-5)


@pytest.mark.parametrize("images, error, message", [
    (torch.rand(4, 1, 28, 28), ValueError, r"\(n, 1, 8, 8\)"),
    (torch.rand(4, 1, 8, 8) * 2 - 1, ValueError, r"\[0, 1\]"),
    (torch.randint(0, 2, (4, 1, 8, 8)), TypeError, "float"),
    (torch.full((2, 1, 8, 8), float("nan")), ValueError, "NaN"),
    ([[0.0]], TypeError, "torch.Tensor"),
])
def test_bad_images_get_clear_errors(shipped, images, error, message):
    with pytest.raises(error, match=message):
        shipped.features(images)


def test_training_is_deterministic_and_learns():
    a = classifier.train_digits_classifier(steps=60, device="cpu", seed=1)
    b = classifier.train_digits_classifier(steps=60, device="cpu", seed=1)
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(p, q), name
    x, y = digits("test")
    assert classifier.accuracy(a, x, y) > 0.5


def test_an_altered_checkpoint_is_refused_and_the_model_trained(tmp_path, monkeypatch, capsys):
    source = checkpoints.assets_dir()
    shutil.copy(source / checkpoints.MANIFEST_NAME, tmp_path)
    data = bytearray((source / "digits_classifier.pt").read_bytes())
    data[-10] ^= 0xFF
    (tmp_path / "digits_classifier.pt").write_bytes(bytes(data))
    monkeypatch.setattr(classifier, "TRAIN_STEPS", 10)
    model = classifier.digits_classifier(device="cpu", root=tmp_path)
    assert "sha256" in capsys.readouterr().out
    assert isinstance(model, classifier.DigitsClassifier) and not model.training


def test_digits_scores_rank_real_digits_above_noise(shipped):
    real, _ = digits("test")
    train, _ = digits("train")
    good = classifier.digits_scores(train[:300], real, shipped)
    noise = classifier.digits_scores(torch.rand(300, 1, 8, 8), real, shipped)
    assert good["FID"] < noise["FID"] and good["KID"] < noise["KID"]
    assert good["precision"] > noise["precision"] and good["recall"] > noise["recall"]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_the_classifier_runs_on_cuda(shipped):
    x, _ = digits("test")
    on_gpu = classifier.digits_classifier(device="cuda")
    assert torch.allclose(on_gpu.features(x).cpu(), shipped.features(x), atol=1e-4)


def test_mnist_sized_classifier_checks_its_input_size():
    from course_gen.classifier import DigitsClassifier

    model = DigitsClassifier(hidden=16, image_size=28)
    assert model.features(torch.rand(3, 1, 28, 28)).shape == (3, 16)
    with pytest.raises(ValueError, match=r"shape \(n, 1, 28, 28\) \(28x28 digits\), got \(2, 1, 8, 8\)"):
        model.probs(torch.rand(2, 1, 8, 8))
    with pytest.raises(ValueError, match="image_size must be 8 .* or 28 .*, got 12"):
        DigitsClassifier(image_size=12)


def test_accuracy_refuses_labels_outside_0_to_9_and_bad_shapes(shipped):
    x, y = digits("test")
    for labels, message in ((y + 10, r"\[0, 9\]"), (-y - 1, r"\[0, 9\]"), (y.float(), "integer"), (y[:5], "one label per image")):
        with pytest.raises((ValueError, TypeError), match=message):
            classifier.accuracy(shipped, x, labels)


def test_float64_images_are_cast(shipped):
    x, _ = digits("test")
    torch.testing.assert_close(shipped.probs(x.double()), shipped.probs(x))
    torch.testing.assert_close(shipped(x[:4].double()), shipped(x[:4]))


def test_a_root_that_does_not_exist_raises_instead_of_training(tmp_path):
    with pytest.raises(ValueError, match="no such folder"):
        classifier.digits_classifier(device="cpu", root=tmp_path / "asets")


def test_features_leave_the_training_mode_and_the_global_stream_alone(shipped):
    state = torch.random.get_rng_state()
    classifier.new_classifier(3)
    assert torch.equal(torch.random.get_rng_state(), state)
    shipped.train()
    try:
        shipped.features(digits("test")[0][:4])
        assert shipped.training
    finally:
        shipped.eval()
