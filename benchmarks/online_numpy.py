"""Online learning for a leaky tanh RNN, by hand in NumPy (float64, batch 1).

A reference for Marschall, Cho & Savin (2020), "A unified framework of online
learning algorithms for training recurrent neural networks" (JMLR 21). The
equations and conventions follow their public code (github.com/omarschall/
vanilla-rtrl: ``core/RNN.py``, ``learning_algorithms/{RTRL,UORO,KF_RTRL,RFLO,
Learning_Algorithm,Stochastic_Algorithm}.py``, ``gen_data/Add_Task.py``,
``core/Simulation.py``); the code here is written anew. Nothing imports retrograd.

Network (n hidden units, m inputs, K = n + m + 1)::

    h_t = W_rec a_{t-1} + W_in x_t + b_rec = W â_t,   â_t = [a_{t-1}; x_t; 1],  W = [W_rec W_in b_rec]
    a_t = (1 - α) a_{t-1} + α tanh(h_t)
    z_t = W_out a_t + b_out,   L_t = -y_t · log softmax(z_t)         (y_t a probability vector)

Per-step quantities (φ = tanh, φ' = 1 - tanh², taken at h_t)::

    J_t   = ∂a_t/∂a_{t-1} = (1 - α) I + α diag(φ'(h_t)) W_rec                (n × n)
    I_t   = ∂a_t/∂W (immediate), I_t[k, (i, j)] = δ_ki α φ'(h_t,i) â_t,j     (n × nK)
    e_t   = ∂L_t/∂z_t = softmax(z_t) - y_t,   c_t = ∂L_t/∂a_t = W_out^T e_t
    ∂L_t/∂W_out = e_t a_t^T,   ∂L_t/∂b_out = e_t

W is flattened row-major over its n × K entries: column i·K + j of an n × nK
influence matrix is W_ij. (Their RTRL stacks W's columns instead, index
j·n + i, ``order='F'``; the gradients as matrices are the same.)

Every algorithm keeps an estimate of the influence M_t = ∂a_t/∂W (exact RTRL:
M_t = J_t M_{t-1} + I_t, M_0 = 0) and returns this step's gradient of L_t,
``q_t M_t`` reshaped to n × K, where q_t = e_t W_out (= c_t) by default, or
e_t W_FB with a fixed ``feedback`` matrix W_FB (n_out × n), as their
``Learning_Algorithm.propagate_feedback_to_hidden``. Summed over t with fixed
weights, RTRL's per-step gradients are BPTT's gradient of Σ_t L_t.

The factor α in I_t differs between versions of their code (all agree at
α = 1, the value their scripts use): ``RTRL.py`` and ``KF_RTRL.py`` at commit
38ecc82 include it, the same files at f06c62 and the older single-file
``learning_algorithms.py`` leave it out, and ``UORO.py`` (ab8c616) leaves it
out; ``RFLO.py`` multiplies by its own α_r. Here I_t always carries the α that
makes RTRL exact; ``UORO(alpha_in_immediate=False)`` reproduces their UORO.

Randomness comes only from the ``rng`` given to UORO / KF-RTRL, through
``rng.normal`` and ``rng.choice`` alone: a ``np.random.Generator`` works, and a
legacy ``np.random.RandomState`` replays their global ``np.random`` calls
draw for draw when it is called in the same order.
"""

from __future__ import annotations

import numpy as np

PARAM_NAMES = ("W_rec", "W_in", "b_rec", "W_out", "b_out")


# ------------------------------------------------------------------ network and loss

