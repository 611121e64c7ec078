"""The backend is real: array work goes through ``backend.xp``, chosen at call time.

Proof that a CuPy backend drops in: the library runs on ``array_shim`` — a
NumPy-backed stand-in for a device array library that, like CuPy, refuses
silent conversion to NumPy — and gives the same numbers as on NumPy: every op's
gradient check, and training steps of each layer family.
"""

import ast
import pathlib

import numpy as np
import pytest

import retrograd as rg
from retrograd import bptt, nn, optim
from retrograd.autograd import UnaryOp, backend

from array_shim import HostConversionError, ShimArray, shim, shim_backend

ROOT = pathlib.Path(rg.__file__).parent

# Modules that may import NumPy directly, and why: the backend itself; host-side
# work that must be NumPy (finite differences, files, plots, the host RNG, host
# data pipelines and reports); demos.
NUMPY_ALLOWED = {
    "__init__.py",              # rg.float32 / rg.float64 are NumPy's dtype types (CuPy shares them)
    "autograd/backend.py",      # the one place the array module is chosen
    "autograd/gradcheck.py",    # finite differences are compared on the host, in float64
    "autograd/gradcheck_torch.py",  # the same comparisons in torch.autograd.gradcheck's form
    "random.py",                # the host RNG (NumPy Generator); draws cross to the backend explicitly
    "checkpoint/format.py",     # files hold host arrays (the dtype table)
    "checkpoint/reading.py",
    "checkpoint/writing.py",
    "checkpoint/restore.py",
    "data.py",                  # host data pipeline; batches cross to the backend as tensors
    "ops/torch_creation_extra.py",    # windows and logspace computed on the host in float64, host RNG draws
    "nn/torch_functional_namespace.py",  # embedding_bag's bag bookkeeping on host index arrays
    "distributions/utils.py",   # samples are drawn on the host RNG and cross to the backend as tensors
    "distributions/discrete.py",
    "distributions/categorical.py",
    "distributions/gamma.py",   # the implicit reparameterisation's slope from SciPy, on the host
    "distributions/continuous.py",  # dtype limits (finfo) and shapes
    "distributions/constraints.py",
    "distributions/transforms.py",
    "plot.py",
    "bptt/diagnostics.py",      # reports and heatmaps are host-side
    "bptt/alignment.py",        # per-step alignment reports are host-side
    "recurrent/compiled.py",    # numba kernels: a CPU-only path, used only when the arrays are NumPy's
    "distributed/world.py",     # MPI buffers are host memory (no CUDA-aware MPI assumed)
    "distributed/buckets.py",
    "explore/page.py",          # the HTML explorer's data and pictures are host-side
    "explore/explain.py",
}


def _imports_numpy(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name == "numpy" or a.name.startswith("numpy.") for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "numpy":
            return True
    return False


def test_numpy_is_imported_only_where_allowed():
    offenders = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("demos/") or rel in NUMPY_ALLOWED:
            continue
        if _imports_numpy(path):
            offenders.append(rel)
    assert not offenders, f"import NumPy through backend.xp instead (or justify in NUMPY_ALLOWED): {offenders}"



@pytest.fixture
def on_shim():
    with shim_backend():
        yield shim


def test_the_shim_refuses_silent_conversion(on_shim):
    a = shim.asarray(np.arange(3.0))
    with pytest.raises(HostConversionError):
        np.asarray(a)
    with pytest.raises(TypeError):
        np.exp(a)
    with pytest.raises(HostConversionError):
        a + np.ones(3)
    np.testing.assert_array_equal(backend.to_numpy(a * 2), [0.0, 2.0, 4.0])


def test_switching_refills_the_namespace(on_shim):
    assert backend.xp.name == "array_shim" and backend.get_backend() == "array_shim"
    t = rg.tensor([1.0, 2.0], requires_grad=True)
    assert isinstance(t.data, ShimArray)
    (t * t).sum().backward()
    assert isinstance(t.grad.data, ShimArray)
    np.testing.assert_allclose(rg.to_numpy(t.grad.data), [2.0, 4.0])


def test_set_backend_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown backend"):
        backend.set_backend("tensorflow")


# ---------------------------------------------------------------- op gradients on the shim
def _idx(a):
    return np.asarray(a)  # host index arrays: the ops move them to the backend


_PROBABILITIES = np.array([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0], [0.1, 0.8, 0.1]])


