"""A viewer for the masks of autoregressive models: MADE's layer masks and masked convolutions.

- :func:`draw_made_masks`: every layer's mask ``M[k', k] = 1 if m(k') >= m(k)`` (``>`` for the
  output layer), labelled with the units' degrees, and the product of all masks: the number of
  paths from input k to output d, zero unless k comes before d in the ordering.
- :func:`draw_conv_masks`: the (k x k) masks of type A and B; with colour, one mask per pair
  (output colour group, input colour group): R before G before B at the centre pixel.
- :func:`mask_viewer`: both, with controls. Its figure holds the panels of every view, built once
  (:class:`MaskViewer`); a change shows the view's panels and updates their images, ticks and numbers
  in place (``live_view``).
"""

from __future__ import annotations

import functools

import ipywidgets as w
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from course_gen._checks import check_bool, check_choice, check_int
from course_gen.autoregressive import MASK_TYPES, MaskedConv2d, made_degrees, made_masks
from course_gen.widgets._figure_view import FigureBox, KeptLiveFigure, TextStamps, live_view

__all__ = ["draw_conv_masks", "draw_made_masks", "mask_viewer", "MaskViewer", "ORDERINGS", "VIEWS"]

#: Orderings :func:`draw_made_masks` offers.
ORDERINGS = ("natural", "random")
#: What :func:`mask_viewer` shows.
VIEWS = ("MADE", "masked convolution")
#: Dots per inch of the viewer's picture: shown at its own size (1 px : 1 px).
DPI = 80
#: The viewer's range of inputs D (MADE has two hidden layers of 2 D units) and kernel sizes.
VIEWER_INPUTS, VIEWER_KERNELS = (2, 10), (3, 5, 7)

_MASK_COLOURS = ListedColormap(["#f2f2f2", "#1f5fa8"])
_COLOUR_NAMES = ("R", "G", "B")


def _ordering(n_inputs: int, ordering: str, seed: int):
    check_choice("ordering", ordering, ORDERINGS)
    if ordering == "natural":
        return None
    return torch.randperm(n_inputs, generator=torch.Generator().manual_seed(seed))


def _cell_points(ax, rows: int, cols: int) -> float:
    """The side in points of one cell of a (rows x cols) picture filling ``ax``'s box (equal aspect)."""
    box = ax.get_position(original=True)
    width, height = ax.figure.get_size_inches()
    return 72 * min(box.width * width / cols, box.height * height / rows)


def _set_picture(image, picture: np.ndarray) -> None:
    """New data for ``image`` (any shape): extent and axes limits follow, one unit per cell."""
    rows, cols = picture.shape
    image.set_data(picture)
    image.set_extent((-0.5, cols - 0.5, rows - 0.5, -0.5))
    image.axes.set_xlim(-0.5, cols - 0.5)
    image.axes.set_ylim(rows - 0.5, -0.5)


class _CellLabels:
    """Labels left of every row and under every column of a picture on ``ax``, like tick labels (cheaper)."""

    def __init__(self, ax):
        self.ax = ax
        self.rows = TextStamps(ax, "right", "center", ax.get_yaxis_transform(), shift=(-3.5, 0))
        self.cols = TextStamps(ax, "center", "top", ax.get_xaxis_transform(), shift=(0, -3.5))
        ax.set_xticks([])
        ax.set_yticks([])

    def show(self, row_labels, col_labels) -> None:
        """Label the rows and columns, as large as the cells allow (at most 11 points)."""
        size = min(11.0, 0.8 * _cell_points(self.ax, len(row_labels), len(col_labels)))
        self.rows.show(row_labels, [(0, row) for row in range(len(row_labels))], size)
        self.cols.show(col_labels, [(col, 0) for col in range(len(col_labels))], size)


