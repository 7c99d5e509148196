"""PCA, the linear baseline of every autoencoder, and principal angles between subspaces.

:func:`pca` fits a :class:`PCA` by the SVD; a linear autoencoder trained with squared error
spans the same subspace, which :func:`principal_angles` measures (all angles 0: the same subspace).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from course_gen._checks import check_int, check_tensor


@dataclass
class PCA:
    """Principal component analysis fitted by :func:`pca`: the linear baseline.

    ``components`` ``(D, k)`` has orthonormal columns (the top-k eigenvectors of the data's
    covariance), ``variances`` ``(k,)`` the matching eigenvalues, ``mean`` ``(D,)``.
    ``encode(x) = (x - mean) U``, ``decode(z) = z U^T + mean`` (as images), and calling the
    object reconstructs: the best rank-k linear reconstruction in squared error. Inputs and
    codes are cast to the dtype of ``mean``.
    """

    mean: torch.Tensor
    components: torch.Tensor
    variances: torch.Tensor
    image_shape: tuple[int, ...]

    def __post_init__(self):
        check_tensor("mean", self.mean, ndim=1, dtype="float")
        dim = self.mean.shape[0]
        check_tensor("components", self.components, shape=(dim, None), dtype="float", what="(D, k)")
        check_tensor("variances", self.variances, shape=(self.components.shape[1],), dtype="float", low=0.0)
        if self.components.shape[1] == 0:
            raise ValueError("components must have at least one column, got shape (D, 0)")
        if isinstance(self.image_shape, (str, bytes)) or not isinstance(self.image_shape, (tuple, list, torch.Size)):
            raise TypeError(f"image_shape must be a tuple of ints, got {self.image_shape!r}")
        self.image_shape = tuple(check_int("image_shape entry", s, minimum=1) for s in self.image_shape)
        if math.prod(self.image_shape) != dim:
            raise ValueError(f"image_shape {self.image_shape} does not hold the {dim} entries of mean")

    @property
    def code_size(self) -> int:
        return self.components.shape[1]

    def _flat(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, dtype="float")
        dim = self.mean.shape[0]
        if (
            x.ndim < 2
            or x.shape[0] == 0
            or math.prod(x.shape[1:]) != dim
            or (x.ndim > 2 and tuple(x.shape[1:]) != self.image_shape)
        ):
            raise ValueError(
                f"PCA expects a batch of shape (B, {dim}) or (B, {', '.join(map(str, self.image_shape))}), "
                f"got {tuple(x.shape)}"
            )
        return x.reshape(x.shape[0], dim).to(self.mean)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Coordinates ``(B, k)`` of the centred input in the principal basis."""
        return (self._flat(x) - self.mean) @ self.components

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Images ``(B, *image_shape)`` ``z U^T + mean``."""
        check_tensor("z", z, dtype="float")
        if z.ndim != 2 or z.shape[1] != self.code_size or z.shape[0] == 0:
            raise ValueError(f"PCA.decode expects codes of shape (B, {self.code_size}), got {tuple(z.shape)}")
        return (z.to(self.mean) @ self.components.T + self.mean).reshape(z.shape[0], *self.image_shape)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """The reconstruction, in the shape ``x`` came in."""
        return self.decode(self.encode(x)).reshape(x.shape)

    def binary_code(self, x: torch.Tensor) -> torch.Tensor:
        """``1[(x - mean) u_j > 0]``: each principal coordinate's sign as a bit (a hashing baseline)."""
        return (self.encode(x) > 0).to(self.mean.dtype)

    def first(self, k: int) -> PCA:
        """The PCA with only the first ``k`` components (the same as ``pca(x, k)``, without a new SVD)."""
        k = check_int("k", k, minimum=1, maximum=self.code_size)
        return PCA(self.mean, self.components[:, :k], self.variances[:k], self.image_shape)


