"""Diffusion and flow matching on a 2-D toy whose noised densities are known exactly (notebook 08).

- :class:`GaussianMixture2D`: equal-weight isotropic Gaussians N(mu_k, sigma^2 I). Noised by the VP forward
  process ``x_t = sqrt(abar) x_0 + sqrt(1 - abar) eps`` it stays a mixture, with means ``sqrt(abar) mu_k``
  and variance ``abar sigma^2 + 1 - abar`` (:meth:`~GaussianMixture2D.noised`), so its score
  ``grad log q_t(x) = sum_k r_k(x) (m_k - x) / v`` (r_k the responsibilities) is exact at every noise level.
- :class:`ToyDiffusion`: eps_theta(x, t) (an MLP in the v-parametrisation) trained by denoising score matching;
  its score is ``-eps_theta / sqrt(1 - abar_t)``.
- :class:`FlowMatching`: an MLP velocity v_theta(x, s) regressed on ``x1 - x0`` along straight paths.

The common interface (what the notebook's widget uses): time ``s`` in [0, 1] runs from noise (s = 0) to
data (s = 1); ``velocity(x, s)`` is the field of an ODE that carries N(0, I) to the model's samples;
``transport(x_start, steps, stochastic=False, seed=0)`` returns the whole path ``(steps + 1, N, 2)``;
``sample(n, steps, seed)`` its last point. For the diffusion model the ODE is the probability-flow ODE
(Song et al., 2021), with the same marginals as the ancestral chain that ``stochastic=True`` runs.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from course_gen._checks import (check_bool, check_choice, check_finite_number, check_int, check_positive_number,
                                 check_seed, check_tensor)
from course_gen.diffusion.process import betas as make_betas
from course_gen.diffusion.process import flow_matching_pair, predicted_x0, q_posterior, q_sample, respaced
from course_gen.runtime import evaluating, seeded, single_thread

SOLVERS = ("euler", "heun")
MAX_POINTS, MAX_STEPS = 1_000_000, 10_000


def check_points(name: str, x) -> torch.Tensor:
    """``x`` if it is a non-empty finite float batch of 2-D points ``(N, 2)``."""
    x = check_tensor(name, x, shape=(None, 2), dtype="float", what="(2-D points (N, 2))")
    if len(x) == 0:
        raise ValueError(f"{name} must hold at least one point, got shape {tuple(x.shape)}")
    return x


def _times(name: str, s, n: int, high: float = 1.0) -> torch.Tensor:
    """A time per point, float64 ``(n,)``: ``s`` a number in [0, high] or such a tensor ``(n,)``."""
    if isinstance(s, torch.Tensor):
        s = check_tensor(name, s, shape=(n,), dtype="real", low=0.0, high=high, what="(one time per point)")
        return s.double()
    value = check_finite_number(name, s)
    if not 0 <= value <= high:
        raise ValueError(f"{name} must lie in [0, {high:g}], got {value}")
    return torch.full((n,), value, dtype=torch.float64)


class GaussianMixture2D:
    """Equal-weight mixture of N(mu_k, std^2 I) in 2-D: ``GaussianMixture2D(means (K, 2), std)``."""

    def __init__(self, means: torch.Tensor, std: float):
        self.means = check_tensor("means", means, shape=(None, 2), dtype="float", what="(K, 2)").double()
        if len(self.means) == 0:
            raise ValueError("means must hold at least one component")
        self.std = check_positive_number("std", std)

    @classmethod
    def ring(cls, components: int = 8, radius: float = 2.0, std: float = 0.2) -> "GaussianMixture2D":
        """``components`` Gaussians evenly spaced on a circle of ``radius`` (mu_k = radius (cos, sin)(2 pi k / K))."""
        components = check_int("components", components, minimum=1, maximum=1000)
        angles = torch.arange(components, dtype=torch.float64) * 2 * math.pi / components
        return cls(check_positive_number("radius", radius) * torch.stack([angles.cos(), angles.sin()], 1), std)

    def sample(self, n: int, seed: int = 0) -> torch.Tensor:
        """``n`` points (float32 ``(n, 2)``): a uniform component, then ``mu_k + std z`` (seeded)."""
        n = check_int("n", n, minimum=1, maximum=MAX_POINTS)
        generator = torch.Generator().manual_seed(check_seed(seed))
        k = torch.randint(len(self.means), (n,), generator=generator)
        z = torch.randn(n, 2, generator=generator, dtype=torch.float64)
        return (self.means[k] + self.std * z).float()

    def _log_components(self, x: torch.Tensor) -> torch.Tensor:
        """``log N(x; mu_k, v I) - log K`` for every point and component, ``(N, K)``, v = std^2."""
        v = self.std**2
        squared = (x.double()[:, None, :] - self.means[None]).pow(2).sum(-1)
        return -squared / (2 * v) - math.log(2 * math.pi * v) - math.log(len(self.means))

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """``log p(x) = logsumexp_k [log N(x; mu_k, std^2 I) - log K]``, float64 ``(N,)``."""
        return torch.logsumexp(self._log_components(check_points("x", x)), dim=1)

    def score(self, x: torch.Tensor) -> torch.Tensor:
        """The exact score ``grad_x log p(x) = sum_k r_k(x) (mu_k - x) / std^2``, float64 ``(N, 2)``."""
        x = check_points("x", x).double()
        r = torch.softmax(self._log_components(x), dim=1)
        return (r @ self.means - x) / self.std**2

    def noised(self, abar: float) -> "GaussianMixture2D":
        """The law of ``sqrt(abar) x_0 + sqrt(1 - abar) eps``: means ``sqrt(abar) mu_k``, variance
        ``abar std^2 + 1 - abar`` (abar in (0, 1]; abar = 1 is the mixture itself)."""
        abar = check_positive_number("abar", abar)
        if abar > 1:
            raise ValueError(f"abar must lie in (0, 1], got {abar}")
        return GaussianMixture2D(math.sqrt(abar) * self.means, math.sqrt(abar * self.std**2 + 1 - abar))


def toy_mixture() -> GaussianMixture2D:
    """The notebook's toy: 8 Gaussians on a ring of radius 2, std 0.2 (neighbours 7.7 std apart)."""
    return GaussianMixture2D.ring(8, 2.0, 0.2)


