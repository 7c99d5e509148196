"""VAE costs: training steps per second, and the IWAE bound's cost and memory against k and chunk.

``iwae_bound(model, x, k, chunk)`` draws the k importance samples ``chunk`` at a time and merges
the partial ``logsumexp``s, so memory is bounded by ``chunk * B * D`` values whatever k is.
The table shows the time of the bound on the 300 test digits for growing k, for two chunk
sizes, next to the ELBO's time (one sample); "per sample" is the time divided by k. Times are
the best of 3 runs (wall clock), on one CPU thread (as the notebooks run).
"""

from __future__ import annotations


import torch

from course_gen import data, vae
from course_gen.train import train

try:  # run by benchmarks/run.py, which puts this folder on sys.path
    from run import best_time, print_table
except ImportError:  # pragma: no cover - imported some other way
    from benchmarks.run import best_time, print_table


def vae_table() -> None:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        x_train, _ = data.digits("train", binarize=True)
        x_test, _ = data.digits("test", binarize=True)
        torch.manual_seed(0)
        model = vae.VAE(latent_dim=10, likelihood="bernoulli")
        history = train(model, x_train, steps=300, lr=2e-3, batch_size=128, device="cpu", progress=False)
        rows = [["train step (batch 128)", "-", "-", history.seconds / history.steps * 1000, "-"]]
        with torch.no_grad():
            elbo_seconds, _ = best_time(lambda: model.elbo(x_test, seed=0))
        rows.append(["ELBO (1 sample)", 1, "-", elbo_seconds * 1000, elbo_seconds * 1000])
        for k in (10, 100, 1000):
            for chunk in sorted({10, min(100, k), k}):
                seconds, _ = best_time(lambda: vae.iwae_bound(model, x_test, k=k, seed=0, chunk=chunk))
                rows.append([f"IWAE bound, chunk {chunk}", k, chunk * x_test.shape[0] * 64, seconds * 1000,
                             seconds * 1000 / k])
    finally:
        torch.set_num_threads(threads)
    print_table(
        "VAE (latent 10) on the 8x8 digits: cost of training and of the bounds (300 test images)",
        ["what", "k", "decoder outputs held", "ms", "ms per sample"],
        rows,
    )


TABLES = {"vae": vae_table}
