"""PyTorch's own forward-AD tests (test/test_autograd.py, TestAutogradForwardMode, and the parts of
TestAutogradDeviceType/TestAutogradForwardModeBatchedGrad that need no vmap internals), ported: each
case runs the same function through torch.autograd.forward_ad (the live oracle) and
rg.autograd.forward_ad and compares values, tangents, dtypes, shapes and the exception type (and the
message fragment where torch's is stable). Cases torch checks through internals (storage numel,
conj/neg bits, version counters, C++ weak references, __torch_dispatch__) are left out; where
retrograd differs by design, the case asserts the documented difference (README, "Differences from
PyTorch")."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import retrograd as rg
import retrograd.autograd.forward_ad as rfw
from conftest import requires_torch

torch = pytest.importorskip("torch")
tfw = torch.autograd.forward_ad

pytestmark = [pytest.mark.usefixtures("float64_default"), requires_torch]
R = np.random.default_rng(11)


class Lib:
    """One library's side of a case: tensor construction and its forward_ad module."""

    def __init__(self, name):
        self.name, self.is_torch = name, name == "torch"
        self.fw = tfw if self.is_torch else rfw

    def t(self, a, dtype=None, requires_grad=False):
        a = np.array(a, dtype=dtype or np.float64)
        if self.is_torch:
            return torch.tensor(a, requires_grad=requires_grad)
        return rg.tensor(a, requires_grad=requires_grad)


LIBS = [Lib("torch"), Lib("rg")]


def arr(t):
    """A tensor's values as a NumPy array (None stays None)."""
    if t is None:
        return None
    return t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t.data)


def same(a, b, tol=1e-12):
    """Equal values, shapes and dtypes (torch vs retrograd, or within one library)."""
    a, b = arr(a), arr(b)
    assert (a is None) == (b is None), (a, b)
    if a is not None:
        assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, a.dtype, b.shape, b.dtype)
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def both(fn):
    """``fn(lib)`` for torch and retrograd; their results (nested tuples of tensors, None, bools,
    numbers) must agree."""
    results = [fn(lib) for lib in LIBS]

    def compare(a, b):
        if isinstance(a, (tuple, list)):
            assert len(a) == len(b)
            for x, y in zip(a, b):
                compare(x, y)
        elif isinstance(a, (torch.Tensor, rg.Tensor)) or a is None:
            same(a, b)
        else:
            assert a == b, (a, b)
    compare(*results)
    return results


def raises_both(fn, exc, match=None):
    """``fn(lib)`` raises ``exc`` (matching ``match``) in both libraries."""
    for lib in LIBS:
        with pytest.raises(exc, match=match):
            fn(lib)


FOO, BAR, BAZ = R.random(2), R.random(2), R.random(2)


@pytest.fixture(autouse=True)
def _no_level_left():
    """As torch's tearDown: a failing case leaves no level entered for the next."""
    yield
    while tfw._current_level >= 0:
        tfw.exit_dual_level()
    if rg.autograd.mode._mode.dual is not None:
        rfw.exit_dual_level()


def test_unpack_dual_at_a_level_named_outside_any():
    """retrograd: (a view, None), as torch's answers in a fresh process; torch's depends on the
    levels entered before (after one it refuses: "Invalid level given to _fw_primal"), so only
    retrograd's answer is held here."""
    x = rg.tensor(FOO)
    p, t = rfw.unpack_dual(x, level=0)
    assert t is None
    same(p, x)


# ------------------------------------------------------------------ levels
def test_default_level():
    def case(lib):
        foo, bar = lib.t(FOO), lib.t(BAR)
        with lib.fw.dual_level():
            baz = lib.fw.make_dual(foo, bar)
            p, t = lib.fw.unpack_dual(baz)
            assert t is bar  # the tangent is handed back as it was given
        p2, t2 = lib.fw.unpack_dual(baz)
        return p, t, p2, t2
    both(case)