class LeakyRNN:
    """The leaky tanh RNN above; parameters are plain float64 arrays."""

    def __init__(self, W_rec, W_in, b_rec, W_out, b_out, alpha=1.0):
        for name, value in zip(PARAM_NAMES, (W_rec, W_in, b_rec, W_out, b_out)):
            setattr(self, name, np.array(value, dtype=np.float64))
        self.alpha = float(alpha)

    @classmethod
    def init(cls, n_in, n_h, n_out, seed, alpha=1.0):
        """Their scripts' draw: W_in ~ N(0, 1/n_in), W_rec ~ N(0, 1/n_h), W_out ~
        N(0, 1/n_h) (variances; drawn in that order), biases 0."""
        rng = np.random.default_rng(seed)
        W_in = rng.normal(0.0, np.sqrt(1.0 / n_in), (n_h, n_in))
        W_rec = rng.normal(0.0, np.sqrt(1.0 / n_h), (n_h, n_h))
        W_out = rng.normal(0.0, np.sqrt(1.0 / n_h), (n_out, n_h))
        return cls(W_rec, W_in, np.zeros(n_h), W_out, np.zeros(n_out), alpha)

    n_h = property(lambda self: self.W_rec.shape[0])
    n_in = property(lambda self: self.W_in.shape[1])
    n_out = property(lambda self: self.W_out.shape[0])

    def step(self, a_prev, x):
        """One step: returns (a_t, h_t)."""
        h = self.W_rec @ a_prev + self.W_in @ x + self.b_rec
        return (1.0 - self.alpha) * a_prev + self.alpha * np.tanh(h), h

    def readout(self, a):
        return self.W_out @ a + self.b_out

    def params(self):
        return {k: getattr(self, k) for k in PARAM_NAMES}

    def copy(self):
        return LeakyRNN(*(getattr(self, k).copy() for k in PARAM_NAMES), alpha=self.alpha)

    def sgd(self, grads, lr):
        """Plain SGD, θ ← θ - lr·g (their ``Stochastic_Gradient_Descent``, no clipping)."""
        for k in PARAM_NAMES:
            setattr(self, k, getattr(self, k) - lr * grads[k])


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def cross_entropy(z, y):
    """-y · log softmax(z), computed exactly through log-sum-exp. (Their reported
    loss clips softmax at 1e-4 before the log; only reports differ, never
    gradients, and only when an output probability falls below 1e-4.)"""
    lse = z.max() + np.log(np.exp(z - z.max()).sum())
    return float(-(y @ (z - lse)))


# ------------------------------------------------------------------ per-step quantities

def a_hat(a_prev, x):
    """â_t = [a_{t-1}; x_t; 1], the order of their concatenation."""
    return np.concatenate([a_prev, x, [1.0]])


def J_t(net, h):
    """J_t = (1 - α) I + α diag(φ'(h_t)) W_rec (their ``get_a_jacobian``)."""
    return _jacobian(net, 1.0 - np.tanh(h) ** 2)


def _jacobian(net, dphi):
    return (1.0 - net.alpha) * np.eye(net.n_h) + net.alpha * dphi[:, None] * net.W_rec


def immediate_influence(net, a_prev, x, h):
    """Dense I_t (n × nK, row-major over W): I[i, i·K + j] = α φ'(h_i) â_j, else 0."""
    ah, n = a_hat(a_prev, x), net.n_h
    out = np.zeros((n, n, ah.size))
    out[np.arange(n), np.arange(n), :] = net.alpha * (1.0 - np.tanh(h) ** 2)[:, None] * ah
    return out.reshape(n, -1)


def output_error(net, a, y):
    """e_t = ∂L_t/∂z_t = softmax(z_t) - y_t (y sums to 1)."""
    return softmax(net.readout(a)) - y


def c_t(net, a, y):
    """c_t = ∂L_t/∂a_t = W_out^T e_t: the exact error one step back from the readout."""
    return net.W_out.T @ output_error(net, a, y)


def readout_grads(net, a, y):
    e = output_error(net, a, y)
    return {"W_out": np.outer(e, a), "b_out": e}


def split_recurrent(G, n_h, n_in):
    """Split an n × K gradient of W = [W_rec W_in b_rec] into its three parts."""
    return {"W_rec": G[:, :n_h], "W_in": G[:, n_h:n_h + n_in], "b_rec": G[:, n_h + n_in]}


# ------------------------------------------------------------------ learning algorithms

