"""The backward pass: reverse-mode accumulation over the tape.

``backward`` and ``grad`` both call ``run_backward``, which is the whole algorithm:

Every recorded op carries a sequence number (its creation order), and an op
is always created after its inputs. So **reverse creation order is a reverse
topological order** (PyTorch's ``sequence_nr``, Chainer's rank): keep the ops
reached so far in a max-heap by sequence number; pop the latest op — all its
consumers have been processed, so its gradient is complete — call its vjp with
the summed upstream gradient, send each input its share (summed back over
broadcast axes, cast to the input's dtype), push inputs not seen before, and
release the op's saved values unless ``retain_graph``. Leaves accumulate into
``.grad``. There is no recursion (a chain of a million ops is fine) and no
separate pass to count consumers. A ``grad()`` pass first walks down the edges once to find
the ops on a path to its inputs (``_paths_to``) and runs only those, as PyTorch's
``autograd.grad`` does: a branch to other leaves is never differentiated.

**Exposed intermediates** (``expose``): a fused op may hand out, as extra outputs,
values it also uses inside (a fused recurrent layer's gates). Such an output is
off the path to the loss, so walking the tape never gives it the gradient its
internal uses carry — the gradient a composed graph would give it. A tensor
built from such outputs by copying entries (slices, stacks, reshapes, gathers,
zero padding) can be declared with ``expose(t)``; when a pass wants its gradient
(``t.retain_grad()``, or ``t`` among ``grad()``'s inputs), the pass works out
once, while the tape is intact, where each of ``t``'s entries comes from (an
index map pushed forward through those copies), the ops' vjps report the
internal gradients of those outputs (``adjoints_wanted`` / ``report_adjoint``,
outputs listed in the op's ``adjoint_outputs``), and at the end of the pass they
are placed by the map and added to what ``t`` received along the path. Nothing
of this runs while no exposed tensor is alive.

This is the "step 4, error backpropagation" that is hard to find in TensorFlow's
code: ``loss.backward(trace=True)`` or ``rg.explain(loss)`` print
each step of it as it runs.
"""

from __future__ import annotations

import threading
import weakref
from heapq import heappop, heappush

from . import backend, hooks
from .mode import AnomalyError, _mode, mutations
from .namespaces import ARRAY_NS, TENSOR_NS
from .op import NODE_POSTHOOKS, NODE_PREHOOKS, _freed, creation_site
from .tensor import PostAccumulateHook, Tensor, _wrap


def _value(x):
    return x.data if isinstance(x, Tensor) else x


BACKWARD_STEP = "backward_step"
"""The event an observer of the backward pass registers for (``hooks.observe``): after each
op's vjp, before its saved values are released, the engine calls ``fn(op, g, sent)`` with
the gradient that arrived at the op and what each input received (None: nothing). The
printed trace (``rg.explain``, ``backward(trace=True)``) is such an observer."""


