"""The backward pass: reverse-mode accumulation over the tape.

``backward`` and ``grad`` both run ``_run``, which is the whole algorithm:

Every recorded op carries a sequence number (its creation order), and an op
is always created after its inputs. So **reverse creation order is a reverse
topological order** (PyTorch's ``sequence_nr``, Chainer's rank): keep the ops
reached so far in a max-heap by sequence number; pop the latest op — all its
consumers have been processed, so its gradient is complete — call its vjp with
the summed upstream gradient, send each input its share (summed back over
broadcast axes, cast to the input's dtype), push inputs not seen before, and
release the op's saved values unless ``retain_graph``. Leaves accumulate into
``.grad``. There is no recursion (a chain of a million ops is fine) and no
separate pass to count consumers.

This is the "step 4, error backpropagation" that seed page 001 could not find
in TensorFlow code: ``loss.backward(trace=True)`` or ``rg.explain(loss)`` print
each step of it as it runs.
"""

from __future__ import annotations

import types
from heapq import heappop, heappush

from . import backend
from .backend import xp
from .tensor import AnomalyError, Tensor, _mode, _wrap

# ---------------------------------------------------------------- namespaces
# A vjp calls functions through ``ns`` so that one rule serves both passes:
# arrays in an ordinary backward, differentiable rg ops under create_graph.


def _index_add(shape, dtype, index, g):
    out = xp.zeros(shape, dtype=dtype)
    if _is_basic_index(index):
        out[index] = g
    else:
        xp.add.at(out, index, g)  # repeated indices accumulate
    return out


def _is_basic_index(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, (int, slice)) for i in items)


def _broadcast_to(x, shape):
    """A materialised, writeable broadcast (cheaper than ``np.broadcast_to`` on
    small arrays, and a leaf's gradient must own its memory anyway)."""
    out = xp.empty(shape, dtype=x.dtype)
    out[...] = x
    return out


# Methods, not NumPy's module functions: on small arrays the latter's Python
# wrappers cost more than the arithmetic.
ARRAY_NS = types.SimpleNamespace(
    value=lambda x: x,
    sum=lambda x, axis=None, keepdims=False: x.sum(axis=axis, keepdims=keepdims),
    sum_to=backend.sum_to,
    broadcast_to=_broadcast_to,
    reshape=lambda x, shape: x.reshape(shape),
    transpose=lambda x, axes=None: x.transpose(axes),
    swapaxes=lambda x, a, b: x.swapaxes(a, b),
    expand_dims=xp.expand_dims,
    matmul=xp.matmul,
    exp=xp.exp,
    log=xp.log,
    sqrt=xp.sqrt,
    sin=xp.sin,
    cos=xp.cos,
    tanh=xp.tanh,
    where=xp.where,
    maximum=xp.maximum,
    astype=lambda x, dtype: x.astype(dtype),
    getitem=lambda x, index: x[index],
    index_add=_index_add,
    concatenate=xp.concatenate,
    pad=lambda x, pad_width, value=0.0: xp.pad(x, pad_width, constant_values=value),
    sigmoid=None,  # filled in by ops (needs the stable forward)
    softmax=None,
)
"""First-order namespace: vjps see plain arrays."""

TENSOR_NS = types.SimpleNamespace()
"""Higher-order namespace: vjps see Tensors; filled in by ``retrograd.ops``."""


def _value(x):
    return x.data if isinstance(x, Tensor) else x


