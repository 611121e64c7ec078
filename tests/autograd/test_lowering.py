"""The lowered program (``autograd.lowering``) against the interpreter (``autograd.replay``) on the
same traced calls, float64: the forward's outputs, reverse sweeps (every input wanted, and with a
stop) and forward-mode sweeps (array tangents; a concatenation's pieces and basis-seeded
parameters with a folded scale, RTRL's step) agree to 1e-12, for every op with a lowering rule
and for ops without one (their own rules, called without the loop). A program with an op of
several outputs is not lowered; a seed of another kind is a question it refuses. Then the online
modes with the lowered step against eager ones on Marschall et al.'s network, whose every op has
a rule."""

from __future__ import annotations

import numpy as np
import pytest

import retrograd as rg
from retrograd.autograd.forward import Basis, Colored
from retrograd.autograd.lowering import Unsupported, seed_kind
from retrograd.autograd.replay import Program

pytestmark = pytest.mark.usefixtures("float64_default")
F = rg.nn.functional
R = np.random.default_rng(3)


def _leaf(shape):
    t = rg.tensor(R.standard_normal(shape))
    t.requires_grad = True
    return t


def _probabilities(shape):
    p = R.random(shape) + 0.1
    return rg.tensor(p / p.sum(-1, keepdims=True))


# (id, function of the inputs returning a list of outputs, the inputs' shapes); ("p", shape): probability targets
CASES = [
    ("tanh", lambda x: [rg.tanh(x)], [(3, 4)]),
    ("sigmoid", lambda x: [rg.sigmoid(x)], [(3, 4)]),
    ("add_sub_mul", lambda x, y: [x * y - (x + y) * 0.5, 2.0 - x], [(3, 4), (3, 4)]),
    ("concatenate", lambda x, y: [rg.cat([x, y], -1), rg.cat([x, y], 0)], [(2, 3), (2, 3)]),
    ("linear", lambda x, w, b: [F.linear(x, w, b), F.linear(x, w)], [(3, 4), (5, 4), (5,)]),
    ("cross_entropy_mean", lambda z, y: [F.cross_entropy(z, y)], [(4, 3), ("p", (4, 3))]),
    ("cross_entropy_sum", lambda z, y: [F.cross_entropy(z, y, reduction="sum")], [(4, 3), ("p", (4, 3))]),
    ("cell", lambda x, h, w, b, wo, y: [F.cross_entropy(F.linear(rg.tanh(F.linear(rg.cat([h, x], -1), w, b)), wo), y),
                                        rg.exp(h) * h], [(1, 2), (1, 3), (3, 5), (3,), (2, 3), ("p", (1, 2))]),
    ("own_rules", lambda x, y: [rg.exp(x) * rg.relu(y), rg.sum(x * y, 1)], [(2, 3), (2, 3)]),
]


def _traced(fn, shapes):
    inputs = [_probabilities(s[1]) if s[0] == "p" else _leaf(s) for s in shapes]
    program, outs = Program.trace(lambda: fn(*inputs), inputs)
    return program, inputs, outs


def _new_values(inputs):
    return [(lambda a: a / a.sum(-1, keepdims=True))(R.random(t.shape) + 0.1) if not t.requires_grad
            else R.standard_normal(t.shape) for t in inputs]


def _close(a, b):
    assert (a is None) == (b is None)
    if a is not None:
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_lowered_sweeps_equal_the_interpreter(case):
    _, fn, shapes = case
    program, inputs, outs = _traced(fn, shapes)
    lowered = program.lowering()
    assert lowered is not None
    values = _new_values(inputs)
    got = lowered.run(values)
    outputs = [program.slot(o) for o in outs]
    wanted = [program.slot(t) for t in inputs if t.requires_grad]
    cotangents = [R.standard_normal(o.shape) for o in outs]
    tangents = {program.slot(t): R.standard_normal(t.shape) for t in inputs if t.requires_grad}
    seeds = tuple((s, seed_kind(v)) for s, v in tangents.items())
    lowered_vjp = lowered.vjp_fn(tuple(outputs), tuple(wanted), ())(*cotangents)
    lowered_jvp = lowered.jvp_fn(seeds, tuple(outputs), ())(*tangents.values())
    expected = program.run(values)
    for a, b in zip(got, expected):
        _close(a, b)
    for a, b in zip(lowered_vjp, program.vjp(dict(zip(outputs, cotangents)), wanted)):
        _close(a, b)
    for a, b in zip(lowered_jvp, program.jvp(dict(tangents), outputs)):
        _close(a, b)


