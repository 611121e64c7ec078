"""Non-smooth conventions: what the gradient is at kinks and ties.

Every kink in retrograd is a *max (or min) of branches*:

==================  =========================================  ==================
op                  branches, in argument order                 slopes d/dx
==================  =========================================  ==================
relu(x)             max(x, 0)                                   1, 0
clamp(x, min=a)     max(x, a)   (and min(x, b) at the top)      1, 0
maximum(x, c)       max(x, c), c a constant                     1, 0
leaky_relu(x, α)    max(x, α·x)  (α ≤ 1)                         1, α
elu(x, α)           x for x > 0, α(eˣ − 1) below                 1, α
abs(x)              max(x, −x)                                  1, −1
maximum(x, y)       max(x, y), both require grad                (1, 0), (0, 1)
max(x) reduction    max over the tied entries                   e_i for each tie
max-pool window     max over the window's tied entries          e_i for each tie
==================  =========================================  ==================

Where two or more branches are equal (a *tie*), the function has a set of
valid gradients (the Clarke subdifferential is the convex hull of the tied
branches' slopes). A **policy** picks one, and the same policy is applied to
every op, so that ``relu(x)``, ``clamp(x, min=0)`` and ``maximum(x, 0)`` — the
same function — always have the same gradient at 0 (PyTorch gives relu 0 and
clamp 1 there).

``min_norm`` (default)
    The minimum-norm element of the convex hull of the tied slopes: 0 for relu,
    clamp and abs at their kinks, α for leaky_relu, ½/½ for ``maximum(x, y)``,
    1/k to each of k tied maxima. It is the steepest-descent direction of
    nonsmooth optimisation, and the only choice that is a true subgradient
    *and* symmetric.
``first``
    All gradient to the first tied branch in argument order (index order for
    reductions and pooling: TensorFlow's and Caffe's max-pool). relu, clamp
    and ``maximum(x, 0)`` give 1 at 0.
``split``
    The mean of the tied slopes: relu ½, abs 0, leaky_relu (1 + α)/2, and the
    gradient shared evenly among tied maxima (JAX, autograd, PyTorch's
    ``maximum`` and ``max`` reductions).
``all``
    The sum of the tied slopes: every tied element gets the full gradient
    (Theano's max-pool). relu 1, abs 0, leaky_relu 1 + α. Not a subgradient in
    general (tied maxima get k times the gradient in total); offered because
    ported code expects it.

Constants are not branches that can receive gradient: ``maximum(x, y)`` where
only ``x`` requires grad is treated as ``maximum(x, const)``. Policies are
applied per op, to its own inputs.

The policy is read when an op is *recorded* (the forward pass), so a graph's
derivative convention is fixed when it is built::

    with rg.conventions.policy("first"):
        y = rg.relu(x)          # records "first"
    y.sum().backward()          # x.grad is 1 where x == 0
"""

from __future__ import annotations

import contextlib
import threading

POLICIES = ("min_norm", "first", "split", "all")

_state = threading.local()
_default = "min_norm"


def get_policy() -> str:
    """The policy in force in this thread."""
    return getattr(_state, "policy", _default)


def set_policy(name: str) -> None:
    """Set the global policy (all threads that have not overridden it)."""
    global _default
    _check(name)
    _default = name
    if hasattr(_state, "policy"):
        _state.policy = name


@contextlib.contextmanager
def policy(name: str):
    """``with policy("split"): ...`` — use ``name`` for ops recorded in the block."""
    _check(name)
    old = getattr(_state, "policy", None)
    _state.policy = name
    try:
        yield name
    finally:
        if old is None:
            del _state.policy
        else:
            _state.policy = old


def _check(name):
    if name not in POLICIES:
        raise ValueError(f"conventions: unknown policy {name!r}; choose one of {POLICIES}")


