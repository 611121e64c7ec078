"""Every op of retrograd that has a vjp has a jvp beside it (forward mode, ``autograd.forward``).

An op with a vjp but no jvp works in reverse mode and fails in ``rg.func.jvp``,
``jacfwd`` and ``hessian`` only when someone reaches it. This file finds them
all at once: every ``Op`` subclass under ``retrograd`` (each submodule imported)
that writes or inherits a vjp (from a retrograd class other than ``Op``) must
have a jvp, written in the class that writes the vjp or in one below it — a
subclass that rewrites the vjp must rewrite the jvp too, or it would inherit a
rule for its base's derivative (as test_save_declarations.py asks of
``save_inputs``).
"""

from __future__ import annotations

import numpy as np
import pytest

import retrograd as rg
from op_classes import retrograd_op_classes
from retrograd import func as F
from retrograd.autograd.forward import push_tangents, seed_key
from retrograd.autograd.mode import next_seq
from retrograd.autograd.op import Op, UnaryOp

# Ops allowed a vjp without a jvp, each with the reason (none: even the demos' teaching ops,
# whose vjps may be deliberately wrong, have the transposed rule beside them).
WITHOUT_JVP: dict[str, str] = {}


def _all_op_classes():
    return retrograd_op_classes()


def _qualified(cls) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


OPS = _all_op_classes()
WITH_VJP = [c for c in OPS if c.vjp is not Op.vjp and _qualified(c) not in WITHOUT_JVP]


def _writer(cls, name):
    """The position in the MRO of the class that writes ``name`` (None: only Op's default)."""
    for i, c in enumerate(cls.__mro__):
        if name in c.__dict__:
            return None if c is Op else i
    return None


def test_the_op_classes_are_found():
    names = {c.__name__ for c in WITH_VJP}
    assert {"Add", "Tanh", "MatMul", "Linear"} <= names, sorted(names)
    assert len(WITH_VJP) > 50


def test_every_op_with_a_vjp_has_a_jvp():
    missing = sorted(_qualified(c) for c in WITH_VJP if _writer(c, "jvp") is None)
    assert not missing, (f"{len(missing)} op(s) of retrograd have a vjp but no jvp (forward-mode rule): "
                         f"{', '.join(missing)}")


@pytest.mark.parametrize("cls", WITH_VJP, ids=lambda c: f"{c.__module__.split('.')[-1]}.{c.__name__}")
def test_the_jvp_is_written_beside_the_vjp(cls):
    vjp_at, jvp_at = _writer(cls, "vjp"), _writer(cls, "jvp")
    assert jvp_at is not None, f"{_qualified(cls)} has a vjp ({cls.__mro__[vjp_at].__qualname__}) but no jvp"
    assert jvp_at <= vjp_at, (
        f"{_qualified(cls)}: its vjp is written in {cls.__mro__[vjp_at].__qualname__} but its jvp is inherited "
        f"from {cls.__mro__[jvp_at].__qualname__}, above it: write the jvp beside the vjp")
    assert isinstance(cls.jvp_lead, bool) and isinstance(cls.aligns_tangents, bool), (
        f"{_qualified(cls)}: jvp_lead and aligns_tangents are booleans")


def test_the_exemptions_name_real_ops_without_a_jvp():
    """An exemption goes when its op gains a jvp, or disappears."""
    by_name = {_qualified(c): c for c in OPS}
    for name in WITHOUT_JVP:
        assert name in by_name, f"WITHOUT_JVP names {name}, which is no op of retrograd"
        assert _writer(by_name[name], "jvp") is None, f"{name} has a jvp now: drop it from WITHOUT_JVP"


# ---------------------------------------------------------------- what the declarations do
class _Twice(UnaryOp):
    """y = 2x, without a jvp."""
    name = "twice"
    save_inputs = ()

    def forward(self, x): return 2 * x
    def vjp(self, ns, g, ans, x): return (2 * g,)


class _Thrice(UnaryOp):
    """y = 3x; its jvp takes one direction at a time and records the tangent shapes it saw."""
    name = "thrice"
    save_inputs = ()
    jvp_lead = False
    seen: list = []

    def forward(self, x): return 3 * x
    def vjp(self, ns, g, ans, x): return (3 * g,)

    def jvp(self, ns, ts, ans, x):
        _Thrice.seen.append(tuple(ts[0].shape))
        return 3 * ts[0]


def test_an_op_without_a_jvp_fails_naming_itself():
    x = rg.tensor(np.ones(3))
    with pytest.raises(NotImplementedError, match=r"twice: no Jacobian-vector product"):
        F.jvp(lambda x: _Twice()(x * 1.0), (x,), (rg.tensor(np.ones(3)),))
    # reverse mode is unaffected
    (g,) = F.vjp(lambda x: _Twice()(x), x)[1](rg.tensor(np.ones(3)))
    np.testing.assert_array_equal(g.data, np.full(3, 2.0))


def test_an_op_declaring_jvp_lead_false_sees_one_direction_at_a_time():
    _Thrice.seen.clear()
    x = rg.tensor(np.arange(4.0).reshape(2, 2), requires_grad=True)
    start = next_seq()
    y = rg.tanh(_Thrice()(x))
    basis = np.random.default_rng(0).standard_normal((3, 2, 2))
    (t,) = push_tangents([y], {seed_key(x): basis}, start_seq=start, lead=(3,))
    assert _Thrice.seen == [(2, 2)] * 3
    expected = 3 * basis * (1 - y.data ** 2)
    np.testing.assert_allclose(t, expected, rtol=1e-12)
    # and jacfwd (a basis of 4 directions) still equals jacrev
    _Thrice.seen.clear()
    f = lambda x: rg.tanh(_Thrice()(x))  # noqa: E731
    np.testing.assert_allclose(F.jacfwd(f)(x.detach()).data, F.jacrev(f)(x.detach()).data, rtol=1e-12)
    assert _Thrice.seen == [(2, 2)] * 4
