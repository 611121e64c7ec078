"""``DistributedDataParallel`` (the model wrapper) and ``DistributedOptimizer``
(the optimizer wrapper): two ways to average gradients over the ranks.

* ``DistributedDataParallel(model)`` (PyTorch's name): broadcasts rank 0's
  parameters and buffers at construction, and after each ``loss.backward()``
  every rank holds the averaged gradient, so a PyTorch training loop runs
  unchanged. Each forward walks the graph of its outputs to learn which
  parameters it used (PyTorch's ``find_unused_parameters``) and, per
  parameter, the earliest op that consumes it. The backward pass runs ops
  in reverse creation order, so once it has run an op created no later
  than that one, the parameter's gradient is final. An observer of the
  engine's steps (``BACKWARD_STEP``) adds each gradient the pass sends to a
  parameter into its bucket and starts a bucket's non-blocking allreduce as
  soon as all its parameters are final (buckets start in order on every
  rank, as PyTorch's reducer does): the reduction travels while the rest of
  the backward pass computes. A gradient hook on every parameter (leaf hooks
  run at the end of the pass, with the summed gradient) waits for the
  buckets and hands the engine the averaged gradient. With one bucket
  nothing can overlap, and the hooks reduce everything at the end.
* ``DistributedOptimizer(optimizer)`` (Horovod's design): ``step()`` first
  allreduces the gradients of the optimizer's parameters. This suits loops
  that set ``.grad`` themselves, like ``rg.bptt.train`` and
  ``train_stateful``; ``synchronize()`` reduces early (before clipping).
"""

from __future__ import annotations

import contextlib
import time

from ..bptt.layout import model_batch_first
from ..autograd import backend, graph, hooks
from ..autograd.engine import BACKWARD_STEP
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


def _reached(outputs, index: dict, found: set, first_use: dict | None = None, ops: set | None = None) -> None:
    """Add to ``found`` the indices (``index``: id → index) of the leaves the
    ``outputs`` depend on; stops as soon as every parameter is found, unless
    ``first_use`` is given: then the whole graph is walked, ``first_use[i]``
    becomes the creation number of the earliest op that consumes parameter i
    and ``ops`` gets the ids of the ops walked."""
    tensors, total = _tensors(outputs, []), len(index)
    for t in tensors:
        if t.grad_fn is None and id(t) in index:
            found.add(index[id(t)])
    for node in graph.walk([t for t in tensors if t.grad_fn is not None]):
        if first_use is None:
            if len(found) >= total:
                return
        else:
            ops.add(id(node))
        for e in graph.inputs(node):
            if isinstance(e, Tensor) and id(e) in index:
                i = index[id(e)]
                found.add(i)
                if first_use is not None:  # the walk runs latest first: the last op seen is the earliest
                    first_use[i] = node.seq


class _OverlapPass:
    """One backward pass whose buckets start as soon as their gradients are
    final (``rg.distributed.ddp``'s docstring). Made by a forward; while registered, the engine
    calls ``observe`` after every op of a backward pass."""

    def __init__(self, ddp):
        self.ddp, self.reducer = ddp, ddp.reducer
        self.first_use, self.ops = {}, set()   # parameter -> creation number of its earliest op; ids of the ops
        self.begun = self.done = False
        self.results = set()  # parameters whose .grad holds the average, until their hook hands it over
        self.registered = False
        self.comm = 0.0

    def register(self):
        if not self.registered:
            hooks.add_observer(BACKWARD_STEP, self.observe)
            self.registered = True

    def retire(self):
        """Done with this pass (a new forward, ``no_sync``, an error): stop observing."""
        self.done = True
        self.results.clear()
        if self.registered:
            hooks.remove_observer(BACKWARD_STEP, self.observe)
            self.registered = False

    def _setup(self):
        """At the pass's first op: buckets start from the gradients accumulated
        so far (``no_sync``) or zeros; the parameters to wait for, latest first."""
        red, ddp = self.reducer, self.ddp
        self.begun = True
        expected = set(ddp._expected)
        ddp._expected.clear()
        grads = [None if p.grad is None else p.grad.data for p in red.params]
        self.present = [i in expected or g is not None for i, g in enumerate(grads)]
        for b in range(len(red.buckets)):
            red.pack(b, grads)
        self.waiting = [0] * len(red.buckets)  # per bucket: its parameters whose gradient is not final yet
        for i in expected:
            self.waiting[red.bucket_of[i][0]] += 1
        self.order = sorted(((self.first_use.get(i, -1), i) for i in expected), reverse=True)
        self.k = self.next_bucket = 0
        self.any = None

    def observe(self, node, g, sent):
        """The engine's ``BACKWARD_STEP`` observer: add what this op sent to the
        parameters into their buckets; start the buckets that became final."""
        if self.done:
            return
        t0 = time.perf_counter()
        try:
            if not self.begun:
                self._setup()
            red, index = self.reducer, self.ddp._index
            for e, gi in zip(graph.inputs(node), sent):
                if gi is not None and isinstance(e, Tensor):
                    i = index.get(id(e))
                    if i is None:
                        continue
                    b, off, size = red.bucket_of[i]
                    if b < self.next_bucket:
                        self._late(i)
                    self.present[i] = True
                    red.buckets[b][0][off:off + size] += backend.to_numpy(gi).reshape(-1)
            if id(node) in self.ops:  # only the forward's own ops say which gradients are final
                order, seq = self.order, node.seq
                while self.k < len(order) and order[self.k][0] >= seq:  # every op that uses it has run
                    self.waiting[red.bucket_of[order[self.k][1]][0]] -= 1
                    self.k += 1
                self._start_ready(final=False)
        except BaseException:
            self.retire()
            raise
        finally:
            self.comm += time.perf_counter() - t0

    def _late(self, i):
        """A gradient for a parameter whose bucket is already on its way: an op
        outside the forward (made before it) uses the parameter."""
        for req in self.reducer._requests:  # the other ranks started these too: complete them
            if req is not None:
                req.Wait()
        self.reducer._requests = []
        raise RuntimeError(f"DistributedDataParallel: parameter '{self.reducer.named[i][0]}' got a gradient from an "
                           f"op that is not part of the wrapper's forward, after its bucket was sent. Use the "
                           f"parameters only through the forward (terms added to the loss after it are fine), or "
                           f"reduce by hand: with model.no_sync(): …backward(); then "
                           f"rg.distributed.allreduce_gradients(model)")

    def _start_ready(self, final: bool):
        red = self.reducer
        while self.next_bucket < len(red.buckets) and (final or self.waiting[self.next_bucket] == 0):
            if self.any is None:
                self.any = red.begin(self.present)  # the control exchange, at the first bucket
            if self.any:
                red.start(self.next_bucket)
            self.next_bucket += 1

    def finish(self):
        """The end of the backward pass (the first parameter hook): start what
        is left, wait for everything; the averages go to ``.grad``."""
        t0 = time.perf_counter()
        try:
            self._start_ready(final=True)
            self.retire()
            if self.any:  # every parameter any rank has a gradient for gets the average in .grad
                self.reducer.finish(self.ddp.average)
                self.results = {i for i, p in enumerate(self.reducer._present) if p}
        except BaseException:
            self.retire()
            raise
        finally:
            self.comm += time.perf_counter() - t0
            self.reducer.comm_s += self.comm


