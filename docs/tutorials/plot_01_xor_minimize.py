"""
Where is "step 4" in TensorFlow's XOR example? ``minimize`` vs computing and applying gradients
===============================================================================================

Seed page 001 lists backpropagation as five steps (input, feed-forward, output error, **backpropagate
the error**, update) and asks where step 4 is in a TensorFlow XOR network that only calls
``tf.train.GradientDescentOptimizer(lr).minimize(loss)``. The answer: ``minimize`` is two calls,
``compute_gradients`` (the backward pass: step 4, reverse-mode differentiation of the recorded
graph) and ``apply_gradients`` (the update: step 5). retrograd's optimizers have TensorFlow's three
names, so the example can be written both ways and compared.

TensorFlow is not installed where these pages are built; the same network in PyTorch (installed)
is the cross-check.
"""

import matplotlib.pyplot as plt
import numpy as np

import retrograd as rg

# %%
# The asker's network: 2 inputs → 3 sigmoid units → 1 sigmoid output, weights drawn uniformly from
# [0.1, 0.9], the summed squared error, plain gradient descent with learning rate 1.

X = np.array([[0., 0.], [1., 1.], [1., 0.], [0., 1.]])
Y = np.array([[0.], [0.], [1.], [1.]])
rng = np.random.default_rng(0)
init = [rng.uniform(.1, .9, s) for s in [(2, 3), (3,), (3, 1), (1,)]]


def network():
    params = [rg.tensor(w.copy(), dtype=rg.float64, requires_grad=True) for w in init]
    return params, rg.optim.SGD(params, lr=1.0)


def loss_of(params):
    m1, b1, m2, b2 = params
    h = rg.sigmoid(rg.tensor(X) @ m1 + b1)            # steps 1-2: input, feed-forward
    out = rg.sigmoid(h @ m2 + b2)
    return rg.sum((rg.tensor(Y) - out) ** 2)          # step 3: the output error


# %%
# ``minimize`` is both halves in one call, exactly TensorFlow's:

params_a, opt_a = network()
losses_a = []
for _ in range(1000):
    loss = loss_of(params_a)
    losses_a.append(loss.item())
    opt_a.minimize(loss)                              # steps 4 and 5

# %%
# The same loop with the two halves apart. ``compute_gradients`` runs the backward pass and returns
# ``(gradient, parameter)`` pairs without changing anything: that list *is* step 4's result, and it
# can be inspected (or clipped, or logged) before ``apply_gradients`` takes step 5.

params_b, opt_b = network()
losses_b = []
for it in range(1000):
    loss = loss_of(params_b)
    losses_b.append(loss.item())
    grads_and_vars = opt_b.compute_gradients(loss)    # step 4: backpropagate the error
    if it == 0:
        for g, p in grads_and_vars:
            print(f"parameter {p.shape}: gradient norm {np.linalg.norm(g.data):.4f}")
    opt_b.apply_gradients(grads_and_vars)             # step 5: gradient descent

assert np.array_equal(losses_a, losses_b)             # bit for bit the same run
print(f"loss after 1000 updates: {losses_a[-1]:.5f}")

# %%
# ``rg.explain`` prints step 4 itself, op by op, in the order the backward pass runs:

rg.explain(loss_of(params_b))

# %%
# The cross-check against PyTorch (the same weights, the same updates; ``loss.backward()`` is step 4
# there, ``opt.step()`` step 5):

import torch  # noqa: E402

tparams = [torch.tensor(w.copy(), requires_grad=True) for w in init]
topt = torch.optim.SGD(tparams, lr=1.0)
tX, tY = torch.tensor(X), torch.tensor(Y)
losses_t = []
for _ in range(1000):
    m1, b1, m2, b2 = tparams
    tloss = ((tY - torch.sigmoid(torch.sigmoid(tX @ m1 + b1) @ m2 + b2)) ** 2).sum()
    losses_t.append(tloss.item())
    topt.zero_grad()
    tloss.backward()
    topt.step()
print(f"largest difference from PyTorch's losses over 1000 updates: {np.max(np.abs(np.array(losses_t) - losses_a)):.1e}")

out = rg.sigmoid(rg.sigmoid(rg.tensor(X) @ params_b[0] + params_b[1]) @ params_b[2] + params_b[3])
print("predictions:", np.round(out.data.ravel(), 3), "targets:", Y.ravel())

fig, ax = plt.subplots(figsize=(6, 3.2))
ax.semilogy(losses_a, label="retrograd: minimize / compute + apply")
ax.semilogy(losses_t, "--", label="PyTorch")
ax.set_xlabel("update")
ax.set_ylabel("summed squared error")
ax.set_title("XOR, 2-3-1 sigmoid network, SGD lr 1")
ax.legend()
fig.tight_layout()
