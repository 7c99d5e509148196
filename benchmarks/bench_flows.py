"""Flows: the cost of a log-determinant, and of training and sampling the digits flow.

- "1x1 conv log-det": Glow's invertible 1x1 convolution on a (64, c, 8, 8) batch, forward pass
  with log|det W| from ``slogdet`` (O(c^3)) against the LU parametrisation (sum log|s|, O(c)).
  The goal: LU no slower, and faster as c grows.
- "digits flow": ``flows.realnvp_digits`` (the 8x8 digits flow; the shipped 28x28 ones are timed by `bench_pretrain.py`; with uniform or learned dequantisation
  noise): milliseconds per training step (batch 128), and per sampled batch of 64 digits (one pass through the inverse: sampling a flow
  is as cheap as evaluating it, unlike an autoregressive model's one pass per pixel).

Times are the best of a few runs, wall clock, one thread.
"""

from __future__ import annotations

import time

import torch

from course_gen import flows
from course_gen.data import digits
from course_gen.train import train

try:  # run by benchmarks/run.py, which puts this folder on sys.path
    from run import best_time, print_table
except ImportError:  # pragma: no cover - imported some other way
    from benchmarks.run import best_time, print_table


def best_ms(fn, repeats: int = 5) -> float:
    return 1000 * best_time(fn, repeats)[0]


def conv_log_det_table() -> None:
    torch.set_num_threads(1)
    rows = []
    for channels in (4, 16, 64, 256):
        x = torch.randn(64, channels, 8, 8)
        dense, lu = flows.Invertible1x1Conv(channels), flows.Invertible1x1Conv(channels, lu=True)
        with torch.no_grad():
            dense_ms = best_ms(lambda: dense(x))
            lu_ms = best_ms(lambda: lu(x))
            dense_det = best_ms(lambda: dense.log_abs_det_weight(), 20)
            lu_det = best_ms(lambda: lu.log_abs_det_weight(), 20)
        rows.append([channels, dense_ms, lu_ms, 1000 * dense_det, 1000 * lu_det])
    print_table("1x1 conv log-det (batch 64 x c x 8 x 8)",
                ["channels c", "forward ms, slogdet", "forward ms, LU", "log-det us, slogdet", "log-det us, LU"], rows)


def digits_flow_table() -> None:
    torch.set_num_threads(1)
    x_train, _ = digits("train")
    rows = []
    for n_levels, dequantization in [(17, "uniform"), (2, "uniform"), (2, "variational")]:
        data = x_train if n_levels == 17 else (x_train >= 0.5).float()
        model = flows.realnvp_digits(n_levels=n_levels, dequantization=dequantization)
        train(model, data, steps=5, progress=False, device="cpu")  # ActNorm initialisation, warm-up
        steps = 50
        start = time.perf_counter()
        train(model, data, steps=steps, batch_size=128, progress=False, device="cpu")
        step_ms = 1000 * (time.perf_counter() - start) / steps
        sample_ms = best_ms(lambda: model.sample(64, seed=0))
        rows.append([n_levels, dequantization, sum(p.numel() for p in model.parameters()), step_ms, sample_ms])
    print_table("digits flow (realnvp_digits, CPU, 1 thread)",
                ["levels K", "noise", "parameters", "ms per training step (batch 128)", "ms per 64 samples"], rows)


TABLES = {"flows_log_det": conv_log_det_table, "flows_digits": digits_flow_table}
