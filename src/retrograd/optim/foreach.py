"""Optimizer updates fused across parameters (PyTorch's ``foreach``/``fused`` Adam and SGD).

The per-parameter update is a handful of array passes per parameter: on a GPU
each is a kernel launch, so an MLP's Adam step is dozens of launches for very
little arithmetic. Here a group's parameters are updated together:

- on CuPy, one ``RawKernel`` launch per group (and dtype, and step count):
  a table of the parameters', gradients' and states' device pointers and the
  parameters' element offsets; each thread finds its parameter by binary
  search over the offsets and applies the whole update to one element;
- elsewhere (``foreach=True`` on NumPy, or the device stand-in in tests), the
  kernel's NumPy twin: the group's arrays concatenated into flat arrays, the
  same per-element expressions applied once, and the results written back in
  place.

Both compute, per element, exactly the expressions of ``Adam.update`` and
``SGD.update`` in the same order (tested equal to 1e-12 in float64). Nothing
about the parameters changes: each keeps its own array (updated in place), its
own state arrays and its ``state_dict`` entry; a parameter whose array was
replaced (``p.data = …``) is simply read from its new array at the next step.

Selection (the ``foreach`` hyper-parameter, as in PyTorch): None (default)
fuses on a device backend (CuPy; the tests' device stand-in runs the twin), not
on NumPy; True fuses on any backend; False never.
Parameters the kernel cannot take (a dtype other than float32/float64, arrays
that are not C-contiguous) take the per-parameter update.
"""

from __future__ import annotations

import math

from ..autograd import backend
from ..autograd.backend import xp

FUSED_DTYPES = ("float32", "float64")

# Each kernel: for every element e of the group, find its tensor k (offsets[k] <= e < offsets[k+1]),
# then apply the update. table holds, per tensor, the data pointers of its SLOTS arrays. The scalars
# are doubles computed on the host exactly as the per-parameter update computes them in Python.
KERNEL_SOURCE = r"""
#ifndef RG_GLOBAL_ID
#define RG_GLOBAL_ID ((long long)blockIdx.x * blockDim.x + threadIdx.x)
#define RG_GLOBAL_SIZE ((long long)gridDim.x * blockDim.x)
#endif

__device__ __forceinline__ int rg_tensor_of(const long long *offsets, int n, long long e) {
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (offsets[mid] <= e) lo = mid; else hi = mid - 1;
    }
    return lo;
}

extern "C" __global__ void rg_adam(const long long *table, const long long *offsets, int n, long long total,
                                   double decay, double wd, double b1, double one_b1, double b2, double one_b2,
                                   double amsgrad, double sqrt_bc2, double eps, double lr_bc1) {
    for (long long e = RG_GLOBAL_ID; e < total; e += RG_GLOBAL_SIZE) {
        int k = rg_tensor_of(offsets, n, e);
        long long j = e - offsets[k];
        T *p = (T *)table[5 * k], *m = (T *)table[5 * k + 2], *v = (T *)table[5 * k + 3];
        const T *g = (const T *)table[5 * k + 1];
        T pv = p[j], gv = g[j];
        if (decay != 1.0) pv = pv * (T)decay;          /* AdamW: p *= 1 - lr*wd */
        if (wd != 0.0) gv = gv + (T)wd * pv;           /* Adam: g + wd*p */
        T mv = m[j] * (T)b1;
        mv = mv + (T)one_b1 * gv;
        T vv = v[j] * (T)b2;
        vv = vv + (T)one_b2 * gv * gv;
        m[j] = mv;
        v[j] = vv;
        if (amsgrad != 0.0) {
            T *vmax = (T *)table[5 * k + 4];
            T mx = vmax[j];
            mx = (mx != mx || mx > vv) ? mx : vv;      /* NumPy's maximum: NaN wins */
            vmax[j] = mx;
            vv = mx;
        }
        T denom = sqrt(vv) / (T)sqrt_bc2 + (T)eps;
        p[j] = pv - (T)lr_bc1 * mv / denom;
    }
}

extern "C" __global__ void rg_sgd(const long long *table, const long long *offsets, int n, long long total,
                                  double wd, double mu, double one_damp, double nesterov, double first,
                                  double lr) {
    for (long long e = RG_GLOBAL_ID; e < total; e += RG_GLOBAL_SIZE) {
        int k = rg_tensor_of(offsets, n, e);
        long long j = e - offsets[k];
        T *p = (T *)table[5 * k];
        const T *g = (const T *)table[5 * k + 1];
        T pv = p[j], gv = g[j];
        if (wd != 0.0) gv = gv + (T)wd * pv;
        if (mu != 0.0) {
            T *buf = (T *)table[5 * k + 2];
            T bv;
            if (first != 0.0) {
                bv = gv;                                /* the buffer starts as the gradient */
            } else {
                bv = buf[j] * (T)mu;
                bv = bv + (T)one_damp * gv;
            }
            buf[j] = bv;
            gv = nesterov != 0.0 ? gv + (T)mu * bv : bv;
        }
        p[j] = pv - (T)lr * gv;
    }
}
"""


