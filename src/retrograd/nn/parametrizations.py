"""PyTorch's ``nn.utils.parametrizations``: weight_norm, spectral_norm and orthogonal, each a small
Module registered with ``parametrize.register_parametrization`` (so the state_dict keys are
PyTorch's: ``parametrizations.weight.original0`` / ``original1`` for weight_norm,
``parametrizations.weight.original`` and ``parametrizations.weight.0._u`` / ``._v`` for
spectral_norm, ``parametrizations.weight.0.base`` for orthogonal)."""

from __future__ import annotations

import enum

from .. import ops
from .. import random as rg_random
from ..autograd.backend import xp
from ..autograd.mode import no_grad
from ..autograd.tensor import Tensor
from ..ops.linalg_namespace import matrix_exp, solve, vector_norm
from . import functional as F, parametrize
from .conv import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .module import Module

__all__ = ["orthogonal", "spectral_norm", "weight_norm"]


# ---------------------------------------------------------------- weight norm
def norm_except_dim(v, pow: float = 2, dim: int = 0):  # noqa: A002 - torch's names
    """‖v‖ over every dim but ``dim``, kept as size-1 dims (``torch.norm_except_dim``); ``dim=-1``
    (PyTorch's code for "none") is the norm of the whole tensor, a 0-d tensor."""
    if dim == -1:
        return vector_norm(v, pow)
    if not -v.ndim <= dim < v.ndim:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-v.ndim}, {v.ndim - 1}], but got "
                         f"{dim})")
    d = dim % v.ndim
    return vector_norm(v, pow, dim=tuple(a for a in range(v.ndim) if a != d), keepdim=True)


class _WeightNorm(Module):
    """w = g · v / ‖v‖ (Salimans & Kingma 2016), the norm over every dim but ``dim``: the
    direction v and the length g are learned separately. ``right_inverse(w)`` = (‖w‖, w)."""

    def __init__(self, dim: int | None = 0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g, weight_v):
        return weight_v * (weight_g / norm_except_dim(weight_v, 2, self.dim))

    def right_inverse(self, weight):
        return norm_except_dim(weight, 2, self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Reparametrize ``module.<name>`` as g·v/‖v‖ (PyTorch's
    ``nn.utils.parametrizations.weight_norm``): g is ``parametrizations.<name>.original0`` (the
    norms, size 1 along every dim but ``dim``), v is ``original1`` (the direction, the weight's
    shape). ``dim=None`` uses one norm for the whole tensor. g and v are new parameters: build the
    optimizer afterwards. A checkpoint of the old ``nn.utils.weight_norm`` (``<name>_g``,
    ``<name>_v``) loads into it, as PyTorch's: a load pre-hook renames the two keys."""
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)

    def old_keys(mod, state_dict, prefix, local_metadata, strict, missing, unexpected, errors):
        g_key, v_key = f"{prefix}{name}_g", f"{prefix}{name}_v"
        if g_key in state_dict and v_key in state_dict:
            state_dict[f"{prefix}parametrizations.{name}.original0"] = state_dict.pop(g_key)
            state_dict[f"{prefix}parametrizations.{name}.original1"] = state_dict.pop(v_key)
    module.register_load_state_dict_pre_hook(old_keys)
    return module


# ---------------------------------------------------------------- spectral norm
def _normalize(a, eps):
    """a / max(‖a‖, eps): ``F.normalize`` on an array (the power iteration runs off the tape; no
    host read, so a device backend does not wait)."""
    return a / xp.maximum(xp.linalg.norm(a), eps)


