"""The digits classifier behind "IS-digits" and "FID-digits" (notebook 07).

Inception v3 scores ImageNet-sized samples; the course's 8x8 digits need a network of their own.
:class:`DigitsClassifier` is a small CNN trained here on ``data.digits("train")``:

    conv 3x3 (1 -> 16) - ReLU - conv 3x3 (16 -> 32) - ReLU - max-pool 2  -> 32 x 4 x 4
    linear 512 -> 64 - ReLU          <- the FEATURE LAYER ("fc1", 64 features, for FID/KID/PR)
    linear 64 -> 10                  <- logits; softmax = p(y|x) for the Inception Score

It is trained on grey-level and binarized digits (each training image is binarized with
probability 1/2, and shifted by up to one pixel), so it scores the samples of models trained on
either. The shipped checkpoint ``assets/digits_classifier.pt`` (38k parameters, ~155 kB) reaches
**99.7 % test accuracy on the grey test digits and 96.0 % on the binarized ones** (300 images,
``data.digits("test")``). :func:`digits_classifier` loads it (sha256-checked, ``weights_only``) or,
when it is missing or altered, trains the same network in a few seconds; run
``python -m course_gen.classifier`` to regenerate it.

For 28x28 MNIST, ``DigitsClassifier(hidden=128, image_size=28)`` pools after each convolution; trained
on the 8,000 training digits of ``data.mnist10k`` it ships as ``pretrained.load("mnist_classifier")``
(128 ``fc1`` features; 98.1 % grey, 97.4 % binarised test accuracy), the feature network of notebook 07.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from course_gen import checkpoints
from course_gen._checks import check_int, check_probability, check_tensor
from course_gen.runtime import evaluating, resolve_device, seeded

__all__ = [
    "CHECKPOINT_NAME",
    "DigitsClassifier",
    "FEATURE_LAYER",
    "accuracy",
    "digits_classifier",
    "digits_scores",
    "new_classifier",
    "train_digits_classifier",
]

#: Name of the shipped checkpoint in ``assets/checkpoints.json``.
CHECKPOINT_NAME = "digits_classifier"
#: The layer whose activations are the features for FID, KID and precision/recall.
FEATURE_LAYER = "fc1: the 64 ReLU units before the output layer"
TRAIN_STEPS = 2000


def _check_digit_images(x, size: int = 8) -> torch.Tensor:
    """Images ``(n, 1, size, size)`` (or ``(n, size, size)``), floating point, finite, in [0, 1]."""
    x = check_tensor("images", x, dtype="float", what=f"of shape (n, 1, {size}, {size}) with values in [0, 1]")
    if x.ndim == 3 and tuple(x.shape[1:]) == (size, size):
        x = x[:, None]
    if x.ndim != 4 or tuple(x.shape[1:]) != (1, size, size) or x.shape[0] == 0:
        raise ValueError(f"images must have shape (n, 1, {size}, {size}) ({size}x{size} digits), got {tuple(x.shape)}")
    low, high = float(x.min()), float(x.max())
    if low < -1e-4 or high > 1 + 1e-4:
        raise ValueError(
            f"images must have values in [0, 1], got values in [{low:.3g}, {high:.3g}]; "
            "rescale (e.g. (x + 1) / 2 for tanh outputs) or clamp them first"
        )
    return x


class DigitsClassifier(nn.Module):
    """A small CNN for digits; ``features(x)`` are the ``hidden`` ``fc1`` activations, ``probs(x)`` p(y|x).

    ``image_size`` 8 (scikit-learn's digits, the architecture above) or 28 (MNIST: conv 3x3 (1 -> 8), ReLU,
    max-pool, conv 3x3 (8 -> 16), ReLU, max-pool, ``16 x 7 x 7`` into ``fc1``).
    ``binarize_prob``: in training, the probability that an image is binarized (``x >= 0.5``)
    before the network sees it; each training image is also shifted by -1, 0 or 1 pixel.

    Images of any floating dtype are accepted (float64 included): they are cast to the dtype of
    the weights (float32) first.
    """

    def __init__(self, hidden: int = 64, binarize_prob: float = 0.5, dropout: float = 0.2, image_size: int = 8):
        super().__init__()
        hidden = check_int("hidden", hidden, minimum=1, maximum=100_000)
        if image_size not in (8, 28):
            raise ValueError(f"image_size must be 8 (digits) or 28 (MNIST), got {image_size!r}")
        self.image_size = image_size
        self.binarize_prob = check_probability("binarize_prob", binarize_prob, include_one=True)
        if image_size == 8:
            self.conv = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
                                      nn.MaxPool2d(2))
            self.fc1 = nn.Linear(32 * 4 * 4, hidden)
        else:  # pool early: 20 times fewer operations per image than keeping 28x28 through two convolutions
            self.conv = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
            self.fc1 = nn.Linear(16 * 7 * 7, hidden)
        self.dropout = nn.Dropout(check_probability("dropout", dropout))
        self.out = nn.Linear(hidden, 10)

    def _features(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.fc1(self.conv(x).flatten(1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (n, 10) of images (n, 1, S, S) with values in [0, 1], S = ``image_size``."""
        return self.out(self.dropout(self._features(self._checked(x))))

    def _checked(self, x) -> torch.Tensor:
        """``x`` checked (:func:`_check_digit_images`), on the weights' device and in their dtype."""
        weight = self.fc1.weight
        return _check_digit_images(x, self.image_size).to(weight.device, weight.dtype)

    @torch.no_grad()
    def _eval_batches(self, x: torch.Tensor, fn, batch_size: int = 1024) -> torch.Tensor:
        x, weight = _check_digit_images(x, self.image_size), self.fc1.weight
        with evaluating(self):
            return torch.cat([fn(chunk.to(weight.device, weight.dtype)) for chunk in torch.split(x, batch_size)])

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The ``fc1`` activations (n, 64) in eval mode, no gradients: the features for FID/KID/PR."""
        return self._eval_batches(x, self._features)

    def probs(self, x: torch.Tensor) -> torch.Tensor:
        """Class probabilities p(y|x), shape (n, 10), in eval mode: the input of the Inception Score."""
        return self._eval_batches(x, lambda chunk: torch.softmax(self.out(self._features(chunk)), dim=1))

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """The most probable class of each image, int64 (n,)."""
        return self.probs(x).argmax(dim=1)

    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        """Binarize each image with probability ``binarize_prob`` and shift it by up to a pixel."""
        binary = torch.rand(x.shape[0], 1, 1, 1, device=x.device) < self.binarize_prob
        x = torch.where(binary, (x >= 0.5).to(x.dtype), x)
        shift_rows, shift_cols = (int(s) for s in torch.randint(-1, 2, (2,)))
        padded, end = F.pad(x, (1, 1, 1, 1)), self.image_size + 1
        return padded[:, :, 1 + shift_rows:end + shift_rows, 1 + shift_cols:end + shift_cols]

    def loss(self, batch) -> torch.Tensor:
        """Cross-entropy of the labels on augmented images; ``batch = (images, labels)``."""
        if not isinstance(batch, (tuple, list)) or len(batch) != 2:
            raise TypeError("DigitsClassifier.loss expects a batch (images, labels)")
        x, y = batch
        x = self._checked(x)
        y = _check_labels(y, len(x)).to(x.device)
        return F.cross_entropy(self(self._augment(x)), y)


def _check_labels(labels, n: int) -> torch.Tensor:
    """Integer digit labels ``(n,)`` with values 0..9."""
    labels = check_tensor("labels", labels, ndim=1, dtype="integer", low=0, high=9, what="(digits 0-9)")
    if labels.shape[0] != n:
        raise ValueError(f"labels must hold one label per image ({n}), got {labels.shape[0]}")
    return labels


def accuracy(model: DigitsClassifier, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of ``images`` whose predicted class equals ``labels`` (integers 0..9, one per image)."""
    if not isinstance(model, DigitsClassifier):
        raise TypeError(f"model must be a DigitsClassifier, got {type(model).__name__}")
    images = _check_digit_images(images, model.image_size)
    labels = _check_labels(labels, images.shape[0])
    return float((model.predict(images).cpu() == labels.cpu()).double().mean())


