"""``autograd.replay.Program`` on its own, in float64.

For functions built from rg ops (elementwise chains, broadcasting, linear/matmul, a concatenate
with a constant input, reductions, shape ops, softmax and cross-entropy with a target input, the
library's LSTM/GRU cells, and the fused LSTM layer, an op with several outputs) one call is traced
at some input values and replayed at new ones; there

- ``run`` gives what an eager call gives (1e-12),
- ``vjp`` gives ``rg.grad`` (1e-10),
- ``jvp`` gives ``rg.func.jvp`` (1e-10), one direction at a time and with leading tangent axes,
- ``vjp(..., stop=)`` gives the gradient with the stopped value detached and fed back in, and
  for a multi-output op the full gradient less what the stopped output's cotangent sends back.

Then what a replay cannot repeat is refused with ``NotReplayable`` (host reads, tensors made
outside an op, arrays and tensors that are not declared inputs, hooks, nested traces), with the
op or the read named (an index array read from the inputs: refused, it is
frozen); ``independent``; the jvp sweep running only the instructions that reach the wanted
slots (``_reaching``); and the sweeps never writing the tangents they are given.
"""

import numpy as np
import pytest

import retrograd as rg
from retrograd.autograd.forward import Basis
from retrograd.autograd.replay import NotReplayable, Program


pytestmark = pytest.mark.usefixtures("float64_default")


def close(a, b, tol, msg=""):
    a, b = np.asarray(a), np.asarray(b)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol * max(1.0, np.abs(b).max(initial=0.0)), err_msg=msg)


# ---------------------------------------------------------------- the functions
def _module_case(module, state_shapes, x_shape, split_state):
    """A module called through ``functional_call`` on (x, state, *its parameters), all inputs."""
    module = module.double()
    names = [n for n, _ in module.named_parameters()]
    params = [p.data.copy() for p in module.parameters()]

    def make(rng):
        return [rng.standard_normal(x_shape)] + [rng.standard_normal(s) for s in state_shapes] + \
               [p + 0.1 * rng.standard_normal(p.shape) for p in params]

    def fn(x, *rest):
        k = len(state_shapes)
        state = tuple(rest[:k]) if k > 1 else rest[0]
        out = rg.func.functional_call(module, dict(zip(names, rest[k:])), (x, state))
        return list(split_state(out))

    return make, fn, None


def _cases():
    def ints(rng):
        return rng.integers(0, 5, 4)

    cases = {
        "elementwise": (lambda r: [r.standard_normal((3, 4))],
                        lambda x: [rg.tanh(rg.exp(0.5 * x) - rg.sin(x)) * x ** 2 + rg.sigmoid(x) / (1.0 + x * x)],
                        None),
        "broadcast": (lambda r: [r.standard_normal((3, 4)), r.standard_normal(4), r.standard_normal((3, 1))],
                      lambda a, b, c: [(a + b) * c - b / (1.5 + c * c), a * b, c - a],
                      None),
        "linear_matmul": (lambda r: [r.standard_normal((2, 5, 3)), r.standard_normal((4, 3)), r.standard_normal(4),
                                     r.standard_normal((3, 6))],
                          lambda x, W, b, M: [rg.linear(x, W, b), rg.matmul(x, M), rg.tanh(x @ M)],
                          None),
        # k: an input that needs no gradient (a constant of the replay); its tangent is not given
        "concat_constant": (lambda r: [r.standard_normal((3, 2)), r.standard_normal((3, 3)), r.standard_normal((4, 5))],
                            lambda x, k, W: [rg.tanh(rg.linear(rg.cat([x, k], -1), W))],
                            (0, 2)),
        "reductions": (lambda r: [r.standard_normal((3, 4, 2))],
                       lambda x: [x.sum(), x.mean(0), x.sum(-1, keepdims=True) * x, rg.mean(x * x, axis=(0, 2))],
                       None),
        "shapes": (lambda r: [r.standard_normal((3, 4)), r.standard_normal((2, 6))],
                   lambda x, y: [x.reshape(2, 6) * y, x.T[1:, ::2], rg.transpose(y) @ y,
                                 rg.split(x, 2, -1)[0] * rg.split(x, 2, -1)[1], rg.unbind(y, 0)[1] * 2.0],
                   None),
        # y: integer targets, read by cross_entropy as an array (bound to the declared input's slot)
        "softmax_cross_entropy": (lambda r: [r.standard_normal((4, 3)), r.standard_normal((5, 3)), ints(r)],
                                  lambda x, W, y: [rg.cross_entropy(rg.linear(x, W), y),
                                                   rg.softmax(rg.linear(x, W), -1)],
                                  (0, 1)),
    }
    rg.manual_seed(0)
    cases["lstm_cell"] = _module_case(rg.nn.LSTMCell(3, 4), [(2, 4), (2, 4)], (2, 3), lambda o: o)
    cases["gru_cell"] = _module_case(rg.nn.GRUCell(3, 4), [(2, 4)], (2, 3), lambda o: [o])
    # the fused layer: one MultiOp with the outputs and the final state
    cases["fused_lstm_multi_output"] = _module_case(rg.nn.LSTM(3, 4), [(1, 2, 4), (1, 2, 4)], (5, 2, 3),
                                                    lambda o: [o[0], o[1][0], o[1][1]])
    return cases


