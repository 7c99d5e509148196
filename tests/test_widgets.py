"""Widgets redraw when their controls change (no browser: traitlets observers run synchronously)."""

from __future__ import annotations

import pytest

widgets = pytest.importorskip("course_gen.widgets")

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


def test_figure_view_redraws_on_controls_only():
    import ipywidgets
    import matplotlib.pyplot as plt

    from course_gen.widgets._figure_view import figure_view

    slider, other = ipywidgets.IntSlider(value=1, max=5), ipywidgets.IntSlider(value=0)
    drawn = []

    def draw():
        drawn.append(slider.value)
        fig, ax = plt.subplots()
        ax.plot(range(slider.value + 1))
        return fig

    box = figure_view(draw, {"slider": slider}, others={"other": other})
    assert box.slider is slider and box.other is other and drawn == [1]
    first = bytes(box.image.value)
    slider.value = 4
    assert drawn == [1, 4] and bytes(box.image.value) != first
    other.value = 3
    assert drawn == [1, 4], "a widget in `others` must not trigger a redraw"
