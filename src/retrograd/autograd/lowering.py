"""A traced program lowered to Python source: the replay's sweeps as straight-line functions.

``autograd.replay`` runs a traced step with a loop over its instructions, calling each op's
general ``forward``/``vjp``/``jvp`` (which check their arguments and handle every case). For a
step run thousands of times — an online learner's — that per-op Python is most of the cost:
the same NumPy work by hand is about three times faster (``benchmarks/bench_online_lowered_bound.py``).
Lowering writes the program out once as Python source, the way ``torch.fx`` and ``jax.jit``
generate code from a trace:

- one function for the forward sweep, and one per question asked of the reverse sweep
  (which slots get cotangents, which are wanted, where it stops) and of the forward-mode
  sweep (which slots carry which kind of tangent, which are wanted);
- each op written by its *lowering rule* (``register``; the rules of the hottest ops are in
  ``ops.lowering_rules``): the NumPy expressions of its forward, vjp and jvp for the shapes
  and dtypes the trace saw, nothing else — checked equal to the op's own rules;
- tangents tracked symbolically while the source is written: a concatenation's tangent stays
  its pieces, a parameter seeded with its own basis (RTRL's immediate influence) is written
  on the diagonal in place, an elementwise scale after a linear map is folded into W.

A program with an op that has no rule, or a question the rules cannot answer (a tangent of a
kind they do not know), raises ``Unsupported`` while it is written: the caller keeps the
interpreter. Host (NumPy) arrays only.
"""

from __future__ import annotations

import functools
import re

from . import backend
from .forward import Basis, Pieces, _jvp
from .namespaces import ARRAY_NS

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

RULES: dict = {}  # op class → factory(op, metas) → a rule for that instruction, or None (not covered)


def register(op_class):
    """Decorator: ``factory(op, metas)`` gives the lowering rule of an instruction of ``op_class``
    (``metas``: per input position ("slot", shape, dtype) or ("const", value)), or None."""
    def deco(factory):
        RULES[op_class] = factory
        return factory
    return deco


class Unsupported(Exception):
    """The program, or one question asked of it, is not covered by the lowering rules."""


class Emitter:
    """Source lines of one generated function, the constants it reads and fresh names."""

    def __init__(self, counter):
        self.lines, self.consts, self.counter = [], {}, counter

    def fresh(self, stem: str) -> str:
        self.counter[0] += 1
        return f"{stem}_{self.counter[0]}"

    def const(self, value, stem: str = "k") -> str:
        """A fresh name bound to ``value`` in the generated function's globals (a function, an op, a dtype)."""
        name = self.fresh(stem)
        self.consts[name] = value
        return name

    def __call__(self, line: str) -> None:
        """One line of the function's body."""
        self.lines.append("    " + line)

    def build(self, name: str, params: list, namespace: dict):
        """The function ``name(*params)``, compiled from the lines, and its source."""
        source = f"def {name}({', '.join(params)}):\n" + "\n".join(self.lines or ["    pass"]) + "\n"
        scope = dict(namespace)
        scope.update(self.consts)
        exec(_compiled(source, name), scope)  # our own generated text, never a file's
        return scope[name], source


@functools.lru_cache(maxsize=512)
def _compiled(source: str, name: str):
    """``source``'s code object: the same program lowered again (the next run of the same model, the
    next batch of ``train_stateful``) is compiled once. The values it reads are bound at ``exec``."""
    return compile(source, f"<lowered {name}>", "exec")


class UnitCotangent(str):
    """The name of a seed cotangent known to hold ones (∂L/∂L, a split's seed): a rule may leave out
    the product by it (the name still holds the ones, for a rule that reads it)."""

    unit = True


class Sym:
    """A tangent while source is written: ``kind`` "array" (``name`` holds it at run time;
    ``owned``: made by this function, so a rule may write into it), "pieces" (a concatenation's
    ``parts`` along the last axis, None for a zero part, ``sizes`` theirs) or "basis" (a
    parameter seeded with its own directions: ``seed``, the ``forward.Basis`` it was given)."""

    __slots__ = ("kind", "name", "owned", "parts", "sizes", "seed")

    def __init__(self, kind, name=None, owned=False, parts=None, sizes=None, seed=None):
        self.kind, self.name, self.owned, self.parts, self.sizes, self.seed = kind, name, owned, parts, sizes, seed


