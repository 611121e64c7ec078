"""
Gradient checking, kinks included
=================================

Seed 002's asker validated backpropagation with gradient checking before training on handwritten
digits. ``rg.gradcheck`` compares every element of the analytic gradient with central differences,
on a random projection of the output so that every Jacobian entry counts. Where the two one-sided
differences disagree the function has a kink there: the element passes if the analytic value lies
between them, and is reported as a kink instead of failing blindly (``torch.autograd.gradcheck``
fails, or passes by luck, on such points).
"""

import matplotlib.pyplot as plt
import numpy as np

import retrograd as rg
from retrograd.autograd.backend import xp
from retrograd.autograd.op import UnaryOp

print(rg.gradcheck(rg.relu, [np.array([0.0, 1.0, -1.0])]))

# %%
# A layer and a loss: the report is truthy when it passes.

rng = np.random.default_rng(0)
W, b = rng.standard_normal((5, 3)), rng.standard_normal(3)
X, y = rng.standard_normal((4, 5)), np.array([0, 2, 1, 2])
report = rg.gradcheck(lambda W, b: rg.cross_entropy(rg.tensor(X) @ W + b, rg.tensor(y)), [W, b])
print(bool(report), "-", str(report).splitlines()[0])

# %%
# A new op with a wrong derivative fails, and the table shows where. Here x·sin(x) with its
# derivative's second term forgotten:


class XSinXWrong(UnaryOp):
    name, save_inputs = "x_sin_x_wrong", (0,)

    def forward(self, x):
        return x * xp.sin(x)

    def vjp(self, ns, g, y, x):
        return (g * ns.sin(x),)                      # should be sin(x) + x·cos(x)


x0 = np.linspace(-2, 2, 5)
bad = rg.gradcheck(lambda t: XSinXWrong()(t), [x0])
print(bad)

# %%
# The same check in PyTorch, on relu at its kink: its finite differences straddle the kink and the
# check fails (as it must: the one-sided slopes are 0 and 1 and the central difference is 0.5).

import torch  # noqa: E402

try:
    ok = torch.autograd.gradcheck(torch.relu, (torch.tensor([0.0, 1.0, -1.0], dtype=torch.float64,
                                                            requires_grad=True),), raise_exception=False)
except Exception as e:  # noqa: BLE001 - whatever PyTorch raises, say it
    ok = f"raised {type(e).__name__}"
print("torch.autograd.gradcheck(relu) at 0:", ok)

# %%
# The analytic and numeric values of the wrong op side by side:

el = sorted(bad.elements, key=lambda e: e.index)
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(x0, [e.analytic for e in el], "o-", label="analytic (the wrong vjp)")
ax.plot(x0, [e.numeric for e in el], "s--", label="numeric (central difference)")
ax.set_xlabel("x")
ax.set_ylabel("gradient, projected")
ax.legend(fontsize=8)
fig.tight_layout()
