"""``nn.AdaptiveLogSoftmaxWithLoss``: the adaptive softmax of Grave et al. (2017), PyTorch's module.

The classes, sorted by frequency, are split at ``cutoffs`` into a *shortlist* (the frequent ones) and
clusters of rarer ones. A *head* (a linear layer) scores the shortlist plus one entry per cluster; each
cluster has a *tail*, a two-layer linear projection through a smaller hidden size (in_features /
div_value^k for the k-th cluster) scoring its own classes. Then

    log p(c | x) = log softmax(head(x))_c                            for c in the shortlist,
    log p(c | x) = log softmax(head(x))_{cluster k} + log softmax(tail_k(x))_c    for c in cluster k,

so a frequent class costs one small softmax, and a cluster's tail runs only on the rows whose targets
fall in it. Everything is composed from differentiable ops (linear, log_softmax, gather, index_copy);
parameter names match PyTorch's (head.weight, tail.0.0.weight, …), so ``load_state_dict`` takes a
PyTorch model's weights."""

from __future__ import annotations

from collections import namedtuple

from .. import ops as _ops
from ..autograd.backend import xp
from ..autograd.tensor import Tensor
from ..ops import reshape
from ..ops.shape import _data as _arr
from . import init
from .functional_losses import _t
from .layers import Linear
from .losses_extra import LossInputError
from .module import Module, ModuleList, Sequential

_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])
"""What ``AdaptiveLogSoftmaxWithLoss.forward`` returns: ``output`` (each target's log-probability) and
``loss`` (their negated mean), PyTorch's named tuple."""