def test_nested_level():
    for lib in LIBS:
        with lib.fw.dual_level() as level:
            assert level == 0
        with lib.fw.dual_level():
            with pytest.raises(RuntimeError, match="Nested forward mode AD is not supported at the moment"):
                lib.fw.enter_dual_level()


def test_enter_exit_by_hand_and_level_arguments():
    for lib in LIBS:
        with pytest.raises(RuntimeError):  # no level to exit
            lib.fw.exit_dual_level()
        x = lib.t(FOO)
        with pytest.raises(RuntimeError):  # a level that does not exist
            lib.fw.make_dual(x, lib.t(BAR), level=0)
        assert lib.fw.unpack_dual(x).primal is x  # outside a level: the tensor itself
        level = lib.fw.enter_dual_level()
        d = lib.fw.make_dual(x, lib.t(BAR), level=level)
        same(lib.fw.unpack_dual(d, level=level).tangent, lib.t(BAR))
        with pytest.raises(RuntimeError):
            lib.fw.make_dual(x, lib.t(BAR), level=level + 1)
        with pytest.raises(RuntimeError, match="nvalid level"):  # a dual tensor at a level not active
            lib.fw.unpack_dual(d, level=level + 1)
        p, t = lib.fw.unpack_dual(x, level=level + 1)  # a plain tensor there: no tangent
        assert t is None
        same(p, x)
        p, t = lib.fw.unpack_dual(d, level=-1)  # a negative level: the tensor itself
        assert p is d and t is None
        with pytest.raises(RuntimeError, match="not the last one"):
            lib.fw.exit_dual_level(level=level + 1)
        lib.fw.exit_dual_level(level=level)
        assert lib.fw.unpack_dual(d).tangent is None


def test_decorator():
    def case(lib):
        @lib.fw.dual_level()
        def tangent_of(x, v):
            return lib.fw.unpack_dual(lib.fw.make_dual(x, v).sin()).tangent
        return tangent_of(lib.t(FOO), lib.t(BAR))
    both(case)


# ------------------------------------------------------------------ make_dual checks
def test_size_check():
    for lib in LIBS:
        foo, tangent = lib.t(FOO), lib.t(R.random(3))
        with lib.fw.dual_level():
            with pytest.raises(RuntimeError, match="Trying to set a forward gradient that has a different size"):
                lib.fw.make_dual(foo, tangent)
            lib.fw.make_dual(foo, tangent[1:])
            for bad in (lib.t([1.0]), lib.t(1.0)):  # no broadcasting, not even a number
                with pytest.raises(RuntimeError, match=r"Tensor is of size \[2\] while the given forward gradient"):
                    lib.fw.make_dual(foo, bad)


def test_make_dual_forbid_integral_dtype():
    for lib in LIBS:
        primal_f, primal_l = lib.t(np.ones((2, 2))), lib.t(np.ones((2, 2)), np.int64)
        tangent_f, tangent_l = lib.t(np.ones((2, 2))), lib.t(np.ones((2, 2)), np.int64)
        with lib.fw.dual_level():
            with pytest.raises(ValueError, match="Expected tangent to be floating point or complex"):
                lib.fw.make_dual(primal_f, tangent_l)
            with pytest.raises(ValueError, match="Expected primal to be floating point or complex"):
                lib.fw.make_dual(primal_l, tangent_l)
            with pytest.raises(ValueError, match="Expected primal to be floating point or complex"):
                lib.fw.make_dual(primal_l, tangent_f)
            with pytest.raises(ValueError, match="Expected tangent to be floating point or complex, but got"):
                lib.fw.make_dual(primal_f, lib.t(np.ones((2, 2)), bool))
            # the dtype check comes before the size check
            with pytest.raises(ValueError, match="Expected tangent"):
                lib.fw.make_dual(primal_f, lib.t(np.ones(3), np.int64))


