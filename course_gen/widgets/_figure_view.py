"""The one pattern every course widget follows: controls above a picture that redraws."""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence

import ipywidgets as w
from matplotlib.figure import Figure

from course_gen.plotting import figure_to_png


class FigureBox(w.VBox):
    """A ``VBox`` whose display also carries its current picture as ``image/png``.

    With a kernel, JupyterLab, Notebook 7 and VS Code draw the live widget (its MIME type ranks
    first); a reader without one (GitHub, nbconvert, a static site) sees the saved frame instead.
    """

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        bundle["image/png"] = base64.b64encode(self.image.value).decode("ascii")
        return bundle


def figure_view(
    draw: Callable[[], Figure],
    controls: Mapping[str, w.Widget],
    *,
    others: Mapping[str, w.Widget] | None = None,
    rows: Sequence[Sequence[w.Widget]] | None = None,
    max_width: str = "720px",
) -> FigureBox:
    """A :class:`FigureBox` of controls above an ``ipywidgets.Image`` holding ``draw()``'s figure as PNG.

    The figure is drawn once now and again whenever the ``value`` of one of ``controls``
    changes (traitlets observers run synchronously, so tests can set ``control.value`` and
    read ``box.image.value`` at once). ``others`` are widgets shown but not observed (a
    ``Play`` linked to a slider, say). ``rows`` lays the widgets out, one ``HBox`` a row;
    by default all in one row. Every control and other widget is an attribute of the box
    under its key, and the picture is ``box.image``.
    """
    others = dict(others or {})
    image = w.Image(format="png", layout=w.Layout(max_width=max_width))

    def redraw(_change=None) -> None:
        image.value = figure_to_png(draw(), close=True)

    for control in controls.values():
        control.observe(redraw, names="value")
    redraw()
    rows = rows if rows is not None else [[*controls.values(), *others.values()]]
    box = FigureBox([*(w.HBox(list(row)) for row in rows), image])
    for name, widget in {**controls, **others}.items():
        setattr(box, name, widget)
    box.image = image
    return box
