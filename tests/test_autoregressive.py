"""Autoregressive models: masks, the autoregressive property, the blind spot and its gated fix."""

from __future__ import annotations

import math

import pytest
import torch

import course_gen
from course_gen.autoregressive import (
    MADE,
    NADE,
    GatedPixelCNN,
    MaskedConv2d,
    MaskedLinear,
    NLLTracker,
    PixelCNN,
    blind_spot,
    channel_group_mask,
    conv_mask,
    made_degrees,
    made_masks,
    mean_nll,
    nominal_receptive_field,
    pixel_nll,
    raster_before,
    receptive_field,
)
from course_gen.train import train

torch.set_num_threads(1)

CONV_MODELS = (PixelCNN, GatedPixelCNN)
DEPTHS = (1, 2, 3, 5)
SHAPES_AND_PIXELS = [((8, 8), (4, 4)), ((6, 9), (3, 7)), ((10, 5), (7, 1)), ((8, 8), (0, 3)), ((8, 8), (7, 7))]


def random_binary(batch: int, shape=(8, 8), seed: int = 0, channels: int = 1) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 2, (batch, channels, *shape), generator=generator).float()


def with_random_biases(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Non-zero biases everywhere, so that no gradient is zero by accident."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name.endswith("bias"):
                parameter.copy_(0.5 * torch.randn(parameter.shape, generator=generator))
    return model


def jacobian_of_logits(model, x: torch.Tensor) -> torch.Tensor:
    """d logits / d x in float64 for one batch: shape (B*C*H*W, B*C*H*W)."""
    model = model.double().eval()
    x = x.double()
    jac = torch.autograd.functional.jacobian(lambda inp: model(inp).reshape(-1), x)
    return jac.reshape(x.numel(), x.numel())


# ============================================================================ masks


def test_conv_mask_matches_the_lecture_5x5_pattern():
    expected_a = torch.tensor(
        [[1, 1, 1, 1, 1], [1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]], dtype=torch.float32
    )
    assert torch.equal(conv_mask(5, "A"), expected_a)
    expected_b = expected_a.clone()
    expected_b[2, 2] = 1
    assert torch.equal(conv_mask(5, "B"), expected_b)


def test_channel_group_masks_order_r_g_b():
    a = channel_group_mask(3, 3, 3, "A")
    b = channel_group_mask(3, 3, 3, "B")
    assert torch.equal(a, torch.tensor([[0, 0, 0], [1, 0, 0], [1, 1, 0]], dtype=torch.float32))
    assert torch.equal(b, torch.tensor([[1, 0, 0], [1, 1, 0], [1, 1, 1]], dtype=torch.float32))
    wide = channel_group_mask(6, 3, 3, "B")  # two hidden channels per colour
    assert torch.equal(wide[:2], torch.tensor([[1, 0, 0]] * 2, dtype=torch.float32))


def test_masked_conv2d_colour_output_g_sees_r_but_not_b_at_the_centre():
    torch.manual_seed(0)
    conv = MaskedConv2d(3, 3, 3, "A", groups=3).double()
    x = torch.zeros(1, 3, 5, 5, dtype=torch.float64, requires_grad=True)
    out = conv(x)
    (grad,) = torch.autograd.grad(out[0, 1, 2, 2], x)  # G output at the centre
    assert grad[0, 0, 2, 2] != 0  # R of the same pixel
    assert grad[0, 1, 2, 2] == 0 and grad[0, 2, 2, 2] == 0  # G (type A) and B of the same pixel
    assert grad[0, 2, 1, 3] != 0  # any channel of the row above


def test_masked_conv2d_keeps_the_weight_and_moves_the_mask():
    conv = MaskedConv2d(1, 4, 3, "B")
    before = conv.weight.detach().clone()
    conv(torch.ones(1, 1, 4, 4))
    assert torch.equal(conv.weight, before)
    assert "mask" in dict(conv.named_buffers())


def test_made_masks_follow_the_degree_rules():
    degrees = made_degrees(6, (10, 7), seed=3)
    masks = made_masks(degrees)
    assert [tuple(m.shape) for m in masks] == [(10, 6), (7, 10), (6, 7)]
    assert torch.equal(masks[0], (degrees[1][:, None] >= degrees[0][None, :]).float())
    assert torch.equal(masks[2], (degrees[0][:, None] > degrees[2][None, :]).float())
    product = masks[2] @ masks[1] @ masks[0]
    assert torch.equal(product != 0, (degrees[0][:, None] > degrees[0][None, :]) & (product != 0))
    assert not bool(torch.diagonal(product).any())


def test_made_degrees_from_an_ordering():
    ordering = torch.tensor([2, 0, 3, 1])
    degrees = made_degrees(4, (5,), ordering=ordering)
    assert degrees[0].tolist() == [2, 4, 1, 3]  # pixel 2 comes first, pixel 1 last
    with pytest.raises(ValueError, match="permutation"):
        made_degrees(4, (5,), ordering=torch.tensor([0, 0, 1, 2]))


# ============================================================================ autoregressive property


@pytest.mark.parametrize("ordering", [None, "reversed", "random"])
def test_made_jacobian_is_strictly_triangular_in_its_ordering(ordering):
    n = 12
    order = {None: None, "reversed": torch.arange(n - 1, -1, -1), "random": torch.randperm(n, generator=torch.Generator().manual_seed(1))}[ordering]
    torch.manual_seed(0)
    model = with_random_biases(MADE(image_shape=(1, 3, 4), hidden_sizes=(40, 30), ordering=order))
    jac = jacobian_of_logits(model, random_binary(1, (3, 4)))
    position = torch.empty(n, dtype=torch.long)
    position[model.ordering] = torch.arange(n)
    allowed = position[:, None] > position[None, :]  # output d may depend on input k iff k comes first
    assert not bool((jac[~allowed] != 0).any())
    assert bool((jac[allowed] != 0).float().mean() > 0.5)  # and most allowed connections are used


@pytest.mark.parametrize("model_class", CONV_MODELS)
@pytest.mark.parametrize("n_layers", DEPTHS)
@pytest.mark.parametrize("shape_and_pixel", SHAPES_AND_PIXELS)
def test_no_output_pixel_sees_itself_or_a_later_pixel(model_class, n_layers, shape_and_pixel):
    shape, pixel = shape_and_pixel
    torch.manual_seed(n_layers)
    model = with_random_biases(model_class(n_layers=n_layers, hidden_channels=8))
    seen = receptive_field(model, shape, pixel) != 0
    assert not bool((seen & ~raster_before(shape, pixel)).any())
    assert not bool((seen & ~nominal_receptive_field(model, shape, pixel)).any())


@pytest.mark.parametrize("model_class", CONV_MODELS)
def test_full_jacobian_is_strictly_causal_and_does_not_mix_the_batch(model_class):
    torch.manual_seed(0)
    model = with_random_biases(model_class(n_layers=3, hidden_channels=6))
    batch, shape = 3, (5, 6)
    jac = jacobian_of_logits(model, random_binary(batch, shape)).reshape(batch, 30, batch, 30)
    for b in range(batch):
        for other in range(batch):
            if other != b:
                assert not bool(jac[b, :, other].any()), "output of one image depends on another image"
        causal = torch.arange(30)[:, None] > torch.arange(30)[None, :]
        assert not bool(jac[b, :, b][~causal].any())


@pytest.mark.parametrize("n_layers", DEPTHS)
@pytest.mark.parametrize("shape_and_pixel", SHAPES_AND_PIXELS)
def test_gated_pixelcnn_sees_every_earlier_pixel_of_its_nominal_field(n_layers, shape_and_pixel):
    shape, pixel = shape_and_pixel
    torch.manual_seed(10 + n_layers)
    model = with_random_biases(GatedPixelCNN(n_layers=n_layers, hidden_channels=8), seed=n_layers)
    nominal = nominal_receptive_field(model, shape, pixel)
    seen = receptive_field(model, shape, pixel) != 0
    assert torch.equal(seen, nominal & raster_before(shape, pixel))
    assert not bool(blind_spot(model, shape, pixel).any())


def test_gated_pixelcnn_reaches_every_row_above_within_reach_kernel_5():
    torch.manual_seed(0)
    model = with_random_biases(GatedPixelCNN(n_layers=2, hidden_channels=6, kernel_size=5))
    seen = receptive_field(model, (12, 12), (8, 6)) != 0
    assert bool(seen[3:8, 2:11].all())  # rows i - 2*2 - 1 .. i - 1, columns j - 4 .. j + 4
    assert bool(seen[8, 2:6].all()) and not bool(seen[8, 6:].any())


def test_plain_pixelcnn_has_a_blind_spot_that_grows_with_depth():
    sizes = []
    for n_layers in (1, 2, 3, 4, 5):
        torch.manual_seed(0)
        model = with_random_biases(PixelCNN(n_layers=n_layers, hidden_channels=8))
        spot = blind_spot(model, (16, 16), (10, 8))
        sizes.append(int(spot.sum()))
        if n_layers >= 2:
            rows, cols = torch.nonzero(spot, as_tuple=True)
            assert bool((rows < 10).all()) and bool((cols > 8).all())  # above and to the right
    assert sizes[0] == 0
    assert all(b > a for a, b in zip(sizes[1:], sizes[2:])) and sizes[1] > 0, sizes


def test_plain_pixelcnn_blind_spot_for_kernel_5_two_layers():
    torch.manual_seed(0)
    model = with_random_biases(PixelCNN(n_layers=2, hidden_channels=6, kernel_size=5))
    spot = blind_spot(model, (12, 12), (8, 5))
    # row 7, columns 8 and 9: no layer-1 feature at row 7 looks right of itself, and layer 2
    # reaches row 7 only up to column 7
    assert torch.nonzero(spot).tolist() == [[7, 8], [7, 9]]


# ============================================================================ likelihood and sampling


def test_log_prob_is_the_sum_of_bernoulli_log_likelihoods_in_nats():
    torch.manual_seed(0)
    model = PixelCNN(n_layers=2, hidden_channels=4)
    x = random_binary(3)
    logits = model(x)
    by_hand = (x * torch.log(torch.sigmoid(logits)) + (1 - x) * torch.log(torch.sigmoid(-logits))).sum(dim=(1, 2, 3))
    assert torch.allclose(model.log_prob(x), by_hand, atol=1e-5)
    assert torch.allclose(model.loss(x), -by_hand.mean(), atol=1e-5)
    assert torch.allclose(pixel_nll(logits, x), -by_hand, atol=1e-5)


@pytest.mark.parametrize("model_class", CONV_MODELS)
def test_k_level_models_define_a_normalised_distribution(model_class):
    torch.manual_seed(0)
    model = model_class(n_layers=2, hidden_channels=6, n_levels=3).eval()
    shape = (1, 2)  # 9 images in all
    images = torch.tensor([[a, b] for a in range(3) for b in range(3)], dtype=torch.float32).reshape(9, 1, 1, 2)
    total = torch.logsumexp(model.log_prob(images).detach(), dim=0)
    assert abs(float(total)) < 1e-5
    assert tuple(model(images).shape) == (9, 3, 1, *shape)


@pytest.mark.parametrize("model_factory", [lambda: MADE(image_shape=(1, 2, 3), hidden_sizes=(16,)),
                                           lambda: PixelCNN(n_layers=2, hidden_channels=4),
                                           lambda: GatedPixelCNN(n_layers=2, hidden_channels=4)])
def test_binary_models_sum_to_one_over_all_images(model_factory):
    torch.manual_seed(0)
    model = model_factory().eval()
    codes = torch.arange(64)
    images = ((codes[:, None] >> torch.arange(6)) & 1).float().reshape(64, 1, 2, 3)
    assert abs(float(torch.logsumexp(model.log_prob(images).detach(), dim=0))) < 1e-5


def test_colour_pixelcnn_is_normalised_over_rgb():
    torch.manual_seed(0)
    model = PixelCNN(n_layers=2, hidden_channels=6, in_channels=3).eval()
    codes = torch.arange(64)
    images = ((codes[:, None] >> torch.arange(6)) & 1).float().reshape(64, 1, 2, 3).permute(0, 3, 2, 1)  # (64, 3, 2, 1)
    assert abs(float(torch.logsumexp(model.log_prob(images.contiguous()).detach(), dim=0))) < 1e-5


def test_sample_is_seeded_binary_and_uses_one_evaluation_per_pixel():
    torch.manual_seed(0)
    model = GatedPixelCNN(n_layers=2, hidden_channels=4)
    calls = []
    model.register_forward_hook(lambda *args: calls.append(1))
    a = model.sample(3, (4, 5), seed=7)
    assert len(calls) == 20
    b = model.sample(3, (4, 5), seed=7)
    assert torch.equal(a, b) and tuple(a.shape) == (3, 1, 4, 5)
    assert bool(((a == 0) | (a == 1)).all())
    assert not torch.equal(a, model.sample(3, (4, 5), seed=8))


def test_samples_follow_the_model_distribution():
    """On 2 pixels, sample frequencies match exp(log_prob) (4 possible images)."""
    torch.manual_seed(1)
    model = with_random_biases(PixelCNN(n_layers=1, hidden_channels=4), seed=3)
    samples = model.sample(4000, (1, 2), seed=0)
    index = (samples[:, 0, 0, 0] * 2 + samples[:, 0, 0, 1]).long()
    frequencies = torch.bincount(index, minlength=4).float() / 4000
    images = torch.tensor([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=torch.float32).reshape(4, 1, 1, 2)
    probabilities = model.log_prob(images).exp().detach()
    assert torch.allclose(frequencies, probabilities, atol=0.03)


def test_complete_keeps_observed_pixels_and_fills_the_rest():
    torch.manual_seed(0)
    model = MADE(image_shape=(1, 4, 4), hidden_sizes=(32,))
    x = random_binary(5, (4, 4), seed=2)
    observed = torch.zeros(4, 4, dtype=torch.bool)
    observed[:2] = True
    calls = []
    model.register_forward_hook(lambda *args: calls.append(1))
    filled = model.complete(x, observed, seed=1)
    assert len(calls) == 8  # only the 8 missing pixels cost an evaluation
    assert torch.equal(filled[:, :, :2], x[:, :, :2])
    assert bool(((filled == 0) | (filled == 1)).all())
    assert torch.equal(filled, model.complete(x, observed, seed=1))


def test_made_samples_in_its_own_ordering():
    model = MADE(image_shape=(1, 2, 2), hidden_sizes=(8,), ordering=torch.tensor([3, 1, 2, 0]))
    assert model._order((1, 2, 2)) == [(0, 1, 1), (0, 0, 1), (0, 1, 0), (0, 0, 0)]
    assert tuple(model.sample(2).shape) == (2, 1, 2, 2)


def test_training_lowers_the_nll_and_tracker_records_it():
    x, _ = course_gen.data.digits("train", binarize=True)
    model = PixelCNN(n_layers=2, hidden_channels=8)
    before = mean_nll(model, x[:200])
    tracker = NLLTracker(model, {"train": x[:200]}, every=20)
    train(model, x[:200], steps=40, lr=3e-3, batch_size=50, device="cpu", progress=False, callback=tracker)
    assert tracker.steps == [1, 20, 40]
    assert mean_nll(model, x[:200]) < before - 5
    assert math.isclose(tracker.nll["train"][-1], mean_nll(model, x[:200]), rel_tol=1e-6)


# ============================================================================ errors


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: MaskedConv2d(1, 4, 4, "A"), ValueError, "odd"),
        (lambda: MaskedConv2d(1, 4, 3, "C"), ValueError, "mask_type 'C'"),
        (lambda: MaskedConv2d(4, 4, 3, "B", groups=3), ValueError, "multiple of groups=3"),
        (lambda: PixelCNN(n_layers=0), ValueError, "n_layers must be an int >= 1"),
        (lambda: PixelCNN(n_layers=2.0), TypeError, "n_layers must be an int"),
        (lambda: GatedPixelCNN(n_layers=2, in_channels=3, hidden_channels=6), ValueError, "one-channel"),
        (lambda: PixelCNN(dropout=1.5), ValueError, "dropout"),
        (lambda: MADE(hidden_sizes=64), ValueError, "hidden_sizes"),
        (lambda: MaskedLinear(3, 2, torch.ones(3, 2)), ValueError, r"shape \(2, 3\)"),
        (lambda: PixelCNN(2).log_prob(torch.full((2, 1, 4, 4), 0.5)), ValueError, "values in"),
        (lambda: PixelCNN(2).log_prob(torch.ones(2, 4, 4)), ValueError, r"\(B, 1, H, W\)"),
        (lambda: PixelCNN(2).log_prob(torch.ones(2, 1, 4, 4, dtype=torch.long)), TypeError, "floating-point"),
        (lambda: PixelCNN(2).sample(0), ValueError, "n must be an int >= 1"),
        (lambda: PixelCNN(2).sample(2, (3, 4, 4)), ValueError, "3 channels"),
        (lambda: MADE().sample(1, (4, 4)), ValueError, "shape"),
        (lambda: PixelCNN(2).complete(torch.ones(1, 1, 4, 4), torch.ones(4, 4)), TypeError, "bool"),
        (lambda: PixelCNN(2).complete(torch.ones(1, 1, 4, 4), torch.ones(3, 3, dtype=torch.bool)), ValueError, "broadcast"),
        (lambda: receptive_field(PixelCNN(2), (8, 8), (8, 0)), ValueError, "outside the image"),
        (lambda: receptive_field(torch.nn.Linear(2, 2), (8, 8), (1, 1)), TypeError, "MADE, PixelCNN"),
        (lambda: PixelCNN(2)(torch.ones(2, 3, 4, 4)), ValueError, r"\(B, 1, H, W\)"),
    ],
)
def test_bad_inputs_raise_clear_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_pixel_nll_refuses_values_that_are_not_levels():
    """Grey levels 0..255 under a Bernoulli gave a negative "NLL" (-80 nats); now a clear error."""
    logits = torch.randn(2, 1, 3, 3, generator=torch.Generator().manual_seed(0))
    for x in (torch.full((2, 1, 3, 3), 255.0), torch.full((2, 1, 3, 3), 0.5), torch.full((2, 1, 3, 3), -1.0)):
        with pytest.raises(ValueError, match=r"pixel values in \{0, \.\.\., 1\}"):
            pixel_nll(logits, x)
    with pytest.raises(ValueError, match=r"\{0, \.\.\., 3\}"):
        pixel_nll(torch.zeros(2, 4, 1, 3, 3), torch.full((2, 1, 3, 3), 4.0), n_levels=4)
    with pytest.raises(ValueError, match="logits must have shape"):
        pixel_nll(torch.zeros(2, 1, 3, 4), torch.ones(2, 1, 3, 3))
    with pytest.raises(ValueError, match="NaN"):
        pixel_nll(torch.full((2, 1, 3, 3), float("nan")), torch.ones(2, 1, 3, 3))
    x = random_binary(2, (3, 3))
    expected = torch.nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=(1, 2, 3))
    assert torch.allclose(pixel_nll(logits, x), expected)
    assert torch.allclose(pixel_nll(logits, x.long()), expected)  # integer levels are fine