class _Pass:
    """The state of one backward pass: gradients waiting at ops, the heap of
    ops by creation order, and where leaf gradients go."""

    __slots__ = ("ns", "retain_graph", "create_graph", "capture", "grads", "heap", "captured",
                 "assigned", "hooked", "plain", "taps", "wants", "reports", "modified")

    def __init__(self, retain_graph, create_graph, capture):  # positional: cheaper to call
        self.ns = TENSOR_NS if create_graph else ARRAY_NS
        self.retain_graph, self.create_graph = retain_graph, create_graph
        self.capture = capture
        self.grads = {}      # Op -> summed upstream gradient (a list of them for a MultiOp)
        self.heap = []       # (-seq, op): the latest op first
        self.captured = {}   # grad(): slot -> gradient
        self.assigned = set()  # ids of arrays handed to a leaf's .grad in this pass
        self.hooked = {}     # leaves with hooks: summed first, hooks run once at the end (PyTorch's order)
        self.plain = capture is None and not create_graph  # leaves may take the fast path
        self.taps = None     # exposed tensors this pass records a gradient for (``expose``)
        self.modified = None  # .grad arrays accumulated in place (``accumulate``), stamped in ``finish``

    # step 1: seed the roots
    def seed(self, roots, root_grads):
        for t, g in zip(roots, root_grads):
            p = t._node
            if p is not None:
                if p.multi:
                    _send_multi(self.grads, self.heap, p, t._oi, g)
                elif p in self.grads:
                    self.grads[p] = self.grads[p] + g
                else:
                    self.grads[p] = g
                    heappush(self.heap, (-p.seq, p))
            elif t.requires_grad:
                self.to_leaf(t, g)

    # step 2: an op whose consumers are all done has its complete gradient
    def complete_gradient(self, n, g):
        """Zeros for outputs of a multi-output op that got no gradient; hooks,
        ``retain_grad`` and ``grad()`` capture on this op's output."""
        if n.edges is None:
            raise _freed(n)
        if n.multi:
            # hooks and retain_grad first, as PyTorch's pre-hooks: an output that received no gradient
            # gives its hooks None
            retain = self.capture is None or bool(self.capture)  # (not in ``explain``'s pass)
            if n.hooks is not None or (n.retained is not None and retain):
                g = _multi_extras(n, g, self.create_graph, retain, self.assigned)
            if getattr(n, "materialize_grads", True):  # outputs that received no gradient get zeros (a
                # custom Function may ask for None instead: ``ctx.set_materialize_grads(False)``)
                zeros = backend.xp.zeros
                g = [(_wrap(zeros(*meta)) if self.create_graph else zeros(*meta)) if gi is None else gi
                     for gi, meta in zip(g, n.out_meta)]
            if self.capture is not None:
                for i, gi in enumerate(g):
                    slot = self.capture.get((n, i))
                    if slot is not None:
                        self.captured[slot] = gi
            return g
        if n.hooks is not None or n.retained is not None or self.capture is not None:
            g = _node_extras(n, g, self.create_graph, self.capture, self.captured, self.assigned)
        return g

    # step 3: the op's vector-Jacobian product
    def vjp(self, n, g):
        """The general case; ``run_backward`` calls ``n.vjp`` directly on the plain path."""
        if n.seq < mutations.last:  # something was modified in place after this op was recorded
            n.check_not_modified()
        if self.create_graph:
            if n.multi:
                gs = n.vjp_differentiable(g)
            else:
                gs = n.vjp(self.ns, g, _wrap(n.ans, n) if n.save_ans else None, *n.input_tensors())
        else:
            gs = n.vjp(self.ns, g, n.ans, *n.xs)
        if _mode.anomaly:
            _check_backward(n, gs)
        return gs

    def unbroadcast(self, n, gi, x):
        """Step 4a: a gradient of a broadcast input, summed back to the input's shape."""
        if not n.broadcasts:
            raise RuntimeError(f"internal error: vjp of {n.name} returned a gradient of shape "
                               f"{gi.shape} for an input of shape {x.shape}")
        return self.ns.sum_to(gi, x.shape)

    def to_leaf(self, leaf, g, final=False):
        """Accumulate ``g`` into a leaf (or a ``grad()`` capture slot)."""
        if self.capture is not None and id(leaf) not in self.capture:
            return  # grad(): a leaf it was not asked for is not reached, so its hooks do not run (PyTorch's)
        if leaf._hooks and not final:
            entry = self.hooked.get(id(leaf))
            self.hooked[id(leaf)] = (leaf, g if entry is None else entry[1] + g)
            return
        if leaf._hooks:
            g = _run_hooks(leaf._hooks, g, self.create_graph, self.assigned)
        if self.capture is not None:
            slot = self.capture.get(id(leaf))
            if slot is not None:
                self.captured[slot] = g if slot not in self.captured else self.captured[slot] + g
        elif self.create_graph:
            leaf.grad = g if leaf.grad is None else leaf.grad + g
        elif leaf.grad is None:
            if type(g) is not backend.ndarray or g.base is not None or id(g) in self.assigned:
                g = backend.xp.array(g)  # a leaf's grad owns its memory: optimizers may update it in place
            self.assigned.add(id(g))
            leaf.grad = _wrap(g)
        else:
            self.accumulate(leaf, g)
        if leaf._hooks and self.capture is None:
            _run_post_accumulate_hooks(leaf)

    def accumulate(self, leaf, g):
        """Add ``g`` to a leaf's existing ``.grad``: in place, as PyTorch's AccumulateGrad does outside
        ``create_graph`` — the ``.grad`` Tensor stays the same object, so a reference to it (a
        gradient bucket's view, ``p.grad`` kept by the caller) sees the sum. Out of place where
        the array cannot take it (read-only, another shape or dtype) or ``.grad`` is on the
        tape. Arrays updated in place are stamped at the end of the pass (``finish``), so an op
        that saved one refuses to differentiate with the new values."""
        old = leaf.grad
        d = old.data
        if (old._node is None and type(d) is backend.ndarray and d.shape == g.shape and d.dtype == g.dtype
                and getattr(getattr(d, "flags", None), "writeable", True)):
            d += g
            if self.modified is None:
                self.modified = []
            self.modified.append(d)
        else:
            leaf.grad = _wrap(d + g)

    # step 6: leaves with hooks get their summed gradient last
    def finish(self):
        for leaf, g in self.hooked.values():
            self.to_leaf(leaf, g, final=True)
        if self.taps:
            self.deliver_taps()
        if self.modified:
            mutations.stamp(self.modified)
        return self.captured

    # exposed intermediates (``expose``)
    def find_taps(self) -> bool:
        """Before the walk: the exposed tensors this pass records a gradient for, with
        their index maps, and which outputs of which ops must report their adjoints."""
        taps, wants = [], {}
        for ref, entry in list(_exposed.values()):
            t = ref()
            if t is None or t._node is None:
                continue
            node = t._node
            key = (node, t._oi) if node.multi else node
            if self.capture is not None:
                if key not in self.capture:
                    continue
            elif retained_tensor(node, t._oi if node.multi else None) is not t:
                continue
            if entry[0] is None:  # worked out once, while the tape between the ops and t is intact
                entry[0] = _tap_map(t)
            if entry[0] is False:
                continue
            sources, index = entry[0]
            taps.append((t, key, sources, index))
            for op, k in sources:
                ks = wants.get(op, ())
                if k not in ks:
                    wants[op] = ks + (k,)
        if not taps:
            return False
        self.taps, self.wants, self.reports = taps, wants, {}
        return True

    def deliver_taps(self):
        """After the walk: each tapped tensor gets the reported adjoints, placed by its
        map (zeros where an entry has no source), added to its path gradient."""
        xp = backend.xp
        for t, key, sources, index in self.taps:
            parts = [self.reports.get(s) for s in sources]
            if all(p is None for p in parts):
                continue  # none of its ops ran in this pass
            flat = [xp.zeros(1, dtype=t.data.dtype)]
            for (op, k), p in zip(sources, parts):
                shape = op.out_meta[k][0]
                flat.append(xp.zeros(_size(shape), dtype=t.data.dtype) if p is None else p.reshape(-1))
            g = xp.concatenate(flat)[index]
            if self.capture is not None:
                slot = self.capture[key]
                self.captured[slot] = g if slot not in self.captured else self.captured[slot] + g
            else:
                t.grad = _wrap(g) if t.grad is None else _wrap(t.grad.data + g)


