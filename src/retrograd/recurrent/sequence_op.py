"""The fused recurrent op's frame: constant attributes, buffer release, and the
differentiable vjp recorded from the cells' equations (``create_graph=True``).

``_SequenceOp`` is the base of ``fused.LSTMLayer``/``GRULayer``/``RNNLayer``: it
holds what the op is built with (the packed layout ``steps``, the activation,
the recurrent dropout mask, whether gates are returned), returns the buffers
that never left the op to ``buffers.pool`` when the engine releases it, and
answers ``vjp_differentiable`` by recording the forward again gate by gate
(``_recorded_steps`` over the packed rows) on sealed boundaries of its inputs.
The jvp of a differentiable walk (``jvp_recorded``) records the same equations
on (unsealed) boundaries and pushes the tangents through them.

With ``gates=True`` the gate outputs are the op's ``adjoint_outputs`` (values it
uses inside); ``expose_gates`` declares the tensors a layer builds from them
(``engine.expose``), so ``retain_grad`` and ``grad`` on them give the gradient
the composed cells' gate tensors get (``fused``'s module docstring).
"""

from __future__ import annotations

from .. import ops
from ..autograd import conventions
from ..autograd.engine import adjoints_wanted, expose, grad
from ..autograd.forward import push_tangents, seed_key
from ..autograd.mode import enable_grad, next_seq
from ..autograd.op import ALL, MultiOp, OpError, UnaryOp
from ..autograd.tensor import _wrap
from .buffers import pool
from .packing import Steps

ACTIVATIONS = ("tanh", "relu")


def relu_tie(activation):
    """The relu slope at 0 under the current ``rg.conventions`` policy (0 for tanh)."""
    return conventions.kink_slope((1.0, 0.0)) if activation == "relu" else 0.0


def _recorded_steps(steps, x, init, mask, step_fn):
    """The recurrence recorded as composed ops over the packed rows: the rows
    past b_t carry their state. ``step_fn(x_rows, state_rows, mask_rows) →
    (new state parts, gate pre-activations)``. Returns (each state part of every
    step, concatenated like the packed rows; the final state; per-step gates)."""
    state, outs, gates = tuple(init), [[] for _ in init], []
    for a0, a1, b, _ in steps.blocks:
        m = None if mask is None else _wrap(mask[:b])
        new, pre = step_fn(x[a0:a1], tuple(s[:b] for s in state), m)
        for store, part in zip(outs, new):
            store.append(part)
        gates.append(pre)
        state = tuple(n if b == steps.batch else ops.concatenate([n, s[b:]], axis=0) for n, s in zip(new, state))
    if not len(steps):  # no row takes a step: no outputs
        return tuple(s[:0] for s in init), state, gates
    return tuple(ops.concatenate(o, axis=0) for o in outs), state, gates


class _Boundary(UnaryOp):
    """y = x, a stop for one nested gradient pass.

    ``vjp_differentiable`` records the forward again on these stand-ins of the
    fused op's inputs and asks ``grad`` for the gradients at them. While that
    pass runs the boundary is *sealed*: its vjp sends nothing upstream, so
    the nested pass ends at the op's inputs instead of walking (and
    re-differentiating) the whole graph before them. Afterwards it is an
    identity, so later passes (the second derivative) flow through it."""
    name = "recompute_boundary"
    save_inputs = ()
    elementwise = True
    __slots__ = ("sealed",)

    def __init__(self):
        self.sealed = True

    def forward(self, x):
        return x

    def vjp(self, ns, g, ans, x):
        return (None,) if self.sealed else (g,)

    def jvp(self, ns, ts, ans, x):
        """ẏ = ẋ once unsealed; sealed, the zero map (the transpose of the sealed vjp)."""
        return None if self.sealed else ts[0]