CASES = _cases()


class Traced:
    """A case traced at one set of values: the program, the traced tensors, which inputs are differentiated."""

    def __init__(self, name, seed=0):
        make, self.fn, diff = CASES[name]
        self.make, self.rng = make, np.random.default_rng(seed)
        values = make(self.rng)
        self.diff = tuple(range(len(values))) if diff is None else diff
        self.inputs = [rg.tensor(v, requires_grad=i in self.diff) for i, v in enumerate(values)]
        self.program, self.outputs = Program.trace(lambda: self.fn(*self.inputs), self.inputs)
        self.out_slots = [self.program.slot(o) for o in self.outputs]

    def eager(self, values):
        """fn called on the tape at ``values``: (its inputs, its outputs)."""
        ts = [rg.tensor(v, requires_grad=i in self.diff) for i, v in enumerate(values)]
        return ts, self.fn(*ts)


@pytest.mark.parametrize("name", sorted(CASES))
def test_run_vjp_and_jvp_equal_the_eager_ones_at_new_values(name):
    case = Traced(name)
    program, rng, diff = case.program, case.rng, case.diff
    for _ in range(2):  # two replays: nothing of the first leaks into the second
        values = case.make(rng)
        got = program.run(values)
        ts, outs = case.eager(values)
        for i, (g, o) in enumerate(zip(got, outs)):
            assert g.shape == o.shape
            close(g, o.data, 1e-12, f"{name}: output {i}")
        # reverse mode: Σ cotangent·output, at every differentiated input
        cots = [rng.standard_normal(o.shape) for o in outs]
        grads = program.vjp(dict(zip(case.out_slots, cots)), list(diff))
        expected = rg.grad(outs, [ts[i] for i in diff], [rg.tensor(c) for c in cots], allow_unused=True)
        for i, g, e in zip(diff, grads, expected):
            close(g, e.data, 1e-10, f"{name}: vjp at input {i}")
        # forward mode, one direction
        tans = {i: rng.standard_normal(values[i].shape) for i in diff}

        def of_diff(*moving):
            args = [rg.tensor(v) for v in values]
            for i, m in zip(diff, moving):
                args[i] = m
            return tuple(case.fn(*args))

        _, want = rg.func.jvp(of_diff, tuple(rg.tensor(values[i]) for i in diff),
                              tuple(rg.tensor(tans[i]) for i in diff))
        one = program.jvp(tans, case.out_slots)
        for i, (j, w) in enumerate(zip(one, want)):
            close(j, w.data, 1e-10, f"{name}: jvp of output {i}")
        # forward mode, three directions at once on a leading axis
        lead = {i: rng.standard_normal((3,) + values[i].shape) for i in diff}
        batched = program.jvp(lead, case.out_slots, lead=(3,))
        for k in range(3):
            single = program.jvp({i: t[k] for i, t in lead.items()}, case.out_slots)
            for i, (b, s) in enumerate(zip(batched, single)):
                assert b.shape == (3,) + outs[i].shape
                close(b[k], s, 1e-12, f"{name}: jvp of output {i}, direction {k}")