def _paths_to(roots, capture) -> tuple:
    """The ops a ``grad()`` pass needs: (those that take a gradient, those whose vjp runs) — the ops
    on a path from ``roots`` to a captured input, and the captured ops themselves. PyTorch's
    ``autograd.grad`` runs only these: a branch to other leaves is never differentiated, and its
    hooks and custom backwards are never called. One walk down the edges (an op is looked at again
    once the ops below it are known); an op already freed (its edges gone) is taken to lead to a
    captured input, so that reaching it raises as before rather than silently dropping what might
    have come through it."""
    captured_ops = {k[0] if type(k) is tuple else k for k in capture if type(k) is not int}
    leads = {}  # op -> whether a captured input is at or below it
    run = set()
    stack = [t._node for t in roots if t._node is not None]
    while stack:
        n = stack[-1]
        if n in leads:
            stack.pop()
            continue
        edges = n.edges
        if edges is None:  # freed: what is below it is unknown
            leads[n] = True
            run.add(n)
            stack.pop()
            continue
        below = waiting = False
        for e in edges:
            if e is None:
                continue
            if isinstance(e, Tensor):  # a leaf: captured by its id
                below = below or id(e) in capture
                continue
            lead = leads.get(e[0] if type(e) is tuple else e)
            if lead is None:
                stack.append(e[0] if type(e) is tuple else e)
                waiting = True
            elif lead:
                below = True
        if waiting:
            continue  # back to it when the ops below are known
        stack.pop()
        if below:
            run.add(n)
        leads[n] = below or n in captured_ops
    return {n for n, v in leads.items() if v}, run


