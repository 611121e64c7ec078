"""What every online mode shares: the mode's type, one recorded step, the parameters laid out along
one axis of directions, and the learner's ``step`` — the estimate formula of ``rg.bptt.online``."""

from __future__ import annotations

import math

from ...autograd import engine
from ...autograd import backend
from ...autograd.backend import xp
from ...autograd.forward import Basis, push_tangents, seed_key, zeros_tangent
from ...autograd.lowering import Unsupported, seed_kind
from ...autograd.tensor import _wrap

EPSILON = 1e-7  # UORO's and KF-RTRL's guard: a zero Jacobian gives a finite normaliser, not ∞ or NaN


class OnlineMode:
    """An online credit-assignment mode (``rtrl``, ``uoro``, ``kf_rtrl``, ``snap``, ``rflo``):
    an influence carried forward with the state, and an estimate of each step's
    gradient at that step. ``rg.bptt.gradient`` sums the estimates (parameters held
    fixed); ``rg.bptt.train`` updates after every step (or every ``update_every``).

    ``compile=True``: the model's first step (with a state) is recorded and traced, and
    every later step replays the traced ops on the step's values (``autograd.replay``):
    the eager numbers to rounding, without the tape's per-op work. A step the trace
    cannot repeat — a host read, a tensor made outside an op, an integer index read
    straight from the step's input, a hook — raises ``NotReplayable``; ``mask=`` is refused."""

    name = "online"
    exact = False
    stochastic = False
    last_plan = None
    compile = False

    def __init__(self, *, compile: bool = False):
        if not isinstance(compile, bool):
            raise TypeError(f"{self.name}(compile=...): True or False, got {compile!r}")
        self.compile = compile

    def _args(self) -> str:
        """The constructor's arguments as ``repr`` shows them."""
        return ""

    def __repr__(self):
        args = [a for a in (self._args(), "compile=True" if self.compile else "") if a]
        return f"{self.name}({', '.join(args)})"

    def learner(self, names, params, recurrent):
        """A fresh per-run state of the algorithm."""
        raise NotImplementedError


# ---------------------------------------------------------------- one recorded step
class _Step:
    """One step of the model recorded from fresh state leaves: what every mode reads —
    the state parts before (the leaves) and after, the step's loss (None: no real row)
    and the sequence number before it was recorded (where its graph begins).

    A learner asks a step the same questions every step (push these seeds, split, pull);
    ``pusher``, ``splitter`` and ``puller`` prepare a question once and give the function
    that answers it — for a replayed step, once per run."""

    replayed = False  # run by a traced Program (the same ops every step), not recorded on the tape
    splits_in_one_sweep = False  # on the tape ``split`` is two sweeps and a difference
    version = 0  # a replayed step's questions are prepared anew when it changes (``_ReplayedStep``)

    def __init__(self, prev, new, loss, start):
        self.prev, self.new, self.loss, self.start = prev, new, loss, start
        self.prev_keys = [seed_key(leaf) for leaf in prev]  # the state leaves as tangent seeds name them

    def push(self, seeds: dict, lead: tuple) -> list:
        """The tangents of the new state parts given ``seeds`` ({``seed_key``: tangent}; a zero
        array where none reaches)."""
        out = push_tangents(self.new, seeds, start_seq=self.start, lead=lead)
        return [zeros_tangent(n, lead) if t is None else t for t, n in zip(out, self.new)]

    def grads(self, outputs, inputs, cotangents=None) -> list:
        """∂(Σ outputs·cotangents)/∂inputs as arrays, zeros for inputs not reached."""
        return _grads(outputs, inputs, cotangents)

    def pull(self, cotangents: list, inputs) -> list:
        """∂(Σ new state·``cotangents``)/∂inputs (``cotangents``: arrays, one per state part)."""
        return self.grads(self.new, inputs, [_wrap(c) for c in cotangents])

    def split(self, inputs) -> tuple:
        """(cₜ, the direct part): cₜ = ∂Lₜ/∂sₜ per state part, and ∂Lₜ/∂inputs − cₜ·∂sₜ/∂inputs,
        what reaches the loss from ``inputs`` other than through the new state (arrays here; a
        replayed step's direct part is None where nothing reaches)."""
        g = self.grads([self.loss], list(self.new) + inputs)
        c, g = g[:len(self.new)], g[len(self.new):]
        split = self.grads(self.new, inputs, [_wrap(ci) for ci in c])
        return c, [gi - si for gi, si in zip(g, split)]

    # ------------------------------------------------------------ questions, prepared
    def pusher(self, seeds: dict, lead: tuple):
        """``push`` prepared: a function of the seeds' tangents, in ``seeds``' order, giving
        the new state's tangents (``seeds``: keys and values of the kinds it will be given)."""
        keys = tuple(seeds)
        return lambda *tangents: _Step.push(self, dict(zip(keys, tangents)), lead)

    def splitter(self, inputs):
        """``split`` prepared: a function of nothing giving (cₜ, the direct part) for ``inputs``."""
        return lambda: _Step.split(self, inputs)  # the tape's two sweeps (a replayed step's too, when asked)

    def puller(self, inputs):
        """``pull`` prepared: a function of the new state's cotangents (one per part) giving
        ∂(Σ new state·cotangents)/∂``inputs``."""
        return lambda *cotangents: _Step.pull(self, cotangents, inputs)