def test_a_sweep_that_stops_at_an_intermediate():
    """cₜ and the direct part in one sweep that stops at the new state, as the online split asks."""
    program, inputs, outs = _traced(CASES[7][1], CASES[7][2])
    loss, h_new = outs[0], next(n for n in program.code if n.op.name == "tanh").outs[0]
    lowered = program.lowering()
    values = _new_values(inputs)
    lowered.run(values)
    wanted = (h_new,) + tuple(program.slot(t) for t in inputs if t.requires_grad)
    got = lowered.vjp_fn((program.slot(loss),), wanted, (h_new,))(np.ones(()))
    program.run(values)
    for a, b in zip(got, program.vjp({program.slot(loss): np.ones(())}, list(wanted), stop=[h_new])):
        _close(a, b)


@pytest.mark.parametrize("case", [c for c in CASES if c[0].startswith("cross_entropy") or c[0] == "cell"],
                         ids=lambda c: c[0])
def test_a_sweep_seeded_with_ones_leaves_out_the_product_by_them(case):
    """The split's seed is ∂L/∂L = 1 every step: written with ``unit=True`` the sweep does not multiply
    by it (a mean keeps its 1/rows), with the numbers of the sweep that does."""
    _, fn, shapes = case
    program, inputs, outs = _traced(fn, shapes)
    lowered = program.lowering()
    lowered.run(_new_values(inputs))
    loss = (program.slot(outs[0]),)
    wanted = tuple(program.slot(t) for t in inputs if t.requires_grad)
    ones = np.ones(outs[0].shape)
    for a, b in zip(lowered.vjp_fn(loss, wanted, (), unit=True)(ones), lowered.vjp_fn(loss, wanted, ())(ones)):
        _close(a, b)
    source = lowered.sources[("vjp", loss, wanted, (), "unit")]
    assert "*= g_in0" not in source and "* g_in0" not in source


@pytest.mark.parametrize("with_influence", [False, True])
def test_rtrl_step_pieces_basis_and_folded_scale(with_influence):
    """The influence's jvp of h′ = tanh(W [h; x] + b): h carries Mₜ₋₁ (or nothing, the first step), W
    and b their own bases; φ′ folds into W and the immediate influence is written on the diagonal."""
    x, h, w, b = _leaf((1, 2)), _leaf((1, 3)), _leaf((3, 5)), _leaf((3,))
    program, outs = Program.trace(lambda: [rg.tanh(F.linear(rg.cat([h, x], -1), w, b))], [x, h, w, b])
    lowered = program.lowering()
    values = [R.standard_normal(t.shape) for t in (x, h, w, b)]
    lowered.run(values)
    P = 15 + 3
    seeds = {program.slot(w): Basis(0, P, (3, 5), np.float64), program.slot(b): Basis(15, P, (3,), np.float64)}
    if with_influence:
        seeds[program.slot(h)] = np.asfortranarray(R.standard_normal((P, 1, 3)))
    kinds = tuple((s, seed_kind(v)) for s, v in seeds.items())
    got = lowered.jvp_fn(kinds, (program.slot(outs[0]),), (P,))(*seeds.values())
    program.run(values)
    _close(got[0], program.jvp(dict(seeds), [program.slot(outs[0])], (P,))[0])


LEAKY_FORMS = {  # h′ from h, the tanh's value u and α, written in ways a user may write it
    "leak_first": (lambda h, u, a: (1 - a) * h + a * u, True),
    "operands_swapped": (lambda h, u, a: u * a + h * (1 - a), True),
    "difference": (lambda h, u, a: (1 - a) * h - a * u, False),  # a sum the rules do not fold: written, right
}


@pytest.mark.parametrize("form", sorted(LEAKY_FORMS))
@pytest.mark.parametrize("alpha", [1.0, 0.6])
@pytest.mark.parametrize("rows", [1, 2])
def test_a_leaky_cells_influence_is_one_gemm(alpha, rows, form):
    """h′ = (1 − α) h + α tanh(W [h; x] + b): for one row, the leak, the scale α and φ′ are folded
    into one matrix (1 − α)I + α·diag(φ′)·W_h times Mₜ₋₁ — one product, no pass over the P×n tangent
    for them (with several rows φ′ differs by row: the tangent is scaled after the product). Either
    way the tangent equals the interpreter's to 1e-12 (its ops in another order)."""
    x, h, w, b = _leaf((rows, 2)), _leaf((rows, 3)), _leaf((3, 5)), _leaf((3,))
    step, folds = LEAKY_FORMS[form]
    program, outs = Program.trace(lambda: [step(h, rg.tanh(F.linear(rg.cat([h, x], -1), w, b)), alpha)], [x, h, w, b])
    lowered = program.lowering()
    values = [R.standard_normal(t.shape) for t in (x, h, w, b)]
    lowered.run(values)
    P = 15 + 3
    seeds = {program.slot(w): Basis(0, P, (3, 5), np.float64), program.slot(b): Basis(15, P, (3,), np.float64),
             program.slot(h): np.asfortranarray(R.standard_normal((P, rows, 3)))}
    kinds = tuple((s, seed_kind(v)) for s, v in seeds.items())
    wanted = (program.slot(outs[0]),)
    got = lowered.jvp_fn(kinds, wanted, (P,))(*seeds.values())
    source = lowered.sources[("jvp", kinds, wanted, (P,))]
    assert source.count(" @ ") == 2  # one product, in the orientation the memory order picks (two spellings)
    if rows == 1 and folds:
        assert "t_in2 *" not in source and "t_in2.reshape" in source  # Mₜ₋₁ is read by the product alone
    program.run(values)
    _close(got[0], program.jvp(dict(seeds), list(wanted), (P,))[0])