# ---------------------------------------------------------------- tracing
class BackwardTrace:
    """The steps of one backward pass, in the order they ran.

    Each row: step, op, input shapes, output (= upstream gradient) shape,
    ‖upstream gradient‖, ‖gradient sent to each input‖, bytes the op saved.
    ``print(trace)`` shows the table; ``rows`` holds the raw records.
    """

    header = ("step", "op", "inputs", "output", "|grad in|", "|grad out| per input", "saved")

    def __init__(self, live: bool = False):
        self.rows = []
        self._bytes = []
        self.live = live
        if live:
            print(self._fmt(self.header))

    @staticmethod
    def _fmt(row):
        widths = (4, 16, 28, 14, 11, 30, 10)
        return "  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip()

    def record(self, node, g, inputs, needs, gs, saved):
        shapes = ", ".join(str(tuple(_value(a).shape)) if hasattr(_value(a), "shape") else "const"
                           for a in inputs)
        outs = ", ".join(f"{_norm(gi):.4g}" if (need and gi is not None) else "-"
                         for need, gi in zip(needs, gs))
        out_shape = (", ".join(str(tuple(_value(gi).shape)) for gi in g) if isinstance(g, list)
                     else str(tuple(_value(g).shape)))
        row = (len(self.rows) + 1, node.name, shapes, out_shape,
               f"{_norm(g):.4g}", outs, _fmt_bytes(saved))
        self.rows.append(row)
        self._bytes.append(saved)
        if self.live:
            print(self._fmt(row))

    def __str__(self):
        return self.table()

    def table(self, limit: int | None = None) -> str:
        """The steps as a table; with ``limit``, only the first and last ``limit // 2`` rows."""
        rows = [self._fmt(r) for r in self.rows]
        if limit is not None and len(rows) > limit:
            head, tail = limit - limit // 2, limit // 2
            rows = rows[:head] + [f"... {len(rows) - head - tail} more steps ..."] + (rows[-tail:] if tail else [])
        total = sum(self._bytes) if self._bytes else 0
        footer = [f"{len(self.rows)} steps; the tape held {_fmt_bytes(total)} for the backward pass"] if self.rows else []
        return "\n".join([self._fmt(self.header)] + rows + footer)

    def __len__(self):
        return len(self.rows)


def _norm(g) -> float:
    if isinstance(g, (list, tuple)):
        return float(sum(_norm(gi) ** 2 for gi in g) ** 0.5)
    v = _value(g)
    return float(xp.sqrt(xp.sum(xp.square(v, dtype=xp.float64)))) if hasattr(v, "shape") else abs(float(v))


def _fmt_bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def saved_bytes(node) -> int:
    """Bytes of arrays an op keeps alive for its vjp: inputs, outputs and
    whatever else it saved (a fused LSTM's gate activations)."""
    arrays = list(node.xs or ())
    ans = node.ans
    arrays += list(ans) if isinstance(ans, tuple) else [ans]
    arrays += list(node.saved_arrays())
    return sum(getattr(a, "nbytes", 0) for a in arrays if a is not None)


# ---------------------------------------------------------------- the engine
def _freed_error(node):
    return RuntimeError(
        f"backward through op '{node.name}' a second time: the tape was freed after the first "
        f"backward. Pass retain_graph=True to the first backward() if you need to backpropagate twice."
    )