class _ReplayedStep(_Step):
    """A step run by a traced ``Program`` instead of the tape: the same tensors as the traced
    step (their ``data`` the latest run's), the same questions answered by the program's sweeps.
    One object serves every step of a run (the tensors are the same; only their values change),
    so each question is prepared once: the lowered program's function for it, or the interpreter's
    sweep with the slots looked up."""

    replayed = True
    lowered = None  # the program written out as Python (``autograd.lowering``), once a replay runs it
    values = None  # this step's input values (a fall-back to the interpreter runs its forward again)

    def __init__(self, program, prev, new, loss):
        super().__init__(prev, new, loss, None)
        self.program = program
        self.new_slots = [program.slot(n) for n in new]
        self.loss_slot = program.slot(loss)
        self._key_slots = {}  # seed_key → slot
        self._questions = {}  # question → the function that answers it (``_prepared``)
        self._ones = None
        self._input_slots = {}  # ids of an inputs list → their slots
        # one reverse sweep that stops at the new state gives cₜ: not when a state part is computed
        # from another within the step, or passed through as it came in (a sweep cannot stop at an input)
        self.splits_in_one_sweep = (program.independent(self.new_slots)
                                    and min(self.new_slots, default=0) >= program.n_inputs)
        # the state parts' slots are distinct and on the tape: their cotangents go to the sweep as they are
        self.pulls_directly = len(set(self.new_slots)) == len(self.new_slots) and all(n.requires_grad for n in new)

    def _slot(self, key):
        """The program's slot of a ``seed_key``: a leaf's id, an op, or (op, output index)."""
        slot = self._key_slots.get(key)
        if slot is None:
            program = self.program
            slot = self._key_slots[key] = program.slot_of[key] if type(key) is int else program.op_slot[key]
        return slot

    def _slots(self, inputs) -> tuple:
        """The slots of ``inputs``, worked out once per set of inputs."""
        key = tuple(map(id, inputs))
        slots = self._input_slots.get(key)
        if slots is None:
            slots = self._input_slots[key] = tuple(self.program.slot(i) for i in inputs)
        return slots

    def run(self, values) -> list:
        """The forward sweep on this step's input ``values``: the lowered program's when there is one
        and the values have the traced shapes (its source is written for them), else the interpreter's."""
        self.values = values
        lowered = self.lowered
        if lowered is not None:
            if [v.shape for v in values] == lowered.input_shapes:
                return lowered.run(values)
            self._leave_lowering()
        return self.program.run(values)

    def _leave_lowering(self) -> None:
        """The rest of the run on the interpreter: the questions prepared from the lowered program
        are dropped, and ``version`` tells the learners holding them to prepare theirs again."""
        self.lowered = None
        self._questions = {}
        self.version += 1

    def _prepared(self, key, lowered, interpreted):
        """The function that answers a question, made once: ``lowered()`` writes it from the lowered
        program when there is one, ``interpreted()`` makes the interpreter's. A question the lowered
        program cannot answer sends the rest of the run to the interpreter, which first runs this
        step's forward (the lowered one kept its values apart)."""
        fn = self._questions.get(key)
        if fn is None:
            if self.lowered is not None:
                try:
                    fn = lowered()
                except Unsupported:
                    self._leave_lowering()
                    self.program.run(self.values)
            if fn is None:
                fn = interpreted()
            self._questions[key] = fn
        return fn

    def pusher(self, seeds, lead):
        keys, lead, new = tuple(seeds), tuple(lead), self.new

        def lowered():
            kinds = tuple((self._slot(k), seed_kind(v)) for k, v in seeds.items())
            if any(kind is None for _, kind in kinds):
                raise Unsupported("a seed of another kind")
            return self.lowered.jvp_fn(kinds, tuple(self.new_slots), lead)

        def interpreted():
            program, slots, wanted = self.program, [self._slot(k) for k in keys], self.new_slots
            return lambda *tangents: program.jvp(dict(zip(slots, tangents)), wanted, lead)

        def zeros(i):  # the tangent of a state part no seed reaches
            return zeros_tangent(new[i], lead)

        # the question, as the seeds pose it: which tensors they seed, and with what kind of tangent
        key = ("push", keys, tuple(map(type, seeds.values())), lead)
        return self._prepared(key, lambda: _filled(lowered(), zeros), lambda: _filled(interpreted(), zeros))

    def push(self, seeds, lead):
        return self.pusher(seeds, lead)(*seeds.values())

    def _vjp_question(self, seeded: tuple, wanted: tuple, stop: tuple = (), unit: bool = False):
        """``Program.vjp`` for one question, prepared: a function of the seeded slots' cotangents
        (``unit``: always ones, which the lowered sweep need not multiply by)."""
        program = self.program

        def interpreted():
            return lambda *cotangents: program.vjp(dict(zip(seeded, cotangents)), wanted, stop)

        return self._prepared(("vjp", seeded, wanted, stop, unit),
                              lambda: self.lowered.vjp_fn(seeded, wanted, stop, unit), interpreted)

    def splitter(self, inputs):
        """One reverse sweep that stops at the new state: the cotangent arriving there is cₜ,
        what arrives at ``inputs`` the direct part (the same numbers as two sweeps and a
        difference, when no state part is computed from another within the step)."""
        if not self.splits_in_one_sweep:
            return super().splitter(inputs)
        new, k = self.new, len(self.new_slots)
        ones = self._ones
        if ones is None:  # ∂L/∂L, the same every step: made once, read-only (a sweep never writes its seed)
            ones = self._ones = xp.ones_like(self.loss.data)
            ones.flags.writeable = False
        stop = tuple(self.new_slots)
        sweep = self._vjp_question((self.loss_slot,), stop + self._slots(inputs), stop, unit=True)
        if any(i < k for i in getattr(sweep, "missing", range(k))):  # cₜ may lack a part: zeros there

            def split():
                gs = sweep(ones)
                return _or_zeros(gs[:k], new), gs[k:]
        else:

            def split():  # cₜ as arrays; the direct part None where nothing reaches (the learner skips zeros)
                gs = sweep(ones)
                return gs[:k], gs[k:]
        split.never = {i - k for i in getattr(sweep, "missing", ()) if i >= k}  # direct parts always None
        return split

    def split(self, inputs):
        return self.splitter(inputs)()

    def puller(self, inputs):
        if not self.pulls_directly:
            return super().puller(inputs)
        sweep = self._vjp_question(tuple(self.new_slots), self._slots(inputs))
        return _filled(sweep, lambda i: xp.zeros(inputs[i].shape, dtype=inputs[i].data.dtype))

    def pull(self, cotangents, inputs):
        return self.puller(inputs)(*cotangents)

    def grads(self, outputs, inputs, cotangents=None):
        program, cots = self.program, {}
        for i, o in enumerate(outputs):
            if o is None or not o.requires_grad:
                continue
            c = xp.ones_like(o.data) if cotangents is None else cotangents[i].data
            s = program.slot(o)
            cots[s] = c if s not in cots else cots[s] + c
        if not cots:
            return _or_zeros([None] * len(inputs), inputs)
        return _or_zeros(self._vjp_question(tuple(cots), self._slots(inputs))(*cots.values()), inputs)


