"""retrograd on a real GPU: does ``rg.set_backend("cupy")`` give NumPy's numbers, on the device, and how fast?

    PYTHONPATH=src python benchmarks/cupy_check.py               # on a machine with CuPy and a GPU
    PYTHONPATH=src python benchmarks/cupy_check.py --stand-in    # no GPU: the same checks on tests/array_shim

Sections (each check is isolated: an exception is recorded with its text and the run goes on):

0. preflight: every ``xp.<name>`` that retrograd's source uses (found by reading its AST) must exist on
   the device module: a missing one is an AttributeError waiting for the first op that needs it.
a. equality: forward + backward of a representative set of ops and layers, and a few optimizer steps,
   in float64 under NumPy and under the device backend. Every output and gradient must match
   (``rtol=1e-10``, ``atol=1e-10·max|reference|``: summation order differs between CPU and GPU GEMMs) and
   must be a device array (``type(t.data) is cupy.ndarray``); a NumPy array there is a silent fallback.
   Each case is then re-run with device synchronisation forbidden (``cupyx.allow_synchronize``, where this
   CuPy still has it), which locates hidden device→host round trips; those are reported as INFO.
b. ``rg.gradcheck`` of a few ops with the device backend active.
c. timing of an LSTM training step with full BPTT (B64 T100 I128 H512 O32, float32, MSE, SGD): retrograd on
   the device vs ``torch.nn.LSTM`` on CUDA (cuDNN) vs retrograd on NumPy on this machine's CPU; median of
   several steps after a warm-up, the device synchronised around every step.
d. extras (only when time is left): checkpoints, ``fit``, truncated BPTT, ordering ops, dropout.

``--workarounds`` patches, in this process only, the CuPy incompatibilities found on the first GPU run
(each is printed as a WORKAROUND row naming the source line to fix), so that everything behind them is
checked and timed too. Without the flag the script reports retrograd exactly as it is. Those
incompatibilities are fixed in the source now (and ``tests/array_shim.py`` refuses each of them, so CI
catches a return without a GPU); a patch is installed only where the source still needs it.

Prints one summary table; exits 1 on any FAIL / ERROR / HOST row, 2 when there is no device backend.
"""

from __future__ import annotations

import argparse
import ast
import os
import pathlib
import re
import platform
import signal
import statistics
import sys
import tempfile
import time
import traceback

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.append(str(ROOT / "src"))  # after PYTHONPATH: a snapshot of the package given there wins

import retrograd as rg  # noqa: E402
from retrograd import nn, optim  # noqa: E402
from retrograd.autograd import UnaryOp, backend  # noqa: E402

T_START = time.perf_counter()
ROWS = []  # (section, check, status, detail)
BAD = {"FAIL", "ERROR", "HOST"}


def elapsed():
    return time.perf_counter() - T_START


def record(section, check, status, detail=""):
    ROWS.append((section, check, status, detail))
    print(f"[{elapsed():6.1f}s] {section} {check}: {status}  {detail}", flush=True)


def one_line(exc):
    text = f"{type(exc).__name__}: {exc}".replace("\n", " ")
    return text if len(text) <= 300 else text[:297] + "..."


def where_raised(exc):
    """The innermost retrograd frame of a traceback: file:line (function)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/retrograd/" in f.filename]
    if not frames:
        return ""
    f = frames[-1]
    return f" @ {f.filename.split('/src/')[-1]}:{f.lineno} ({f.name}: {f.line.strip() if f.line else ''})"


class CaseTimeout(Exception):
    pass


def _alarm(signum, frame):
    raise CaseTimeout("case exceeded its time limit")


def guarded(section, check, fn, limit=90):
    """Run fn(); an exception becomes an ERROR row (full traceback printed in the log)."""
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(limit)
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - every failure is a finding
        print(traceback.format_exc(limit=-12), flush=True)
        record(section, check, "ERROR", one_line(exc) + where_raised(exc))
        return None
    finally:
        signal.alarm(0)
        backend.set_backend("numpy")


# ---------------------------------------------------------------- the device
class Device:
    """The backend under test: module, its array type, synchronize(), forbid_sync() context."""

    def __init__(self, stand_in):
        self.stand_in = stand_in
        if stand_in:
            sys.path.insert(0, str(ROOT / "tests"))
            from array_shim import ShimArray, shim
            self.module, self.array_type, self.name = shim, ShimArray, "array_shim (NumPy stand-in, no GPU)"
            self.synchronize = lambda: None
            self.forbid_sync, self.sync_error = _shim_forbid_sync(ShimArray), _ShimSync
            return
        import cupy
        import cupyx
        self.module, self.array_type = cupy, cupy.ndarray
        n = cupy.cuda.runtime.getDeviceCount()
        props = cupy.cuda.runtime.getDeviceProperties(0)
        assert float(cupy.arange(4.0).sum()) == 6.0
        self.name = (f"{props['name'].decode()} ({n} device(s)); cupy {cupy.__version__}, CUDA runtime "
                     f"{cupy.cuda.runtime.runtimeGetVersion()}, driver {cupy.cuda.runtime.driverGetVersion()}")
        self.synchronize = lambda: cupy.cuda.Device().synchronize()
        self.forbid_sync = getattr(cupyx, "allow_synchronize", None)
        self.sync_error = getattr(cupyx, "DeviceSynchronized", None)

    def use(self):
        backend.set_backend(self.module if self.stand_in else "cupy")


class _ShimSync(Exception):
    """The stand-in's DeviceSynchronized: data read back to the host."""


