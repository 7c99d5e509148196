"""Checkers for the exercises of notebook 03 (autoregressive models, PixelCNN).

- :func:`check_made_mask`: MADE's mask rule between two layers of degrees;
- :func:`check_conv_mask`: the (k x k) mask of a type-A or type-B masked convolution;
- :func:`check_mask_type_question`: what type A in every layer does to a PixelCNN (a question);
- :func:`check_pixel_loss`: the negative log-likelihood of binary images from per-pixel logits;
- :func:`check_sampler`: a full sequential sampler for the package's PixelCNNs, driven by given
  uniforms (so that it is deterministic and can be compared pixel by pixel).

Each runs the student's function on cases with known answers, names the mistakes it
recognises (A and B swapped, an off-by-one in the row, > instead of >=, a mean instead of a
sum, a missing sigmoid, all pixels from one forward pass, ...) and returns a
:class:`~course_gen.exercises.Feedback`; none raises. An answer that hands the work to the
package's own implementation (``ar.conv_mask``, ``ar.made_masks``, ``ar.pixel_nll``,
``model.sample``, ...) or to a torch function that is the whole exercise earns nothing.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F

from course_gen import autoregressive as ar
from course_gen.runtime import seeded, single_thread
from course_gen.exercises._feedback import (
    Feedback,
    Mistake,
    answer,
    check_choice,
    expect_close,
    first_mistake,
    matches,
    run_checks,
)

__all__ = ["check_conv_mask", "check_made_mask", "check_mask_type_question", "check_pixel_loss", "check_sampler"]


def _as_float(got):
    """A tensor answer as float32 (masks may come back as bool or int); anything else unchanged."""
    return got.to(torch.float32) if isinstance(got, torch.Tensor) else got


# ============================================================================ MADE mask


def reference_made_mask(degrees_in: torch.Tensor, degrees_out: torch.Tensor, output: bool) -> torch.Tensor:
    """``M[k', k] = 1 if m_out(k') >= m_in(k)`` for hidden layers, ``>`` for the output layer."""
    if output:
        return (degrees_out[:, None] > degrees_in[None, :]).float()
    return (degrees_out[:, None] >= degrees_in[None, :]).float()


def _made_cases() -> list[tuple[torch.Tensor, torch.Tensor, bool]]:
    generator = torch.Generator().manual_seed(5)
    inputs = torch.randperm(6, generator=generator) + 1
    hidden = torch.randint(1, 6, (9,), generator=generator)
    hidden2 = torch.randint(1, 6, (7,), generator=generator)
    return [(inputs, hidden, False), (hidden, hidden2, False), (hidden2, inputs, True)]


def check_made_mask(fn) -> Feedback:
    """Check ``fn(degrees_in, degrees_out, output) -> mask`` of shape ``(len(out), len(in))``.

    Hidden layer (``output=False``): ``M[k', k] = 1 if m_out(k') >= m_in(k)``; output layer
    (``output=True``, ``degrees_out`` the input degrees): ``M[d, k] = 1 if m_in(d) > m_L(k)``.
    """

    def checks() -> None:
        made_mask = answer(fn, "made_mask", forbidden=[ar.made_masks, reference_made_mask])
        for degrees_in, degrees_out, output in _made_cases():
            got = _as_float(made_mask(degrees_in.clone(), degrees_out.clone(), output))
            expected = reference_made_mask(degrees_in, degrees_out, output)
            layer = "output layer" if output else "hidden layer"
            first_mistake(got, [
                (expected.T, f"{layer}: your mask is transposed: it has one ROW per unit of the layer above "
                             f"(shape ({len(degrees_out)}, {len(degrees_in)})), like the weight matrix"),
                (reference_made_mask(degrees_in, degrees_out, not output),
                 "the output layer needs a STRICT inequality m(d) > m(k) (output d must not see input d); "
                 "hidden layers use >=" if output else
                 "hidden layers use m(k') >= m(k) (a unit of degree m may see inputs 1..m); the strict > is "
                 "only for the output layer"),
                (1.0 - expected, f"{layer}: your inequality points the wrong way: a unit may see units of "
                                 "SMALLER or equal degree"),
            ], expected)
            expect_close(got, expected, f"{layer} mask")

    return run_checks("MADE mask rule", checks)


# ============================================================================ conv mask


def reference_conv_mask(kernel_size: int, mask_type: str) -> torch.Tensor:
    """Rows above the centre all ones, the centre row left of the centre ones, the centre 1 for B."""
    centre = kernel_size // 2
    mask = torch.zeros(kernel_size, kernel_size)
    mask[:centre, :] = 1
    mask[centre, :centre] = 1
    mask[centre, centre] = float(mask_type == "B")
    return mask


def _conv_mask_mistakes(kernel_size: int, mask_type: str) -> list[tuple[torch.Tensor, str]]:
    centre = kernel_size // 2
    other = "B" if mask_type == "A" else "A"
    right = reference_conv_mask(kernel_size, mask_type)
    row_too_low = torch.zeros(kernel_size, kernel_size)
    row_too_low[: centre + 1, :] = 1  # the whole centre row allowed
    row_too_high = torch.zeros(kernel_size, kernel_size)
    row_too_high[: centre - 1, :] = 1  # the row just above the centre forgotten
    row_too_high[centre, :centre] = 1
    shifted = torch.zeros(kernel_size, kernel_size)
    shifted[:centre, :] = 1
    shifted[centre, : centre + (mask_type == "B")] = 1
    shifted = torch.roll(shifted, 1, dims=0)
    shifted[0] = 0
    no_left = right.clone()
    no_left[centre, :centre] = 0
    return [
        (reference_conv_mask(kernel_size, other),
         f"you built a type-{other} mask: type A hides the centre pixel "
         "(first layer, the pixel must not see itself), type B shows it"),
        (right.T, "your mask is transposed: the allowed pixels are the rows ABOVE "
                  "the centre and the pixels LEFT of it on the centre row"),
        (row_too_low, "off by one in the row: the whole centre row is open, so the pixel sees pixels to its "
                      "right (the future); on the centre row only the pixels left of the centre are allowed"),
        (row_too_high, "off by one in the row: the row just above the centre is closed; every row above "
                       "the centre (indices 0 .. k//2 - 1) is allowed entirely"),
        (shifted, "off by one in the row: your pattern is shifted down by one row; rows 0 .. k//2 - 1 are "
                  "all ones and row k//2 holds the partial row"),
        (no_left, "the pixels left of the centre on the centre row are missing: they come before the "
                  "current pixel in raster order and must be visible"),
        (torch.flip(right, dims=(0, 1)), "your mask is flipped: it looks below and "
                                         "to the right (the future) instead of above and left"),
    ]


def check_conv_mask(fn) -> Feedback:
    """Check ``fn(kernel_size, mask_type) -> (k, k)`` float mask of a masked convolution.

    Expected: rows ``0 .. k//2 - 1`` all ones; on row ``k//2`` ones left of the centre; the centre
    0 for ``"A"`` and 1 for ``"B"``; zeros elsewhere. Tried for k = 3, 5, 7 and both types.
    """

    def checks() -> None:
        masked_conv_kernel = answer(fn, "masked_conv_kernel", forbidden=[ar.conv_mask, reference_conv_mask])
        for kernel_size in (3, 5, 7):
            for mask_type in ("A", "B"):
                got = _as_float(masked_conv_kernel(kernel_size, mask_type))
                expected = reference_conv_mask(kernel_size, mask_type)
                first_mistake(got, _conv_mask_mistakes(kernel_size, mask_type), expected)
                expect_close(got, expected, f"mask for k={kernel_size}, type {mask_type}")

    return run_checks("masked-convolution mask", checks)


# ============================================================================ question: type A everywhere

#: The options of the question "a PixelCNN with type A in every layer: what happens?" (3 layers, 3x3).
MASK_TYPE_OPTIONS = {
    "A": "output (i, j) sees x_ij after all: two type-A layers in a row cancel each other out",
    "B": "nothing changes: output (i, j) sees exactly the pixels it sees with type B after the first layer",
    "C": "still a valid autoregressive model, but output (i, j) no longer sees its nearest left neighbours "
         "x_(i,j-1) and x_(i,j-2): each extra type-A layer moves the field one pixel further away",
    "D": "the blind spot disappears: hiding the centre in every layer lets the pixels above-right reach (i, j)",
}
MASK_TYPE_WHY_NOT = {
    "A": "masks only remove paths, they never add any: a type-A feature at position q depends on the input "
         "strictly before q in raster order, and stacking such layers keeps it so; x_ij never reaches "
         "output (i, j), the model is still valid",
    "B": "the centre feature of a layer at (i, j) is what carries the pixels just left of (i, j) (the first "
         "layer read them); a type-A layer hides it, so those pixels have no path left: with 3 type-A layers "
         "output (i, j) no longer sees x_(i,j-1) and x_(i,j-2) (the gradient test of section 5 shows it)",
    "D": "masks only remove paths, they never add any: the pixels above-right stay out of reach, and with "
         "type A everywhere output (i, j) even loses part of the row above",
}


def check_mask_type_question(fn) -> Feedback:
    """``fn()`` returns the letter of the right option of :data:`MASK_TYPE_OPTIONS` ("C")."""
    return check_choice("type A in every layer (question)", fn, MASK_TYPE_OPTIONS, "C", MASK_TYPE_WHY_NOT)


# ============================================================================ per-pixel loss


def reference_pixel_loss(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``-sum_pixels [x log sigm(l) + (1 - x) log sigm(-l)]`` per image, shape (B,)."""
    return -(x * F.logsigmoid(logits) + (1 - x) * F.logsigmoid(-logits)).flatten(1).sum(dim=1)