def new_classifier(seed: int = 0) -> DigitsClassifier:
    """A fresh :class:`DigitsClassifier` whose initial weights depend only on ``seed``
    (drawn from a forked generator: the global random state is left as it was)."""
    with seeded(seed):
        return DigitsClassifier()


def train_digits_classifier(
    model: DigitsClassifier | None = None, steps: int = TRAIN_STEPS, device=None, seed: int = 0
) -> DigitsClassifier:
    """Train ``model`` (a new :class:`DigitsClassifier` if None) on ``data.digits("train")``:
    ``steps`` Adam steps, batch 128, lr 2e-3, weight decay 1e-4. Returns it in eval mode."""
    from course_gen.data import digits
    from course_gen.train import MAX_STEPS, train

    if model is not None and not isinstance(model, DigitsClassifier):
        raise TypeError(f"model must be a DigitsClassifier or None, got {type(model).__name__}")
    steps = check_int("steps", steps, minimum=1, maximum=MAX_STEPS)
    device = resolve_device(device)
    model = new_classifier(seed) if model is None else model
    x, y = digits("train")
    train(model, (x, y), steps=steps, batch_size=128, lr=2e-3,
          weight_decay=1e-4, device=device, seed=seed, progress=False)
    return model.eval()


def digits_classifier(device=None, root=None) -> DigitsClassifier:
    """The shipped classifier (sha256-checked), or one trained now if the checkpoint is missing
    or altered; in eval mode on ``device`` (default :func:`course_gen.device`). ``root``: the folder
    of the checkpoint (default ``assets/``); one that does not exist raises ``ValueError``."""
    target = resolve_device(device)
    model, _ = checkpoints.load_or_train(
        new_classifier(0), CHECKPOINT_NAME, lambda m: train_digits_classifier(m, steps=TRAIN_STEPS, device="cpu"), root=root
    )
    return model.to(target).eval()