@pytest.mark.parametrize("build", [lambda: MADE((1, 4, 4), (16,)), lambda: NADE((1, 4, 4), hidden=5),
                                   lambda: PixelCNN(n_layers=2, hidden_channels=4),
                                   lambda: GatedPixelCNN(n_layers=2, hidden_channels=4)])
def test_float64_images_are_cast_to_the_models_dtype(build):
    torch.manual_seed(0)
    model = build().eval()
    x = random_binary(3, (4, 4))
    assert model(x.double()).dtype == torch.float32
    assert torch.equal(model(x.double()), model(x))
    assert torch.equal(model.log_prob(x.double()), model.log_prob(x))
    observed = torch.zeros(4, 4, dtype=torch.bool)
    observed[:2] = True
    completed = model.complete(x.double(), observed, seed=3)
    assert completed.dtype == torch.float32 and torch.equal(completed, model.complete(x, observed, seed=3))


@pytest.mark.parametrize("build", [lambda: MADE((1, 4, 4), (16,)), lambda: NADE((1, 4, 4), hidden=5),
                                   lambda: PixelCNN(n_layers=2, hidden_channels=4),
                                   lambda: GatedPixelCNN(n_layers=2, hidden_channels=4)])
def test_models_refuse_nan_integer_and_empty_input(build):
    model = build()
    x = random_binary(2, (4, 4))
    x[0, 0, 1, 1] = float("nan")
    with pytest.raises(ValueError, match="NaN or inf"):
        model(x)
    with pytest.raises(TypeError, match="floating-point"):
        model(random_binary(2, (4, 4)).long())
    with pytest.raises(ValueError, match="B, H, W >= 1"):
        model.loss(random_binary(2, (4, 4))[:0])  # the mean over no image would be NaN