class _MadePanels:
    """:func:`draw_made_masks`' panels on ``axes`` (one per layer mask, then the product): built once,
    redrawn by :meth:`show` for any number of inputs up to ``max_inputs``, hidden sizes and ordering."""

    def __init__(self, axes, max_inputs: int):
        self.axes = list(axes)
        self.images = [ax.imshow(np.zeros((1, 1)), cmap=_MASK_COLOURS, vmin=0, vmax=1, interpolation="nearest")
                       for ax in self.axes[:-1]]
        product = self.axes[-1]
        self.product = product.imshow(np.zeros((1, 1)), cmap="Blues", interpolation="nearest")
        self.numbers = TextStamps(product)
        self.max_inputs = max_inputs
        self.labels = [_CellLabels(ax) for ax in self.axes]
        product.set_title("paths input -> output\n(sorted by the ordering)", fontsize=13, y=1.0)

    def show(self, n_inputs: int, hidden_sizes, ordering: str, seed: int) -> None:
        """Masks for ``n_inputs`` inputs (at most ``max_inputs``), ``hidden_sizes`` (one per hidden panel)."""
        n_inputs = check_int("n_inputs", n_inputs, minimum=2, maximum=self.max_inputs)
        seed = check_int("seed", seed, minimum=0)
        degrees = made_degrees(n_inputs, hidden_sizes, _ordering(n_inputs, ordering, seed), seed)
        masks = made_masks(degrees)
        if len(masks) != len(self.images):
            raise ValueError(f"these panels show {len(self.images) - 1} hidden layers, got {len(masks) - 1}")
        layer_names = [f"h{l}" for l in range(1, len(masks))] + ["output"]
        below_names = ["input"] + layer_names[:-1]
        for index, (image, mask) in enumerate(zip(self.images, masks)):
            last = index == len(masks) - 1
            _set_picture(image, mask.numpy())
            image.axes.set_title(f"{below_names[index]} -> {layer_names[index]}\n"
                                 f"M = [m(out) {'>' if last else '>='} m(in)]", fontsize=13, y=1.0)
            self.labels[index].show(degrees[0 if last else index + 1].tolist(), degrees[index].tolist())
        product = masks[-1]
        for mask in reversed(masks[:-1]):
            product = product @ mask
        order = torch.argsort(degrees[0])
        self._show_product(product[order][:, order].numpy(), [f"x{int(k)}" for k in order])

    def _show_product(self, paths: np.ndarray, labels) -> None:
        """The path counts (sorted by the ordering) as colours and numbers (white on the darker half)."""
        _set_picture(self.product, paths)
        top = float(paths.max())
        self.product.set_clim(float(paths.min()), top)
        self.labels[-1].show(labels, labels)
        size = min(11.0, 0.45 * _cell_points(self.product.axes, *paths.shape))
        cells = list(np.ndenumerate(paths))
        self.numbers.show([f"{int(value)}" for _, value in cells], [(col, row) for (row, col), _ in cells], size,
                          ["white" if value > top / 2 else "black" for _, value in cells])


def draw_made_masks(n_inputs: int = 5, hidden_sizes=(8, 8), ordering: str = "natural", seed: int = 0):
    """MADE's masks for ``n_inputs`` inputs and the given hidden layers, and their product.

    Tick labels are the degrees m (inputs: their position in the ordering). The last panel is
    ``M_out ... M_1``: entry (d, k) counts the paths from input k to output d; it is zero unless
    ``m(k) < m(d)``, i.e. strictly lower triangular once rows and columns are sorted by degree.
    """
    n_inputs = check_int("n_inputs", n_inputs, minimum=2, maximum=32)
    seed = check_int("seed", seed, minimum=0)
    check_choice("ordering", ordering, ORDERINGS)
    degrees = made_degrees(n_inputs, hidden_sizes)  # checks hidden_sizes
    fig, axes = plt.subplots(1, len(degrees) + 1, figsize=(3.4 * (len(degrees) + 1), 4.2))  # masks and product
    _MadePanels(axes, n_inputs).show(n_inputs, hidden_sizes, ordering, seed)
    fig.text(0.5, -0.02, _MADE_NOTE, ha="center", fontsize=12)
    fig.tight_layout()
    return fig


_MADE_NOTE = "rows: units of the layer above (degree on the left); columns: units below"


@functools.lru_cache(maxsize=16)
def _conv_masks(kernel_size: int, colour: bool, mask_type: str) -> np.ndarray:
    """(out, in, k, k) mask of a MaskedConv2d with one channel per colour group."""
    channels = 3 if colour else 1
    return MaskedConv2d(channels, channels, kernel_size, mask_type, groups=channels).mask.numpy()


