"""Core layers: Identity, Linear, Dropout, Embedding, Flatten (activations,
normalisation, convolution/pooling and losses have files of their own), with
PyTorch's constructor arguments, parameter names and weight layouts.
Constructor arguments are checked where a layer is built, as PyTorch checks
them (``ValueError``), so a bad layer fails there, not at its first call."""

from __future__ import annotations

from ..autograd.backend import xp
from .. import ops
from ..autograd.op import OpError
from ..ops.linalg import Linear as _LinearOp
from ..autograd.tensor import Tensor, get_default_dtype
from . import functional as F, init
from .module import Module, Parameter, check_device


def _empty(*shape, dtype=None):
    return Parameter(xp.zeros(shape, dtype=dtype or get_default_dtype()))


def _count(value, what, layer):
    """A size argument: a non-negative int (PyTorch refuses a negative dimension)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{layer}: {what} must be a non-negative integer, got {value!r}")
    return value


class Identity(Module):
    """Returns its input."""

    def forward(self, x):
        return x


class Linear(Module):
    """y = x Wᵀ + b;  weight (out_features, in_features), bias (out_features,),
    initialised like PyTorch (U(±1/√in_features))."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None, dtype=None):
        super().__init__()
        check_device("Linear", device)
        _count(in_features, "in_features", "Linear")
        _count(out_features, "out_features", "Linear")
        self.in_features, self.out_features = in_features, out_features
        self.weight = _empty(out_features, in_features, dtype=dtype)
        self.bias = _empty(out_features, dtype=dtype) if bias else None
        if not bias:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """Draw the weight and bias anew, as at construction (PyTorch's ``reset_parameters``)."""
        init.pytorch_default_(self.weight, self.bias)

    def forward(self, x):
        w, b = self.weight, self.bias
        xs = getattr(x, "shape", None)
        try:
            # the usual shapes call the op directly (``F.linear``'s own fast path, one call less:
            # this is every MLP layer's call); anything else goes through F.linear's checks
            ws = () if w is None else w.shape
            if xs and len(ws) == 2 and xs[-1] == ws[1] and (b is None or b.shape == (ws[0],)):
                return _LinearOp()(x, w, b)
            return F.linear(x, w, b)
        except OpError:
            if len(x.shape) == 0 or x.shape[-1] != self.in_features:  # say which layer, in its own terms
                raise OpError(f"Linear({self.in_features}, {self.out_features}): input has "
                              f"{x.shape[-1] if len(x.shape) else 'no'} features in its last axis "
                              f"(shape {tuple(x.shape)})") from None
            raise

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Dropout(Module):
    """Inverted dropout with probability p; the identity in ``eval()`` mode."""

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout: p must be in [0, 1], got {p}")
        self.p, self.inplace = p, inplace  # inplace: PyTorch's argument, computed out of place here

    def forward(self, x):
        return F.dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


def _same_dtype_as_parameters(layer, x, parameter):
    """Refuse an input whose dtype differs from the layer's parameters (PyTorch: "mixed dtype"),
    instead of computing a float32 layer in float64 or normalising integers."""
    if parameter is not None and x.dtype != parameter.dtype:
        raise OpError(f"{layer!r}: input dtype {x.dtype} differs from the layer's {parameter.dtype} (shape "
                      f"{tuple(x.shape)}); convert the input: x.to({parameter.dtype})")


class Embedding(Module):
    """A lookup table (num_embeddings, embedding_dim), initialised N(0, 1) like PyTorch.

    ``padding_idx`` (PyTorch's): that row (negative counts from the end) starts as zeros
    and gets no gradient, so it stays a fixed "padding" vector."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None, max_norm=None,
                 norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False, _weight=None,
                 _freeze: bool = False, device=None, dtype=None):
        super().__init__()
        _count(num_embeddings, "num_embeddings", "Embedding")
        _count(embedding_dim, "embedding_dim", "Embedding")
        F._dense_only("Embedding", sparse)
        check_device("Embedding", device)
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = F.resolve_padding_idx(padding_idx, num_embeddings, "Embedding")
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if _weight is None:
            self.weight = _empty(num_embeddings, embedding_dim, dtype=dtype)
            init.normal_(self.weight)
            if self.padding_idx is not None:
                self.weight.data[self.padding_idx] = 0
        else:
            table = xp.array(_weight.data if isinstance(_weight, Tensor) else _weight, dtype=dtype, copy=True)
            if table.shape != (num_embeddings, embedding_dim):
                raise ValueError(f"Embedding: _weight has shape {table.shape}, expected "
                                 f"({num_embeddings}, {embedding_dim})")
            self.weight = Parameter(table)
        if _freeze:
            self.weight.requires_grad_(False)

    @classmethod
    def from_pretrained(cls, embeddings, freeze: bool = True, padding_idx=None, max_norm=None,
                        norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False):
        """An Embedding holding ``embeddings`` (num_embeddings, embedding_dim), copied; frozen
        (no gradient) unless ``freeze=False``, as PyTorch's."""
        shape = tuple(embeddings.shape)
        if len(shape) != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-D, got shape {shape}")
        dtype = embeddings.data.dtype if isinstance(embeddings, Tensor) else xp.asarray(embeddings).dtype
        return cls(shape[0], shape[1], padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
                   _weight=embeddings, _freeze=freeze, dtype=dtype)

    def forward(self, indices):
        """Rows of the table; an index outside [0, num_embeddings) raises ``F.EmbeddingIndexError``."""
        if self.max_norm is not None:
            F.renorm_rows(self.weight, indices, self.max_norm, self.norm_type)
        return F.embedding_rows(indices, self.weight, self.padding_idx,
                                f"Embedding({self.num_embeddings}, {self.embedding_dim})", self.scale_grad_by_freq)

    def padding_mask(self, indices):
        """True where ``indices`` holds a real token, False at ``padding_idx``:
        the ``mask=`` the recurrent layers take. Keras' ``Embedding(mask_zero=True)``
        is ``Embedding(n, d, padding_idx=0)`` with
        ``lstm(emb(ids), mask=emb.padding_mask(ids))``."""
        if self.padding_idx is None:
            raise OpError(f"Embedding({self.num_embeddings}, {self.embedding_dim}).padding_mask: the table has no "
                          f"padding_idx; construct it with padding_idx=… (e.g. 0, Keras' mask_zero=True)")
        idx = indices.data if isinstance(indices, Tensor) else xp.asarray(indices)
        return idx != self.padding_idx

    def extra_repr(self):
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            text += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            text += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            text += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        return text


class Flatten(Module):
    """Merge axes ``start_dim … end_dim`` (default: all but the batch axis)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return ops.flatten(x, self.start_dim, self.end_dim)



class Unflatten(Module):
    """Split axis ``dim`` into ``unflattened_size`` (PyTorch's; the inverse of ``Flatten``)."""

    def __init__(self, dim: int, unflattened_size):
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, x):
        return ops.unflatten(x, self.dim, self.unflattened_size)

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"