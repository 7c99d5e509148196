"""The one pattern every course widget follows: controls above a picture that redraws.

:func:`live_view` over a :class:`LiveFigure`: the figure is built once; a change updates its artists in
place (``set_data``, ``set_offsets``, ``set_UVC``, ``set_text``) and redraws either the whole canvas or,
where only a few artists move, only those over the saved rest ("blitting"). This is what keeps a dragged
slider under 100 ms. :class:`KeptLiveFigure` also keeps the pictures of settings seen before, and
  :class:`TextStamps` draws many short labels as one artist (a Text artist costs about 0.5 ms to draw).
"""

from __future__ import annotations

import base64
import functools
import io
import math
import time
from collections.abc import Callable, Hashable, Mapping, Sequence

import ipywidgets as w
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PathCollection
from matplotlib.colors import to_rgba_array
from matplotlib.figure import Figure
from matplotlib.path import Path
from matplotlib.textpath import TextPath
from matplotlib.transforms import Affine2D, Bbox
from PIL import Image

from course_gen._checks import check_choice, check_finite_number, check_int, check_positive_number

__all__ = ["BACKLOG_GAP_S", "FigureBox", "FreshTicks", "KeptLiveFigure", "LiveFigure", "TextStamps", "live_view"]

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


class KeptLiveFigure(LiveFigure):
    """A :class:`~course_gen.widgets._figure_view.LiveFigure` that keeps what it drew, for settings seen before.

    ``key()`` (optional): the settings the picture depends on (hashable). :meth:`png` draws the picture of a
    key once and keeps the last ``size`` of them with their pixel sizes; whoever updates the figure may skip
    keys already kept (``key in kept``). ``background_key()`` (optional, with ``moving`` artists): the
    settings of the static part; its saved background is kept per key and reused when that key comes back
    (a new key draws the whole figure once), so no one needs to call :meth:`invalidate` for it.
    """

    def __init__(self, figure: Figure, moving=(), key: Callable[[], Hashable] | None = None,
                 background_key: Callable[[], Hashable] | None = None, size: int = 128):
        for name, function in (("key", key), ("background_key", background_key)):
            if function is not None and not callable(function):
                raise TypeError(f"{name} must be a function giving the settings shown, got {type(function).__name__}")
        super().__init__(figure, moving)
        self.key, self.background_key, self.size = key, background_key, check_int("size", size, minimum=1)
        self._kept: dict[Hashable, tuple[bytes, tuple[int, int]]] = {}
        self._backgrounds: dict[Hashable, object] = {}
        self._drawn_on = None  # the background key of the saved background

    def __contains__(self, key) -> bool:
        return key in self._kept

    def png(self) -> bytes:
        """The current picture, PNG bytes (drawn now unless its key's picture is kept)."""
        key = self.key() if self.key is not None else None
        if key is not None and key in self._kept:
            return self._kept[key][0]
        if self.background_key is not None:
            background = self.background_key()
            if background != self._drawn_on:
                self._background, self._drawn_on = self._backgrounds.get(background), background
        png = super().png()
        if self.background_key is not None:
            self._backgrounds[self._drawn_on] = self._background
        if key is not None:
            if len(self._kept) >= self.size:
                del self._kept[next(iter(self._kept))]  # the oldest
            self._kept[key] = png, self.canvas.get_width_height()
        return png

    def size_px(self) -> tuple[int, int]:
        """Width and height in pixels of the current picture."""
        key = self.key() if self.key is not None else None
        return self._kept[key][1] if key in self._kept else self.canvas.get_width_height()


