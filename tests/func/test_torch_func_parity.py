"""``rg.func`` against ``torch.func`` on the cases PyTorch's own functorch tests exercise
(test/functorch/test_eager_transforms.py): each refusal is raised with torch's exception type
and carries torch's wording (the phrase torch's tests match), and the grad-mode corners
(``no_grad`` around or inside a transform) give torch's values and ``requires_grad``."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
import torch.func as TF

import retrograd as rg
from retrograd import func as F

X, Y = np.array([0.5, -1.0, 2.0]), np.array([0.3, 0.2, -0.7])


def pair(*arrays):
    """The arrays as (retrograd tensors, torch tensors), float64."""
    return [rg.tensor(np.asarray(a, dtype=np.float64)) for a in arrays], [torch.tensor(a, dtype=torch.float64)
                                                                          for a in arrays]


def same_refusal(ours, theirs, phrase):
    """torch raises with ``phrase`` (a regex, as in torch's tests); ours raises an instance of
    torch's exception type whose message has the phrase too."""
    with pytest.raises(Exception) as t_info:
        theirs()
    assert re.search(phrase, str(t_info.value)), (phrase, str(t_info.value))
    with pytest.raises(type(t_info.value), match=phrase):
        ours()


(x, y), (tx, ty) = pair(X, Y)
(s,), (ts,) = pair(np.array(0.7))


# ---------------------------------------------------------------- argnums
ARGNUMS = [(-3, "but only"), (2, "but only 2 positional inputs"), ([0], "int or Tuple"), (("0",), "must be int"),
           ((0, 0), "must be unique"), ((0, -2), "must be unique"), (((0, 1),), "must be int"), ((), "must be non-empty"),
           (0.0, "must be int or Tuple")]


@pytest.mark.parametrize("transform", ["grad", "jacrev", "jacfwd"])
@pytest.mark.parametrize("argnums,phrase", ARGNUMS, ids=[str(a) for a, _ in ARGNUMS])
def test_bad_argnums_are_refused_with_torchs_words(transform, argnums, phrase):
    same_refusal(lambda: getattr(F, transform)(lambda a, b: a * b, argnums=argnums)(s, s),
                 lambda: getattr(TF, transform)(lambda a, b: a * b, argnums=argnums)(ts, ts), phrase)


# ---------------------------------------------------------------- has_aux, outputs
def _call(name, lib_f, f, a):
    """``name`` of f at a (vjp, jvp, grad, jacrev, jacfwd), with has_aux=True."""
    if name == "vjp":
        return lib_f.vjp(f, a, has_aux=True)
    if name == "jvp":
        return lib_f.jvp(f, (a,), (a,), has_aux=True)
    return getattr(lib_f, name)(f, has_aux=True)(a)


@pytest.mark.parametrize("name", ["grad", "vjp", "jvp", "jacrev", "jacfwd"])
def test_has_aux_refusals_are_torchs(name):
    head = {"grad": r"grad_and_value\(f\)\(\*args\)", "vjp": r"vjp\(f, \*primals\)",
            "jvp": r"jvp\(f, primals, tangents\)"}.get(name, r"(vjp|jvp).+")
    out = (lambda a: a.sum()) if name == "grad" else (lambda a: a)
    for bad in (lambda a: [out(a), a], lambda a: (out(a), a + 2, a + 3)):
        same_refusal(lambda: _call(name, F, bad, x), lambda: _call(name, TF, bad, tx),
                     head + ": output of function f should be a tuple")
    for aux in (1, 1.0, "abc", None):
        for bad in (lambda a: (out(a), aux), lambda a: (out(a), [a, aux])):
            same_refusal(lambda: _call(name, F, bad, x), lambda: _call(name, TF, bad, tx),
                         "Expected tensors, got unsupported type")


@pytest.mark.parametrize("name", ["vjp", "jvp", "jacrev", "jacfwd"])
def test_empty_and_non_tensor_outputs_are_refused_with_torchs_words(name):
    def call(lib_f, f, a):
        if name == "vjp":
            return lib_f.vjp(f, a)
        if name == "jvp":
            return lib_f.jvp(f, (a,), (a,))
        return getattr(lib_f, name)(f)(a)
    head = {"vjp": r"vjp\(f, \*primals\)", "jvp": r"jvp\(f, primals, tangents\)"}.get(name, r"(vjp|jvp).+")
    for output in (None, ()):
        same_refusal(lambda: call(F, lambda _: output, x), lambda: call(TF, lambda _: output, tx),
                     head + ": Expected f to be a function that has non-empty output")
    for output in (1, True, 12.2, "abc"):
        same_refusal(lambda: call(F, lambda _: output, x), lambda: call(TF, lambda _: output, tx),
                     head + r": expected f\(\*primals\) to return only tensors")


@pytest.mark.parametrize("name", ["vjp", "jacrev"])
def test_reverse_mode_refuses_a_bool_output_as_torch(name):
    def call(lib_f, a):
        return lib_f.vjp(lambda t: t > 0, a) if name == "vjp" else lib_f.jacrev(lambda t: t > 0)(a)
    same_refusal(lambda: call(F, x), lambda: call(TF, tx), "All outputs of f must be floating-point or complex")


def test_grad_refuses_non_scalar_and_non_tensor_outputs_with_torchs_words():
    for f in (lambda a: a * 2, lambda a: (a * 2).sum().reshape(1)):
        same_refusal(lambda: F.grad(f)(x), lambda: TF.grad(f)(tx),
                     r"grad_and_value\(f\)\(\*args\): Expected f\(\*args\) to return a scalar Tensor, got tensor with "
                     r"1 dims")
    for f in (lambda a: 1.0, lambda a: (a.sum(), a.sum())):
        same_refusal(lambda: F.grad(f)(x), lambda: TF.grad(f)(tx),
                     r"grad_and_value\(f\)\(\*args\): Expected f\(\*args\) to return a Tensor")


def test_non_tensor_arguments_are_refused_with_torchs_words():
    same_refusal(lambda: F.grad(lambda a: a)(1.0), lambda: TF.grad(lambda a: a)(1.0),
                 "Thing passed to transform API must be Tensor")
    same_refusal(lambda: F.vjp(lambda a: a, 1.0), lambda: TF.vjp(lambda a: a, 1.0),
                 "Thing passed to transform API must be Tensor")
    ints = (rg.tensor(np.array([1, 2])), torch.tensor([1, 2]))
    same_refusal(lambda: F.grad(lambda a: a.sum())(ints[0]), lambda: TF.grad(lambda a: a.sum())(ints[1]),
                 "only Tensors of floating point dtype can require gradients")


def test_complex_inputs_to_jacobians_are_refused_with_torchs_words():
    z, tz = rg.tensor(np.array([1 + 1j])), torch.tensor([1 + 1j])
    for name in ("jacrev", "jacfwd"):
        same_refusal(lambda: getattr(F, name)(lambda a: a * 2)(z), lambda: getattr(TF, name)(lambda a: a * 2)(tz),
                     f"{name}: Expected all inputs")


# ---------------------------------------------------------------- jvp's and vjp_fn's arguments
def test_jvp_argument_refusals_are_torchs():
    one, tone = s, ts
    cases = [((lambda L, o: (o, o)), "Expected primals to be a tuple"),
             ((lambda L, o: (((o, o), o), (o, o))), "same python structure"),
             ((lambda L, o: ((o,), (o, o))), "same python structure"),
             ((lambda L, o: ((o,), o)), "same python structure"),
             ((lambda L, o: ((o,), [o])), "same python structure"),
             ((lambda L, o: (((o, o), 1), ((o, o), o))), "only contain Tensors"),
             ((lambda L, o: (((o, o), 1), ((1, o), o))), "only contain Tensors"),
             ((lambda L, o: ((o,), (1.0,))), "only contain Tensors"),
             ((lambda L, o: (((),), ((),))), "at least one Tensor"),
             ((lambda L, o: ((), ())), "at least one Tensor")]
    for make, phrase in cases:
        same_refusal(lambda: F.jvp(lambda a, *r: a, *make(rg, one)),
                     lambda: TF.jvp(lambda a, *r: a, *make(torch, tone)), phrase)
    same_refusal(lambda: F.jvp(rg.sin, (x,), (s,)), lambda: TF.jvp(torch.sin, (tx,), (ts,)),
                 "Trying to set a forward gradient that has a different size")
    same_refusal(lambda: F.jvp(lambda a: (a, y), (x,), (x,), strict=True),
                 lambda: TF.jvp(lambda a: (a, ty), (tx,), (tx,), strict=True),
                 "The output of f is independent of the inputs. This is not allowed with strict=True")


def test_vjp_fn_refusals_are_torchs():
    _, fn = F.vjp(lambda a: (a, (a, a)), s)
    _, tfn = TF.vjp(lambda a: (a, (a, a)), ts)
    same_refusal(lambda: fn(((s, (s, s)),)), lambda: tfn(((ts, (ts, ts)),)), "Expected pytree structure")
    _, fn = F.vjp(lambda a: a * 2, x)
    _, tfn = TF.vjp(lambda a: a * 2, tx)
    same_refusal(lambda: fn(s), lambda: tfn(ts), r"Mismatch in shape: grad_output\[0\] has a shape of")
    same_refusal(lambda: fn(1.0), lambda: tfn(1.0), "gradients can be either Tensors or None, but got float")


def test_jacrev_chunk_size_and_jacfwd_randomness_refusals_are_torchs():
    for size in (0, -2):
        same_refusal(lambda: F.jacrev(rg.sin, chunk_size=size)(x), lambda: TF.jacrev(torch.sin, chunk_size=size)(tx),
                     "jacrev: `chunk_size` should be greater than 0.")
    same_refusal(lambda: F.jacfwd(rg.sin, randomness="foo")(x), lambda: TF.jacfwd(torch.sin, randomness="foo")(tx),
                 "Only allowed values for randomness are 'error', 'different', or 'same'")


def test_linearize_jvp_fn_refusals_are_torchs():
    _, fn = F.linearize(rg.sin, x)
    _, tfn = TF.linearize(torch.sin, tx)
    same_refusal(lambda: fn((x, x)), lambda: tfn((tx, tx)), "to have the same argspec as the primals")
    same_refusal(lambda: fn(x.reshape(1, 3)), lambda: tfn(tx.reshape(1, 3)),
                 "in flattened pytree doesn't match the shape")
    same_refusal(lambda: fn(x.float()), lambda: tfn(tx.float()), "in flattened pytree doesn't match the dtype")


# ---------------------------------------------------------------- grad mode around and inside transforms
def _leaf(lib, a):
    return rg.tensor(np.array(a), requires_grad=True) if lib is rg else torch.tensor(a, dtype=torch.float64,
                                                                                       requires_grad=True)


def _autograd(lib, out, inp):
    return (rg.autograd.grad(out, inp) if lib is rg else torch.autograd.grad(out, inp))[0]


def _no_grad_cases(lib, fn):
    """torch's test_no_grad_nested_simple / _value / _complicated, with ``lib`` and its func."""
    def nested(x):
        with lib.no_grad():
            shift = fn.grad(lambda x: 0.25 * x ** 4)(x)
        return x ** 3 - shift

    def value(x):
        with lib.no_grad():
            _, v = fn.grad_and_value(lambda x: x ** 3)(x)
        return x ** 3 - v

    def shifted(x):
        with lib.no_grad():
            shift = x ** 3
        return x ** 3 - shift

    def complicated(x):
        r1 = fn.grad(shifted)(x)
        with lib.no_grad():
            shift = fn.grad(shifted)(x)
        return r1 - shift
    return nested, value, complicated


def test_a_grad_under_no_grad_inside_a_grad_leaves_the_outer_graph_whole_as_torch():
    """The inner grad once freed the graph it shared with the outer one ("backward a second time")."""
    for ours, theirs in zip(_no_grad_cases(rg, F), _no_grad_cases(torch, TF)):
        a, ta = _leaf(rg, 1.5), _leaf(torch, 1.5)
        g, tg = F.grad(ours)(a), TF.grad(theirs)(ta)
        np.testing.assert_allclose(g.data, tg.detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(_autograd(rg, g, a).data, _autograd(torch, tg, ta).numpy(), rtol=1e-12)


def test_vjp_fn_records_by_the_grad_mode_it_is_called_in_as_torch():
    for lib, fn in ((rg, F), (torch, TF)):
        one = rg.tensor(1.0, dtype=rg.float64) if lib is rg else torch.tensor(1.0, dtype=torch.float64)
        a = _leaf(lib, 3.14)
        out, vjp_fn = fn.vjp(lambda t: t ** 2, a)
        with lib.no_grad():
            (g,) = vjp_fn(one)
        assert out.requires_grad and not g.requires_grad, lib
        with lib.no_grad():
            out, vjp_fn = fn.vjp(lambda t: t ** 2, a)
        (g,) = vjp_fn(one)
        assert not out.requires_grad and g.requires_grad, lib  # torch's "a little weird" case
        np.testing.assert_allclose(float(_autograd(lib, g, a)), 2.0)


# ---------------------------------------------------------------- functional_call
def _tied_pair():
    """The same two-layer model with a tied weight and a buffer, in retrograd and in torch."""
    def build(lib):
        class Tied(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.l1, self.l2 = lib.nn.Linear(3, 3), lib.nn.Linear(3, 3)
                self.l2.weight = self.l1.weight
                self.register_buffer("buf", lib.ones(3, dtype=lib.float64))

            def forward(self, a):
                return self.l2(self.l1(a)) + self.buf
        return Tied().double()
    ours, theirs = build(rg), build(torch)
    ours.load_state_dict({k: rg.tensor(v.detach().numpy().copy()) for k, v in theirs.state_dict().items()})
    return ours, theirs


def _state(lib, m, drop=(), add=()):
    d = {**dict(m.named_parameters()), **dict(m.named_buffers())}
    for k in drop:
        d.pop(k)
    for k in add:
        d[k] = lib.zeros(3, 3, dtype=lib.float64)
    return d


def test_functional_call_refusals_are_torchs():
    m, tm = _tied_pair()
    a, ta = x.reshape(1, 3), tx.reshape(1, 3)
    cases = [(dict(drop=["buf"]), {}, "Missing key\\(s\\): 'buf'."),
             (dict(add=["foo"]), {}, "Unexpected key\\(s\\): 'foo'."),
             (dict(), dict(tie_weights=False), "Error\\(s\\) in reparametrizing for Tied:\n\tMissing key\\(s\\): "
                                               "'l2.weight'.")]
    for state, kw, phrase in cases:
        same_refusal(lambda: F.functional_call(m, _state(rg, m, **state), (a,), strict=True, **kw),
                     lambda: TF.functional_call(tm, _state(torch, tm, **state), (ta,), strict=True, **kw), phrase)
    same_refusal(lambda: F.functional_call(m, ({"buf": y}, {"buf": y}), (a,)),
                 lambda: TF.functional_call(tm, ({"buf": ty}, {"buf": ty}), (ta,)),
                 re.escape("['buf'] appeared in multiple dictionaries; behavior of functional call is ambiguous"))
    same_refusal(lambda: F.functional_call(m, {"foo.bar": y}, (a,)), lambda: TF.functional_call(tm, {"foo.bar": ty}, (ta,)),
                 "Tied has no attribute `foo`")
    same_refusal(lambda: F.functional_call(m, _state(rg, m, add=["l2.weight"]), (a,)),
                 lambda: TF.functional_call(tm, _state(torch, tm, add=["l2.weight"]), (ta,)),
                 "functional_call got multiple values for keys")


def test_functional_call_takes_none_for_a_parameter_as_torch():
    m, tm = _tied_pair()
    out = F.functional_call(m, {"l1.bias": None, "buf": y}, x.reshape(1, 3))
    t_out = TF.functional_call(tm, {"l1.bias": None, "buf": ty}, tx.reshape(1, 3))
    np.testing.assert_allclose(out.data, t_out.detach().numpy(), rtol=1e-12)
    assert m.l1.bias is not None and isinstance(m.l1.bias, rg.Tensor)  # restored


@pytest.mark.parametrize("case", ["compare", "argmax", "cast", "sort indices", "with a float output"])
def test_an_integer_or_bool_outputs_tangent_is_zeros_of_its_dtype_as_torch(case):
    fns = {"compare": (lambda x: x > 0, lambda x: x > 0),
           "argmax": (lambda x: x.argmax(), lambda x: x.argmax()),
           "cast": (lambda x: x.to(rg.int64), lambda x: x.to(torch.int64)),
           "sort indices": (lambda x: rg.sort(x)[1], lambda x: torch.sort(x)[1]),
           "with a float output": (lambda x: (x * 2, x.argmax()), lambda x: (x * 2, x.argmax()))}
    ours_f, theirs_f = fns[case]
    x, t = np.array([0.5, -1.0, 2.0]), np.array([1.0, 2.0, -3.0])
    _, ours = rg.func.jvp(ours_f, (rg.tensor(x),), (rg.tensor(t),))
    _, theirs = torch.func.jvp(theirs_f, (torch.tensor(x),), (torch.tensor(t),))
    ours, theirs = (ours, theirs) if isinstance(ours, tuple) else ((ours,), (theirs,))
    for a, b in zip(ours, theirs):
        assert str(a.dtype) == str(b.dtype).replace("torch.", "")
        np.testing.assert_array_equal(a.data, b.numpy())
    jac = rg.func.jacfwd(lambda v: v.to(rg.int64))(rg.tensor(x))
    assert jac.dtype == rg.int64 and jac.shape == (3, 3) and not jac.data.any()
