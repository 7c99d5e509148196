"""The same linear classifier on any features (sparse codes, pixels, ...): a linear probe."""

from __future__ import annotations

import numpy as np
import torch

from course_gen._checks import check_positive_number


def _as_array(name: str, values, ndim: int, what: str) -> np.ndarray:
    """``values`` (a tensor or a NumPy array) as a finite, non-empty NumPy array of ``ndim`` dimensions."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    if not isinstance(values, np.ndarray):
        raise TypeError(f"{name} must be a torch.Tensor or a NumPy array {what}, got {type(values).__name__}")
    if values.dtype.kind not in "fiub":
        raise TypeError(f"{name} must hold real numbers {what}, got dtype {values.dtype}")
    if values.ndim != ndim or values.size == 0:
        raise ValueError(f"{name} must be a non-empty {ndim}-D array {what}, got shape {values.shape}")
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        raise ValueError(f"{name} contains NaN or inf ({int((~np.isfinite(values)).sum())} of {values.size} entries)")
    return values


def _as_labels(name: str, values, n: int) -> np.ndarray:
    """Class labels: ``n`` whole numbers (one per row of the features)."""
    labels = _as_array(name, values, 1, f"({n},): one class label per row")
    if labels.dtype.kind == "f" and not np.array_equal(labels, np.round(labels)):
        raise ValueError(f"{name} must be whole numbers (class labels), got fractions such as {labels[labels != np.round(labels)][0]}")
    if len(labels) != n:
        raise ValueError(f"{name} must have one label per row of the features: {n}, got {len(labels)}")
    return labels.astype(np.int64)


def linear_probe_predictions(train_features, train_labels, test_features, C: float = 1.0) -> np.ndarray:
    """The test predictions of the same linear classifier on any features: features standardised,
    then multinomial logistic regression (scikit-learn, ``C`` the inverse L2 strength).

    Features: finite ``(n, f)`` tensors or arrays, the same ``f`` for both; labels: ``n`` whole
    numbers (at least two classes)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    train = _as_array("train_features", train_features, 2, "(n, f): one example per row")
    labels = _as_labels("train_labels", train_labels, len(train))
    test = _as_array("test_features", test_features, 2, f"(m, {train.shape[1]}): one example per row")
    if test.shape[1] != train.shape[1]:
        raise ValueError(f"test_features must have the {train.shape[1]} columns of train_features, got {test.shape[1]}")
    if len(np.unique(labels)) < 2:
        raise ValueError("train_labels must hold at least two classes for a classifier to separate")
    classifier = make_pipeline(StandardScaler(), LogisticRegression(C=check_positive_number("C", C), max_iter=5000))
    classifier.fit(train.astype(np.float64), labels)
    return classifier.predict(test.astype(np.float64))


def linear_probe_accuracy(train_features, train_labels, test_features, test_labels, C: float = 1.0) -> float:
    """Test accuracy of :func:`linear_probe_predictions` (``test_labels``: one per test row)."""
    predictions = linear_probe_predictions(train_features, train_labels, test_features, C)
    test_labels = _as_labels("test_labels", test_labels, len(predictions))
    return float(np.mean(predictions == test_labels))