def digits_scores(images: torch.Tensor, real_images: torch.Tensor, classifier: DigitsClassifier,
                  splits: int = 1, kid_subsets: int = 50, seed: int = 0) -> dict[str, float]:
    """IS-digits, FID-digits, KID-digits, precision and recall of ``images`` against ``real_images``.

    All on the classifier's ``fc1`` features (IS on its probabilities), as plain floats:
    ``{"IS", "FID", "KID", "precision", "recall"}``.
    """
    from course_gen import metrics

    if not isinstance(classifier, DigitsClassifier):
        raise TypeError(f"classifier must be a DigitsClassifier, got {type(classifier).__name__}")
    fake_features, real_features = classifier.features(images), classifier.features(real_images)
    pr = metrics.precision_recall(real_features, fake_features)
    return {
        "IS": metrics.inception_score(classifier.probs(images), splits=splits)[0],
        "FID": metrics.fid(real_features, fake_features),
        "KID": metrics.kid(real_features, fake_features, n_subsets=kid_subsets, seed=seed)[0],
        "precision": pr.precision,
        "recall": pr.recall,
    }


def _regenerate(steps: int = TRAIN_STEPS) -> None:
    """Train on the CPU with one thread (deterministic) and save the shipped checkpoint."""
    from course_gen.data import digits

    torch.set_num_threads(1)
    model = train_digits_classifier(steps=steps, device="cpu", seed=0)
    x, y = digits("test")
    xb, _ = digits("test", binarize=True)
    grey, binary = accuracy(model, x, y), accuracy(model, xb, y)
    note = f"DigitsClassifier, {steps} steps seed 0; test accuracy {grey:.3f} grey, {binary:.3f} binarized"
    path = checkpoints.save_checkpoint(model, CHECKPOINT_NAME, note=note)
    print(f"saved {path} ({path.stat().st_size} bytes): {note}")


if __name__ == "__main__":
    _regenerate()
