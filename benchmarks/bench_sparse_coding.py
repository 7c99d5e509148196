"""sparse_encode against scikit-learn's SparseCoder(transform_algorithm="lasso_cd").

Both solve, for 5000 patches of 8x8 pixels and 100 unit-norm atoms, the same problem

    min_a  1/2 ||x - a D||^2 + lam ||a||_1        for every patch x

(SparseCoder's transform_alpha is our lam). Two dictionaries:

- "learned": notebook 01's setting: high-contrast patches, whitened (whiten_patches), and a
  dictionary learned on other patches with learn_dictionary;
- "patch atoms": raw mean-removed patches, atoms that are other patches (normalised):
  very coherent atoms, the hard case for first-order solvers.

Times are the best of a few runs (wall clock). "ours / sklearn" is the goal (<= 1.0);
"1 thread" times sparse_encode with torch limited to one thread, as scikit-learn's
coordinate descent runs on one. Objectives are summed over the patches, in float64.
"""

from __future__ import annotations

import warnings

import torch

from course_gen import sparse_coding as sc
from course_gen.data import patches

try:  # run by benchmarks/run.py, which puts this folder on sys.path
    from run import best_time, print_table
except ImportError:  # pragma: no cover - imported some other way
    from benchmarks.run import best_time, print_table

N_PATCHES = 5000
N_ATOMS = 100


def learned_problem() -> tuple[torch.Tensor, torch.Tensor, float]:
    lam = 0.1
    train, whitening = sc.whiten_patches(sc.high_contrast(patches(20000, seed=0), 0.5))
    D, _ = sc.learn_dictionary(train, N_ATOMS, lam, n_iter=20, device="cpu")
    X = whitening.transform(sc.high_contrast(patches(2 * N_PATCHES, seed=1), 0.5))
    return X.double(), D.double(), lam


def patch_atom_problem() -> tuple[torch.Tensor, torch.Tensor, float]:
    X = patches(N_PATCHES, seed=0).double()
    X = X - X.mean(1, keepdim=True)
    D = patches(N_ATOMS, seed=1).double()
    D = D - D.mean(1, keepdim=True)
    return X, D / D.norm(dim=1, keepdim=True), 0.05


def sklearn_codes(X: torch.Tensor, D: torch.Tensor, lam: float) -> torch.Tensor:
    from sklearn.decomposition import SparseCoder

    coder = SparseCoder(D.numpy(), transform_algorithm="lasso_cd", transform_alpha=lam)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Objective did not converge" for a few patches
        return torch.from_numpy(coder.transform(X.numpy()))


def with_one_thread(fn):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return fn()
    finally:
        torch.set_num_threads(threads)


def sparse_encode_table() -> None:
    rows = []
    for name, make in (("learned", learned_problem), ("patch atoms", patch_atom_problem)):
        X64, D64, lam = make()
        for dtype in (torch.float64, torch.float32):
            X, D = X64.to(dtype), D64.to(dtype)
            sc.sparse_encode(X[:100], D, lam)  # warm-up
            ours_s, ours = best_time(lambda: sc.sparse_encode(X, D, lam), repeats=5)
            one_s, _ = with_one_thread(lambda: best_time(lambda: sc.sparse_encode(X, D, lam), repeats=3))
            theirs_s, theirs = best_time(lambda: sklearn_codes(X, D, lam), repeats=2)
            ours_objective = sc.lasso_objective(X64, D64, ours.double(), lam)
            theirs_objective = sc.lasso_objective(X64, D64, theirs.double(), lam)
            relative = (ours_objective - theirs_objective) / theirs_objective
            rows.append([
                name, str(dtype).replace("torch.", ""), lam, ours_s, one_s, theirs_s,
                f"{ours_s / theirs_s:.2f}", f"{one_s / theirs_s:.2f}",
                f"{ours_objective:.6f}", f"{theirs_objective:.6f}", f"{relative:+.1e}",
            ])
    print_table(
        f"sparse_encode vs SparseCoder(lasso_cd): {N_PATCHES} patches 8x8, {N_ATOMS} atoms "
        f"(torch threads: {torch.get_num_threads()})",
        ["dictionary", "dtype", "lam", "ours s", "ours 1 thread s", "sklearn s", "ours / sklearn",
         "1 thread / sklearn", "objective ours", "objective sklearn", "relative difference"],
        rows,
    )


TABLES = {"sparse_encode": sparse_encode_table}