OP_CASES = {
    "arithmetic": (lambda x, y: (x + y) * (x - y) / (y * y + 1) - (-x) ** 2, [(3, 4), (4,)]),
    "exp_log_sqrt": (lambda x: rg.log(rg.exp(x) + 1) + rg.sqrt(x * x + 1) + rg.log1p(x * x), [(2, 3)]),
    "trig_tanh_sigmoid": (lambda x: rg.sin(x) * rg.cos(x) + rg.tanh(x) + rg.sigmoid(x) + rg.erf(x), [(5,)]),
    "activations": (lambda x: rg.leaky_relu(x) + rg.elu(x) + rg.softplus(x) + rg.gelu(x) + rg.relu(x)
                    + rg.gelu(x, approximate="tanh"), [(2, 4)]),
    "kinks": (lambda x, y: rg.abs(x) + rg.clamp(x, -0.3, 0.4) + rg.maximum(x, y) + rg.minimum(x, y), [(3, 3), (3,)]),
    "pow": (lambda x, y: rg.pow(rg.abs(x) + 1, y) + x ** 3, [(2, 3), (2, 3)]),
    "where_cast": (lambda x: rg.where(x.data > 0, x, x * 3) + rg.cast(x * 2, np.float64), [(6,)]),
    "matmul_linear": (lambda x, w, b: rg.linear(x, w, b) @ w, [(2, 3), (4, 3), (4,)]),
    "reductions": (lambda x: rg.sum(x, 0) + rg.mean(x, 0) + rg.max(x, axis=0) + rg.min(x, axis=0) + rg.prod(x, 0)
                   + rg.logsumexp(x, 0) + rg.var(x, 0) + rg.std(x, axis=0), [(3, 4)]),
    "softmax": (lambda x: rg.softmax(x) * rg.log_softmax(x, axis=0), [(3, 4)]),
    "shape": (lambda x: rg.concatenate([rg.reshape(x, (4, 3)), rg.transpose(x)], 0).sum(1)
              + rg.stack([x[0], x[1]], 0).flatten().sum() + rg.squeeze(rg.expand_dims(x, 0)).sum(), [(3, 4)]),
    "indexing": (lambda x: x[_idx([0, 0, 2])].sum(0) + rg.gather(x, 1, _idx([[0], [3], [1]])).sum()
                 + rg.take(x, _idx([1, 5])).sum() + x[1:, ::2].sum() + x[x.data > 0].sum(), [(3, 4)]),
    "pad_broadcast": (lambda x: rg.pad(x, 1).sum(0)[1:-1] + rg.broadcast_to(x[0], (2, 4)).sum(0), [(3, 4)]),
    "losses": (lambda z, p: rg.cross_entropy(z, _idx([0, 2, 1])) + rg.mse_loss(z, p)
               + rg.binary_cross_entropy_with_logits(z, rg.sigmoid(p))
               + rg.binary_cross_entropy(rg.sigmoid(z), rg.sigmoid(p))
               + rg.nll_loss(rg.log_softmax(z), _idx([1, 1, 0]))
               + rg.cross_entropy(z, rg.tensor(_PROBABILITIES)), [(3, 3), (3, 3)]),
    "conv_pool": (lambda x, w, b: rg.max_pool2d(rg.conv2d(x, w, b, padding=1), 2)
                  + rg.avg_pool2d(rg.conv2d(x, w, stride=1, dilation=1, padding="same"), 2), [(1, 2, 4, 4), (2, 2, 3, 3), (2,)]),
}


@pytest.mark.parametrize("name", sorted(OP_CASES))
def test_op_gradients_on_the_shim_equal_numpy(on_shim, name):
    fn, shapes = OP_CASES[name]
    rng = np.random.default_rng(7)
    inputs = [rng.standard_normal(s) + 0.1 for s in shapes]
    report = rg.gradcheck(fn, inputs)
    assert report.ok, str(report)
    on_device = fn(*[rg.tensor(a) for a in inputs])
    assert isinstance(on_device.data, ShimArray)
    backend.set_backend("numpy")
    reference = fn(*[rg.tensor(a) for a in inputs])
    backend.set_backend(shim)
    np.testing.assert_allclose(rg.to_numpy(on_device.data), reference.data, rtol=1e-12, atol=1e-12)


def test_second_order_on_the_shim(on_shim):
    assert rg.gradgradcheck(lambda x, w: rg.tanh(x @ w).sum() * rg.sigmoid(x).sum(),
                            [np.random.default_rng(1).standard_normal((2, 3)),
                             np.random.default_rng(2).standard_normal((3, 2))]).ok


# ---------------------------------------------------------------- training steps of each layer family
def _mlp():
    return nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 3))


def _cnn():
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(16, 3))