class DistributedDataParallel(Module):
    """Data-parallel wrapper: ``model = DistributedDataParallel(model)``, then
    train as usual; gradients are averaged over the ranks after each
    ``backward()`` (``rg.distributed.ddp``'s docstring), so every rank takes the same step.

    Like PyTorch's, the wrapper's ``state_dict`` names carry a ``module.``
    prefix; save and load ``ddp.module`` (``rg.train.fit`` and
    ``ModelCheckpoint`` do) so checkpoints move between data-parallel and
    single-process runs. ``no_sync()`` skips the reduction (gradient
    accumulation over micro-batches: reduce only on the last one).
    ``bucket_bytes`` caps each bucket (default 25 MiB); ``average=False``
    sums instead of averaging. With several buckets (models over
    ``bucket_bytes``) each bucket's allreduce starts during the backward
    pass, as soon as its gradients are final. The loss must depend on the
    parameters only through this wrapper's forward (the parameters a forward
    uses are the ones waited for); terms computed from them after the forward
    (a penalty added to the loss) are included, and a use made before the
    forward that reaches a bucket already sent is an error, not a wrong
    average. One backward pass per forward, as in PyTorch.
    """

    def __init__(self, module: Module, bucket_bytes: int = DEFAULT_BUCKET_BYTES, average: bool = True,
                 broadcast_buffers: bool = True):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: expected an nn.Module, got {type(module).__name__}")
        self.module = module
        self.sequence_model = bool(getattr(module, "sequence_model", False))
        # the layout the wrapped module reads, as rg.bptt infers it (its own flag, else its sequence layers')
        self.batch_first = (model_batch_first(module) if self.sequence_model
                            else bool(getattr(module, "batch_first", False)))
        broadcast_parameters(module if broadcast_buffers else list(module.parameters()))
        params = [p for p in module.parameters() if p.requires_grad]
        object.__setattr__(self, "reducer", GradientReducer(params, bucket_bytes))
        object.__setattr__(self, "average", average)
        object.__setattr__(self, "_index", {id(p): i for i, p in enumerate(self.reducer.params)})
        object.__setattr__(self, "_expected", set())  # parameters the forwards since the last reduction used
        object.__setattr__(self, "_ready", set())     # ... and those whose gradient hook has run
        object.__setattr__(self, "_sync", True)
        # overlap the reduction with the backward pass: worth it with several buckets in a world of several
        object.__setattr__(self, "_overlap", len(self.reducer.buckets) > 1 and self.reducer.group.size > 1)
        object.__setattr__(self, "_pass", None)       # the _OverlapPass the next backward pass fills
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
            if not self._overlap:
                _reached(out, self._index, self._expected)
            else:
                ps = self._pass
                if ps is None or ps.begun or ps.done:  # a new pass (a second forward before backward adds to it)
                    if ps is not None:
                        ps.retire()
                    ps = _OverlapPass(self)
                    object.__setattr__(self, "_pass", ps)
                first_use = {}
                _reached(out, self._index, self._expected, first_use, ps.ops)
                for i, seq in first_use.items():
                    ps.first_use[i] = min(seq, ps.first_use.get(i, seq))
                ps.register()
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
        ps = self._pass
        if ps is not None and ps.begun:  # the overlapped pass: this rank's gradient is in the buckets already
            if not ps.done:
                ps.finish()
            if i not in ps.results:  # a parameter the forward did not use (see the class docstring)
                return None
            ps.results.discard(i)
            p = self.reducer.params[i]
            value = p.grad
            p.grad = None  # the engine stores the returned (averaged) gradient in it
            return value
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
        if self._pass is not None:
            self._pass.retire()
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
