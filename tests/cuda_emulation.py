"""CuPy's kernel objects emulated on the CPU: the CUDA sources compiled as C++.

CI has no GPU, but the kernels' sources are C++: compiled here with the
system's C++ compiler (``-ffp-contract=off``: no fused multiply-add, as the
NumPy twins) and called on NumPy arrays with CuPy's calling conventions, they
run the very expressions the GPU runs. Tests compare them with the kernels'
NumPy twins, in float64.

- ``ElementwiseBuild(sources)``: a stand-in for ``cupy.ElementwiseKernel``
  (``in_params, out_params, operation, name``) over precompiled sources (one
  shared library for all of them). Like CuPy's generated code, inputs are bound
  as ``const T &``, outputs as ``T &``, scalars by value, the loop index is
  ``i``; arguments broadcast, outputs may be strided views (copied in and out).
- ``raw_build(source, dtype)``: a RawKernel-style source (``extern "C"
  __global__`` functions using ``RG_GLOBAL_ID`` / ``RG_GLOBAL_SIZE`` for their
  grid-stride loops) as one CPU "thread" that strides over everything.
- ``nvcc_check(source)``: whether nvcc compiles a CUDA source (None without nvcc).

Everything is skipped (``compiler()`` is None) where no C++ compiler exists.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import re
import shutil
import subprocess
import tempfile

import numpy as np

_CACHE = os.path.join(tempfile.gettempdir(), "retrograd-cuda-emulation")


def compiler():
    return shutil.which("g++") or shutil.which("c++") or shutil.which("clang++")


def _build(code: str):
    """Compile C++ ``code`` into a shared library (cached by content) and load it."""
    os.makedirs(_CACHE, exist_ok=True)
    key = hashlib.sha256(code.encode()).hexdigest()[:20]
    lib = os.path.join(_CACHE, f"k{key}.so")
    if not os.path.exists(lib):
        src = os.path.join(_CACHE, f"k{key}.cpp")
        with open(src, "w") as f:
            f.write(code)
        tmp = lib + f".{os.getpid()}.tmp"
        subprocess.run([compiler(), "-O1", "-ffp-contract=off", "-shared", "-fPIC", "-o", tmp, src], check=True,
                       timeout=120, capture_output=True)
        os.replace(tmp, lib)
    return ctypes.CDLL(lib)


def _params(spec):
    """[(name, is_raw)] of a CuPy parameter list 'T x, raw T y'."""
    out = []
    for p in filter(None, (s.strip() for s in spec.split(","))):
        words = p.split()
        out.append((words[-1], words[0] == "raw"))
    return out


_PRELUDE = "#include <cmath>\nusing namespace std;\ntypedef double T;\n"


class ElementwiseBuild:
    """``cupy.ElementwiseKernel`` for float64 NumPy arrays, every source in one library."""

    def __init__(self, sources: dict):
        self.sources, parts = sources, [_PRELUDE]
        for name, (ins, outs, op) in sources.items():
            body = []
            for k, (p, _) in enumerate(_params(ins)):
                body.append(f"const T &{p} = ins[{k}][i * steps[{k}]];")
            for k, (p, _) in enumerate(_params(outs)):
                body.append(f"T &{p} = outs[{k}][i];")
            parts.append(f'extern "C" void {name}(long n, double **ins, const long *steps, double **outs) {{\n'
                         f"  for (long i = 0; i < n; ++i) {{\n    {' '.join(body)}\n    {op}\n  }}\n}}\n")
        self.lib = _build("".join(parts))

    def __call__(self, in_params, out_params, operation, name):
        assert self.sources[name] == (in_params, out_params, operation), name
        return _Elementwise(getattr(self.lib, name), len(_params(in_params)), len(_params(out_params)))


class _Elementwise:
    def __init__(self, fn, n_in, n_out):
        self.fn, self.n_in, self.n_out = fn, n_in, n_out

    def __call__(self, *args):
        assert len(args) == self.n_in + self.n_out, (len(args), self.n_in, self.n_out)
        ins, outs = args[:self.n_in], args[self.n_in:]
        shape = np.broadcast_shapes(*(np.shape(a) for a in args))
        for o in outs:
            assert isinstance(o, np.ndarray) and o.shape == shape and o.dtype == np.float64, (o.shape, shape)
        n = int(np.prod(shape))
        # a scalar is read at every i (stride 0), an array at i (a contiguous broadcast copy)
        in_arrays = [np.asarray(a, dtype=np.float64).reshape(1) if np.ndim(a) == 0 else
                     np.ascontiguousarray(np.broadcast_to(a, shape), dtype=np.float64) for a in ins]
        steps = (ctypes.c_long * len(ins))(*(0 if np.ndim(a) == 0 else 1 for a in ins))
        out_arrays = [np.ascontiguousarray(o) for o in outs]
        ptr = ctypes.POINTER(ctypes.c_double)
        in_ptrs = (ptr * max(len(ins), 1))(*(a.ctypes.data_as(ptr) for a in in_arrays))
        out_ptrs = (ptr * len(outs))(*(a.ctypes.data_as(ptr) for a in out_arrays))
        self.fn(ctypes.c_long(n), in_ptrs, steps, out_ptrs)
        for o, a in zip(outs, out_arrays):
            if a is not o:
                o[...] = a


_RAW_PRELUDE = ("#include <cmath>\nusing namespace std;\n#define __global__\n#define __device__\n"
                "#define __forceinline__ inline\n#define RG_GLOBAL_ID 0LL\n#define RG_GLOBAL_SIZE 1LL\n")


def raw_build(source: str, prelude: str = ""):
    """A RawKernel-style CUDA source as a CPU library (one thread striding over all work;
    ``prelude``: more macros standing in for CUDA's, such as a warp of one lane)."""
    return _build(_RAW_PRELUDE + prelude + source)


def nvcc_check(source: str):
    """True when nvcc compiles ``source`` (a CUDA translation unit), None without nvcc;
    raises with nvcc's message when it fails."""
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        return None
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "k.cu")
        with open(src, "w") as f:
            f.write(source)
        r = subprocess.run([nvcc, "-c", "-o", os.path.join(d, "k.o"), src], capture_output=True, text=True,
                           timeout=300)
        if r.returncode:
            raise AssertionError(f"nvcc failed:\n{r.stderr}")
    return True


def elementwise_as_cuda(sources: dict, ctype: str) -> str:
    """ElementwiseKernel sources as plain CUDA kernels (for ``nvcc_check``): one
    thread per element, parameters bound as CuPy binds them."""
    parts = [f"typedef {ctype} T;\n"]
    for name, (ins, outs, op) in sources.items():
        args = [f"const T *_raw_{p}" for p, _ in _params(ins)] + [f"T *_raw_{p}" for p, _ in _params(outs)]
        body = [f"const T &{p} = _raw_{p}[i];" for p, _ in _params(ins)] + \
               [f"T &{p} = _raw_{p}[i];" for p, _ in _params(outs)]
        parts.append(f'extern "C" __global__ void {name}(long long n, {", ".join(args)}) {{\n'
                     f"  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;\n"
                     f"  if (i < n) {{ {' '.join(body)}\n {op} }}\n}}\n")
    return "".join(parts)


def identifiers(source: str):
    return set(re.findall(r"[A-Za-z_]\w*", source))
