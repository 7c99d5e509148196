"""Valid calls of course_gen.autoencoders: losses, noise, the models' methods, PCA, hashing, measures, recipes."""

import torch

from bad_input_cases import Case
from course_gen import autoencoders as ae

_g = torch.Generator().manual_seed(0)
_x = torch.rand(6, 1, 8, 8, generator=_g)  # images in [0, 1]
_logits = torch.randn(6, 1, 8, 8, generator=_g)
_codes3 = torch.randn(6, 3, generator=_g)
_bits = torch.tensor([[0, 1, 1], [1, 0, 0], [1, 1, 0], [0, 0, 1]])
_labels = torch.tensor([0, 1, 1, 0])
_outside = {"targets outside [0, 1]": 3 * _x - 1}

torch.manual_seed(0)
_mlp = ae.MLPAutoencoder(3, hidden_sizes=(8,)).eval()
_conv = ae.ConvAutoencoder(3, channels=(4,), likelihood="gaussian").eval()
_binary = ae.BinaryCodeAutoencoder(4, hidden_sizes=(8,), likelihood="gaussian")  # train mode: code noise
_denoising = ae.MLPAutoencoder(3, corruption="mask", noise_level=0.25, sparsity=0.1)  # train mode: masking
_pca = ae.pca(_x, 3)

_layers = {"image_shape": {"a negative size": (1, -8, 8), "a string": "1x8x8"},
           "hidden_sizes": {"a string": "8", "too many weights": (10**5, 10**5)}}

