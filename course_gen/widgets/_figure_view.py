"""The one pattern every course widget follows: controls above a picture that redraws.

Two ways to make the picture:

- :func:`figure_view`: ``draw()`` builds a new figure at every change. Simple, for pictures whose layout
  changes with the control; as fast as one draw of the figure (render it at the size shown).
- :func:`live_view` over a :class:`LiveFigure`: the figure is built once; a change updates its artists in
  place (``set_data``, ``set_offsets``, ``set_UVC``, ``set_text``) and redraws either the whole canvas or,
  where only a few artists move, only those over the saved rest ("blitting"). This is what keeps a dragged
  slider under 100 ms.
"""

from __future__ import annotations

import base64
import io
import math
import time
from collections.abc import Callable, Mapping, Sequence

import ipywidgets as w
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from course_gen.plotting import figure_to_png

__all__ = ["BACKLOG_GAP_S", "FigureBox", "FreshTicks", "LiveFigure", "figure_view", "live_view"]

#: Play ticks closer together than this (seconds) were queued while the kernel was busy: dropped.
BACKLOG_GAP_S = 0.05


class FigureBox(w.VBox):
    """A ``VBox`` whose display also carries its current picture as ``image/png``.

    With a kernel, JupyterLab, Notebook 7 and VS Code draw the live widget (its MIME type ranks
    first); a reader without one (GitHub, nbconvert, a static site) sees the saved frame instead.
    """

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        bundle["image/png"] = base64.b64encode(self.image.value).decode("ascii")
        return bundle


def _box(image: w.Image, controls: Mapping[str, w.Widget], others: Mapping[str, w.Widget] | None,
         rows: Sequence[Sequence[w.Widget]] | None) -> FigureBox:
    """``rows`` of widgets (one ``HBox`` a row; by default all in one row) above ``image``; every
    control and other widget is an attribute of the box under its key, the picture is ``box.image``."""
    others = dict(others or {})
    rows = rows if rows is not None else [[*controls.values(), *others.values()]]
    box = FigureBox([*(w.HBox(list(row)) for row in rows), image])
    for name, widget in {**controls, **others}.items():
        setattr(box, name, widget)
    box.image = image
    return box


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
    image = w.Image(format="png", layout=w.Layout(max_width=max_width))

    def redraw(_change=None) -> None:
        image.value = figure_to_png(draw(), close=True)

    for control in controls.values():
        control.observe(redraw, names="value")
    redraw()
    return _box(image, controls, others, rows)


class LiveFigure:
    """A figure built once and redrawn in place; :meth:`png` gives the current picture.

    Without ``moving`` artists every :meth:`png` draws the whole figure (its artists updated beforehand).
    With them, they are marked ``animated`` so a full draw leaves them out: the first :meth:`png` draws the
    rest and keeps it, each later call restores it and draws only the moving artists on top ("blitting").
    Call :meth:`invalidate` after changing something that is not moving (a title, axis limits). Saving the
    figure (``fig.savefig``) draws everything as usual. The picture is the figure's own pixel size
    (``figsize * dpi``), shown 1:1 by :func:`live_view`.
    """

    def __init__(self, figure: Figure, moving=()):
        if not isinstance(figure, Figure):
            raise TypeError(f"figure must be a matplotlib Figure, got {type(figure).__name__}")
        self.figure, self.moving = figure, list(moving)
        self.canvas = FigureCanvasAgg(figure)
        for artist in self.moving:
            artist.set_animated(True)
        self._background = None

    def invalidate(self) -> None:
        """Forget the saved background: the next :meth:`png` draws the whole figure again."""
        self._background = None

    def png(self) -> bytes:
        """The current picture as PNG bytes (fast compression: it is redrawn at every move)."""
        if self._background is None:
            self.canvas.draw()
            if self.moving:
                self._background = self.canvas.copy_from_bbox(self.figure.bbox)
        else:
            self.canvas.restore_region(self._background)
        for artist in self.moving:
            self.figure.draw_artist(artist)
        buffer = io.BytesIO()
        Image.fromarray(np.asarray(self.canvas.buffer_rgba())[..., :3]).save(buffer, format="png", compress_level=1)
        return buffer.getvalue()


def live_view(
    live: LiveFigure,
    controls: Mapping[str, w.Widget],
    update: Callable[[], None] | None = None,
    *,
    others: Mapping[str, w.Widget] | None = None,
    rows: Sequence[Sequence[w.Widget]] | None = None,
) -> FigureBox:
    """A :class:`FigureBox` of controls above ``live``'s picture, shown at its own pixel size.

    Whenever the ``value`` of one of ``controls`` changes, ``update()`` (if given) brings the figure's
    artists up to date and the picture is redrawn; a control's own observers registered before this call
    run first. ``others``, ``rows`` and the attributes are as in :func:`figure_view`.
    """
    if update is not None:
        update()
    width, height = live.canvas.get_width_height()
    image = w.Image(value=live.png(), format="png", layout=w.Layout(width=f"{width}px", height=f"{height}px"))

    def redraw(_change=None) -> None:
        if update is not None:
            update()
        image.value = live.png()

    for control in controls.values():
        control.observe(redraw, names="value")
    return _box(image, controls, others, rows)


class FreshTicks:
    """A play button's observer that calls ``action()`` per tick, dropping ticks that queued up while the
    kernel was busy (they arrive back to back, less than ``BACKLOG_GAP_S`` apart), so pausing stops at once."""

    def __init__(self, action: Callable[[], None]):
        self.action, self.last = action, -math.inf

    def __call__(self, change) -> None:
        backlog = time.monotonic() - self.last < BACKLOG_GAP_S
        if change["new"] > change["old"] and not backlog:
            self.action()
        self.last = time.monotonic()
