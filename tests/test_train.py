"""Tests for course_gen.train: the training loop every model uses."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from course_gen.train import History, TrainingDivergedError, train

CPU = "cpu"


class LinearRegression(nn.Module):
    """y = x w + b with mean squared error."""

    def __init__(self, dim: int = 3):
        super().__init__()
        self.linear = nn.Linear(dim, 1)

    def loss(self, batch):
        x, y = batch
        return ((self.linear(x).squeeze(-1) - y) ** 2).mean()


class RowModel(nn.Module):
    """Loss on a plain tensor batch; returns a dict with extra metrics."""

    def __init__(self):
        super().__init__()
        self.center = nn.Parameter(torch.zeros(2))
        self.dropout = nn.Dropout(0.5)

    def loss(self, batch):
        distance = ((self.dropout(batch) - self.center) ** 2).sum(-1)
        return {"loss": distance.mean(), "max_distance": distance.max(), "constant": 1.5}


class NaNAtStep(nn.Module):
    """A finite loss until step ``bad_step``, then NaN."""

    def __init__(self, bad_step: int):
        super().__init__()
        self.w = nn.Parameter(torch.ones(2))
        self.bad_step = bad_step
        self.calls = 0

    def loss(self, batch):
        self.calls += 1
        loss = (self.w ** 2).sum() + 0 * batch.sum()
        return loss * float("nan") if self.calls == self.bad_step else loss


def regression_data(n: int = 256, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=generator)
    y = x @ torch.tensor([1.5, -2.0, 0.5]) + 0.3
    return x, y


def fresh(model_cls, *args, seed: int = 123):
    torch.manual_seed(seed)
    return model_cls(*args)


def test_linear_regression_converges():
    history = train(fresh(LinearRegression), regression_data(), steps=300, lr=0.05,
                    batch_size=32, device=CPU, progress=False)
    assert isinstance(history, History)
    assert history.loss[0] > 1.0
    assert history.last(20) < 1e-3 * history.loss[0]


def test_steps_gives_that_many_losses():
    history = train(fresh(LinearRegression), regression_data(), steps=17, device=CPU, progress=False)
    assert len(history) == 17 and history.steps == 17 and len(history.loss) == 17
    assert history.device == "cpu" and history.seconds > 0


@pytest.mark.parametrize("rows, batch_size, epochs", [(100, 32, 3), (64, 64, 2), (10, 128, 4)])
def test_epochs_count_steps(rows, batch_size, epochs):
    data = torch.randn(rows, 2)
    history = train(fresh(RowModel), data, epochs=epochs, batch_size=batch_size,
                    device=CPU, progress=False)
    assert len(history) == epochs * math.ceil(rows / batch_size)


def test_same_seed_same_history_and_different_seed_differs():
    data = torch.randn(200, 2)
    run = lambda seed: train(fresh(RowModel), data, steps=30, batch_size=16, seed=seed,  # noqa: E731
                             device=CPU, progress=False)
    first, again, other = run(1), run(1), run(2)
    assert first.loss == again.loss
    assert first.metrics == again.metrics
    assert first.loss != other.loss


def test_train_leaves_the_callers_random_stream_alone():
    """train(seed=...) repeats its own draws (a model with noise in its loss) and does not move the stream
    of the code that called it."""

    class NoisyModel(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(2))

        def loss(self, batch):
            return ((batch + 0.1 * torch.randn_like(batch) - self.w) ** 2).mean()

    data = torch.randn(64, 2)
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    first = train(NoisyModel(), data, steps=10, batch_size=16, seed=3, device=CPU, progress=False)
    assert torch.equal(torch.rand(3), expected), "train() moved the caller's random stream"
    again = train(NoisyModel(), data, steps=10, batch_size=16, seed=3, device=CPU, progress=False)
    assert first.loss == again.loss


def test_tuple_data_and_dataloader_work():
    x, y = regression_data(64)
    from_tuple = train(fresh(LinearRegression), (x, y), epochs=2, batch_size=16, device=CPU, progress=False)
    assert len(from_tuple) == 8

    loader = DataLoader(TensorDataset(x, y), batch_size=10, shuffle=True)
    from_loader = train(fresh(LinearRegression), loader, epochs=3, device=CPU, progress=False)
    assert len(from_loader) == 3 * len(loader)

    endless = train(fresh(LinearRegression), loader, steps=20, device=CPU, progress=False)
    assert len(endless) == 20  # more steps than one pass: the loader is re-iterated


def test_one_shot_iterator_fails_clearly_when_exhausted():
    x, y = regression_data(32)
    batches = iter([(x, y)])
    with pytest.raises(ValueError, match="re-iterated"):
        train(fresh(LinearRegression), batches, steps=5, device=CPU, progress=False)


def test_dict_loss_logs_metrics():
    history = train(fresh(RowModel), torch.randn(50, 2) + 3, steps=12, device=CPU, progress=False)
    assert set(history.metrics) == {"max_distance", "constant"}
    assert len(history.metrics["max_distance"]) == 12
    assert history.metrics["constant"] == [1.5] * 12
    assert all(m >= l for m, l in zip(history.metrics["max_distance"], history.loss))
    as_dict = history.as_dict()
    assert as_dict["loss"] == history.loss and as_dict["steps"] == 12


def test_nan_loss_raises_with_step_and_leaves_parameters():
    model = NaNAtStep(bad_step=4)
    snapshots = []
    train_kwargs = dict(steps=10, lr=0.1, device=CPU, progress=False,
                        callback=lambda step, h: snapshots.append(model.w.detach().clone()))
    with pytest.raises(TrainingDivergedError, match=r"nan at step 4 \(of 10\)") as info:
        train(model, torch.zeros(8, 2), **train_kwargs)
    assert isinstance(info.value, FloatingPointError)
    assert "learning rate" in str(info.value)
    assert len(snapshots) == 3
    assert torch.equal(model.w.detach(), snapshots[-1])  # the NaN step did not move them
    assert not torch.equal(snapshots[-1], torch.ones(2))  # but finite steps did
    assert not model.training  # left in eval mode, even after the error


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(steps=5, epochs=2), ValueError, "exactly one"),
        (dict(), ValueError, "exactly one"),
        (dict(steps=0), ValueError, "steps must be an int >= 1, got 0"),
        (dict(steps=2.5), TypeError, "steps must be an int, got float"),
        (dict(steps=5, optimizer="adagrad"), ValueError, "adam, adamw, sgd, rmsprop"),
        (dict(steps=5, batch_size=0), ValueError, "batch_size"),
        (dict(steps=5, grad_clip=-1.0), ValueError, "grad_clip"),
        (dict(steps=5, lr=0), ValueError, "lr"),
    ],
)
def test_bad_arguments_are_explained(kwargs, error, message):
    with pytest.raises(error, match=message):
        train(fresh(RowModel), torch.randn(8, 2), device=CPU, progress=False, **kwargs)


def test_model_without_loss_or_with_bad_loss():
    with pytest.raises(TypeError, match="no loss"):
        train(nn.Linear(2, 1), torch.randn(8, 2), steps=1, device=CPU, progress=False)

    class NoLossKey(RowModel):
        def loss(self, batch):
            return {"nll": super().loss(batch)["loss"]}

    with pytest.raises(TypeError, match="'loss' key"):
        train(NoLossKey(), torch.randn(8, 2), steps=1, device=CPU, progress=False)

    class VectorLoss(RowModel):
        def loss(self, batch):
            return ((batch - self.center) ** 2).sum(-1)

    with pytest.raises(TypeError, match="scalar"):
        train(VectorLoss(), torch.randn(8, 2), steps=1, device=CPU, progress=False)


def test_callback_returning_true_stops_early():
    seen = []

    def stop_at_five(step, history):
        seen.append((step, len(history)))
        return step == 5

    history = train(fresh(RowModel), torch.randn(40, 2), steps=100, callback=stop_at_five,
                    device=CPU, progress=False)
    assert len(history) == 5 and history.steps == 5
    assert seen == [(k, k) for k in range(1, 6)]


def test_device_cpu_keeps_parameters_on_cpu_and_eval_mode_after():
    model = fresh(RowModel)
    train(model, torch.randn(16, 2), steps=3, device=torch.device("cpu"), progress=False)
    assert all(p.device.type == "cpu" for p in model.parameters())
    assert not model.training


@pytest.mark.parametrize("name", ["adam", "adamw", "sgd", "rmsprop"])
def test_every_optimizer_reduces_the_loss(name):
    history = train(fresh(LinearRegression), regression_data(), steps=150, lr=0.01,
                    optimizer=name, grad_clip=10.0, device=CPU, progress=False)
    assert history.last(10) < 0.5 * history.loss[0]


def test_prebuilt_optimizer_is_used():
    model = fresh(LinearRegression)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)  # lr 0: nothing may change
    before = [p.detach().clone() for p in model.parameters()]
    train(model, regression_data(), steps=5, optimizer=optimizer, lr=1.0, device=CPU, progress=False)
    assert all(torch.equal(a, b.detach()) for a, b in zip(before, model.parameters()))


def test_history_last_and_repr():
    history = History(loss=[4.0, 2.0, 1.0, 3.0], steps=4)
    assert history.last(2) == 2.0
    assert history.last(100) == 2.5
    assert "steps=4" in repr(history)
    with pytest.raises(ValueError, match="empty"):
        History().last()


def test_progress_bar_shows_description_and_loss(capsys, monkeypatch):
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    train(fresh(RowModel), torch.randn(16, 2), steps=4, desc="toy run", device=CPU, progress=True)
    err = capsys.readouterr().err
    assert "toy run" in err and "loss=" in err and "4/4" in err


def test_progress_bar_honours_tqdm_disable(monkeypatch, capsys):
    monkeypatch.setenv("TQDM_DISABLE", "1")
    train(fresh(RowModel), torch.randn(8, 2), steps=3, device=CPU, progress=True)
    assert "it/s" not in capsys.readouterr().err
    monkeypatch.delenv("TQDM_DISABLE")
    train(fresh(RowModel), torch.randn(8, 2), steps=3, device=CPU, progress=True)
    assert "3/3" in capsys.readouterr().err


def test_diverged_error_carries_the_history_so_far():
    model = NaNAtStep(bad_step=4)
    with pytest.raises(TrainingDivergedError) as info:
        train(model, torch.zeros(8, 2), steps=10, lr=0.1, device=CPU, progress=False)
    assert info.value.step == 4
    assert isinstance(info.value.history, History)
    assert len(info.value.history) == 3 and info.value.history.steps == 3
    assert all(math.isfinite(v) for v in info.value.history.loss)


def test_adam_with_a_huge_learning_rate_is_stopped_when_the_loss_explodes():
    model = fresh(LinearRegression)
    with pytest.raises(TrainingDivergedError, match=r"exploded .* at step \d+ \(of 300\).*smaller learning rate") as info:
        train(model, regression_data(), steps=300, lr=1e6, device=CPU, progress=False)
    history = info.value.history
    assert 1 <= len(history) < 300
    assert max(abs(v) for v in history.loss) <= 1e6 * max(1.0, abs(history.loss[0]))


def test_check_loss_rules():
    from course_gen.train import check_loss

    history = History(loss=[2.0], steps=1)
    assert check_loss(1.9e6, 2, history) == 1.9e6  # below 1e6 x 2
    with pytest.raises(TrainingDivergedError, match="exploded"):
        check_loss(2.1e6, 2, history)
    with pytest.raises(TrainingDivergedError, match="exploded"):
        check_loss(-2.1e6, 2, history)
    assert check_loss(-5.0e5, 2, History(loss=[-0.1], steps=1)) == -5.0e5  # small first loss: bound 1e6
    assert check_loss(1e30, 1, History()) == 1e30  # nothing to compare with yet
    with pytest.raises(TrainingDivergedError, match="generator loss became inf at step 3") as info:
        check_loss(float("inf"), 3, history, what="generator loss")
    assert info.value.history is history and info.value.step == 3


def test_keyboard_interrupt_returns_the_history_so_far(capsys):
    def interrupt_at_four(step, history):
        if step == 4:
            raise KeyboardInterrupt

    model = fresh(RowModel)
    history = train(model, torch.randn(40, 2), steps=100, callback=interrupt_at_four, device=CPU, progress=False)
    assert history.interrupted and len(history) == 4 and history.steps == 4
    assert "interrupted after 4 steps" in capsys.readouterr().out
    assert not model.training
    assert history.as_dict()["interrupted"] is True and "interrupted" in repr(history)


@pytest.mark.parametrize(
    "data, kwargs, error, message",
    [
        (torch.full((8, 2), float("nan")), dict(steps=2), ValueError, "NaN or inf"),
        (torch.randn(8, 2).to(torch.complex64), dict(steps=2), TypeError, "real-valued"),
        (torch.randn(8, 2), dict(steps=10**8), ValueError, "steps must be an int <= 10000000"),
        (torch.randn(8, 2), dict(steps=2, weight_decay=-1.0), ValueError, "weight_decay"),
        (torch.randn(8, 2), dict(steps=2, progress="yes"), TypeError, "progress must be a bool"),
        (torch.randn(8, 2), dict(steps=2, device="cpu_nope"), ValueError, "unknown device"),
    ],
)
def test_bad_data_and_bounds_are_explained(data, kwargs, error, message):
    with pytest.raises(error, match=message):
        train(fresh(RowModel), data, **{"device": CPU, "progress": False, **kwargs})
