"""Seed page 002: a policy-gradient (REINFORCE) agent on CartPole.

The policy is a small network with a softmax over the two actions. After each
episode the discounted returns Gₜ = Σₖ γᵏ rₜ₊ₖ are computed (and normalised),
and the update ascends Σₜ Gₜ ∇ log π(aₜ | sₜ) (Williams 1992): the loss is
−mean(Gₜ · log π(aₜ | sₜ)), one cross-entropy-like op over the episode.
"""

from __future__ import annotations

import os

import numpy as np

import retrograd as rg
from retrograd import nn, optim

DESCRIPTION = "REINFORCE policy-gradient agent on gymnasium's CartPole, softmax policy"


def discounted_returns(rewards, gamma):
    """Gₜ = rₜ + γ Gₜ₊₁, computed backwards."""
    out = np.zeros(len(rewards))
    running = 0.0
    for t in range(len(rewards) - 1, -1, -1):
        running = rewards[t] + gamma * running
        out[t] = running
    return out


def run(out_dir: str = ".", seed: int = 0, episodes: int = 300, gamma: float = 0.99, lr: float = 0.01,
        verbose: bool = True, plot: bool = True) -> dict:
    """Run the demo (see ``retrograd.demos.cartpole``'s module docstring);
    returns its results as a dict (the tests check them):
    ``ok`` says the mean length of the last 25 episodes is more than twice that of the first 25,
    ``files`` lists the paths written."""
    try:
        import gymnasium as gym
    except ImportError as e:
        raise SystemExit("the cartpole demo needs gymnasium: pip install 'retrograd[demos]'") from e
    rg.manual_seed(seed)
    rng = rg.random.generator()
    env = gym.make("CartPole-v1")
    policy = nn.Sequential(nn.Linear(4, 32), nn.Tanh(), nn.Linear(32, 2))
    opt = optim.Adam(policy.parameters(), lr=lr)
    lengths = []
    for episode in range(episodes):
        state, _ = env.reset(seed=seed * 100_000 + episode)
        states, actions, rewards = [], [], []
        done = False
        while not done:
            with rg.no_grad():
                probs = rg.softmax(policy(rg.tensor(state[None].astype(np.float32))), axis=1).data[0]
            action = int(rng.choice(2, p=probs / probs.sum()))
            states.append(state)
            actions.append(action)
            state, reward, terminated, truncated, _ = env.step(action)
            rewards.append(reward)
            done = terminated or truncated
        returns = discounted_returns(rewards, gamma)
        returns = (returns - returns.mean()) / (returns.std() + 1e-8)
        logp = rg.log_softmax(policy(rg.tensor(np.asarray(states, dtype=np.float32))), axis=1)
        chosen = logp[np.arange(len(actions)), np.asarray(actions)]
        loss = -rg.mean(chosen * rg.tensor(returns.astype(np.float32)))
        opt.zero_grad()
        loss.backward()
        opt.step()
        lengths.append(len(rewards))
        if verbose and (episode + 1) % 25 == 0:
            print(f"episode {episode + 1:4d}  mean length of the last 25 episodes {np.mean(lengths[-25:]):6.1f}")
    env.close()
    first, last = float(np.mean(lengths[:25])), float(np.mean(lengths[-25:]))
    if verbose:
        print(f"average episode length rose from {first:.1f} (first 25) to {last:.1f} (last 25)")
    path = None
    if plot:
        from ..plot import save_curves

        window = np.convolve(lengths, np.ones(10) / 10, mode="valid")
        path = save_curves(os.path.join(out_dir, "cartpole_lengths.png"),
                           {"episode length": lengths, "mean of 10": list(window)},
                           "REINFORCE on CartPole-v1", xlabel="episode", ylabel="steps balanced")
        if path and verbose:
            print(f"wrote {path}")
    ok = last > 2 * first  # the claim: the agent learns, balancing at least twice as long as at the start
    if verbose and not ok:
        print("did NOT learn: the last 25 episodes are not twice as long as the first 25")
    return {"lengths": lengths, "first25": first, "last25": last, "plot": path, "ok": ok,
            "files": [p for p in [path] if p]}