def test_masked_layers_check_their_input_and_cast_it():
    torch.manual_seed(0)
    linear, conv = MaskedLinear(3, 4), MaskedConv2d(1, 2, 3, "A")
    x = torch.randn(2, 3)
    assert torch.equal(linear(x.double()), linear(x)) and linear(x.double()).dtype == torch.float32
    images = torch.randn(2, 1, 5, 5)
    assert torch.equal(conv(images.double()), conv(images))
    with pytest.raises(ValueError, match=r"\(\.\.\., 3\)"):
        linear(torch.randn(2, 4))
    with pytest.raises(ValueError, match=r"\(B, 1, H, W\)"):
        conv(torch.randn(2, 3, 5, 5))
    with pytest.raises(ValueError, match="NaN"):
        conv(torch.full((1, 1, 5, 5), float("inf")))


def test_logits_at_checks_the_pixel():
    model = PixelCNN(n_layers=2, hidden_channels=4)
    x = random_binary(1, (4, 5))
    assert model.logits_at(x, 0, 3, 4).shape == (1,)
    for c, i, j in ((1, 0, 0), (0, 4, 0), (0, 0, 5), (0, -1, 0)):
        with pytest.raises(ValueError, match=r"must be an int (<=|>=)"):
            model.logits_at(x, c, i, j)