CASES = [
    # losses and noise
    Case(ae.bce_loss, {"x_hat": 0.8 * _x + 0.1, "x": _x},
         extra_bad={"x": _outside, "x_hat": {"probabilities outside [0, 1]": _x + 1}}),
    Case(ae.bce_with_logits_loss, {"logits": _logits, "x": _x}, extra_bad={"x": _outside}),
    Case(ae.squared_error_loss, {"x_hat": _logits, "x": _x}),
    Case(ae.masking_noise, {"x": _x, "nu": 0.25, "generator": torch.Generator().manual_seed(1)},
         extra_bad={"nu": {"above 1": 1.5}, "generator": {"not a generator": 3}}),
    Case(ae.gaussian_noise, {"x": _x, "sigma": 0.5, "generator": None},
         extra_bad={"generator": {"a seed instead of a generator": 3}}),
    # models: constructors and methods
    Case(ae.MLPAutoencoder, {"code_size": 3, "hidden_sizes": (8,), "image_shape": (1, 8, 8), "activation": "tanh",
                             "code_activation": "linear", "likelihood": "bernoulli", "tied": True,
                             "corruption": "mask", "noise_level": 0.25, "sparsity": 0.1, "device": "cpu"},
         extra_bad=_layers | {"noise_level": {"a masking probability of 1": 1.0}}),
    Case(ae.ConvAutoencoder, {"code_size": 3, "image_shape": (1, 8, 8), "channels": (4,), "activation": "relu",
                              "likelihood": "gaussian", "corruption": "gaussian", "noise_level": 0.1,
                              "sparsity": 0.0, "device": "cpu"},
         extra_bad={"image_shape": {"not divisible by 2": (1, 7, 7), "no channel axis": (8, 8)},
                    "channels": {"none": (), "a string": "4"}}),
    Case(ae.BinaryCodeAutoencoder, {"code_size": 4, "hidden_sizes": (8,), "image_shape": (64,), "activation": "elu",
                                    "likelihood": "gaussian", "method": "noise", "code_noise": 4.0, "device": "cpu"},
         extra_bad=_layers),
    Case(_mlp.encode, {"x": _x}),
    Case(_mlp.decode, {"z": _codes3}),
    Case(_mlp.decoder_output, {"z": _codes3}),
    Case(_mlp.forward, {"x": _x.reshape(6, 64)}),
    Case(_conv.forward, {"x": _x}),
    Case(_mlp.loss, {"batch": _x}, extra_bad={"batch": _outside | {"an empty tuple": ()}}),
    Case(_conv.loss, {"batch": _x}),
    Case(_denoising.loss, {"batch": _x}),
    Case(_denoising.corrupt, {"x": _x}),
    Case(_mlp.reconstruction_loss, {"output": _logits, "x": _x}, extra_bad={"x": _outside}),
    Case(_binary.loss, {"batch": _x}),
    Case(_binary.binary_code, {"x": _x}),
    # PCA and subspaces
    Case(ae.pca, {"x": _x, "k": 3}),
    Case(ae.PCA, {"mean": _pca.mean, "components": _pca.components, "variances": _pca.variances,
                  "image_shape": (1, 8, 8)},
         extra_bad={"variances": {"negative": -_pca.variances}, "image_shape": {"too few pixels": (1, 7, 8)}}),
    Case(_pca.encode, {"x": _x}),
    Case(_pca.decode, {"z": _codes3}),
    Case(_pca.__call__, {"x": _x}),
    Case(_pca.binary_code, {"x": _x}),
    Case(_pca.first, {"k": 2}, extra_bad={"k": {"more than fitted": 4}}),
    Case(ae.principal_angles, {"a": _pca.components, "b": torch.randn(64, 2, generator=_g)},
         extra_bad={"a": {"dependent columns": torch.ones(64, 3)}, "b": {"another space": torch.randn(5, 2)}}),
    # semantic hashing
    Case(ae.hamming_distances, {"query_codes": _bits[:2], "database_codes": _bits},
         extra_bad={"query_codes": {"not binary": 2 * _bits[:2]}}),
    Case(ae.nearest_neighbours, {"query": _bits[:2], "database": _bits, "k": 2, "metric": "hamming"},
         extra_bad={"k": {"more than the database": 5}}),
    Case(ae.nearest_neighbours, {"query": _x[:2], "database": _x, "k": 2, "metric": "euclidean"},
         extra_bad={"query": {"another dimension": torch.rand(2, 10)}}),
    Case(ae.precision_at_k, {"query_codes": _bits[:2], "query_labels": _labels[:2], "database_codes": _bits,
                             "database_labels": _labels, "k": 2, "metric": "hamming"},
         extra_bad={"database_labels": {"one label too few": _labels[:3]}}),
    # measures
    Case(ae.reconstruction_error, {"reconstruct": _mlp, "x": _x},
         extra_bad={"reconstruct": {"not callable": 3, "returns NaN": lambda u: u * float("nan"),
                                    "returns another shape": lambda u: u[:, 0]}}),
    Case(ae.relative_error, {"reconstruct": _pca, "x": _x},
         extra_bad={"x": {"all zeros": torch.zeros(6, 1, 8, 8)}, "reconstruct": {"not callable": "pca"}}),
    Case(ae.noise_gain, {"reconstruct": _conv, "x": _x, "sigma": 0.1, "seed": 0, "mask": _x > 0.5},
         extra_bad={"sigma": {"zero": 0.0}, "mask": {"selects nothing": torch.zeros(6, 1, 8, 8, dtype=torch.bool)},
                    "reconstruct": {"returns inf": lambda u: u / 0}}),
    Case(ae.nearest_distance, {"x": _x[:2], "database": _x, "batch_size": 4},
         extra_bad={"database": {"another dimension": torch.rand(3, 10)}}),
    Case(ae.neighbour_correlation, {"filters": _logits.reshape(6, 64), "image_shape": (8, 8)},
         extra_bad={"image_shape": {"three sizes": (1, 8, 8), "negative sizes": (-8, -8), "too many pixels": (9, 9)}}),
    # notebook 02's models and recipes
    Case(ae.overcomplete_autoencoder, {"variant": "mask25"}),
    Case(ae.deep_autoencoder, {"code_size": 2, "hidden_sizes": (16,)}, extra_bad={"hidden_sizes": {"a number": 16}}),
    Case(ae.recipe_data, {"kind": "centred"}),
    Case(ae.Recipe, {"build": lambda: ae.MLPAutoencoder(2), "data": "grey", "steps": 10, "lr": 1e-3, "batch_size": 8,
                     "seed": 0, "about": "a test"},
         extra_bad={"build": {"not callable": "mlp"}, "seed": {"too large": 2**64}}),
    Case(ae.train_recipe, {"name": "ae02_losses", "progress": False, "steps": 1},
         skip={"steps": "None means the recipe's own 3000 steps (a minute of training); "
                        "test_autoencoders checks bad steps"}),
    Case(ae.shipped, {"name": "ae02_linear", "retrain": False, "root": None, "device": "cpu"},
         extra_bad={"root": {"a missing folder": "/nonexistent/course_gen_checkpoints", "a number": 3}}),
]
