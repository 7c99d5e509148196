"""Valid calls of course_gen.classifier (the shipped digits classifier)."""

import torch

from bad_input_cases import Case
from course_gen import checkpoints, classifier
from course_gen.data import digits

_x, _y = digits("test")
_x, _y = _x[:32], _y[:32]
_model = classifier.digits_classifier(device="cpu")

CASES = [
    Case(classifier.DigitsClassifier, {"hidden": 64, "binarize_prob": 0.5, "dropout": 0.2, "image_size": 8}),
    Case(_model.forward, {"x": _x}),
    Case(_model.features, {"x": _x}),
    Case(_model.probs, {"x": _x}),
    Case(_model.predict, {"x": _x}),
    Case(_model.loss, {"batch": (_x, _y)},
         extra_bad={"batch": {"labels outside 0-9": (_x, _y + 10), "images outside [0, 1]": (_x * 3 - 1, _y),
                              "one tensor": _x}}),
    Case(classifier.accuracy, {"model": _model, "images": _x, "labels": _y},
         extra_bad={"labels": {"outside 0-9": _y + 10, "negative": -_y - 1},
                    "images": {"outside [0, 1]": _x * 3 - 1}}),
    Case(classifier.new_classifier, {"seed": 0}),
    Case(classifier.train_digits_classifier, {"model": None, "steps": 1, "device": "cpu", "seed": 0}),
    Case(classifier.digits_classifier, {"device": "cpu", "root": str(checkpoints.assets_dir())}),
    Case(classifier.digits_scores, {"images": _x, "real_images": digits("train")[0][:32], "classifier": _model,
                                    "splits": 1, "kid_subsets": 5, "seed": 0}),
]
