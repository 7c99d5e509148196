"""Sparse coding, dictionary learning and predictive sparse decomposition (notebook 01).

Conventions: a data matrix ``X`` is ``(n, d)``, one example per row; a dictionary ``D`` is
``(k, d)``, one atom ``phi_k`` per row; codes ``A`` are ``(n, k)``, so the reconstruction of
``X`` is ``A @ D`` (row ``n``: ``x_n ~ sum_k a_nk phi_k``).

The lecture's objective, with the conventional factor 1/2 on the reconstruction term
(it rescales lambda by 2 and changes nothing else):

    min over A, D   sum_n  1/2 ||x_n - a_n D||^2 + lam ||a_n||_1      with ||phi_k|| = 1

- :func:`sparse_encode` solves it over the codes with ``D`` fixed: one Lasso per row, all
  rows at once (FISTA on the ``k``-dimensional codes, finished by an exact solve on the
  support). It runs on any device.
- :func:`dictionary_update` solves it over the atoms with the codes fixed (block coordinate
  descent, each atom exactly minimised on the unit sphere).
- :func:`learn_dictionary` alternates the two (the lecture's alternating optimisation).
- :class:`PSDEncoder` amortises the encoding: a feed-forward ``g * tanh(W x + b)`` (or a
  learned shrinkage) trained to predict the optimised codes (predictive sparse decomposition).
- :func:`high_contrast` and :func:`whiten_patches` prepare natural-image patches;
  :func:`atom_statistics` (:func:`gabor_fit`, :func:`orientation_coherence`,
  :func:`spatial_concentration`) measures whether atoms are localised oriented edges.
- :func:`linear_probe_accuracy`: the same linear classifier on any features.

One idea per file: :mod:`.objective` (the objective, soft threshold, ISTA step), :mod:`.encode`
(``sparse_encode``: FISTA and the exact finish; ``lasso_path``), :mod:`.dictionary` (atom update,
``learn_dictionary``), :mod:`.psd` (the PSD encoder), :mod:`.patches` (contrast, whitening),
:mod:`.gabor` (atom statistics), :mod:`.probes` (linear probe), :mod:`._inputs` (argument checks).

Everything is importable from here: ``from course_gen import sparse_coding as sc; sc.sparse_encode``.
"""

from __future__ import annotations

from course_gen.sparse_coding.dictionary import dictionary_update, learn_dictionary
from course_gen.sparse_coding.encode import _fista, lasso_path, sparse_encode
from course_gen.sparse_coding.gabor import (
    GABOR_PARAMETERS,
    GABOR_R2_THRESHOLD,
    NYQUIST_BAND,
    atom_statistics,
    gabor,
    gabor_fit,
    gabor_like,
    orientation_coherence,
    spatial_concentration,
)
from course_gen.sparse_coding.objective import (
    _row_objective,
    code_formula,
    ista_step,
    lasso_objective,
    lipschitz_constant,
    soft_threshold,
)
from course_gen.sparse_coding.patches import Whitening, high_contrast, whiten_patches
from course_gen.sparse_coding.probes import linear_probe_accuracy, linear_probe_predictions
from course_gen.sparse_coding.psd import PSD_NONLINEARITIES, PSDEncoder

__all__ = [
    "GABOR_PARAMETERS", "GABOR_R2_THRESHOLD", "NYQUIST_BAND", "PSDEncoder", "PSD_NONLINEARITIES", "Whitening",
    "atom_statistics", "code_formula", "dictionary_update", "gabor", "gabor_fit", "gabor_like",
    "high_contrast", "ista_step", "lasso_objective", "lasso_path", "learn_dictionary",
    "linear_probe_accuracy", "linear_probe_predictions", "lipschitz_constant", "orientation_coherence",
    "soft_threshold", "sparse_encode", "spatial_concentration", "whiten_patches",
]

# Public objects name the package as their home (``course_gen.sparse_coding.X``, what notebooks write) in
# messages and reprs, not the file inside it that defines them.
for _public in (globals()[name] for name in __all__):
    if getattr(_public, "__module__", "").startswith(__name__ + "."):
        _public.__module__ = __name__
del _public