def _filled(fn, zeros):
    """``fn`` with each None among its results replaced by ``zeros(i)`` (the i-th result's zeros):
    ``fn`` itself when it says (``missing``, a lowered function's) that none of them is ever None."""
    if getattr(fn, "missing", None) == ():
        return fn

    def filled(*args):
        return [zeros(i) if r is None else r for i, r in enumerate(fn(*args))]
    return filled


def _grads(outputs, inputs, cotangents=None):
    """∂(Σ outputs·cotangents)/∂inputs, zeros for inputs not reached (the graph is kept)."""
    live = [(o, c) for o, c in zip(outputs, cotangents or [None] * len(outputs)) if o is not None and o.requires_grad]
    if not live:
        return [xp.zeros(i.shape, dtype=i.data.dtype) for i in inputs]
    gs = engine.grad([o for o, _ in live], inputs, None if cotangents is None else [c for _, c in live],
                     retain_graph=True, allow_unused=True)
    return _or_zeros([None if g is None else g.data for g in gs], inputs)


def _or_zeros(gradients, inputs) -> list:
    """Each gradient, or zeros of its input's shape and dtype where none reached it (None)."""
    return [xp.zeros(i.shape, dtype=i.data.dtype) if g is None else g for g, i in zip(gradients, inputs)]


