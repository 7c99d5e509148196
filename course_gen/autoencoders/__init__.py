"""Autoencoders, from PCA to denoising and semantic hashing (notebook 02).

An autoencoder is an encoder ``h = f(x)`` and a decoder ``x_hat = g(h)`` trained so that
``g(f(x))`` reproduces ``x``. The lecture's one-hidden-layer version is

    h(x)   = sigm(b + W x)              (encoder)
    x_hat  = sigm(c + W* h(x))          (decoder; tied weights: W* = W^T)

with the reconstruction loss chosen by the kind of data (``likelihood``): ``"bernoulli"``
(cross-entropy, inputs in [0, 1]) or ``"gaussian"`` (half the squared error), summed over the
pixels of an image and averaged over the batch.

One idea per file, read in this order:

- :mod:`.losses`: :func:`bce_loss`, :func:`bce_with_logits_loss`, :func:`squared_error_loss`;
- :mod:`.noise`: the corruptions of a denoising autoencoder, :func:`masking_noise`, :func:`gaussian_noise`;
- :mod:`.models`: :class:`Autoencoder` (the shared ``encode``/``decode``/``forward``/``loss``),
  :class:`MLPAutoencoder`, :class:`ConvAutoencoder`;
- :mod:`.pca`: :func:`pca` (the linear baseline) and :func:`principal_angles` between subspaces;
- :mod:`.hashing`: semantic hashing, :class:`BinaryCodeAutoencoder`, :func:`hamming_distances`,
  :func:`nearest_neighbours`, :func:`precision_at_k`;
- :mod:`.measures`: :func:`reconstruction_error`, :func:`relative_error`, :func:`noise_gain`,
  :func:`nearest_distance`, :func:`neighbour_correlation`;
- :mod:`.recipes`: notebook 02's models on MNIST, their training recipes and :func:`shipped`.

Every name is importable from here: ``from course_gen import autoencoders as ae; ae.MLPAutoencoder``.
Wrong input (shape, dtype, NaN, range) raises a ``ValueError`` or ``TypeError`` saying what was
expected and what came; models cast floating inputs of another dtype to their own.
"""

from course_gen.autoencoders.hashing import BinaryCodeAutoencoder, hamming_distances, nearest_neighbours, precision_at_k
from course_gen.autoencoders.losses import EPS, LIKELIHOODS, bce_loss, bce_with_logits_loss, squared_error_loss
from course_gen.autoencoders.measures import (
    nearest_distance,
    neighbour_correlation,
    noise_gain,
    reconstruction_error,
    relative_error,
)
from course_gen.autoencoders.models import ACTIVATIONS, Autoencoder, ConvAutoencoder, MLPAutoencoder
from course_gen.autoencoders.noise import CORRUPTIONS, gaussian_noise, masking_noise
from course_gen.autoencoders.pca import PCA, pca, principal_angles
from course_gen.autoencoders.recipes import (
    DEEP_CODE_SIZES,
    MNIST_SHAPE,
    OVERCOMPLETE,
    OVERCOMPLETE_UNITS,
    RECIPES,
    Recipe,
    deep_autoencoder,
    overcomplete_autoencoder,
    recipe_data,
    shipped,
    train_recipe,
)

__all__ = [
    "ACTIVATIONS",
    "CORRUPTIONS",
    "LIKELIHOODS",
    "PCA",
    "Autoencoder",
    "BinaryCodeAutoencoder",
    "ConvAutoencoder",
    "DEEP_CODE_SIZES",
    "MLPAutoencoder",
    "MNIST_SHAPE",
    "OVERCOMPLETE",
    "OVERCOMPLETE_UNITS",
    "RECIPES",
    "Recipe",
    "bce_loss",
    "bce_with_logits_loss",
    "gaussian_noise",
    "hamming_distances",
    "masking_noise",
    "deep_autoencoder",
    "nearest_distance",
    "nearest_neighbours",
    "neighbour_correlation",
    "noise_gain",
    "overcomplete_autoencoder",
    "pca",
    "precision_at_k",
    "principal_angles",
    "recipe_data",
    "reconstruction_error",
    "relative_error",
    "shipped",
    "squared_error_loss",
    "train_recipe",
]
