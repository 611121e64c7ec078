"""A traced function replayed: one call recorded as a straight-line program of its ops, then run
again on new input values with no tape and no Python of the caller's — forward, reverse (vjp) and
forward-mode (jvp) sweeps as loops over one fixed list.

This is what ``jax.jit`` and ``torch.jit.trace`` do with a trace, kept small: the ops' own
``forward``, ``vjp`` and ``jvp`` run (the same rules, the same numbers), and what the eager
tape does per op — wrapping outputs, recording edges and sequence numbers, walking the graph
to order it — is done once, when the program is built. An online learner runs one step of the
model thousands of times with the same graph: the replay is its fast path
(``rg.bptt``'s ``compile=True``).

What a trace cannot see, it refuses (``NotReplayable``), as ``jax.jit`` does:

- a tensor read on the host during the call (``item()``, ``bool()``, ``float()``, ``numpy()``,
  ``tolist()``): the Python that read it may choose other ops at other values;
- an op input that is a tensor made during the call outside an op (``rg.tensor(x.data * 2)``,
  ``detach()``), or one from before the call that is not a declared input, or an array that is
  no input's: its value would be frozen;
- an integer index an op keeps as its parameter, taken from a value of the call (an
  embedding's ids, ``x[idx]``): checked where it is taken, which a replay would skip;
- a tensor hook, ``retain_grad`` or an exposed intermediate inside the call.

Values computed off the tape (comparisons, ``argmax``, ``isnan``: ``op.off_tape``) are traced
and computed again, and a boolean mask an op keeps as its parameter (``where``'s condition,
``x[mask]``) is handed the new value before the op runs. What no trace can detect is the
caller's Python acting on values it reached without those (``t.data``), or side effects (a
counter, a buffer updated in place): the program replays the ops, not the Python around
them. Check a compiled run against the eager one once.

The tangent sweep also does what a tape walk cannot know to do: it skips the ops that lead
to no asked slot, folds a one-row elementwise scale into the linear map before it when the
tangents carry leading directions (``Linear.jvp(scale=)``), and scales or sums in place a tangent that it made and that
nothing else reads.
"""

from __future__ import annotations

from contextlib import contextmanager

from . import backend, engine
from .backend import xp
from .forward import PARAMETER_SEEDS, Pieces, _jvp
from .mode import _mode, enable_grad
from .op import OffTape
from .namespaces import ARRAY_NS
from .tensor import Tensor


def _root(a):
    """The array that owns ``a``'s memory (``a`` itself, or the base of its views)."""
    while a.base is not None:
        a = a.base
    return a


_TAPE_SLOTS = frozenset(("edges", "xs", "needs", "ans", "saved", "hooks", "retained", "label", "seq", "out_meta",
                         "__weakref__", "__dict__"))
_OWN_SLOTS = {}  # op class → the slots it declares beyond the tape's (its parameters: axis, index, …)


def _held_arrays_from(op, roots, own) -> list:
    """What ``op`` keeps (an attribute, or an entry it ``save``d) that shares memory with a value
    of the traced call other than its own inputs and outputs (``roots``, ``own``: ids of the
    arrays owning that memory): [(where, name, position in a tuple or None, array)]. An op
    built from such an array (``where``'s condition, ``x[mask]``, ``x[idx]``, an embedding's
    ids) keeps it as a parameter, not as an input: a replay must hand it the new value."""
    cls = type(op)
    names = _OWN_SLOTS.get(cls)
    if names is None:
        names = _OWN_SLOTS[cls] = tuple(n for c in cls.__mro__ for n in getattr(c, "__slots__", ())
                                        if n not in _TAPE_SLOTS)
    kept = [("attribute", name, getattr(op, name, None)) for name in names]
    kept += [("saved", name, v) for name, v in (getattr(op, "saved", None) or {}).items()]
    ndarray, found = backend.ndarray, []
    for where, name, value in kept:
        several = isinstance(value, (tuple, list))
        for pos, v in enumerate(value if several else (value,)):
            if type(v) is ndarray and id(_root(v)) in roots and id(_root(v)) not in own:
                found.append((where, name, pos if several else None, v))
    return found