def unit_seeds(leaves) -> tuple:
    """(seeds, n): every unit of the state parts ``leaves`` ((rows, units) each) seeded with
    its own direction, n directions in all — pushed through a step, the state Jacobian
    per row, Jₜ[b, k, j] = tangent j of unit k on row b."""
    n = sum(leaf.shape[-1] for leaf in leaves)
    seeds, off = {}, 0
    for leaf in leaves:
        k = leaf.shape[-1]
        eye = xp.zeros((n,) + tuple(leaf.shape), dtype=leaf.data.dtype)
        eye[off + xp.arange(k), :, xp.arange(k)] = 1
        seeds[seed_key(leaf)] = eye
        off += k
    return seeds, n


class _Layout:
    """The recurrent parameters laid out along one axis of P directions."""

    def __init__(self, params, recurrent):
        self.params = params
        self.recurrent = recurrent  # indices into params
        self.offsets, off = [], 0
        for i in recurrent:
            self.offsets.append(off)
            off += params[i].data.size
        self.P = off
        self._own_seeds = self._pieces = None

    def basis_seeds(self, params=None) -> dict:
        """Every recurrent parameter seeded with its own directions (``forward.Basis``); ``params``:
        other tensors standing in for them, in the same order (SnAp's probes at random values)."""
        if params is None:  # the parameters' own: the same descriptions every step, a fresh dict
            if self._own_seeds is None:
                self._own_seeds = self.basis_seeds(self.params)
            return dict(self._own_seeds)
        return {seed_key(params[i]): Basis(o, self.P, params[i].shape, params[i].data.dtype)
                for i, o in zip(self.recurrent, self.offsets)}

    def split(self, flat) -> dict:
        """A (P,) vector as {param index: array of its shape} (views of ``flat``)."""
        pieces = self._pieces
        if pieces is None:  # the parameters' places along the axis, worked out once
            pieces = self._pieces = [(i, o, o + self.params[i].data.size, tuple(self.params[i].shape))
                                     for i, o in zip(self.recurrent, self.offsets)]
        return {i: flat[start:stop].reshape(shape) for i, start, stop, shape in pieces}