def test_what_is_not_lowered():
    """An op of several outputs keeps the whole program on the interpreter; a seed of a kind the rules do
    not know (a coloured basis) is refused, and its question answered by the interpreter."""
    x = _leaf((2, 3))
    program, _ = Program.trace(lambda: list(rg.linalg.qr(x)), [x])
    assert program.lowering() is None
    assert seed_kind(Colored(np.zeros((3,), dtype=np.int64), 1, np.float64)) is None
    program, inputs, outs = _traced(CASES[4][1], CASES[4][2])
    w = program.slot(inputs[1])
    with pytest.raises(Unsupported):  # a basis asked for as it is: not an array
        program.lowering().jvp_fn(((w, (0, 20, (5, 4))),), (w,), (20,))


def _marschall(n=5, steps=12):
    from retrograd.demos.online import add_task
    r = np.random.default_rng(0)

    class Leaky(rg.nn.Module):  # Marschall et al.'s cell in Mujika's form, α = 1, softmax readout
        def __init__(self):
            super().__init__()
            self.W = rg.nn.Parameter(r.standard_normal((n, n + 2)) / np.sqrt(n))
            self.b = rg.nn.Parameter(r.standard_normal(n) * 0.1)
            self.W_out, self.b_out = rg.nn.Parameter(r.standard_normal((2, n)) / np.sqrt(n)), rg.nn.Parameter(
                np.zeros(2))

        def forward(self, x, a):
            a = rg.tanh(F.linear(rg.cat([a, x], -1), self.W, self.b))
            return F.linear(a, self.W_out, self.b_out), a

    xs, ys = add_task(steps, 0)
    return Leaky(), xs, ys, rg.zeros(1, n)


@pytest.mark.parametrize("mode", ["rtrl", "uoro", "rflo", "snap"])
def test_online_modes_lowered_equal_eager(mode, monkeypatch):
    make = {"rtrl": lambda c: rg.bptt.rtrl(compile=c), "uoro": lambda c: rg.bptt.uoro(seed=1, compile=c),
            "rflo": lambda c: rg.bptt.rflo(0.3, compile=c), "snap": lambda c: rg.bptt.snap(1, compile=c)}[mode]
    model, xs, ys, s0 = _marschall()
    eager = rg.bptt.gradient(model, xs, ys, F.cross_entropy, make(False), state=s0, per_step=True)
    lowered = []
    original = Program.lowering

    def seen(self):
        lowered.append(original(self))
        return lowered[-1]

    monkeypatch.setattr(Program, "lowering", seen)
    compiled = rg.bptt.gradient(model, xs, ys, F.cross_entropy, make(True), state=s0, per_step=True)
    if mode != "snap":  # SnAp's sparse influence asks its own questions, on the interpreter
        assert lowered and lowered[0] is not None and ".forward(" not in lowered[0].forward_source  # every op by its rule
    for name in eager:
        np.testing.assert_allclose(compiled[name], eager[name], rtol=1e-10, atol=1e-13, err_msg=name)


def test_values_of_other_shapes_go_back_to_the_interpreter():
    """A lowered step's source is written for the traced shapes: a step with other shapes runs on the
    interpreter, and so does the rest of the run."""
    from retrograd.bptt.online.base import _ReplayedStep

    x = _leaf((2, 3))
    program, outs = Program.trace(lambda: [rg.tanh(x), rg.sum(rg.tanh(x))], [x])
    step = _ReplayedStep(program, [], [outs[0]], outs[1])
    step.lowered = program.lowering()
    same = R.standard_normal((2, 3))
    np.testing.assert_allclose(step.run([same])[0], np.tanh(same))
    assert step.lowered is not None
    other = R.standard_normal((4, 3))
    np.testing.assert_allclose(step.run([other])[0], np.tanh(other))
    assert step.lowered is None
    assert step.version == 1  # the learners' prepared questions are stale: they prepare them again


