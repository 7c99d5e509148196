"""Notebook 03's checkers accept the reference answers and name each known mistake."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from course_gen import autoregressive as ar
from course_gen.exercises.autoregressive import (
    check_conv_mask,
    check_made_mask,
    check_mask_type_question,
    check_pixel_loss,
    check_sampler,
)

from exercise_helpers import assert_rejected, not_attempted

pytestmark = pytest.mark.usefixtures("one_thread")

DELEGATES = "does the whole exercise"


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


def test_conv_mask_rejects_the_package_nan_and_wrong_types():
    assert_rejected(check_conv_mask(ar.conv_mask), DELEGATES, "conv_mask")
    assert_rejected(check_conv_mask(lambda k, t: ar.conv_mask(k, t).clone()), DELEGATES)
    assert_rejected(check_conv_mask(lambda k, t: ar.MaskedConv2d(1, 1, k, t).mask[0, 0]), DELEGATES)
    assert_rejected(check_conv_mask(lambda k, t: conv_mask_reference(k, t) * float("nan")), "NaN")
    assert_rejected(check_conv_mask(lambda k, t: conv_mask_reference(k, t).tolist()), "torch.Tensor")
    assert_rejected(check_conv_mask("A"), "should be a function")


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


def test_made_mask_rejects_the_package_nan_wrong_types_and_not_attempted():
    assert_rejected(check_made_mask(lambda a, b, output: ar.made_masks([a, b])[0]), DELEGATES, "made_masks")
    assert_rejected(check_made_mask(lambda a, b, output: made_reference(a, b, output) + float("nan")), "NaN")
    assert_rejected(check_made_mask(lambda a, b, output: made_reference(a, b, output).numpy()), "torch.Tensor")
    assert_rejected(check_made_mask(None), "should be a function")
    assert_rejected(check_made_mask(not_attempted), "not attempted")


# ============================================================================ question


def test_mask_type_question_accepts_c_and_explains_every_wrong_option():
    assert check_mask_type_question(lambda: "C").passed
    assert check_mask_type_question(lambda: " c").passed
    assert_rejected(check_mask_type_question(lambda: "A"), "not A", "never add any", "still valid")
    assert_rejected(check_mask_type_question(lambda: "B"), "not B", "x_(i,j-1)")
    assert_rejected(check_mask_type_question(lambda: "D"), "not D", "above-right stay out of reach")


def test_mask_type_question_rejects_other_answers():
    assert_rejected(check_mask_type_question(lambda: "E"), "return one of")
    assert_rejected(check_mask_type_question(lambda: float("nan")), "return one of")
    assert_rejected(check_mask_type_question("C"), "should be a function")
    assert_rejected(check_mask_type_question(not_attempted), "not attempted")


def test_mask_type_question_claims_hold_for_a_stack_of_type_a_layers():
    """Option C (and the explanations) by the gradient: 3 layers of 3x3, all type A or A then B."""
    def seen(types):
        torch.manual_seed(0)
        layers, channels = [], 1
        for mask_type in types:
            layers += [ar.MaskedConv2d(channels, 4, 3, mask_type), torch.nn.Tanh()]
            channels = 4
        net = torch.nn.Sequential(*layers).double()
        x = torch.randn(1, 1, 9, 9, dtype=torch.float64, requires_grad=True)
        (grad,) = torch.autograd.grad(net(x)[0, :, 6, 4].sum(), x)
        return grad[0, 0] != 0

    usual, all_a = seen("ABB"), seen("AAA")
    assert bool(usual[6, 3]) and bool(usual[6, 2]) and not bool(usual[6, 4])
    assert not bool(all_a[6, 3]) and not bool(all_a[6, 2]) and not bool(all_a[6, 4]) and bool(all_a[6, 1])
    assert not bool((all_a & ~usual).any())  # nothing new (no blind spot filled), and the row above loses pixels
    assert int(all_a[5].sum()) < int(usual[5].sum())


# ============================================================================ per-pixel loss


def loss_reference(logits, x):
    return -(x * F.logsigmoid(logits) + (1 - x) * F.logsigmoid(-logits)).flatten(1).sum(dim=1)


def test_pixel_loss_accepts_the_reference_and_other_hand_written_versions():
    assert check_pixel_loss(loss_reference).passed
    softplus = lambda l, x: (x * F.softplus(-l) + (1 - x) * F.softplus(l)).sum(dim=(1, 2, 3))  # noqa: E731
    assert check_pixel_loss(softplus).passed
    p = torch.sigmoid
    logs = lambda l, x: -(x * torch.log(p(l)) + (1 - x) * torch.log(1 - p(l))).sum(dim=(1, 2, 3))  # noqa: E731
    assert check_pixel_loss(logs).passed


def test_pixel_loss_rejects_the_package_and_torch_cross_entropies():
    assert_rejected(check_pixel_loss(ar.pixel_nll), DELEGATES, "pixel_nll")
    bce = lambda l, x: F.binary_cross_entropy_with_logits(l, x, reduction="none").flatten(1).sum(dim=1)  # noqa: E731
    assert_rejected(check_pixel_loss(bce), DELEGATES, "binary_cross_entropy_with_logits")
    assert_rejected(check_pixel_loss(lambda l, x: torch.nn.BCEWithLogitsLoss(reduction="none")(l, x).sum((1, 2, 3))),
                    DELEGATES)
    bce_probs = lambda l, x: F.binary_cross_entropy(torch.sigmoid(l), x, reduction="none").sum((1, 2, 3))  # noqa: E731
    assert_rejected(check_pixel_loss(bce_probs), DELEGATES)


def test_pixel_loss_rejects_nan_inf_and_wrong_types():
    assert_rejected(check_pixel_loss(lambda l, x: loss_reference(l, x) * float("nan")), "NaN")
    assert_rejected(check_pixel_loss(lambda l, x: loss_reference(l, x) + float("inf")), "inf")
    assert_rejected(check_pixel_loss(lambda l, x: loss_reference(l, x).tolist()), "torch.Tensor")
    assert_rejected(check_pixel_loss(42), "should be a function")


def test_pixel_loss_rejects_a_mean_over_pixels():
    mean = lambda l, x: loss_reference(l, x) / x[0].numel()  # noqa: E731
    assert_rejected(check_pixel_loss(mean), "averaged over the pixels")


def test_pixel_loss_rejects_a_missing_sigmoid():
    no_sigmoid = lambda l, x: -(x * torch.log(l) + (1 - x) * torch.log(1 - l)).flatten(1).sum(1)  # noqa: E731
    assert_rejected(check_pixel_loss(no_sigmoid), "LOGITS")

    def clamped(l, x):
        q = l.clamp(1e-6, 1 - 1e-6)
        return -(x * torch.log(q) + (1 - x) * torch.log(1 - q)).flatten(1).sum(1)

    assert_rejected(check_pixel_loss(clamped), "sigmoid is missing")


def test_pixel_loss_rejects_sign_bits_missing_term_and_batch_reduction():
    assert_rejected(check_pixel_loss(lambda l, x: -loss_reference(l, x)), "sign is flipped")
    assert_rejected(check_pixel_loss(lambda l, x: loss_reference(l, x) / torch.log(torch.tensor(2.0))), "bits")
    assert_rejected(check_pixel_loss(lambda l, x: -(x * F.logsigmoid(l)).flatten(1).sum(1)), "(1 - x)")
    assert_rejected(check_pixel_loss(lambda l, x: loss_reference(l, x).mean()), "reduced over the batch")
    assert_rejected(check_pixel_loss(not_attempted), "not attempted")


# ============================================================================ sequential sampler


def sampler_reference(model, u, order="raster", rule="sample", per_row=False):
    """The right sampler (defaults) and its mistakes, written independently of the checker."""
    x = torch.zeros_like(u)
    _, _, height, width = u.shape
    pixels = [(i, j) for i in range(height) for j in range(width)]
    if order == "columns":
        pixels = [(i, j) for j in range(width) for i in range(height)]
    with torch.no_grad():
        if per_row:
            for i in range(height):
                x[:, 0, i] = (u[:, 0, i] < torch.sigmoid(model(x)[:, 0, i])).float()
            return x
        for i, j in pixels:
            logit = model(x)[:, 0, i, j]
            p = torch.sigmoid(logit)
            value = {"sample": u[:, 0, i, j] < p, "reversed": u[:, 0, i, j] > p, "argmax": p > 0.5,
                     "no-sigmoid": u[:, 0, i, j] < logit}[rule]
            x[:, 0, i, j] = value.float()
    return x


def test_sampler_accepts_the_reference_a_local_window_version_and_bool_images():
    assert check_sampler(sampler_reference).passed

    def local_window(model, u):
        x = torch.zeros_like(u)
        for i in range(u.shape[2]):
            for j in range(u.shape[3]):
                x[:, 0, i, j] = (u[:, 0, i, j] < torch.sigmoid(model.logits_at(x, 0, i, j, local=True))).float()
        return x

    assert check_sampler(local_window).passed
    assert check_sampler(lambda model, u: sampler_reference(model, u).bool()).passed


def test_sampler_rejects_the_package_samplers():
    assert_rejected(check_sampler(lambda model, u: model.sample(len(u), tuple(u.shape[2:]))), DELEGATES, "_fill")
    blank = lambda model, u: model.complete(torch.zeros_like(u), torch.zeros_like(u, dtype=torch.bool))  # noqa: E731
    assert_rejected(check_sampler(blank), DELEGATES)


def test_sampler_rejects_one_forward_pass():
    one_pass = lambda model, u: (u < torch.sigmoid(model(torch.zeros_like(u)))).float()  # noqa: E731
    assert_rejected(check_sampler(one_pass), "ONE forward pass")
    with_u = lambda model, u: (u < torch.sigmoid(model(u))).float()  # noqa: E731
    assert_rejected(check_sampler(with_u), "ONE forward pass")
    assert_rejected(check_sampler(lambda model, u: sampler_reference(model, u, per_row=True)), "once per ROW")


def test_sampler_rejects_argmax_reversed_comparison_and_missing_sigmoid():
    assert_rejected(check_sampler(lambda model, u: sampler_reference(model, u, rule="argmax")), "argmax")
    assert_rejected(check_sampler(lambda model, u: sampler_reference(model, u, rule="reversed")), "wrong way")
    assert_rejected(check_sampler(lambda model, u: sampler_reference(model, u, rule="no-sigmoid")),
                    "sigmoid is missing")


def test_sampler_rejects_column_major_order_and_fresh_randomness():
    assert_rejected(check_sampler(lambda model, u: sampler_reference(model, u, order="columns")), "column by column")
    assert_rejected(check_sampler(lambda model, u: sampler_reference(model, torch.rand_like(u))),
                    "different images for the same u")


def test_sampler_rejects_probabilities_nan_wrong_types_and_shapes():
    probabilities = lambda model, u: torch.sigmoid(model(torch.zeros_like(u)))  # noqa: E731
    assert_rejected(check_sampler(probabilities), "probabilities")
    assert_rejected(check_sampler(lambda model, u: u * float("nan")), "NaN")
    assert_rejected(check_sampler(lambda model, u: sampler_reference(model, u).tolist()), "torch.Tensor")
    assert_rejected(check_sampler(lambda model, u: sampler_reference(model, u)[:, 0]), "shape")
    assert_rejected(check_sampler("sampler"), "should be a function")
    assert_rejected(check_sampler(not_attempted), "not attempted")


def test_sampler_names_the_first_wrong_pixel_of_an_unknown_mistake():
    def one_pixel_off(model, u):
        x = sampler_reference(model, u)
        x[0, 0, 3, 2] = 1 - x[0, 0, 3, 2]
        return x

    assert_rejected(check_sampler(one_pixel_off), "1 of", "pixel (3, 2) of image 0")
