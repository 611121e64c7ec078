"""``DistributedDataParallel`` (the model wrapper) and ``DistributedOptimizer``
(the optimizer wrapper): two ways to average gradients over the ranks.

* ``DistributedDataParallel(model)`` (PyTorch's name): broadcasts rank 0's
  parameters and buffers at construction, and after each ``loss.backward()``
  every rank holds the averaged gradient, so a PyTorch training loop runs
  unchanged. How it knows the backward pass is over: each forward walks the
  graph of its outputs to learn which parameters it used (PyTorch's
  ``find_unused_parameters``), and a gradient hook on every parameter (leaf
  hooks run at the end of this engine's backward pass, once per parameter
  with its summed gradient) counts them; the last one reduces all buckets.
  So the reduction cannot overlap the backward pass here: it starts when
  the pass has computed every gradient (the buckets still overlap each
  other's packing and travel).
* ``DistributedOptimizer(optimizer)`` (Horovod's design): ``step()`` first
  allreduces the gradients of the optimizer's parameters. This suits loops
  that set ``.grad`` themselves, like ``rg.bptt.train`` and
  ``train_stateful``; ``synchronize()`` reduces early (before clipping).
"""

from __future__ import annotations

import contextlib

from ..autograd import graph
from ..autograd.mode import is_grad_enabled
from ..autograd.tensor import Tensor, _wrap
from ..nn.module import Module
from .buckets import DEFAULT_BUCKET_BYTES, GradientReducer, broadcast_parameters, reducer_for


def _tensors(obj, out):
    """Every Tensor in a nest of tuples, lists and dicts."""
    if isinstance(obj, Tensor):
        out.append(obj)
    elif isinstance(obj, (tuple, list)):
        for o in obj:
            _tensors(o, out)
    elif isinstance(obj, dict):
        for o in obj.values():
            _tensors(o, out)
    return out


def _reached(outputs, index: dict, found: set) -> None:
    """Add to ``found`` the indices (``index``: id → index) of the leaves the
    ``outputs`` depend on; stops as soon as every parameter is found."""
    tensors, total = _tensors(outputs, []), len(index)
    for t in tensors:
        if t.grad_fn is None and id(t) in index:
            found.add(index[id(t)])
    for node in graph.walk([t for t in tensors if t.grad_fn is not None]):
        if len(found) >= total:
            return
        for e in graph.inputs(node):
            if isinstance(e, Tensor) and id(e) in index:
                found.add(index[id(e)])


