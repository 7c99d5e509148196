"""The shipped models: what their recipe cost and reached, and what a training step costs here now.

For each model of ``course_gen.pretrained``: the steps, training time and test result that
``python -m course_gen.pretrain NAME`` recorded when it made the shipped file (``assets/NAME.json``:
test NLL or bound in nats per image on the 2,000 binarised test digits, FID for the GAN, accuracy for
the classifier; the likelihood models' numbers also in bits per dimension, D = 784), and the milliseconds
per training step measured now (10 steps of the recipe after 2 warm-up steps, one CPU thread). The reference in the same run is one step of the VAE, the cheapest:
"x VAE" says how many VAE steps one step of each model costs.
"""

from __future__ import annotations

import torch

from course_gen import metrics, pretrain, pretrained

try:  # run by benchmarks/run.py, which puts this folder on sys.path
    from run import print_table
except ImportError:  # pragma: no cover - imported some other way
    from benchmarks.run import print_table

STEPS_TIMED = 10


def _step_ms(name: str) -> float:
    model = pretrained.build(name)
    fit = pretrain._train_gan if name == "dcgan" else pretrain._train_likelihood
    fit(name, model, torch.device("cpu"), 0, 2, progress=False)  # warm-up (ActNorm initialisation, allocations)
    seconds, _ = fit(name, model, torch.device("cpu"), 1, STEPS_TIMED, progress=False)
    return 1000 * seconds / STEPS_TIMED


def _result(report: dict) -> str:
    for key, label in [("test_nll_nats", "NLL"), ("test_iwae_nats", "IWAE bound"), ("test_bound_nats", "bound"),
                       ("test_total_nats", "ELBO bound")]:
        if key in report:
            extra = f", ELBO {report['test_elbo_nats']:.1f}" if key == "test_iwae_nats" else ""
            return f"{label} {report[key]:.1f} nats = {metrics.bits_per_dim(report[key], 784):.4f} bits/dim{extra}"
    if "test_FID" in report:
        return f"FID {report['test_FID']:.1f}"
    return f"accuracy {report['test_accuracy_grey']:.3f} grey, {report['test_accuracy_binary']:.3f} binary"


def pretrain_table() -> None:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        step_ms = {name: _step_ms(name) for name in pretrained.NAMES}
        rows = []
        for name in pretrained.NAMES:
            report = pretrained.report(name)
            rows.append([name, report["steps"], report["batch_size"], f"{report['train_seconds'] / 60:.1f}",
                         report["device"], _result(report), step_ms[name], f"{step_ms[name] / step_ms['vae']:.0f}"])
    finally:
        torch.set_num_threads(threads)
    print_table("shipped models: the recipe's run (assets/NAME.json) and one training step now (CPU, 1 thread)",
                ["model", "steps", "batch", "train min (recipe)", "device", "test result (recipe)",
                 "ms per step now", "x VAE"], rows)


TABLES = {"pretrain": pretrain_table}