def test_make_dual_of_what_is_not_a_tensor():
    """torch asks the argument for ``is_floating_point()`` (AttributeError); retrograd's error is
    both that and a TypeError. unpack_dual refuses one inside a level (TypeError) and hands it back
    outside."""
    for lib in LIBS:
        with lib.fw.dual_level():
            with pytest.raises(AttributeError):
                lib.fw.make_dual([1.0, 2.0], lib.t(BAR))
            with pytest.raises(AttributeError):
                lib.fw.make_dual(lib.t(FOO), [1.0, 2.0])
            with pytest.raises(TypeError, match="must be Tensor, not list"):
                lib.fw.unpack_dual([1.0])
        assert tuple(lib.fw.unpack_dual([1.0])) == ([1.0], None)
    with rfw.dual_level(), pytest.raises(TypeError):
        rfw.make_dual([1.0, 2.0], rg.tensor(BAR))


def test_set_fw_grad_having_own_fw_grad_at_same_level():
    for lib in LIBS:
        with lib.fw.dual_level():
            dual = lib.fw.make_dual(lib.t(FOO), lib.t(BAR))
            with pytest.raises(RuntimeError, match="has a forward gradient at the same level"):
                lib.fw.make_dual(lib.t(BAZ), dual)
            with pytest.raises(RuntimeError, match="already has a forward gradient at the same level"):
                lib.fw.make_dual(dual, lib.t(BAZ))


def test_tangent_of_another_dtype():
    """torch keeps a tangent of another float dtype as it is (the ops' tangents then mostly take
    the primal's); retrograd converts it to the primal's dtype at once (README, the tangent lives
    in its primal's space). The values agree."""
    with tfw.dual_level():
        td = tfw.make_dual(torch.tensor(FOO), torch.tensor(BAR, dtype=torch.float32))
        tt, tt2 = tfw.unpack_dual(td).tangent, tfw.unpack_dual(td * 2).tangent
    with rfw.dual_level():
        rd = rfw.make_dual(rg.tensor(FOO), rg.tensor(BAR.astype(np.float32)))
        rt, rt2 = rfw.unpack_dual(rd).tangent, rfw.unpack_dual(rd * 2).tangent
    assert tt.dtype == torch.float32 and rt.dtype == rg.float64  # the documented difference
    np.testing.assert_allclose(arr(rt), arr(tt), rtol=1e-7)
    same(rt2, tt2, tol=1e-7)  # the op's tangent: float64 in both


def test_tangent_of_another_layout():
    """A transposed (non-contiguous) tangent for a contiguous primal: both copy it (torch: not the
    same tensor back), with the same values; an in-place op on the dual leaves it unchanged."""
    base = R.random((3, 3))
    for lib in LIBS:
        tangent = lib.t(base).t()
        with lib.fw.dual_level():
            dual = lib.fw.make_dual(lib.t(R.random((3, 3))), tangent)
            t = lib.fw.unpack_dual(dual).tangent
            assert t is not tangent
            same(t, lib.t(base.T))
            dual *= 2
            same(tangent, lib.t(base.T))
            same(lib.fw.unpack_dual(dual).tangent, lib.t(2 * base.T))


# ------------------------------------------------------------------ packing and unpacking
def test_basic_packing_unpacking():
    for lib in LIBS:
        foo, bar = lib.t(FOO), lib.t(BAR)
        with lib.fw.dual_level():
            baz = lib.fw.make_dual(foo, bar)
            unpacked = lib.fw.unpack_dual(baz)
            assert type(unpacked).__name__ == "UnpackedDualTensor" and unpacked._fields == ("primal", "tangent")
            baz_primal, baz_tangent = unpacked
            same(baz_primal, foo)
            assert baz_tangent is bar
            assert baz_primal is not lib.fw.unpack_dual(baz).primal  # a new view each call
            same(baz_primal, lib.fw.unpack_dual(baz).primal)
            assert baz_tangent is lib.fw.unpack_dual(baz).tangent
            foo_primal, foo_tangent = lib.fw.unpack_dual(foo)
            same(foo_primal, foo)
            assert foo_tangent is None
            assert lib.fw.unpack_dual(baz_primal).tangent is None  # the primal carries no tangent


