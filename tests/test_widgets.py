"""Widgets redraw when their controls change (no browser: traitlets observers run synchronously)."""

from __future__ import annotations

import pytest
import torch

widgets = pytest.importorskip("course_gen.widgets")

from widget_helpers import assert_shown_at_its_size  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def drawn_png(browser) -> bytes:
    return bytes(browser.image.value)


def test_data_browser_draws_on_creation():
    browser = widgets.data_browser(n=8)
    assert drawn_png(browser).startswith(PNG_SIGNATURE)


def test_data_browser_redraws_for_each_data_set_and_seed():
    browser = widgets.data_browser(n=8)
    drawn = {drawn_png(browser)}
    for name in browser.dropdown.options[1:]:
        browser.dropdown.value = name
        assert drawn_png(browser) not in drawn, f"picking {name!r} did not redraw"
        drawn.add(drawn_png(browser))
    browser.seed.value = 3
    assert drawn_png(browser) not in drawn, "changing the seed did not redraw"


def test_display_carries_the_current_frame_as_a_static_png():
    import base64

    browser = widgets.data_browser(n=8)
    browser.seed.value = 2
    bundle = browser._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle, "the live widget must still be displayed"
    assert base64.b64decode(bundle["image/png"]) == drawn_png(browser), "the static frame is not the current picture"


@pytest.mark.parametrize("n", [0, 1000, 2.5])
def test_data_browser_rejects_bad_sizes(n):
    with pytest.raises(ValueError, match="n must be an int between 1 and 256"):
        widgets.data_browser(n=n)


def test_draw_data_set_rejects_unknown_names():
    from course_gen.widgets.data_browser import draw_data_set

    with pytest.raises(ValueError, match="unknown data set 'mnist'.*digits"):
        draw_data_set("mnist")


def test_live_view_redraws_on_controls_only():
    import ipywidgets
    from matplotlib.figure import Figure

    from course_gen.widgets._figure_view import LiveFigure, live_view

    slider, other = ipywidgets.IntSlider(value=1, max=5), ipywidgets.IntSlider(value=0)
    figure = Figure(figsize=(3, 2), dpi=50)
    (line,) = figure.add_subplot().plot([0, 1], [0, 1])
    drawn = []

    def update():
        drawn.append(slider.value)
        line.set_ydata([0, slider.value])

    box = live_view(LiveFigure(figure, [line]), {"slider": slider}, update, others={"other": other})
    assert box.slider is slider and box.other is other and drawn == [1]
    first = bytes(box.image.value)
    slider.value = 4
    assert drawn == [1, 4] and bytes(box.image.value) != first
    other.value = 3
    assert drawn == [1, 4], "a widget in `others` must not trigger a redraw"


# ----------------------------------------------------------------------------- drawn once, redrawn in place


def test_data_browser_is_drawn_at_its_size_and_leaves_no_trace_of_other_sets():
    browser = widgets.data_browser(n=16)
    assert_shown_at_its_size(browser)
    first = drawn_png(browser)
    for name in ("toy2d: moons", "patches", "toy2d: spirals", "shapes"):
        browser.dropdown.value = name
        assert_shown_at_its_size(browser)
    browser.seed.value = 5
    browser.dropdown.value = "digits"
    assert drawn_png(browser) != first, "the seed must change the digits shown"
    browser.seed.value = 0
    assert drawn_png(browser) == first, "back at digits, seed 0, the picture must be the first one again"


def sparse_problem():
    generator = torch.Generator().manual_seed(0)
    patches = torch.randn(6, 16, generator=generator, dtype=torch.float64)
    atoms = torch.randn(24, 16, generator=generator, dtype=torch.float64)
    return atoms / atoms.norm(dim=1, keepdim=True), patches


def test_sparse_code_explorer_codes_equal_fresh_solutions():
    from course_gen.sparse_coding import sparse_encode
    from course_gen.widgets.sparse_coding import _slider_lams

    D, X = sparse_problem()
    explorer = widgets.sparse_code_explorer(D, X, lam=0.1)
    assert_shown_at_its_size(explorer)
    figure = explorer.explorer
    on_grid = [float(v) for v in _slider_lams(0.005, 2.0, 0.05)[::9]]
    for index, lam in [(0, on_grid[1]), (3, on_grid[2]), (3, 0.0123), (5, on_grid[-1]), (5, 0.1)]:
        fresh = sparse_encode(X[index][None], D, lam)[0]
        assert torch.allclose(figure.code(index, lam), fresh, atol=1e-7), (index, lam)


def test_sparse_code_explorer_blitted_redraws_equal_full_ones():
    D, X = sparse_problem()
    explorer = widgets.sparse_code_explorer(D, X, lam=0.1)
    first = drawn_png(explorer)
    explorer.lam.value = 0.5
    moved = drawn_png(explorer)
    assert moved != first
    explorer.patch.value = 2
    assert drawn_png(explorer) not in (first, moved)
    explorer.patch.value = 0  # a full redraw at lambda 0.5 ...
    assert drawn_png(explorer) == moved, "a lambda move (blitted) must draw what a full redraw draws"
    explorer.lam.value = 0.1
    assert drawn_png(explorer) == first


def test_damage_explorer_keeps_scores_equal_to_fresh_ones_and_redraws_the_same_picture():
    import math

    from course_gen import classifier, metrics
    from course_gen.data import digits
    from course_gen.widgets.metrics import damage

    x, y = digits("train")
    reference, _ = digits("test")
    clf = classifier.digits_classifier(device="cpu")
    box = widgets.damage_explorer(x, y, reference, clf, n=120, kid_subsets=2)
    assert_shown_at_its_size(box)
    first = drawn_png(box)
    box.kind.value = "blur"
    box.severity.value = 0.8
    blurred = drawn_png(box)
    assert blurred != first
    fake = damage(x, y, "blur", 0.8, 120)
    real_features, fake_features = clf.features(reference), clf.features(fake)
    images, scores = box.scores("blur", 0.8)
    assert torch.equal(images, fake[:16])
    assert math.isclose(scores["FID"], metrics.fid(real_features, fake_features), rel_tol=1e-9)
    assert math.isclose(scores["KID"], metrics.kid(real_features, fake_features, n_subsets=2)[0], rel_tol=1e-9)
    assert math.isclose(scores["recall x 10"], 10 * metrics.precision_recall(real_features, fake_features).recall)
    computed = len(box.scores.cache)
    box.kind.value = "noise"
    box.severity.value = 0.3
    assert drawn_png(box) == first, "back at noise 0.3 the picture must be the first one again"
    box.kind.value = "blur"
    box.severity.value = 0.8
    assert drawn_png(box) == blurred and len(box.scores.cache) == computed == 22  # each kind at all 11 severities