def pca(x: torch.Tensor, k: int) -> PCA:
    """Fit PCA with ``k`` components to ``x`` ``(N, D)`` or ``(N, *image_shape)`` via the SVD.

    With ``X_c = X - mean = U S V^T``, the components are the first ``k`` columns of ``V``
    and the variances ``S_j^2 / (N - 1)``. Each component's sign is fixed so that its entry
    of largest magnitude is positive (the same picture on every run). ``x`` must be a finite
    floating-point tensor; the PCA keeps its dtype.
    """
    check_tensor("x", x, dtype="float")
    if x.ndim < 2 or x.shape[0] < 2 or x[0].numel() == 0:
        raise ValueError(
            f"pca expects at least 2 examples of shape (N, D) or (N, C, H, W), got {tuple(x.shape)}"
        )
    flat = x.reshape(x.shape[0], -1)
    dim = flat.shape[1]
    k = check_int("k", k, minimum=1, maximum=min(dim, flat.shape[0]))
    mean = flat.mean(dim=0)
    _, singular, vh = torch.linalg.svd(flat - mean, full_matrices=False)
    components = vh[:k].T.clone()
    largest = components.abs().argmax(dim=0)
    signs = torch.sign(components[largest, torch.arange(k, device=components.device)])
    components = components * signs
    variances = singular[:k] ** 2 / (flat.shape[0] - 1)
    return PCA(mean, components, variances, tuple(x.shape[1:]))


def _as_matrix(name: str, value) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        try:
            value = torch.as_tensor(value)
        except (TypeError, ValueError, RuntimeError) as err:
            raise TypeError(
                f"{name} must be a matrix (torch.Tensor or array), got {type(value).__name__}"
            ) from err
    check_tensor(name, value, dtype="real", what="(a matrix (D, k))")
    if value.ndim != 2 or value.shape[0] == 0 or value.shape[1] == 0:
        raise ValueError(
            f"{name} must be a matrix (D, k) whose columns span a subspace, got shape {tuple(value.shape)}"
        )
    return value.detach().to("cpu", torch.float64)


def principal_angles(a, b) -> torch.Tensor:
    """Principal angles (radians, ascending) between the column spans of ``a`` (D, k_a) and ``b`` (D, k_b).

    With orthonormal bases ``Q_a``, ``Q_b`` (QR), ``cos theta_i`` are the singular values of
    ``Q_a^T Q_b`` (descending) and ``sin theta_i`` those of ``Q_b - Q_a Q_a^T Q_b`` (the part
    of ``Q_b`` outside span(a)), ascending; ``theta_i = atan2(sin, cos)`` is accurate for
    small and large angles alike. Returns ``min(k_a, k_b)`` angles in ``[0, pi/2]``, as a
    float64 CPU tensor; ``0`` means a shared direction. Columns must be finite, real and
    linearly independent (matrices of any real dtype, arrays or nested lists, are read as float64).
    """
    a, b = _as_matrix("a", a), _as_matrix("b", b)
    if a.shape[0] != b.shape[0]:
        raise ValueError(
            "a and b must live in the same space (same number of rows), "
            f"got {tuple(a.shape)} and {tuple(b.shape)}"
        )
    if a.shape[1] < b.shape[1]:
        a, b = b, a  # span(a) is the larger one: every direction of b gets an angle
    for name, m in (("a", a), ("b", b)):
        if torch.linalg.matrix_rank(m) < m.shape[1]:
            raise ValueError(
                f"the columns of {name} are linearly dependent: they do not span a {m.shape[1]}-D subspace"
            )
    qa, qb = torch.linalg.qr(a).Q, torch.linalg.qr(b).Q
    overlap = qa.T @ qb
    cosines = torch.linalg.svdvals(overlap)  # descending
    sines = torch.linalg.svdvals(qb - qa @ overlap).flip(0)  # ascending
    return torch.atan2(sines, cosines.clamp(max=1.0))
