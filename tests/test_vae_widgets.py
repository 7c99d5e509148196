"""The latent-traversal widget redraws when a control moves and decodes what it claims to."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest
import torch

pytest.importorskip("ipywidgets")

from course_gen.vae import VAE  # noqa: E402
from course_gen.widgets import latent_traversal  # noqa: E402
from course_gen.widgets.vae import draw_latent_traversal, traverse  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return VAE(latent_dim=3, hidden_sizes=(16,)).eval()


@pytest.fixture(scope="module")
def images():
    return torch.rand(6, 1, 8, 8, generator=torch.Generator().manual_seed(1))


def drawn(widget) -> bytes:
    return bytes(widget.image.value)


def test_traverse_moves_exactly_one_latent(model, images):
    values = torch.tensor([-2.0, 0.0, 2.0])
    grid = traverse(model, images[2:3], values)
    assert grid.shape == (3, 3, 1, 8, 8)
    with torch.no_grad():
        mu, _ = model.encode(images[2:3])
        code = mu.clone()
        code[0, 1] = 2.0
        torch.testing.assert_close(grid[1, 2], model.decode(code)[0])


def test_every_control_redraws_the_picture(model, images):
    widget = latent_traversal(model, images)
    assert drawn(widget).startswith(PNG_SIGNATURE)
    for control, value in (("value", 2.5), ("latent", (widget.latent.value + 1) % 3), ("index", 4)):
        before = drawn(widget)
        getattr(widget, control).value = value
        assert drawn(widget) != before, control
    plt.close("all")


def test_draw_returns_a_figure_and_checks_its_arguments(model, images):
    fig = draw_latent_traversal(model, images, index=1, latent=2, value=-1.0)
    assert fig.axes
    plt.close(fig)
    with pytest.raises(ValueError, match="latent must be an int <= 2"):
        draw_latent_traversal(model, images, latent=3)
    with pytest.raises(ValueError, match="index must be an int <= 5"):
        draw_latent_traversal(model, images, index=6)
    with pytest.raises(TypeError, match="VAE"):
        latent_traversal(torch.nn.Linear(2, 2), images)
    with pytest.raises(ValueError, match="at least 2 finite"):
        traverse(model, images[:1], [1.0])


def test_the_widget_draws_in_eval_mode_and_leaves_the_model_as_it_was(images):
    torch.manual_seed(0)
    model = VAE(latent_dim=3, hidden_sizes=(16,))
    seen = []
    model.encoder.register_forward_hook(lambda module, args, out: seen.append(module.training))
    assert model.training
    widget = latent_traversal(model, images)
    widget.value.value = 1.0
    assert model.training and seen and not any(seen)  # every pass in eval mode, training mode restored
    plt.close("all")


def test_draw_rejects_non_finite_values_and_a_kl_of_the_wrong_length(model, images):
    with pytest.raises(ValueError, match="value must be a finite number"):
        draw_latent_traversal(model, images, value=float("nan"))
    with pytest.raises(ValueError, match=r"kl \(one KL per latent\) must have shape \(3\)"):
        draw_latent_traversal(model, images, kl=torch.ones(2))
    with pytest.raises(ValueError, match="NaN"):
        draw_latent_traversal(model, images, kl=torch.full((3,), float("nan")))