class _Recurrent(nn.Module):
    def __init__(self, kind):
        super().__init__()
        layer = {"LSTM": nn.LSTM, "GRU": nn.GRU, "RNN": nn.RNN}[kind]
        self.rnn = layer(6, 5, num_layers=2, batch_first=True)
        self.norm = nn.LayerNorm(5)
        self.out = nn.Linear(5, 3)

    def forward(self, x):
        h, _ = self.rnn(x)
        return self.out(self.norm(h[:, -1]))


class _CellModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 6)
        self.cell = nn.LSTMCell(6, 5)
        self.out = nn.Linear(5, 3)

    def forward(self, tokens):
        state = None
        for t in range(tokens.shape[1]):
            h, c = self.cell(self.emb(tokens[:, t]), state)
            state = (h, c)
        return self.out(state[0])


FAMILIES = {
    "mlp_sgd": (_mlp, lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True), (4, 6), "float"),
    "cnn_adam": (_cnn, lambda p: optim.Adam(p, lr=0.01), (4, 2, 4, 4), "float"),
    "lstm_adamw": (lambda: _Recurrent("LSTM"), lambda p: optim.AdamW(p, lr=0.01), (4, 5, 6), "float"),
    "gru_rmsprop": (lambda: _Recurrent("GRU"), lambda p: optim.RMSprop(p, lr=0.01, centered=True), (4, 5, 6), "float"),
    "rnn_adagrad": (lambda: _Recurrent("RNN"), lambda p: optim.Adagrad(p, lr=0.1), (4, 5, 6), "float"),
    "cells_embedding": (_CellModel, lambda p: optim.Adam(p, lr=0.01, amsgrad=True), (4, 5), "tokens"),
}


def _train(family, steps=3):
    make_model, make_opt, shape, kind = FAMILIES[family]
    rg.manual_seed(0)
    model = make_model().double()
    opt = make_opt(model.parameters())
    rng = np.random.default_rng(1)
    x = rng.integers(0, 10, shape) if kind == "tokens" else rng.standard_normal(shape)
    y = rng.integers(0, 3, shape[0])
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = rg.cross_entropy(model(rg.tensor(x)), rg.tensor(y))
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        opt.step()
        losses.append(loss.item())
    return losses, {k: rg.to_numpy(v) for k, v in model.state_dict().items()}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_training_steps_on_the_shim_equal_numpy(family):
    reference_losses, reference = _train(family)
    with shim_backend():
        losses, params = _train(family)
    np.testing.assert_allclose(losses, reference_losses, rtol=1e-12)
    for name in reference:
        np.testing.assert_allclose(params[name], reference[name], rtol=1e-10, atol=1e-12, err_msg=name)