class _SequenceOp(MultiOp):
    """A fused layer over the packed rows ``steps``: a hand-written first-order
    vjp, and for ``create_graph`` a vjp recorded from the cells' equations."""
    __slots__ = ("steps", "activation", "recurrent_mask", "gates", "tie")
    # every input: the first-order vjp reads all but the biases, and ``vjp_differentiable``
    # runs the forward again from all of them (the biases are parameters, alive anyway)
    save_inputs = ALL

    def __init__(self, steps: Steps, activation: str = "tanh", recurrent_mask=None, gates: bool = False):
        if activation not in ACTIVATIONS:
            raise OpError(f"{self.name}: activation must be one of {ACTIVATIONS}, got {activation!r}")
        self.steps, self.activation, self.recurrent_mask, self.gates = steps, activation, recurrent_mask, gates
        self.tie = relu_tie(activation)

    # the outputs that are values the op uses inside (the gates, with ``gates=True``): their
    # adjoints through the recurrence are reported to a pass that wants them (``engine.expose``)
    gate_outputs = ()

    @property
    def adjoint_outputs(self) -> tuple:
        return self.gate_outputs if self.gates else ()

    def _check_mask(self, h0):
        m = self.recurrent_mask
        if m is not None and (m.shape != h0.shape or m.dtype != h0.dtype):
            raise OpError(f"{self.name}: recurrent dropout mask {m.dtype}{list(m.shape)} does not match the "
                          f"state {h0.dtype}{list(h0.shape)}")

    # saved buffers that are also outputs (never pooled), and those that are outputs only with gates=True
    outputs_saved, gate_outputs_saved = frozenset({"Y"}), frozenset()

    def release(self) -> None:
        """Drop what the vjp needed; the buffers that never left the op go back to ``buffers.pool``."""
        saved = self.saved
        if saved:
            escaped = self.outputs_saved | (self.gate_outputs_saved if self.gates else frozenset())
            pool.give(*(a for name, a in saved.items() if name not in escaped))
        super().release()

    def recompute(self, *inputs) -> tuple:
        """The op's outputs recorded as composed ``rg`` ops (the cells' equations, step by step)."""
        raise NotImplementedError

    def vjp_differentiable(self, gs):
        """x̄ = (∂outputs/∂x)ᵀ·gs as ``rg`` ops on ``self.input_tensors()``: the forward is
        recorded again gate by gate on sealed boundaries of the inputs, and
        ``grad(..., create_graph=True)`` differentiates that record."""
        if adjoints_wanted(self):
            raise RuntimeError(f"{self.name}: the gradient of its gates (retain_grad, grad(inputs=…)) is given by "
                               f"a first-order backward only, not with create_graph=True; run a separate "
                               f"backward without create_graph for it")
        needs = self.needs
        boundaries, args = [], []
        with enable_grad():
            for a, need in zip(self.input_tensors(), needs):
                if need:
                    boundaries.append(_Boundary())
                    a = boundaries[-1](a)
                args.append(a)
            outputs = self.recompute(*args)
            try:
                found = iter(grad(list(outputs), [a for a, need in zip(args, needs) if need], list(gs),
                                  create_graph=True, allow_unused=True))
            finally:
                for b in boundaries:
                    b.sealed = False
        return tuple(next(found) if need else None for need in needs)

    def jvp_recorded(self, ts, xs) -> tuple:
        """The jvp for a differentiable walk (tangents are Tensors on the tape): the
        forward recorded again gate by gate (``recompute``) on boundaries of the inputs
        with a tangent, and the tangents pushed through that record
        (``autograd.forward.push_tangents``), so the result is itself differentiable
        (reverse-over-forward, forward-over-forward through a fused layer)."""
        some = next((t, x) for t, x in zip(ts, xs) if t is not None)
        lead = tuple(some[0].shape[:some[0].ndim - some[1].ndim])
        seeds, args = {}, []
        with enable_grad():
            start = next_seq()
            for a, t in zip(self.input_tensors(), ts):
                if t is not None:
                    boundary = _Boundary()
                    boundary.sealed = False  # an identity: reverse passes go on through it to the input
                    a = boundary(a)
                    seeds[seed_key(a)] = t
                args.append(a)
            outputs = self.recompute(*args)
        return tuple(push_tangents(list(outputs), seeds, start_seq=start, lead=lead, differentiable=True))


def expose_gates(gates):
    """Declare every tensor of a layer's gates dict (copies of its fused ops' gate
    outputs: ``return_gates=True``) to the engine (``engine.expose``), so that
    ``retain_grad()`` and ``grad(..., inputs=[…])`` give their gradient through the
    recurrence. Returns ``gates``."""
    for t in gates.values():
        if t.requires_grad:
            expose(t)
    return gates
