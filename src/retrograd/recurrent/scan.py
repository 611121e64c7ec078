"""``rg.scan``: a loop whose every step is recorded, so it can be differentiated.

Seed page 000 asks how TensorFlow differentiates ``tf.while_loop``: by
recording each iteration and running their vector-Jacobian products in
reverse. ``scan(step, init, xs)`` does exactly that on retrograd's tape:

    carry = init
    for t in range(T):
        carry, y_t = step(carry, xs[t])
    return carry, stack(y_t)

and ``loss.backward()`` then walks the T recorded steps backwards (BPTT). A
truncation ``mode`` changes which steps the backward pass may enter:

* ``chunk(k)``: the carry is cut from the tape every k steps (value kept);
* ``tail(k)``: the first T − k steps run without recording (Theano's
  ``scan(truncate_gradient=k)``): only the last k steps and their inputs get
  gradient.

``window(k)`` and ``williams_peng(k1, k2)`` are not cuts of one graph but
schedules of several backward passes (each loss has its own truncation, or
updates interleave with the forward), so they run through ``rg.bptt.gradient``
and ``rg.bptt.train``, which accept any step function as a model.
"""

from __future__ import annotations

from ..ops import stack
from ..tensor import Tensor, _wrap, no_grad


def scan(step, init, xs, mode=None):
    """Apply ``carry, y = step(carry, x_t)`` over the first axis of ``xs``;
    return ``(final carry, ys stacked along axis 0)`` (``ys`` is None when the
    step returns None for y)."""
    from ..bptt.engine import detach_state
    from ..bptt.modes import Chunk, Full, Tail

    mode = mode or Full()
    if not isinstance(mode, (Full, Chunk, Tail)):
        raise ValueError(f"scan: {mode} is a schedule of several backward passes, not a cut of one graph; "
                         f"use rg.bptt.gradient / rg.bptt.train with the step as the model")
    T = len(xs)
    carry, ys = init, []
    quiet = mode.no_grad_before(T)
    for t in range(T):
        x = xs[t] if isinstance(xs, Tensor) else _wrap(xs[t]) if hasattr(xs[t], "shape") else xs[t]
        if t < quiet:
            with no_grad():
                carry, y = step(carry, x)
            if t == quiet - 1:
                carry = detach_state(carry)
        else:
            if isinstance(mode, Chunk) and t > 0 and t % mode.k == 0:
                carry = detach_state(carry)
            carry, y = step(carry, x)
        ys.append(y)
    if all(y is None for y in ys):
        return carry, None
    return carry, stack(ys)