def _shim_forbid_sync(array_type):
    """cupyx.allow_synchronize for the stand-in: reading data back (get, item, float, bool) raises."""
    import contextlib

    @contextlib.contextmanager
    def forbid(allow):
        names = ("get", "item", "__float__", "__bool__", "__int__", "tolist")
        saved = {n: array_type.__dict__[n] for n in names if n in array_type.__dict__}

        def refuse(self, *a, **k):
            raise _ShimSync("device->host read")
        for n in saved:
            setattr(array_type, n, refuse)
        try:
            yield
        finally:
            for n, f in saved.items():
                setattr(array_type, n, f)
    return forbid


# ---------------------------------------------------------------- workarounds (--workarounds)
def install_workarounds(dev):
    """Script-local patches for the incompatibilities the first GPU run found; the source stays as is.
    Each is installed only while retrograd's source still shows the problem."""
    import inspect

    import retrograd.nn.init as rg_init
    import retrograd.ops.conv as rg_conv
    import retrograd.ops.shape as rg_shape

    def fixed(what):
        record("W", what, "INFO", "fixed in the source: no workaround needed")

    mod = dev.module
    dev.use()
    has_errstate = hasattr(backend.xp, "errstate")
    backend.set_backend("numpy")
    if not has_errstate:
        def refill():  # set_backend refills xp from the module: patch after every switch
            if backend.xp.module is mod:
                backend.xp.__dict__["errstate"] = np.errstate  # NumPy's is a no-op context around CuPy calls
        backend._listeners.insert(0, refill)
        record("W", "xp.errstate", "WORKAROUND", f"{mod.__name__} has no errstate: numpy.errstate put in xp "
               "(used in 17 places, e.g. ops/elementwise.py:216, recurrent/fused.py)")
    else:
        fixed("xp.errstate")
    if re.search(r"writeable=(False|True)\)", inspect.getsource(rg_conv.im2col_array)):  # the call, not a comment
        stride_tricks = mod.lib.stride_tricks
        as_strided = stride_tricks.as_strided
        stride_tricks.as_strided = lambda x, shape=None, strides=None, writeable=True: as_strided(x, shape, strides)
        record("W", "as_strided(writeable=)", "WORKAROUND", f"{mod.__name__}.lib.stride_tricks.as_strided takes no "
               "writeable=: dropped (ops/conv.py im2col)")
    else:
        fixed("as_strided(writeable=)")
    if "xp.argsort([" in inspect.getsource(rg_shape.Transpose.vjp):
        argsort = mod.argsort
        mod.argsort = lambda a, *k, **kw: (np.argsort(a, *k, **kw) if isinstance(a, (list, tuple))
                                          else argsort(a, *k, **kw))
        record("W", "xp.argsort(list)", "WORKAROUND", f"{mod.__name__}.argsort refuses a Python list: lists "
               "sorted on the host (ops/shape.py Transpose.vjp)")
    else:
        fixed("xp.argsort(list)")
    if "asarray" not in inspect.getsource(rg_init._fill):
        fill = rg_init._fill

        def device_fill(tensor, values):
            return fill(tensor, backend.xp.asarray(values))
        rg_init._fill = device_fill
        record("W", "nn.init._fill", "WORKAROUND", "host RNG draws assigned into a device array: converted with "
               "xp.asarray first (nn/init.py _fill)")
    else:
        fixed("nn.init._fill")


def patch_gradcheck():
    """gradcheck's `orig = flat[j]` is a 0-d *view* on CuPy: the perturbation overwrites it. Re-run the
    module's source with a copy there (this process only)."""
    import inspect

    gc = sys.modules["retrograd.autograd.gradcheck"]  # the package attribute of that name is the function
    src = inspect.getsource(gc)
    if "orig = flat[j]\n" not in src:
        record("W", "gradcheck orig = flat[j]", "INFO", "fixed in the source: no workaround needed")
        return
    exec(compile(src.replace("orig = flat[j]\n", "orig = flat[j].copy()\n"), gc.__file__, "exec"), gc.__dict__)
    rg.gradcheck, rg.gradgradcheck = gc.gradcheck, gc.gradgradcheck
    record("W", "gradcheck orig = flat[j]", "WORKAROUND", "copied instead of a 0-d view (autograd/gradcheck.py:168)")