class DistributedDataParallel(Module):
    """Data-parallel wrapper: ``model = DistributedDataParallel(model)``, then
    train as usual; gradients are averaged over the ranks after each
    ``backward()`` (module docstring), so every rank takes the same step.

    Like PyTorch's, the wrapper's ``state_dict`` names carry a ``module.``
    prefix; save and load ``ddp.module`` (``rg.train.fit`` and
    ``ModelCheckpoint`` do) so checkpoints move between data-parallel and
    single-process runs. ``no_sync()`` skips the reduction (gradient
    accumulation over micro-batches: reduce only on the last one).
    ``bucket_bytes`` caps each bucket (default 25 MiB); ``average=False``
    sums instead of averaging. The loss must depend on the parameters only
    through this wrapper's forward (the parameters a forward uses are the
    ones waited for).
    """

    def __init__(self, module: Module, bucket_bytes: int = DEFAULT_BUCKET_BYTES, average: bool = True,
                 broadcast_buffers: bool = True):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: expected an nn.Module, got {type(module).__name__}")
        self.module = module
        self.sequence_model = bool(getattr(module, "sequence_model", False))
        self.batch_first = bool(getattr(module, "batch_first", False))
        broadcast_parameters(module if broadcast_buffers else list(module.parameters()))
        params = [p for p in module.parameters() if p.requires_grad]
        object.__setattr__(self, "reducer", GradientReducer(params, bucket_bytes))
        object.__setattr__(self, "average", average)
        object.__setattr__(self, "_index", {id(p): i for i, p in enumerate(self.reducer.params)})
        object.__setattr__(self, "_expected", set())  # parameters the forwards since the last reduction used
        object.__setattr__(self, "_ready", set())     # ... and those whose gradient hook has run
        object.__setattr__(self, "_sync", True)
        object.__setattr__(self, "_handles", [p.register_hook(self._make_hook(i))
                                              for i, p in enumerate(self.reducer.params)])

    @property
    def _checkpoint_module(self):
        """What checkpoints save and restore: the wrapped model (``rg.train`` reads this)."""
        return self.module

    def _make_hook(self, i):
        def ddp_reduce_hook(grad):
            return self._on_grad(i, grad)
        return ddp_reduce_hook

    def forward(self, *args, **kwargs):
        if self._ready:  # hooks ran, but not all that the forward promised: no reduction happened
            self._raise_partial()
        out = self.module(*args, **kwargs)
        if self._sync and is_grad_enabled():
            _reached(out, self._index, self._expected)
        return out

    def _raise_partial(self):
        names = [self.reducer.named[i][0] for i in sorted(self._expected - self._ready)]
        self._ready.clear()
        self._expected.clear()
        raise RuntimeError(f"DistributedDataParallel: the last backward pass reached only some of the parameters "
                           f"the forward used (none reached: {names[:5]}{' …' if len(names) > 5 else ''}), so "
                           f"the gradients were not averaged. Backpropagate from every output of the forward, "
                           f"or reduce by hand with rg.distributed.allreduce_gradients(model)")

    def _on_grad(self, i, grad):
        if not self._sync or i not in self._expected:
            return None
        self._ready.add(i)
        if len(self._ready) < len(self._expected):
            return None
        # the last gradient of the pass: every other one is already in its .grad
        p = self.reducer.params[i]
        total = grad.data if p.grad is None else p.grad.data + grad.data
        override = {i: total}
        self._expected.clear()
        self._ready.clear()
        self.reducer.reduce(self.average, override)
        p.grad = None  # the engine stores the returned (reduced) gradient in it
        return _wrap(override[i])

    @contextlib.contextmanager
    def no_sync(self):
        """Within the block, backward passes accumulate local gradients without
        reducing them; the first backward after it reduces the accumulated sum."""
        old = self._sync
        object.__setattr__(self, "_sync", False)
        try:
            yield self
        finally:
            object.__setattr__(self, "_sync", old)

    def __repr__(self):
        return f"DistributedDataParallel({self.module!r}, rank {self.reducer.group.rank} of {self.reducer.group.size})"


class _DistributedMixin:
    """The methods ``DistributedOptimizer`` adds to an optimizer's class."""

    collective = True  # rg.bptt.train calls step() on every update, even one with no real row on this rank

    def synchronize(self) -> bool:
        """Allreduce the gradients now (e.g. before clipping them); the next
        ``step()`` then does not reduce again. Returns whether any rank had one."""
        params = [p for g in self.param_groups for p in g["params"]]
        self._rg_any_grad = reducer_for(params, self._rg_bucket_bytes).reduce(self._rg_average)
        self._rg_synchronized = True
        return self._rg_any_grad

    def step(self, closure=None):
        """Reduce the gradients (unless ``synchronize()`` just did), then update;
        an update where no rank has any gradient is skipped on every rank."""
        if not getattr(self, "_rg_synchronized", False):
            self.synchronize()
        self._rg_synchronized = False
        if not self._rg_any_grad:
            return None
        return super().step(closure)


_classes: dict = {}


def DistributedOptimizer(optimizer, average: bool = True, bucket_bytes: int = DEFAULT_BUCKET_BYTES):
    """Make ``optimizer`` average its gradients over the ranks in ``step()``
    (Horovod's ``DistributedOptimizer``). The optimizer itself is returned,
    its class swapped for a subclass of the same name (so its ``state_dict``
    and checkpoints are exactly those of the plain optimizer)."""
    cls = type(optimizer)
    if not getattr(cls, "collective", False):
        dist = _classes.get(cls)
        if dist is None:
            dist = type(cls.__name__, (_DistributedMixin, cls), {"__module__": cls.__module__,
                                                                  "__qualname__": cls.__qualname__})
            _classes[cls] = dist
        optimizer.__class__ = dist
    optimizer._rg_average, optimizer._rg_bucket_bytes = average, int(bucket_bytes)
    optimizer._rg_synchronized, optimizer._rg_any_grad = False, True
    return optimizer
