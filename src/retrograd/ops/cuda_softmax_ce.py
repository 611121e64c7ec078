"""Softmax cross-entropy from logits in one GPU kernel (class-index targets).

``rg.cross_entropy`` on NumPy takes several passes over the (N, C) logits
(max, shift, exp, sum, log, pick, divide, subtract at the targets), each a
kernel launch on a GPU and each a trip through device memory. Here one warp
per row does the whole row: the max and the sum of exponentials as warp
reductions, then the row's loss ℓᵢ = log Σ_c e^{z_c − m} − (z_{yᵢ} − m) and
its gradient row softmax(zᵢ) − onehot(yᵢ), written once. The backward pass is
then one multiply (that row times ℓ̄, ÷ the count for "mean").

``rows(z, y, ignore_index)`` → (ℓ (N,), δ (N, C), bad): the CuPy ``RawKernel``
on the ``"cupy"`` backend, the NumPy twin (the same expressions) elsewhere.
Rows whose target equals ``ignore_index`` get ℓ = 0 and δ = 0; a target
outside [0, C) makes its row NaN and sets ``bad`` (a 0-d device flag, read
when convenient: the kernel never makes the host wait). No class weights or
label smoothing: those keep ``softmax_cross_entropy.CrossEntropy``'s path.
"""

from __future__ import annotations

from ..autograd import backend
from ..autograd.backend import xp

KERNEL_SOURCE = r"""
#ifndef RG_LANE
#define RG_LANE ((long long)(threadIdx.x & 31))
#define RG_LANES 32LL
#define RG_ROW0 (((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5)
#define RG_ROWSTEP (((long long)gridDim.x * blockDim.x) >> 5)
__device__ __forceinline__ T rg_warp_max(T v) {
    for (int o = 16; o > 0; o >>= 1) {
        T w = __shfl_xor_sync(0xffffffffu, v, o);
        v = (v != v || v > w) ? v : w;  /* NaN wins, as NumPy's max */
    }
    return v;
}
__device__ __forceinline__ T rg_warp_sum(T v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
#endif

/* one warp per row (rows strided over the grid; every lane of a warp takes the same row) */
extern "C" __global__ void rg_softmax_ce(const T *z, const long long *y, long long n, long long c,
                                         long long ignore_index, T *loss, T *delta, int *bad) {
    for (long long r = RG_ROW0; r < n; r += RG_ROWSTEP) {
        const T *zr = z + r * c;
        T *dr = delta + r * c;
        long long t = y[r];
        if (t == ignore_index) {
            for (long long k = RG_LANE; k < c; k += RG_LANES) dr[k] = T(0);
            if (RG_LANE == 0) loss[r] = T(0);
            continue;
        }
        if (t < 0 || t >= c) {
            T nan = T(0) / T(0);
            for (long long k = RG_LANE; k < c; k += RG_LANES) dr[k] = nan;
            if (RG_LANE == 0) { loss[r] = nan; *bad = 1; }
            continue;
        }
        T m = -T(1) / T(0);  /* -inf (NVRTC has no math.h macros) */
        for (long long k = RG_LANE; k < c; k += RG_LANES) {
            T v = zr[k];
            m = (m != m || m > v) ? m : v;
        }
        m = rg_warp_max(m);
        T s = T(0);
        for (long long k = RG_LANE; k < c; k += RG_LANES) s += exp(zr[k] - m);
        s = rg_warp_sum(s);
        for (long long k = RG_LANE; k < c; k += RG_LANES) dr[k] = exp(zr[k] - m) / s - (k == t ? T(1) : T(0));
        if (RG_LANE == 0) loss[r] = log(s) - (zr[t] - m);
    }
}
"""


def source(ctype: str) -> str:
    """The kernel's CUDA source for one element type (``float`` or ``double``)."""
    return f"typedef {ctype} T;\n" + KERNEL_SOURCE


_kernels = {}  # dtype name -> the CuPy RawKernel, compiled on first use on a GPU


def rows(z, y, ignore_index: int = -100):
    """(ℓ, δ, bad) of (N, C) logits ``z`` (float32/float64) and int64 targets ``y`` (N,):
    ℓᵢ = logsumexp(zᵢ) − z_{i,yᵢ}, δᵢ = softmax(zᵢ) − onehot(yᵢ), zero for ignored rows."""
    if backend.get_backend() == "cupy":  # pragma: no cover - needs a GPU
        return _rows_cupy(z, y, ignore_index)
    return twin_rows(z, y, ignore_index)


def _rows_cupy(z, y, ignore_index):  # pragma: no cover - needs a GPU
    import cupy
    name = str(z.dtype)
    kernel = _kernels.get(name)
    if kernel is None:
        kernel = _kernels[name] = cupy.RawKernel(source("float" if name == "float32" else "double"),
                                                 "rg_softmax_ce")
    z = cupy.ascontiguousarray(z)
    y = cupy.ascontiguousarray(y, dtype=cupy.int64)
    n, c = z.shape
    loss, delta, bad = cupy.empty(n, z.dtype), cupy.empty_like(z), cupy.zeros((), cupy.int32)
    threads = 256
    blocks = max(1, min((n * 32 + threads - 1) // threads, 65535))
    kernel((blocks,), (threads,), (z, y, cupy.int64(n), cupy.int64(c), cupy.int64(ignore_index), loss, delta, bad))
    return loss, delta, bad


def twin_rows(z, y, ignore_index: int = -100):
    """The kernel's NumPy twin: the same per-row expressions with array ops."""
    n, c = z.shape
    y = y.astype("int64", copy=False)
    ignored = y == ignore_index
    out_of_range = ~ignored & ((y < 0) | (y >= c))
    t = xp.where(ignored | out_of_range, 0, y)
    m = z.max(axis=1, keepdims=True)
    e = xp.exp(z - m)
    s = e.sum(axis=1, keepdims=True)
    delta = e / s
    delta[xp.arange(n), t] -= 1
    loss = xp.log(s[:, 0]) - (xp.take_along_axis(z, t[:, None], axis=1)[:, 0] - m[:, 0])
    loss = xp.where(ignored, 0, xp.where(out_of_range, xp.nan, loss)).astype(z.dtype, copy=False)
    delta = xp.where(ignored[:, None], 0, xp.where(out_of_range[:, None], xp.nan, delta)).astype(z.dtype, copy=False)
    return loss, delta, out_of_range.any().astype("int32")


def reduce_rows(loss, y, reduction: str, ignore_index: int = -100):
    """The reduced loss and the factor the backward multiplies δ by (per unit ℓ̄), on the
    device: "mean" divides by the number of counted rows (NaN when none, as PyTorch)."""
    if reduction == "none":
        return loss, None
    total = loss.sum()
    if reduction == "sum":
        return total, 1.0
    count = (y != ignore_index).sum().astype(loss.dtype)
    # nothing counted: the loss is NaN (0/0) but no row moves it (PyTorch's gradient is 0)
    some = count > 0
    return xp.where(some, total / xp.maximum(count, 1), xp.nan), xp.where(some, 1 / xp.maximum(count, 1), 0)
