"""Evaluating generative models: likelihoods, Inception Score, FID, KID, precision/recall (notebook 07).

Two families of numbers:

- **Likelihood of test data** (explicit models only). ``-log p(x)`` in nats (natural log) or bits
  (log base 2: ``bits = nats / ln 2``); divided by the number of dimensions D it is comparable
  across image sizes: ``bits/dim = nll_nats / (D ln 2)``. A continuous density fitted to
  dequantised data ``y = (x + u) / K`` (``x`` in ``{0..K-1}``, ``u ~ U[0, 1)``) gives a bound on the
  discrete likelihood after adding ``D ln K`` nats (:func:`discrete_nll`). Implicit models (GANs)
  have no ``p(x)`` and so no such number; the Parzen-window estimate
  (:func:`parzen_log_likelihood`) that replaced it for a while is badly biased.
- **Statistics of samples**, computed on a classifier's outputs (Inception v3 for ImageNet-sized
  images; :mod:`course_gen.classifier` for the course's 8x8 digits):

  - Inception Score ``IS = exp(E_x KL(p(y|x) || p(y)))``, ``p(y) = E_x p(y|x)``: high when every
    sample is classified confidently and the classes are used evenly (between 1 and C).
  - Fréchet distance between Gaussians fitted to features,
    ``d^2 = ||m1 - m2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))`` (FID when the features are Inception's).
  - KID: the unbiased squared MMD with the cubic kernel ``k(a, b) = (a.b / d + 1)^3``, averaged over
    random subsets; unlike FID its expectation is 0 for two samples of one distribution.
  - Precision and recall with k-NN manifolds (Kynkäänniemi et al. 2019): precision = the fraction
    of samples inside the real data's manifold (fidelity), recall = the fraction of real data
    inside the samples' manifold (diversity).

Features may be torch tensors or NumPy arrays of shape ``(n, d)``; the sample statistics are
computed in float64 on the features' device (on the CPU for MPS, which has no float64).

Probes for the notebook's experiments: :func:`add_noise`, :func:`blur`, :func:`fade` and
:func:`drop_classes` degrade a set of images in one controlled way each.
"""

from course_gen.metrics.frechet import PSD_TOLERANCE, fid, frechet_distance, gaussian_stats, sqrtm_psd, trace_sqrt_product
from course_gen.metrics.inception import _kl_rows, inception_score
from course_gen.metrics.kid import MAX_DEGREE, MAX_SUBSETS, kid, polynomial_kernel
from course_gen.metrics.likelihood import (
    LN2,
    bits_per_dim,
    bits_to_nats,
    dequantization_offset,
    discrete_nll,
    nats_to_bits,
    parzen_log_likelihood,
    select_parzen_bandwidth,
)
from course_gen.metrics.manifold import PrecisionRecall, kth_neighbour_radius, precision_recall
from course_gen.metrics.probes import add_noise, blur, drop_classes, fade

__all__ = [
    "PrecisionRecall",
    "add_noise",
    "bits_per_dim",
    "blur",
    "bits_to_nats",
    "dequantization_offset",
    "discrete_nll",
    "drop_classes",
    "fade",
    "fid",
    "frechet_distance",
    "gaussian_stats",
    "inception_score",
    "kid",
    "kth_neighbour_radius",
    "nats_to_bits",
    "parzen_log_likelihood",
    "polynomial_kernel",
    "precision_recall",
    "select_parzen_bandwidth",
    "sqrtm_psd",
    "trace_sqrt_product",
]

# Functions and classes show their public path (``course_gen.metrics.fid``, not the file they live in) in
# messages, reprs and the exercise checkers' feedback, as before the split into files.
for _name in __all__:
    if getattr(globals()[_name], "__module__", "").startswith(__name__ + "."):
        globals()[_name].__module__ = __name__
del _name