def _contract(cs, tangents):
    """Σ over state parts of ⟨c, M⟩ over the state axes: (P,) from c (part shape) and M (P, *part)."""
    total, dot = None, xp.dot  # ``dot``: matmul's BLAS call for these 1-D/2-D operands, with less overhead
    for c, m in zip(cs, tangents):
        if m.ndim > 2 and m.flags.f_contiguous and not m.flags.c_contiguous:  # directions fastest: no copy
            v = dot(c.T.reshape(-1), m.T.reshape(-1, m.shape[0]))
        else:
            v = dot(m.reshape(m.shape[0], -1), c.reshape(-1))
        total = v if total is None else total + v
    return total


class _Learner:
    """The per-run state of an online mode (its influence); ``step`` gives one step's estimate."""

    needs_split = True  # needs cₜ, cₜIₜ and cₜJₜ (the approximations; exact RTRL does not)
    # a compiled run's step may be lowered to Python source (``autograd.lowering``): the learners whose
    # questions it answers (arrays and parameter bases as seeds) say so; the others keep the interpreter
    lowers = False
    # exact RTRL takes cₜ where it costs less than the whole reverse sweep (a replayed step: one sweep
    # that stops at the new state, through the readout only): cₜ·Mₜ, the same gradient as ∂Lₜ/∂sₜ₋₁·Mₜ₋₁
    split_when_cheaper = False
    uses_prev_share = True  # adds (∂Lₜ/∂sₜ₋₁ − cₜJₜ)·M̃ₜ₋₁ (RFLO, as Murray's, does not)

    def __init__(self, mode, params, recurrent):
        self.mode = mode
        self.layout = _Layout(params, recurrent)
        self.params = params
        self.asked = None  # the questions prepared for the latest step (``prepare``)

    def reset_rows(self, rows) -> None:
        """Rows where a new sequence starts: their influence starts at zero."""

    def influence_share(self, step: _Step, c, g_prev, with_share: bool) -> dict:
        """Move the influence from step t − 1 to t; with ``with_share``, its part of the
        estimate as {param index: array} (the formula of ``rg.bptt.online``'s module docstring).
        The questions it asks of ``step`` are ``self.asked``'s (``prepare``)."""
        raise NotImplementedError

    def prepare(self, step: _Step) -> "_Questions":
        """The questions this learner asks of ``step`` every step, prepared (``_Step.pusher``, …):
        here the estimate's direct part; a learner adds its influence's questions."""
        asked = _Questions(step)
        inputs = list(self.params) + list(step.prev)  # parameters, then the state leaves
        if self.needs_split or self.split_when_cheaper and step.splits_in_one_sweep:
            asked.split = step.splitter(inputs)
        else:
            loss = [step.loss]
            asked.split = lambda: (None, step.grads(loss, inputs))
        # the share of sₜ₋₁'s direct part, unless the split says it never reaches sₜ₋₁ (a lowered sweep knows)
        never, n = getattr(asked.split, "never", ()), len(self.params)
        asked.prev_share = self.uses_prev_share and any(n + i not in never for i in range(len(step.prev)))
        return asked

    def _ask(self, step: _Step) -> "_Questions":
        """The questions prepared for ``step``: a replayed step's once per run (and again when it
        leaves its lowered program), a recorded step's every step."""
        asked = self.asked
        if asked is None or asked.step is not step or asked.version != step.version:
            while True:  # a question the lowered program cannot answer moves the step to the interpreter:
                version = step.version  # the ones prepared before it are prepared again
                asked = self.prepare(step)
                if step.version == version:
                    break
            asked.version = version
            self.asked = asked
        return asked

    def step(self, step: _Step) -> list:
        """Every parameter's estimate for this step's loss (arrays, params' shapes)."""
        params, asked = self.params, self.asked
        if asked is None or asked.step is not step or asked.version != step.version:
            asked = self._ask(step)
        if step.loss is None:  # no real row at this step: no loss, the influence still moves
            self.advance(step)
            return [xp.zeros(p.shape, dtype=p.data.dtype) for p in params]
        c, direct = asked.split()
        out, g_prev = direct[:len(params)], direct[len(params):]
        if not asked.prev_share or all(g is None for g in g_prev):
            g_prev = None  # no loss path from sₜ₋₁ but through sₜ (a replayed split tells): no share of it
        else:
            g_prev = _or_zeros(g_prev, step.prev)
        share = self.influence_share(step, c, g_prev, with_share=True)
        for i, v in share.items():  # a direct part of None (nothing reached): the share alone, no sum with zeros
            out[i] = v if out[i] is None else out[i] + v
        if not step.replayed:
            self.asked = None  # a recorded step's questions hold its graph: not kept past it
        return _or_zeros(out, params)

    def advance(self, step: _Step) -> None:
        """Move the influence one step without a loss."""
        self._ask(step)
        self.influence_share(step, None, None, with_share=False)
        if not step.replayed:
            self.asked = None