# ---------------------------------------------------------------- 0. preflight
def xp_chains():
    """{('add', 'at'): ['ops/x.py:12', ...]} for every xp.a.b… chain in retrograd's source."""
    src = pathlib.Path(rg.__file__).parent
    chains = {}
    for path in sorted(src.rglob("*.py")):
        if "demos" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Attribute):
                continue
            parts, n = [], node
            while isinstance(n, ast.Attribute):
                parts.append(n.attr)
                n = n.value
            parts.reverse()
            if isinstance(n, ast.Name) and n.id == "backend" and parts[:1] == ["xp"]:
                parts = parts[1:]
            elif not (isinstance(n, ast.Name) and n.id == "xp"):
                continue
            # attributes of ArrayModule itself, and method calls on results (xp.add.at is a chain to check)
            if not parts or parts[0] in ("name", "module", "_use"):
                continue
            chains.setdefault(tuple(parts[:3]), []).append(f"{path.relative_to(src)}:{node.lineno}")
    return chains


def preflight(dev):
    chains = xp_chains()
    missing = []
    dev.use()
    xp = backend.xp  # the module as retrograd sees it (backend fills in what it lacks, e.g. errstate)
    backend.set_backend("numpy")
    for chain, sites in sorted(chains.items()):
        obj = xp
        try:
            for a in chain:
                obj = getattr(obj, a)
        except AttributeError:
            missing.append((".".join(chain), sites))
    for name, sites in missing:
        record("0", f"xp.{name}", "FAIL", f"missing on {dev.module.__name__}; used at {', '.join(sites[:6])}"
               + (f" (+{len(sites) - 6} more)" if len(sites) > 6 else ""))
    record("0", "xp attributes", "PASS" if not missing else "FAIL",
           f"{len(chains) - len(missing)}/{len(chains)} xp.<name> chains used by retrograd exist on the device module")


# ---------------------------------------------------------------- a. equality under NumPy and the device
def host(x):
    """(array type or None, NumPy copy) of a Tensor / array / number."""
    if isinstance(x, rg.Tensor):
        x = x.data
    if isinstance(x, (int, float, np.generic, list, tuple)):  # host values by design (Python numbers, lists)
        return None, np.asarray(x)
    return type(x), np.array(backend.to_numpy(x))


def snapshot(values: dict):
    return {k: (None, None) if v is None else host(v) for k, v in values.items()}


def compare(ref, got, dev):
    """Problems as sentences: values off, missing gradients, arrays that are not on the device."""
    wrong, off_device = [], []
    for k, (_, r) in ref.items():
        t, g = got[k]
        if r is None or g is None:
            if (r is None) != (g is None):
                wrong.append(f"{k}: None under one backend only")
            continue
        if t is not None and t is not dev.array_type:
            off_device.append(f"{k} is {t.__module__}.{t.__name__}")
        if r.shape != g.shape or r.dtype != g.dtype:
            wrong.append(f"{k}: {g.dtype}{list(g.shape)} vs numpy {r.dtype}{list(r.shape)}")
            continue
        scale = float(np.max(np.abs(r))) if r.size and r.dtype.kind == "f" else 0.0
        if r.dtype.kind in "fc":
            ok = np.allclose(g, r, rtol=1e-10, atol=1e-10 * scale, equal_nan=True)
        else:
            ok = np.array_equal(g, r)
        if not ok:
            err = float(np.max(np.abs(g.astype(float) - r.astype(float)))) if r.size else 0.0
            wrong.append(f"{k}: max |diff| {err:.3g} (max |ref| {scale:.3g})")
    return wrong, off_device


def op_case(fn, shapes, seed=0):
    """A case from fn(*tensors) -> Tensor: inputs from a host RNG, a fixed random cotangent."""
    def build():
        rng = np.random.default_rng(seed)
        xs = [rg.tensor(rng.standard_normal(s) + 0.1, requires_grad=True) for s in shapes]
        out = fn(*xs)
        v = rg.tensor(rng.standard_normal(out.shape))
        (out * v).sum().backward()
        return {"out": out, **{f"grad{i}": x.grad for i, x in enumerate(xs)}}
    return build


IDX = np.array([0, 2, 2, 1])  # host index arrays: the ops move them to the backend
TARGETS = np.array([0, 2, 1, 2])


def _pool(x, w, b):
    y = rg.conv2d(x, w, b, padding=1)
    return rg.max_pool2d(y, 2) + rg.avg_pool2d(y, 2) + rg.max_pool2d(y, 3, stride=2, padding=1)