class Deferred(Sym):
    """A tangent whose array is not written yet: a rule keeps it symbolic so that the ops after
    it may fold into it (a scale, a sum) instead of each making a pass over the array. Only a
    rule that says so (``takes_deferred``) is given one; ``materialize(em)`` writes it and
    returns its array Sym for every other reader. A tangent read by several ops, or asked for,
    is written at once."""

    __slots__ = ()

    def materialize(self, em) -> Sym:  # pragma: no cover - abstract
        raise NotImplementedError


def written(em, t):
    """``t`` as a rule that reads arrays takes it: a deferred tangent written out, anything else as it is."""
    return t.materialize(em) if isinstance(t, Deferred) else t


def _metas(ins, values) -> list:
    """Per input position of an instruction: ("slot", shape, dtype) of the traced value, or ("const", value)."""
    metas = []
    reads = dict(ins.reads)
    for pos, constant in enumerate(ins.template):
        if pos in reads:
            v = values[reads[pos]]
            metas.append(("slot", tuple(v.shape), v.dtype))
        else:
            metas.append(("const", constant))
    return metas


class Lowered:
    """A program written out as Python: ``run`` (the forward sweep), and ``vjp_fn`` / ``jvp_fn``,
    one function per question, written on first use. Values the sweeps read are kept in one
    list between the forward and the sweeps of the same step."""

    def __init__(self, program):
        if backend.get_backend() != "numpy":
            raise Unsupported("lowering writes NumPy code: host arrays only")
        self.program = program
        self.input_shapes = [tuple(program.values[i].shape) for i in range(program.n_inputs)]  # what it is written for
        self.counter = [0]
        self.rules = {}
        values = program.values
        for ins in program.code:
            if ins.multi or ins.rebinds:
                raise Unsupported(f"{ins.op.name}: several outputs, or a mask kept as a parameter")
            factory = RULES.get(type(ins.op))
            metas = _metas(ins, values)
            rule = factory(ins.op, metas) if factory is not None else None
            self.rules[ins] = rule if rule is not None else _OwnRules(ins, metas)
        self.kept = {}  # name → index in the shared list of the forward's values
        self.store = []
        self.run = self._write_forward()
        self._vjps, self._jvps = {}, {}
        self.sources = {"forward": self.forward_source}  # every function written, by question: to read

    # ------------------------------------------------------------ the names of values
    @staticmethod
    def value(slot: int) -> str:
        return f"v{slot}"

    def _args(self, ins) -> list:
        """The names of an instruction's inputs (None where the trace kept a constant: the rule binds it)."""
        reads = dict(ins.reads)
        return [self.value(reads[pos]) if pos in reads else None for pos in range(len(ins.template))]

    def _load(self, em, body) -> None:
        """``body``'s lines into ``em``, after a line that reads the forward's values they use."""
        used = {n for line in body.lines for n in _NAME.findall(line) if n in self.kept}
        names = sorted(used, key=lambda n: self.kept[n])
        if names:
            em(f"{', '.join(names)} = {', '.join(f'V[{self.kept[n]}]' for n in names)}")
        em.lines.extend(body.lines)
        em.consts.update(body.consts)

    # ------------------------------------------------------------ forward
    def _write_forward(self):
        program = self.program
        em = Emitter(self.counter)
        inputs = [self.value(i) for i in range(program.n_inputs)]
        em(f"{', '.join(inputs)}{',' if len(inputs) == 1 else ''} = values")
        produced = list(inputs)
        for ins in program.code:
            rule = self.rules[ins]
            extras = rule.forward(em, self._args(ins), self.value(ins.outs[0]))
            produced.append(self.value(ins.outs[0]))
            produced.extend(extras or ())
        for i, name in enumerate(produced):
            self.kept[name] = i
        em(f"V[:] = ({', '.join(produced)},)")
        outs = ", ".join("None" if s is None else self.value(s) for s in program.output_slots)
        em(f"return [{outs}]")
        self.store = [None] * len(produced)
        fn, self.forward_source = em.build("forward", ["values"], {"V": self.store})
        return fn

    # ------------------------------------------------------------ reverse
    def vjp_fn(self, seeded: tuple, wanted: tuple, stop: tuple, unit: bool = False):
        """The reverse sweep for one question, as ``Program.vjp`` answers it: a function of the
        seeded slots' cotangents (in ``seeded``'s order) returning the wanted slots' (None where
        nothing reaches: the same positions every call, listed in the function's ``missing``).
        ``unit``: the cotangents it will be given are always ones (``UnitCotangent``)."""
        key = (seeded, wanted, stop, unit)
        fn = self._vjps.get(key)
        if fn is None:
            fn = self._vjps[key] = self._write_vjp(seeded, wanted, stop, unit)
        return fn

    def _write_vjp(self, seeded, wanted, stop, unit=False):
        program = self.program
        em = Emitter(self.counter)
        body = Emitter(self.counter)
        cot = {s: UnitCotangent(f"g_in{i}") if unit else f"g_in{i}" for i, s in enumerate(seeded)}
        got = {}
        for ins, report, halt, sends, mask in program._reverse_plan(seeded, wanted, stop):
            s = ins.outs[0]
            g = cot.pop(s, None)
            if g is None:
                continue
            if report:
                got[s] = g
            if halt or not sends:
                continue
            rule = self.rules[ins]
            args = self._args(ins)
            for pos, slot in sends:
                gi = rule.vjp(body, g, pos, args, self.value(s), mask)
                if slot in cot:
                    total = body.fresh("g")
                    body(f"{total} = {cot[slot]} + {gi}")
                    cot[slot] = total
                else:
                    cot[slot] = gi
        for s in wanted:
            if s < program.n_inputs and s in cot:
                got[s] = cot[s]
        self._load(em, body)
        em(f"return [{', '.join(got.get(s, 'None') for s in wanted)}]")
        fn, self.sources[("vjp", seeded, wanted, stop) + (("unit",) if unit else ())] = em.build("vjp", [f"g_in{i}" for i in range(len(seeded))],
                                                                   {"V": self.store})
        fn.missing = tuple(i for i, s in enumerate(wanted) if s not in got)  # the results always None
        return fn

    # ------------------------------------------------------------ forward mode
    def jvp_fn(self, seeds: tuple, wanted: tuple, lead: tuple):
        """The forward-mode sweep for one question: ``seeds`` ((slot, kind) pairs, kind "array" or
        a ``Basis``'s (offset, total, shape)), tangents with leading axes ``lead``; a function of
        the seeds' values (arrays, or the Basis objects) returning the wanted slots' tangents (None
        where no seed reaches, listed in the function's ``missing``)."""
        key = (seeds, wanted, lead)
        fn = self._jvps.get(key)
        if fn is None:
            fn = self._jvps[key] = self._write_jvp(seeds, wanted, lead)
        return fn

    def _write_jvp(self, seeds, wanted, lead):
        program = self.program
        em = Emitter(self.counter)
        body = Emitter(self.counter)
        tan = {}
        for i, (slot, kind) in enumerate(seeds):
            if kind == "array":
                tan[slot] = Sym("array", f"t_in{i}")
            else:
                offset, total, shape = kind
                tan[slot] = Sym("basis", f"t_in{i}", seed=(offset, total, shape))
        seeded = {slot for slot, _ in seeds}
        code, private, folds = program._reaching(tuple(wanted))
        private = private - seeded
        folded = set()
        for ins in code:
            if ins.outs[0] in seeded or ins in folded:
                continue
            ts = [None] * len(ins.template)
            for pos, slot in ins.reads:
                ts[pos] = tan.get(slot)
            if all(t is None for t in ts):
                continue
            for pos, slot in ins.reads:  # a tangent another op also reads may not be overwritten
                if ts[pos] is not None and ts[pos].kind == "array" and slot not in private:
                    ts[pos] = Sym("array", ts[pos].name, owned=False)
            rule = self.rules[ins]
            if not getattr(rule, "takes_deferred", False):
                ts = [written(body, t) for t in ts]
            args = self._args(ins)
            after = folds.get(ins) if lead else None  # a fold only with directions, as ``Program.jvp``
            scale = None
            if after is not None and after.outs[0] not in seeded and ins.outs[0] in private:
                after_rule = self.rules[after]
                if after_rule.one_row:
                    scale = after_rule.factor(body, self._args(after), self.value(after.outs[0]))
            try:
                r = rule.jvp(body, ts, args, self.value(ins.outs[0]), lead, scale)
            except Unsupported:
                if not getattr(rule, "stateless", False):
                    raise
                # a tangent kind the rule does not take: the op's own jvp, which reads nothing the lowered
                # forward did not give it (the rule says so: ``stateless``); the scale after it is not folded
                scale = None
                ts = [written(body, t) for t in ts]
                r = _OwnRules(ins, rule.metas).jvp(body, ts, args, self.value(ins.outs[0]), lead, None)
            if r is None:
                continue
            target = after.outs[0] if scale is not None else ins.outs[0]
            if scale is not None:
                folded.add(after)
            if isinstance(r, Deferred) and target not in private:  # read by several ops, or asked for
                r = r.materialize(body)
            tan[target] = r
        out = []
        for s in wanted:
            t = written(body, tan.get(s))
            if t is None:
                out.append("None")
            elif t.kind == "array":
                out.append(t.name)
            else:
                raise Unsupported("a wanted tangent that is not an array")
        self._load(em, body)
        em(f"return [{', '.join(out)}]")
        fn, self.sources[("jvp", seeds, wanted, lead)] = em.build("jvp", [f"t_in{i}" for i in range(len(seeds))],
                                                                  {"V": self.store})
        fn.missing = tuple(i for i, name in enumerate(out) if name == "None")  # the results always None
        return fn