def tied_gradient(branch_slopes, name: str | None = None) -> tuple:
    """The gradient a policy assigns where the given branches tie.

    ``branch_slopes`` lists, in argument order, each tied branch's gradient
    with respect to the op's differentiable inputs (a tuple per branch).
    Returns one tuple, a gradient with respect to those inputs.

    >>> tied_gradient([(1.0,), (0.0,)], "min_norm")   # relu at 0
    (0.0,)
    >>> tied_gradient([(1.0, 0.0), (0.0, 1.0)], "min_norm")   # maximum(x, y), x == y
    (0.5, 0.5)
    """
    name = name or get_policy()
    slopes = [tuple(float(v) for v in s) for s in branch_slopes]
    k, dim = len(slopes), len(slopes[0])
    if name == "first":
        return slopes[0]
    if name == "split":
        return tuple(sum(s[i] for s in slopes) / k for i in range(dim))
    if name == "all":
        return tuple(sum(s[i] for s in slopes) for i in range(dim))
    _check(name)
    return _min_norm_point(slopes)


def _min_norm_point(points):
    """Minimum-norm point of the convex hull of ``points`` (Frank–Wolfe on the
    simplex; exact in the few-point cases the ops use)."""
    if len(points) == 1:
        return points[0]
    if len(points) == 2:
        a, b = points
        d = [bi - ai for ai, bi in zip(a, b)]
        dd = sum(v * v for v in d)
        t = 0.0 if dd == 0 else min(1.0, max(0.0, -sum(ai * di for ai, di in zip(a, d)) / dd))
        return tuple(ai + t * di for ai, di in zip(a, d))
    # Frank-Wolfe with exact line search; converges fast for tiny hulls.
    x = list(points[0])
    for _ in range(1000):
        best = min(points, key=lambda p: sum(pi * xi for pi, xi in zip(p, x)))
        d = [bi - xi for bi, xi in zip(best, x)]
        dd = sum(v * v for v in d)
        if dd == 0:
            break
        t = min(1.0, max(0.0, -sum(xi * di for xi, di in zip(x, d)) / dd))
        if t == 0:
            break
        x = [xi + t * di for xi, di in zip(x, d)]
    return tuple(x)


_kink_cache = {}


def kink_slope(slopes, name: str | None = None) -> float:
    """Tie value for an elementwise kink of one variable whose branches, in
    order, have the scalar ``slopes`` (relu: ``(1, 0)``, abs: ``(1, -1)``).
    Memoised: every relu, clamp … asks this when it is recorded."""
    key = (tuple(slopes), name or get_policy())
    value = _kink_cache.get(key)
    if value is None:
        value = _kink_cache[key] = tied_gradient([(s,) for s in key[0]], key[1])[0]
    return value


def reduction_weights(name: str | None = None) -> str:
    """How a max/min reduction (or max-pool) shares gradient among k tied
    entries: ``"first"``, ``"split"`` (also ``min_norm``: the tied entries are
    separate coordinates, so the minimum-norm point is 1/k each) or ``"all"``."""
    name = name or get_policy()
    _check(name)
    return "split" if name == "min_norm" else name


# The table in the docs is generated from the rules above, so it cannot drift.
_TABLE_ROWS = [
    ("relu(x) at 0", lambda p: kink_slope((1, 0), p)),
    ("clamp(x, min=a) at a", lambda p: kink_slope((1, 0), p)),
    ("clamp(x, max=b) at b", lambda p: kink_slope((1, 0), p)),
    ("maximum(x, c) at x == c (c constant)", lambda p: kink_slope((1, 0), p)),
    ("leaky_relu(x, 0.01) at 0", lambda p: kink_slope((1, 0.01), p)),
    ("elu(x, 1.5) at 0", lambda p: kink_slope((1, 1.5), p)),
    ("abs(x) at 0", lambda p: kink_slope((1, -1), p)),
    ("maximum(x, y) at x == y: (dx, dy)", lambda p: tied_gradient([(1, 0), (0, 1)], p)),
    ("max of k tied entries: each gets", lambda p: {"first": "1 (first), 0", "split": "1/k",
                                                    "all": "1"}[reduction_weights(p)]),
]


def table() -> str:
    """The conventions table, one row per kink, one column per policy (markdown)."""

    def fmt(v):
        if isinstance(v, tuple):
            return "(" + ", ".join(fmt(x) for x in v) + ")"
        if isinstance(v, float):
            return f"{v:g}"
        return str(v)

    lines = ["| kink | " + " | ".join(POLICIES) + " |", "|---" * (len(POLICIES) + 1) + "|"]
    for label, rule in _TABLE_ROWS:
        lines.append(f"| {label} | " + " | ".join(fmt(rule(p)) for p in POLICIES) + " |")
    return "\n".join(lines)