class TimeMLP(nn.Module):
    """``f(x, tau)`` for points x (N, 2) and times tau (N,) in [0, 1]: an MLP (SiLU) on
    ``[x, cos(pi k tau), sin(pi k tau) for k = 1..frequencies]``, output (N, 2). Weights seeded."""

    def __init__(self, hidden: int = 128, layers: int = 3, frequencies: int = 8, seed: int = 0):
        super().__init__()
        hidden = check_int("hidden", hidden, minimum=1, maximum=4096)
        layers = check_int("layers", layers, minimum=1, maximum=16)
        frequencies = check_int("frequencies", frequencies, minimum=1, maximum=64)
        self.register_buffer("k", math.pi * torch.arange(1, frequencies + 1.0), persistent=False)
        sizes = [2 + 2 * frequencies] + [hidden] * layers
        with seeded(check_seed(seed)):
            blocks = [m for a, b in zip(sizes, sizes[1:]) for m in (nn.Linear(a, b), nn.SiLU())]
            self.net = nn.Sequential(*blocks, nn.Linear(hidden, 2))

    def forward(self, x: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
        angles = tau.to(x)[:, None] * self.k
        return self.net(torch.cat([x, angles.cos(), angles.sin()], dim=1))


def ode_path(velocity, x_start: torch.Tensor, steps: int, solver: str = "heun") -> torch.Tensor:
    """Solve ``dx/ds = velocity(x, s)`` from s = 0 to 1 on ``steps`` equal steps h = 1 / steps; returns the
    path ``(steps + 1, N, 2)``. Euler: ``x += h v(x, s)``; Heun (2nd order): ``x += h/2 (v(x, s) +
    v(x + h v(x, s), s + h))``."""
    if not callable(velocity):
        raise TypeError(f"velocity must be callable as velocity(x, s), got {type(velocity).__name__}")
    x = check_points("x_start", x_start).float()
    steps, solver = check_int("steps", steps, minimum=1, maximum=MAX_STEPS), check_choice("solver", solver, SOLVERS)
    h, path = 1.0 / steps, [x]
    with torch.no_grad(), single_thread():  # many small steps: one thread is faster (runtime.single_thread)
        for i in range(steps):
            s = i * h
            k1 = velocity(x, s)
            x = x + h * k1 if solver == "euler" else x + h / 2 * (k1 + velocity(x + h * k1, min(s + h, 1.0)))
            path.append(x)
    return torch.stack(path)


def _start(n: int, seed: int) -> torch.Tensor:
    n = check_int("n", n, minimum=1, maximum=MAX_POINTS)
    return torch.randn(n, 2, generator=torch.Generator().manual_seed(check_seed(seed)))


class ToyDiffusion(nn.Module):
    """A DDPM on 2-D points: ``ToyDiffusion(T=100, schedule="linear", hidden=128, seed=0)``.

    eps_theta(x_t, t) is a :class:`TimeMLP` of ``t / T``; it takes steps t in [0, T], not only whole
    ones: between steps ``log abar`` is interpolated linearly (``abar(t)`` below), which defines the
    continuous-time VP process ``dx = -beta(t)/2 x dt + sqrt(beta(t)) dW`` with ``beta(t) = -d log abar / dt``
    whose marginals at whole t are the chain's.
    """

    def __init__(self, T: int = 100, schedule: str = "linear", hidden: int = 128, seed: int = 0):
        super().__init__()
        self.T = check_int("T", T, minimum=2, maximum=10_000)
        self.register_buffer("betas", make_betas(self.T, schedule), persistent=False)
        self.register_buffer("log_abar", torch.cat([torch.zeros(1, dtype=torch.float64),
                                                    torch.cumsum(torch.log1p(-self.betas), 0)]), persistent=False)
        self.net = TimeMLP(hidden=hidden, seed=seed)

    def _steps(self, t, n: int) -> torch.Tensor:
        return _times("t", t, n, high=float(self.T))

    def abar(self, t) -> torch.Tensor:
        """``abar(t)`` for steps t in [0, T] (a number or a tensor), float64: ``exp`` of ``log abar``
        interpolated linearly between whole steps (abar(0) = 1)."""
        t = _times("t", t, t.numel() if isinstance(t, torch.Tensor) else 1, high=float(self.T))
        i = t.floor().long().clamp(max=self.T - 1)
        return (self.log_abar[i] + (t - i) * (self.log_abar[i + 1] - self.log_abar[i])).exp()

    def predict_noise(self, xt: torch.Tensor, t) -> torch.Tensor:
        """eps_theta(x_t, t) for points ``xt`` (N, 2) and steps ``t`` in [0, T] (a number or (N,)), through the
        v-parametrisation (Salimans & Ho, 2022): ``eps_theta = sqrt(1 - abar) x_t + sqrt(abar) v_theta(x_t, t)``,
        the MLP predicting ``v = sqrt(abar) eps - sqrt(1 - abar) x_0``. At high noise (abar -> 0) eps_theta -> x_t,
        so the net's errors there are scaled down by sqrt(abar): the probability-flow velocity there is a
        small difference of large terms."""
        xt = check_points("xt", xt).float()
        t = self._steps(t, len(xt))
        a = self.abar(t).float()[:, None]
        return (1 - a).sqrt() * xt + a.sqrt() * self.net(xt, t / self.T)

    def score(self, xt: torch.Tensor, t) -> torch.Tensor:
        """The learned score of q_t: ``-eps_theta(x_t, t) / sqrt(1 - abar(t))`` for t in [1, T]."""
        xt = check_points("xt", xt)
        t = self._steps(t, len(xt))
        if float(t.min()) < 1:
            raise ValueError(f"t must lie in [1, {self.T}] for the score (q_0 has no noise), got {float(t.min()):g}")
        return -self.predict_noise(xt, t) / (1 - self.abar(t)).sqrt().float()[:, None]

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        """Denoising score matching: ``mean ||eps - eps_theta(x_t, t)||^2 / (2 abar_t) = mean ||v - v_theta||^2 / 2``
        with t ~ U{1..T}, eps ~ N(0, I), x_t = q_sample(x, t): the simple loss weighted by 1 / abar_t. Every
        weighting has the same minimiser at each t, eps_theta = -sqrt(1 - abar_t) grad log q_t; this one keeps
        the high-noise steps trained (in terms of v the simple loss gives them the weight abar_t ~ 0)."""
        x = check_points("x", x).float()
        t = torch.randint(1, self.T + 1, (len(x),))
        noise = torch.randn_like(x)
        error = noise - self.predict_noise(q_sample(x, t, self.betas, noise), t.double())
        return (error.pow(2) / self.abar(t.double()).float()[:, None]).sum(1).mean() / 2

    def velocity(self, x: torch.Tensor, s) -> torch.Tensor:
        """The probability-flow ODE in s = 1 - t / T (noise at s = 0, data at s = 1):
        ``dx/ds = T beta(t)/2 (x + score(x, t))`` with ``beta(t) = log abar(t-1) - log abar(t)`` on the step
        containing t. Below t = 1 the field of t = 1 is used (the model knows no score of the noiseless data)."""
        x = check_points("x", x)
        t = (self.T * (1 - _times("s", s, len(x)))).clamp(min=1.0)
        i = t.ceil().long().clamp(min=1)
        rate = (self.log_abar[i - 1] - self.log_abar[i]) * self.T / 2
        return rate.float()[:, None] * (x.float() + self.score(x, t))

    def transport(self, x_start: torch.Tensor, steps: int = 100, stochastic: bool = False, seed: int = 0,
                  solver: str = "heun") -> torch.Tensor:
        """The path ``(steps + 1, N, 2)`` from ``x_start`` (noise, s = 0) to samples (s = 1).

        Deterministic: :func:`ode_path` on :meth:`velocity`. ``stochastic=True``: the ancestral DDPM chain
        on ``steps`` of the T steps (:func:`~course_gen.diffusion.respaced`), ``x_{t'} = mean + sqrt(var) z``
        with the posterior q(x_{t'} | x_t, x0_hat) (seeded); its last step is x0_hat(x_{tau_1})."""
        if not check_bool("stochastic", stochastic):
            with evaluating(self):
                return ode_path(self.velocity, x_start, steps, solver)
        x = check_points("x_start", x_start).float()
        timesteps, short = respaced(self.betas, check_int("steps", steps, minimum=1, maximum=self.T))
        generator, path = torch.Generator().manual_seed(check_seed(seed)), [x]
        with torch.no_grad(), evaluating(self), single_thread():
            for i in range(steps, 0, -1):
                index = torch.full((len(x),), i, dtype=torch.long)
                x0_hat = predicted_x0(x, index, short, self.predict_noise(x, float(timesteps[i - 1])))
                if i == 1:
                    x = x0_hat
                else:
                    mean, variance = q_posterior(x0_hat, x, index, short)
                    x = mean + variance.sqrt().float() * torch.randn(x.shape, generator=generator)
                path.append(x)
        return torch.stack(path)

    def times(self, steps: int = 100, stochastic: bool = False) -> torch.Tensor:
        """The times s (float64, ``(steps + 1,)``) of the points of :meth:`transport`'s path: ``i / steps`` for
        the ODE; ``1 - tau / T`` for the chain's steps tau (``T, ..., tau_1 = 1, 0``) with ``stochastic=True``."""
        if not check_bool("stochastic", stochastic):
            steps = check_int("steps", steps, minimum=1, maximum=MAX_STEPS)
            return torch.linspace(0, 1, steps + 1, dtype=torch.float64)
        timesteps, _ = respaced(self.betas, check_int("steps", steps, minimum=1, maximum=self.T))
        return 1 - torch.cat([timesteps.flip(0), torch.zeros(1, dtype=torch.long)]).double() / self.T

    def sample(self, n: int, steps: int = 100, seed: int = 0, stochastic: bool = False) -> torch.Tensor:
        """``n`` samples (n, 2): the end of :meth:`transport` from N(0, I) drawn with ``seed``."""
        return self.transport(_start(n, seed), steps, stochastic, seed=seed + 1)[-1]


class FlowMatching(nn.Module):
    """Rectified flow / conditional flow matching: ``FlowMatching(hidden=128, seed=0)``, v_theta(x, s) a
    :class:`TimeMLP`. ``x_s = (1 - s) x0 + s x1``, x0 ~ N(0, I), x1 ~ data; the regression target is the
    straight path's velocity ``x1 - x0``, whose conditional mean ``E[x1 - x0 | x_s = x]`` is the field that
    carries N(0, I) to the data."""

    def __init__(self, hidden: int = 128, seed: int = 0):
        super().__init__()
        self.net = TimeMLP(hidden=hidden, seed=seed)

    def velocity(self, x: torch.Tensor, s) -> torch.Tensor:
        """v_theta(x, s) for points (N, 2) and s in [0, 1] (a number or (N,))."""
        x = check_points("x", x)
        return self.net(x.float(), _times("s", s, len(x)))

    def loss(self, x1: torch.Tensor) -> torch.Tensor:
        """``mean ||v_theta(x_s, s) - (x1 - x0)||^2``, s ~ U(0, 1), x0 ~ N(0, I)."""
        x1 = check_points("x1", x1).float()
        s = torch.rand(len(x1))
        x_s, target = flow_matching_pair(torch.randn_like(x1), x1, s)
        return (self.net(x_s, s) - target).pow(2).sum(1).mean()

    def transport(self, x_start: torch.Tensor, steps: int = 50, stochastic: bool = False, seed: int = 0,
                  solver: str = "heun") -> torch.Tensor:
        """The ODE path ``(steps + 1, N, 2)`` from ``x_start`` at s = 0 (:func:`ode_path`). The flow is
        deterministic: ``stochastic=True`` is refused (``seed`` is unused, kept for the common interface)."""
        if check_bool("stochastic", stochastic):
            raise ValueError("FlowMatching has no stochastic sampler: its samples come from the ODE (stochastic=False)")
        check_seed(seed)
        with evaluating(self):
            return ode_path(self.velocity, x_start, steps, solver)

    def times(self, steps: int = 50, stochastic: bool = False) -> torch.Tensor:
        """The times s = i / steps (float64, ``(steps + 1,)``) of the points of :meth:`transport`'s path."""
        if check_bool("stochastic", stochastic):
            raise ValueError("FlowMatching has no stochastic sampler: its samples come from the ODE (stochastic=False)")
        return torch.linspace(0, 1, check_int("steps", steps, minimum=1, maximum=MAX_STEPS) + 1, dtype=torch.float64)

    def sample(self, n: int, steps: int = 50, seed: int = 0) -> torch.Tensor:
        """``n`` samples (n, 2): the end of :meth:`transport` from N(0, I) drawn with ``seed``."""
        return self.transport(_start(n, seed), steps)[-1]


__all__ = ["FlowMatching", "GaussianMixture2D", "MAX_POINTS", "MAX_STEPS", "SOLVERS", "ToyDiffusion",
           "check_points", "ode_path", "toy_mixture"]