def _run(roots, root_grads, *, retain_graph, create_graph, capture=None, tracer=None):
    """Backpropagate ``root_grads`` from ``roots``; see the module docstring.

    ``capture`` (used by ``grad``): {leaf Tensor id or Op: slot}; captured
    gradients are returned in a dict and nothing is written to ``.grad``.
    """
    ns = TENSOR_NS if create_graph else ARRAY_NS
    grads = {}  # Op -> summed upstream gradient
    captured = {}
    assigned = set()  # ids of arrays handed to a leaf's .grad in this pass
    plain = capture is None and not create_graph  # leaves take the fast path below

    hooked = {}  # leaves with hooks: their gradient is summed first, the hooks run once (PyTorch's order)

    def to_leaf(leaf, g, final=False):
        if leaf._hooks and not final:
            entry = hooked.get(id(leaf))
            hooked[id(leaf)] = (leaf, g if entry is None else entry[1] + g)
            return
        if leaf._hooks:
            g = _run_hooks(leaf._hooks, g, create_graph)
        if capture is not None:
            slot = capture.get(id(leaf))
            if slot is not None:
                captured[slot] = g if slot not in captured else captured[slot] + g
        elif create_graph:
            leaf.grad = g if leaf.grad is None else leaf.grad + g
        elif leaf.grad is None:
            if type(g) is not backend.ndarray or g.base is not None or id(g) in assigned:
                g = xp.array(g)  # a leaf's grad owns its memory: optimizers may update it in place
            assigned.add(id(g))
            leaf.grad = _wrap(g)
        else:
            leaf.grad = _wrap(leaf.grad.data + g)

    heap = []  # (-seq, op): the latest op first

    def send(t, g):
        """Add ``g`` to the gradient arriving at the op that produced ``t``."""
        p = t._node
        if p.multi:
            _send_multi(grads, heap, p, t._oi, g)
        elif p in grads:
            grads[p] = grads[p] + g
        else:
            grads[p] = g
            heappush(heap, (-p.seq, p))

    for t, g in zip(roots, root_grads):
        if t._node is not None:
            send(t, g)
        elif t.requires_grad:
            to_leaf(t, g)

    anomaly = _mode.anomaly
    prev_mode = _mode.grad_enabled
    _mode.grad_enabled = create_graph
    try:
        while heap:
            n = heappop(heap)[1]
            g = grads.pop(n)
            if n.inputs is None:
                raise _freed_error(n)
            if n.multi:  # outputs that received no gradient get zeros
                g = [(_wrap(xp.zeros(*meta)) if create_graph else xp.zeros(*meta)) if gi is None else gi
                     for gi, meta in zip(g, n.out_meta)]
            if n.hooks is not None or n.retained is not None or capture is not None:
                g = _node_extras(n, g, create_graph, capture, captured)
            if create_graph:
                if n.multi:
                    raise NotImplementedError(f"{n.name}: second derivatives through this fused op are not "
                                              f"implemented; use the composed cells (e.g. nn.LSTMCell) instead")
                gs = n.vjp(ns, g, _wrap(n.ans, n) if n.save_ans else None, *n.inputs)
            else:
                gs = n.vjp(ns, g, n.ans, *n.xs)
            if anomaly:
                _check_backward(n, gs)
            sent = [] if tracer is not None else None
            for a, xd, need, gi in zip(n.inputs, n.xs, n.needs, gs):
                if gi is None or not need:
                    if sent is not None:
                        sent.append(None)
                    continue
                if gi.shape != xd.shape:
                    if not n.broadcasts:
                        raise RuntimeError(f"internal error: vjp of {n.name} returned a gradient of shape "
                                           f"{gi.shape} for an input of shape {xd.shape}")
                    gi = ns.sum_to(gi, xd.shape)
                if gi.dtype is not xd.dtype and gi.dtype != xd.dtype:
                    gi = ns.astype(gi, xd.dtype)
                if sent is not None:
                    sent.append(gi)
                p = a._node
                if p is None:  # a leaf
                    if plain and a.grad is None and a._hooks is None and type(gi) is backend.ndarray \
                            and gi.base is None and id(gi) not in assigned:
                        assigned.add(id(gi))
                        a.grad = _wrap(gi)
                    else:
                        to_leaf(a, gi)
                else:
                    send(a, gi)
            if tracer is not None:  # what each input received: after unbroadcasting and casting
                tracer.record(n, g, n.inputs, n.needs, sent, saved_bytes(n))
            if not retain_graph:
                n.inputs = n.xs = n.ans = None
        for leaf, g in hooked.values():
            to_leaf(leaf, g, final=True)
    finally:
        _mode.grad_enabled = prev_mode
    return captured


def _send_multi(grads, heap, node, index, g):
    """Add ``g`` to output ``index`` of a multi-output op."""
    slots = grads.get(node)
    if slots is None:
        slots = grads[node] = [None] * len(node.out_meta)
        heappush(heap, (-node.seq, node))
    slots[index] = g if slots[index] is None else slots[index] + g


def _node_extras(n, g, create_graph, capture, captured):
    """Hooks, ``retain_grad`` and ``grad()`` capture for a non-leaf whose
    gradient is complete."""
    if n.hooks:
        g = _run_hooks(n.hooks, g, create_graph)
    if capture is not None:
        if n.multi:
            for i, gi in enumerate(g):
                slot = capture.get((n, i))
                if slot is not None:
                    captured[slot] = gi
        else:
            slot = capture.get(n)
            if slot is not None:
                captured[slot] = g
    elif n.retained is not None:
        t = n.retained()
        if t is not None:
            gv = g if create_graph else _wrap(xp.array(g))
            t.grad = gv if t.grad is None else t.grad + gv
    return g