def test_advanced_packing_unpacking_memory():
    """The dual and the primal alias the tensor's memory, the tangent is the one given: a write to
    any is seen through the others."""
    for lib in LIBS:
        foo, bar = lib.t(FOO), lib.t(np.ones(2))
        with lib.fw.dual_level():
            dual = lib.fw.make_dual(foo, bar)
            assert np.shares_memory(arr(dual), arr(foo))
            foo.add_(1)
            same(dual, lib.t(FOO + 1))
            dual_primal, dual_tangent = lib.fw.unpack_dual(dual)
            assert np.shares_memory(arr(dual_primal), arr(foo)) and dual_tangent is bar
            bar.add_(1)
            same(lib.fw.unpack_dual(dual).tangent, lib.t(np.full(2, 2.0)))


def test_advanced_packing_unpacking_backward():
    """make_dual and unpack_dual are backward differentiable: the primal leads to the primal, the
    tangent (the very tensor given) to the tangent."""
    def case(lib):
        foo, bar = lib.t(FOO, requires_grad=True), lib.t(np.ones(2), requires_grad=True)
        grad = torch.autograd.grad if lib.is_torch else rg.autograd.grad
        with lib.fw.dual_level():
            dual = lib.fw.make_dual(foo, bar)
            p, t = lib.fw.unpack_dual(dual)
            g1 = grad(p.sum(), (foo, bar), retain_graph=True, allow_unused=True)
            g2 = grad(t.sum(), (foo, bar), retain_graph=True, allow_unused=True)
        return g1, g2
    (g1, g2), _ = both(case)
    assert g1[1] is None and g2[0] is None


def test_detach_and_no_grad():
    """detach() and detach_() drop the tangent; no_grad does not."""
    def case(lib):
        foo, bar = lib.t(FOO, requires_grad=True), lib.t(np.ones(2))
        no_grad = torch.no_grad if lib.is_torch else rg.no_grad
        with lib.fw.dual_level():
            dual = lib.fw.make_dual(foo, bar)
            p, t = lib.fw.unpack_dual(dual.detach() * 2)
            out = [p, t, p.requires_grad]
            with no_grad():
                p, t = lib.fw.unpack_dual(dual * 3)
            out += [p, t, p.requires_grad]
            dual = dual.clone()
            dual.detach_()
            p, t = lib.fw.unpack_dual(dual * 2)
            return out + [p, t, p.requires_grad]
    both(case)


def test_grad_cleanup():
    """Exiting a level drops every tangent made in it; a new level starts empty."""
    def case(lib):
        foo, bar, baz = lib.t(FOO), lib.t(BAR), lib.t(BAZ)
        with lib.fw.dual_level():
            dual = lib.fw.make_dual(foo, bar)
            assert lib.fw.unpack_dual(foo).tangent is None
            assert lib.fw.unpack_dual(dual).tangent is bar
            derived = dual.exp()
        after = lib.fw.unpack_dual(dual).tangent, lib.fw.unpack_dual(derived).tangent
        with lib.fw.dual_level():
            assert lib.fw.unpack_dual(foo).tangent is None
            new_dual = lib.fw.make_dual(foo, baz)
            dp, dt = lib.fw.unpack_dual(dual)
            np_, nt = lib.fw.unpack_dual(new_dual)
        return after, dp, dt, np_, nt
    both(case)


def test_forward_level_cleanup():
    """The dual keeps its tangent alive, the level does not: the tangent dies with the dual."""
    for lib in LIBS:
        foo = lib.t(FOO)
        with lib.fw.dual_level():
            tangent = lib.t(BAR)
            ref = weakref.ref(tangent)
            dual = lib.fw.make_dual(foo, tangent)
            assert lib.fw.unpack_dual(dual).tangent is tangent
            del tangent
            gc.collect()
            assert ref() is not None
            del dual
            gc.collect()
            assert ref() is None


