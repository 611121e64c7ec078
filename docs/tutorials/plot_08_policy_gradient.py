"""
Policy gradients: REINFORCE with a softmax policy
=================================================

Seed page 002 asks how to backpropagate through a softmax policy trained with policy gradients.
REINFORCE (Williams 1992) ascends Σₜ Gₜ ∇ log π(aₜ | sₜ), with Gₜ = Σₖ γᵏ rₜ₊ₖ the discounted return
from step t: the loss is −mean(Gₜ · log π(aₜ | sₜ)), one backward pass per episode, and the gradient
reaching the logits of step t is Gₜ·(π(· | sₜ) − onehot(aₜ)) / n — the softmax cross-entropy delta
scaled by the return.

``retrograd demo cartpole`` trains this on gymnasium's CartPole; to run in a second here, the
environment is a corridor written in a few lines: start at cell 0 of 8, step left or right, reward
1 for reaching cell 7, −0.01 per step, at most 30 steps.
"""

import matplotlib.pyplot as plt
import numpy as np

import retrograd as rg
from retrograd import nn, optim
from retrograd.demos.cartpole import discounted_returns

N_CELLS, MAX_STEPS, GAMMA = 8, 30, 0.95


def episode(policy, rng):
    s, states, actions, rewards = 0, [], [], []
    for _ in range(MAX_STEPS):
        obs = np.eye(N_CELLS, dtype=np.float32)[s]
        with rg.no_grad():
            probs = rg.softmax(policy(rg.tensor(obs[None])), axis=1).data[0]
        a = int(rng.choice(2, p=probs / probs.sum()))            # 0: left, 1: right
        states.append(obs)
        actions.append(a)
        s = min(max(s + (1 if a else -1), 0), N_CELLS - 1)
        rewards.append(1.0 if s == N_CELLS - 1 else -0.01)
        if s == N_CELLS - 1:
            break
    return np.array(states), np.array(actions), np.array(rewards)


def reinforce_loss(policy, states, actions, returns):
    logp = rg.log_softmax(policy(rg.tensor(states)), axis=1)
    chosen = logp[np.arange(len(actions)), actions]
    return -rg.mean(chosen * rg.tensor(returns.astype(np.float32)))


rg.manual_seed(0)
rng = np.random.default_rng(0)
policy = nn.Sequential(nn.Linear(N_CELLS, 16), nn.Tanh(), nn.Linear(16, 2))
opt = optim.Adam(policy.parameters(), lr=0.02)
lengths = []
for ep in range(150):
    states, actions, rewards = episode(policy, rng)
    returns = discounted_returns(rewards, GAMMA)
    loss = reinforce_loss(policy, states, actions, returns)
    opt.zero_grad()
    loss.backward()
    opt.step()
    lengths.append(len(rewards))
print(f"mean episode length: first 20 episodes {np.mean(lengths[:20]):.1f}, last 20 {np.mean(lengths[-20:]):.1f} "
      f"(the shortest path is {N_CELLS - 1} steps)")

fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(lengths, lw=0.7, label="steps to the goal")
ax.plot(np.convolve(lengths, np.ones(10) / 10, mode="valid"), label="mean of 10")
ax.axhline(N_CELLS - 1, color="0.5", ls=":", label="shortest path")
ax.set(xlabel="episode", ylabel="steps", title="REINFORCE on an 8-cell corridor")
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# The gradient reaching the logits is the return-weighted softmax delta
# ---------------------------------------------------------------------
# On one episode, ∂loss/∂logits equals Gₜ(π − onehot(aₜ))/n, and PyTorch computes the same parameter
# gradients for the same weights (the state dict moves between the two):

import torch  # noqa: E402

states, actions, rewards = episode(policy, rng)
returns = discounted_returns(rewards, GAMMA)
logits = policy(rg.tensor(states))
logits.retain_grad()
logp = rg.log_softmax(logits, axis=1)
loss = -rg.mean(logp[np.arange(len(actions)), actions] * rg.tensor(returns.astype(np.float32)))
opt.zero_grad()
loss.backward()
pi = np.exp(logp.data)
delta = returns[:, None] * (pi - np.eye(2)[actions]) / len(actions)
print(f"max |∂loss/∂logits − Gₜ(π − onehot(a))/n| = {np.max(np.abs(logits.grad.data - delta)):.1e}")

tpolicy = torch.nn.Sequential(torch.nn.Linear(N_CELLS, 16), torch.nn.Tanh(), torch.nn.Linear(16, 2))
tpolicy.load_state_dict({k: torch.tensor(v) for k, v in policy.state_dict().items()})
tlogp = torch.log_softmax(tpolicy(torch.tensor(states)), dim=1)
(-(tlogp[np.arange(len(actions)), actions] * torch.tensor(returns, dtype=torch.float32)).mean()).backward()
worst = max(np.max(np.abs(p.grad.data - tp.grad.numpy()))
            for p, tp in zip(policy.parameters(), tpolicy.parameters()))
print(f"largest difference from PyTorch's parameter gradients (float32): {worst:.1e}")