OP_CASES = {
    "elementwise": op_case(lambda x, y: (x + y) * (x - y) / (y * y + 1) - (-x) ** 2 + rg.exp(x) * rg.tanh(y)
                           + rg.sigmoid(x) + rg.log(rg.abs(y) + 1) + rg.sqrt(x * x + 1) + rg.sin(x) * rg.cos(y)
                           + rg.pow(rg.abs(x) + 1, y) + rg.log1p(x * x) + rg.clamp(x, -0.3, 0.4)
                           + rg.maximum(x, y), [(4, 5), (5,)]),
    "activations": op_case(lambda x: rg.relu(x) + rg.leaky_relu(x) + rg.elu(x) + rg.softplus(x) + rg.gelu(x)
                           + rg.gelu(x, approximate="tanh") + rg.silu(x) + rg.mish(x) + rg.logsigmoid(x), [(4, 5)]),
    "erf": op_case(lambda x: rg.erf(x), [(4, 5)]),
    "matmul_linear": op_case(lambda x, w, b, m: rg.linear(x, w, b) @ m + rg.matmul(x, w.T).sum(),
                             [(4, 3), (5, 3), (5,), (5, 2)]),
    "batched_matmul_einsum": op_case(lambda a, b: rg.matmul(a, b) + rg.einsum("bij,bjk->bik", a, b),
                                     [(2, 3, 4), (2, 4, 5)]),
    "reductions": op_case(lambda x: rg.sum(x, 0) + rg.mean(x, 0) + rg.max(x, axis=0) + rg.min(x, axis=0)
                          + rg.prod(x, 0) + rg.logsumexp(x, 0) + rg.var(x, 0) + rg.std(x, axis=0)
                          + rg.amax(x, 0) + rg.norm(x) + x.sum() + x.mean(), [(3, 4)]),
    "softmax_log_softmax": op_case(lambda x: rg.softmax(x, -1) * rg.log_softmax(x, 0) + rg.softmax(x, 0),
                                   [(4, 3)]),
    "cross_entropy_nll": op_case(lambda z: rg.cross_entropy(z, TARGETS) + rg.cross_entropy(
        z, TARGETS, weight=rg.tensor(np.array([0.2, 1.0, 3.0])), label_smoothing=0.1)
        + rg.nll_loss(rg.log_softmax(z, -1), TARGETS, ignore_index=1)
        + rg.cross_entropy(z, rg.softmax(rg.tensor(np.arange(12.0).reshape(4, 3)), -1))
        + rg.mse_loss(z, z * 0.5) + rg.binary_cross_entropy_with_logits(z, rg.sigmoid(z.detach())), [(4, 3)]),
    "conv2d": op_case(lambda x, w, b: rg.conv2d(x, w, b, padding=1).sum(1)
                      + rg.conv2d(x, w, stride=2, padding=2, dilation=2).sum(), [(2, 2, 6, 6), (3, 2, 3, 3), (3,)]),
    "max_pool2d": op_case(_pool, [(2, 2, 6, 6), (3, 2, 3, 3), (3,)]),
    "getitem_index": op_case(lambda x: x[IDX].sum(0) + x[1:, ::2].sum() + x[x.data > 0].sum() + x[-1]
                             + rg.gather(x, 1, IDX[:3, None]).sum() + rg.take(x, np.array([1, 7])).sum()
                             + rg.index_select(x, 0, IDX).sum(0) + x[np.array([0, 1]), np.array([2, 3])].sum(),
                             [(3, 4)]),
    "where_masked_fill": op_case(lambda x, y: rg.where(x.data > 0, x, y * 2)
                                 + rg.masked_fill(x, y.data > 0.5, 0.0), [(4, 5), (4, 5)]),
    "shape_ops": op_case(lambda x: rg.concatenate([rg.reshape(x, (4, 3)), rg.transpose(x)], 0).sum(1)[2:6]
                         + rg.stack([x[0], x[1]], 0).flatten().sum() + rg.pad(x, 1).sum(0)[1:-1]
                         + rg.broadcast_to(x[0], (2, 4)).sum(0) + rg.flip(x, 0).sum(0) + rg.roll(x, 1, 1).sum(0)
                         + rg.cumsum(x, 0)[-1], [(3, 4)]),
    "layer_batch_norm": op_case(lambda x, w, b: nn.functional.layer_norm(x, (5,), w, b)
                                + nn.functional.batch_norm(x, None, None, w, b, training=True), [(4, 5), (5,), (5,)]),
    "embedding": op_case(lambda w: nn.functional.embedding(np.array([[1, 3], [3, 0]]), w), [(5, 4)]),
}


def layer_case(kind, **kw):
    def build():
        rg.manual_seed(0)
        layer = getattr(nn, kind)(6, 5, num_layers=2, batch_first=True, **kw).double()
        rng = np.random.default_rng(1)
        x = rg.tensor(rng.standard_normal((4, 7, 6)), requires_grad=True)
        out, state = layer(x)
        states = state if isinstance(state, tuple) else (state,)
        loss = (out * rg.tensor(rng.standard_normal(out.shape))).sum()
        for s in states:
            loss = loss + (s * rg.tensor(rng.standard_normal(s.shape))).sum()
        loss.backward()
        got = {"out": out, "x.grad": x.grad, **{f"state{i}": s for i, s in enumerate(states)}}
        got.update({f"{n}.grad": p.grad for n, p in layer.named_parameters()})
        return got
    return build