def run_backward(roots, root_grads, *, retain_graph, create_graph, capture=None):
    """Backpropagate ``root_grads`` from ``roots``; see ``retrograd.autograd.engine``'s module docstring.

    ``capture`` (used by ``grad``): {leaf Tensor id or Op: slot}; captured
    gradients are returned in a dict and nothing is written to ``.grad``, and
    only the ops on a path to a captured input run (``_paths_to``; an empty
    ``capture`` runs them all).
    Observers of ``BACKWARD_STEP`` (``hooks.observe``) see every step.
    """
    bp = _Pass(retain_graph, create_graph, capture)
    tapping = bool(_exposed) and bp.find_taps()  # (before seeding: nothing is released yet)
    # a grad() pass runs only the ops it needs; with exposed intermediates tapped, every op (their
    # adjoints are reported by ops that may lie off those paths), and an empty capture runs every op
    # and writes nothing (``explain``'s side-effect-free pass)
    arrive, run = _paths_to(roots, capture) if capture and not tapping else (None, None)
    bp.seed(roots, root_grads)
    heap = bp.heap
    grads, complete_gradient, vjp, unbroadcast = bp.grads, bp.complete_gradient, bp.vjp, bp.unbroadcast
    ns, extras = bp.ns, capture is not None
    observers = hooks.observers(BACKWARD_STEP)
    # The plain path (no create_graph, anomaly mode or recent in-place update) calls the op's vjp
    # directly: these steps run once per op, and a method call is a large part of a tiny op's cost.
    plain = not create_graph and not _mode.anomaly
    leaf_fast, assigned, to_leaf, ndarray = bp.plain, bp.assigned, bp.to_leaf, backend.ndarray
    new_tensor, muts = Tensor.__new__, mutations
    node_hooked = bool(NODE_PREHOOKS) or bool(NODE_POSTHOOKS)  # some op has a grad_fn hook
    # ``nxt``: an op that is known to come next (its creation number is above everything on the
    # heap), kept off the heap. In a chain of ops — most of a graph — each op hands its input's
    # op straight to the next iteration, with no heap push and pop.
    nxt = None
    prev_mode = _mode.grad_enabled
    _mode.grad_enabled = create_graph  # record the backward pass only to differentiate it again
    if tapping:
        prev_reporting, _reporting.bp = _reporting.bp, bp
    _passes.kinds.append(extras)
    _mode.backward_depth += 1
    try:
        while nxt is not None or heap:
            if nxt is not None:
                n, nxt = nxt, None
            else:
                n = heappop(heap)[1]
            g = grads.pop(n)
            if extras or n.multi or n.hooks is not None or n.retained is not None or n.edges is None:
                g = complete_gradient(n, g)  # step 2
                if run is not None and n not in run:
                    continue  # a captured op with no captured input below it: its vjp is not needed
            if node_hooked and n in NODE_PREHOOKS:
                g = _node_prehooks(n, g, create_graph)
            if plain and n.seq > muts.last:
                gs = n.vjp(ns, g, n.ans, *n.xs)  # step 3, plain
            else:
                gs = vjp(n, g)  # step 3
            if node_hooked and n in NODE_POSTHOOKS:
                gs = _node_posthooks(n, gs, g, create_graph, unbroadcast, ns)
            # step 4: each input gets its share, summed back over broadcast axes and cast to its dtype
            sent = [] if observers else None
            for e, x, gi in zip(n.edges, n.xs, gs):
                if gi is None or e is None:
                    if sent is not None:
                        sent.append(None)
                    continue
                if x is not None:  # (None: an elementwise op's input, of the gradient's shape and dtype)
                    if gi.shape != x.shape:
                        gi = unbroadcast(n, gi, x)
                    if gi.dtype is not x.dtype and gi.dtype != x.dtype:
                        gi = ns.astype(gi, x.dtype)
                if sent is not None:
                    sent.append(gi)
                if isinstance(e, Tensor):  # a leaf
                    if leaf_fast and e.grad is None and e._hooks is None and type(gi) is ndarray \
                            and gi.base is None and id(gi) not in assigned:
                        assigned.add(id(gi))  # fast path: the fresh array becomes .grad as it is
                        t = new_tensor(Tensor)
                        t.data, t._grad, t._hooks, t._node, t._requires_grad = gi, None, None, None, False
                        e.grad = t
                    else:
                        to_leaf(e, gi)
                elif arrive is not None and (e[0] if type(e) is tuple else e) not in arrive:
                    continue  # a grad() pass: no captured input below this op
                elif type(e) is tuple:  # an output of a multi-output op
                    _send_multi(grads, heap, e[0], e[1], gi)
                elif e in grads:
                    grads[e] = grads[e] + gi
                else:
                    grads[e] = gi
                    if nxt is None:
                        nxt = e
                    elif e.seq > nxt.seq:
                        heappush(heap, (-nxt.seq, nxt))
                        nxt = e
                    else:
                        heappush(heap, (-e.seq, e))
            if nxt is not None and heap and heap[0][0] < -nxt.seq:  # a later op is waiting: heap order
                heappush(heap, (-nxt.seq, nxt))
                nxt = None
            if sent is not None:
                for fn in list(observers):
                    fn(n, g, sent)
            if not retain_graph:
                n.release()  # step 5: what the op saved is no longer needed
        return bp.finish()
    finally:
        _mode.grad_enabled = prev_mode
        _mode.backward_depth -= 1
        _passes.kinds.pop()
        if tapping:
            _reporting.bp = prev_reporting


class _Passes(threading.local):
    """The backward passes running in this thread, innermost last: True for ``grad`` (gradients
    captured for its inputs only), False for ``backward`` (written to ``.grad``)."""

    def __init__(self):
        self.kinds = []


_passes = _Passes()