class _ConvPanels:
    """:func:`draw_conv_masks`' panels: ``axes[type][out group][in group]`` (1 x 1 or 3 x 3 per type), each
    mask with its centre framed in red; built once, redrawn by :meth:`show` for any kernel size."""

    def __init__(self, axes, colour: bool):
        self.axes, self.colour = axes, colour
        self.images, self.centres = [], []
        for grid in axes:
            for out_group, row in enumerate(grid):
                for in_group, ax in enumerate(row):
                    self.images.append(ax.imshow(np.zeros((1, 1)), cmap=_MASK_COLOURS, vmin=0, vmax=1,
                                                 interpolation="nearest"))
                    self.centres.append(ax.add_patch(Rectangle((0, 0), 1, 1, fill=False, edgecolor="red",
                                                               linewidth=1.5)))
                    ax.set_xticks([])
                    ax.set_yticks([])
                    if colour and out_group == 0:
                        ax.set_title(f"in {_COLOUR_NAMES[in_group]}", fontsize=12, y=1.0)
                    if colour and in_group == 0:
                        ax.set_ylabel(f"out {_COLOUR_NAMES[out_group]}", fontsize=12)

    def show(self, kernel_size: int) -> None:
        """The masks of a ``kernel_size`` masked convolution."""
        centre = kernel_size // 2
        pictures = [mask for mask_type in MASK_TYPES for row in _conv_masks(kernel_size, self.colour, mask_type)
                    for mask in row]
        for image, rectangle, picture in zip(self.images, self.centres, pictures):
            _set_picture(image, picture)
            rectangle.set_xy((centre - 0.5, centre - 0.5))


def _type_title(mask_type: str) -> str:
    return f"type {mask_type}" + (" (first layer)" if mask_type == "A" else " (later layers)")


def draw_conv_masks(kernel_size: int = 5, colour: bool = False):
    """The masks of type A and B for a ``kernel_size`` masked convolution.

    Grey-level: one (k x k) mask per type (the centre framed in red). Colour: per type a 3 x 3
    grid of masks, row = output colour group, column = input colour group; they differ only at
    the centre, where output G sees input R (A and B) and G itself (B only).
    """
    kernel_size = check_int("kernel_size", kernel_size, minimum=1, maximum=11)
    check_bool("colour", colour)
    _conv_masks(kernel_size, colour, "A")  # checks the kernel size
    channels = 3 if colour else 1
    fig = plt.figure(figsize=(8.5, 4.4) if colour else (6.0, 3.2))
    outer = fig.add_gridspec(1, 2, wspace=0.25)
    axes = []
    for column, mask_type in enumerate(MASK_TYPES):
        inner = outer[column].subgridspec(channels, channels, wspace=0.15, hspace=0.3)
        axes.append([[fig.add_subplot(inner[o, i]) for i in range(channels)] for o in range(channels)])
        fig.text(0.30 + 0.43 * column, 0.98 if colour else 1.0, _type_title(mask_type), ha="center", fontsize=14)
    _ConvPanels(axes, colour).show(kernel_size)
    return fig