def cell_case():
    rg.manual_seed(0)
    cell = nn.LSTMCell(6, 5).double()
    rng = np.random.default_rng(2)
    xs = rg.tensor(rng.standard_normal((7, 3, 6)), requires_grad=True)
    state = None
    for t in range(7):
        state = cell(xs[t], state)
    (state[0].sum() + (state[1] * state[1]).sum()).backward()
    return {"h": state[0], "c": state[1], "x.grad": xs.grad, **{n: p.grad for n, p in cell.named_parameters()}}


def training_case(make_model, shape, steps=3):
    def build():
        rg.manual_seed(0)
        model = make_model().double()
        opt = optim.Adam(model.parameters(), lr=0.01)
        rng = np.random.default_rng(1)
        x, y = rg.tensor(rng.standard_normal(shape)), rg.tensor(rng.integers(0, 3, shape[0]))
        got = {}
        for i in range(steps):
            opt.zero_grad()
            loss = rg.cross_entropy(model(x), y)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            opt.step()
            got[f"loss{i}"] = loss
        got.update({k: v for k, v in model.state_dict().items()})
        got.update({f"{n}.grad": p.grad for n, p in model.named_parameters()})
        for j, state in enumerate(opt.state.values() if isinstance(opt.state, dict) else []):
            for k, v in (state.items() if isinstance(state, dict) else []):
                if hasattr(v, "shape") and getattr(v, "ndim", 0) > 0:
                    got[f"adam.{j}.{k}"] = v
        return got
    return build


MODEL_CASES = {
    "nn.LSTM(2 layers)": layer_case("LSTM"),
    "nn.GRU(2 layers)": layer_case("GRU"),
    "nn.RNN(tanh)": layer_case("RNN"),
    "nn.RNN(relu)": layer_case("RNN", nonlinearity="relu"),
    "nn.LSTMCell loop": cell_case,
    "MLP + Adam (3 steps)": training_case(
        lambda: nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 3)), (8, 6)),
    # no conv bias before BatchNorm: its gradient is exactly 0 in theory, rounding noise in practice (~1e-17,
    # differently summed on CPU and GPU), and Adam divides it by its own RMS, so the update is noise
    # (the first GPU run failed there, by 3e-10, for that reason only)
    "CNN + Adam (3 steps)": training_case(
        lambda: nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Flatten(), nn.Linear(16, 3)), (4, 2, 4, 4)),
}


def equality(dev, section, cases):
    for name, build in cases.items():
        ref = guarded(section, name, lambda: snapshot(build()))
        if ref is None:
            continue

        def on_device():
            dev.use()
            return snapshot(build())
        got = guarded(section, name, on_device)
        if got is None:
            continue
        wrong, off_device = compare(ref, got, dev)
        if off_device:
            record(section, name, "HOST", "not on the device: " + "; ".join(off_device[:5]))
        if wrong:
            record(section, name, "FAIL", "; ".join(wrong[:5]))
        if not wrong and not off_device:
            record(section, name, "PASS", f"{len(ref)} arrays equal, all on the device")
            sync_probe(dev, section, name, build)


def sync_probe(dev, section, name, build):
    """Re-run with device synchronisation forbidden: a sync inside forward/backward is a host round trip."""
    if dev.forbid_sync is None:
        return
    dev.use()
    try:
        with dev.forbid_sync(False):
            build()
    except Exception as exc:  # noqa: BLE001
        if dev.sync_error is not None and isinstance(exc, dev.sync_error):
            record(section, name + " (sync)", "INFO", "device→host synchronisation" + where_raised(exc))
        else:
            record(section, name + " (sync)", "INFO", "probe raised " + one_line(exc) + where_raised(exc))
    finally:
        backend.set_backend("numpy")


# ---------------------------------------------------------------- b. gradcheck on the device
def _lstm_fn(x):
    rg.manual_seed(0)
    layer = nn.LSTM(3, 4).double()
    out, (h, c) = layer(x)
    return out.sum(0) + c[0]


GRADCHECKS = {  # name: (fn, input shapes, smooth: a kink reported there means the differences are wrong)
    "tanh(x @ w)": (lambda x, w: rg.tanh(x @ w), [(3, 4), (4, 2)], True),
    "conv2d + max_pool2d": (lambda x, w: rg.max_pool2d(rg.conv2d(x, w, padding=1), 2), [(1, 2, 4, 4), (2, 2, 3, 3)],
                            False),
    "cross_entropy": (lambda z: rg.cross_entropy(z, TARGETS[:3]), [(3, 3)], True),
    "log_softmax + getitem": (lambda x: rg.log_softmax(x, -1)[IDX[:2]], [(3, 4)], True),
    "layer_norm": (lambda x: nn.functional.layer_norm(x, (4,)), [(3, 4)], True),
    "nn.LSTM input": (_lstm_fn, [(5, 2, 3)], True),
}