def test_truncated_bptt_training_on_the_shim_equals_numpy():
    def run():
        rg.manual_seed(0)
        lstm = nn.LSTM(3, 4).double()
        head = nn.Linear(4, 2).double()

        class Model(nn.Module):
            sequence_model = True

            def __init__(self):
                super().__init__()
                self.lstm, self.head = lstm, head

            def forward(self, x, state):
                h, state = self.lstm(x, state)
                return self.head(h), state

        model = Model()
        rng = np.random.default_rng(3)
        xs, ys = rng.standard_normal((12, 2, 3)), rng.integers(0, 2, (12, 2))
        opt = optim.SGD(model.parameters(), lr=0.1)
        _, losses = bptt.train(model, xs, ys, rg.cross_entropy, opt, bptt.chunk(4))
        return [float(v) for v in losses], {k: rg.to_numpy(v) for k, v in model.state_dict().items()}

    reference_losses, reference = run()
    with shim_backend():
        losses, params = run()
    np.testing.assert_allclose(losses, reference_losses, rtol=1e-12)
    for name in reference:
        np.testing.assert_allclose(params[name], reference[name], rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- what CuPy refuses (found on the first GPU run)
# Each test here failed on the stand-in before the library was fixed, as the GPU run failed on CuPy.

def test_the_shim_refuses_what_cupy_refuses():
    d = shim.zeros(3)
    with pytest.raises(HostConversionError, match="cannot be used for fill"):
        d[...] = np.ones(3)  # CuPy: "non-scalar numpy.ndarray cannot be used for fill"
    with pytest.raises(HostConversionError):
        d[:2] = [1.0, 2.0]
    d[...] = 1.5  # scalars are fine
    d[:] = shim.asarray(np.arange(3.0))  # so are device arrays
    with pytest.raises(TypeError):
        shim.lib.stride_tricks.as_strided(d, (3,), (8,), writeable=False)  # CuPy's takes no writeable=
    with pytest.raises(TypeError):
        shim.argsort([2, 0, 1])  # CuPy calls a.argsort()
    with pytest.raises(TypeError):
        shim.exp([0.0, 1.0])  # CuPy's ufuncs: "Unsupported type <class 'list'>"
    with pytest.raises(HostConversionError):
        d * np.array(2.0)  # 0-d host arrays too (CuPy takes NumPy scalars, not arrays)
    assert not hasattr(shim, "errstate")  # CuPy has no errstate
    view = d[1]  # CuPy: a 0-d view, not a copy
    d[1] = 7.0
    assert float(view) == 7.0


def test_errstate_is_provided_where_the_module_has_none(on_shim):
    with backend.xp.errstate(divide="ignore", invalid="ignore"):  # the ops use it in 17 places
        pass
    with np.testing.assert_no_warnings():  # the stand-in computes with NumPy: silenced as on NumPy
        x = rg.tensor(np.array([0.0, 1.0, 2.0]), requires_grad=True)
        y = rg.pow(x, rg.tensor(np.array([0.0, 2.0, 0.5]))) + rg.var(x[:1], 0)  # log(0) and 0/0 in the vjps
        y.sum().backward()


def _init_params(make):
    rg.manual_seed(3)
    return {k: rg.to_numpy(v) for k, v in make().state_dict().items()}


LAYERS = {
    "Linear": lambda: nn.Linear(4, 3),
    "Conv2d": lambda: nn.Conv2d(2, 3, 3),
    "LSTM": lambda: nn.LSTM(3, 4, num_layers=2),
    "GRU": lambda: nn.GRU(3, 4),
    "Embedding": lambda: nn.Embedding(5, 3),
    "LayerNorm": lambda: nn.LayerNorm(4),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_constructors_draw_the_same_weights_on_the_shim(name):
    """Initialisers draw on the host and must cross to the backend explicitly (nn.init._fill)."""
    reference = _init_params(LAYERS[name])
    with shim_backend():
        got = _init_params(LAYERS[name])
        rg.manual_seed(3)
        assert all(isinstance(p.data, ShimArray) for p in LAYERS[name]().parameters())
    for k in reference:
        np.testing.assert_array_equal(got[k], reference[k], err_msg=k)


@pytest.mark.parametrize("init", ["uniform_", "normal_", "xavier_uniform_", "kaiming_normal_", "orthogonal_",
                                  "constant_", "zeros_"])
def test_initialisers_on_the_shim_equal_numpy(init):
    def draw():
        rg.manual_seed(5)
        t = rg.tensor(np.zeros((4, 6), dtype=np.float32))
        fn = getattr(nn.init, init)
        fn(t, 0.25) if init == "constant_" else fn(t)
        return t.data
    reference = draw()
    with shim_backend():
        got = draw()
        assert isinstance(got, ShimArray) and got.dtype == np.float32
        got = rg.to_numpy(got)
    np.testing.assert_array_equal(got, reference)


def test_dropout_on_the_shim_equals_numpy():
    """The mask is drawn on the host: it must cross to the backend before multiplying a device tensor."""
    def run():
        rg.manual_seed(11)
        x = rg.tensor(np.random.default_rng(0).standard_normal((5, 6)), requires_grad=True)
        y = nn.functional.dropout(x, 0.4, training=True)
        (y * y).sum().backward()
        return y.data, x.grad.data
    y_ref, g_ref = run()
    with shim_backend():
        y, g = run()
        assert isinstance(y, ShimArray) and isinstance(g, ShimArray)
        y, g = rg.to_numpy(y), rg.to_numpy(g)
    assert 0 < np.count_nonzero(y_ref) < y_ref.size  # some dropped, some kept
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(g, g_ref)


def _loader_batches(shuffle, as_tensors):
    rg.manual_seed(2)
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((10, 3)), rng.integers(0, 3, 10)
    arrays = (rg.tensor(x), rg.tensor(y)) if as_tensors else (x, y)
    batches = list(rg.data.DataLoader(arrays, batch_size=4, shuffle=shuffle))
    for batch in batches:
        assert all(isinstance(t.data, backend.ndarray) for t in batch), "a batch is not on the backend"
    return [[rg.to_numpy(t.data) for t in batch] for batch in batches]


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("as_tensors", [False, True], ids=["host arrays", "device tensors"])
def test_dataloader_batches_are_on_the_backend(shuffle, as_tensors):
    reference = _loader_batches(shuffle, as_tensors)
    with shim_backend():
        got = _loader_batches(shuffle, as_tensors)
    assert len(got) == len(reference) == 3
    for b, r in zip(got, reference):
        for g, e in zip(b, r):
            np.testing.assert_array_equal(g, e)


def test_fit_on_the_shim_equals_numpy():
    def run():
        rg.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)).double()
        rng = np.random.default_rng(5)
        loader = rg.data.DataLoader((rng.standard_normal((24, 4)), rng.integers(0, 3, 24)), batch_size=8,
                                    shuffle=True)
        hist = rg.train.fit(model, rg.cross_entropy, optim.SGD(model.parameters(), lr=0.1), loader, epochs=2,
                            verbose=False, progress=False)
        return [float(v) for v in hist.history["loss"]], {k: rg.to_numpy(v) for k, v in model.state_dict().items()}
    reference_losses, reference = run()
    with shim_backend():
        losses, params = run()
    np.testing.assert_allclose(losses, reference_losses, rtol=1e-12)
    for k in reference:
        np.testing.assert_allclose(params[k], reference[k], rtol=1e-12, atol=1e-14, err_msg=k)


