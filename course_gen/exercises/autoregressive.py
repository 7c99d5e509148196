"""Checkers for the exercises of notebook 03 (autoregressive models, PixelCNN).

- :func:`check_conv_mask`: the (k x k) mask of a type-A or type-B masked convolution;
- :func:`check_made_mask`: MADE's mask rule between two layers of degrees;
- :func:`check_pixel_loss`: the negative log-likelihood of binary images from per-pixel logits.

Each runs the student's function on cases with known answers, names the mistakes it
recognises (A and B swapped, an off-by-one in the row, > instead of >=, a mean instead of a
sum, a missing sigmoid, ...) and returns a :class:`~course_gen.exercises.Feedback`; none raises.
"""

from __future__ import annotations

import torch

from course_gen.autoregressive import conv_mask, pixel_nll
from course_gen.exercises._feedback import Feedback, Mistake, expect_close, run_checks

__all__ = ["check_conv_mask", "check_made_mask", "check_pixel_loss"]


def _same(got, value: torch.Tensor, atol: float = 1e-6) -> bool:
    """Whether ``got`` is a tensor with ``value``'s shape and values (a quiet test)."""
    if not isinstance(got, torch.Tensor) or tuple(got.shape) != tuple(value.shape):
        return False
    return bool(torch.allclose(got.detach().to("cpu", value.dtype), value, atol=atol, equal_nan=False))


def _diagnose(got, mistakes: list[tuple[torch.Tensor, str]]) -> None:
    """Raise :class:`Mistake` with the message of the first known wrong answer ``got`` equals."""
    for wrong, message in mistakes:
        if _same(got, wrong):
            raise Mistake(message)


# ============================================================================ conv mask


def _conv_mask_mistakes(kernel_size: int, mask_type: str) -> list[tuple[torch.Tensor, str]]:
    centre = kernel_size // 2
    other = "B" if mask_type == "A" else "A"
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
    no_left = conv_mask(kernel_size, mask_type).clone()
    no_left[centre, :centre] = 0
    return [
        (conv_mask(kernel_size, other), f"you built a type-{other} mask: type A hides the centre pixel "
                                         "(first layer, the pixel must not see itself), type B shows it"),
        (conv_mask(kernel_size, mask_type).T, "your mask is transposed: the allowed pixels are the rows ABOVE "
                                              "the centre and the pixels LEFT of it on the centre row"),
        (row_too_low, "off by one in the row: the whole centre row is open, so the pixel sees pixels to its "
                      "right (the future); on the centre row only the pixels left of the centre are allowed"),
        (row_too_high, "off by one in the row: the row just above the centre is closed; every row above "
                       "the centre (indices 0 .. k//2 - 1) is allowed entirely"),
        (shifted, "off by one in the row: your pattern is shifted down by one row; rows 0 .. k//2 - 1 are "
                  "all ones and row k//2 holds the partial row"),
        (no_left, "the pixels left of the centre on the centre row are missing: they come before the "
                  "current pixel in raster order and must be visible"),
        (torch.flip(conv_mask(kernel_size, mask_type), dims=(0, 1)), "your mask is flipped: it looks below and "
                                                                      "to the right (the future) instead of above and left"),
    ]


def check_conv_mask(fn) -> Feedback:
    """Check ``fn(kernel_size, mask_type) -> (k, k)`` float mask of a masked convolution.

    Expected: rows ``0 .. k//2 - 1`` all ones; on row ``k//2`` ones left of the centre; the centre
    0 for ``"A"`` and 1 for ``"B"``; zeros elsewhere. Tried for k = 3, 5, 7 and both types.
    """

    def checks() -> None:
        for kernel_size in (3, 5, 7):
            for mask_type in ("A", "B"):
                got = fn(kernel_size, mask_type)
                if isinstance(got, torch.Tensor):
                    got = got.to(torch.float32)
                _diagnose(got, _conv_mask_mistakes(kernel_size, mask_type))
                expect_close(got, conv_mask(kernel_size, mask_type), f"mask for k={kernel_size}, type {mask_type}")

    return run_checks("masked-convolution mask", checks)


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
        for degrees_in, degrees_out, output in _made_cases():
            got = fn(degrees_in.clone(), degrees_out.clone(), output)
            if isinstance(got, torch.Tensor):
                got = got.to(torch.float32)
            expected = reference_made_mask(degrees_in, degrees_out, output)
            layer = "output layer" if output else "hidden layer"
            _diagnose(got, [
                (expected.T, f"{layer}: your mask is transposed: it has one ROW per unit of the layer above "
                             f"(shape ({len(degrees_out)}, {len(degrees_in)})), like the weight matrix"),
                (reference_made_mask(degrees_in, degrees_out, not output),
                 "the output layer needs a STRICT inequality m(d) > m(k) (output d must not see input d); "
                 "hidden layers use >=" if output else
                 "hidden layers use m(k') >= m(k) (a unit of degree m may see inputs 1..m); the strict > is "
                 "only for the output layer"),
                (1.0 - expected, f"{layer}: your inequality points the wrong way: a unit may see units of "
                                 "SMALLER or equal degree"),
            ])
            expect_close(got, expected, f"{layer} mask")

    return run_checks("MADE mask rule", checks)