class _HalfGradExp(UnaryOp):
    """eˣ with a deliberately wrong vjp (half the true gradient): a gradcheck that passes it is blind."""
    name, save_ans = "exp_half_grad", True
    __slots__ = ()

    def forward(self, x): return backend.xp.exp(x)
    def vjp(self, ns, g, y, x): return (g * y * 0.5,)


def gradcheck_sentinel(dev, label):
    def run():
        dev.use()
        return rg.gradcheck(lambda x: _HalfGradExp()(x), [np.linspace(-1.0, 1.0, 6)])
    report = guarded("b", f"sentinel: wrong gradient caught ({label})", run)
    if report is not None:
        record("b", f"sentinel: wrong gradient caught ({label})", "FAIL" if report.ok else "PASS",
               ("gradcheck PASSED a vjp that is half the true gradient: " if report.ok else "")
               + str(report).splitlines()[0])


def gradchecks(dev, workarounds):
    gradcheck_sentinel(dev, "gradcheck as is")
    if workarounds:
        guarded("W", "gradcheck patch", patch_gradcheck)
        gradcheck_sentinel(dev, "patched gradcheck")
    for name, (fn, shapes, smooth) in GRADCHECKS.items():
        def run(fn=fn, shapes=shapes):
            rng = np.random.default_rng(3)
            inputs = [rng.standard_normal(s) + 0.1 for s in shapes]
            dev.use()
            return rg.gradcheck(fn, inputs)
        report = guarded("b", name, run)
        if report is not None:
            blind = smooth and report.kinks
            record("b", name, "PASS" if report.ok and not blind else "FAIL",
                   ("kinks reported on a smooth function (one-sided differences disagree): " if blind else "")
                   + str(report).splitlines()[0])

    def second_order():
        dev.use()
        rng = np.random.default_rng(4)
        return rg.gradgradcheck(lambda x, w: rg.tanh(x @ w).sum() * rg.sigmoid(x).sum(),
                                [rng.standard_normal((2, 3)), rng.standard_normal((3, 2))])
    report = guarded("b", "gradgradcheck tanh/sigmoid", second_order)
    if report is not None:
        blind = bool(report.kinks)
        record("b", "gradgradcheck tanh/sigmoid", "PASS" if report.ok and not blind else "FAIL",
               ("kinks reported on a smooth function: " if blind else "") + str(report).splitlines()[0])


# ---------------------------------------------------------------- c. timing
def lstm_problem(B, T, I, H, O):
    rng = np.random.default_rng(0)
    k = 1 / np.sqrt(H)
    u = lambda *s: rng.uniform(-k, k, s).astype(np.float32)  # noqa: E731
    params = {"weight_ih_l0": u(4 * H, I), "weight_hh_l0": u(4 * H, H), "bias_ih_l0": u(4 * H),
              "bias_hh_l0": u(4 * H), "weight": u(O, H), "bias": u(O)}
    x = rng.standard_normal((T, B, I)).astype(np.float32)
    y = rng.standard_normal((T, B, O)).astype(np.float32)
    return params, x, y


def retrograd_stepper(params, x, y, I, H, O, lr=0.05):
    rnn, lin = nn.LSTM(I, H).float(), nn.Linear(H, O).float()
    rnn.load_state_dict({k: v for k, v in params.items() if k.endswith("_l0")})
    lin.load_state_dict({"weight": params["weight"], "bias": params["bias"]})
    opt = optim.SGD(list(rnn.parameters()) + list(lin.parameters()), lr=lr)
    xt, yt = rg.tensor(x), rg.tensor(y)

    def step():
        opt.zero_grad()
        out, _ = rnn(xt)
        loss = rg.mse_loss(lin(out), yt)
        loss.backward()
        opt.step()
        return loss
    return step, rnn


def torch_stepper(torch, params, x, y, I, H, O, lr=0.05):
    rnn, lin = torch.nn.LSTM(I, H).cuda(), torch.nn.Linear(H, O).cuda()
    with torch.no_grad():
        for k, v in params.items():
            (getattr(rnn, k) if k.endswith("_l0") else getattr(lin, k)).copy_(torch.from_numpy(v))
    opt = torch.optim.SGD(list(rnn.parameters()) + list(lin.parameters()), lr=lr)
    xt, yt = torch.from_numpy(x).cuda(), torch.from_numpy(y).cuda()

    def step():
        opt.zero_grad(set_to_none=True)
        out, _ = rnn(xt)
        loss = torch.nn.functional.mse_loss(lin(out), yt)
        loss.backward()
        opt.step()
        return loss
    return step, rnn


def time_steps(step, sync, warmup, reps):
    for _ in range(warmup):
        step()
    sync()
    times = []
    for _ in range(reps):
        sync()
        t = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - t)
    return statistics.median(times), times