def test_a_basis_tangent_equals_its_dense_form():
    """The structured tangent of a parameter (every direction of its own) gives what its dense array gives."""
    case = Traced("linear_matmul")
    values = case.make(case.rng)
    case.program.run(values)
    W, slots = values[1], case.out_slots
    P = W.size + 2
    basis = Basis(1, P, W.shape, np.float64)
    x_tan = case.rng.standard_normal((P,) + values[0].shape)
    structured = case.program.jvp({1: basis, 0: x_tan}, slots, lead=(P,))
    dense = case.program.jvp({1: basis.dense(), 0: x_tan}, slots, lead=(P,))
    for s, d in zip(structured, dense):
        close(s, d, 1e-12)


# ---------------------------------------------------------------- stop=
def test_stop_holds_the_stopped_value_constant():
    """vjp(stop=[h]) reports h's cotangent and sends the inputs only what reaches them by other
    paths: the gradient of the function with h detached and fed back in as a constant."""
    rng = np.random.default_rng(1)

    def inner(x, W):
        return rg.tanh(rg.linear(x, W))

    def outer(h, x, W):
        return ((h * x[:, :4]).sum(-1) ** 2).sum() + (W * W).mean() + rg.exp(h).sum()

    x = rg.tensor(rng.standard_normal((3, 5)), requires_grad=True)
    W = rg.tensor(rng.standard_normal((4, 5)), requires_grad=True)
    box = {}

    def fn():
        box["h"] = h = inner(x, W)
        return [outer(h, x, W)]

    program, (loss,) = Program.trace(fn, [x, W])
    h_slot = program.slot(box["h"])
    xv, Wv = rng.standard_normal((3, 5)), rng.standard_normal((4, 5))
    program.run([xv, Wv])
    c_h, g_x, g_W = program.vjp({program.slot(loss): np.ones(())}, [h_slot, 0, 1], stop=[h_slot])
    # eager: h computed at the new values, then detached and fed back in
    xe, We = rg.tensor(xv, requires_grad=True), rg.tensor(Wv, requires_grad=True)
    h = rg.tensor(inner(rg.tensor(xv), rg.tensor(Wv)).data, requires_grad=True)
    e_h, e_x, e_W = rg.grad(outer(h, xe, We), [h, xe, We])
    close(c_h, e_h.data, 1e-10)
    close(g_x, e_x.data, 1e-10)
    close(g_W, e_W.data, 1e-10)
    # without stop: the full gradient, h's cotangent the same
    full = program.vjp({program.slot(loss): np.ones(())}, [h_slot, 0, 1])
    close(full[0], e_h.data, 1e-10)
    xe2, We2 = rg.tensor(xv, requires_grad=True), rg.tensor(Wv, requires_grad=True)
    f_x, f_W = rg.grad(outer(inner(xe2, We2), xe2, We2), [xe2, We2])
    close(full[1], f_x.data, 1e-10)
    close(full[2], f_W.data, 1e-10)


def test_stop_at_one_output_of_a_multi_output_op():
    """Stopping the fused layer's sequence output: the inputs get the full gradient less the stopped
    output's cotangent sent back from there (its other outputs still pass)."""
    case = Traced("fused_lstm_multi_output")
    program, rng = case.program, case.rng
    values = case.make(rng)
    program.run(values)
    y_slot = case.out_slots[0]
    cots = {s: rng.standard_normal(o.shape) for s, o in zip(case.out_slots, case.outputs)}
    n = len(values)
    stopped = program.vjp(cots, [y_slot] + list(range(n)), stop=[y_slot])
    np.testing.assert_array_equal(stopped[0], cots[y_slot])
    full = program.vjp(cots, list(range(n)))
    through_y = program.vjp({y_slot: cots[y_slot]}, list(range(n)))
    for i in range(n):
        close(stopped[1 + i], full[i] - through_y[i], 1e-10, f"input {i}")


# ---------------------------------------------------------------- refusals
def _x():
    return rg.tensor(np.random.default_rng(2).standard_normal((3, 4)), requires_grad=True)


@pytest.mark.parametrize("read", ["float", "item", "__bool__", "numpy", "tolist"])
def test_a_host_read_is_refused(read):
    x = _x()
    how = {"float": float, "item": lambda t: t.item(), "__bool__": bool, "numpy": lambda t: t.numpy(),
           "tolist": lambda t: t.tolist()}[read]

    def fn():
        s = (x * x).sum()
        if how(s):  # Python choosing on a value: another value may choose other ops
            s = s * 2.0
        return [s]

    with pytest.raises(NotReplayable, match=rf"on the host \({read}\)"):
        Program.trace(fn, [x])