def source(ctype: str) -> str:
    """The kernels' CUDA source for one element type (``float`` or ``double``)."""
    return f"typedef {ctype} T;\n" + KERNEL_SOURCE


def wanted(group) -> bool:
    """Whether this group's update runs fused (the ``foreach`` hyper-parameter)."""
    f = group.get("foreach")
    return bool(f) or (f is None and backend.get_backend() != "numpy")


# ------------------------------------------------------------ the group's entries
def _fusable(*arrays):
    return all(a.flags.c_contiguous and a.dtype == arrays[0].dtype for a in arrays) and \
        str(arrays[0].dtype) in FUSED_DTYPES


def _gradient(p):
    g = p.grad.data
    if g.dtype != p.data.dtype or not g.flags.c_contiguous:  # a broadcast or cast gradient: one copy
        g = xp.ascontiguousarray(g, dtype=p.data.dtype)
    return g


def _batches(entries):
    """Entries grouped by what one launch shares: (dtype, key) -> [entry]."""
    out = {}
    for key, entry in entries:
        out.setdefault((str(entry[0].dtype), key), []).append(entry)
    return out


def _with_gradients(group):
    """The parameters of ``group`` that have a gradient this step."""
    return [p for p in group["params"] if p.grad is not None]


def adam_step(opt, group, states) -> None:
    """``Adam.update`` (``AdamW``'s with ``opt.decoupled``) of every parameter of
    ``group`` that has a gradient, fused; the others as ``opt.update``."""
    lr, wd, (b1, b2), eps, ams = group["lr"], group["weight_decay"], group["betas"], group["eps"], group["amsgrad"]
    entries = []
    for p in _with_gradients(group):
        state = states.setdefault(id(p), {})
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(p.data)
            state["exp_avg_sq"] = xp.zeros_like(p.data)
            if ams:
                state["max_exp_avg_sq"] = xp.zeros_like(p.data)
        g = _gradient(p)
        arrays = (p.data, g, state["exp_avg"], state["exp_avg_sq"], state.get("max_exp_avg_sq", p.data))
        if not _fusable(*arrays) or (ams and "max_exp_avg_sq" not in state):
            opt.update(p, p.grad.data, state, group)
            continue
        state["step"] += 1
        entries.append((state["step"], arrays))
    for (dtype, t), batch in _batches(entries).items():
        bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t
        decay = 1 - lr * wd if (wd and opt.decoupled) else 1.0
        scalars = (decay, 0.0 if opt.decoupled else wd, b1, 1 - b1, b2, 1 - b2, 1.0 if ams else 0.0,
                   math.sqrt(bc2), eps, lr / bc1)
        _launch("rg_adam", batch, scalars)


