"""The same linear classifier on any features (sparse codes, pixels, ...): a linear probe."""

from __future__ import annotations

import numpy as np
import torch

from course_gen._checks import check_positive_number


def linear_probe_predictions(train_features, train_labels, test_features, C: float = 1.0) -> np.ndarray:
    """The test predictions of the same linear classifier on any features: features standardised,
    then multinomial logistic regression (scikit-learn, ``C`` the inverse L2 strength)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def as_numpy(values):
        return values.detach().cpu().double().numpy() if isinstance(values, torch.Tensor) else np.asarray(values)

    classifier = make_pipeline(StandardScaler(), LogisticRegression(C=check_positive_number("C", C), max_iter=5000))
    classifier.fit(as_numpy(train_features), as_numpy(train_labels))
    return classifier.predict(as_numpy(test_features))


def linear_probe_accuracy(train_features, train_labels, test_features, test_labels, C: float = 1.0) -> float:
    """Test accuracy of :func:`linear_probe_predictions`."""
    predictions = linear_probe_predictions(train_features, train_labels, test_features, C)
    test_labels = test_labels.cpu().numpy() if isinstance(test_labels, torch.Tensor) else np.asarray(test_labels)
    return float(np.mean(predictions == test_labels))