def timing(dev, args):
    B, T, I, H, O = args.lstm
    params, x, y = lstm_problem(B, T, I, H, O)
    cfg = f"B{B} T{T} I{I} H{H} O{O} float32"
    medians, first_loss, whh_grad = {}, {}, {}
    mine = "retrograd shim" if dev.stand_in else "retrograd cupy"

    def first(name, step, rnn, get):
        loss = step()  # one step from the initial weights: the loss and W_hh's gradient, before the update
        first_loss[name] = float(get(loss))
        g = rnn.weight_hh_l0.grad
        whh_grad[name] = (g.detach().cpu().numpy() if type(g).__module__.startswith("torch")
                          else np.array(backend.to_numpy(g.data)))

    def device_run():
        dev.use()
        step, rnn = retrograd_stepper(params, x, y, I, H, O)
        first(mine, step, rnn, lambda l: l.item())
        on_dev = type(rnn.weight_hh_l0.data) is dev.array_type and type(rnn.weight_hh_l0.grad.data) is dev.array_type
        medians[mine] = time_steps(step, dev.synchronize, args.warmup, args.reps)
        return on_dev
    on_dev = guarded("c", mine + " LSTM step", device_run, limit=150)
    if on_dev is False:
        record("c", mine + " LSTM step", "HOST", "weights or gradients not on the device")

    if not dev.stand_in:
        def torch_run(tf32):
            import torch
            torch.backends.cudnn.allow_tf32 = tf32
            torch.backends.cuda.matmul.allow_tf32 = tf32
            step, rnn = torch_stepper(torch, params, x, y, I, H, O)
            name = f"torch nn.LSTM cuda (TF32 {'on' if tf32 else 'off'})"
            first(name, step, rnn, lambda l: l.item())
            medians[name] = time_steps(step, torch.cuda.synchronize, args.warmup, args.reps)
        guarded("c", "torch nn.LSTM cuda (TF32 off)", lambda: torch_run(False), limit=120)
        guarded("c", "torch nn.LSTM cuda (TF32 on, default cuDNN)", lambda: torch_run(True), limit=120)

    def cpu_run():
        step, rnn = retrograd_stepper(params, x, y, I, H, O)
        first("retrograd numpy (CPU)", step, rnn, lambda l: l.item())
        medians["retrograd numpy (CPU)"] = time_steps(step, lambda: None, 1, args.cpu_reps)
    guarded("c", "retrograd numpy CPU LSTM step", cpu_run, limit=150)

    # the timed programs compute the same thing: first-step loss and dL/dW_hh against retrograd on NumPy
    base = "retrograd numpy (CPU)"
    for name in first_loss:
        if name == base or base not in first_loss:
            continue
        rel_loss = abs(first_loss[name] - first_loss[base]) / abs(first_loss[base])
        g, r = whh_grad[name], whh_grad[base]
        rel_grad = float(np.max(np.abs(g - r)) / np.max(np.abs(r)))
        ok = rel_loss < 1e-4 and rel_grad < (5e-3 if "TF32 on" in name else 1e-3)
        record("c", f"same numbers: {name}", "PASS" if ok else "FAIL",
               f"loss rel diff {rel_loss:.2e}, dW_hh max diff / max {rel_grad:.2e} (vs retrograd numpy)")

    print(f"\n### LSTM training step, full BPTT ({cfg}); median of {args.reps} steps "
          f"({args.cpu_reps} on the CPU) after warm-up\n")
    print(f"| implementation | median ms | min ms | time / {mine} |")
    print("|---|---|---|---|")
    ref = medians.get(mine, (None,))[0]
    for name, (med, times) in medians.items():
        ratio = f"{med / ref:.2f}" if ref else "-"
        print(f"| {name} | {med * 1e3:.2f} | {min(times) * 1e3:.2f} | {ratio} |")
    if ref:
        for name, (med, _) in medians.items():
            if name != mine:
                record("c", f"ratio {mine} / {name}", "INFO", f"{ref / med:.2f}  ({ref * 1e3:.2f} ms vs "
                                                                       f"{med * 1e3:.2f} ms, {cfg})")
    return medians


# ---------------------------------------------------------------- d. extras
def checkpoint_case():
    rg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    opt = optim.Adam(model.parameters(), lr=0.01)
    loss = rg.mse_loss(model(rg.tensor(np.ones((2, 3)))), rg.tensor(np.zeros((2, 2))))
    loss.backward()
    opt.step()
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "m.safetensors")
        rg.save(path, model, opt, epoch=1)
        fresh = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()
        rg.load(path, fresh, optim.Adam(fresh.parameters(), lr=0.01))
    return {f"loaded.{k}": v for k, v in fresh.state_dict().items()}


