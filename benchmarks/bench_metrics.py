"""frechet_distance (Cholesky + symmetric eigenvalues) against the scipy.linalg.sqrtm reference.

The reference is what pytorch-fid and the original TTUR code compute:

    ||m1 - m2||^2 + Tr(S1) + Tr(S2) - 2 Tr(sqrtm(S1 @ S2))        (sqrtm: a Schur-based square root)

``course_gen.metrics.frechet_distance`` gets ``Tr((S1 S2)^(1/2))`` as the sum of the square roots of
the eigenvalues of the symmetric PSD matrix ``L^T S2 L`` with ``S1 = L L^T`` (a Cholesky factor and
``eigvalsh``, float64; the symmetric square root replaces L when S1 is singular).
Feature size 2048 (Inception's pool3), covariances of 4096 random ReLU features through a random
linear map, so the spectrum decays like real features'. Both get the same (mu, sigma); the time
of computing the statistics is common and not counted. "rel. diff" is |ours - scipy| / scipy.
"""

from __future__ import annotations


import numpy as np
import scipy.linalg
import torch

from course_gen import metrics

try:  # run by benchmarks/run.py, which puts this folder on sys.path
    from run import best_time, print_table
except ImportError:  # pragma: no cover - imported some other way
    from benchmarks.run import best_time, print_table


def feature_stats(n: int, d: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    mixing = torch.randn(d, d, generator=g, dtype=torch.float64) / d**0.5
    features = torch.relu(torch.randn(n, d, generator=g, dtype=torch.float64) @ mixing + 0.1 * seed)
    return metrics.gaussian_stats(features)


def scipy_frechet(mu1, s1, mu2, s2) -> float:
    mu1, s1, mu2, s2 = (t.numpy() for t in (mu1, s1, mu2, s2))
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean).real)


def fid_table(dims=(64, 512, 2048), n: int = 4096) -> None:
    """Agreement and time of frechet_distance vs scipy's sqrtm at several feature sizes."""
    rows = []
    for d in dims:
        mu1, s1 = feature_stats(n, d, seed=1)
        mu2, s2 = feature_stats(n, d, seed=2)
        ours_s, ours = best_time(lambda: metrics.frechet_distance(mu1, s1, mu2, s2), 3)
        ref_s, ref = best_time(lambda: scipy_frechet(mu1, s1, mu2, s2), 1 if d >= 1024 else 3)
        rows.append([d, f"{ours:.8g}", f"{ref:.8g}", f"{abs(ours - ref) / abs(ref):.1e}", ours_s, ref_s, ref_s / ours_s])
    print_table(
        f"Fréchet distance: Cholesky + eigvalsh vs scipy.linalg.sqrtm (n = {n} features, torch threads = {torch.get_num_threads()})",
        ["d", "ours", "scipy sqrtm", "rel. diff", "ours s", "scipy s", "scipy / ours"],
        rows,
    )


TABLES = {"fid": fid_table}

if __name__ == "__main__":
    fid_table()