def in_grad_pass() -> bool:
    """Whether the innermost backward pass running is ``grad`` (or ``backward(inputs=)``, which calls
    it) rather than ``backward``: an op whose vjp runs a backward of its own (a reentrant
    checkpoint) must not write ``.grad`` behind such a pass's back."""
    return bool(_passes.kinds) and _passes.kinds[-1]


# ------------------------------------------------------------ exposed intermediates
_exposed = {}       # id(tensor) -> (weakref to it, [None | (sources, index map) | False]): see ``expose``


class _Reporting(threading.local):
    bp = None  # the running pass (of this thread) that records exposed tensors, if any


_reporting = _Reporting()


def expose(t: Tensor) -> Tensor:
    """Declare ``t`` an exposed intermediate: a copy of entries (slices, stacks,
    reshapes, gathers, zero padding — no arithmetic) of outputs that ops list in
    their ``adjoint_outputs``: values the op also used internally, such as a fused
    recurrent layer's gates. ``t.retain_grad()`` and ``grad(..., inputs=[t])`` then
    give what ``t`` would receive in the composed graph: its gradient along the
    path (if anything downstream uses it) plus the gradient of the op's internal
    uses, which the op's vjp reports (``report_adjoint``); entries that are not
    copies of such an output (padding) get only the former; hooks on ``t`` see
    only the path's part. Not under ``create_graph`` (the op says so). Returns ``t``. Costs nothing until a pass
    wants ``t``'s gradient; the declaration lives as long as ``t``."""
    if t._node is None or id(t) in _exposed:
        return t
    key = id(t)
    _exposed[key] = (weakref.ref(t, lambda _, key=key: _exposed.pop(key, None)), [None])
    return t


def adjoints_wanted(op) -> tuple:
    """For an op's vjp: the indices of its ``adjoint_outputs`` whose internal
    gradient the running pass wants reported (``()``: none, the common case)."""
    bp = _reporting.bp
    return () if bp is None else bp.wants.get(op, ())


def report_adjoint(op, index: int, g) -> None:
    """For an op's vjp: the gradient that output ``index`` carries through the op's own
    internal uses of it (its adjoint in the composed graph, less what arrived at the
    output), an array of the output's shape."""
    bp = _reporting.bp
    if bp is not None:
        bp.reports[(op, index)] = g