class _Questions:
    """The functions that answer a learner's questions of one step (``_Learner.prepare``)."""

    version = 0

    def __init__(self, step):
        self.step = step


_SIGNS = backend.host.asarray([-1.0, 1.0])


class SignStream:
    """Each step's Rademacher signs ±1, one array per shape of ``shapes``: the draws of
    ``rng.choice([-1.0, 1.0], shape)`` called for each shape in turn, step after step (the
    reference implementations' draws), drawn for many steps at once — one call to the
    generator per block instead of one per shape and step, a fraction of the cost.

    The same numbers: ``choice`` draws bounded integers from the generator's stream of
    32-bit halves (a half left over by one call is the next call's first), so one draw of
    the block's count gives the per-step calls' draws, in order — as long as nothing else
    draws from ``rng`` after the first signs (a learner's own generator, its initial draws
    made before). The arrays are read-only views of the block."""

    BLOCK = 4096  # signs drawn at once (at least one step's)

    def __init__(self, rng, shapes):
        self.rng, self.shapes = rng, [tuple(s) for s in shapes]
        self.sizes = [math.prod(s) for s in self.shapes]
        self.steps = max(1, self.BLOCK // max(1, sum(self.sizes)))  # steps per block
        self.views, self.next_row = [], self.steps

    def _draw(self) -> None:
        block = _SIGNS[self.rng.integers(0, 2, size=self.steps * sum(self.sizes))]
        block.flags.writeable = False  # the learner reads them (a sweep's cotangent); nothing writes them
        rows, self.views, start = block.reshape(self.steps, -1), [], 0
        for shape, size in zip(self.shapes, self.sizes):
            view = rows[:, start:start + size].reshape((self.steps,) + shape)
            view.flags.writeable = False  # (a copy, when the reshape of a slice needs one)
            self.views.append(view)
            start += size
        self.next_row = 0

    def next(self) -> list:
        """This step's signs, one array per shape (host arrays)."""
        if self.next_row == self.steps:
            self._draw()
        i = self.next_row
        self.next_row = i + 1
        return [v[i] for v in self.views]


def _joined(parts, lead=0):
    """State parts (rows on axis −2 after ``lead`` axes) as one (…, rows, units) array: the part
    itself when there is one of two axes, else the parts' row views side by side."""
    if len(parts) == 1 and parts[0].ndim - lead == 2:
        return parts[0]
    return xp.concatenate([_row_view(p, lead) for p in parts], axis=lead + 1)


def _rows(part) -> int:
    return part.shape[-2] if part.ndim >= 2 else 1


def _row_view(a, lead=0):
    """An array of a state part's shape (after ``lead`` axes) as (rows, units): rows on axis −2."""
    if a.ndim - lead == 1:
        return a.reshape(a.shape[:lead] + (1, -1))
    if a.ndim - lead == 2:  # (rows, units) already: the common state part
        return a
    return xp.moveaxis(a, -2, lead).reshape(a.shape[:lead] + (a.shape[-2], -1))


def _scale_rows(a, per_row):
    """a (part shape, rows on axis −2) with each row scaled."""
    if a.ndim == 1:
        return a * per_row[0]
    shape = [1] * a.ndim
    shape[-2] = -1
    return a * per_row.reshape(shape)
