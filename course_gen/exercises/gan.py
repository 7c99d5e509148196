"""Checkers for the exercises of notebook 06 (GANs: the minimax game and Jensen-Shannon).

- :func:`check_discriminator_loss`: ``-mean log D(x_real) - mean log(1 - D(x_fake))``;
- :func:`check_equilibrium_question`: the value ``V(D*, G)`` of the game when ``p_g = p_data``;
- :func:`check_jsd`: ``JSD(p || q)`` in nats for discrete distributions;
- :func:`check_generator_loss`: the non-saturating ``-mean log D(G(z))``;
- :func:`check_gan_training_step`: one iteration of the training algorithm (k discriminator steps,
  then one non-saturating generator step), compared parameter by parameter with a reference step
  on small seeded networks.

Each names the mistakes it recognises (labels flipped, the sign flipped, the saturating
``log(1 - D)`` in place of ``-log D``, a sum instead of a mean, bits instead of nats, a missing
1/2, KL in place of JSD; in the training step: fakes not detached in the discriminator steps, a
forgotten ``zero_grad``, one discriminator step instead of k, no discriminator update at all...)
and returns a :class:`~course_gen.exercises.Feedback`; none raises. An answer that calls the
package's own implementation of the exercise (``course_gen.divergences.jsd``, ``gan.generator_loss``
for the loss exercises, the trainer for the training step...) earns nothing.
"""

from __future__ import annotations

import math
import numbers

import torch
import torch.nn.functional as F

from course_gen import divergences, gan
from course_gen.divergences import jsd, kl
from course_gen.exercises._feedback import (
    Feedback, Mistake, answer, as_number, expect_number, matches, run_checks,
)

__all__ = [
    "check_discriminator_loss", "check_equilibrium_question", "check_gan_training_step", "check_generator_loss",
    "check_jsd",
]

LOG2 = math.log(2.0)


def _loss_value(got, what: str) -> float:
    """A loss the student returned, as a float: it must be a one-element tensor (a loss stays a
    tensor so that ``.backward()`` works) holding a finite number."""
    if not isinstance(got, torch.Tensor):
        raise Mistake(f"{what} should be a torch.Tensor (a loss must stay a tensor so that .backward() works), "
                      f"got {type(got).__name__}")
    if got.numel() != 1:
        raise Mistake(f"{what} should be ONE number (a scalar tensor), got shape {tuple(got.shape)}: "
                      "did you forget to average over the batch?")
    return as_number(got, what)


def _probabilities(seed: int, n: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, generator=g, dtype=torch.float64) * 0.9 + 0.05


def _d_cases() -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(_probabilities(0, 8), _probabilities(1, 6)), (_probabilities(2, 5), _probabilities(3, 9))]


#: Library functions that alone compute a whole binary cross-entropy, i.e. a whole loss exercise.
_BCE = [F.binary_cross_entropy, F.binary_cross_entropy_with_logits]


# ============================================================================ D loss