def _size(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def _tap_map(t):
    """(sources, index): the (op, output) pairs ``t`` copies entries of, and for
    every entry of ``t`` its position + 1 in the sources' entries laid end to end
    (0: none, a padding entry), found by pushing the positions forward through
    the copies (``push_tangents``). False when the tape between them was freed."""
    from .forward import push_tangents

    xp = backend.xp
    sources, seen, stack = [], set(), [t._node]
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        if n.edges is None:
            return False
        for e in n.edges:
            if e is None or isinstance(e, Tensor):
                continue
            if type(e) is tuple and e[1] in getattr(e[0], "adjoint_outputs", ()):
                if e not in sources:
                    sources.append(e)
            else:
                stack.append(e[0] if type(e) is tuple else e)
    if not sources:
        return False
    seeds, offset = {}, 1
    for op, k in sources:
        shape = op.out_meta[k][0]
        ts = list(seeds.get(op, (None,) * len(op.out_meta)))
        ts[k] = xp.arange(offset, offset + _size(shape), dtype=xp.float64).reshape(shape)
        offset += _size(shape)
        seeds[op] = tuple(ts)
    pos = push_tangents([t], seeds, start_seq=min(op.seq for op, _ in sources))[0]
    if pos is None:
        return False
    index = xp.rint(pos).astype(xp.int64)
    if index.shape != tuple(t.shape) or (index < 0).any() or (index >= offset).any() or (index != pos).any():
        raise RuntimeError(f"expose: a tensor of shape {tuple(t.shape)} is not a copy of entries of "
                           f"{[(op.name, k) for op, k in sources]}")
    return sources, index


def _as_hook_arg(g, create_graph):
    """A gradient as a hook sees it: a Tensor (already one when the backward is recorded)."""
    return g if g is None or create_graph else _wrap(g)


def _hook_result(fn, result, expected: int, create_graph) -> list:
    """A grad_fn hook's returned tuple as gradients (arrays, or Tensors when recording), its length
    checked as PyTorch checks it."""
    if not isinstance(result, (tuple, list)):
        raise TypeError(f"hook '{getattr(fn, '__name__', fn)}' returned {type(result).__name__}: a grad_fn hook "
                        f"returns None or a tuple of gradients")
    if len(result) != expected:
        raise RuntimeError(f"hook '{getattr(fn, '__name__', fn)}' has returned an incorrect number of values "
                           f"(got {len(result)}, but expected {expected})")
    return [None if r is None else r if create_graph or not isinstance(r, Tensor) else r.data for r in result]


def _node_prehooks(n, g, create_graph):
    """``n``'s ``register_prehook`` hooks, in order, on the gradients of its outputs."""
    outs = list(g) if n.multi else [g]
    for fn in list(NODE_PREHOOKS.get(n, ())):
        result = fn(tuple(_as_hook_arg(o, create_graph) for o in outs))
        if result is not None:
            outs = _hook_result(fn, result, len(outs), create_graph)
    return outs if n.multi else outs[0]


def _node_posthooks(n, gs, g, create_graph, unbroadcast, ns):
    """``n``'s ``register_hook`` hooks, in order, on the gradients its vjp returned (summed to their
    inputs' shapes first: what the inputs receive), with the gradients it received."""
    grads = []
    for e, x, gi in zip(n.edges, n.xs, gs):
        if gi is None or e is None:
            grads.append(None)
            continue
        if x is not None:
            if gi.shape != x.shape:
                gi = unbroadcast(n, gi, x)
            if gi.dtype != x.dtype:
                gi = ns.astype(gi, x.dtype)
        grads.append(gi)
    outs = tuple(_as_hook_arg(o, create_graph) for o in (list(g) if n.multi else [g]))
    for fn in list(NODE_POSTHOOKS.get(n, ())):
        result = fn(tuple(_as_hook_arg(gi, create_graph) for gi in grads), outs)
        if result is not None:
            grads = _hook_result(fn, result, len(grads), create_graph)
    return grads


def _send_multi(grads, heap, node, index, g):
    """Add ``g`` to output ``index`` of a multi-output op."""
    slots = grads.get(node)
    if slots is None:
        slots = grads[node] = [None] * len(node.out_meta)
        heappush(heap, (-node.seq, node))
    slots[index] = g if slots[index] is None else slots[index] + g


def _node_extras(n, g, create_graph, capture, captured, assigned):
    """Hooks, ``retain_grad`` and ``grad()`` capture for a non-leaf (of one output) whose
    gradient is complete."""
    if n.hooks:
        g = _run_hooks(n.hooks, g, create_graph, assigned)
    if capture is not None:
        slot = capture.get(n)
        if slot is not None:
            captured[slot] = g
    if n.retained is not None and (capture is None or capture):  # grad() too fills a retained .grad, as
        # PyTorch's retain_grad hook (not ``explain``'s pass, an empty capture, which changes nothing)
        t = n.retained()
        if t is not None:
            _retain(t, g, create_graph)
    return g


def _multi_extras(n, g, create_graph, retain, assigned):
    """Hooks and ``retain_grad`` of the outputs of a multi-output op (``n.hooks`` and ``n.retained``
    are dicts by output index); ``g`` has None for an output that received no gradient."""
    g = list(g)
    for i, hs in (n.hooks or {}).items():
        if hs:
            g[i] = _run_hooks(hs, g[i], create_graph, assigned, n.out_meta[i])
    if retain:
        for i, ref in (n.retained or {}).items():
            t = ref()
            if t is not None and g[i] is not None:
                _retain(t, g[i], create_graph)
    return g


def _retain(t, g, create_graph):
    gv = g if create_graph else _wrap(backend.xp.array(g))
    t._grad = gv if t._grad is None else t._grad + gv


def retained_tensor(node, oi=None):
    """The tensor that asked ``node``'s output (``oi`` of a multi-output op) to keep its ``.grad``
    (``retain_grad``), or None."""
    r = node.retained
    if r is not None and node.multi:
        r = r.get(oi)
    return None if r is None else r()


def _run_post_accumulate_hooks(leaf):
    """``register_post_accumulate_grad_hook``'s hooks of a leaf whose ``.grad`` was just accumulated."""
    for hook in list(leaf._hooks or ()):
        if type(hook) is not PostAccumulateHook:
            continue
        result = hook.fn(leaf)
        if result is None or result is leaf:  # returning its argument is "no change" in PyTorch too
            continue  # (``lambda t: t.sub_(t.grad)`` returns t)
        name = getattr(hook.fn, "__name__", repr(hook.fn))
        if not isinstance(result, Tensor):  # PyTorch's two refusals: a TypeError for a non-Tensor
            raise TypeError(f"expected Variable, but hook returned '{type(result).__name__}': the post "
                            f"accumulate grad hook '{name}' must return None (the gradient is in tensor.grad)")
        raise RuntimeError(f"post accumulate grad hook '{name}' returned a Tensor: Tensor post accumulate grad "
                           f"hooks should return None (the gradient is in tensor.grad)")


def _run_hooks(hooks, g, create_graph, assigned, meta=None):
    """Call the gradient hooks in order, each on what the previous returned. ``g`` may be None
    (an output of a multi-output op that received nothing; ``meta``: its shape and dtype).
    The arrays hooks see or return are added to ``assigned``: a leaf copies them rather than
    taking them as its ``.grad``, which a later pass adds to in place (the hook may keep them)."""
    for hook in list(hooks):
        if type(hook) is PostAccumulateHook:  # runs after the accumulation (to_leaf), not on the gradient
            continue
        gt = g if create_graph or g is None else _wrap(g)
        if g is not None and not create_graph:
            assigned.add(id(g))
        out = hook(gt)
        if out is not None:
            name = getattr(hook, "__name__", repr(hook))
            if not isinstance(out, Tensor) and not isinstance(out, backend.ndarray):
                raise TypeError(f"hook '{name}' returned a {type(out).__name__}: a hook returns a Tensor (the "
                                f"gradient's replacement) or None")
            new = out if create_graph else (out.data if isinstance(out, Tensor) else out)
            shape, dtype = (g.shape, _value(g).dtype) if g is not None else meta[:2]
            if new.shape != tuple(shape):
                raise RuntimeError(f"hook '{name}' has changed the size of the gradient: it received shape "
                                   f"{tuple(shape)} and returned {tuple(new.shape)}; a hook must return a "
                                   f"gradient of the same shape (or None)")
            if _value(new).dtype != dtype:
                raise RuntimeError(f"hook '{name}' has changed the type of the gradient: it received "
                                   f"{dtype} and returned {_value(new).dtype}; return the same dtype")
            g = new
            if not create_graph:
                assigned.add(id(g))
    return g


def _check_backward(node, gs):
    for i, gi in enumerate(gs):
        v = _value(gi)
        if v is not None and getattr(v, "dtype", None) is not None and v.dtype.kind in "fc" \
                and not backend.xp.isfinite(v).all():
            site = creation_site(node)
            where = f"; the op was created at {site}" if site else ""
            nan = bool(backend.xp.isnan(v).any())
            raise AnomalyError(  # (PyTorch's words first: "Function '...' returned nan values in its 0th output.")
                f"detect_anomaly: Function '{node.name}' returned {'nan' if nan else 'inf'} values in its {i}th "
                f"output: backward of {node.name}{node._params()} produced {'NaN' if nan else 'Inf'} in the "
                f"gradient of input {i}{where}"
            )


class GradientShapeError(RuntimeError, ValueError):
    """A given gradient of another shape than its output: a ``RuntimeError`` as PyTorch raises
    ("Mismatch in shape"), and a ``ValueError``."""


def root_gradients(outputs, grad_outputs, create_graph):
    if grad_outputs is not None and len(grad_outputs) != len(outputs):
        raise RuntimeError(f"grad_outputs: got {len(outputs)} output tensor(s) and {len(grad_outputs)} gradient(s); "
                           f"give one gradient (or None) per output")
    gs = []
    for i, t in enumerate(outputs):
        g = None if grad_outputs is None else grad_outputs[i]
        if g is None:
            if t.data.size != 1:
                raise RuntimeError(
                    f"backward: grad can be implicitly created only for a scalar output, but the output "
                    f"has shape {t.shape}; pass gradient= (a tensor of that shape)")
            g = backend.xp.array(1, dtype=t.data.dtype)  # (np.ones is 4x slower)
            if t.data.ndim:
                g = g.reshape(t.data.shape)
            gs.append(_wrap(g) if create_graph else g)
            continue
        if isinstance(g, Tensor):
            gv = g.data
        else:
            gv = backend.xp.asarray(g, dtype=t.data.dtype)
        if gv.shape != t.data.shape:
            raise GradientShapeError(f"backward: Mismatch in shape: the gradient has shape {gv.shape} but the output "
                                     f"has shape {t.shape}")
        if create_graph:
            gs.append(g if isinstance(g, Tensor) else _wrap(gv))
        else:
            gs.append(backend.xp.array(gv, dtype=t.data.dtype))  # copy: never alias the caller's array
    return gs


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, trace=False):
    """Accumulate d(tensors)/d(leaves) into the leaves' ``.grad``.

    ``trace=True`` prints each step as it runs and returns the ``BackwardTrace``.
    """
    if isinstance(tensors, Tensor):
        tensors = [tensors]
        grad_tensors = None if grad_tensors is None else [grad_tensors]
    for t in tensors:
        if not t.requires_grad:
            raise RuntimeError("backward: tensor does not require grad and has no grad_fn "
                               "(no input had requires_grad=True, or it was made under no_grad)")
    if retain_graph is None:
        retain_graph = create_graph
    if not trace:
        run_backward(tensors, root_gradients(tensors, grad_tensors, create_graph), retain_graph=retain_graph,
                     create_graph=create_graph)
        return None
    tracer = make_tracer(live=True)
    with hooks.observe(BACKWARD_STEP, tracer.record):
        run_backward(tensors, root_gradients(tensors, grad_tensors, create_graph), retain_graph=retain_graph,
                     create_graph=create_graph)
    return tracer


