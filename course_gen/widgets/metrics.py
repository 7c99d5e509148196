"""Damage a set of digits and watch the sample metrics move (notebook 07).

:func:`damage_explorer`: a dropdown picks the damage (noise, blur, fade, dropped classes), a
slider its severity; the picture shows 16 damaged images next to bars of FID, KID,
IS, precision and recall, all against a fixed real reference set and on the digits
classifier's features.
"""

from __future__ import annotations

import ipywidgets as w
import matplotlib.pyplot as plt
import torch

from course_gen import metrics
from course_gen._checks import check_choice, check_int, check_probability, check_tensor
from course_gen.plotting import image_grid
from course_gen.widgets._figure_view import figure_view

__all__ = ["DAMAGES", "damage", "damage_explorer"]

#: The kinds of damage :func:`damage` applies.
DAMAGES = ("noise", "blur", "fade", "drop classes")


def damage(images: torch.Tensor, labels: torch.Tensor, kind: str, severity: float, n: int, seed: int = 0) -> torch.Tensor:
    """``n`` images with damage ``kind`` at ``severity`` in [0, 1]: noise std ``0.5 s``, blur sigma
    ``1.5 s``, fade amount ``s``, or only the ``10 - round(8 s)`` first classes kept.

    ``images`` finite floats ``(N, C, H, W)``, ``labels`` integer class indices ``(N,)``, ``1 <= n <= N``."""
    check_choice("damage", kind, DAMAGES)
    severity = check_probability("severity", severity, include_one=True)
    images = check_tensor("images", images, ndim=4, dtype="float", what="(n, C, H, W)")
    labels = check_tensor("labels", labels, ndim=1, dtype="integer", low=0, what="(one class index per image)")
    if len(labels) != len(images):
        raise ValueError(f"labels must hold one class index per image ({len(images)}), got {len(labels)}")
    n = check_int("n", n, minimum=1)
    if n > len(images):
        raise ValueError(f"images holds {len(images)} images, fewer than n = {n}")
    if kind == "drop classes":
        return metrics.drop_classes(images, labels, keep=10 - round(8 * severity), n=n, seed=seed)
    base = images[:n]
    if kind == "noise":
        return metrics.add_noise(base, 0.5 * severity, seed=seed)
    if kind == "blur":
        return metrics.blur(base, 1.5 * severity)
    return metrics.fade(base, severity)


def damage_explorer(images: torch.Tensor, labels: torch.Tensor, reference: torch.Tensor, classifier,
                    n: int = 300, kid_subsets: int = 20) -> w.VBox:
    """Controls ``kind`` (dropdown) and ``severity`` (slider) above the damaged images and their scores.

    ``images``/``labels``: the pool to damage (e.g. training digits); ``reference``: the real set
    the metrics compare with (e.g. test digits); ``classifier``: a
    :class:`~course_gen.classifier.DigitsClassifier`.
    """
    n = check_int("n", n, minimum=1)
    kid_subsets = check_int("kid_subsets", kid_subsets, minimum=1, maximum=metrics.MAX_SUBSETS)
    if not callable(getattr(classifier, "features", None)) or not callable(getattr(classifier, "probs", None)):
        raise TypeError(f"classifier must have features() and probs() (a DigitsClassifier), got {type(classifier).__name__}")
    damage(images, labels, "noise", 0.0, n)  # checks images, labels and n before anything is drawn
    real_features = classifier.features(reference)
    kind = w.Dropdown(options=DAMAGES, value="noise", description="damage")
    severity = w.FloatSlider(value=0.3, min=0.0, max=1.0, step=0.1, description="severity", continuous_update=False)

    def draw():
        fake = damage(images, labels, kind.value, severity.value, n)
        fake_features = classifier.features(fake)
        pr = metrics.precision_recall(real_features, fake_features)
        scores = {
            "FID": metrics.fid(real_features, fake_features),
            "KID": metrics.kid(real_features, fake_features, n_subsets=kid_subsets)[0],
            "IS": metrics.inception_score(classifier.probs(fake), splits=1)[0],
            "precision x 10": 10 * pr.precision,
            "recall x 10": 10 * pr.recall,
        }
        fig, (left, right) = plt.subplots(1, 2, figsize=(9, 4), gridspec_kw={"width_ratios": [1, 1.3]})
        image_grid(fake[:16].cpu(), nrow=4, ax=left, titles=f"{kind.value}, severity {severity.value:.1f}")
        bars = right.barh(list(scores), list(scores.values()), color="tab:blue")
        right.bar_label(bars, fmt="%.2f")
        right.invert_yaxis()
        right.set_xlim(0, max(40.0, 1.2 * max(scores.values())))
        right.set_title("against the real reference set")
        fig.tight_layout()
        return fig

    return figure_view(draw, {"kind": kind, "severity": severity})