class OnlineAlgorithm:
    """Common interface. ``update`` is called once per step, after the forward
    step a_t, h_t = net.step(a_{t-1}, x_t) and before any weight change, as in
    their ``Simulation.train_step``: it advances the influence estimate with
    this step's J_t and I_t (computed from the current weights), then returns
    this step's gradient estimate of L_t (not accumulated)."""

    def __init__(self, feedback=None):
        self.feedback = None if feedback is None else np.asarray(feedback, dtype=np.float64)
        self.reset()

    def reset(self):
        raise NotImplementedError

    def update(self, net, a_prev, x, a, h, y):
        ah = a_hat(a_prev, x)
        dphi = 1.0 - np.tanh(h) ** 2
        self._advance(net, a_prev, x, a, ah, dphi)
        e = output_error(net, a, y)
        q = e @ (net.W_out if self.feedback is None else self.feedback)
        grads = split_recurrent(self._rec_grad(q), net.n_h, net.n_in)
        grads.update(W_out=np.outer(e, a), b_out=e)
        return grads


class RTRL(OnlineAlgorithm):
    """Exact RTRL (Williams & Zipser 1989): M_t = J_t M_{t-1} + I_t, M_0 = 0;
    gradient q_t M_t. M is stored as an (n, n, K) array, M[k, i, j] = ∂a_k/∂W_ij,
    so the J_t M product is one (n × n)·(n × nK) GEMM: O(n⁴) per step."""

    def reset(self):
        self.M = self._spare = None

    def _advance(self, net, a_prev, x, a, ah, dphi):
        n, K = net.n_h, ah.size
        if self.M is None:
            self.M, self._spare = np.zeros((n, n, K)), np.empty((n, n, K))
        # J_t M into the spare buffer, then swap: no fresh n²K allocation per step
        np.matmul(_jacobian(net, dphi), self.M.reshape(n, n * K), out=self._spare.reshape(n, n * K))
        self.M, self._spare = self._spare, self.M
        self.M[np.arange(n), np.arange(n), :] += net.alpha * dphi[:, None] * ah

    def _rec_grad(self, q):
        return (q @ self.M.reshape(q.size, -1)).reshape(self.M.shape[1:])

    @property
    def influence(self):
        """M_t as an n × nK matrix, row-major over W: a view of a buffer that the
        update after next overwrites (copy it to keep it)."""
        return self.M.reshape(self.M.shape[0], -1)


class UORO(OnlineAlgorithm):
    """UORO (Tallec & Ollivier 2017) as in their ``UORO.py``: M_t ≈ A_t ⊗ B_t,
    M[k, (i, j)] ≈ A_k B_ij with A (n) and B (n × K). Per step, with ν Rademacher::

        Ĩ = diag(ν) α φ'(h) â^T   (ν^T I_t in compact n × K form)
        p0 = sqrt(‖B‖ / ‖J_t A‖),  p1 = sqrt(‖Ĩ‖ / sqrt(n))   (‖·‖ Frobenius; sqrt(n) = ‖ν‖)
        A ← p0 J_t A + p1 ν,       B ← B / p0 + Ĩ / p1
        gradient = (q · A) B

    E[A_t ⊗ B_t] = M_t given E[A_0 ⊗ B_0] = 0 = M_0; p0 and p1 do not depend on
    ν, so they cancel in expectation. Random draws, in order:
      * at the first ``update`` after construction or ``reset()`` (shapes come from
        the net): A_0 = rng.normal(0, 1, n), then B_0 = rng.normal(0, 1, (n, K));
      * every step: ν = rng.choice([-1, 1], n), one call.
    ``epsilon`` selects their forward-difference variant: J_t A ≈ (f(a_{t-1} + εA,
    x_t) - a_t)/ε, p0 = sqrt(‖B‖/(‖JA‖ + ε)) + ε, p1 = sqrt(‖Ĩ‖/(sqrt(n) + ε)) + ε.
    Their ``UORO.py`` leaves α out of Ĩ (φ'(h) â^T only, unlike their
    RTRL and KF-RTRL): ``alpha_in_immediate=False`` reproduces that, whose mean
    is RTRL's recurrent gradient divided by α (identical when α = 1)."""

    def __init__(self, rng, epsilon=None, feedback=None, alpha_in_immediate=True):
        self.rng, self.epsilon, self.alpha_in_immediate = rng, epsilon, alpha_in_immediate
        super().__init__(feedback)

    def reset(self):
        self.A = self.B = None

    def _advance(self, net, a_prev, x, a, ah, dphi):
        n, K, rng, eps = net.n_h, ah.size, self.rng, self.epsilon
        if self.A is None:
            self.A = rng.normal(0.0, 1.0, n)
            self.B = rng.normal(0.0, 1.0, (n, K))
        nu = np.asarray(rng.choice([-1, 1], n), dtype=np.float64)
        scale = net.alpha if self.alpha_in_immediate else 1.0
        I_proj = (nu * scale * dphi)[:, None] * ah
        if eps is None:
            A_fwd = _jacobian(net, dphi) @ self.A
            p0 = np.sqrt(np.linalg.norm(self.B) / np.linalg.norm(A_fwd))
            p1 = np.sqrt(np.linalg.norm(I_proj) / np.sqrt(n))
        else:
            A_fwd = (net.step(a_prev + eps * self.A, x)[0] - a) / eps
            p0 = np.sqrt(np.linalg.norm(self.B) / (np.linalg.norm(A_fwd) + eps)) + eps
            p1 = np.sqrt(np.linalg.norm(I_proj) / (np.sqrt(n) + eps)) + eps
        self.A = p0 * A_fwd + p1 * nu
        self.B = self.B / p0 + I_proj / p1

    def _rec_grad(self, q):
        return (q @ self.A) * self.B


