"""A viewer for the masks of autoregressive models: MADE's layer masks and masked convolutions.

- :func:`draw_made_masks`: every layer's mask ``M[k', k] = 1 if m(k') >= m(k)`` (``>`` for the
  output layer), labelled with the units' degrees, and the product of all masks: the number of
  paths from input k to output d, zero unless k comes before d in the ordering.
- :func:`draw_conv_masks`: the (k x k) masks of type A and B; with colour, one mask per pair
  (output colour group, input colour group): R before G before B at the centre pixel.
- :func:`mask_viewer`: both, with controls (built with ``figure_view``).
"""

from __future__ import annotations

import ipywidgets as w
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.colors import ListedColormap

from course_gen._checks import check_bool, check_choice, check_int
from course_gen.autoregressive import MASK_TYPES, MaskedConv2d, made_degrees, made_masks
from course_gen.widgets._figure_view import figure_view

__all__ = ["ORDERINGS", "VIEWS", "draw_conv_masks", "draw_made_masks", "mask_viewer"]

#: Orderings :func:`draw_made_masks` offers.
ORDERINGS = ("natural", "random")
#: What :func:`mask_viewer` shows.
VIEWS = ("MADE", "masked convolution")

_MASK_COLOURS = ListedColormap(["#f2f2f2", "#1f5fa8"])
_COLOUR_NAMES = ("R", "G", "B")


def _ordering(n_inputs: int, ordering: str, seed: int):
    check_choice("ordering", ordering, ORDERINGS)
    if ordering == "natural":
        return None
    return torch.randperm(n_inputs, generator=torch.Generator().manual_seed(seed))


def _show_mask(ax, mask: torch.Tensor, title: str, row_labels, col_labels) -> None:
    ax.imshow(mask.numpy(), cmap=_MASK_COLOURS, vmin=0, vmax=1, interpolation="nearest")
    ax.set_title(title, fontsize=13)
    ax.set_yticks(range(len(row_labels)), [str(v) for v in row_labels], fontsize=11)
    ax.set_xticks(range(len(col_labels)), [str(v) for v in col_labels], fontsize=11)
    ax.tick_params(length=0)


def draw_made_masks(n_inputs: int = 5, hidden_sizes=(8, 8), ordering: str = "natural", seed: int = 0):
    """MADE's masks for ``n_inputs`` inputs and the given hidden layers, and their product.

    Tick labels are the degrees m (inputs: their position in the ordering). The last panel is
    ``M_out ... M_1``: entry (d, k) counts the paths from input k to output d; it is zero unless
    ``m(k) < m(d)``, i.e. strictly lower triangular once rows and columns are sorted by degree.
    """
    n_inputs = check_int("n_inputs", n_inputs, minimum=2, maximum=32)
    seed = check_int("seed", seed, minimum=0)
    degrees = made_degrees(n_inputs, hidden_sizes, _ordering(n_inputs, ordering, seed), seed)
    masks = made_masks(degrees)
    product = masks[-1]
    for mask in reversed(masks[:-1]):
        product = product @ mask
    fig, axes = plt.subplots(1, len(masks) + 1, figsize=(3.4 * (len(masks) + 1), 4.2))
    layer_names = [f"h{l}" for l in range(1, len(masks))] + ["output"]
    below_names = ["input"] + layer_names[:-1]
    for index, (ax, mask) in enumerate(zip(axes, masks)):
        rule = ">" if index == len(masks) - 1 else ">="
        _show_mask(ax, mask, f"{below_names[index]} -> {layer_names[index]}\nM = [m(out) {rule} m(in)]",
                   degrees[index + 1 if index < len(masks) - 1 else 0].tolist(), degrees[index].tolist())
    order = torch.argsort(degrees[0])
    sorted_product = product[order][:, order]
    last = axes[-1]
    last.imshow(sorted_product.numpy(), cmap="Blues", interpolation="nearest")
    for (row, col), value in np.ndenumerate(sorted_product.numpy()):
        last.text(col, row, f"{int(value)}", ha="center", va="center", fontsize=11,
                  color="white" if value > sorted_product.max() / 2 else "black")
    labels = [f"x{int(k)}" for k in order]
    last.set_xticks(range(n_inputs), labels, fontsize=11)
    last.set_yticks(range(n_inputs), labels, fontsize=11)
    last.set_title("paths input -> output\n(sorted by the ordering)", fontsize=13)
    fig.text(0.5, -0.02, "rows: units of the layer above (degree on the left); columns: units below",
             ha="center", fontsize=12)
    fig.tight_layout()
    return fig