def make_tracer(live: bool):
    """The observer ``backward(trace=True)`` prints with; ``explain`` (above the engine)
    registers its ``BackwardTrace`` here, so the engine imports nothing of it."""
    raise RuntimeError("backward(trace=True): no tracer is registered (import retrograd.autograd.explain)")


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned, not accumulated.

    Like ``torch.autograd.grad``: ``outputs`` and ``inputs`` are Tensors or
    sequences of them; returns a tuple with one gradient per input (a Tensor,
    or None for an unused input when ``allow_unused=True``). With
    ``create_graph=True`` the returned gradients are on the tape, so they can
    be differentiated again (Hessian-vector products, gradient penalties).
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    if isinstance(grad_outputs, Tensor) or (grad_outputs is not None and hasattr(grad_outputs, "shape")):
        grad_outputs = [grad_outputs]
    for t in outputs:
        if not t.requires_grad:
            raise RuntimeError("grad: an output does not require grad (no input on its tape requires grad)")
    capture, first = {}, []  # first[i]: the slot of input i (an input given twice shares the first's)
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor) or not x.requires_grad:
            raise RuntimeError(f"grad: input {i} does not require grad")
        node = x._node
        key = id(x) if node is None else (node, x._oi) if node.multi else node
        first.append(capture.setdefault(key, i))
    if retain_graph is None:
        retain_graph = create_graph
    captured = run_backward(outputs, root_gradients(outputs, grad_outputs, create_graph), retain_graph=retain_graph,
                    create_graph=create_graph, capture=capture)
    result = []
    for i, x in enumerate(inputs):
        g = captured.get(first[i])
        if g is None:
            if not allow_unused:
                raise RuntimeError(f"grad: input {i} (shape {x.shape}) is not used to compute the outputs; "
                                   f"pass allow_unused=True to get None for it")
            result.append(None)
        else:
            result.append(g if isinstance(g, Tensor) else _wrap(backend.xp.asarray(g)))
    return tuple(result)


