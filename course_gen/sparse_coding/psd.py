"""Predictive sparse decomposition: a feed-forward encoder trained to predict the optimised codes."""

from __future__ import annotations

import torch
from torch import nn

from course_gen._checks import check_choice, check_int, check_nonnegative, check_tensor
from course_gen.runtime import model_device
from course_gen.sparse_coding._inputs import _check_matrix
from course_gen.sparse_coding.objective import lipschitz_constant, soft_threshold


#: Encoder nonlinearities :class:`PSDEncoder` accepts.
PSD_NONLINEARITIES = ("tanh", "shrink")
#: The most weights a :class:`PSDEncoder` may have (2**28, 1 GiB of float32): larger sizes are a typo.
MAX_WEIGHTS = 2**28


class PSDEncoder(nn.Module):
    """The encoder of predictive sparse decomposition: a feed-forward guess of the sparse code.

    The lecture writes the PSD objective as

        min over D, W, z   ||z D - x||^2 + lam ||z||_1  +  ||sigma(W x) - z||^2

    (decoder term + encoder term). Here the dictionary ``D`` is already learned and the
    codes ``z`` are the optimised ones from :func:`sparse_encode`, so only the encoder term
    is trained: ``loss(batch)`` is ``mean over the batch of ||encoder(x) - z||^2``.
    Encoding a new patch then costs one matrix product instead of an iterative solve
    (amortised inference).

    ``nonlinearity``:

    - ``"tanh"`` (default): ``z_hat = g * tanh(W x + b)`` with a learned gain ``g`` per atom,
      the form of Kavukcuoglu, Ranzato and LeCun's PSD. A sigmoid would give codes in (0, 1),
      but Lasso codes are signed; tanh is the signed sigmoid, and ``g`` sets the scale.
      Codes are small but never exactly zero.
    - ``"shrink"``: ``z_hat = soft_threshold(W x + b, theta)`` with a learned threshold
      ``theta >= 0`` per atom: one ISTA-like step, so codes have exact zeros, like the targets.

    ``dictionary`` (optional, ``(n_atoms, n_inputs)``): start ``W`` at ``D / L`` and ``theta``
    at ``lam / L`` (one ISTA step from ``a = 0``) instead of a random ``W``.
    """

    def __init__(
        self,
        n_inputs: int,
        n_atoms: int,
        nonlinearity: str = "tanh",
        dictionary: torch.Tensor | None = None,
        lam: float = 0.0,
    ):
        super().__init__()
        self.n_inputs = check_int("n_inputs", n_inputs, minimum=1)
        self.n_atoms = check_int("n_atoms", n_atoms, minimum=1)
        if self.n_inputs * self.n_atoms > MAX_WEIGHTS:
            raise ValueError(f"a PSDEncoder of {n_inputs} inputs and {n_atoms} atoms would have "
                             f"{n_inputs * n_atoms:.3g} weights, more than {MAX_WEIGHTS}: choose smaller sizes")
        self.nonlinearity = check_choice("nonlinearity", nonlinearity, PSD_NONLINEARITIES)
        lam = check_nonnegative("lam", lam)
        self.linear = nn.Linear(n_inputs, n_atoms)
        self.gain = nn.Parameter(torch.ones(n_atoms))
        self.raw_threshold = nn.Parameter(torch.zeros(n_atoms))
        if dictionary is not None:
            D = _check_matrix("dictionary", dictionary, f"({n_atoms}, {n_inputs}): one atom per row")
            if tuple(D.shape) != (n_atoms, n_inputs):
                raise ValueError(f"dictionary must have shape ({n_atoms}, {n_inputs}), got {tuple(D.shape)}")
            step = 1.0 / lipschitz_constant(D)
            with torch.no_grad():
                self.linear.weight.copy_(D.float() * step)
                self.linear.bias.zero_()
                self.raw_threshold.fill_(lam * step)

    @property
    def threshold(self) -> torch.Tensor:
        """The shrink threshold per atom, ``|raw_threshold|`` (so it stays >= 0)."""
        return self.raw_threshold.abs()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Codes ``(B, n_atoms)`` for patches ``x`` ``(B, n_inputs)``, finite; patches of another dtype
        (float64, say) are cast to the weights' (float32 unless the model was converted)."""
        check_tensor("x", x, what=f"(patches (B, {self.n_inputs}))")
        if x.ndim != 2 or x.shape[1] != self.n_inputs:
            raise ValueError(f"PSDEncoder expects patches of shape (B, {self.n_inputs}), got {tuple(x.shape)}")
        pre_activation = self.linear(x.to(model_device(self), self.linear.weight.dtype))
        if self.nonlinearity == "tanh":
            return self.gain * torch.tanh(pre_activation)
        return soft_threshold(pre_activation, self.threshold)

    def loss(self, batch) -> dict[str, torch.Tensor]:
        """``batch = (x, z)``: patches and their optimised codes. Returns ``{"loss": mean
        over the batch of ||forward(x) - z||^2, "active": mean fraction of non-zero codes}``."""
        if not isinstance(batch, (tuple, list)) or len(batch) != 2:
            raise TypeError("PSDEncoder.loss expects a batch (x, target_codes), e.g. train(model, (X, codes), ...)")
        x, target = batch
        predicted = self(x)
        check_tensor("target codes", target, shape=(len(predicted), self.n_atoms), what="(one code per patch)")
        loss = ((predicted - target.to(predicted)) ** 2).sum(1).mean()
        return {"loss": loss, "active": (predicted != 0).float().mean().detach()}