@pytest.mark.parametrize("make, op", [
    (lambda x: x * rg.tensor(x.data * 2), "mul"),        # made outside an op from a value
    (lambda x: rg.exp(x.detach()) + x, "exp"),             # detach: a tensor outside the trace
    (lambda x: x + rg.zeros(3, 4), "add"),                 # a creation function, no op
], ids=["rg.tensor", "detach", "rg.zeros"])
def test_a_tensor_made_outside_an_op_is_refused(make, op):
    x = _x()
    with pytest.raises(NotReplayable, match=rf"^{op}: input \d .*neither a declared input nor made by an op"):
        Program.trace(lambda: [make(x)], [x])


def test_an_array_constant_not_bound_to_an_input_is_refused():
    x = _x()
    with pytest.raises(NotReplayable, match=r"^mul: input 1 is an array \(float64\[4\]\) that is not a declared"):
        Program.trace(lambda: [x * np.ones(4)], [x])
    targets = np.array([0, 1, 2])
    with pytest.raises(NotReplayable, match=r"^cross_entropy: input 1 is an array \(int64\[3\]\)"):
        Program.trace(lambda: [rg.cross_entropy(x, targets)], [x])
    # the same targets as a declared input: bound to its slot, read anew at each run
    y = rg.tensor(targets)
    program, _ = Program.trace(lambda: [rg.cross_entropy(x, y)], [x, y])
    other = np.array([3, 3, 0])
    (loss,) = program.run([x.data, other])
    close(loss, rg.cross_entropy(rg.tensor(x.data), rg.tensor(other)).data, 1e-12)


def test_a_captured_tensor_not_declared_is_refused():
    x = _x()
    W = rg.tensor(np.ones((2, 4)), requires_grad=True)
    with pytest.raises(NotReplayable, match=r"^linear: input 1 \(float64\[2, 4\]\).*captured from outside"):
        Program.trace(lambda: [rg.linear(x, W)], [x])
    Program.trace(lambda: [rg.linear(x, W)], [x, W])  # declared: fine


def test_hooks_scalar_conversions_and_nested_traces_are_refused():
    x = _x()

    def retained():
        h = rg.tanh(x)
        h.retain_grad()
        return [h.sum()]

    with pytest.raises(NotReplayable, match=r"^tanh: a hook or retain_grad"):
        Program.trace(retained, [x])
    hooked = _x()
    hooked.register_hook(lambda g: g)
    with pytest.raises(NotReplayable, match=r"^mul: input 0 has a tensor hook"):
        Program.trace(lambda: [hooked * 3.0], [hooked])
    n = rg.tensor(np.array([1, 2, 3]))
    with pytest.raises(NotReplayable, match=r"^mul: input 0 was converted"):
        Program.trace(lambda: [x.sum(1) + n * 0.5], [x, n])
    with pytest.raises(NotReplayable, match="a trace inside a trace"):
        Program.trace(lambda: Program.trace(lambda: [x * 2.0], [x])[1], [x])
    # the refusal leaves no trace behind: the next one works
    program, _ = Program.trace(lambda: [x * 2.0], [x])
    np.testing.assert_array_equal(program.run([np.ones((3, 4))])[0], 2 * np.ones((3, 4)))


def test_an_index_read_straight_from_the_inputs_is_refused():
    """x[idx] with idx a declared input: the op keeps the index as a parameter and nothing made it
    off the tape, so nothing would check the new one — refused, not frozen."""
    W = rg.tensor(np.arange(10.0).reshape(5, 2), requires_grad=True)
    i = rg.tensor(np.array([0, 1]))
    with pytest.raises(NotReplayable, match="getitem: keeps 'index.*freeze"):
        Program.trace(lambda: [W[i]], [i, W])


