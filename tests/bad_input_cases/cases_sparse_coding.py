"""Valid calls of course_gen.sparse_coding and course_gen.widgets.sparse_coding (small problems)."""

import numpy as np
import torch

from bad_input_cases import Case
from course_gen import sparse_coding as sc
from course_gen.widgets import sparse_coding as sc_widgets

_g = torch.Generator().manual_seed(0)
_D = torch.nn.functional.normalize(torch.randn(6, 16, generator=_g), dim=1)  # 6 atoms of 4x4
_X = torch.randn(5, 16, generator=_g)
_codes = sc.sparse_encode(_X, _D, 0.2)
_atom = _D[0].reshape(4, 4)
_stats = sc.atom_statistics(_D[:2])
_whitening = sc.whiten_patches(torch.randn(40, 16, generator=_g))[1]
_psd = sc.PSDEncoder(16, 6, nonlinearity="shrink", dictionary=_D, lam=0.1)
_features = torch.randn(20, 3, generator=_g)
_labels = torch.arange(20) % 2
_lams = torch.tensor([0.05, 0.1, 0.5], dtype=torch.float64)

_negative = {"a negative threshold grows values": -1.0}
_GABOR = {"amplitude": 1.0, "x0": 1.5, "y0": 1.5, "theta": 0.3, "frequency": 0.2, "phase": 0.0, "sigma_x": 1.0,
          "sigma_y": 1.5}

CASES = [
    # the objective and its pieces
    Case(sc.soft_threshold, {"z": _X, "threshold": 0.5},
         extra_bad={"threshold": _negative | {"a negative tensor": -torch.ones(16)}}),
    Case(sc.lipschitz_constant, {"D": _D}),
    Case(sc.lasso_objective, {"X": _X, "D": _D, "codes": _codes, "lam": 0.2, "reduction": "mean"}),
    Case(sc.ista_step, {"codes": _codes, "X": _X, "D": _D, "lam": 0.2, "step": 0.1}),
    Case(sc.code_formula, {"code": _codes[0], "n_terms": 3}),
    # encoding
    Case(sc.sparse_encode, {"X": _X, "D": _D, "lam": 0.2, "max_iter": 50, "tol": 1e-6, "init": _codes,
                            "polish_every": 5}),
    Case(sc.lasso_path, {"x": _X[0], "D": _D, "lams": _lams},
         extra_bad={"lams": {"a zero lambda": torch.tensor([0.0, 0.1], dtype=torch.float64)}}),
    # dictionary learning
    Case(sc.dictionary_update, {"X": _X, "codes": _codes, "D": _D, "n_sweeps": 2}),
    Case(sc.learn_dictionary, {"X": _X, "n_atoms": 3, "lam": 0.2, "n_iter": 2, "seed": 0, "device": "cpu",
                               "init": _D[:3], "encode_tol": 1e-3, "n_sweeps": 1}),
    # predictive sparse decomposition
    Case(sc.PSDEncoder, {"n_inputs": 16, "n_atoms": 6, "nonlinearity": "shrink", "dictionary": _D, "lam": 0.1}),
    Case(_psd.forward, {"x": _X}),
    Case(_psd.loss, {"batch": (_X, _codes)},
         extra_bad={"batch": {"NaN targets": (_X, torch.full_like(_codes, float("nan"))),
                              "targets of another batch": (_X, _codes[:2]), "targets not a tensor": (_X, 1.0),
                              "one tensor": _X}}),
    # patches and atoms
    Case(sc.high_contrast, {"X": _X, "fraction": 0.5}),
    Case(_whitening.transform, {"X": _X}),
    Case(sc.whiten_patches, {"X": torch.randn(40, 16, generator=_g), "eps": 0.05}),
    Case(sc.orientation_coherence, {"atom": _atom}),
    Case(sc.spatial_concentration, {"atom": _atom, "window": 2}),
    Case(sc.gabor, {"shape": (4, 4), **_GABOR},
         extra_bad={"sigma_x": {"zero": 0.0}, "shape": {"not a pair": (4,), "negative": (-1, 4)}}),
    Case(sc.gabor_fit, {"atom": _atom}, extra_bad={"atom": {"one row": torch.ones(1, 5),
                                                            "NaN array": np.full((4, 4), np.nan)}}),
    Case(sc.gabor_like, {"stats": _stats},
         extra_bad={"stats": {"NaN r2": _stats | {"gabor_r2": np.full(2, np.nan)}}}),
    Case(sc.atom_statistics, {"D": _D[:2]}),
    Case(sc.linear_probe_predictions, {"train_features": _features, "train_labels": _labels,
                                       "test_features": _features[:4], "C": 1.0},
         extra_bad={"train_labels": {"fewer labels than rows": _labels[:5]},
                    "test_features": {"other columns": _features[:4, :2]}}),
    Case(sc.linear_probe_accuracy, {"train_features": _features, "train_labels": _labels,
                                    "test_features": _features[:4], "test_labels": _labels[:4], "C": 1.0},
         extra_bad={"test_labels": {"fewer labels than rows": _labels[:2]}}),
    # the widgets' pictures
    Case(sc_widgets.draw_code_terms, {"x": _X[0], "code": _codes[0], "D": _D, "n_terms": 2}),
    Case(sc_widgets.draw_orientation_summary, {"stats": _stats, "keep": np.array([True, False]), "size": 4},
         extra_bad={"keep": {"wrong length": np.array([True])}}),
    Case(sc_widgets.draw_gabor_fits, {"D": _D, "indices": torch.tensor([0, 1])},
         extra_bad={"indices": {"out of range": torch.tensor([0, 6])}}),
    Case(sc_widgets.draw_sparse_code, {"D": _D, "x": _X[0], "lam": 0.1, "lams": _lams,
                                       "path": sc.lasso_path(_X[0], _D, _lams)}),
    Case(sc_widgets.sparse_code_explorer, {"D": _D, "patches": _X, "lam": 0.1, "lam_range": (0.01, 1.0)}),
]
