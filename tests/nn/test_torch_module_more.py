"""More ``nn.Module`` behaviour compared with PyTorch: state_dict arguments, registration errors,
lookups, container methods, repr layout, and forward-hook edge cases."""

import numpy as np
import pytest

import retrograd as rg

torch = pytest.importorskip("torch")
nn, tnn = rg.nn, torch.nn


def _pair():
    m, t = nn.Module(), tnn.Module()
    m.l1, m.l2 = nn.Linear(2, 3), nn.Linear(3, 2)
    t.l1, t.l2 = tnn.Linear(2, 3), tnn.Linear(3, 2)
    return m, t


def test_state_dict_prefix_keep_vars_destination():
    m, t = _pair()
    assert list(m.state_dict(prefix="pre.")) == list(t.state_dict(prefix="pre."))
    assert [type(v).__name__ for v in m.state_dict(keep_vars=True).values()] == ["Parameter"] * 4
    dest = {"a": 1}
    assert m.state_dict(destination=dest) is dest and list(dest) == list(t.state_dict(destination={"a": 1}))
    with pytest.warns(FutureWarning):
        assert list(m.state_dict(None, "x.")) == list(t.state_dict(None, "x."))


def test_load_state_dict_assign_and_type_check():
    m, _ = _pair()
    src = {k: np.ones_like(v) for k, v in m.state_dict().items()}
    result = m.load_state_dict(src, assign=True)
    assert repr(result) == "<All keys matched successfully>"
    assert m.l1.weight.data is src["l1.weight"] and m.l1.weight.requires_grad
    assert isinstance(m.l1.weight, nn.Parameter) and m.l1.weight is m._modules["l1"]._parameters["weight"]
    with pytest.raises(TypeError, match="dict-like"):
        m.load_state_dict([1, 2])
    assert "missing_keys=['l1.weight'" in repr(m.load_state_dict({}, strict=False))


@pytest.mark.parametrize("call, exc", [
    (lambda m: m.register_parameter("w", rg.zeros(2)), TypeError),
    (lambda m: m.register_parameter("a.b", nn.Parameter(np.zeros(2))), KeyError),
    (lambda m: m.register_parameter("", nn.Parameter(np.zeros(2))), KeyError),
    (lambda m: m.register_parameter(3, nn.Parameter(np.zeros(2))), TypeError),
    (lambda m: m.register_parameter("x", nn.Parameter(np.zeros(2))), KeyError),
    (lambda m: m.add_module("x", nn.ReLU()), KeyError),
    (lambda m: m.add_module("", nn.ReLU()), KeyError),
    (lambda m: m.register_buffer("b", 3), TypeError),
    (lambda m: m.train("yes"), ValueError),
    (lambda m: m.to(np.int64), TypeError),
])
def test_registration_errors_as_torch(call, exc):
    m = nn.Module()
    m.x = 1  # an existing plain attribute
    with pytest.raises(exc):
        call(m)


def test_setattr_wrong_kind_and_replacement_order():
    m = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="as parameter 'weight'"):
        m.weight = rg.zeros(2, 2)
    s = nn.Sequential(nn.ReLU(), nn.Tanh())
    with pytest.raises(TypeError, match="as child module '0'"):
        setattr(s, "0", 3)
    s[0] = nn.ELU()  # a replacement keeps its place, as torch's
    assert [type(x).__name__ for x in s] == ["ELU", "Tanh"]


def test_get_submodule_parameter_buffer_errors():
    m = nn.Sequential(nn.Linear(1, 1), nn.BatchNorm1d(2))
    t = tnn.Sequential(tnn.Linear(1, 1), tnn.BatchNorm1d(2))
    for target, getter in [("0.weight", "get_submodule"), ("2", "get_submodule"), ("0.foo", "get_parameter"),
                           ("1.weight", "get_buffer")]:
        with pytest.raises(AttributeError) as ours:
            getattr(m, getter)(target)
        with pytest.raises(AttributeError) as theirs:
            getattr(t, getter)(target)
        assert str(ours.value) == str(theirs.value)
    m[0].foo = 3
    with pytest.raises(AttributeError, match="is not an nn.Parameter"):
        m.get_parameter("0.foo")


def _names(seq):
    return [type(x).__name__ for x in seq], list(seq._modules)


