"""The evidence lower bound, variational autoencoders, IWAE and beta-VAE (notebook 05).

A latent-variable model ``p(x, z) = p(x | z) p(z)`` has the marginal likelihood
``log p(x) = log E_q[p(x, z) / q(z)]`` for any ``q``; Jensen's inequality gives the

    ELBO(q) = E_q[log p(x, z) - log q(z)] = log p(x) - KL(q(z) || p(z | x)) <= log p(x),

tight exactly when ``q`` is the true posterior ``p(z | x)``.

- :func:`gaussian_kl`: ``KL(N(mu, diag exp(logvar)) || N(0, I)) =
  1/2 sum_j (mu_j^2 + exp(logvar_j) - 1 - logvar_j)``, per example.
- :class:`LinearGaussian`: ``z ~ N(0, I_k)``, ``x | z ~ N(W z + b, sigma^2 I_d)``, a model
  whose marginal ``N(b, W W^T + sigma^2 I)`` and posterior are exact, so the ELBO of any
  Gaussian ``q`` and its gap ``KL(q || p(z | x))`` can be computed in closed form.
- :class:`VAE`: an amortised Gaussian encoder ``q(z | x) = N(mu(x), diag sigma^2(x))`` and a
  Bernoulli or Gaussian decoder (or a MADE decoder that sees the previous pixels, to show
  posterior collapse); ``elbo`` estimates ``E_q[log p(x | z)] - KL(q(z | x) || p(z))`` with
  the reparameterisation ``z = mu + sigma * eps``, ``eps ~ N(0, I)``. ``beta`` weighs the KL
  in the training loss (beta-VAE).
- :func:`iwae_bound`: ``log (1/k) sum_i p(x, z_i) / q(z_i | x)``, ``z_i ~ q(z | x)``: a lower
  bound that equals the ELBO (in expectation) for ``k = 1`` and rises towards ``log p(x)``.
- Richer posteriors (Rezende and Mohamed 2015): ``VAE(n_flows=K)`` follows the Gaussian
  ``q_0(z_0 | x)`` by ``K`` planar maps whose parameters the encoder outputs per image
  (:func:`amortised_planar`); then ``ELBO = E_q0[log p(x, z_K) - log q_0(z_0) + sum_k
  log|det df_k / dz_{k-1}|]``. :func:`fit_planar_posterior` does the same for one ``x`` of the
  tractable :class:`LinearGaussian` model, whose exact ``log p(x)`` shows the gap shrink with ``K``.
- :func:`build` and :func:`fit`: the models and the training recipe of the notebook's shipped
  comparison weights; :func:`rounded_gaussian_elbo`: a Gaussian decoder made a model of binary
  pixels (``x = [y > 1/2]``), so its bound can be compared with a Bernoulli decoder's.

Everything is in nats per example (one number per image); ``course_gen.metrics.bits_per_dim``
converts to bits per dimension.

One idea per file:

- :mod:`.gaussians`: the Gaussian KL and log-density, ``log_mean_exp``;
- :mod:`.linear_gaussian`: the tractable model, exact ELBO and gap;
- :mod:`.planar`: amortised planar maps, a planar posterior fit to the tractable model;
- :mod:`.decoders`, :mod:`.model`: the decoder networks and the :class:`VAE` (encoder, ELBO, samples);
- :mod:`.bounds`: the IWAE bound, the rounded-Gaussian ELBO;
- :mod:`.latents`: KL per latent, active units, factor correlations;
- :mod:`.recipes`: notebook 05's comparison models (build, fit, load).

Everything is importable from here: ``from course_gen import vae; vae.VAE``.
"""

from __future__ import annotations

from course_gen.vae.bounds import iwae_bound, rounded_gaussian_elbo
from course_gen.vae.gaussians import gaussian_kl, gaussian_log_prob, log_mean_exp
from course_gen.vae.latents import active_units, factor_correlations, kl_per_dimension
from course_gen.vae.linear_gaussian import LinearGaussian
from course_gen.vae.model import DECODERS, LIKELIHOODS, VAE, ELBOTerms
from course_gen.vae.planar import PlanarPosterior, amortised_planar, fit_planar_posterior
from course_gen.vae.recipes import COMPARISON_HIDDEN, COMPARISON_IMAGE_SHAPE, build, fit, load_or_fit

__all__ = [
    "DECODERS", "ELBOTerms", "LIKELIHOODS", "COMPARISON_HIDDEN", "COMPARISON_IMAGE_SHAPE", "LinearGaussian",
    "PlanarPosterior", "VAE", "active_units", "amortised_planar", "build", "factor_correlations", "fit",
    "fit_planar_posterior", "gaussian_kl", "gaussian_log_prob", "iwae_bound", "kl_per_dimension",
    "load_or_fit", "log_mean_exp", "rounded_gaussian_elbo",
]

# Public objects name the package as their home (``course_gen.vae.X``, what notebooks write) in
# messages and reprs, not the file inside it that defines them.
for _public in (globals()[name] for name in __all__):
    if getattr(_public, "__module__", "").startswith(__name__ + "."):
        _public.__module__ = __name__
del _public
