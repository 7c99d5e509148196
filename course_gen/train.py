"""The one training loop every model in the course uses.

A model only has to provide ``loss(batch)``; :func:`train` does the rest: batching,
the optimizer, gradient clipping, progress bar, divergence check and a :class:`History`
of every step's loss.

    >>> history = train(model, x, steps=500, lr=1e-3)   # doctest: +SKIP
    >>> history.last(50)                                 # doctest: +SKIP

Pieces other loops reuse (``gan.GANTrainer``): :class:`History` and :func:`record`, :func:`check_loss`
(the divergence check, which raises :class:`TrainingDivergedError` with the history attached),
:func:`check_callback` / :func:`wants_stop` (the callback protocol), :func:`note_interrupt` (the stop
button) and :func:`make_optimizer`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import torch
from torch import nn

from course_gen._checks import check_bool, check_int, check_nonnegative, check_positive_number, check_tensor
from course_gen.runtime import env_flag, resolve_device, seeded

__all__ = ["EXPLOSION_FACTOR", "History", "MAX_STEPS", "OPTIMIZERS", "TrainingDivergedError", "check_callback",
           "check_loss", "make_optimizer", "note_interrupt", "record", "to_device", "train", "wants_stop"]

#: Optimizer names :func:`train` accepts.
OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
#: The most optimizer steps (or epochs) one call of :func:`train` accepts.
MAX_STEPS = 10**7
#: A loss whose size exceeds this factor times ``max(1, |first loss|)`` has exploded (:func:`check_loss`).
EXPLOSION_FACTOR = 1e6


class TrainingDivergedError(FloatingPointError):
    """The loss became NaN or infinite, or exploded, during :func:`train`.

    ``history`` holds what was recorded before (a :class:`History`, or None), ``step`` the step
    whose loss diverged, so a notebook can still plot the run that went wrong.
    """

    def __init__(self, message: str, history: "History | None" = None, step: int | None = None):
        super().__init__(message)
        self.history = history
        self.step = step


@dataclass
class History:
    """What :func:`train` records: one loss per step, plus any extra logged metrics.

    ``loss[i]`` is the loss of step ``i + 1``; ``metrics[key][i]`` the matching value of
    every other key the model's ``loss`` returned in its dict. ``interrupted`` is True when
    training was stopped by a KeyboardInterrupt (the steps before it are kept).
    """

    loss: list[float] = field(default_factory=list)
    metrics: dict[str, list[float]] = field(default_factory=dict)
    steps: int = 0
    seconds: float = 0.0
    device: str = "cpu"
    interrupted: bool = False

    def __len__(self) -> int:
        return len(self.loss)

    def last(self, n: int = 10) -> float:
        """Mean of the last ``n`` losses (all of them if fewer were recorded)."""
        check_int("n", n, minimum=1)
        if not self.loss:
            raise ValueError("the history is empty: no step was recorded yet")
        tail = self.loss[-n:]
        return sum(tail) / len(tail)

    def as_dict(self) -> dict:
        """A plain dict (lists copied), ready for ``json.dump``."""
        return {
            "loss": list(self.loss),
            "metrics": {key: list(values) for key, values in self.metrics.items()},
            "steps": self.steps,
            "seconds": self.seconds,
            "device": self.device,
            "interrupted": self.interrupted,
        }

    def __repr__(self) -> str:
        final = f"{self.loss[-1]:.4g}" if self.loss else "n/a"
        keys = ", ".join(self.metrics) or "none"
        stopped = ", interrupted" if self.interrupted else ""
        return (
            f"History(steps={self.steps}, final loss={final}, metrics: {keys}, "
            f"{self.seconds:.1f}s on {self.device}{stopped})"
        )


def check_loss(value: float, step: int, history: History | None = None, *, total: int | None = None,
               what: str = "loss", first: float | None = None) -> float:
    """Return ``value`` (a step's loss) if training has not diverged; else raise
    :class:`TrainingDivergedError` naming the step, with ``history`` attached.

    Diverged means NaN or infinite, or exploded: ``|value| > EXPLOSION_FACTOR * max(1, |first|)``,
    where ``first`` is the first loss of the run (default ``history.loss[0]``; none yet: no explosion
    test). ``total`` (the planned number of steps) and ``what`` ("loss", "generator loss", ...) only
    shape the message.
    """
    of_total = f" (of {total})" if total is not None else ""
    if not math.isfinite(value):
        raise TrainingDivergedError(
            f"{what} became {value} at step {step}{of_total}; try a smaller learning rate or grad_clip",
            history, step)
    if first is None and history is not None and history.loss:
        first = history.loss[0]
    if first is not None and abs(value) > EXPLOSION_FACTOR * max(1.0, abs(first)):
        raise TrainingDivergedError(
            f"{what} exploded to {value:.3g} at step {step}{of_total}, from {first:.4g} at the start; "
            "try a smaller learning rate or grad_clip", history, step)
    return value


# ----------------------------------------------------------------------------- checks


def _check_steps_or_epochs(steps, epochs) -> None:
    if (steps is None) == (epochs is None):
        raise ValueError(
            "give exactly one of steps= or epochs=, got "
            f"steps={steps!r} and epochs={epochs!r}"
        )
    if steps is not None:
        check_int("steps", steps, minimum=1, maximum=MAX_STEPS)
    else:
        check_int("epochs", epochs, minimum=1, maximum=MAX_STEPS)


def _check_model(model) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not callable(getattr(model, "loss", None)):
        raise TypeError(
            f"{type(model).__name__} has no loss(batch) method: train() calls "
            "model.loss(batch) and expects a scalar tensor or a dict with key 'loss'"
        )


# ----------------------------------------------------------------------------- pieces


def make_optimizer(params, optimizer="adam", lr: float = 1e-3, weight_decay: float = 0.0):
    """Build the optimizer named ``optimizer`` over ``params``.

    ``"adam"``, ``"adamw"``, ``"sgd"`` (momentum 0.9) or ``"rmsprop"``; an already built
    ``torch.optim.Optimizer`` is returned as it is (``lr`` and ``weight_decay`` unused).
    """
    if isinstance(optimizer, torch.optim.Optimizer):
        return optimizer
    if not isinstance(optimizer, str):
        raise TypeError(
            "optimizer must be a name or a torch.optim.Optimizer, "
            f"got {type(optimizer).__name__}"
        )
    lr = check_positive_number("lr", lr)
    weight_decay = check_nonnegative("weight_decay", weight_decay)
    params = list(params)
    if not params:
        raise ValueError("the model has no trainable parameters to optimize")
    name = optimizer.lower()
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {optimizer!r}: expected one of {', '.join(OPTIMIZERS)}")


def to_device(batch, device):
    """Move tensors in ``batch`` (nested tuples, lists and dicts too) to ``device`` (a name or a
    ``torch.device``); anything else in it is returned as it is."""
    if not isinstance(device, torch.device):
        device = resolve_device(device)
    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, tuple):
        return tuple(to_device(item, device) for item in batch)
    if isinstance(batch, list):
        return [to_device(item, device) for item in batch]
    if isinstance(batch, Mapping):
        return {key: to_device(value, device) for key, value in batch.items()}
    return batch


def _check_tensor_data(data, values: bool = False) -> int:
    """The number of rows of tensor ``data``; ``values``: also check every entry is real and finite."""
    tensors = data if isinstance(data, (tuple, list)) else (data,)
    if not tensors:
        raise ValueError("data is an empty tuple/list: expected tensors with the same first dimension")
    sizes = []
    for tensor in tensors:
        if tensor.ndim == 0:
            raise ValueError("data tensors need a first (batch) dimension, got a 0-d tensor")
        sizes.append(tensor.shape[0])
        if values:
            check_tensor("data", tensor, what="(each training tensor)")  # real-valued, no NaN or inf
    if len(set(sizes)) != 1:
        raise ValueError(f"data tensors must share their first dimension, got sizes {sizes}")
    if sizes[0] == 0:
        raise ValueError("data has no rows")
    return sizes[0]


def _is_tensor_data(data) -> bool:
    if isinstance(data, torch.Tensor):
        return True
    return (
        isinstance(data, (tuple, list))
        and len(data) > 0
        and all(isinstance(item, torch.Tensor) for item in data)
    )


def _tensor_epoch(data, batch_size: int, generator: torch.Generator):
    """One shuffled pass over tensor data: ``ceil(rows / batch_size)`` batches."""
    n_rows = _check_tensor_data(data)
    order = torch.randperm(n_rows, generator=generator)
    for start in range(0, n_rows, batch_size):
        index = order[start:start + batch_size]
        if isinstance(data, torch.Tensor):
            yield data[index.to(data.device)]
        else:
            yield type(data)(tensor[index.to(tensor.device)] for tensor in data)


def _epochs(data, batch_size: int, generator: torch.Generator):
    """Yield one iterable of batches per epoch, forever."""
    tensor_data = _is_tensor_data(data)
    if tensor_data:
        _check_tensor_data(data, values=True)
    elif not isinstance(data, Iterable) or isinstance(data, (str, bytes, Mapping)):
        raise TypeError(
            "data must be a tensor, a tuple/list of tensors or an iterable of batches "
            f"(e.g. a DataLoader), got {type(data).__name__}"
        )
    while True:
        yield _tensor_epoch(data, batch_size, generator) if tensor_data else iter(data)


def _batches(data, batch_size: int, generator: torch.Generator, epochs: int | None):
    """All batches of training: ``epochs`` passes, or endless passes when ``epochs`` is None."""
    for epoch, batches in enumerate(_epochs(data, batch_size, generator), start=1):
        if epochs is not None and epoch > epochs:
            return
        empty = True
        for batch in batches:
            empty = False
            yield batch
        if empty:
            raise ValueError(
                f"data yielded no batches in epoch {epoch}: an iterator can be used only "
                "once; pass a list or a DataLoader so it can be re-iterated"
            )


def _total_steps(data, batch_size: int, steps, epochs):
    if steps is not None:
        return steps
    if _is_tensor_data(data):
        return epochs * math.ceil(_check_tensor_data(data) / batch_size)
    try:
        return epochs * len(data)
    except TypeError:
        return None


def _scalar(value, key: str) -> float:
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise TypeError(
                f"model.loss returned {key!r} with shape {tuple(value.shape)}: expected a scalar"
            )
        return float(value.detach())
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise TypeError(f"model.loss returned {key!r} as {type(value).__name__}: expected a scalar")


def _split_loss(output) -> tuple[torch.Tensor, dict[str, float]]:
    """The loss tensor to backpropagate and the extra metrics to log."""
    if isinstance(output, Mapping):
        if "loss" not in output:
            raise TypeError(
                f"model.loss returned a dict with keys {sorted(output)}: expected a 'loss' key"
            )
        loss = output["loss"]
        metrics = {key: _scalar(value, key) for key, value in output.items() if key != "loss"}
    else:
        loss, metrics = output, {}
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        got = type(loss).__name__ if not isinstance(loss, torch.Tensor) else f"shape {tuple(loss.shape)}"
        raise TypeError(f"model.loss must return a scalar tensor (or a dict with one), got {got}")
    if not loss.requires_grad:
        raise TypeError("model.loss returned a tensor that does not require grad: nothing to train")
    return loss.reshape(()), metrics


def record(history: History, loss_value: float, metrics: Mapping[str, float]) -> None:
    """Append one step's loss and its other metrics to ``history`` (every loop does this after a step)."""
    history.loss.append(loss_value)
    for key, value in metrics.items():
        history.metrics.setdefault(key, []).append(value)
    history.steps += 1


def check_callback(callback):
    """Return ``callback`` if it is None or callable as ``callback(step, history)``; TypeError otherwise."""
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable, got {type(callback).__name__}")
    return callback


def wants_stop(callback, step: int, history: History) -> bool:
    """Run ``callback(step, history)`` after a step (if there is one); True when it asks to stop early."""
    return callback is not None and callback(step, history) is True


def note_interrupt(history: History) -> None:
    """What a loop does on KeyboardInterrupt (the notebook's stop button): mark the history and say so."""
    history.interrupted = True
    print(f"[course_gen] training interrupted after {history.steps} steps: returning the history so far "
          "(history.interrupted is True)")


# ----------------------------------------------------------------------------- the loop


def train(
    model: nn.Module,
    data,
    *,
    steps: int | None = None,
    epochs: int | None = None,
    batch_size: int = 128,
    lr: float = 1e-3,
    optimizer="adam",
    weight_decay: float = 0.0,
    grad_clip: float | None = None,
    device=None,
    seed: int = 0,
    progress: bool = True,
    log_every: int = 1,
    desc: str | None = None,
    callback: Callable[[int, History], bool | None] | None = None,
) -> History:
    """Minimise ``model.loss(batch)`` with a gradient optimizer and return a :class:`History`.

    Each step: ``loss = model.loss(batch)``; check it is finite; ``loss.backward()``;
    optionally clip the gradient norm to ``grad_clip``; ``optimizer.step()``.

    - ``data``: a tensor (an epoch is one shuffled pass in batches of ``batch_size`` rows,
      ``ceil(rows / batch_size)`` steps), a tuple/list of tensors with the same first
      dimension (batches keep that structure), or any re-iterable of batches such as a
      DataLoader (batches as yielded, moved to ``device``).
    - Exactly one of ``steps`` (optimizer steps) or ``epochs`` (passes over ``data``).
    - ``optimizer``: ``"adam"``, ``"adamw"``, ``"sgd"`` (momentum 0.9), ``"rmsprop"`` or a
      built ``torch.optim.Optimizer`` (then ``lr`` and ``weight_decay`` are not used).
    - ``device``: None means :func:`course_gen.device`; the model is moved there and stays.
    - ``seed``: the run draws from torch's generator seeded with ``seed`` (:func:`course_gen.runtime.seeded`)
      and orders the batches with its own generator, so the same seed and initial weights give the same
      history; the caller's random stream is left where it was.
    - ``progress``: a tqdm bar (a widget in Jupyter, text in a terminal); ``progress=False``
      or the environment variable ``TQDM_DISABLE=1`` hides it.
    - ``log_every``: how often (in steps) the progress bar's loss is refreshed.
    - ``callback(step, history)`` runs after every step; returning True stops early.

    The model is in train mode while training and in eval mode afterwards (also after an
    error). If a loss is NaN or infinite, or explodes (:func:`check_loss`: more than
    :data:`EXPLOSION_FACTOR` times the first loss), :class:`TrainingDivergedError` is raised
    before that step's backward pass, so the parameters keep their values from the last good
    step; the error's ``history`` holds the steps recorded until then. A KeyboardInterrupt
    (the notebook's stop button) ends training early: the history so far is returned, with
    ``history.interrupted`` set, and a note is printed.

    Tensor ``data`` must be real-valued and finite; ``steps`` and ``epochs`` are at most
    :data:`MAX_STEPS`.
    """
    _check_model(model)
    _check_steps_or_epochs(steps, epochs)
    check_int("batch_size", batch_size, minimum=1)
    check_int("log_every", log_every, minimum=1)
    check_bool("progress", progress)
    if grad_clip is not None:
        grad_clip = check_positive_number("grad_clip", grad_clip)
    check_callback(callback)
    if desc is not None and not isinstance(desc, str):
        raise TypeError(f"desc must be a str or None, got {type(desc).__name__}")
    target = resolve_device(device)

    with seeded(seed):  # the model's own draws (noise, dropout) repeat; the caller's stream is left alone
        return _run(model, data, target, optimizer, lr, weight_decay, batch_size, steps, epochs, grad_clip,
                    log_every, callback, progress, desc, torch.Generator().manual_seed(seed))


def _run(model, data, target, optimizer, lr, weight_decay, batch_size, steps, epochs, grad_clip, log_every,
         callback, progress, desc, generator) -> History:
    """The loop of :func:`train`, on checked arguments; ``generator`` orders the batches."""
    model.to(target)
    opt = make_optimizer(
        (p for p in model.parameters() if p.requires_grad), optimizer, lr, weight_decay
    )
    total = _total_steps(data, batch_size, steps, epochs)
    batches = _batches(data, batch_size, generator, epochs)
    history = History(device=str(target))

    from tqdm.auto import tqdm  # imported here: tqdm.auto may look for Jupyter

    hidden = not progress or env_flag("TQDM_DISABLE")  # read now, not at tqdm's import
    bar = tqdm(total=total, desc=desc or type(model).__name__, disable=hidden)
    start = time.perf_counter()
    model.train()
    try:
        for step, batch in enumerate(batches, start=1):
            loss_value, metrics = _train_step(model, opt, to_device(batch, target), grad_clip, step, total, history)
            record(history, loss_value, metrics)
            bar.update(1)
            if step % log_every == 0:
                bar.set_postfix(loss=f"{loss_value:.4g}", refresh=False)
            if wants_stop(callback, step, history):
                break
            if steps is not None and step >= steps:
                break
    except KeyboardInterrupt:
        note_interrupt(history)
    finally:
        history.seconds = time.perf_counter() - start
        bar.close()
        model.eval()
    return history


def _train_step(model, opt, batch, grad_clip, step: int, total, history: History) -> tuple[float, dict[str, float]]:
    """One optimizer step; raises TrainingDivergedError (via :func:`check_loss`) before touching the parameters."""
    opt.zero_grad(set_to_none=True)
    loss, metrics = _split_loss(model.loss(batch))
    loss_value = check_loss(float(loss.detach()), step, history, total=total)
    loss.backward()
    if grad_clip is not None:
        nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    opt.step()
    return loss_value, metrics