def _loss_cases() -> list[tuple[torch.Tensor, torch.Tensor]]:
    generator = torch.Generator().manual_seed(3)
    logits = 2.0 * torch.randn(4, 1, 5, 5, generator=generator, dtype=torch.float64)
    x = (torch.rand(4, 1, 5, 5, generator=generator, dtype=torch.float64) < 0.4).to(torch.float64)
    logits2 = 3.0 * torch.randn(2, 1, 3, 4, generator=generator, dtype=torch.float64)
    x2 = (torch.rand(2, 1, 3, 4, generator=generator, dtype=torch.float64) < 0.5).to(torch.float64)
    return [(logits, x), (logits2, x2)]


def _loss_mistakes(logits: torch.Tensor, x: torch.Tensor) -> list[tuple[torch.Tensor, str]]:
    correct = reference_pixel_loss(logits, x)
    pixels = x[0].numel()
    probs_as_logits = logits.clamp(1e-6, 1 - 1e-6)
    no_sigmoid = -(x * torch.log(probs_as_logits) + (1 - x) * torch.log(1 - probs_as_logits)).flatten(1).sum(1)
    return [
        (-correct, "the sign is flipped: the loss is MINUS the log-likelihood, and must be >= 0"),
        (correct / pixels, "you averaged over the pixels: log p(x) = sum_i log p(x_i | x_<i), so the loss SUMS "
                           "the per-pixel cross-entropies of an image (nats per image)"),
        (correct / torch.log(torch.tensor(2.0, dtype=correct.dtype)),
         "that is in bits: the course reports nats (natural logarithm); divide by log 2 only for bits"),
        (no_sigmoid, "the sigmoid is missing: the network returns LOGITS l, and p(x_i = 1) = sigm(l); "
                     "use log sigm(l) and log sigm(-l) (torch.nn.functional.logsigmoid)"),
        ((-(x * F.logsigmoid(logits))).flatten(1).sum(1),
         "the (1 - x) log sigm(-l) term is missing: pixels that are off must be scored too"),
    ]