def _reference_discriminator_loss(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    return -(torch.log(d_real).mean() + torch.log1p(-d_fake).mean())


def check_discriminator_loss(fn) -> Feedback:
    """Check ``fn(d_real, d_fake) -> scalar``: ``-mean log d_real - mean log(1 - d_fake)``, where
    ``d_real = D(x)`` on real and ``d_fake = D(G(z))`` on fake samples (probabilities in (0, 1))."""

    def checks() -> None:
        student = answer(fn, "discriminator_loss", forbidden=[
            _reference_discriminator_loss, gan.discriminator_loss, gan.minimax_value, gan.jsd_estimate, *_BCE,
        ])
        for d_real, d_fake in _d_cases():
            got = _loss_value(student(d_real.clone(), d_fake.clone()), "the discriminator loss")
            expected = float(_reference_discriminator_loss(d_real, d_fake))
            expect_number(got, expected, "the discriminator loss", [
                (-(torch.log1p(-d_real).mean() + torch.log(d_fake).mean()),
                 "the labels are flipped: real samples should have D(x) -> 1 (use log D(x_real)) and fake "
                 "ones D(G(z)) -> 0 (use log(1 - D(G(z))))"),
                (-expected, "the sign is flipped: D MAXIMISES V = E log D(x) + E log(1 - D(G(z))), so the loss to "
                            "minimise is -V (which is >= 0)"),
                (-(torch.log(d_real).sum() + torch.log1p(-d_fake).sum()),
                 "you summed over the samples: V is an expectation, use the mean of each batch "
                 "(the two batches may have different sizes)"),
                (-(torch.log(torch.cat([d_real, 1 - d_fake])).mean()),
                 "you averaged over both batches together: take the mean of each term separately, "
                 "E_data log D(x) + E_z log(1 - D(G(z)))"),
                (expected / LOG2, "that is in bits: use the natural logarithm (nats), as the course does"),
            ], rtol=1e-5, atol=1e-6)

    return run_checks("discriminator loss", checks)


# ============================================================================ the value at equilibrium


_EQUILIBRIUM_MISTAKES = (
    (0.0, "0 is the JSD (and the KL) between p_g and p_data when they are equal, not V: with D* = 1/2 "
          "everywhere, V = E_data log D*(x) + E_g log(1 - D*(x)) adds two logarithms of 1/2"),
    (-LOG2, "that is only one of the two terms: E_data log D*(x) = log 1/2, and E_g log(1 - D*(x)) = log 1/2 "
            "as well; V is their sum"),
    (LOG2, "V is a sum of expectations of logarithms of probabilities, so it is never positive; at "
           "p_g = p_data, D* = 1/2 and each of its two terms is log 1/2"),
    (math.log(4.0), "the sign is flipped: log D*(x) = log 1/2 < 0, so V = 2 log 1/2 is negative"),
    (-2.0, "that is in bits (log base 2): the course measures V in nats, with the natural logarithm"),
    (-1.0, "-1 is log 1/2 in bits, and only one of the two terms: use natural logarithms, and add "
           "E_g log(1 - D*(x)) = log 1/2 too"),
    (0.5, "1/2 is D*(x) = p_data / (p_data + p_g) at p_g = p_data, not the value V of the game: "
          "plug D* = 1/2 into V = E_data log D(x) + E_g log(1 - D(x))"),
)


def check_equilibrium_question(fn) -> Feedback:
    """Check ``fn() -> number``: ``V(D*, G)`` in nats when ``p_g = p_data``, i.e. ``-log 4``
    (to three digits). A wrong number the checker does not know is not told the answer."""

    def checks() -> None:
        got = answer(fn, "answer", forbidden=[gan.minimax_value])()  # the number, not a computation of it
        value = as_number(got, "V(D*, G)")
        try:
            expect_number(value, -math.log(4.0), "V(D*, G)", _EQUILIBRIUM_MISTAKES, rtol=1e-3)
        except Mistake as mistake:
            if str(mistake).startswith("V(D*, G) is off"):
                raise Mistake(f"V(D*, G) = {value:.4g} is not right: what is D*(x) = p_data / (p_data + p_g) when "
                              "p_g = p_data? Put it into V = E_data log D(x) + E_g log(1 - D(x)) (nats)") from None
            raise

    return run_checks("the value of the game at equilibrium", checks)


# ============================================================================ JSD


def _jsd_cases() -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(7)
    p = torch.softmax(torch.randn(6, generator=g, dtype=torch.float64), 0)
    q = torch.softmax(torch.randn(6, generator=g, dtype=torch.float64), 0)
    disjoint_p = torch.tensor([0.3, 0.7, 0.0, 0.0], dtype=torch.float64)
    disjoint_q = torch.tensor([0.0, 0.0, 0.6, 0.4], dtype=torch.float64)
    return [(p, q), (q, p), (disjoint_p, disjoint_q)]


def _reference_jsd(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    m = (p + q) / 2
    return 0.5 * torch.xlogy(p, p / m).sum() + 0.5 * torch.xlogy(q, q / m).sum()


def _jsd_forbidden() -> list:
    forbidden = [
        _reference_jsd, jsd, kl, divergences._kl64, divergences.binned_jsd, gan.minimax_value,
        gan.optimal_discriminator, F.kl_div, torch.distributions.kl_divergence,
    ]
    try:  # scipy's jensenshannon is the square root of the JSD: the whole exercise too
        from scipy.spatial.distance import jensenshannon

        forbidden.append(jensenshannon)
    except ImportError:  # pragma: no cover - scipy ships with the course
        pass
    return forbidden


def _nan_or_inf_jsd(got) -> None:
    """Explain a NaN or infinite JSD (the type and other checks are :func:`expect_number`'s)."""
    if isinstance(got, torch.Tensor) and got.numel() == 1:
        value = float(got.detach().reshape(()))
    elif isinstance(got, numbers.Real) and not isinstance(got, bool):
        value = float(got)
    else:
        return
    if math.isnan(value):
        raise Mistake("your JSD is NaN: with zero probabilities use 0 log 0 = 0 "
                      "(torch.xlogy(p, p / m), or only sum where p > 0)")
    if math.isinf(value):
        raise Mistake("your JSD is infinite: it never is (it is at most log 2); compare p and q with "
                      "the mixture m = (p + q) / 2, which is > 0 wherever p or q is")


def check_jsd(fn) -> Feedback:
    """Check ``fn(p, q) -> scalar``: ``JSD(p || q) = 1/2 KL(p || m) + 1/2 KL(q || m)``,
    ``m = (p + q) / 2``, in nats, for 1-D probability vectors (some with zeros: ``0 log 0 = 0``)."""

    def checks() -> None:
        student = answer(fn, "my_jsd", forbidden=_jsd_forbidden())
        for p, q in _jsd_cases():
            got = student(p.clone(), q.clone())
            _nan_or_inf_jsd(got)
            expected = float(jsd(p, q))
            m = (p + q) / 2
            expect_number(got, expected, "the JSD", [
                (expected / LOG2, "that is in bits (log base 2): use the natural logarithm, so that "
                                  "JSD <= log 2 and C(G) = -log 4 + 2 JSD holds in nats"),
                (2 * expected, "you forgot the 1/2 factors: JSD = 1/2 KL(p || m) + 1/2 KL(q || m)"),
                (0.5 * kl(p, m), "only half of it: add 1/2 KL(q || m) too"),
                (0.5 * (kl(p, q) + kl(q, p)),
                 "that is the symmetrised KL between p and q: compare each with the MIXTURE m = (p + q) / 2"),
                (kl(p, q), "that is KL(p || q), not the JSD: use the mixture m = (p + q) / 2"),
            ], rtol=1e-5, atol=1e-6)

    return run_checks("Jensen-Shannon divergence", checks)


# ============================================================================ G loss


def _reference_generator_loss(d_fake: torch.Tensor) -> torch.Tensor:
    return -torch.log(d_fake).mean()


def check_generator_loss(fn) -> Feedback:
    """Check ``fn(d_fake) -> scalar``: the NON-saturating generator loss ``-mean log D(G(z))``."""

    def checks() -> None:
        student = answer(fn, "generator_loss", forbidden=[_reference_generator_loss, gan.generator_loss, *_BCE])
        for _, d_fake in _d_cases():
            got = _loss_value(student(d_fake.clone()), "the generator loss")
            expected = float(_reference_generator_loss(d_fake))
            expect_number(got, expected, "the generator loss", [
                (torch.log1p(-d_fake).mean(),
                 "that is the SATURATING loss log(1 - D(G(z))): its gradient vanishes when D rejects the fakes "
                 "(D(G(z)) -> 0); the non-saturating loss is -log D(G(z))"),
                (-torch.log1p(-d_fake).mean(),
                 "you used -log(1 - D(G(z))): minimising it pushes D(G(z)) towards 0, helping the discriminator; "
                 "the generator wants D(G(z)) -> 1, i.e. minimise -log D(G(z))"),
                (-expected, "the sign is flipped: the generator MAXIMISES log D(G(z)), so it minimises -log D(G(z))"),
                (-torch.log(d_fake).sum(), "you summed over the batch: use the mean"),
                (expected / LOG2, "that is in bits: use the natural logarithm (nats), as the course does"),
            ], rtol=1e-5, atol=1e-6)

    return run_checks("non-saturating generator loss", checks)


# ============================================================================ one training step

#: The test cases of the training step: (seed, k, batch size).
_STEP_CASES = ((0, 3, 8), (1, 2, 6))
_LR_D, _LR_G = 0.2, 1.0


def _flat(module: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in module.parameters()]).clone()


def _step_setup(seed: int, k: int, batch: int) -> dict:
    """Fresh small seeded networks with stale gradients, their SGD optimisers and the batches."""
    generator, discriminator = gan.mlp_gan(latent_dim=2, hidden=8, layers=2, seed=seed)
    g = torch.Generator().manual_seed(1000 + seed)
    for net in (generator, discriminator):  # gradients left over from an earlier iteration
        for p in net.parameters():
            p.grad = 0.5 * torch.randn(p.shape, generator=g)
    real = [torch.randn(batch, 2, generator=g) * 0.5 + torch.tensor([1.0, -0.5]) for _ in range(k)]
    noise = [torch.randn(batch, 2, generator=g) for _ in range(k + 1)]
    return {
        "generator": generator, "discriminator": discriminator,
        "opt_g": torch.optim.SGD(generator.parameters(), lr=_LR_G),
        "opt_d": torch.optim.SGD(discriminator.parameters(), lr=_LR_D),
        "real_batches": real, "noise_batches": noise,
    }


def _reference_step(generator, discriminator, opt_g, opt_d, real_batches, noise_batches, *, d_steps=None,
                    zero_d="each", zero_g="before", detach=True, g_loss="non-saturating", g_noise=-1,
                    g_first=False, d_scale=1.0, flip_labels=False) -> None:
    """The reference iteration; the keyword arguments make the known wrong versions of it."""
    k = len(real_batches) if d_steps is None else d_steps

    def generator_step() -> None:
        loss = gan.generator_loss(discriminator(generator(noise_batches[g_noise])), g_loss)
        if zero_g == "before":
            opt_g.zero_grad()
        loss.backward()
        opt_g.step()

    if zero_g == "start":
        opt_g.zero_grad()
    if g_first:
        generator_step()
    if zero_d == "once":
        opt_d.zero_grad()
    for i in range(k):
        if detach:
            with torch.no_grad():
                fake = generator(noise_batches[i])
        else:
            fake = generator(noise_batches[i])
        real_out, fake_out = discriminator(real_batches[i]), discriminator(fake)
        if flip_labels:
            real_out, fake_out = fake_out, real_out
        loss = d_scale * gan.discriminator_loss(real_out, fake_out)
        if zero_d == "each":
            opt_d.zero_grad()
        loss.backward()
        opt_d.step()
    if not g_first:
        generator_step()


def _after(case: tuple[int, int, int], **variant) -> tuple[torch.Tensor, torch.Tensor]:
    """The (generator, discriminator) parameters after the reference step, or a wrong version of it."""
    setup = _step_setup(*case)
    _reference_step(**setup, **variant)
    return _flat(setup["generator"]), _flat(setup["discriminator"])


_D_MISTAKES = (
    ({"d_steps": 1}, "only ONE discriminator step: make k = len(real_batches) of them, the i-th on real_batches[i] "
                     "and the fakes of noise_batches[i]"),
    ({"zero_d": "never"}, "you forgot opt_d.zero_grad(): backward() ADDS to .grad, so each discriminator step also "
                          "used the gradients left over from before (the networks come with stale gradients); "
                          "zero them before every backward()"),
    ({"zero_d": "once"}, "you zeroed the discriminator's gradients only once, before the loop: backward() ADDS to "
                         ".grad, so discriminator step i also used the gradients of steps 1..i-1; call "
                         "opt_d.zero_grad() in every step"),
    ({"flip_labels": True}, "the labels are flipped in the discriminator steps: real samples are class 1, "
                            "fakes class 0: gan.discriminator_loss(D(x_real), D(G(z)))"),
    ({"d_scale": 0.5}, "your discriminator loss is half of -V: you averaged over the real and fake batches together; "
                       "take the mean of each term separately and add them, -mean log D(x) - mean log(1 - D(G(z)))"),
    ({"g_first": True}, "the generator stepped first: the k discriminator steps come first, and the generator then "
                        "steps against the UPDATED discriminator"),
)

_G_MISTAKES = (
    ({"g_loss": "minimax"}, "the generator step used the SATURATING loss log(1 - D(G(z))) "
                            "(gan.generator_loss(..., \"minimax\")); use the non-saturating -log D(G(z))"),
    ({"zero_g": "never"}, "you forgot opt_g.zero_grad(): backward() ADDS to .grad, so the generator step also used "
                          "the gradients left over from before (the networks come with stale gradients)"),
    ({"g_noise": 0}, "the generator step must use its own fresh noise, the LAST batch noise_batches[k] "
                     "(you used noise_batches[0], already seen by the discriminator)"),
    ({"g_noise": -2}, "the generator step must use its own fresh noise, the LAST batch noise_batches[k] "
                      "(you used noise_batches[k - 1], already seen by the discriminator)"),
    ({"g_first": True}, "the generator stepped first: the k discriminator steps come first, and the generator then "
                        "steps against the UPDATED discriminator"),
)

_NOT_DETACHED = ("the fakes of the discriminator steps are not detached, so the generator was updated by the "
                 "DISCRIMINATOR's loss too (its gradients reached G's .grad and were not zeroed before G's step): "
                 "make the fakes with torch.no_grad() (or G(z).detach()) in the discriminator steps")


def check_gan_training_step(fn) -> Feedback:
    """Check ``fn(generator, discriminator, opt_g, opt_d, real_batches, noise_batches)``: one iteration
    of the GAN game. With ``k = len(real_batches)``: k discriminator steps (step i on ``real_batches[i]``
    and the fakes ``G(noise_batches[i])``, detached, loss ``gan.discriminator_loss`` on logits), then one
    generator step on ``noise_batches[k]`` with the non-saturating loss; gradients zeroed before each
    backward. Checked by comparing both networks' parameters with a reference step, on small seeded
    networks that come with stale gradients (as after an earlier iteration)."""

    def checks() -> None:
        student = answer(fn, "gan_training_step", forbidden=[
            _reference_step, gan.train_gan, gan.GANTrainer.step, gan.GANTrainer.run,
            gan.GANTrainer._discriminator_step, gan.GANTrainer._generator_step,
        ])
        for case in _STEP_CASES:
            _check_one_step(student, case)

    return run_checks("one training step (k D-steps, one G-step)", checks)


def _check_one_step(student, case: tuple[int, int, int]) -> None:
    _, k, _ = case
    setup = _step_setup(*case)
    generator, discriminator = setup["generator"], setup["discriminator"]
    g_before, d_before = _flat(generator), _flat(discriminator)
    steps = {"opt_g": 0, "opt_d": 0}  # how often each optimiser stepped

    def counter(name: str):
        def count(optimizer, args, kwargs) -> None:
            steps[name] += 1
        return count

    for name in steps:
        setup[name].register_step_post_hook(counter(name))
    g_backward = []  # one entry per backward pass that reaches the generator's first weight
    first = next(generator.parameters())
    first.register_hook(lambda grad: g_backward.append(1))

    student(generator, discriminator, setup["opt_g"], setup["opt_d"], list(setup["real_batches"]),
            list(setup["noise_batches"]))

    g_after, d_after = _flat(generator), _flat(discriminator)
    for what, params in (("discriminator", d_after), ("generator", g_after)):
        if not bool(torch.isfinite(params).all()):
            kind = "NaN" if bool(torch.isnan(params).any()) else "inf"
            raise Mistake(f"after your step the {what}'s parameters contain {kind}: check the losses "
                          "(on the logits the networks return: gan.discriminator_loss, gan.generator_loss)")
    g_expected, d_expected = _after(case)

    def close(got: torch.Tensor, expected: torch.Tensor) -> bool:
        return matches(got, expected, atol=1e-6, rtol=1e-5)

    # --- the discriminator: updated, k times, correctly
    if close(d_after, d_before):
        raise Mistake("the discriminator was not updated at all: each of the k discriminator steps ends with "
                      "opt_d.step() (after zero_grad() and backward() of its loss)")
    if steps["opt_d"] != k:
        if steps["opt_d"] == 1:
            raise Mistake(f"only ONE discriminator step (opt_d.step() ran once): with k = len(real_batches) = {k} "
                          "make k of them, the i-th on real_batches[i] and the fakes of noise_batches[i]")
        raise Mistake(f"opt_d.step() ran {steps['opt_d']} times: with k = len(real_batches) = {k} the discriminator "
                      f"makes exactly {k} steps")
    if close(g_after, g_before):
        raise Mistake("the generator was not updated: after the discriminator steps, compute the non-saturating "
                      "loss of D(G(noise_batches[k])) (without detaching G's output), backward() and opt_g.step()")
    if steps["opt_g"] != 1:
        raise Mistake(f"opt_g.step() ran {steps['opt_g']} times: the generator makes exactly one step per iteration")
    if len(g_backward) > 1:
        for variant in ({"detach": False, "zero_g": "start"}, {"detach": False, "zero_g": "never"}):
            if close(g_after, _after(case, **variant)[0]):
                raise Mistake(_NOT_DETACHED)
        raise Mistake(f"the discriminator's loss backpropagated into the generator ({len(g_backward)} backward "
                      "passes reached G, 1 expected: its own step): in the discriminator steps the fakes are "
                      "constants, make them with torch.no_grad() (or G(z).detach()); otherwise D's loss adds to "
                      "G's gradients, and costs a backward pass through G each time")
    def name_the_mistake(got, expected, mistakes, network: int, otherwise: str) -> None:
        """Pass if ``got`` is right; else the message of the known wrong step it equals, or ``otherwise``."""
        if close(got, expected):
            return
        for variant, message in mistakes:
            wrong = _after(case, **variant)[network]
            if not close(wrong, expected) and close(got, wrong):
                raise Mistake(message)
        raise Mistake(otherwise.format(difference=float((got - expected).abs().max())))

    name_the_mistake(d_after, d_expected, _D_MISTAKES, 1,
                     f"the discriminator's parameters after your {k} steps differ from the reference (largest "
                     "difference {difference:.3g}): step i minimises gan.discriminator_loss(D(real_batches[i]), "
                     "D(G(noise_batches[i]))) after opt_d.zero_grad()")
    name_the_mistake(g_after, g_expected, _G_MISTAKES, 0,
                     "the discriminator is right but the generator's parameters differ from the reference (largest "
                     "difference {difference:.3g}): one step on gan.generator_loss(D(G(noise_batches[k])), "
                     "\"non-saturating\") after opt_g.zero_grad()")