class KFRTRL(OnlineAlgorithm):
    """KF-RTRL (Mujika et al. 2018) as in their ``KF_RTRL.py``: M_t ≈ A_t ⊗ B_t,
    M[k, (i, j)] ≈ B_ki A_j with A (K) and B (n × n). Per step, with c1, c2
    Rademacher scalars and D = diag(α φ'(h))::

        p0 = sqrt(‖J_t B‖ / ‖A‖),  p1 = sqrt(‖D‖ / ‖â‖)
        A ← c1 p0 A + c2 p1 â,     B ← c1 (J_t B) / p0 + c2 D / p1
        gradient_ij = (q B)_i A_j

    The cross terms carry c1·c2 (mean 0) and c1² = c2² = 1, so E[A_t ⊗ B_t] = M_t.
    Random draws, in order: A_0 = rng.normal(0, 1, K), then B_0 = rng.normal(0,
    1, (n, n)) at the first ``update`` after construction or ``reset()``; every
    step, after J_t B is formed, (c1, c2) = rng.choice([-1, 1], 2), one call."""

    def __init__(self, rng, feedback=None):
        self.rng = rng
        super().__init__(feedback)

    def reset(self):
        self.A = self.B = None

    def _advance(self, net, a_prev, x, a, ah, dphi):
        n, K = net.n_h, ah.size
        if self.A is None:
            self.A = self.rng.normal(0.0, 1.0, K)
            self.B = self.rng.normal(0.0, 1.0, (n, n))
        JB = _jacobian(net, dphi) @ self.B
        c1, c2 = (float(c) for c in self.rng.choice([-1, 1], 2))
        d = net.alpha * dphi
        p0 = np.sqrt(np.linalg.norm(JB) / np.linalg.norm(self.A))
        p1 = np.sqrt(np.linalg.norm(d) / np.linalg.norm(ah))
        self.A = c1 * p0 * self.A + c2 * p1 * ah
        self.B = (c1 / p0) * JB + (c2 / p1) * np.diag(d)

    def _rec_grad(self, q):
        return np.outer(q @ self.B, self.A)


