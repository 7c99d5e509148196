"""Valid calls of course_gen.train."""

import torch
from torch import nn

from bad_input_cases import Case
from course_gen._checks import check_tensor
from course_gen.train import History, check_loss, make_optimizer, to_device, train


class _Centre(nn.Module):
    """The smallest model train() accepts: a point pulled to the batch's rows (its loss checks its batch)."""

    def __init__(self):
        super().__init__()
        self.centre = nn.Parameter(torch.zeros(2))

    def loss(self, batch):
        batch = check_tensor("batch", batch, shape=(None, 2), dtype="float")
        return ((batch - self.centre) ** 2).sum(-1).mean()


_data = torch.randn(16, 2, generator=torch.Generator().manual_seed(0))

CASES = [
    Case(train, {"model": _Centre(), "data": _data, "steps": 3, "batch_size": 8, "lr": 0.01, "optimizer": "adam",
                 "weight_decay": 0.0, "device": "cpu", "seed": 0, "progress": False, "log_every": 1}),
    Case(train, {"model": _Centre(), "data": _data, "epochs": 2, "batch_size": 8, "progress": False, "device": "cpu"}),
    Case(History(loss=[3.0, 2.0, 1.0], steps=3).last, {"n": 2}),
    Case(check_loss, {"value": 2.0, "step": 2, "history": History(loss=[1.0], steps=1), "total": 10, "what": "loss"},
         skip={"value": "NaN, inf and huge values are what it detects: they raise TrainingDivergedError "
                        "(tests/test_train.py::test_check_loss_rules)"}),
    Case(make_optimizer, {"params": [nn.Parameter(torch.zeros(2))], "optimizer": "sgd", "lr": 0.1, "weight_decay": 0.0}),
    Case(to_device, {"batch": (torch.ones(2), torch.zeros(2)), "device": "cpu"}),
]

from course_gen import pretrain, pretrained  # noqa: E402
from course_gen.data import mnist10k  # noqa: E402

_binary = mnist10k("test", binarize=True)[0][:8]

CASES += [
    Case(pretrain.test_nll_nats, {"name": "vae", "model": pretrained.load("vae", device="cpu"), "x": _binary,
                                  "n_samples": 1, "batch_size": 4, "seed": 0, "iwae_k": 2},
         extra_bad={"x": {"grey levels above 1": _binary * 2}}),
    Case(pretrain.short_run, {"name": "vae", "steps": 1, "seed": 0, "batch_size": 8, "n_test": 4, "device": "cpu"}),
]