@pytest.mark.parametrize("pick, checked", [
    (lambda i, W, x: rg.nn.functional.embedding(i, W), True),                 # checked off the tape, every replay
    (lambda i, W, x: rg.nn.functional.embedding(i, W, padding_idx=4), True),  # its padding mask computed again
    (lambda i, W, x: W[rg.argmax(x, -1)], False),                             # an index made by argmax, made again
], ids=["embedding", "embedding_padding", "argmax_index"])
def test_an_index_made_off_the_tape_replays(pick, checked):
    W = rg.tensor(np.arange(10.0).reshape(5, 2), requires_grad=True)
    i = rg.tensor(np.array([0, 1]))
    x = rg.tensor(np.array([[0.1, 0.9, 0.0], [0.8, 0.2, 0.0]]), requires_grad=True)
    program, (out,) = Program.trace(lambda: [pick(i, W, x)], [i, W, x])
    for ids, xv in [(np.array([4, 3]), x.data[::-1].copy()), (np.array([2, 4]), x.data[:, ::-1].copy())]:
        (got,) = program.run([ids, W.data, xv])
        want = pick(rg.tensor(ids), W, rg.tensor(xv, requires_grad=True))
        np.testing.assert_array_equal(got, want.data)
        cot = np.ones(want.shape)
        (g,) = program.vjp({program.slot(out): cot}, [1])
        (g_eager,) = rg.grad([want], [W], [rg.tensor(cot)])
        np.testing.assert_array_equal(g, g_eager.data)
    if checked:
        with pytest.raises(rg.nn.functional.EmbeddingIndexError):
            program.run([np.array([1, -1]), W.data, x.data])  # the replay checks the new ids (no wrapping)


@pytest.mark.parametrize("fn", [
    lambda x: rg.where(x > 0, x, 0.1 * x),            # a comparison (off the tape), kept by where as its mask
    lambda x: (x * (x.abs() < 1)).sum(1),             # a comparison cast by the multiplication
    lambda x: x[x > -0.5] * 2.0,                      # a boolean mask index: the output's size follows the values
    lambda x: rg.where(rg.isnan(x), 0.0, x) * rg.one_hot(rg.argmax(x, -1), 4),
], ids=["where", "mask_product", "mask_index", "isnan_argmax_one_hot"])
def test_values_computed_off_the_tape_are_computed_again(fn):
    """Comparisons, isnan, argmax, one_hot make tensors without an op: the trace records them, and
    a mask an op keeps as its parameter (where's condition, a boolean index) is handed the new one."""
    x = _x()
    program, _ = Program.trace(lambda: [fn(x)], [x])
    for seed in (5, 6):
        new = np.random.default_rng(seed).standard_normal((3, 4))
        (got,) = program.run([new])
        xn = rg.tensor(new, requires_grad=True)
        want = fn(xn)
        np.testing.assert_array_equal(got, want.data)
        cot = np.random.default_rng(seed + 10).standard_normal(want.shape)
        (g,) = program.vjp({program.output_slots[0]: cot}, [0])
        (g_eager,) = rg.grad([want], [xn], [rg.tensor(cot)])
        np.testing.assert_allclose(g, g_eager.data, rtol=1e-12)


def test_a_constant_index_of_the_model_replays():
    """An index that is not a value of the call (held by the model) is a constant: replayed as it is."""
    W = rg.tensor(np.arange(10.0).reshape(5, 2), requires_grad=True)
    rows = np.array([4, 0, 4])
    program, _ = Program.trace(lambda: [W[rows] * 2.0], [W])
    new = np.arange(10.0, 20.0).reshape(5, 2)
    np.testing.assert_array_equal(program.run([new])[0], new[rows] * 2.0)


# ---------------------------------------------------------------- independent and _reaching
def test_independent():
    x = _x()
    box = {}

    def fn():
        a = rg.tanh(x)
        b = a * 2.0
        c = rg.exp(x)
        d = b + c
        box.update(a=a, b=b, c=c, d=d)
        return [d]

    program, _ = Program.trace(fn, [x])
    s = {k: program.slot(t) for k, t in box.items()}
    assert program.independent([s["a"], s["c"]])
    assert program.independent([s["b"], s["c"]])  # b comes from a, not from c
    assert not program.independent([s["a"], s["b"]])
    assert not program.independent([s["c"], s["d"]])
    assert not program.independent([0, s["c"]])  # an input and what is made from it
    assert program.independent([s["d"]])