#: What does the whole loss exercise in one call (the package's and torch's binary cross-entropies).
_LOSS_FORBIDDEN = [ar.pixel_nll, reference_pixel_loss, F.binary_cross_entropy_with_logits,
                   torch.binary_cross_entropy_with_logits, F.binary_cross_entropy]


def check_pixel_loss(fn) -> Feedback:
    """Check ``fn(logits, x) -> (B,)``: ``-sum_pixels [x log sigm(l) + (1 - x) log sigm(-l)]`` in nats."""

    def checks() -> None:
        pixel_loss = answer(fn, "pixel_loss", forbidden=_LOSS_FORBIDDEN)
        for logits, x in _loss_cases():
            got = pixel_loss(logits.clone(), x.clone())
            expected = reference_pixel_loss(logits, x)
            if isinstance(got, torch.Tensor) and got.numel() == 1 and x.shape[0] > 1:
                if matches(got.reshape(()), expected.mean()) or matches(got.reshape(()), expected.sum()):
                    raise Mistake("you reduced over the batch: return one value per image, shape (B,)")
                raise Mistake(f"the loss should have one value per image, shape ({x.shape[0]},), got one number")
            if isinstance(got, torch.Tensor) and got.is_floating_point() and bool(torch.isnan(got).any()):
                raise Mistake("your loss has NaNs: did you take the log of the logits? The network returns "
                              "LOGITS l; p(x_i = 1) = sigm(l)")
            first_mistake(got, _loss_mistakes(logits, x), expected)
            expect_close(got, expected, "negative log-likelihood per image")

    return run_checks("per-pixel loss", checks)


