"""Helpers of the widget tests: a picture's pixels, a figure drawn whole, the picture shown at its size."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image


def pixels(png: bytes) -> np.ndarray:
    """The picture's RGB pixels, ``(height, width, 3)``."""
    return np.asarray(Image.open(io.BytesIO(bytes(png))).convert("RGB"))


def fully_drawn(live) -> np.ndarray:
    """The figure of ``live`` (a ``LiveFigure``) drawn whole, every artist in its own order (no background
    kept), as RGB pixels; afterwards ``live`` blits again from a fresh background."""
    for artist in live.moving:
        artist.set_animated(False)
    try:
        live.canvas.draw()
        return np.asarray(live.canvas.buffer_rgba())[..., :3].copy()
    finally:
        for artist in live.moving:
            artist.set_animated(True)
        live.invalidate()


def assert_shown_at_its_size(box) -> None:
    """The picture is shown 1:1 (the image's layout size is the PNG's pixel size), no wider than 900 px, and
    the widget's display carries it as its static frame."""
    height, width = pixels(box.image.value).shape[:2]
    assert (box.image.layout.width, box.image.layout.height) == (f"{width}px", f"{height}px")
    assert width <= 900
    assert base64.b64decode(box._repr_mimebundle_()["image/png"]) == bytes(box.image.value)
