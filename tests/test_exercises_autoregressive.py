"""Notebook 03's checkers accept the reference answers and name each known mistake."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from course_gen.exercises.autoregressive import check_conv_mask, check_made_mask, check_pixel_loss

from exercise_helpers import assert_rejected, not_attempted


# ============================================================================ conv mask


def conv_mask_reference(kernel_size, mask_type):
    c = kernel_size // 2
    mask = torch.zeros(kernel_size, kernel_size)
    mask[:c] = 1
    mask[c, :c] = 1
    mask[c, c] = float(mask_type == "B")
    return mask


def test_conv_mask_accepts_the_reference():
    assert check_conv_mask(conv_mask_reference).passed


def test_conv_mask_rejects_a_and_b_swapped():
    swapped = lambda k, t: conv_mask_reference(k, "B" if t == "A" else "A")  # noqa: E731
    assert_rejected(check_conv_mask(swapped), "type-B mask", "hides the centre")


def test_conv_mask_rejects_the_whole_centre_row():
    def whole_row(k, t):
        mask = torch.zeros(k, k)
        mask[: k // 2 + 1] = 1
        return mask

    assert_rejected(check_conv_mask(whole_row), "off by one in the row", "right")


def test_conv_mask_rejects_a_missing_row_above():
    def missing_row(k, t):
        mask = conv_mask_reference(k, t)
        mask[k // 2 - 1] = 0
        return mask

    assert_rejected(check_conv_mask(missing_row), "off by one in the row", "just above")


def test_conv_mask_rejects_transposed_and_flipped_masks():
    assert_rejected(check_conv_mask(lambda k, t: conv_mask_reference(k, t).T), "transposed")
    assert_rejected(check_conv_mask(lambda k, t: torch.flip(conv_mask_reference(k, t), (0, 1))), "flipped")


def test_conv_mask_rejects_missing_left_pixels_and_reports_other_errors():
    def no_left(k, t):
        mask = conv_mask_reference(k, t)
        mask[k // 2, : k // 2] = 0
        return mask

    assert_rejected(check_conv_mask(no_left), "left of the centre")
    assert_rejected(check_conv_mask(lambda k, t: torch.ones(k, k)), "is off")
    assert_rejected(check_conv_mask(lambda k, t: torch.ones(k)), "shape")
    assert_rejected(check_conv_mask(not_attempted), "not attempted")


# ============================================================================ MADE mask


def made_reference(degrees_in, degrees_out, output):
    if output:
        return (degrees_out[:, None] > degrees_in[None, :]).float()
    return (degrees_out[:, None] >= degrees_in[None, :]).float()


def test_made_mask_accepts_the_reference():
    assert check_made_mask(made_reference).passed


def test_made_mask_rejects_strict_inequality_in_hidden_layers():
    strict = lambda a, b, output: (b[:, None] > a[None, :]).float()  # noqa: E731
    assert_rejected(check_made_mask(strict), "hidden layers use m(k') >= m(k)")


def test_made_mask_rejects_non_strict_output_layer():
    loose = lambda a, b, output: (b[:, None] >= a[None, :]).float()  # noqa: E731
    assert_rejected(check_made_mask(loose), "STRICT inequality")


def test_made_mask_rejects_transposed_and_reversed():
    transposed = lambda a, b, output: made_reference(a, b, output).T  # noqa: E731
    assert_rejected(check_made_mask(transposed), "transposed")
    reversed_rule = lambda a, b, output: 1 - made_reference(a, b, output)  # noqa: E731
    assert_rejected(check_made_mask(reversed_rule), "wrong way")


# ============================================================================ per-pixel loss


def loss_reference(logits, x):
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(dim=1)


def test_pixel_loss_accepts_the_reference_and_a_hand_written_version():
    assert check_pixel_loss(loss_reference).passed
    by_hand = lambda l, x: -(x * F.logsigmoid(l) + (1 - x) * F.logsigmoid(-l)).sum(dim=(1, 2, 3))  # noqa: E731
    assert check_pixel_loss(by_hand).passed


def test_pixel_loss_rejects_a_mean_over_pixels():
    mean = lambda l, x: F.binary_cross_entropy_with_logits(l, x, reduction="none").flatten(1).mean(dim=1)  # noqa: E731
    assert_rejected(check_pixel_loss(mean), "averaged over the pixels")


def test_pixel_loss_rejects_a_missing_sigmoid():
    no_sigmoid = lambda l, x: -(x * torch.log(l) + (1 - x) * torch.log(1 - l)).flatten(1).sum(1)  # noqa: E731
    assert_rejected(check_pixel_loss(no_sigmoid), "LOGITS")
    clamped = lambda l, x: F.binary_cross_entropy(l.clamp(1e-6, 1 - 1e-6), x, reduction="none").flatten(1).sum(1)  # noqa: E731
    assert_rejected(check_pixel_loss(clamped), "sigmoid is missing")


def test_pixel_loss_rejects_sign_bits_missing_term_and_batch_reduction():
    assert_rejected(check_pixel_loss(lambda l, x: -loss_reference(l, x)), "sign is flipped")
    assert_rejected(check_pixel_loss(lambda l, x: loss_reference(l, x) / torch.log(torch.tensor(2.0))), "bits")
    assert_rejected(check_pixel_loss(lambda l, x: -(x * F.logsigmoid(l)).flatten(1).sum(1)), "(1 - x)")
    assert_rejected(check_pixel_loss(lambda l, x: loss_reference(l, x).mean()), "reduced over the batch")
    assert_rejected(check_pixel_loss(not_attempted), "not attempted")
