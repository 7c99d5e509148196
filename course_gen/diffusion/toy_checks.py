"""Checks of the 2-D toy models against the truth (notebook 08): the score error at each noise level, and a
two-sample test of model samples against held-out data, with a threshold from the statistic's null
distribution; plus the shipped toy models (:func:`shipped_toy`).

**Energy distance** (Szekely & Rizzo): ``E(P, Q) = 2 E|X - Y| - E|X - X'| - E|Y - Y'|`` with X, X' ~ P and
Y, Y' ~ Q independent; it is >= 0 and is 0 only when P = Q (it is the MMD of the kernel -|x - y|, a
characteristic one). The cubic polynomial kernel of :func:`course_gen.metrics.kid` matches only moments up
to order 3, so it cannot tell a mixture from a distribution with the same first three moments: not reused.

**The threshold**: under H0 (both sets drawn from one distribution) the m + n pooled points are exchangeable,
so every relabelling into sets of sizes m and n is equally likely to be the observed one. The statistics of
random relabellings are draws from its null distribution given the pooled points; their (1 - alpha)
quantile is a level-alpha threshold, and ``p = (1 + #{E_perm >= E_obs}) / (1 + n_permutations)`` a valid
p-value (Lehmann & Romano, Testing Statistical Hypotheses, 15.2).
"""

from __future__ import annotations

import torch

from course_gen._checks import check_bool, check_choice, check_int, check_probability, check_seed, check_tensor
from course_gen.diffusion.toy import FlowMatching, GaussianMixture2D, ToyDiffusion, check_points, toy_mixture

MAX_SET, MAX_PERMUTATIONS = 4000, 10_000
SHIPPED_TOY = ("diffusion08_dsm", "diffusion08_flow")
#: How the shipped toy models were made: data ``toy_mixture().sample(n_train, data_seed)``, initial weights from
#: ``seed``; Adam with batches of ``batch_size``, ``steps[i]`` steps at ``lr[i]`` (phase i draws with seed + i).
TOY_RECIPE = {"n_train": 20_000, "data_seed": 0, "steps": (9000, 4000), "lr": (2e-3, 4e-4), "batch_size": 512,
              "seed": 0, "T": 100, "schedule": "linear", "hidden": 128}


def _set(name: str, x) -> torch.Tensor:
    x = check_points(name, x)
    if not 2 <= len(x) <= MAX_SET:
        raise ValueError(f"{name} must hold between 2 and {MAX_SET} points, got {len(x)}")
    return x.double()


def _energy_from_distances(distances: torch.Tensor, membership: torch.Tensor) -> torch.Tensor:
    """Energy statistics for rows of ``membership`` (P, N), 1 for the first set: with a, b = 1 - a,
    ``2 a'Db / (mn) - a'Da / (m(m-1)) - b'Db / (n(n-1))`` (D has a zero diagonal: U-statistics)."""
    m = membership[0].sum()
    n = membership.shape[1] - m
    da = membership @ distances
    aa, ab = (da * membership).sum(1), (da * (1 - membership)).sum(1)
    bb = distances.sum() - 2 * ab - aa
    return 2 * ab / (m * n) - aa / (m * (m - 1)) - bb / (n * (n - 1))


def energy_distance(x: torch.Tensor, y: torch.Tensor) -> float:
    """The unbiased energy distance of two sets of 2-D points (see the module docstring)."""
    x, y = _set("x", x), _set("y", y)
    pooled = torch.cat([x, y])
    membership = torch.cat([torch.ones(len(x)), torch.zeros(len(y))]).double()[None]
    return float(_energy_from_distances(torch.cdist(pooled, pooled), membership)[0])