def test_a_model_lowered_again_compiles_nothing(monkeypatch):
    """The generated functions' code objects are cached by their source: a second run of the same
    model (a new trace, the same program) writes the same source and compiles none of it."""
    from retrograd.autograd import lowering
    from retrograd.bptt.online import run as online_run

    monkeypatch.setattr(online_run, "LOWER_FROM", 0)
    model, xs, ys, s0 = _marschall()
    first = rg.bptt.gradient(model, xs, ys, F.cross_entropy, rg.bptt.rtrl(compile=True), state=s0)
    before = lowering._compiled.cache_info()
    again = rg.bptt.gradient(model, xs, ys, F.cross_entropy, rg.bptt.rtrl(compile=True), state=s0)
    after = lowering._compiled.cache_info()
    assert after.misses == before.misses and after.hits > before.hits
    for name in first:
        np.testing.assert_array_equal(again[name], first[name])


@pytest.mark.parametrize("mode", ["rtrl", "uoro"])
def test_questions_are_prepared_once_per_replayed_run(mode, monkeypatch):
    """A learner prepares what it asks of a step (``_Learner.prepare``) for each recorded step, and once
    for all the replayed ones: from then on it calls the functions that answer its questions."""
    from retrograd.bptt.online import run as online_run
    from retrograd.bptt.online.base import _Learner, _ReplayedStep

    monkeypatch.setattr(online_run, "LOWER_FROM", 0)
    prepared = []
    original = _Learner.prepare

    def counted(self, step):
        prepared.append(type(step) is _ReplayedStep)
        return original(self, step)

    monkeypatch.setattr(_Learner, "prepare", counted)
    model, xs, ys, s0 = _marschall(steps=12)
    make = {"rtrl": rg.bptt.rtrl, "uoro": lambda **kw: rg.bptt.uoro(seed=0, **kw)}[mode]
    rg.bptt.gradient(model, xs, ys, F.cross_entropy, make(compile=True), state=s0)
    assert prepared == [False, True]  # the traced step, recorded; then the eleven replayed steps
    prepared.clear()
    rg.bptt.gradient(model, xs, ys, F.cross_entropy, make(), state=s0)
    assert prepared == [False] * 12  # eager: a recorded step each time (its graph is not kept past it)


@pytest.mark.parametrize("shape", [(3, 4), (1, 300)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scalar_constants_keep_the_dtype_and_the_numbers(dtype, shape):
    """A Python scalar in the traced code (x·0.3, 2 − x, tanh's 1 − y², a mean's 1/N) is written as a
    0-d array of the dtype NumPy computes it in, and one row's softmax reductions as scalars: a float32
    program stays float32, and every sweep gives the interpreter's numbers bit for bit."""
    def fn(x, y, p):
        h = rg.tanh(x * 0.3 - (2.0 - y) * 1.5) + rg.sigmoid(y) * 3
        return [F.cross_entropy(h, p), h * 0.5]

    rng = np.random.default_rng(0)
    inputs = [rg.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True),
              rg.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True),
              rg.tensor(rng.dirichlet(np.ones(shape[1]), shape[0]).astype(dtype))]
    program, outs = Program.trace(lambda: fn(*inputs), inputs)
    lowered = program.lowering()
    values = [t.data for t in inputs]
    got = lowered.run(values)
    outputs = tuple(program.slot(o) for o in outs)
    wanted = tuple(program.slot(t) for t in inputs[:2])
    cotangents = [np.asarray(rng.standard_normal(o.shape), dtype=dtype) for o in outs]
    tangents = {program.slot(t): rng.standard_normal(t.shape).astype(dtype) for t in inputs[:2]}
    seeds = tuple((s, seed_kind(v)) for s, v in tangents.items())
    lowered_vjp = lowered.vjp_fn(outputs, wanted, ())(*cotangents)
    lowered_jvp = lowered.jvp_fn(seeds, outputs, ())(*tangents.values())
    expected = program.run(values)
    expected_vjp = program.vjp(dict(zip(outputs, cotangents)), list(wanted))
    expected_jvp = program.jvp(dict(tangents), list(outputs))
    for a, b in zip(got + lowered_vjp + lowered_jvp, expected + expected_vjp + expected_jvp):
        assert np.asarray(a).dtype == np.asarray(b).dtype == dtype
        np.testing.assert_array_equal(a, b)