class _HalfGradExp(UnaryOp):
    """eˣ with a deliberately wrong vjp: half the true gradient."""
    name, save_ans = "exp_half_grad", True
    __slots__ = ()

    def forward(self, x): return backend.xp.exp(x)
    def vjp(self, ns, g, y, x): return (g * y * 0.5,)


@pytest.mark.parametrize("on", ["numpy", "shim"])
def test_gradcheck_catches_a_wrong_gradient_on_every_backend(on):
    """Sentinel: gradcheck kept ``orig = flat[j]``, a 0-d *view* on CuPy, so the +ε write moved the value it
    meant to restore, every difference became 0 or garbage and all elements were "kinks": a vjp of half the
    true gradient passed on the GPU."""
    backend.set_backend(shim if on == "shim" else "numpy")
    try:
        wrong = rg.gradcheck(lambda x: _HalfGradExp()(x), [np.linspace(-1.0, 1.0, 6)])
        right = rg.gradcheck(lambda x: rg.exp(x) * rg.tanh(x), [np.linspace(-1.0, 1.0, 6)])
        second = rg.gradgradcheck(lambda x: rg.tanh(x) * rg.exp(x), [np.linspace(-1.0, 1.0, 5)])
    finally:
        backend.set_backend("numpy")
    assert not wrong.ok and len(wrong.failures) == 6, str(wrong)
    assert right.ok and not right.kinks, str(right)  # smooth: no kinks reported
    assert second.ok and not second.kinks, str(second)


def test_gradcheck_leaves_the_inputs_unchanged_on_the_shim(on_shim):
    x = rg.tensor(np.linspace(-1.0, 1.0, 4), requires_grad=True)
    before = rg.to_numpy(x.data).copy()
    assert rg.gradcheck(lambda t: rg.sin(t) * 3, [x]).ok
    np.testing.assert_array_equal(rg.to_numpy(x.data), before)


@pytest.mark.parametrize("axes", [(2, 0, 1), (1, 2, 0), (-1, 0, 1), None])
def test_transpose_gradient_on_the_shim(on_shim, axes):
    """Transpose.vjp inverts the permutation on the host (CuPy's argsort refuses a list)."""
    w = np.random.default_rng(0).standard_normal(np.transpose(np.empty((2, 3, 4)), axes).shape)
    report = rg.gradcheck(lambda x: rg.transpose(x, axes) * rg.tensor(w), [np.ones((2, 3, 4))])
    assert report.ok, str(report)
    x = rg.tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    y = rg.transpose(x, axes)
    g = np.arange(24.0).reshape(y.shape) + 1
    y.backward(rg.tensor(g))
    inverse = None if axes is None else tuple(np.argsort([a % 3 for a in axes]))
    np.testing.assert_array_equal(rg.to_numpy(x.grad.data), np.transpose(g, inverse))


@pytest.fixture
def no_sync():
    """Reading data back to the host (a device synchronisation) raises, as with cupyx.allow_synchronize(False)."""
    names = ("get", "item", "tolist", "__float__", "__int__", "__index__", "__bool__")
    saved = {n: ShimArray.__dict__[n] for n in names}

    def refuse(self, *args, **kwargs):
        raise AssertionError("device -> host read (a synchronisation on a GPU)")
    for n in names:
        setattr(ShimArray, n, refuse)
    try:
        yield
    finally:
        for n, f in saved.items():
            setattr(ShimArray, n, f)


@pytest.mark.parametrize("width", [1, (1, 2), ((0, 1), (2, 0)), np.array([[1, 1], [0, 2]])])
def test_pad_widths_stay_on_the_host(on_shim, no_sync, width):
    x = rg.tensor(np.ones((2, 3)), requires_grad=True)
    y = rg.pad(x, width, value=0.5)
    y.sum().backward()
    assert isinstance(y.data, ShimArray)
