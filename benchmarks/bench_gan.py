"""GAN training speed: milliseconds per iteration (k D-steps + one G-step) of ``gan.GANTrainer``.

Two settings, both from notebook 06: the 2-D MLP GAN of the playground (batch 128) and the
DCGAN on 8x8 digits (batch 64), on one CPU thread (as the notebooks run) and, when there is
one, on the GPU. "iterations / s" is what the playground and the notebook's budgets rest on
(the notebook's 1500 DCGAN iterations take 1500 x ms / 1000 seconds). The reference is one
plain matrix multiply loop, so numbers from different machines compare.
"""

from __future__ import annotations

import time

import torch

from course_gen import gan
from course_gen.data import digits, toy2d

try:  # run by benchmarks/run.py, which puts this folder on sys.path
    from run import print_table
except ImportError:  # pragma: no cover - imported some other way
    from benchmarks.run import print_table

ITERATIONS = 100


def reference_ms() -> float:
    """Milliseconds for one 256x256 float32 matrix product (one thread), the machine's yardstick."""
    a = torch.randn(256, 256)
    start = time.perf_counter()
    for _ in range(200):
        a @ a
    return (time.perf_counter() - start) / 200 * 1000


def ms_per_iteration(build, data, batch_size: int, k: int, device: str) -> float:
    generator, discriminator = build()
    trainer = gan.GANTrainer(generator, discriminator, data, k=k, batch_size=batch_size, device=device, seed=0)
    trainer.run(5)  # warm-up
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    trainer.run(ITERATIONS)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / ITERATIONS * 1000


def gan_speed_table() -> None:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        reference = reference_ms()
        points, (images, _) = toy2d("8gaussians", 4000, seed=0), digits("train")
        settings = [
            ("MLP GAN, 2-D, k=1", lambda: gan.mlp_gan(seed=0), points, 128, 1),
            ("MLP GAN, 2-D, k=5", lambda: gan.mlp_gan(seed=0), points, 128, 5),
            ("DCGAN, 8x8 digits, k=1", lambda: gan.dcgan(image_size=8, seed=0), images, 64, 1),
        ]
        devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
        rows = []
        for name, build, data, batch, k in settings:
            for device in devices:
                ms = ms_per_iteration(build, data, batch, k, device)
                rows.append([name, device, ms, 1000 / ms, ms / reference])
    finally:
        torch.set_num_threads(threads)
    print_table(
        f"GAN training speed ({ITERATIONS} iterations; reference = 256x256 matmul, {reference:.3f} ms)",
        ["setting", "device", "ms / iteration", "iterations / s", "ms / ref"],
        rows,
    )


TABLES = {"gan_speed": gan_speed_table}
