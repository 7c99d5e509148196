"""Damage a set of digits and watch the sample metrics move (notebook 07).

:func:`damage_explorer`: a dropdown picks the damage (noise, blur, fade, dropped classes), a
slider its severity; the picture shows 16 damaged images next to bars of FID, KID,
IS, precision and recall, all against a fixed real reference set and on the digits
classifier's features.
"""

from __future__ import annotations

import math

import ipywidgets as w
import torch
from matplotlib.figure import Figure

from course_gen import metrics
from course_gen._checks import check_choice, check_int, check_probability, check_tensor
from course_gen.plotting import image_grid, make_grid
from course_gen.widgets._figure_view import LiveFigure, live_view

__all__ = ["DAMAGES", "damage", "damage_explorer"]

#: The kinds of damage :func:`damage` applies.
DAMAGES = ("noise", "blur", "fade", "drop classes")
#: Dots per inch of the explorer's picture (shown 1:1).
DPI = 80


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


class _DamageScores:
    """The damaged images and their scores per ``(kind, severity)``, scored a kind at a time and kept.

    The first view of a kind damages the pool at every one of ``severities`` (the slider's values), runs the
    classifier once over all of them and scores each set (about a second or two); from then on, moving the
    severity slider of that kind only looks the scores up. The reference's features and k-NN radii are
    computed once. A severity outside ``severities`` is scored on its own.
    """

    def __init__(self, images, labels, reference, classifier, n: int, kid_subsets: int, severities):
        self.images, self.labels, self.classifier, self.n, self.kid_subsets = images, labels, classifier, n, kid_subsets
        self.severities = [round(float(s), 9) for s in severities]
        self.real_features = classifier.features(reference)
        self.real_radius = metrics.kth_neighbour_radius(self.real_features)
        self.cache: dict[tuple[str, float], tuple[torch.Tensor, dict[str, float]]] = {}

    def __call__(self, kind: str, severity: float) -> tuple[torch.Tensor, dict[str, float]]:
        """The first 16 damaged images and the scores: FID, KID, IS, 10 x precision, 10 x recall."""
        key = (kind, round(float(severity), 9))
        if key not in self.cache:
            batch = self.severities if key[1] in self.severities else [key[1]]
            fakes = [damage(self.images, self.labels, kind, s, self.n) for s in batch]
            everything = torch.cat(fakes)
            features, probs = self.classifier.features(everything), self.classifier.probs(everything)
            for k, (s, fake) in enumerate(zip(batch, fakes)):
                rows = slice(k * len(fake), (k + 1) * len(fake))
                self.cache[kind, s] = fake[:16].cpu(), self._scores(features[rows], probs[rows])
        return self.cache[key]

    def _scores(self, fake_features: torch.Tensor, fake_probs: torch.Tensor) -> dict[str, float]:
        pr = metrics.precision_recall(self.real_features, fake_features, real_radius=self.real_radius)
        return {
            "FID": metrics.fid(self.real_features, fake_features),
            "KID": metrics.kid(self.real_features, fake_features, n_subsets=self.kid_subsets)[0],
            "IS": metrics.inception_score(fake_probs, splits=1)[0],
            "precision x 10": 10 * pr.precision,
            "recall x 10": 10 * pr.recall,
        }


def _axis_end(largest: float) -> float:
    """Where the scores' axis ends: 40, or 1.2 x the largest score rounded up to 1, 2 or 5 times a power
    of ten (so the axis, drawn with the figure's static part, seldom changes)."""
    room = 1.2 * largest
    if room <= 40.0:
        return 40.0
    power = 10.0 ** math.floor(math.log10(room))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= room)


class _DamageFigure:
    """16 damaged images (left) next to bars of their scores (right), built once at :data:`DPI`;
    :meth:`show` replaces the images, the bars' lengths and their labels in place and redraws only
    those (the rest too when the scores' axis has to grow)."""

    def __init__(self, images: torch.Tensor, scores: dict[str, float]):
        self.figure = Figure(figsize=(9, 4), dpi=DPI)
        left, self.right = self.figure.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.3]})
        image_grid(images, nrow=4, ax=left, titles=" ")
        self.picture, self.caption = left.images[0], left.title
        self.bars = self.right.barh(list(scores), list(scores.values()), color="tab:blue")
        self.labels = self.right.bar_label(self.bars, fmt="%.2f")
        self.right.invert_yaxis()
        self.right.set_title("against the real reference set")
        self.live = LiveFigure(self.figure, moving=[self.picture, self.caption, *self.bars, *self.labels])
        self.figure.tight_layout()

    def show(self, kind: str, severity: float, images: torch.Tensor, scores: dict[str, float]) -> None:
        self.picture.set_data(make_grid(images, nrow=4, pad_value=1.0))
        self.caption.set_text(f"{kind}, severity {severity:.1f}")
        for bar, label, value in zip(self.bars, self.labels, scores.values()):
            bar.set_width(value)
            label.xy = (max(value, 0.0), label.xy[1])  # a negative KID's label stays right of the axis
            label.set_text(f"{value:.2f}")
        limit = (0, _axis_end(max(scores.values())))
        if self.right.get_xlim() != limit:
            self.right.set_xlim(*limit)
            self.live.invalidate()


def damage_explorer(images: torch.Tensor, labels: torch.Tensor, reference: torch.Tensor, classifier,
                    n: int = 300, kid_subsets: int = 20) -> w.VBox:
    """Controls ``kind`` (dropdown) and ``severity`` (slider) above 16 damaged images and bars of their
    scores (FID, KID, IS, 10 x precision, 10 x recall). A kind is scored at all eleven severities the first
    time it is shown (a second or two), so dragging the severity slider then redraws at once.

    ``images``/``labels``: the pool to damage (e.g. training digits); ``reference``: the real set
    the metrics compare with (e.g. test digits); ``classifier``: a
    :class:`~course_gen.classifier.DigitsClassifier`. Attributes: ``kind``, ``severity``, ``image``, and
    ``scores`` (``scores(kind, severity)``: the first 16 damaged images and the scores shown).
    """
    n = check_int("n", n, minimum=1)
    kid_subsets = check_int("kid_subsets", kid_subsets, minimum=1, maximum=metrics.MAX_SUBSETS)
    if not callable(getattr(classifier, "features", None)) or not callable(getattr(classifier, "probs", None)):
        raise TypeError(f"classifier must have features() and probs() (a DigitsClassifier), got {type(classifier).__name__}")
    damage(images, labels, "noise", 0.0, n)  # checks images, labels and n before anything is drawn
    kind = w.Dropdown(options=DAMAGES, value="noise", description="damage")
    severity = w.FloatSlider(value=0.3, min=0.0, max=1.0, step=0.1, description="severity")
    severities = [severity.min + k * severity.step for k in range(round((severity.max - severity.min) / severity.step) + 1)]
    scored = _DamageScores(images, labels, reference, classifier, n, kid_subsets, severities)
    picture = _DamageFigure(*scored(kind.value, severity.value))

    def update() -> None:
        picture.show(kind.value, severity.value, *scored(kind.value, severity.value))

    box = live_view(picture.live, {"kind": kind, "severity": severity}, update)
    box.scores = scored
    return box