def test_bounds_on_sizes_refuse_runaway_calls():
    with pytest.raises(ValueError, match="n must be an int <= 100000"):
        PixelCNN(n_layers=1, hidden_channels=2).sample(10**12)
    with pytest.raises(ValueError, match="n_layers must be an int <= 100"):
        PixelCNN(n_layers=10**6)
    with pytest.raises(ValueError, match="hidden size must be an int <= 10000"):
        MADE((1, 2, 2), hidden_sizes=(10**9,))
    with pytest.raises(ValueError, match=r"outside the image"):
        raster_before((4, 4), (4, 0))


def test_mean_nll_and_the_tracker_restore_training_mode_and_check_their_images():
    model = PixelCNN(n_layers=1, hidden_channels=2, dropout=0.5).train()
    x = random_binary(4, (4, 4))
    mean_nll(model, x, batch_size=3)
    assert model.training
    with pytest.raises(ValueError, match="pixel values"):
        mean_nll(model, x * 3)
    with pytest.raises(ValueError, match=r"datasets\['test'\]"):
        NLLTracker(model, {"train": x, "test": x + 0.5})
    tracker = NLLTracker(model, {"train": x}, every=2)
    tracker(2, None)
    assert model.training and tracker.steps == [2]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_runs_on_cuda():
    model = GatedPixelCNN(n_layers=2, hidden_channels=4).cuda()
    x = random_binary(2).cuda()
    assert model.log_prob(x).device.type == "cuda"
    assert model.sample(1, (3, 3)).device.type == "cuda"
    assert model.complete(x, torch.ones(8, 8, dtype=torch.bool)).device.type == "cuda"


# ============================================================================ the tests have teeth


@pytest.mark.parametrize("shift_rows, breaks", [(0, "causality"), (2, "coverage")])
def test_a_wrong_vertical_shift_is_caught(monkeypatch, shift_rows, breaks):
    """Without the one-row shift the current row leaks in; shifting two rows loses the row above."""
    from course_gen import autoregressive

    def wrong_shift(a):
        return a if shift_rows == 0 else torch.nn.functional.pad(a, (0, 0, shift_rows, 0))[:, :, :-shift_rows, :]

    monkeypatch.setattr(autoregressive._GatedLayer, "shift_down", staticmethod(wrong_shift))
    torch.manual_seed(0)
    model = with_random_biases(GatedPixelCNN(n_layers=2, hidden_channels=6))
    shape, pixel = (8, 8), (4, 4)
    seen = receptive_field(model, shape, pixel) != 0
    if breaks == "causality":
        assert bool((seen & ~raster_before(shape, pixel)).any())
    else:
        assert bool(blind_spot(model, shape, pixel).any())