class _OwnRules:
    """An op without a lowering rule (or a case its rule does not cover), written as calls of its
    own ``forward``, ``vjp`` and ``jvp`` — what the interpreter calls, without the loop around them."""

    one_row = False

    def __init__(self, ins, metas):
        self.op, self.metas, self.save_ans = ins.op, metas, ins.save_ans
        self._gs = None  # (emitter, cotangent, name of the vjp's results): one call serves every input

    def _args(self, em, xs):
        return [x if x is not None else em.const(m[1], "k") for x, m in zip(xs, self.metas)]

    def forward(self, em, xs, y):
        em(f"{y} = {em.const(self.op, 'op')}.forward({', '.join(self._args(em, xs))})")
        em(f"if type({y}) is not {em.const(backend.ndarray, 'ndarray')}: {y} = {em.const(backend.xp.asarray, 'asarray')}({y})")

    def vjp(self, em, g, pos, xs, y, mask=None):
        if self._gs is None or self._gs[0] is not em or self._gs[1] != g:
            gs, op = em.fresh("gs"), em.const(self.op, "op")
            call = (f"{gs} = {op}.vjp({em.const(ARRAY_NS, 'ns')}, {g}, {y if self.save_ans else 'None'}, "
                    f"{', '.join(self._args(em, xs))})")
            if mask is not None:  # the sweep's plan: fewer inputs need a gradient here than on the tape
                em(f"{op}.needs = {mask!r}")
                em(call)
                em(f"{op}.needs = {em.const(self.op.needs, 'needs')}")
            else:
                em(call)
            self._gs = (em, g, gs)
        name, (_, shape, dtype) = em.fresh("g"), self.metas[pos]
        em(f"{name} = {self._gs[2]}[{pos}]")
        em(f"if {name}.shape != {shape!r}: {name} = {em.const(ARRAY_NS.sum_to, 'sum_to')}({name}, {shape!r})")
        em(f"if {name}.dtype != {em.const(dtype, 'dtype')}: {name} = {em.const(ARRAY_NS.astype, 'astype')}({name}, "
           f"{em.const(dtype, 'dtype')})")
        return name

    def jvp(self, em, ts, xs, y, lead, scale):
        names = []
        for t, m in zip(ts, self.metas):
            if t is None:
                names.append("None")
            elif t.kind == "pieces":  # written out: the op reads one array
                parts = [p.name if p is not None else
                         f"{em.const(backend.xp.zeros, 'zeros')}({tuple(lead) + m[1][:-1] + (k,)!r}, "
                         f"dtype={em.const(m[2], 'dtype')})" for p, k in zip(t.parts, t.sizes)]
                names.append(f"{em.const(backend.xp.concatenate, 'concatenate')}(({', '.join(parts)},), axis=-1)")
            else:  # an array, or a Basis seed (the op's ``jvp_basis`` reads it)
                names.append(t.name)
        r = em.fresh("t")
        em(f"{r} = {em.const(_jvp, 'jvp')}({em.const(self.op, 'op')}, {em.const(ARRAY_NS, 'ns')}, [{', '.join(names)}], "
           f"{y if self.save_ans else 'None'}, [{', '.join(self._args(em, xs))}], {len(lead)})")
        em(f"if type({r}) is {em.const(Pieces, 'Pieces')}: {r} = {r}.dense()")
        return Sym("array", r, owned=False)


def seed_kind(value):
    """The kind of a tangent seed a lowered jvp is written for: "array", or a Basis's description;
    None for anything else (the interpreter answers)."""
    if type(value) is backend.ndarray:
        return "array"
    if type(value) is Basis:
        return (value.offset, value.total, value.shape)
    return None


__all__ = ["Deferred", "Emitter", "Lowered", "RULES", "Sym", "Unsupported", "register", "seed_kind", "written"]