def sgd_step(opt, group, states) -> None:
    """``SGD.update`` of every parameter of ``group`` that has a gradient, fused."""
    lr, wd, mu, damp, nesterov = (group["lr"], group["weight_decay"], group["momentum"], group["dampening"],
                                  group["nesterov"])
    entries = []
    for p in _with_gradients(group):
        state = states.setdefault(id(p), {})
        g = _gradient(p)
        buf = state.get("momentum_buffer")
        first = bool(mu) and buf is None
        if first:
            buf = xp.empty_like(p.data)
        arrays = (p.data, g, p.data if not mu else buf, p.data, p.data)
        if not _fusable(*arrays):
            opt.update(p, p.grad.data, state, group)
            continue
        if first:
            state["momentum_buffer"] = buf
        entries.append((first, arrays))
    for (dtype, first), batch in _batches(entries).items():
        _launch("rg_sgd", batch, (wd, mu, 1 - damp, 1.0 if nesterov else 0.0, 1.0 if first else 0.0, lr))


# ------------------------------------------------------------ the launch: CuPy kernel or NumPy twin
_cupy = {}  # dtype name -> {kernel name -> cupy RawKernel}, built on the first fused step on a GPU


def _launch(name, batch, scalars):
    if backend.get_backend() == "cupy":
        _launch_cupy(name, batch, scalars)
    else:
        TWINS[name](batch, scalars)


def tables(batch, pointer):
    """(pointer table, element offsets) of a batch of entries (5 arrays each)."""
    table, offsets, total = [], [0], 0
    for arrays in batch:
        table += [pointer(a) for a in arrays]
        total += arrays[0].size
        offsets.append(total)
    return table, offsets


def _launch_cupy(name, batch, scalars):  # pragma: no cover - needs a GPU
    import cupy
    dtype = str(batch[0][0].dtype)
    kernels = _cupy.get(dtype)
    if kernels is None:
        module = cupy.RawModule(code=source("float" if dtype == "float32" else "double"))
        kernels = _cupy[dtype] = {k: module.get_function(k) for k in ("rg_adam", "rg_sgd")}
    table, offsets = tables(batch, lambda a: a.data.ptr)
    total = offsets[-1]
    if not total:
        return
    threads = 256
    blocks = min((total + threads - 1) // threads, 8192)  # grid-stride beyond that
    kernels[name]((blocks,), (threads,), (cupy.asarray(table, dtype=cupy.int64), cupy.asarray(offsets, dtype=cupy.int64),
                                          cupy.int32(len(batch)), cupy.int64(total),
                                          *(cupy.float64(s) for s in scalars)))


def _flat(batch, slot):
    return xp.concatenate([arrays[slot].reshape(-1) for arrays in batch])


def _write_back(batch, slot, flat):
    o = 0
    for arrays in batch:
        a = arrays[slot]
        a[...] = flat[o:o + a.size].reshape(a.shape)
        o += a.size


def twin_adam(batch, scalars):
    """``rg_adam``'s per-element expressions over the batch's flat arrays."""
    decay, wd, b1, one_b1, b2, one_b2, amsgrad, sqrt_bc2, eps, lr_bc1 = scalars
    p, g, m, v = (_flat(batch, s) for s in range(4))
    if decay != 1.0:
        p = p * decay
    if wd != 0.0:
        g = g + wd * p
    m = m * b1
    m = m + one_b1 * g
    v = v * b2
    v = v + one_b2 * g * g
    _write_back(batch, 2, m)
    _write_back(batch, 3, v)
    if amsgrad:
        v = xp.maximum(_flat(batch, 4), v)
        _write_back(batch, 4, v)
    denom = xp.sqrt(v) / sqrt_bc2 + eps
    _write_back(batch, 0, p - lr_bc1 * m / denom)


def twin_sgd(batch, scalars):
    """``rg_sgd``'s per-element expressions over the batch's flat arrays."""
    wd, mu, one_damp, nesterov, first, lr = scalars
    p, g = _flat(batch, 0), _flat(batch, 1)
    if wd != 0.0:
        g = g + wd * p
    if mu != 0.0:
        if first:
            b = g
        else:
            b = _flat(batch, 2) * mu
            b = b + one_damp * g
        _write_back(batch, 2, b)
        g = g + mu * b if nesterov else b
    _write_back(batch, 0, p - lr * g)


TWINS = {"rg_adam": twin_adam, "rg_sgd": twin_sgd}
"""The NumPy twins of the kernels, by kernel name: ``twin(batch, scalars)``."""