class RFLO(OnlineAlgorithm):
    """RFLO (Murray 2019) as in their ``RFLO.py``: an eligibility trace, the
    influence with J_t replaced by (1 - α_r) I and only the diagonal k = i kept::

        B_ij ← (1 - α_r) B_ij + α_r φ'(h_i) â_j,   B_0 = 0
        gradient_ij = q_i B_ij

    α_r is RFLO's own ``alpha`` (their scripts pass the network's α). q = e_t W_out
    = c_t by default — in their code too (``W_FB=None``): the exact error one
    step back. Murray's random feedback is ``feedback=W_FB`` (n_out × n), q = e_t W_FB.
    With α_r = α and W_rec = 0, RFLO is exact RTRL; with diag(W_rec) = 0, it is SnAp-1."""

    def __init__(self, alpha, feedback=None):
        self.alpha = float(alpha)
        super().__init__(feedback)

    def reset(self):
        self.B = None

    def _advance(self, net, a_prev, x, a, ah, dphi):
        trace = 0.0 if self.B is None else (1.0 - self.alpha) * self.B
        self.B = trace + self.alpha * dphi[:, None] * ah

    def _rec_grad(self, q):
        return q[:, None] * self.B


class SnAp1(OnlineAlgorithm):
    """SnAp-1 (Menick et al. 2021; not in Marschall et al.'s code): RTRL's update
    masked to the immediate influence's sparsity pattern, M[k, (i, j)] kept only
    for k = i. Writing S_ij = M[i, (i, j)], (J_t M)[i, (i, j)] = J_t,ii S_ij, so::

        S ← diag(J_t) ⊙_rows S + α φ'(h) â^T,   diag(J_t)_i = (1 - α) + α φ'(h_i) W_rec,ii
        gradient_ij = q_i S_ij"""

    def reset(self):
        self.S = None

    def _advance(self, net, a_prev, x, a, ah, dphi):
        fresh = net.alpha * dphi[:, None] * ah
        if self.S is None:
            self.S = fresh
        else:
            jdiag = (1.0 - net.alpha) + net.alpha * dphi * np.diag(net.W_rec)
            self.S = jdiag[:, None] * self.S + fresh

    def _rec_grad(self, q):
        return q[:, None] * self.S


# ------------------------------------------------------------------ BPTT and training

def forward(net, xs, a0):
    """Run the net over xs from a0: returns the lists a_1..a_T and h_1..h_T."""
    a, As, Hs = a0, [], []
    for x in xs:
        a, h = net.step(a, x)
        As.append(a)
        Hs.append(h)
    return As, Hs


def sequence_loss(net, xs, ys, a0):
    As, _ = forward(net, xs, a0)
    return sum(cross_entropy(net.readout(a), y) for a, y in zip(As, ys))


def full_bptt_gradient(net, xs, ys, a0):
    """Exact gradient of Σ_t L_t for fixed weights, by backpropagation through time::

        g_T = c_T,   g_t = c_t + J_{t+1}^T g_{t+1}        (g_t = dΣL/da_t)
        δ_t = α φ'(h_t) ⊙ g_t,   dW = Σ_t δ_t â_t^T,   dW_out = Σ_t e_t a_t^T,  db_out = Σ_t e_t"""
    As, Hs = forward(net, xs, a0)
    n, K = net.n_h, net.n_h + net.n_in + 1
    dW, dW_out, db_out = np.zeros((n, K)), np.zeros_like(net.W_out), np.zeros_like(net.b_out)
    g_next = np.zeros(n)
    for t in range(len(xs) - 1, -1, -1):
        e = output_error(net, As[t], ys[t])
        dW_out += np.outer(e, As[t])
        db_out += e
        g = net.W_out.T @ e
        if t + 1 < len(xs):
            g += J_t(net, Hs[t + 1]).T @ g_next
        a_prev = As[t - 1] if t > 0 else a0
        dW += np.outer(net.alpha * (1.0 - np.tanh(Hs[t]) ** 2) * g, a_hat(a_prev, xs[t]))
        g_next = g
    out = split_recurrent(dW, n, net.n_in)
    out.update(W_out=dW_out, b_out=db_out)
    return out