class MaskViewer:
    """The state of :func:`mask_viewer`: one figure holding the panels of every view, built once.

    The MADE panels (input -> h1, h1 -> h2, h2 -> output with hidden layers of 2 D units, and the
    paths), the grey-level masks of type A and B, and their colour versions (3 x 3 per type) share one
    canvas; :meth:`show` makes one view visible and updates it in place. :meth:`png` renders the
    picture at its own size (``DPI``); the pictures of settings seen before are kept (:class:`KeptLiveFigure`).
    """

    def __init__(self):
        fig = Figure(figsize=(11, 4.0), dpi=DPI)
        self.made = _MadePanels([fig.add_axes((0.035 + 0.245 * k, 0.13, 0.2, 0.62)) for k in range(4)],
                                VIEWER_INPUTS[1])
        self.made_note = fig.text(0.5, 0.02, _MADE_NOTE, ha="center", fontsize=12)
        self.grey = _ConvPanels([[[fig.add_axes((left, 0.05, 0.25, 0.7))]] for left in (0.175, 0.575)], False)
        self.colour = _ConvPanels([self._colour_grid(fig, left) for left in (0.12, 0.58)], True)
        self.type_titles = [fig.text(centre, 0.88, _type_title(t), ha="center", fontsize=14)
                            for centre, t in zip((0.3, 0.7), MASK_TYPES)]
        self.settings = ()
        # the MADE panels' pictures, labels, numbers and frames move over the titles, kept per view and size
        made = self.made
        self.moving = [*made.images, made.product, *(s for labels in made.labels for s in (labels.rows, labels.cols)),
                       made.numbers, *(spine for ax in made.axes for spine in ax.spines.values())]
        self.figure = fig
        self.live = KeptLiveFigure(fig, self.moving, key=lambda: self.settings,
                                   background_key=lambda: self.settings[:2] if self.settings[0] == "MADE" else self.settings)
        self.show()

    @staticmethod
    def _colour_grid(fig, left: float):
        grid = fig.add_gridspec(3, 3, left=left, right=left + 0.3, bottom=0.03, top=0.76, wspace=0.15, hspace=0.3)
        return [[fig.add_subplot(grid[o, i]) for i in range(3)] for o in range(3)]

    def show(self, view: str = "MADE", n_inputs: int = 5, ordering: str = "natural", seed: int = 0,
             kernel_size: int = 5, colour: bool = False) -> None:
        """Show ``view`` (:data:`VIEWS`): MADE with ``n_inputs``, ``ordering`` and ``seed``, or the masked
        convolution of ``kernel_size`` (3, 5 or 7), per colour group with ``colour``."""
        check_choice("view", view, VIEWS)
        n_inputs = check_int("n_inputs", n_inputs, minimum=VIEWER_INPUTS[0], maximum=VIEWER_INPUTS[1])
        check_choice("ordering", ordering, ORDERINGS)
        seed = check_int("seed", seed, minimum=0, maximum=2**31 - 1)
        if check_int("kernel_size", kernel_size, minimum=3, maximum=7) not in VIEWER_KERNELS:
            raise ValueError(f"kernel_size must be one of {VIEWER_KERNELS}, got {kernel_size}")
        check_bool("colour", colour)
        self.settings = (view, n_inputs, ordering, seed) if view == "MADE" else (view, kernel_size, colour)
        if self.settings in self.live:
            return  # drawn before: png() gives the kept picture
        conv = self.colour if colour else self.grey
        if view == "MADE":
            self.made.show(n_inputs, (2 * n_inputs, 2 * n_inputs), ordering, seed)
        else:
            conv.show(kernel_size)
        for panels, shown in ((self.made, view == "MADE"), (self.grey, view != "MADE" and conv is self.grey),
                              (self.colour, view != "MADE" and conv is self.colour)):
            for ax in np.ravel(panels.axes):
                ax.set_visible(shown)
        for artist in self.moving:  # drawn over the background whatever their axes say
            artist.set_visible(view == "MADE")
        self.made_note.set_visible(view == "MADE")
        for text in self.type_titles:
            text.set_visible(view != "MADE")

    def png(self) -> bytes:
        """The current picture, PNG bytes."""
        return self.live.png()


def mask_viewer(n_inputs: int = 5, kernel_size: int = 5) -> FigureBox:
    """Masks of MADE (layer masks and their product) or of masked convolutions (types A and B).

    Attributes for tests and notebooks: ``view`` ("MADE" or "masked convolution"), ``n_inputs``,
    ``ordering`` ("natural"/"random"), ``seed`` (MADE's degrees and random ordering),
    ``kernel_size``, ``colour`` (per colour group), ``viewer`` (the state, :class:`MaskViewer`) and
    ``image`` (the picture).
    """
    n_inputs = check_int("n_inputs", n_inputs, minimum=2, maximum=10)
    kernel_size = check_int("kernel_size", kernel_size, minimum=3, maximum=7)
    view = w.ToggleButtons(options=VIEWS, value="MADE", description="masks of")
    inputs = w.IntSlider(value=n_inputs, min=2, max=10, description="inputs D", continuous_update=False)
    ordering = w.ToggleButtons(options=ORDERINGS, value="natural", description="ordering")
    seed = w.IntSlider(value=0, min=0, max=20, description="seed", continuous_update=False)
    kernel = w.Dropdown(options=VIEWER_KERNELS, value=kernel_size if kernel_size in VIEWER_KERNELS else 5,
                        description="kernel")
    colour = w.Checkbox(value=False, description="colour (R, G, B groups)")
    viewer = MaskViewer()

    def update() -> None:
        viewer.show(view.value, inputs.value, ordering.value, seed.value, kernel.value, colour.value)

    controls = {"view": view, "n_inputs": inputs, "ordering": ordering, "seed": seed,
                "kernel_size": kernel, "colour": colour}
    box = live_view(viewer.live, controls, update, rows=[[view], [inputs, ordering, seed], [kernel, colour]])
    box.viewer = viewer
    return box