def test_jvp_runs_only_the_instructions_that_reach_the_wanted_slots(monkeypatch):
    """Asking for an intermediate's tangent runs neither the loss's jvp nor those of the other output's
    ops (counted on their op classes); asking for the loss runs its jvp once."""
    rng = np.random.default_rng(3)
    x = rg.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    W = rg.tensor(rng.standard_normal((5, 3)), requires_grad=True)
    y = rg.tensor(rng.integers(0, 5, 4))
    box = {}

    def fn():
        box["h"] = h = rg.tanh(rg.linear(x, W))
        return [rg.cross_entropy(h, y), (h * h).sum()]

    program, (loss, other) = Program.trace(fn, [x, W, y])
    calls = []
    for ins in program.code:
        if ins.op.name in ("cross_entropy", "mul", "sum"):
            real = type(ins.op).jvp

            def counted(self, *args, _real=real):
                calls.append(self.name)
                return _real(self, *args)

            monkeypatch.setattr(type(ins.op), "jvp", counted)
    program.run([x.data, W.data, y.data])
    h_slot = program.slot(box["h"])
    tans = {0: rng.standard_normal((4, 3)), 1: rng.standard_normal((5, 3))}
    (t_h,) = program.jvp(tans, [h_slot])
    assert calls == []
    _, want = rg.func.jvp(lambda a, b: rg.tanh(rg.linear(a, b)), (rg.tensor(x.data), rg.tensor(W.data)),
                          (rg.tensor(tans[0]), rg.tensor(tans[1])))
    close(t_h, want.data, 1e-12)
    (t_loss,) = program.jvp(tans, [program.slot(loss)])
    assert calls == ["cross_entropy"]
    _, want = rg.func.jvp(lambda a, b: rg.cross_entropy(rg.tanh(rg.linear(a, b)), rg.tensor(y.data)),
                          (rg.tensor(x.data), rg.tensor(W.data)), (rg.tensor(tans[0]), rg.tensor(tans[1])))
    close(t_loss, want.data, 1e-10)
    # an output no tangent reaches
    assert program.jvp({}, [program.slot(other)]) == [None]


def test_jvp_leaves_the_callers_tangents_as_they_were():
    """The sweeps read the tangents they are given and never write them, whether seeded on an input
    or on an op's output (``forward.push_tangents``' seeds, as KF-RTRL seeds its linear map's output)."""
    rng = np.random.default_rng(4)
    x = rg.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    W = rg.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    box = {}

    def fn():
        box["h"] = h = rg.linear(x, W)
        return [rg.exp(rg.tanh(h)) * 0.5]

    program, (out,) = Program.trace(fn, [x, W])
    program.run([x.data, W.data])
    h_slot, out_slot = program.slot(box["h"]), program.slot(out)
    for seeds, lead in [({0: rng.standard_normal((2, 3))}, ()), ({h_slot: rng.standard_normal((2, 4))}, ()),
                        ({h_slot: rng.standard_normal((5, 2, 4))}, (5,))]:
        kept = {k: v.copy() for k, v in seeds.items()}
        first = program.jvp(seeds, [out_slot], lead)[0].copy()
        for k in seeds:
            np.testing.assert_array_equal(seeds[k], kept[k], err_msg=f"the tangent given for slot {k} was written")
        np.testing.assert_array_equal(program.jvp(seeds, [out_slot], lead)[0], first)