@functools.lru_cache(maxsize=1024)
def _outline(text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The vertices, codes and extents ((x0, y0), (x1, y1)) of ``text``'s outline at 1 point."""
    path = TextPath((0, 0), text, size=1)
    extents = path.get_extents().get_points() if len(path.vertices) else np.zeros((2, 2))
    return path.vertices, path.codes, extents


def _glyphs(text: str, size: float, ha: str, va: str, shift: tuple[float, float]) -> Path:
    """The outline of ``text`` at ``size`` points, in points, aligned at the origin as ``ha``/``va`` say and
    moved by ``shift`` points (scaled from the outline at 1 point, made once per text)."""
    vertices, codes, ((x0, y0), (x1, y1)) = _outline(text)
    dx = {"left": -x0, "center": -(x0 + x1) / 2, "right": -x1}[ha] * size + shift[0]
    dy = {"bottom": -y0, "center": -(y0 + y1) / 2, "top": -y1}[va] * size + shift[1]
    return Path(vertices * size + (dx, dy), codes)


class TextStamps(PathCollection):
    """Many short texts on ``ax`` drawn as one collection of glyph outlines: one draw call instead of one per
    text (a Text artist costs about half a millisecond to draw, 100 numbers would cost 50 ms).

    :meth:`show` writes ``texts`` at ``positions`` (in ``offset_transform``, by default data coordinates),
    aligned by ``ha``/``va`` and moved by ``shift`` points; the texts written are in :attr:`texts`.
    """

    def __init__(self, ax, ha: str = "center", va: str = "center", offset_transform=None, shift=(0.0, 0.0)):
        if not isinstance(ax, Axes):
            raise TypeError(f"ax must be matplotlib Axes, got {type(ax).__name__}")
        check_choice("ha", ha, ("left", "center", "right"))
        check_choice("va", va, ("bottom", "center", "top"))
        if isinstance(shift, (str, bytes)) or np.shape(shift) != (2,):
            raise ValueError(f"shift must be two numbers (points right, points up), got {shift!r}")
        shift = tuple(check_finite_number("shift", v) for v in shift)
        super().__init__([], offsets=np.empty((0, 2)), linewidths=0,
                         offset_transform=ax.transData if offset_transform is None else offset_transform,
                         transform=Affine2D().scale(1 / 72) + ax.figure.dpi_scale_trans)  # paths in points
        self.ha, self.va, self.shift, self.texts = ha, va, tuple(shift), []
        ax.add_collection(self, autolim=False)
        self.set_clip_on(False)

    def show(self, texts, positions, size: float, colours="black") -> None:
        """Write ``texts`` at ``positions`` ((N, 2)) in ``size`` points, in ``colours`` (one or one per text)."""
        self.texts = [str(t) for t in texts]
        positions = np.asarray(positions, dtype=float)
        if positions.shape != (len(self.texts), 2) and not (positions.size == 0 and not self.texts):
            raise ValueError(f"positions must be one (x, y) per text, {len(self.texts)} x 2, got shape {positions.shape}")
        size = check_positive_number("size", size)
        try:
            colours = to_rgba_array(colours)
        except (TypeError, ValueError):
            raise ValueError(f"colours must be a matplotlib colour or one per text, got {colours!r:.80}") from None
        if len(colours) not in (1, len(self.texts)):
            raise ValueError(f"colours must be one colour or one per text ({len(self.texts)}), got {len(colours)}")
        self.set_paths([_glyphs(t, size, self.ha, self.va, self.shift) for t in self.texts])
        self.set_offsets(positions.reshape(-1, 2))
        self.set_facecolor(colours)

    def get_window_extent(self, renderer=None) -> Bbox:
        """The box around every glyph in pixels (layout engines and tight bounding boxes see the texts)."""
        scale = self.axes.figure.dpi / 72
        offsets = self.get_offset_transform().transform(self.get_offsets())
        boxes = [Bbox(path.get_extents().get_points() * scale + offset)
                 for path, offset in zip(self.get_paths(), offsets) if len(path.vertices)]
        return Bbox.union(boxes) if boxes else Bbox.null()

    def get_tightbbox(self, renderer=None) -> Bbox:
        return self.get_window_extent(renderer)


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
    run first. ``others`` are widgets shown but not observed (a ``Play`` driving a slider, say); ``rows`` lays
    the widgets out, one ``HBox`` a row (by default all in one row). Every control and other widget is an
    attribute of the box under its key, and the picture is ``box.image``.
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