def test_print():
    for lib in LIBS:
        with lib.fw.dual_level():
            a = lib.t(R.random(3))
            assert "tangent=" not in str(a)
            b = lib.fw.make_dual(a, lib.t(R.random(3)))
            assert "tangent=" not in str(a) and "tangent=" in str(b)
            b_primal, b_tangent = lib.fw.unpack_dual(b)
            assert "tangent=" not in str(b_primal) and "tangent=" not in str(b_tangent)
        assert "tangent=" not in str(b)


# ------------------------------------------------------------------ in place and views
def test_view_inplace_non_differentiable_views():
    """An in-place op on a dual writes its tangent into the tangent tensor given (torch's note
    [Forward Grad View/inplace]); the tensor it was made from gets no tangent; a write to the
    unpacked primal leaves the tangent, a write to the unpacked tangent leaves the primal."""
    def case(lib):
        foo, bar = lib.t(FOO), lib.t(np.ones(2))
        out = []
        with lib.fw.dual_level():
            dual = lib.fw.make_dual(foo, bar)
            dual *= 2
            out += [lib.fw.unpack_dual(foo).tangent, bar, foo, *lib.fw.unpack_dual(dual)]
            dual_primal, dual_tangent = lib.fw.unpack_dual(dual)
            out += [lib.fw.unpack_dual(dual_primal).tangent, lib.fw.unpack_dual(dual_tangent).tangent]
            dual_primal *= 2
            out += list(lib.fw.unpack_dual(dual))
            dual_tangent *= 2
            out += list(lib.fw.unpack_dual(dual))
        return out
    (t_out, r_out) = both(case)
    same(r_out[1], rg.tensor(np.full(2, 4.0)))  # bar itself: doubled by dual *= 2, then by dual_tangent *= 2
    same(r_out[-1], r_out[1])


def test_view_inplace_differentiable_views():
    """An in-place op through a view of a dual updates the dual's tangent; an in-place op with a
    dual operand gives a plain tensor the tangent (zeros where the write did not reach); a
    detached view stops it."""
    def case(lib):
        foo, bar = lib.t(FOO), lib.t(np.ones(2))
        out = []
        with lib.fw.dual_level():
            dual = lib.fw.make_dual(foo, bar)
            view = dual.narrow(0, 0, 1)
            view *= 2
            out += [lib.fw.unpack_dual(foo).tangent, lib.fw.unpack_dual(dual).tangent,
                    lib.fw.unpack_dual(view).tangent]
            baz = lib.t(BAZ)
            baz += dual
            out += list(lib.fw.unpack_dual(baz))
            baz = lib.t(BAZ)
            baz[0] = dual[0]
            out += list(lib.fw.unpack_dual(baz))
            baz = lib.t(BAZ)
            baz[1:] = dual[:1] * 3
            out += list(lib.fw.unpack_dual(baz))
            e = dual.clone()
            e[0] = 5.0  # a constant: zero tangent there only
            out += list(lib.fw.unpack_dual(e))
        return out
    both(case)


def test_view_inplace_base_without_tangent_through_a_view():
    """torch tracks views: an in-place op on a view gives its base (which carried no tangent) one.
    retrograd's views are arrays, not tracked tensors: the base's value changes, but only the view
    gets the tangent (README, "Differences from PyTorch"). When the base already carries a tangent
    the write reaches it in both (test_view_inplace_differentiable_views)."""
    primal, tangent = R.random((2, 2)), R.random((2, 2))
    results = {}
    for lib in LIBS:
        base = lib.t(R.random((2, 2)))
        view = base.transpose(0, 1)
        with lib.fw.dual_level():
            view.add_(lib.fw.make_dual(lib.t(primal), lib.t(tangent)))
            results[lib.name] = (arr(base).copy(), lib.fw.unpack_dual(base).tangent,
                                 lib.fw.unpack_dual(view).tangent)
    assert results["torch"][1] is not None and results["rg"][1] is None  # the documented difference
    same(results["rg"][2], results["torch"][2])