# ---------------------------------------------------------------- linear's folded scale
@pytest.mark.parametrize("lead", [(), (5,)], ids=["one_direction", "lead_axes"])
@pytest.mark.parametrize("kind", ["dense_x", "pieces_x", "dense_w_b", "basis_w_b", "pieces_and_basis"])
def test_linear_jvp_with_a_folded_scale_is_the_scaled_jvp(kind, lead):
    """Linear.jvp(..., scale=f) (and jvp_basis) is f ⊙ the jvp, for every kind of tangent a replay
    hands it: the fold a replay uses when one-row tanh/sigmoid/exp reads the linear's output alone."""
    from retrograd.autograd.forward import Basis, Pieces
    from retrograd.autograd.namespaces import ARRAY_NS
    from retrograd.ops.linalg import Linear
    r = np.random.default_rng(3)
    n_out, n_h, n_in = 4, 3, 2
    x, w, b = r.standard_normal((1, n_h + n_in)), r.standard_normal((n_out, n_h + n_in)), r.standard_normal(n_out)
    f = r.standard_normal(n_out)
    op = Linear()
    total = w.size + b.size
    lead_b = lead if kind in ("dense_x", "pieces_x", "dense_w_b") else (total,)
    tx = r.standard_normal(lead_b + (1, n_h + n_in))
    h_only = r.standard_normal(lead_b + (1, n_h))
    cases = {
        "dense_x": (tx, None, None),
        "pieces_x": (Pieces((h_only, None), (n_h, n_in), len(lead_b) + 1, lead_b + (1, n_h + n_in), np.float64),
                     None, None),
        "dense_w_b": (None, r.standard_normal(lead_b + w.shape), r.standard_normal(lead_b + b.shape)),
        "basis_w_b": (None, Basis(0, total, w.shape, np.float64), Basis(w.size, total, b.shape, np.float64)),
        "pieces_and_basis": (Pieces((h_only, None), (n_h, n_in), 2, (total, 1, n_h + n_in), np.float64),
                             Basis(0, total, w.shape, np.float64), Basis(w.size, total, b.shape, np.float64)),
    }
    ts = cases[kind]
    rule = op.jvp_basis if any(type(t) is Basis for t in ts) else op.jvp
    plain = rule(ARRAY_NS, ts, None, x, w, b)
    folded = rule(ARRAY_NS, ts, None, x, w, b, scale=f)
    np.testing.assert_allclose(folded, plain * f, rtol=1e-13, atol=1e-15)


def test_a_replayed_rtrl_step_folds_the_activation_into_the_weight():
    """The tangent sweep of linear → tanh (one row) calls no tanh jvp: the factor 1 − y² scales W."""
    from retrograd.ops.elementwise import Tanh
    x = rg.tensor(np.random.default_rng(4).standard_normal((1, 3)), requires_grad=True)
    W = rg.tensor(np.random.default_rng(5).standard_normal((4, 3)), requires_grad=True)
    program, (y,) = Program.trace(lambda: [rg.tanh(rg.linear(x, W))], [x, W])
    calls = []
    original = Tanh.jvp
    Tanh.jvp = lambda self, *a: calls.append(1) or original(self, *a)
    try:
        t = np.random.default_rng(6).standard_normal((7, 1, 3))
        (got,) = program.jvp({0: t}, [program.slot(y)], (7,))
    finally:
        Tanh.jvp = original
    assert not calls
    want = (t @ W.data.T) * (1 - y.data ** 2)
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_tangents_scaled_and_summed_in_place_equal_the_rules():
    """A leaky cell's tangent path — linear → tanh (folded), × constant, + the leak — is computed
    in the memory of tangents the sweep made, never in the caller's: the same tangents as the
    rules give, the seeds untouched, for one row and for three (no fold, a broadcast factor)."""
    for rows in (1, 3):
        r = np.random.default_rng(rows)
        a = rg.tensor(r.standard_normal((rows, 4)), requires_grad=True)
        x = rg.tensor(r.standard_normal((rows, 2)), requires_grad=True)
        W = rg.tensor(r.standard_normal((4, 6)), requires_grad=True)
        gate = rg.tensor(r.standard_normal((1, 4)))  # a held factor that broadcasts over the rows

        def step():
            h = rg.tanh(rg.linear(rg.cat([a, x], -1), W))
            return [0.5 * a + (2.0 * h) * gate]

        program, (out,) = Program.trace(step, [a, x, W, gate])
        seeds = {0: r.standard_normal((5, rows, 4)), 2: r.standard_normal((5, 4, 6))}
        kept = {k: v.copy() for k, v in seeds.items()}
        (got,) = program.jvp(dict(seeds), [program.slot(out)], (5,))
        for k in seeds:
            np.testing.assert_array_equal(seeds[k], kept[k])
        for d in range(5):
            _, (want,) = rg.func.jvp(lambda a_, W_: [0.5 * a_ + (2.0 * rg.tanh(rg.linear(rg.cat([a_, x], -1), W_)))
                                                     * gate], (a, W), (rg.tensor(kept[0][d]), rg.tensor(kept[2][d])))
            np.testing.assert_allclose(got[d], want.data, rtol=1e-12, atol=1e-14)