# ============================================================================ the sequential sampler


def _sequential(model, u: torch.Tensor, order: str = "raster", rule: str = "sample") -> torch.Tensor:
    """Fill an all-zero image pixel by pixel, one network evaluation per pixel.

    ``order``: "raster" (row by row) or "columns" (column by column); ``rule``: "sample"
    (``u < sigm(l)``), "reversed" (``u > sigm(l)``), "threshold" (``sigm(l) > 1/2``), "no-sigmoid"
    (``u < l``). Only "raster" with "sample" is right; the others are the mistakes it names.
    """
    x = torch.zeros_like(u)
    _, _, height, width = u.shape
    if order == "raster":
        pixels = [(i, j) for i in range(height) for j in range(width)]
    else:
        pixels = [(i, j) for j in range(width) for i in range(height)]
    with torch.no_grad():
        for i, j in pixels:
            logit = model(x)[:, 0, i, j]
            if rule == "sample":
                value = u[:, 0, i, j] < torch.sigmoid(logit)
            elif rule == "reversed":
                value = u[:, 0, i, j] > torch.sigmoid(logit)
            elif rule == "threshold":
                value = torch.sigmoid(logit) > 0.5
            else:
                value = u[:, 0, i, j] < logit
            x[:, 0, i, j] = value.to(x.dtype)
    return x


def reference_sampler(model, u: torch.Tensor) -> torch.Tensor:
    """Raster order from an all-zero image: ``x_ij = 1 if u_ij < sigm(l_ij(x)) else 0``, the logits
    from ``model`` on the image filled so far (one network evaluation per pixel)."""
    return _sequential(model, u)


def _row_at_a_time(model, u: torch.Tensor) -> torch.Tensor:
    """The mistake of one network evaluation per ROW: a whole row drawn from the same logits."""
    x = torch.zeros_like(u)
    with torch.no_grad():
        for i in range(u.shape[2]):
            x[:, 0, i, :] = (u[:, 0, i, :] < torch.sigmoid(model(x)[:, 0, i, :])).to(x.dtype)
    return x


def _scaled(model: torch.nn.Module, gain: float) -> torch.nn.Module:
    """``model`` (in eval mode) with every parameter multiplied by ``gain``: at the default initialisation
    the logits barely depend on the image; scaled up, each pixel depends strongly on the earlier ones,
    so every wrong order or rule gives visibly different images."""
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.mul_(gain)
    return model.eval()


def sampler_cases() -> list[tuple[torch.nn.Module, torch.Tensor]]:
    """The checker's (model, uniforms) pairs: a 2-layer PixelCNN on 4 images of 8x8 and a 2-layer
    Gated PixelCNN on 3 images of 6x9 (not square, so rows and columns cannot be mixed up), both
    with seeded random weights scaled by 3, the uniforms seeded too."""
    cases = []
    for build, shape, seed in ((ar.PixelCNN, (4, 1, 8, 8), 1), (ar.GatedPixelCNN, (3, 1, 6, 9), 1)):
        with seeded(seed):
            model = _scaled(build(n_layers=2, hidden_channels=8, kernel_size=3), 3.0)
        u = torch.rand(shape, generator=torch.Generator().manual_seed(10 + seed))
        cases.append((model, u))
    return cases