def _rebind(op, where, name, pos, value):
    """Hand ``op`` the new value of an array it keeps (``_held_arrays_from``)."""
    if where == "saved":
        op.saved[name] = value
        return
    if pos is None:
        setattr(op, name, value)
    else:
        old = getattr(op, name)
        setattr(op, name, type(old)(value if i == pos else v for i, v in enumerate(old)))


def _in_place(ins, ts, tan, private, nlead):
    """The output tangent of ``ins`` computed in the memory of an input's tangent, or None when
    that is not safe: the tangent must be an array of its own (not a seed, not another slot's,
    read by no other op: ``private``) that already has the output's shape. Elementwise rules
    whose result is the input tangent scaled (tanh: ẋ·(1 − y²); x·c with c constant) or
    summed (a + b, both moving) then make no second influence-sized array."""
    moving = [(pos, slot, ts[pos]) for pos, slot in ins.reads if ts[pos] is not None]
    ndarray = backend.ndarray
    for pos, slot, t in moving:
        if slot not in private or type(t) is not ndarray or not t.flags.writeable:
            continue
        if ins.in_place == "scale":
            factor = ins.op.jvp_factor(ins.ans, ins.xs[0])
        elif ins.in_place == "mul" and len(moving) == 1:
            factor = ins.xs[1 - pos]  # ẋ·y with y held: the other input
        elif ins.in_place == "add" and len(moving) == 2:
            factor = next(m[2] for m in moving if m[0] != pos)  # the other tangent
            if type(factor) is not ndarray or factor.shape != t.shape:
                continue
        else:
            continue
        shape = getattr(factor, "shape", ())
        if len(shape) > t.ndim - nlead and ins.in_place != "add" or xp.broadcast_shapes(t.shape, shape) != t.shape:
            continue  # the result would be larger than this tangent (a broadcast)
        if getattr(factor, "dtype", t.dtype) != t.dtype or type(factor) is ndarray and _root(factor) is _root(t):
            continue  # a promotion (the rule's result would have another dtype), or the same memory
        if sum(_root(v) is _root(t) for v in tan.values() if type(v) is ndarray) != 1:
            continue  # shared with another slot's tangent (a rule may pass a tangent on as it is)
        if ins.in_place == "add":
            t += factor
        else:
            t *= factor
        return t
    return None


def tracing() -> bool:
    """Whether a replay is tracing the running code (a shortcut taken on values must not be)."""
    return _mode.trace is not None


class NotReplayable(RuntimeError):
    """The traced call did something a replay would not repeat (see ``autograd.replay``)."""


class _Trace:
    """What ``_mode.trace`` collects while a function is traced: every op call, with the tensors
    it was given and the arrays its forward saw, and the host reads."""

    def __init__(self):
        self.calls, self.reads = [], []
        self.made = set()  # ids of the tensors the calls made (kept alive by ``calls``)

    def call(self, op, args, xs, outs):
        if xs is None:
            xs = tuple(a.data if isinstance(a, Tensor) else a for a in args)
        self.calls.append((op, tuple(args), tuple(xs), outs))
        self.made.update(id(t) for t in outs)

    def read(self, tensor, how):
        self.reads.append((tuple(tensor.shape), how))


@contextmanager
def _tracing():
    if _mode.trace is not None:
        raise NotReplayable("a trace inside a trace: compile the outer function only")
    trace = _mode.trace = _Trace()
    try:
        yield trace
    finally:
        _mode.trace = None


class _Instruction:
    """One op of the program: where its inputs come from (slots, or constants kept as the
    forward saw them), the slots of its outputs, and the arrays of the latest run."""

    __slots__ = ("op", "template", "reads", "grads_to", "outs", "rebinds", "multi", "save_ans", "on_tape", "scales",
                 "in_place", "xs", "ans")

    def __init__(self, op, template, reads, outs, rebinds=()):
        self.op, self.template, self.reads, self.outs, self.rebinds = op, template, reads, outs, rebinds
        needs = getattr(op, "needs", None) or (False,) * len(template)
        self.grads_to = tuple((pos, slot) for pos, slot in reads if needs[pos])  # where the vjp sends
        self.multi, self.save_ans = op.multi, op.save_ans
        self.on_tape = getattr(op, "edges", None) is not None
        # a one-input elementwise op whose jvp is ẋ·f(y, x) (``jvp_factor``): the sweep may scale in place
        self.scales = (len(template) == 1 and len(reads) == 1 and op.elementwise
                       and getattr(op, "jvp_factor", None) is not None)
        # what a tangent sweep may do to an input's tangent in place: scale it, or add to it
        self.in_place = "scale" if self.scales else op.name if op.name in ("mul", "add") and len(template) == 2 else None
        self.xs = self.ans = None