def test_non_differentiable():
    """A comparison gives no tangent; an in-place comparison zeroes the dual's tangent."""
    def case(lib):
        with lib.fw.dual_level():
            foo = lib.fw.make_dual(lib.t(FOO), lib.t(BAR))
            bar = lib.t(BAZ)
            eq = foo == bar
            out = [eq, lib.fw.unpack_dual(eq).tangent]
            foo.eq_(bar)
            return out + list(lib.fw.unpack_dual(foo))
    both(case)


@pytest.mark.parametrize("op", ["gt", "argmax", "long", "isnan", "sort_indices", "floor", "sign", "round",
                                "to_float32", "max_dim"])
def test_integer_and_bool_outputs(op):
    """An op with an integer or boolean result has no tangent; a floating one (even a piecewise
    constant one) has one, of its dtype."""
    fns = {"gt": lambda d: d > 0.5, "argmax": lambda d: d.argmax(), "long": lambda d: d.long(),
           "isnan": lambda d: d.isnan(), "sort_indices": lambda d: d.sort()[1], "floor": lambda d: d.floor(),
           "sign": lambda d: d.sign(), "round": lambda d: d.round(), "to_float32": lambda d: d.float(),
           "max_dim": lambda d: d.max(0)}

    def case(lib):
        with lib.fw.dual_level():
            d = lib.fw.make_dual(lib.t(R.random(4) if False else [0.2, 0.9, 0.4, 0.7]), lib.t([1.0, 2.0, 3.0, 4.0]))
            r = fns[op](d)
            rs = tuple(r) if isinstance(r, tuple) else (r,)
            return [(x, lib.fw.unpack_dual(x).tangent) for x in rs]
    both(case)


def test_copy_forward_ad_broadcasting_and_copies():
    """copy_ broadcasts src's tangent to self's shape, copied (not the tangent tensor given); a
    copy into an integer tensor has none."""
    primal, tangent = R.random((3, 3)), R.random((3, 3))

    def case(lib):
        with lib.fw.dual_level():
            given = lib.t(tangent)
            dual = lib.fw.make_dual(lib.t(primal), given)
            non_dual = lib.t(R.random((1, 3, 3)))
            non_dual.copy_(dual)
            t = lib.fw.unpack_dual(non_dual).tangent
            assert t is not given
            ints = lib.t(np.zeros((3, 3)), np.int64)
            ints.copy_(dual)
            return non_dual, t, lib.fw.unpack_dual(ints).tangent
    both(case)


def test_inplace_into_a_plain_tensor_copies_the_tangent():
    """``z.add_(dual)`` gives z a tangent of its own: a later in-place op on z leaves the dual's."""
    def case(lib):
        with lib.fw.dual_level():
            given = lib.t(np.ones(3))
            d = lib.fw.make_dual(lib.t(R.random(3)), given)
            z = lib.t(np.zeros(3))
            z.add_(d)
            assert lib.fw.unpack_dual(z).tangent is not given
            z *= 5
            y = d + lib.t(R.random(3))  # an op's tangent is its own too
            y *= 7
            return lib.fw.unpack_dual(z).tangent, given, lib.fw.unpack_dual(d).tangent
    both(case)


def test_out_variant():
    """torch refuses an out= call with a dual operand (RuntimeError); retrograd's ops take no out=
    at all (TypeError, README)."""
    with tfw.dual_level():
        foo, bar = tfw.make_dual(torch.rand(2), torch.rand(2)), torch.rand(2)
        with pytest.raises(RuntimeError, match="out= function"):
            torch.add(bar, bar, out=foo)
    with rfw.dual_level():
        foo, bar = rfw.make_dual(rg.tensor(FOO), rg.tensor(BAR)), rg.tensor(BAZ)
        with pytest.raises(TypeError, match="out"):
            rg.add(bar, bar, out=foo)


