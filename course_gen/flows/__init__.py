"""Normalizing flows: invertible maps with tractable log-determinants (notebook 04).

Direction convention (notebook 04's, and RealNVP's and Glow's): ``f`` maps data ``x`` to the latent
``z = f(x)``; sampling runs the inverse ``g = f^-1``, ``x = g(z)``. The change of variables formula: if
``z = f(x)`` with ``f`` invertible and differentiable,

    p_X(x) = p_Z(f(x)) |det df/dx|,      log p_X(x) = log p_Z(f(x)) + log |det df/dx|,

and ``|det df^-1/dz| = |det df/dx|^-1``. For a composition ``f = f_K o ... o f_1`` the
log-determinants add up. Every transform is an ``nn.Module`` whose ``forward(x)`` returns
``(y, log_abs_det)`` (one value per example, shape ``(B,)``) and, where an inverse exists,
``inverse(y)`` returns ``(x, log_abs_det)`` of the inverse (minus the forward one).

One idea per module, read in this order:

- :mod:`~course_gen.flows.base`: the input checks, :class:`Transform`, :class:`StandardNormal`,
  :class:`Flow` (normalising direction, ``log_prob``/``sample``/``loss``) and :class:`VariationalFlow`
  (sampling direction, fitted to an unnormalised target by the reverse KL);
- :mod:`~course_gen.flows.planar`: :class:`Planar` and :class:`Radial` (Rezende and Mohamed 2015);
- :mod:`~course_gen.flows.coupling`: :class:`AdditiveCoupling` (NICE) and :class:`AffineCoupling`
  (RealNVP) with the masks of :func:`coupling_mask`;
- :mod:`~course_gen.flows.glow`: :class:`ActNorm`, :class:`Invertible1x1Conv` (Glow) and :class:`Squeeze`;
- :mod:`~course_gen.flows.dequantization`: :func:`dequantize`, :class:`VariationalDequantizer` (Flow++),
  :class:`DequantizedFlow`, :class:`LogitTransform`;
- :mod:`~course_gen.flows.diagnostics`: :func:`histogram_vs_density`, :func:`reverse_kl`,
  :func:`log_normaliser_2d`;
- :mod:`~course_gen.flows.recipes`: :func:`realnvp_2d`, :func:`realnvp_digits` and notebook 04's shipped
  2-D models (:func:`shipped_2d`).

The target energies ``U1``..``U4`` (:func:`energy_log_density`) live beside the toy data in
:mod:`course_gen.data.toy2d` and are re-exported here.
"""

from course_gen.data.toy2d import ENERGY_NAMES, energy_log_density
from course_gen.flows.base import Flow, StandardNormal, Transform, VariationalFlow
from course_gen.flows.coupling import MASKS, AdditiveCoupling, AffineCoupling, coupling_mask
from course_gen.flows.dequantization import (DEQUANTIZATIONS, DequantizedFlow, LogitTransform, VariationalDequantizer,
                                             dequantize, dequantized_bits_per_dim, discretize)
from course_gen.flows.diagnostics import histogram_vs_density, log_normaliser_2d, reverse_kl
from course_gen.flows.glow import ActNorm, Invertible1x1Conv, Squeeze
from course_gen.flows.planar import (Planar, Radial, planar_flows, planar_invertible, planar_map, radial_flows,
                                     radial_map)
from course_gen.flows.recipes import (MOONS_RECIPE, PLANAR_RECIPE, SHIPPED_2D, moons_realnvp_pair, planar_fits,
                                      realnvp_2d, realnvp_digits, shipped_2d, train_moons_realnvp_pair,
                                      train_planar_fits)

__all__ = [
    "ENERGY_NAMES",
    "MASKS",
    "ActNorm",
    "AdditiveCoupling",
    "AffineCoupling",
    "DEQUANTIZATIONS",
    "DequantizedFlow",
    "Flow",
    "Invertible1x1Conv",
    "MOONS_RECIPE",
    "PLANAR_RECIPE",
    "SHIPPED_2D",
    "LogitTransform",
    "Planar",
    "Radial",
    "Squeeze",
    "StandardNormal",
    "Transform",
    "VariationalDequantizer",
    "VariationalFlow",
    "coupling_mask",
    "dequantize",
    "dequantized_bits_per_dim",
    "discretize",
    "energy_log_density",
    "histogram_vs_density",
    "log_normaliser_2d",
    "moons_realnvp_pair",
    "planar_fits",
    "planar_flows",
    "planar_invertible",
    "planar_map",
    "radial_flows",
    "radial_map",
    "realnvp_2d",
    "realnvp_digits",
    "reverse_kl",
    "shipped_2d",
    "train_moons_realnvp_pair",
    "train_planar_fits",
]