def _conv_masks(kernel_size: int, colour: bool, mask_type: str) -> torch.Tensor:
    """(out, in, k, k) mask of a MaskedConv2d with one channel per colour group."""
    channels = 3 if colour else 1
    return MaskedConv2d(channels, channels, kernel_size, mask_type, groups=channels).mask


def draw_conv_masks(kernel_size: int = 5, colour: bool = False):
    """The masks of type A and B for a ``kernel_size`` masked convolution.

    Grey-level: one (k x k) mask per type (the centre framed in red). Colour: per type a 3 x 3
    grid of masks, row = output colour group, column = input colour group; they differ only at
    the centre, where output G sees input R (A and B) and G itself (B only).
    """
    kernel_size = check_int("kernel_size", kernel_size, minimum=1, maximum=11)
    check_bool("colour", colour)
    channels = 3 if colour else 1
    centre = kernel_size // 2
    fig = plt.figure(figsize=(8.5, 4.4) if colour else (6.0, 3.2))
    outer = fig.add_gridspec(1, 2, wspace=0.25)
    for column, mask_type in enumerate(MASK_TYPES):
        masks = _conv_masks(kernel_size, colour, mask_type)
        inner = outer[column].subgridspec(channels, channels, wspace=0.15, hspace=0.3)
        for out_group in range(channels):
            for in_group in range(channels):
                ax = fig.add_subplot(inner[out_group, in_group])
                ax.imshow(masks[out_group, in_group].numpy(), cmap=_MASK_COLOURS, vmin=0, vmax=1,
                          interpolation="nearest")
                ax.add_patch(plt.Rectangle((centre - 0.5, centre - 0.5), 1, 1, fill=False, edgecolor="red",
                                           linewidth=1.5))
                ax.set_xticks([])
                ax.set_yticks([])
                if colour:
                    if out_group == 0:
                        ax.set_title(f"in {_COLOUR_NAMES[in_group]}", fontsize=12)
                    if in_group == 0:
                        ax.set_ylabel(f"out {_COLOUR_NAMES[out_group]}", fontsize=12)
        fig.text(0.30 + 0.43 * column, 0.98 if colour else 1.0,
                 f"type {mask_type}" + (" (first layer)" if mask_type == "A" else " (later layers)"),
                 ha="center", fontsize=14)
    return fig


def mask_viewer(n_inputs: int = 5, kernel_size: int = 5) -> w.VBox:
    """Masks of MADE (layer masks and their product) or of masked convolutions (types A and B).

    Attributes for tests and notebooks: ``view`` ("MADE" or "masked convolution"), ``n_inputs``,
    ``ordering`` ("natural"/"random"), ``seed`` (MADE's degrees and random ordering),
    ``kernel_size``, ``colour`` (per colour group) and ``image`` (the PNG drawn last).
    """
    n_inputs = check_int("n_inputs", n_inputs, minimum=2, maximum=10)
    kernel_size = check_int("kernel_size", kernel_size, minimum=3, maximum=7)
    view = w.ToggleButtons(options=VIEWS, value="MADE", description="masks of")
    inputs = w.IntSlider(value=n_inputs, min=2, max=10, description="inputs D", continuous_update=False)
    ordering = w.ToggleButtons(options=ORDERINGS, value="natural", description="ordering")
    seed = w.IntSlider(value=0, min=0, max=20, description="seed", continuous_update=False)
    kernel = w.Dropdown(options=[3, 5, 7], value=kernel_size if kernel_size in (3, 5, 7) else 5,
                        description="kernel")
    colour = w.Checkbox(value=False, description="colour (R, G, B groups)")

    def draw():
        if view.value == "MADE":
            return draw_made_masks(inputs.value, (2 * inputs.value, 2 * inputs.value), ordering.value, seed.value)
        return draw_conv_masks(kernel.value, colour.value)

    controls = {"view": view, "n_inputs": inputs, "ordering": ordering, "seed": seed,
                "kernel_size": kernel, "colour": colour}
    return figure_view(draw, controls, rows=[[view], [inputs, ordering, seed], [kernel, colour]])