# ------------------------------------------------------------------ with reverse mode
def test_requires_grad_with_dual_tensors():
    """A dual of a tensor that requires grad: the op's primal is on the tape in both; torch's
    tangent is on the tape too, retrograd's is not (README: a tangent is an array beside the tensor)."""
    results = {}
    for lib in LIBS:
        a = lib.t(FOO, requires_grad=True)
        with lib.fw.dual_level():
            d = lib.fw.make_dual(a, lib.t(np.ones(2)))
            p, t = lib.fw.unpack_dual(d * a)
            results[lib.name] = (p, t, p.requires_grad, t.requires_grad)
    same(results["rg"][0], results["torch"][0])
    same(results["rg"][1], results["torch"][1])
    assert results["rg"][2] and results["torch"][2]
    assert results["torch"][3] and not results["rg"][3]  # the documented difference


def test_backward_graph_destruction():
    """A tangent that requires grad, through an op that saves its output: exiting the level works."""
    def case(lib):
        a = lib.t(R.random(10), requires_grad=True)
        with lib.fw.dual_level():
            da = lib.fw.make_dual(lib.t(R.random(10)), a)
            db = da.exp()
            p = lib.fw.unpack_dual(db).primal
        return p.shape == (10,), lib.fw.unpack_dual(db).tangent
    results = [case(lib) for lib in LIBS]
    assert results[0] == results[1] == (True, None)


def test_forward_over_reverse():
    """torch: a backward with create_graph inside a level gives the gradient a tangent, H·v.
    retrograd's gradient carries none (README: forward-over-reverse is rg.func's); rg.func.jvp of
    rg.func.grad gives torch's H·v."""
    x0, v = R.random(3), R.random(3)

    def f(m, x):
        return (m.sin(x) * x * x).sum()

    with tfw.dual_level():
        x = torch.tensor(x0, requires_grad=True)
        d = tfw.make_dual(x, torch.tensor(v))
        (g,) = torch.autograd.grad(f(torch, d), d, create_graph=True)
        tg, thv = tfw.unpack_dual(g)
    _, hv = rg.func.jvp(rg.func.grad(lambda x: f(rg, x)), (rg.tensor(x0),), (rg.tensor(v),))
    same(hv, thv)
    with rfw.dual_level():
        x = rg.tensor(x0, requires_grad=True)
        d = rfw.make_dual(x, rg.tensor(v))
        (g,) = rg.autograd.grad(f(rg, d), d, create_graph=True)
        rg_g, rg_hv = rfw.unpack_dual(g)
    same(rg_g, tg)
    assert rg_hv is None  # the documented difference


@pytest.mark.parametrize("fn", ["sin", "add"])
def test_forward_ad_jacobian_basic(fn):
    """TestAutogradForwardModeBatchedGrad.test_out_of_place_basic without gradcheck's batched (vmap)
    checks: the forward-mode Jacobian of sin and add, one basis tangent at a time, equals torch's and
    the finite differences, and ``rg.autograd.gradcheck(check_forward_ad=True)`` passes."""
    a, b = R.random((2, 3)), R.random((2, 3))
    eps = 1e-6

    def columns(lib):
        f = getattr(torch if lib.is_torch else rg, fn)
        cols = []
        for k in range(a.size):
            e = np.zeros(a.size)
            e[k] = 1.0
            with lib.fw.dual_level():
                x = lib.fw.make_dual(lib.t(a), lib.t(e.reshape(a.shape)))
                out = f(x) if fn == "sin" else f(x, lib.t(b))
                cols.append(arr(lib.fw.unpack_dual(out).tangent).ravel())
        return np.stack(cols, 1)

    jt, jr = columns(LIBS[0]), columns(LIBS[1])
    np.testing.assert_allclose(jr, jt, rtol=1e-12, atol=1e-14)
    f = np.sin if fn == "sin" else (lambda x: x + b)
    fd = np.stack([((f(a + eps * e.reshape(a.shape)) - f(a - eps * e.reshape(a.shape))) / (2 * eps)).ravel()
                   for e in np.eye(a.size)], 1)
    np.testing.assert_allclose(jr, fd, rtol=1e-6, atol=1e-8)
    assert rg.autograd.gradcheck(rg.sin, rg.tensor(a, requires_grad=True), check_forward_ad=True) is True