def _run_hooks(hooks, g, create_graph):
    for hook in list(hooks):
        gt = g if create_graph else _wrap(g)
        out = hook(gt)
        if out is not None:
            g = out if create_graph else (out.data if isinstance(out, Tensor) else xp.asarray(out))
    return g


def _check_backward(node, gs):
    for i, gi in enumerate(gs):
        v = _value(gi)
        if v is not None and getattr(v, "dtype", None) is not None and v.dtype.kind in "fc" \
                and not xp.isfinite(v).all():
            where = f"; the op was created at {node.site}" if node.site else ""
            raise AnomalyError(
                f"detect_anomaly: backward of {node.name}{node._params()} produced "
                f"{'NaN' if xp.isnan(v).any() else 'Inf'} in the gradient of input {i}{where}"
            )


def _root_grads(outputs, grad_outputs, create_graph):
    gs = []
    for i, t in enumerate(outputs):
        g = None if grad_outputs is None else grad_outputs[i]
        if g is None:
            if t.data.size != 1:
                raise RuntimeError(
                    f"backward: grad can be implicitly created only for a scalar output, but the output "
                    f"has shape {t.shape}; pass grad= (an array of that shape)")
            g = xp.array(1, dtype=t.data.dtype).reshape(t.data.shape)  # (np.ones is 4x slower)
            gs.append(_wrap(g) if create_graph else g)
            continue
        if isinstance(g, Tensor):
            gv = g.data
        else:
            gv = xp.asarray(g, dtype=t.data.dtype)
        if gv.shape != t.data.shape:
            raise ValueError(f"backward: grad has shape {gv.shape} but the output has shape {t.shape}")
        if create_graph:
            gs.append(g if isinstance(g, Tensor) else _wrap(gv))
        else:
            gs.append(xp.array(gv, dtype=t.data.dtype))  # copy: never alias the caller's array
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
    tracer = BackwardTrace(live=True) if trace else None
    _run(tensors, _root_grads(tensors, grad_tensors, create_graph), retain_graph=retain_graph,
         create_graph=create_graph, tracer=tracer)
    return tracer


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
    capture = {}
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor) or not x.requires_grad:
            raise RuntimeError(f"grad: input {i} does not require grad")
        node = x._node
        capture[id(x) if node is None else (node, x._oi) if node.multi else node] = i
    if retain_graph is None:
        retain_graph = create_graph
    captured = _run(outputs, _root_grads(outputs, grad_outputs, create_graph), retain_graph=retain_graph,
                    create_graph=create_graph, capture=capture)
    result = []
    for i, x in enumerate(inputs):
        g = captured.get(i)
        if g is None:
            if not allow_unused:
                raise RuntimeError(f"grad: input {i} (shape {x.shape}) is not used to compute the outputs; "
                                   f"pass allow_unused=True to get None for it")
            result.append(None)
        else:
            result.append(g if isinstance(g, Tensor) else _wrap(xp.asarray(g)))
    return tuple(result)


def explain(loss, grad=None, limit: int | None = None) -> BackwardTrace:
    """Print and return every step of ``loss``'s backward pass, in the order it runs.

    Non-destructive: the tape is kept and no ``.grad`` is written, so you can
    call ``loss.backward()`` afterwards. Each row names the op, its input
    shapes, the output shape, the norm of the gradient arriving at the op and
    of the gradient it passes to each input, and the bytes the op saved for
    its vjp (which is what the backward pass costs in memory). With ``limit``,
    a long pass prints only its first and last ``limit // 2`` steps; the
    returned trace keeps every row either way.
    """
    tracer = BackwardTrace()
    _run([loss], _root_grads([loss], None if grad is None else [grad], False), retain_graph=True,
         create_graph=False, capture={}, tracer=tracer)
    print(tracer.table(limit))
    return tracer