class AdaptiveLogSoftmaxWithLoss(Module):
    """PyTorch's ``nn.AdaptiveLogSoftmaxWithLoss(in_features, n_classes, cutoffs, div_value=4.0,
    head_bias=False)`` (the module's docstring has the model). ``cutoffs``: increasing, unique ints in
    [1, n_classes − 1]; the classes are assumed sorted by frequency (0 the most frequent).

    ``forward(input, target)`` → ``(output, loss)``: input (N, in_features) with target (N,), or
    (in_features,) with a 0-d target; ``output`` the targets' log-probabilities, ``loss`` = −mean(output).
    ``log_prob(input)`` gives all (N, n_classes) log-probabilities, ``predict(input)`` their argmax."""

    def __init__(self, in_features: int, n_classes: int, cutoffs, div_value: float = 4.0, head_bias: bool = False,
                 device=None, dtype=None):
        super().__init__()
        cutoffs = list(cutoffs)
        if len(cutoffs) == 0:
            raise ValueError("cutoffs should be a sequence of length larger than 0")
        if (cutoffs != sorted(cutoffs) or min(cutoffs) <= 0 or max(cutoffs) > n_classes - 1
                or len(set(cutoffs)) != len(cutoffs) or any(int(c) != c for c in cutoffs)):
            raise ValueError(f"cutoffs should be a sequence of unique, positive integers sorted in an increasing "
                             f"order, where each value is between 1 and n_classes-1 (n_classes={n_classes}), got "
                             f"{cutoffs}")
        self.in_features, self.n_classes = in_features, n_classes
        self.cutoffs = cutoffs + [n_classes]
        self.div_value, self.head_bias = div_value, head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        self.head = Linear(in_features, self.head_size, bias=head_bias, device=device, dtype=dtype)
        self.tail = ModuleList()
        for i in range(self.n_clusters):
            hidden = int(in_features // (div_value ** (i + 1)))
            size = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tail.append(Sequential(Linear(in_features, hidden, bias=False, device=device, dtype=dtype),
                                        Linear(hidden, size, bias=False, device=device, dtype=dtype)))

    def reset_parameters(self) -> None:
        """Initialise every layer again, as at construction (U(±1/√fan_in), PyTorch's default)."""
        for layer in [self.head] + [lin for projection in self.tail for lin in projection]:
            init.pytorch_default_(layer.weight, layer.bias)

    def forward(self, input_, target_):
        """(output, loss): log p(target | input) per row (only the clusters some target falls in are run),
        and −mean(output)."""
        x = _t(input_)
        t = _arr(target_)
        if t.dtype.kind not in "iu":
            raise LossInputError(f"AdaptiveLogSoftmaxWithLoss: target must hold integer class indices, got "
                                 f"{t.dtype}{list(t.shape)}; convert it with .long()")
        if t.ndim == 1:
            if x.ndim == 0 or x.shape[0] != t.shape[0]:
                raise LossInputError(f"AdaptiveLogSoftmaxWithLoss: Input and target should have the same size in the "
                                     f"batch dimension, got input {list(x.shape)} and target {list(t.shape)}.")
            if x.ndim != 2:
                raise LossInputError(f"AdaptiveLogSoftmaxWithLoss: 1D target tensor expects 2D input tensors, but "
                                     f"found inputs with size {list(x.shape)}")
        elif t.ndim == 0:
            if x.ndim != 1:
                raise LossInputError(f"AdaptiveLogSoftmaxWithLoss: 0D target tensor expects 1D input tensors, but "
                                     f"found inputs with size {list(x.shape)}")
        else:
            raise LossInputError(f"AdaptiveLogSoftmaxWithLoss: 0D or 1D target tensor expected, multi-target not "
                                 f"supported (got target of shape {list(t.shape)})")
        batched = t.ndim > 0
        if not batched:
            x, t = reshape(x, (1, x.shape[0])), t.reshape(1)
        batch = t.shape[0]
        output = Tensor(xp.zeros(batch, dtype=_arr(x).dtype))
        gather_index = t.astype(xp.int64)
        bounds = [0] + self.cutoffs
        used = 0
        for i in range(len(bounds) - 1):
            inside = (t >= bounds[i]) & (t < bounds[i + 1])
            rows = xp.nonzero(inside)[0]
            if rows.size == 0:
                continue
            if i > 0:  # a cluster: its tail on its rows only, log p(c | cluster) into the output
                gather_index[rows] = self.shortlist_size + i - 1
                cluster_logprob = _ops.log_softmax(self.tail[i - 1](_ops.index_select(x, 0, rows)), axis=1)
                local = _ops.gather(cluster_logprob, 1, (t[inside] - bounds[i])[:, None].astype(xp.int64))
                output = _ops.index_copy(output, 0, rows, reshape(local, (rows.size,)))
            used += rows.size
        if used != batch:
            raise LossInputError(f"AdaptiveLogSoftmaxWithLoss: Target values should be in [0, {self.n_classes - 1}], "
                                 f"but values in range [{t.min()}, {t.max()}] were found. ")
        head_logprob = _ops.log_softmax(self.head(x), axis=1)
        output = output + reshape(_ops.gather(head_logprob, 1, gather_index[:, None]), (batch,))
        loss = _ops.mean(-output)
        return _ASMoutput(output if batched else reshape(output, ()), loss)

    def _full_log_prob(self, x, head_output):
        """(N, n_classes) log-probabilities: the shortlist's from the head, each cluster's as its head entry
        plus its tail's log-softmax."""
        head_logprob = _ops.log_softmax(head_output, axis=1)
        pieces = [head_logprob[:, :self.shortlist_size]]
        for i in range(self.n_clusters):
            k = self.shortlist_size + i
            pieces.append(_ops.log_softmax(self.tail[i](x), axis=1) + head_logprob[:, k:k + 1])
        return _ops.concatenate(pieces, axis=1)

    def log_prob(self, input):  # noqa: A002 - PyTorch's name
        """log p(c | x) for every class c: (N, n_classes) from an (N, in_features) input."""
        x = _t(input)
        return self._full_log_prob(x, self.head(x))

    def predict(self, input):  # noqa: A002
        """argmax_c log p(c | x) per row (int64, (N,)): the head's argmax when it is a shortlist class (a
        cluster's classes are all less likely than its head entry), else the argmax of the full distribution."""
        x = _t(input)
        head_output = self.head(x)
        if head_output.ndim != 2:
            raise LossInputError(f"AdaptiveLogSoftmaxWithLoss.predict: expected an (N, {self.in_features}) input, "
                                 f"got shape {list(x.shape)}")
        output = xp.argmax(head_output.data, axis=1)
        outside = output >= self.shortlist_size
        if outside.any():
            rows = xp.nonzero(outside)[0]
            full = self._full_log_prob(_ops.index_select(x, 0, rows), _ops.index_select(head_output, 0, rows))
            output[rows] = xp.argmax(full.data, axis=1)
        return Tensor(output)