class _SpectralNorm(Module):
    """W / σ(W), σ the largest singular value of W seen as a matrix (``dim`` first, the rest
    flattened), estimated by power iteration (Miyato et al. 2018): u and v, buffers, approximate
    the leading singular vectors; each training-mode forward refines them
    (``n_power_iterations`` steps, in place, off the tape) and σ = uᵀ W v, differentiated in W only.
    A 1-D weight is simply divided by its norm."""

    def __init__(self, weight, n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12):
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of [-{ndim}, {ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError(f"Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            weight_mat = self._matrix_array(weight.data)
            h, w = weight_mat.shape
            draw = rg_random.generator()
            dtype = weight.data.dtype
            self.register_buffer("_u", Tensor(_normalize(xp.asarray(draw.standard_normal(h), dtype=dtype), eps)))
            self.register_buffer("_v", Tensor(_normalize(xp.asarray(draw.standard_normal(w), dtype=dtype), eps)))
            # start from u, v close to the singular vectors: 15 iterations, as PyTorch
            self._power_method(weight_mat, 15)

    def _reshape_weight_to_matrix(self, weight):
        return ops.reshape(ops.movedim(weight, self.dim, 0), (weight.shape[self.dim], -1))

    def _matrix_array(self, w):
        """``_reshape_weight_to_matrix`` on an array (off the tape)."""
        return xp.moveaxis(w, self.dim, 0).reshape(w.shape[self.dim], -1)

    def _power_method(self, weight_mat, n_power_iterations: int) -> None:
        """u ← W v/‖W v‖, v ← Wᵀ u/‖Wᵀ u‖, ``n_power_iterations`` times, on arrays, written into the
        buffers in place (their arrays stay the ones ``state_dict`` handed out, as PyTorch's)."""
        u, v = self._u.data, self._v.data
        for _ in range(n_power_iterations):
            xp.copyto(u, _normalize(weight_mat @ v, self.eps))
            xp.copyto(v, _normalize(weight_mat.T @ u, self.eps))
        self._u.mark_modified_()
        self._v.mark_modified_()

    def forward(self, weight):
        if weight.ndim == 1:
            return F.normalize(weight, dim=0, eps=self.eps)
        weight_mat = self._reshape_weight_to_matrix(weight)
        if self.training:
            with no_grad():
                self._power_method(weight_mat.data, self.n_power_iterations)
        # copies: the next forward updates the buffers in place, and this graph must not see it
        u, v = Tensor(self._u.data.copy()), Tensor(self._v.data.copy())
        sigma = ops.vdot(u, ops.mv(weight_mat, v))
        return weight / sigma

    def right_inverse(self, value):
        return value


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1, eps: float = 1e-12,
                  dim: int | None = None) -> Module:
    """Divide ``module.<name>`` by its spectral norm, estimated by power iteration (PyTorch's
    ``nn.utils.parametrizations.spectral_norm``; stabilises GAN discriminators). The weight stays
    the parameter ``parametrizations.<name>.original``; the estimates u, v are the buffers
    ``parametrizations.<name>.0._u`` / ``._v``, refined in every training-mode forward (15
    iterations at registration, from ``rg.random`` draws). ``dim``: the output dim, 0 (1 for
    the transposed convolutions)."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        dim = 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d)) else 0
    parametrize.register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module


# ---------------------------------------------------------------- orthogonal
class _OrthMaps(enum.Enum):
    matrix_exp = enum.auto()
    cayley = enum.auto()
    householder = enum.auto()


def _eye_like(n, k, like):
    return Tensor(xp.eye(n, k, dtype=like.dtype))


def householder_product(A, tau):
    """The first k columns of H₀H₁⋯H_{k−1}, Hᵢ = I − τᵢvᵢvᵢᵀ, vᵢ the i-th column of A below the
    diagonal with a 1 on it (``torch.linalg.householder_product``, composed: differentiable in A
    and τ). A (…, n, k), τ (…, k)."""
    n, k = A.shape[-2:]
    V = ops.tril(A, -1) + _eye_like(n, k, A)
    Q = ops.broadcast_to(_eye_like(n, k, A), tuple(A.shape))
    for i in reversed(range(k)):  # Q ← Hᵢ Q, the last reflection first
        v = V[..., :, i:i + 1]
        Q = Q - tau[..., i:i + 1, None] * ops.matmul(v, ops.matmul(v.mT, Q))
    return Q


def _make_orthogonal(A):
    """Q of A = QR with R's diagonal made positive (off the tape; PyTorch's geqrf + householder_product)."""
    q, r = xp.linalg.qr(A)
    return q * xp.sign(xp.diagonal(r, axis1=-2, axis2=-1))[..., None, :]


def _is_orthogonal(Q):
    n, k = Q.shape[-2:]
    eps = 10.0 * n * xp.finfo(Q.dtype).eps
    return bool(xp.allclose(xp.swapaxes(Q, -1, -2) @ Q, xp.eye(k, dtype=Q.dtype), atol=eps))


class _Orthogonal(Module):
    """An orthogonal matrix (or batch) from unconstrained parameters: the exponential or the Cayley
    transform of a skew-symmetric matrix, or a product of Householder reflections; times the
    buffer ``base`` (``use_trivialization``: the optimizer then moves near the current point)."""

    def __init__(self, weight, orthogonal_map: _OrthMaps, *, use_trivialization: bool = True):
        super().__init__()
        self.shape = tuple(weight.shape)
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X):
        n, k = X.shape[-2:]
        transposed = n < k
        if transposed:
            X = X.mT
            n, k = k, n
        if self.orthogonal_map in (_OrthMaps.matrix_exp, _OrthMaps.cayley):
            X = ops.tril(X)  # n·k − k(k−1)/2 parameters
            if n != k:  # embedded in a square matrix
                X = ops.cat([X, Tensor(xp.zeros(tuple(X.shape[:-2]) + (n, n - k), dtype=X.dtype))], -1)
            A = X - X.mT  # skew-symmetric
            if self.orthogonal_map == _OrthMaps.matrix_exp:
                Q = matrix_exp(A)
            else:  # the Cayley retraction (I + A/2)(I − A/2)⁻¹
                Id = _eye_like(n, n, A)
                Q = solve(Id - 0.5 * A, Id + 0.5 * A)
            if n != k:
                Q = Q[..., :k]
        else:
            A = ops.tril(X, -1)
            tau = 2.0 / (1.0 + (A * A).sum(-2))
            Q = householder_product(A, tau)
            # the diagonal of X holds ±1: signs, not parameters (no gradient, as PyTorch's .int())
            signs = xp.trunc(xp.diagonal(X.data, axis1=-2, axis2=-1)).astype(Q.dtype)
            Q = Q * Tensor(signs[..., None, :])
        if "base" in self._buffers:
            Q = ops.matmul(self.base, Q)
        return Q.mT if transposed else Q

    def right_inverse(self, Q):
        """Parameters whose forward is ``Q``: with ``base``, base ← Q (completed to a square
        orthogonal matrix by random columns when Q is not square, made orthogonal by QR when it is
        not) and the parameters −I; without, Householder reflectors of Q's QR."""
        if tuple(Q.shape) != self.shape:
            raise ValueError(f"Expected a matrix or batch of matrices of shape {self.shape}. Got a tensor of shape "
                             f"{tuple(Q.shape)}.")
        q_init = Q.data if isinstance(Q, Tensor) else xp.asarray(Q)
        q = q_init
        n, k = q.shape[-2:]
        transpose = n < k
        if transpose:
            q = xp.swapaxes(q, -1, -2)
            n, k = k, n
        if "base" not in self._buffers:
            if self.orthogonal_map in (_OrthMaps.cayley, _OrthMaps.matrix_exp):
                raise NotImplementedError("It is not possible to assign to the matrix exponential or the Cayley "
                                          "parametrizations when use_trivialization=False.")
            # geqrf: R above the diagonal, the reflectors below; diag(R) → its signs (the forward's ±1)
            h, tau = xp.linalg.qr(q, mode="raw")
            a = xp.ascontiguousarray(xp.swapaxes(h, -1, -2))
            diag = xp.sign(xp.diagonal(a, axis1=-2, axis2=-1))
            diag = xp.where(tau == 0.0, -diag, diag)  # LAPACK's τ = 0: no reflection, the sign flips back
            idx = xp.arange(k)
            a[..., idx, idx] = diag
            return Tensor(xp.swapaxes(a, -1, -2).copy() if transpose else a)
        if n == k:
            q = q.copy() if _is_orthogonal(q) else _make_orthogonal(q)
        else:  # complete Q to an n × n orthogonal matrix with random columns
            extra = rg_random.generator().standard_normal(tuple(q.shape[:-2]) + (n, n - k))
            q = _make_orthogonal(xp.concatenate([q, xp.asarray(extra, dtype=q.dtype)], axis=-1))
        self.base = Tensor(q)
        neg_id = xp.zeros_like(q_init)
        idx = xp.arange(min(q_init.shape[-2:]))
        neg_id[..., idx, idx] = -1.0  # householder(−I) = I, and exp(0) = cayley(0) = I
        return Tensor(neg_id)


def orthogonal(module: Module, name: str = "weight", orthogonal_map: str | None = None, *,
               use_trivialization: bool = True) -> Module:
    """Constrain ``module.<name>`` (a matrix or batch of matrices, …, n, k) to be orthogonal:
    QᵀQ = I if n ≥ k, else QQᵀ = I (PyTorch's ``nn.utils.parametrizations.orthogonal``).

    ``orthogonal_map``: ``"matrix_exp"`` (default for square matrices), ``"cayley"`` or
    ``"householder"`` (default otherwise). With ``use_trivialization`` (default) the current
    orthogonal matrix is the buffer ``parametrizations.<name>.0.base``, and the parameter
    ``parametrizations.<name>.original`` moves from −I; a non-square matrix's base is completed by
    ``rg.random`` draws."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if weight.ndim < 2:
        raise ValueError(f"Expected a matrix or batch of matrices. Got a tensor of {weight.ndim} dimensions.")
    if orthogonal_map is None:
        orthogonal_map = "matrix_exp" if weight.shape[-2] == weight.shape[-1] else "householder"
    orth_enum = getattr(_OrthMaps, str(orthogonal_map), None)
    if orth_enum is None:
        raise ValueError(f'orthogonal_map has to be one of "matrix_exp", "cayley", "householder". Got: '
                         f"{orthogonal_map}")
    orth = _Orthogonal(weight, orth_enum, use_trivialization=use_trivialization)
    parametrize.register_parametrization(module, name, orth, unsafe=True)
    return module