def _tensor_backward(self, gradient=None, retain_graph: bool | None = None, create_graph: bool = False,
                     inputs=None, *, grad=None, trace: bool = False):
    """Backpropagate from this tensor, accumulating into leaves' ``.grad`` (PyTorch's signature).

    ``gradient`` is the upstream gradient (defaults to 1 for a scalar; ``grad=`` is an older
    name for it). The tape is freed afterwards unless ``retain_graph=True``.
    ``create_graph=True`` records the backward pass itself, so the gradients can be
    differentiated again. ``inputs``: accumulate only into these tensors (leaves or computed
    tensors, whose ``.grad`` is then kept as ``retain_grad`` keeps it). ``trace=True`` prints
    every step of the backward pass as it runs (see ``rg.explain``).
    """
    if grad is not None:
        if gradient is not None:
            raise TypeError("backward: got both gradient= and grad= (the same argument); pass gradient=")
        gradient = grad
    grad = gradient
    if inputs is not None:
        return _backward_into(self, gradient, retain_graph, create_graph, inputs)
    if grad is None and not create_graph and not trace and self.requires_grad:
        # ``loss.backward()``, the call of every training step: backward()'s steps for this one
        # root, without the checks that cannot fail here
        run_backward((self,), root_gradients((self,), None, False), retain_graph=retain_graph or False,
                     create_graph=False)
        return None
    return backward([self], None if grad is None else [grad], retain_graph=retain_graph,
                    create_graph=create_graph, trace=trace)


def _backward_into(root, gradient, retain_graph, create_graph, inputs):
    """``backward(inputs=...)``: the gradients of ``root`` with respect to ``inputs`` only, added
    to their ``.grad`` (the other leaves are left as they are), as PyTorch's."""
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if not inputs:
        raise RuntimeError("backward: inputs= was given but is empty; pass the tensors to accumulate into")
    gs = grad([root], inputs, None if gradient is None else [gradient], retain_graph=retain_graph,
              create_graph=create_graph, allow_unused=True)
    for x, g in zip(inputs, gs):
        if g is None or (x._node is not None and x.retains_grad):
            continue  # (a retained input's .grad was filled by the pass)
        if x._grad is None:
            x._grad = g if create_graph else _wrap(g.data.copy())
        else:
            x._grad = x._grad + g if create_graph else _wrap(x._grad.data + g.data)
        if x._node is None and x._hooks:
            _run_post_accumulate_hooks(x)
    return None


_tensor_backward.__name__ = _tensor_backward.__qualname__ = "backward"
Tensor.backward = _tensor_backward  # the engine sits above Tensor: it adds the method, Tensor imports nothing