def two_sample_test(samples: torch.Tensor, data: torch.Tensor, n_permutations: int = 200, alpha: float = 0.05,
                    seed: int = 0) -> dict:
    """Permutation test of "samples and data come from one distribution" with the energy distance.

    Returns ``{"statistic", "threshold", "p_value", "reject"}``: the threshold is the (1 - alpha) quantile of
    the statistic over ``n_permutations`` random relabellings of the pooled points (seeded), and ``reject``
    is ``p_value <= alpha``."""
    x, y = _set("samples", samples), _set("data", data)
    n_permutations = check_int("n_permutations", n_permutations, minimum=19, maximum=MAX_PERMUTATIONS)
    alpha = check_probability("alpha", alpha)
    if alpha == 0:
        raise ValueError("alpha must lie in (0, 1), got 0")
    pooled = torch.cat([x, y])
    distances = torch.cdist(pooled, pooled)
    labels = torch.cat([torch.ones(len(x)), torch.zeros(len(y))]).double()
    observed = _energy_from_distances(distances, labels[None])[0]
    generator = torch.Generator().manual_seed(check_seed(seed))
    null = []
    for start in range(0, n_permutations, 100):  # relabellings in chunks of 100: (100, m + n) memberships
        size = min(100, n_permutations - start)
        chunk = [labels[torch.randperm(len(labels), generator=generator)] for _ in range(size)]
        null.append(_energy_from_distances(distances, torch.stack(chunk)))
    null = torch.cat(null)
    p_value = float((1 + (null >= observed).sum()) / (1 + n_permutations))
    return {"statistic": float(observed), "threshold": float(torch.quantile(null, 1 - alpha)), "p_value": p_value,
            "reject": p_value <= alpha}


def score_error(model: ToyDiffusion, mixture: GaussianMixture2D, t_values: torch.Tensor, n: int = 2000,
                seed: int = 0) -> dict[int, float]:
    """The relative squared error of the learned score at each step t of ``t_values`` (int64, in 1..T):
    ``E ||s_theta(x_t, t) - grad log q_t(x_t)||^2 / E ||grad log q_t(x_t)||^2`` over ``n`` draws x_t of
    q_t (x_0 from ``mixture``, seeded), with the exact score of ``mixture.noised(abar_t)``."""
    if not isinstance(model, ToyDiffusion):
        raise TypeError(f"model must be a ToyDiffusion, got {type(model).__name__}")
    if not isinstance(mixture, GaussianMixture2D):
        raise TypeError(f"mixture must be a GaussianMixture2D, got {type(mixture).__name__}")
    t_values = check_tensor("t_values", t_values, ndim=1, dtype="integer", low=1, high=model.T, what="(steps in 1..T)")
    n = check_int("n", n, minimum=1, maximum=100_000)
    generator = torch.Generator().manual_seed(check_seed(seed))
    errors = {}
    with torch.no_grad():
        for t in t_values.tolist():
            x0 = mixture.sample(n, seed=int(torch.randint(2**31, (1,), generator=generator)))
            noise = torch.randn(n, 2, generator=generator)
            a = float(model.abar(float(t)))
            xt = a**0.5 * x0 + (1 - a) ** 0.5 * noise
            exact = mixture.noised(a).score(xt)
            learned = model.score(xt, float(t)).double()
            errors[int(t)] = float((learned - exact).pow(2).sum(1).mean() / exact.pow(2).sum(1).mean())
    return errors


def _fit(model, progress: bool = False):
    from course_gen.runtime import single_thread
    from course_gen.train import train

    r = TOY_RECIPE
    data = toy_mixture().sample(r["n_train"], r["data_seed"])
    with single_thread():
        for phase, (steps, lr) in enumerate(zip(r["steps"], r["lr"])):
            train(model, data, steps=steps, batch_size=r["batch_size"], lr=lr, seed=r["seed"] + phase, device="cpu",
                  progress=progress)
    return model


def shipped_toy(name: str, retrain: bool = False, root=None):
    """Notebook 08's toy models in eval mode: ``"diffusion08_dsm"`` (:class:`ToyDiffusion`, T = 100, linear)
    and ``"diffusion08_flow"`` (:class:`FlowMatching`), trained on ``toy_mixture()`` with :data:`TOY_RECIPE`.
    Loaded through :func:`course_gen.checkpoints.load_or_train` (sha256-checked; trained with the recipe if
    the file is missing or altered); ``retrain=True`` trains and saves the file in its place."""
    from course_gen import checkpoints

    check_choice("shipped toy model", name, SHIPPED_TOY)
    check_bool("retrain", retrain)
    r = TOY_RECIPE
    if name == "diffusion08_dsm":
        model = ToyDiffusion(T=r["T"], schedule=r["schedule"], hidden=r["hidden"], seed=r["seed"])
    else:
        model = FlowMatching(hidden=r["hidden"], seed=r["seed"])
    note = f"{type(model).__name__} trained on toy_mixture() (8 Gaussians on a ring) with TOY_RECIPE {r}"
    model, _ = checkpoints.load_or_train(model, name, _fit, root=root, retrain=retrain, note=note)
    return model.eval()


__all__ = ["MAX_PERMUTATIONS", "MAX_SET", "SHIPPED_TOY", "TOY_RECIPE", "energy_distance", "score_error",
           "shipped_toy", "two_sample_test"]
