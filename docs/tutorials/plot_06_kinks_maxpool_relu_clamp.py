"""
Gradients at kinks: max-pool ties, and relu vs clamp
====================================================

What is the gradient of ``relu`` at 0, of ``clamp(x, min=0)`` at 0, of a max-pool window whose
entries tie? Mathematically any element of the convex hull of the tied branches' slopes is a valid
subgradient; frameworks pick one op by op. In PyTorch ``relu′(0) = 0`` but ``clamp′ = 1`` at the
bound, so two ways of writing the same function train differently on inputs that sit on the kink
(as zero-padded or quantised inputs do). retrograd declares one policy for every kink
(``rg.conventions``): the same function gets the same gradient however it is written, and the
other frameworks' choices are available by name (seed 002's CNN question: max-pool ties).
"""

import matplotlib.pyplot as plt
import numpy as np
import torch

import retrograd as rg

print(rg.conventions.table())

# %%
# relu, clamp and maximum at 0
# ----------------------------

x = np.array([-1.0, 0.0, 1.0])
rows = {}
for policy in ("min_norm", "first", "split", "all"):
    with rg.conventions.policy(policy):
        for name, f in [("relu(x)", rg.relu), ("clamp(x, min=0)", lambda t: rg.clamp(t, min=0)),
                        ("maximum(x, 0)", lambda t: rg.maximum(t, rg.zeros(3, dtype=rg.float64)))]:
            t = rg.tensor(x, dtype=rg.float64, requires_grad=True)
            f(t).sum().backward()
            rows[(policy, name)] = t.grad.data[1]
for name, f in [("relu(x)", torch.relu), ("clamp(x, min=0)", lambda t: torch.clamp(t, min=0))]:
    t = torch.tensor(x, requires_grad=True)
    f(t).sum().backward()
    rows[("PyTorch", name)] = t.grad[1].item()
for (who, name), v in rows.items():
    print(f"{who:<10}{name:<18} gradient at 0: {v}")

# %%
# Max-pool with tied entries
# --------------------------
# A 2×2 window whose four entries are equal (a flat patch of an image). Under ``min_norm`` and
# ``split`` each tied entry gets 1/4; ``first`` gives everything to the first (TensorFlow's and
# Caffe's max-pool; PyTorch's ``MaxPool2d`` does the same); ``all`` gives each the full gradient
# (Theano's max-pool).

img = np.array([[[[1.0, 1.0, 0.0, 2.0],
                  [1.0, 1.0, 3.0, 2.0]]]])              # (N, C, 2, 4): two 2×2 windows
pool = rg.nn.MaxPool2d(2)
grads = {}
for policy in ("min_norm", "first", "split", "all"):
    with rg.conventions.policy(policy):
        t = rg.tensor(img, dtype=rg.float64, requires_grad=True)
        pool(t).sum().backward()
        grads[policy] = t.grad.data[0, 0]
t = torch.tensor(img, requires_grad=True)
torch.nn.MaxPool2d(2)(t).sum().backward()
grads["PyTorch"] = t.grad.numpy()[0, 0]
assert np.array_equal(grads["first"], grads["PyTorch"])
for k, v in grads.items():
    print(f"{k:<9}", v.tolist())

fig, axes = plt.subplots(1, len(grads), figsize=(11, 2))
for ax, (k, v) in zip(axes, grads.items()):
    ax.imshow(v, cmap="Greens", vmin=0, vmax=1)
    for (i, j), val in np.ndenumerate(v):
        ax.text(j, i, f"{val:g}", ha="center", va="center", color="white" if val > 0.5 else "black")
    ax.set_title(k)
    ax.set_xticks([])
    ax.set_yticks([])
fig.suptitle("gradient of max-pool(2) on [[1 1 0 2], [1 1 3 2]]: the left window ties four ways")
fig.tight_layout()

# %%
# The policy in force when an op is *recorded* is the one its backward uses, so a model can be
# trained under ``first`` to reproduce a TensorFlow run: ``rg.conventions.set_policy("first")``.