def _sampler_mistakes(model, u: torch.Tensor) -> list[tuple[torch.Tensor, str]]:
    blank = torch.zeros_like(u)
    with torch.no_grad():
        one_pass = (u < torch.sigmoid(model(blank))).to(u.dtype)
        one_pass_on_u = (u < torch.sigmoid(model(u))).to(u.dtype)
    one_pass_message = (
        "all pixels come from ONE forward pass: the logits of pixel (i, j) depend on the pixels drawn before "
        "it, so after drawing each pixel put it into the image and evaluate the network again "
        "(H x W evaluations, one per pixel)")
    return [
        (one_pass, one_pass_message),
        (one_pass_on_u, one_pass_message),
        (_row_at_a_time(model, u),
         "you evaluate the network once per ROW and draw the whole row from those logits: pixel (i, j) "
         "also depends on the pixels to its left on row i, drawn in the same row; evaluate once per pixel"),
        (_sequential(model, u, rule="threshold"),
         "you take the most likely value (sigm(l) > 1/2, an argmax) instead of sampling: draw "
         "x_ij = 1 if u_ij < sigm(l_ij), so that P(x_ij = 1) = sigm(l_ij)"),
        (_sequential(model, u, rule="reversed"),
         "the comparison points the wrong way: x_ij = 1 if u_ij < sigm(l_ij) (P(u < p) = p for a uniform u); "
         "with u > sigm(l) a pixel is 1 with probability 1 - p"),
        (_sequential(model, u, rule="no-sigmoid"),
         "the sigmoid is missing: the network returns LOGITS l; compare u with p = sigm(l), not with l"),
        (_sequential(model, u, order="columns"),
         "you fill the image column by column: raster order is row by row (for i, then for j), and pixel "
         "(i, j) is conditioned on all of the rows above, which must be drawn first"),
    ]


def _first_difference(got: torch.Tensor, expected: torch.Tensor) -> str:
    batch, _, height, width = expected.shape
    wrong = (got != expected)[:, 0]
    index = int(wrong.reshape(batch, -1).any(dim=0).nonzero()[0])
    image = int(wrong[:, index // width, index % width].nonzero()[0])
    return (f"{int(wrong.sum())} of {expected.numel()} pixels differ from the reference sampler; the first in "
            f"raster order is pixel ({index // width}, {index % width}) of image {image}: expected "
            f"{int(expected[image, 0, index // width, index % width])}, got {int(got[image, 0, index // width, index % width])}")


def check_sampler(fn) -> Feedback:
    """Check ``fn(model, u) -> x`` (B, 1, H, W): starting from an all-zero image, in raster order,
    ``x_ij = 1 if u_ij < sigm(l_ij) else 0`` with ``l = model(x)`` evaluated on the image drawn so far.

    Tried on the two cases of :func:`sampler_cases` (a PixelCNN and a Gated PixelCNN of the package,
    small images); the result must equal the reference sampler's pixel for pixel. ``model.sample``
    and ``model.complete`` (which draw their own random numbers) earn nothing.
    """

    def checks() -> None:
        sample_pixels = answer(fn, "sample_pixels", forbidden=[ar._AutoregressiveImageModel._fill, reference_sampler])
        for model, u in sampler_cases():
            expected = reference_sampler(model, u)
            what = f"the images sampled by a {type(model).__name__} of shape {tuple(u.shape)}"
            got = sample_pixels(copy.deepcopy(model), u.clone())
            if not isinstance(got, torch.Tensor):
                raise Mistake(f"{what} should be a torch.Tensor, got {type(got).__name__}")
            if tuple(got.shape) != tuple(expected.shape):
                raise Mistake(f"{what} should have shape {tuple(expected.shape)} (like u), got {tuple(got.shape)}")
            got = got.detach().cpu().to(torch.float32)
            if not bool(torch.isfinite(got).all()):
                raise Mistake(f"{what} contain NaN or inf: pixels are 0 or 1")
            if not bool(((got == 0) | (got == 1)).all()):
                if bool(((got >= 0) & (got <= 1)).all()):
                    raise Mistake(f"{what} hold values between 0 and 1, not only 0s and 1s: you put the "
                                  "probabilities sigm(l) into the image; draw each pixel, x_ij = 1 if u_ij < sigm(l_ij)")
                raise Mistake(f"{what} should hold only 0s and 1s, got values in "
                              f"[{float(got.min()):.3g}, {float(got.max()):.3g}]")
            if matches(got, expected):
                continue
            again = sample_pixels(copy.deepcopy(model), u.clone())
            if isinstance(again, torch.Tensor) and not matches(again, got):
                raise Mistake("your sampler gives different images for the same u: it draws random numbers of "
                              "its own; use the given uniforms, x_ij = 1 if u_ij < sigm(l_ij)")
            first_mistake(got, _sampler_mistakes(model, u), expected)
            raise Mistake(_first_difference(got, expected))

    with single_thread():
        return run_checks("sequential PixelCNN sampler", checks)
