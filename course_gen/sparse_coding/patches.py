"""Preparing natural-image patches: keep the high-contrast ones, whiten with a roll-off."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from course_gen._checks import check_positive_number
from course_gen.sparse_coding._inputs import _check_matrix


def high_contrast(X: torch.Tensor, fraction: float = 0.5) -> torch.Tensor:
    """The rows of ``X`` whose standard deviation (contrast) is among the top ``fraction``,
    in their original order. Natural photographs have large flat areas (sky, dark
    background); their patches hold only noise and teach a dictionary nothing."""
    X = _check_matrix("X", X, "(n, d): one flattened patch per row")
    fraction = check_positive_number("fraction", fraction)
    if fraction > 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    n_keep = max(1, round(fraction * X.shape[0]))
    keep = torch.argsort(X.std(1), descending=True, stable=True)[:n_keep]
    return X[torch.sort(keep).values]


@dataclass
class Whitening:
    """Whitening of mean-removed patches, learned by :func:`whiten_patches`:
    ``transform(X) = (X - rowmean(X)) @ matrix``."""

    matrix: torch.Tensor

    def transform(self, X: torch.Tensor) -> torch.Tensor:
        X = _check_matrix("X", X, f"(n, {len(self.matrix)}): one flattened patch per row")
        if X.shape[1] != len(self.matrix):
            raise ValueError(f"X must have {len(self.matrix)} columns (the patches whitening was fit on), got {X.shape[1]}")
        centred = X - X.mean(1, keepdim=True)
        return (centred.to(self.matrix) @ self.matrix).to(device=X.device, dtype=X.dtype)


def whiten_patches(X: torch.Tensor, eps: float = 0.05) -> tuple[torch.Tensor, Whitening]:
    """Remove each patch's mean (its DC), then whiten with a roll-off; returns
    ``(whitened X, Whitening)`` (the latter applies the same map to new patches).

    Natural images put most of their variance in low spatial frequencies, so a dictionary
    fit to raw patches spends its atoms on smooth gradients. With the eigen-decomposition
    ``sum_i e_i v_i v_i^T`` of the patches' covariance, each principal direction is scaled by

        gain(e) = sqrt(e) / (e + eps * max(e))

    so a direction of variance ``e`` ends with variance ``e^2 / (e + eps max(e))^2``: about
    1 (whitened) for the strongest directions, down to ``(e / (eps max(e)))^2`` for the weakest,
    mostly pixel noise and JPEG artefacts. The spectrum comes out much flatter than the
    raw ``1/f^2`` one, without blowing up the noise: Olshausen and Field's whitening with
    a low-pass roll-off, in the patches' principal directions. The result is scaled so
    that the whitened patches' mean squared norm is 1.
    """
    X = _check_matrix("X", X, "(n, d): one flattened patch per row")
    eps = check_positive_number("eps", eps)
    centred = (X - X.mean(1, keepdim=True)).double()
    covariance = centred.T @ centred / len(centred)
    eigenvalues, vectors = torch.linalg.eigh(covariance)
    eigenvalues = eigenvalues.clamp_min(0)
    gain = eigenvalues.sqrt() / (eigenvalues + eps * eigenvalues.max()).clamp_min(torch.finfo(torch.float64).tiny)
    matrix = vectors @ torch.diag(gain) @ vectors.T
    matrix = matrix / ((centred @ matrix) ** 2).sum(1).mean().sqrt().clamp_min(torch.finfo(torch.float64).tiny)
    whitening = Whitening(matrix=matrix.to(X.device))
    return whitening.transform(X), whitening