class Program:
    """``fn(*inputs)`` traced once (``Program.trace``), replayed by ``run`` on new values of
    the inputs; ``vjp`` and ``jvp`` sweep the latest run (the traced call itself until then).
    Slots number every value: the inputs first, then each op's outputs in call order;
    ``slot(t)`` finds a traced tensor's."""

    def __init__(self, trace: _Trace, inputs: list, outputs: list):
        slot_of = {id(t): i for i, t in enumerate(inputs)}
        data_slot = {id(t.data): i for i, t in enumerate(inputs)}
        value_slot = dict(data_slot)  # the same for every value of the call, as it is traced
        producer = {}  # slot → the op that made it
        data_roots = {id(_root(t.data)) for t in inputs}  # the memory of every value of the call, for ``_held_arrays_from``
        self.n_inputs = len(inputs)
        code, n = [], len(inputs)
        op_slot = self.op_slot = {}  # an op (or (op, i) of a multi-output op) → its output's slot: ``seed_key``s
        for op, args, xs, outs in trace.calls:
            if getattr(op, "hooks", None) is not None or getattr(op, "retained", None) is not None:
                raise NotReplayable(f"{op.name}: a hook or retain_grad on an op inside the traced call")
            template, reads = list(xs), []
            for pos, a in enumerate(args):
                if not isinstance(a, Tensor):
                    if isinstance(a, backend.ndarray):  # an input's own array passed as a constant (a loss's target)
                        slot = data_slot.get(id(a))
                        if slot is None:
                            raise NotReplayable(
                                f"{op.name}: input {pos} is an array ({a.dtype}{list(a.shape)}) that is not a "
                                f"declared input's: a replay would freeze its value; pass it as a tensor input")
                        template[pos] = None
                        reads.append((pos, slot))
                    continue
                slot = slot_of.get(id(a))
                if slot is None:
                    raise NotReplayable(
                        f"{op.name}: input {pos} ({a.data.dtype}{list(a.shape)}) is a tensor that is neither a "
                        f"declared input nor made by an op inside the call (made with rg.tensor/detach/.data, "
                        f"or captured from outside): a replay would freeze its value")
                if xs[pos] is not a.data:  # a scalar rule converted it: the replay would pass it unconverted
                    raise NotReplayable(f"{op.name}: input {pos} was converted before the op ({a.data.dtype} "
                                        f"with a Python scalar); make the dtypes agree")
                if a._hooks:
                    raise NotReplayable(f"{op.name}: input {pos} has a tensor hook")
                template[pos] = None
                reads.append((pos, slot))
            own = {id(_root(x)) for x in xs if type(x) is backend.ndarray}
            own.update(id(_root(t.data)) for t in outs)
            rebinds = []
            for where, name, pos, v in _held_arrays_from(op, data_roots, own):
                slot = value_slot.get(id(v))
                checked = slot is not None and type(producer.get(slot)) is OffTape  # made (and checked) again
                if slot is None or v.dtype != bool and not checked:
                    # an integer index is checked where it is taken (an embedding refuses ids out of range):
                    # handed to the op as it is, a replay would skip that check — unless the index is made
                    # off the tape (checked, or computed as argmax is) and so made again; a view: refused
                    raise NotReplayable(
                        f"{op.name}: keeps {name!r} ({v.dtype}{list(v.shape)}), taken from a value of the traced "
                        f"call (an index read from the inputs or computed in the call): a replay would freeze it; "
                        f"run this model without compile")
                rebinds.append((where, name, pos, slot))
            out_slots = []
            for i, t in enumerate(outs):
                if id(t) in engine._exposed:
                    raise NotReplayable(f"{op.name}: an exposed intermediate (return_gates=True) inside the call")
                data_roots.add(id(_root(t.data)))
                value_slot[id(t.data)] = n
                producer[n] = op
                slot_of[id(t)] = n
                op_slot[(op, i) if op.multi else op] = n
                out_slots.append(n)
                n += 1
            ins = _Instruction(op, tuple(template), tuple(reads), tuple(out_slots), tuple(rebinds))
            ins.xs = list(xs)  # the traced run is the latest run until ``run`` is called
            ins.ans = (tuple(t.data for t in outs) if ins.multi else outs[0].data) if ins.save_ans else None
            code.append(ins)
        self.code, self.n_slots = code, n
        self.slot_of = slot_of
        missing = [i for i, t in enumerate(outputs) if t is not None and id(t) not in slot_of]
        if missing:
            raise NotReplayable(f"output {missing[0]} of the traced call is not made by an op inside it")
        self.output_slots = [None if t is None else slot_of[id(t)] for t in outputs]
        self.values = [None] * n
        for t in inputs:
            self.values[slot_of[id(t)]] = t.data
        for _, _, _, outs in trace.calls:
            for t in outs:
                self.values[slot_of[id(t)]] = t.data
        self._reach = {}
        self._keep = (list(inputs), [c[3] for c in trace.calls])  # traced tensors stay alive: their ids stay theirs
        self._lowered, self._lowering_tried = None, False

    @classmethod
    def trace(cls, fn, inputs: list):
        """Call ``fn()`` (eagerly, on the tape as usual) and trace it; ``inputs``: the tensors
        whose values may change between runs (everything else the call reads must come from
        its ops). Returns (program, what fn returned, its output tensors in order).
        ``fn`` returns a flat list of tensors (or None)."""
        with _tracing() as trace, enable_grad():
            outputs = fn()
        if trace.reads:
            shape, how = trace.reads[0]
            raise NotReplayable(f"the traced call read a tensor{list(shape)} on the host ({how}): the Python "
                                f"that read it may choose other ops for other values")
        return cls(trace, inputs, outputs), outputs

    def lowering(self):
        """This program written out as Python (``autograd.lowering.Lowered``: straight-line sweeps,
        the hottest ops by their lowering rules), made once; None when an op has no rule."""
        if not self._lowering_tried:
            self._lowering_tried = True
            from . import lowering  # its rules are registered by ``ops.lowering_rules`` (imported with ops)
            try:
                self._lowered = lowering.Lowered(self)
            except lowering.Unsupported:
                self._lowered = None
        return self._lowered

    def slot(self, t: Tensor) -> int:
        """The slot of a tensor of the traced call (an input, or an op's output)."""
        return self.slot_of[id(t)]

    # ------------------------------------------------------------ forward
    def run(self, values: list) -> list:
        """The forward sweep on new input ``values`` (arrays, in the inputs' order); returns the
        outputs' arrays. The ops keep what their vjp and jvp read (``op.xs``, ``op.ans``,
        ``op.save``), as on the tape, until the next run."""
        vals = self.values
        vals[:self.n_inputs] = values
        ndarray, asarray = backend.ndarray, xp.asarray
        for ins in self.code:
            xs = list(ins.template)
            for pos, slot in ins.reads:
                xs[pos] = vals[slot]
            op = ins.op
            for where, name, pos, slot in ins.rebinds:  # a mask the op keeps as a parameter: this run's
                _rebind(op, where, name, pos, vals[slot])
            out = op.forward(*xs)
            if ins.multi:
                out = tuple(o if type(o) is ndarray else asarray(o) for o in out)
                for slot, o in zip(ins.outs, out):
                    vals[slot] = o
            else:
                if type(out) is not ndarray:
                    out = asarray(out)
                vals[ins.outs[0]] = out
            ins.xs, ins.ans = xs, out if ins.save_ans else None
            if ins.on_tape:  # rules that read the tape (KF-RTRL finds its linear map there)
                op.xs, op.ans = tuple(xs), ins.ans
        return [None if s is None else vals[s] for s in self.output_slots]

    # ------------------------------------------------------------ reverse
    def vjp(self, cotangents: dict, wanted: list, stop=()) -> list:
        """Reverse sweep of the latest run: ``cotangents`` {slot: array} on any slots (the
        outputs, usually); returns Σ cotangent·∂/∂slot for each ``wanted`` slot (an input or
        an intermediate), None where nothing reaches it. ``stop``: slots the sweep does not
        pass (their cotangent is reported, not sent on: the inputs get only what reaches them
        by other paths). Only what leads to a ``wanted`` slot is computed (``_reverse_plan``)."""
        cot = dict(cotangents)
        got = {}
        sum_to, astype = ARRAY_NS.sum_to, ARRAY_NS.astype
        for ins, report, halt, sends, mask in self._reverse_plan(tuple(cotangents), tuple(wanted), tuple(stop)):
            if ins.multi:
                g = [cot.pop(s, None) for s in ins.outs]
                if all(gi is None for gi in g):
                    continue
                for s, gi, r in zip(ins.outs, g, report):
                    if r:
                        got[s] = gi
                g = [None if h else gi for gi, h in zip(g, halt)]
                if all(gi is None for gi in g) or not sends:
                    continue
                g = [xp.zeros(*meta) if gi is None else gi for gi, meta in zip(g, ins.op.out_meta)]
            else:
                s = ins.outs[0]
                g = cot.pop(s, None)
                if g is None:
                    continue
                if report:
                    got[s] = g
                if halt or not sends:
                    continue
            op = ins.op
            if mask is None:
                gs = op.vjp(ARRAY_NS, g, ins.ans, *ins.xs)
            else:  # fewer inputs need a gradient here than on the tape: the rule skips the others
                full, op.needs = op.needs, mask
                try:
                    gs = op.vjp(ARRAY_NS, g, ins.ans, *ins.xs)
                finally:
                    op.needs = full
            xs = ins.xs
            for pos, slot in sends:
                gi = gs[pos]
                if gi is None:
                    continue
                x = xs[pos]
                if gi.shape != x.shape:
                    gi = sum_to(gi, x.shape)
                if gi.dtype != x.dtype:
                    gi = astype(gi, x.dtype)
                prev = cot.get(slot)
                cot[slot] = gi if prev is None else prev + gi
        for s in wanted:
            if s < self.n_inputs:
                got[s] = cot.get(s)
        return [got.get(s) for s in wanted]

    def _reverse_plan(self, seeded: tuple, wanted: tuple, stop: tuple) -> list:
        """The reverse sweep of one question, worked out once: the instructions a cotangent from
        a ``seeded`` slot can reach, last first, each as (instruction, report, halt, sends,
        needs mask) — whether its output is asked for, whether the sweep stops there (per output
        of a multi-output op), the (input position, slot) pairs whose cotangent leads to an asked
        slot, and the ``needs`` its vjp runs with when that is fewer inputs than on the tape
        (None: the tape's)."""
        key = ("vjp", seeded, wanted, stop)
        plan = self._reach.get(key)
        if plan is None:
            want, halt_at = set(wanted), set(stop)
            leads = set(wanted)  # slots whose cotangent reaches an asked slot: inputs come before outputs
            sends_of = {}
            for ins in self.code:
                sends = tuple((pos, slot) for pos, slot in ins.grads_to if slot in leads)
                sends_of[ins] = sends
                leads.update(s for s in ins.outs if s in want or sends and s not in halt_at)
            carried, plan = set(seeded), []
            for ins in reversed(self.code):
                if not any(s in carried for s in ins.outs):
                    continue
                sends = sends_of[ins]
                moving = [s not in halt_at for s in ins.outs]
                if sends and any(moving):
                    carried.update(slot for _, slot in sends)
                needs = getattr(ins.op, "needs", None)
                sent = {pos for pos, _ in sends}
                mask = tuple(bool(n) and pos in sent for pos, n in enumerate(needs)) if needs is not None else None
                if mask == tuple(bool(n) for n in needs or ()):
                    mask = None
                if ins.multi:
                    plan.append((ins, [s in want for s in ins.outs], [not m for m in moving], sends, mask))
                else:
                    plan.append((ins, ins.outs[0] in want, not moving[0], sends, mask))
            self._reach[key] = plan
        return plan

    def independent(self, slots) -> bool:
        """Whether no slot of ``slots`` is computed from another of them."""
        key = ("independent",) + tuple(slots)
        known = self._reach.get(key)
        if known is None:
            made_from = {s: {s} for s in range(self.n_slots)}
            for ins in self.code:
                sources = set().union(*(made_from[slot] for _, slot in ins.reads)) if ins.reads else set()
                for s in ins.outs:
                    made_from[s] = sources | {s}
            known = self._reach[key] = all(not (made_from[a] & set(slots) - {a}) for a in slots)
        return known

    # ------------------------------------------------------------ forward mode
    def _reaching(self, wanted: tuple) -> list:
        """The instructions whose outputs reach a ``wanted`` slot, in order (worked out once per
        set): a jvp sweep skips the rest (the loss, when only the state's tangent is asked)."""
        plan = self._reach.get(wanted)
        if plan is None:
            live, code = set(wanted), []
            for ins in reversed(self.code):
                if any(s in live for s in ins.outs):
                    code.append(ins)
                    live.update(slot for _, slot in ins.reads)
            uses = {}
            for ins in code:
                for _, slot in ins.reads:
                    uses[slot] = uses.get(slot, 0) + 1
            # a tangent the sweep made, read by one op only and not asked for, may be overwritten by that op
            private = {s for ins in code for s in ins.outs if uses.get(s) == 1 and s not in wanted}
            # an op that folds a following elementwise scale into its jvp (linear, ``takes_scale``),
            # when that scale is the only reader of its output: {the op's instruction: the scale's}
            reader = {slot: ins for ins in code for _, slot in ins.reads}
            folds = {}
            for ins in code:
                after = reader.get(ins.outs[0])
                if (getattr(ins.op, "takes_scale", False) and not ins.multi and ins.outs[0] in private
                        and after is not None and after.scales):
                    folds[ins] = after
            plan = self._reach[wanted] = (code[::-1], private, folds)
        return plan

    def jvp(self, tangents: dict, wanted: list, lead: tuple = ()) -> list:
        """Forward-mode sweep of the latest run: ``tangents`` {slot: array or ``Basis``} (with
        leading axes ``lead``); returns the tangent of each ``wanted`` slot, None where none
        reaches it."""
        tan = dict(tangents)
        nlead = len(lead)
        code, private, folds = self._reaching(tuple(wanted))
        if tangents:  # a given tangent is the caller's: never scaled in place, and never recomputed
            private = private - tangents.keys()
        ndarray = backend.ndarray
        folded = set()
        for ins in code:
            if ins.outs[0] in tangents and not ins.multi or ins in folded:
                continue
            ts = [None] * len(ins.template)
            moving = False
            for pos, slot in ins.reads:
                t = tan.get(slot)
                if t is not None:
                    ts[pos] = t
                    moving = True
            if not moving:
                continue
            # a fold scales W (n_out × n_in) instead of the tangent: worth it for tangents with directions
            # (RTRL's P), not for one direction of a few rows (UORO's Jₜũ), which is scaled after the product
            after = folds.get(ins) if nlead else None
            if after is not None and after.outs[0] not in tangents and ins.outs[0] in private:
                factor = after.op.jvp_factor(after.ans, after.xs[0])
                if type(factor) is ndarray and factor.size == factor.shape[-1]:  # one row: the factor folds into W
                    structured = (getattr(ins.op, "jvp_basis", None) if any(type(t) in PARAMETER_SEEDS for t in ts)
                                  else None)
                    rule = structured if structured is not None else ins.op.jvp
                    tan[after.outs[0]] = rule(ARRAY_NS, tuple(ts), ins.ans, *ins.xs, scale=factor.reshape(-1))
                    folded.add(after)
                    continue
            if ins.in_place is not None:
                r = _in_place(ins, ts, tan, private, nlead)
                if r is not None:
                    tan[ins.outs[0]] = r
                    continue
            r = _jvp(ins.op, ARRAY_NS, ts, ins.ans, ins.xs, nlead)
            if ins.multi:
                for slot, ri in zip(ins.outs, r):
                    if ri is not None and slot not in tangents:
                        tan[slot] = ri
            elif r is not None:
                tan[ins.outs[0]] = r
        result = []
        for s in wanted:
            r = tan.get(s)
            result.append(r.dense() if type(r) is Pieces else r)
        return result


__all__ = ["NotReplayable", "Program"]
