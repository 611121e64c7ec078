"""
Output delta: why ``a − y`` passes gradient checking and ``(a − y)·f′(z)`` does not
===================================================================================

Seed page 002: a backpropagation implementation following Andrew Ng's course uses the output delta
``d = a − y`` and passes gradient checking; most other texts (UFLDL) write ``d = (a − y)·f′(z)``,
and with that delta the check fails. Why?

The delta is ∂L/∂z, and it depends on the **loss** as well as on the activation. With a = σ(z):

* cross-entropy, L = −y log a − (1 − y) log(1 − a): ∂L/∂a = (a − y)/(a(1 − a)) and σ′(z) = a(1 − a),
  so ∂L/∂z = a − y (the σ′ cancels);
* squared error, L = ½(a − y)²: ∂L/∂z = (a − y)·σ′(z);
* a linear output with squared error: f′ = 1 and both formulas agree.

Ng's course uses cross-entropy, UFLDL squared error. The check below (``retrograd demo
output-delta``) turns each (loss, delta) pair into an ``Op`` whose vjp *is* that delta and lets
``rg.gradcheck`` judge it against finite differences.
"""

import matplotlib.pyplot as plt
import numpy as np

import retrograd as rg
from retrograd.demos.output_delta import DELTAS, EXPECTED, LOSSES, OutputLayer

rng = np.random.default_rng(0)
z = rng.standard_normal((6, 3))
y = rng.integers(0, 2, size=(6, 3)).astype(np.float64)

results = {}
for loss_name, (activation, loss) in LOSSES.items():
    for delta_name, delta in DELTAS.items():
        report = rg.gradcheck(lambda t: OutputLayer(activation, loss, delta, y)(t), [z])
        err = max(abs(e.analytic - e.numeric) for e in report.elements)
        results[(loss_name, delta_name)] = (report.ok, err)
        print(f"{loss_name:<26}{delta_name:<16}{'PASS' if report.ok else 'FAIL':<6}{err:10.2e}")
assert all(results[key][0] == want for key, want in EXPECTED.items())

fig, ax = plt.subplots(figsize=(7, 3))
labels = [f"{l}\n{d}" for l, d in results]
ax.bar(range(len(results)), [max(e, 1e-17) for _, e in results.values()],
       color=["tab:green" if ok else "tab:red" for ok, _ in results.values()])
ax.set_yscale("log")
ax.set_xticks(range(len(results)), labels, fontsize=6)
ax.set_ylabel("max |analytic − numeric|")
ax.set_title("gradient check of each output delta (green: passes)")
fig.tight_layout()

# %%
# A framework's fused loss does the cancellation for you: ``binary_cross_entropy_with_logits``
# takes z and passes back exactly σ(z) − y, in retrograd and in PyTorch.

import torch  # noqa: E402

zt = rg.tensor(z, requires_grad=True)
rg.binary_cross_entropy_with_logits(zt, rg.tensor(y), reduction="sum").backward()
a = 1 / (1 + np.exp(-z))
print(f"retrograd: max |∂L/∂z − (a − y)| = {np.max(np.abs(zt.grad.data - (a - y))):.1e}")
tz = torch.tensor(z, requires_grad=True)
torch.nn.functional.binary_cross_entropy_with_logits(tz, torch.tensor(y), reduction="sum").backward()
print(f"PyTorch:   max |∂L/∂z − (a − y)| = {np.max(np.abs(tz.grad.numpy() - (a - y))):.1e}")
