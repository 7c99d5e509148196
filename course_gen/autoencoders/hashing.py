"""Semantic hashing: an autoencoder with a binary code, and retrieval by Hamming distance.

:class:`BinaryCodeAutoencoder` learns a ``k``-bit address for each image; :func:`hamming_distances`
compares addresses, :func:`nearest_neighbours` retrieves the closest database items (by Hamming
or Euclidean distance) and :func:`precision_at_k` scores the retrieval by the items' labels.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from course_gen._checks import check_choice, check_int, check_nonnegative, check_tensor
from course_gen.autoencoders.models import MLPAutoencoder


class BinaryCodeAutoencoder(MLPAutoencoder):
    """A deep autoencoder whose code is (nearly) binary, for semantic hashing.

    The code layer is ``sigm(a)``. Training pushes it to 0 or 1 in one of two ways:

    - ``method="noise"`` (Salakhutdinov & Hinton): Gaussian noise of std ``code_noise`` is
      added to ``a`` before the sigmoid; only codes far from 0.5 survive the noise, so the
      encoder learns large ``|a|``;
    - ``method="straight_through"``: the forward pass uses the hard code ``1[sigm(a) >= 0.5]``,
      the backward pass the gradient of ``sigm(a)``.

    ``binary_code(x)`` thresholds at 0.5 and returns a ``{0, 1}`` tensor ``(B, k)`` in the model's dtype.
    """

    METHODS = ("noise", "straight_through")

    def __init__(
        self,
        code_size: int,
        hidden_sizes: Sequence[int] = (256, 128),
        image_shape: Sequence[int] = (1, 8, 8),
        activation: str = "elu",
        likelihood: str = "bernoulli",
        method: str = "noise",
        code_noise: float = 4.0,
        device=None,
    ):
        super().__init__(
            code_size, hidden_sizes, image_shape, activation, "sigmoid", likelihood, device=device
        )
        self.method = check_choice("method", method, self.METHODS)
        self.code_noise = check_nonnegative("code_noise", code_noise)

    def _training_code(self, x_tilde: torch.Tensor) -> torch.Tensor:
        pre = self._code_preactivation(x_tilde)
        if not self.training:
            return torch.sigmoid(pre)
        if self.method == "noise":
            return torch.sigmoid(pre + self.code_noise * torch.randn_like(pre))
        soft = torch.sigmoid(pre)
        return soft + ((soft >= 0.5).to(soft.dtype) - soft).detach()

    @torch.no_grad()
    def binary_code(self, x: torch.Tensor) -> torch.Tensor:
        """``1[sigm(a(x)) >= 0.5]``: a ``(B, k)`` float tensor of 0s and 1s."""
        pre = self._code_preactivation(self._check_input(x, "binary_code"))
        return (pre >= 0).to(pre.dtype)


def _check_codes(name: str, codes) -> torch.Tensor:
    check_tensor(name, codes, dtype="real", what="(binary codes)")
    if codes.ndim != 2 or codes.shape[0] == 0:
        raise ValueError(f"{name} must have shape (N, bits), got {tuple(codes.shape)}")
    return codes


def _check_points(name: str, points) -> torch.Tensor:
    """A non-empty batch ``(N, ...)`` of finite real vectors or images, flattened to float64 ``(N, D)``."""
    check_tensor(name, points, dtype="real")
    if points.ndim < 2 or points.shape[0] == 0 or points[0].numel() == 0:
        raise ValueError(f"{name} must be a non-empty batch of vectors or images (N, ...), got {tuple(points.shape)}")
    return points.reshape(points.shape[0], -1).to(torch.float64)


def hamming_distances(query_codes: torch.Tensor, database_codes: torch.Tensor) -> torch.Tensor:
    """Number of differing bits between every query and every database code: ``(Q, N)`` int64.

    Codes are ``{0, 1}`` tensors (bool, int or float). ``d(q, c) = sum_j [q_j != c_j]
    = sum_j q_j (1 - c_j) + (1 - q_j) c_j``.
    """
    q, c = _check_codes("query_codes", query_codes), _check_codes("database_codes", database_codes)
    if q.shape[1] != c.shape[1]:
        raise ValueError(
            f"query and database codes need the same number of bits, got {q.shape[1]} and {c.shape[1]}"
        )
    for name, codes in (("query_codes", q), ("database_codes", c)):
        if not bool(((codes == 0) | (codes == 1)).all()):
            raise ValueError(f"{name} must contain only 0s and 1s (binary codes); threshold them first")
    q, c = q.to(torch.float64), c.to(q.device, torch.float64)
    return (q @ (1 - c).T + (1 - q) @ c.T).round().to(torch.int64)


def nearest_neighbours(query, database, k: int, metric: str = "hamming") -> torch.Tensor:
    """Indices ``(Q, k)`` of each query's ``k`` nearest database rows, nearest first.

    ``metric``: ``"hamming"`` (binary codes, :func:`hamming_distances`) or ``"euclidean"``
    (finite real-valued codes or images, flattened). Ties keep database order (a stable sort),
    so the answer is deterministic.
    """
    check_choice("metric", metric, ("hamming", "euclidean"))
    if metric == "hamming":
        distances = hamming_distances(query, database).to(torch.float64)
    else:
        q = _check_points("query", query)
        c = _check_points("database", database).to(q.device)
        if q.shape[1] != c.shape[1]:
            raise ValueError(f"query and database need the same dimension, got {q.shape[1]} and {c.shape[1]}")
        distances = torch.cdist(q, c)
    k = check_int("k", k, minimum=1, maximum=distances.shape[1])
    return torch.sort(distances, dim=1, stable=True).indices[:, :k]


def precision_at_k(
    query_codes,
    query_labels: torch.Tensor,
    database_codes,
    database_labels: torch.Tensor,
    k: int = 10,
    metric: str = "hamming",
) -> float:
    """Mean over queries of the fraction of the ``k`` retrieved database items sharing the query's label.

    ``precision@k = 1/Q sum_q (1/k) |{i in top-k(q) : label_i = label_q}|``, neighbours from
    :func:`nearest_neighbours` (ties in database order). Labels are integer tensors ``(N,)``,
    one per code.
    """
    for name, labels, codes in (
        ("query_labels", query_labels, query_codes),
        ("database_labels", database_labels, database_codes),
    ):
        check_tensor(name, labels, dtype="integer", what="(one integer label per code)")
        count = codes.shape[0] if isinstance(codes, torch.Tensor) and codes.ndim else None
        if labels.ndim != 1 or (count is not None and labels.shape[0] != count):
            raise ValueError(
                f"{name} must be a 1-D tensor with one label per code ({count}), got {tuple(labels.shape)}"
            )
    neighbours = nearest_neighbours(query_codes, database_codes, k, metric)
    retrieved = database_labels.to(neighbours.device)[neighbours]
    hits = retrieved == query_labels.to(neighbours.device)[:, None]
    return float(hits.to(torch.float64).mean())