def test_sequential_list_methods_as_torch():
    for lib in (nn, tnn):
        s = lib.Sequential(lib.ReLU(), lib.Tanh(), lib.ELU())
        del s[1]
        s.insert(0, lib.Sigmoid())
        s.extend([lib.Tanh()])
        popped = s.pop(-1)
        got = (_names(s), type(popped).__name__, _names(s + lib.Sequential(lib.ReLU())), _names(s * 2),
               len(2 * s))
        if lib is nn:
            ours = got
        else:
            assert ours == got
    s = nn.Sequential(nn.ReLU())
    for bad, exc in [(lambda: s[5], IndexError), (lambda: s * 0, ValueError), (lambda: s * 1.5, TypeError),
                     (lambda: s + [nn.ReLU()], ValueError), (lambda: s.insert(5, nn.ReLU()), IndexError)]:
        with pytest.raises(exc):
            bad()


def test_module_list_and_dict_as_torch():
    ml, tl = nn.ModuleList([nn.ReLU(), nn.Tanh(), nn.ELU()]), tnn.ModuleList([tnn.ReLU(), tnn.Tanh(), tnn.ELU()])
    del ml[0:2], tl[0:2]
    assert _names(ml) == _names(tl) and type(ml.pop(0)).__name__ == type(tl.pop(0)).__name__
    with pytest.raises(IndexError, match="out of range"):
        ml[5]
    with pytest.raises(TypeError, match="iterable"):
        ml.extend(3)
    d = nn.ModuleDict({"b": nn.ReLU(), "a": nn.Tanh()})
    d.update([("c", nn.ELU())])
    assert list(d) == ["b", "a", "c"]
    with pytest.raises(TypeError, match="iterable of key/value pairs"):
        d.update(3)
    with pytest.raises(ValueError, match="has length 1; 2 is required"):
        d.update([("a",)])


def test_repr_layout_as_torch():
    def build(lib):
        class M(lib.Module):
            def extra_repr(self):
                return "a=1\nb=2"
        m = M()
        m.l = lib.ModuleList([lib.ReLU(), lib.ReLU(), lib.Tanh()])
        return repr(m), repr(M()), repr(lib.ModuleList())
    assert build(nn) == build(tnn)


def _linear_pair():
    m, t = nn.Linear(2, 2).double(), tnn.Linear(2, 2).double()
    m.weight.data[...] = [[1., 2.], [3., 4.]]
    with torch.no_grad():
        t.weight.copy_(torch.tensor([[1., 2.], [3., 4.]]))
    return m, t


def test_forward_hook_always_call_runs_when_forward_raises():
    for mod in _linear_pair():
        log = []
        mod.register_forward_hook(lambda *a: log.append("x"), always_call=True)
        mod.register_forward_pre_hook(lambda *a: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            mod(np.ones((1, 2)) if isinstance(mod, nn.Module) else torch.ones(1, 2, dtype=torch.float64))
        assert log == ["x"]


def test_hook_result_errors_as_torch():
    m, _ = _linear_pair()
    h = m.register_forward_pre_hook(lambda mod, a, k: 5, with_kwargs=True)
    with pytest.raises(RuntimeError, match="must return None or a tuple of"):
        m(rg.ones(1, 2, dtype=np.float64))
    h.remove()
    m.register_full_backward_hook(lambda mod, gi, go: ("bad",))
    x = rg.tensor(np.ones((1, 2)), requires_grad=True)
    with pytest.raises(TypeError, match="expected Variable"):
        m(x).sum().backward()


def test_clip_grad_norm_inf_string_foreach_and_nonfinite_message():
    def grads(lib_tensor):
        a, b = lib_tensor([3., 4.]), lib_tensor([[1., 2.]])
        a.grad, b.grad = lib_tensor([3., 4.]), lib_tensor([[0., 12.]])
        return [a, b]
    ours = grads(lambda v: rg.tensor(np.asarray(v), requires_grad=True))
    theirs = grads(lambda v: torch.tensor(v, dtype=torch.float64, requires_grad=True))
    n = nn.utils.clip_grad_norm_(ours, 1.0, norm_type="inf", foreach=True)
    m = torch.nn.utils.clip_grad_norm_(theirs, 1.0, norm_type="inf", foreach=True)
    assert float(n) == float(m)
    np.testing.assert_allclose(np.asarray(ours[0].grad.data), theirs[0].grad.detach().numpy(), rtol=1e-6)
    ours[0].grad = rg.tensor(np.array([np.nan, 1.0]))
    with pytest.raises(RuntimeError, match="is non-finite"):
        nn.utils.clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