def fit_case():
    rg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)).double()
    rng = np.random.default_rng(5)
    data = (rng.standard_normal((32, 4)), rng.integers(0, 3, 32))
    loader = rg.data.DataLoader(data, batch_size=8, shuffle=True)
    hist = rg.train.fit(model, rg.cross_entropy, optim.SGD(model.parameters(), lr=0.1), loader, epochs=2)
    return {**model.state_dict(), "history": [float(v) for v in hist.history["loss"]]}


def tbptt_case():
    rg.manual_seed(0)

    class Model(nn.Module):
        sequence_model = True

        def __init__(self):
            super().__init__()
            self.lstm, self.head = nn.LSTM(3, 4), nn.Linear(4, 2)

        def forward(self, x, state):
            h, state = self.lstm(x, state)
            return self.head(h), state
    model = Model().double()
    rng = np.random.default_rng(3)
    xs, ys = rng.standard_normal((12, 2, 3)), rng.integers(0, 2, (12, 2))
    _, losses = rg.bptt.train(model, xs, ys, rg.cross_entropy, optim.SGD(model.parameters(), lr=0.1),
                              rg.bptt.chunk(4))
    return {**model.state_dict(), "losses": [float(v) for v in losses]}


def _seeded_dropout(x):
    rg.manual_seed(0)  # the same mask under both backends (drawn on the host)
    return nn.functional.dropout(x, 0.5, training=True)


EXTRA_CASES = {
    "sort/topk/argmax/cumprod": op_case(lambda x: rg.sort(x, 1).values + rg.topk(x, 4, 1).values
                                        + rg.cumprod(x, 1) + rg.argmax(x, 1).data[:, None] * 0, [(3, 4)]),
    "conv_transpose2d/conv1d": op_case(lambda x, w, v: rg.conv_transpose2d(x, w, stride=2).sum()
                                       + rg.conv1d(x[:, :, 0], v, padding=1).sum(), [(1, 2, 3, 3), (2, 3, 3, 3),
                                                                                     (4, 2, 3)]),
    "dropout (train, seeded)": op_case(_seeded_dropout, [(6, 6)]),
    "checkpoint save/load": checkpoint_case,
    "train.fit (2 epochs)": fit_case,
    "bptt.train chunk(4)": tbptt_case,
}


# ---------------------------------------------------------------- main
def summary():
    print("\n### Summary\n")
    print("| section | check | status | detail |")
    print("|---|---|---|---|")
    for section, check, status, detail in ROWS:
        print(f"| {section} | {check} | {status} | {detail.replace('|', '/')} |")
    counts = {s: sum(r[2] == s for r in ROWS) for s in ("PASS", "FAIL", "ERROR", "HOST", "INFO", "SKIP", "WORKAROUND")}
    print("\n" + ", ".join(f"{k} {v}" for k, v in counts.items()) + f"; {elapsed():.0f} s")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--stand-in", action="store_true", help="no GPU: check against tests/array_shim instead of CuPy")
    ap.add_argument("--lstm", type=int, nargs=5, default=[64, 100, 128, 512, 32], metavar=("B", "T", "I", "H", "O"))
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--cpu-reps", type=int, default=5)
    ap.add_argument("--budget", type=float, default=300, help="seconds after which optional sections are skipped")
    ap.add_argument("--sections", default="0abcd")
    ap.add_argument("--workarounds", action="store_true",
                    help="patch (in this process) the CuPy incompatibilities found so far, to check what lies behind")
    args = ap.parse_args(argv)

    print(f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} CPUs; retrograd from "
          f"{pathlib.Path(rg.__file__).parent}", flush=True)
    try:
        dev = Device(args.stand_in)
    except Exception as exc:  # noqa: BLE001
        print(traceback.format_exc(limit=-6))
        print(f"no device backend: {one_line(exc)}\n(run with --stand-in to exercise the checks on the NumPy "
              f"stand-in in tests/array_shim.py)")
        return 2
    print(f"device: {dev.name}", flush=True)
    try:
        import torch
        print(f"torch {torch.__version__}, cuda {torch.version.cuda}, cudnn "
              f"{torch.backends.cudnn.version() if torch.cuda.is_available() else '-'}", flush=True)
    except ImportError:
        print("torch: not installed")

    if "0" in args.sections:
        preflight(dev)
    if args.workarounds:
        guarded("W", "install workarounds", lambda: install_workarounds(dev))
    if "a" in args.sections:
        equality(dev, "a", OP_CASES)
        equality(dev, "a", MODEL_CASES)
    if "c" in args.sections:
        timing(dev, args)
    if "b" in args.sections:
        gradchecks(dev, args.workarounds)
    if "d" in args.sections:
        if elapsed() < args.budget:
            equality(dev, "d", EXTRA_CASES)
        else:
            record("d", "extras", "SKIP", f"out of time ({elapsed():.0f} s > --budget {args.budget:.0f} s)")
    summary()
    return 1 if any(r[2] in BAD for r in ROWS) else 0


if __name__ == "__main__":
    sys.exit(main())