# ============================================================================ per-pixel loss


def _loss_cases() -> list[tuple[torch.Tensor, torch.Tensor]]:
    generator = torch.Generator().manual_seed(3)
    logits = 2.0 * torch.randn(4, 1, 5, 5, generator=generator, dtype=torch.float64)
    x = (torch.rand(4, 1, 5, 5, generator=generator, dtype=torch.float64) < 0.4).to(torch.float64)
    logits2 = 3.0 * torch.randn(2, 1, 3, 4, generator=generator, dtype=torch.float64)
    x2 = (torch.rand(2, 1, 3, 4, generator=generator, dtype=torch.float64) < 0.5).to(torch.float64)
    return [(logits, x), (logits2, x2)]


def _loss_mistakes(logits: torch.Tensor, x: torch.Tensor) -> list[tuple[torch.Tensor, str]]:
    correct = pixel_nll(logits, x)
    pixels = x[0].numel()
    with torch.no_grad():
        probs_as_logits = logits.clamp(1e-6, 1 - 1e-6)
        no_sigmoid = -(x * torch.log(probs_as_logits) + (1 - x) * torch.log(1 - probs_as_logits)).flatten(1).sum(1)
    return [
        (-correct, "the sign is flipped: the loss is MINUS the log-likelihood, and must be >= 0"),
        (correct / pixels, "you averaged over the pixels: log p(x) = sum_i log p(x_i | x_<i), so the loss SUMS "
                           "the per-pixel cross-entropies of an image (nats per image)"),
        (correct / torch.log(torch.tensor(2.0, dtype=correct.dtype)),
         "that is in bits: the course reports nats (natural logarithm); divide by log 2 only for bits"),
        (no_sigmoid, "the sigmoid is missing: the network returns LOGITS l, and p(x_i = 1) = sigm(l); "
                     "use log sigm(l) and log sigm(-l) (or F.binary_cross_entropy_with_logits)"),
        ((-(x * torch.nn.functional.logsigmoid(logits))).flatten(1).sum(1),
         "the (1 - x) log sigm(-l) term is missing: pixels that are off must be scored too"),
    ]


def check_pixel_loss(fn) -> Feedback:
    """Check ``fn(logits, x) -> (B,)``: ``-sum_pixels [x log sigm(l) + (1 - x) log sigm(-l)]`` in nats."""

    def checks() -> None:
        for logits, x in _loss_cases():
            got = fn(logits.clone(), x.clone())
            if isinstance(got, torch.Tensor) and got.numel() == 1 and x.shape[0] > 1:
                if _same(got.reshape(()), pixel_nll(logits, x).mean()) or _same(got.reshape(()), pixel_nll(logits, x).sum()):
                    raise Mistake("you reduced over the batch: return one value per image, shape (B,)")
                raise Mistake(f"the loss should have one value per image, shape ({x.shape[0]},), got one number")
            if isinstance(got, torch.Tensor) and bool(torch.isnan(got).any()):
                raise Mistake("your loss has NaNs: did you take the log of the logits? The network returns "
                              "LOGITS l; p(x_i = 1) = sigm(l)")
            _diagnose(got, _loss_mistakes(logits, x))
            expect_close(got, pixel_nll(logits, x), "negative log-likelihood per image")

    return run_checks("per-pixel loss", checks)