def train_online(net, algorithm, xs, ys, lr, a0=None):
    """Online SGD as their ``Simulation.run`` (update_interval 1): at each step,
    forward, the algorithm's update with the current weights, then θ ← θ - lr·g
    at once. The influence estimate is carried across weight changes, as theirs.
    Modifies ``net`` in place; returns the per-step losses L_t (computed before
    that step's update). a0 defaults to zeros (their ``RNN.reset_network`` draws
    a_0 = tanh(N(0, 1)) instead)."""
    a = np.zeros(net.n_h) if a0 is None else np.asarray(a0, dtype=np.float64)
    losses = np.empty(len(xs))
    for t, (x, y) in enumerate(zip(xs, ys)):
        a_next, h = net.step(a, x)
        losses[t] = cross_entropy(net.readout(a_next), y)
        net.sgd(algorithm.update(net, a, x, a_next, h, y), lr)
        a = a_next
    return losses


# ------------------------------------------------------------------ the Add task

def add_task(n_steps, seed, t1=5, t2=9, deterministic=True):
    """Their ``Add_Task``: x_t ~ Bernoulli(1/2) i.i.d., fed as the two inputs
    (x_t, 1 - x_t); p_t = 1/2 + 1/2 x_{t-t1} - 1/4 x_{t-t2}; the label is
    (p_t, 1 - p_t) (``deterministic=True``, as their scripts construct it) or a
    one-hot draw (y, 1 - y), y ~ Bernoulli(p_t) (their class default). The lags
    wrap around (``np.roll``): the first t2 labels look at the sequence's end.
    Draws: x = rng.binomial(1, 0.5, n_steps), then the labels if sampled."""
    rng = np.random.default_rng(seed)
    x = rng.binomial(1, 0.5, n_steps)
    p = 0.5 + 0.5 * np.roll(x, t1) - 0.25 * np.roll(x, t2)
    y = p if deterministic else rng.binomial(1, p)
    return (np.stack([x, 1 - x], axis=1).astype(np.float64),
            np.stack([y, 1 - y], axis=1).astype(np.float64))


def _entropy(p):
    p = np.asarray(p, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, -p * np.log(p), 0.0) + np.where(p < 1, -(1 - p) * np.log(1 - p), 0.0)
    return terms


def add_task_floors():
    """Lowest expected cross-entropy of a predictor that knows nothing of the past,
    x_{t-t1} only, or both lags: E[H(E[p_t | known inputs])], the four equally
    likely (x_{t-t1}, x_{t-t2}) giving p ∈ {1/2, 1, 1/4, 3/4}. ≈ 0.662, 0.519, 0.454."""
    u, v = np.meshgrid([0.0, 1.0], [0.0, 1.0], indexing="ij")      # u = x_{t-t1}, v = x_{t-t2}
    p = 0.5 + 0.5 * u - 0.25 * v
    return {"no_memory": float(_entropy(p.mean())),
            "t1_only": float(_entropy(p.mean(axis=1)).mean()),
            "both": float(_entropy(p).mean())}


def _time_steps(algorithm, n_h=32, n_steps=3000, seed=0):
    """Per-step wall times (seconds) of one online step: forward, update, SGD."""
    import time
    net = LeakyRNN.init(2, n_h, 2, seed)
    X, Y = add_task(n_steps, seed)
    a, out = np.zeros(n_h), np.empty(n_steps)
    for t in range(n_steps):
        t0 = time.perf_counter()
        a_next, h = net.step(a, X[t])
        net.sgd(algorithm.update(net, a, X[t], a_next, h, Y[t]), 1e-3)
        out[t], a = time.perf_counter() - t0, a_next
    return out


if __name__ == "__main__":   # OPENBLAS_NUM_THREADS=1 python benchmarks/online_numpy.py
    rng = np.random.default_rng(0)
    for alg in (RTRL(), UORO(rng), KFRTRL(rng), RFLO(1.0), SnAp1()):
        t = _time_steps(alg)[500:]
        print(f"{type(alg).__name__:7s} n_h 32: median {np.median(t) * 1e6:7.1f} µs/step "
              f"(p10 {np.percentile(t, 10) * 1e6:.1f}, p90 {np.percentile(t, 90) * 1e6:.1f})")
