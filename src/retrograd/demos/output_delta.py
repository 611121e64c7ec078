"""Seed page 002: why does the output delta a − y pass gradient checking while
(a − y)·f′(z) does not?

Because the delta is ∂L/∂z, and it depends on the loss as well as on the
activation. With a = σ(z):

* cross-entropy  L = −y log a − (1 − y) log(1 − a):
  ∂L/∂a = (a − y)/(a(1 − a)) and σ′(z) = a(1 − a), so ∂L/∂z = **a − y** (the σ′ cancels);
* squared error  L = ½(a − y)²:  ∂L/∂z = **(a − y)·σ′(z)**;
* linear output a = z with squared error: f′ = 1, so both formulas coincide.

Andrew Ng's course uses the cross-entropy cost, so its delta is a − y; the
UFLDL page uses squared error, so its delta has the σ′ factor. Mixing one loss
with the other delta fails the gradient check — which is what the asker saw.

This demo turns each (loss, delta) pair into an op whose vjp *is* that delta
and lets ``rg.gradcheck`` judge it against finite differences.
"""

from __future__ import annotations

import numpy as np

import retrograd as rg
from retrograd.autograd import UnaryOp

DESCRIPTION = "why the output delta a − y passes gradient checking and (a − y)·f′(z) does not"

LOSSES = {
    "sigmoid + cross-entropy": (lambda z, y: _sigmoid(z), lambda a, y: -(y * np.log(a) + (1 - y) * np.log(1 - a))),
    "sigmoid + squared error": (lambda z, y: _sigmoid(z), lambda a, y: 0.5 * (a - y) ** 2),
    "linear + squared error": (lambda z, y: z, lambda a, y: 0.5 * (a - y) ** 2),
}
# what the algebra says: which delta is ∂L/∂z for which output layer (the demo's claim)
EXPECTED = {
    ("sigmoid + cross-entropy", "a − y"): True, ("sigmoid + cross-entropy", "(a − y)·f′(z)"): False,
    ("sigmoid + squared error", "a − y"): False, ("sigmoid + squared error", "(a − y)·f′(z)"): True,
    ("linear + squared error", "a − y"): True, ("linear + squared error", "(a − y)·f′(z)"): True,
}
DELTAS = {
    "a − y": lambda a, y, fprime: a - y,
    "(a − y)·f′(z)": lambda a, y, fprime: (a - y) * fprime,
}
ALGEBRA = {
    "sigmoid + cross-entropy": "∂L/∂z = (a − y)/(a(1 − a)) · a(1 − a) = a − y",
    "sigmoid + squared error": "∂L/∂z = (a − y) · σ′(z) = (a − y)·a(1 − a)",
    "linear + squared error": "∂L/∂z = (a − y) · 1: both deltas are the same",
}


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


class OutputLayer(UnaryOp):
    """Forward: the summed loss of output activation + loss; vjp: a chosen delta formula."""
    name = "output_layer"
    __slots__ = ("activation", "loss", "delta", "y")
    save_inputs = (0,)  # the delta formulas read z

    def __init__(self, activation, loss, delta, y):
        self.activation, self.loss, self.delta, self.y = activation, loss, delta, y

    def forward(self, z):
        return np.sum(self.loss(self.activation(z, self.y), self.y))

    def vjp(self, ns, g, out, z):
        a = self.activation(z, self.y)
        fprime = a * (1 - a) if not np.array_equal(a, z) else np.ones_like(z)
        return (g * self.delta(a, self.y, fprime),)

    def jvp(self, ns, ts, out, z):
        # the transpose of the vjp, whichever delta it was given (a wrong delta is wrong both ways):
        # ẏ = Σ delta·ż, summed over z's axes (not over the tangent's leading ones)
        t = ts[0]
        zv = ns.value(z)
        a = self.activation(zv, self.y)
        fprime = a * (1 - a) if not np.array_equal(a, zv) else np.ones_like(zv)
        return ns.sum(t * self.delta(a, self.y, fprime), axis=tuple(range(t.ndim - zv.ndim, t.ndim)))


def run(out_dir: str = ".", seed: int = 0, verbose: bool = True) -> dict:
    """Run the demo (see ``retrograd.demos.output_delta``'s module docstring);
    returns its results as a dict (the tests check them):
    ``ok`` says every gradient check came out as the algebra says (``EXPECTED``); it writes no file."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((6, 3))
    y = rng.integers(0, 2, size=(6, 3)).astype(np.float64)
    results = {}
    if verbose:
        print(__doc__.split("This demo")[0].strip(), "\n")
        print(f"{'output layer':<26}{'delta':<16}{'gradcheck':<11}{'max |analytic − numeric|':>26}")
    for loss_name, (activation, loss) in LOSSES.items():
        for delta_name, delta in DELTAS.items():
            report = rg.gradcheck(lambda t: OutputLayer(activation, loss, delta, y)(t), [z])
            err = max(abs(e.analytic - e.numeric) for e in report.elements)
            results[(loss_name, delta_name)] = report.ok
            if verbose:
                print(f"{loss_name:<26}{delta_name:<16}{'PASS' if report.ok else 'FAIL':<11}{err:>26.2e}")
        if verbose:
            print(f"{'':<26}{ALGEBRA[loss_name]}")
    # and retrograd's own fused loss passes back exactly a − y
    zt = rg.tensor(z, requires_grad=True)
    rg.binary_cross_entropy_with_logits(zt, rg.tensor(y), reduction="sum").backward()
    fused = float(np.max(np.abs(zt.grad.data - (_sigmoid(z) - y))))
    results["fused_bce_with_logits_max_diff"] = fused
    if verbose:
        print(f"\nrg.binary_cross_entropy_with_logits passes back σ(z) − y: max difference {fused:.1e}")
    results["ok"] = all(results[key] == want for key, want in EXPECTED.items()) and fused < 1e-12
    results["files"] = []  # this demo prints; it writes no file
    if verbose and not results["ok"]:
        print("the gradient checks did NOT come out as the algebra above says")
    return results
