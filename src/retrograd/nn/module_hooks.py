"""Module backward hooks: ``register_full_backward_hook`` and ``register_full_backward_pre_hook``.

How they see the module's gradients, as PyTorch's ``BackwardHook`` does: when the module is
called with such hooks, its tensor inputs pass through an identity op before ``forward`` and its
tensor outputs through another after it. In the backward pass the output identity is reached
first; its ``backward`` receives the gradients of the outputs (ḡ_out, None where none flowed),
runs the pre-hooks (each may return a new tuple) and keeps the result. The input identity is
reached when the whole module has been differentiated; its ``backward`` receives the gradients of
the inputs (ḡ_in) and runs the full hooks with ``(module, grad_input, grad_output)``: a tuple a
hook returns replaces ``grad_input`` for the hooks after it and for the graph upstream.

Non-tensor positional arguments appear as None in ``grad_input``, non-tensor outputs as None in
``grad_output``; keyword arguments are not seen, as in PyTorch.
"""

from __future__ import annotations

import warnings

from ..autograd.function import Function
from ..autograd.mode import is_grad_enabled
from ..autograd.tensor import Tensor


class _HookIdentity(Function):
    """y = x for every tensor x; the backward hands the gradients to ``callback``, whose result
    (one gradient per tensor) is what flows on."""

    @staticmethod
    def forward(ctx, callback, *xs):
        ctx.callback = callback
        ctx.set_materialize_grads(False)  # the pre-hooks see None for an output no gradient reached
        outs = tuple(Tensor(x.data) for x in xs)
        ctx.mark_non_differentiable(*[y for x, y in zip(xs, outs) if not x.requires_grad])
        return outs

    @staticmethod
    def backward(ctx, *grads):
        return (None,) + tuple(ctx.callback(grads))


class BackwardHook:
    """One call's link between its outputs' gradients and its inputs' gradients (PyTorch's
    ``torch.utils.hooks.BackwardHook``): made by ``Module.__call__`` with the hooks registered at
    that moment."""

    def __init__(self, module, user_hooks, user_pre_hooks):
        self.module, self.user_hooks, self.user_pre_hooks = module, user_hooks, user_pre_hooks
        self.grad_outputs = None
        self.n_inputs = self.n_outputs = -1
        self.input_index = self.output_index = None

    @staticmethod
    def _pack(indices, values, size):
        out = [None] * size
        for i, v in zip(indices, values):
            out[i] = v
        return tuple(out)

    def _wrap(self, callback, args):
        """``args`` with its tensors through a ``_HookIdentity`` (unchanged when none requires grad or
        grad mode is off), and the positions of the tensors (None: not wrapped)."""
        index = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        if not (any(args[i].requires_grad for i in index) and is_grad_enabled()):
            return args, None
        new = _HookIdentity.apply(callback, *(args[i] for i in index))
        new = new if isinstance(new, tuple) else (new,)
        out = list(args)
        for i, t in zip(index, new):
            out[i] = t
        return tuple(out), index

    def setup_input_hook(self, args: tuple) -> tuple:
        """Route the tensor arguments through the identity whose backward runs the full hooks."""
        def on_grad_input(grads):
            if self.grad_outputs is None:  # the gradient reached the inputs without passing the outputs
                return grads
            # a tensor input that got no gradient gets zeros, as in PyTorch (its identity's
            # backward receives materialized gradients)
            grads = tuple(g if g is not None else _zeros_like(x) for g, x in zip(grads, self._inputs))
            res = self._pack(self.input_index, grads, self.n_inputs)
            for hook in self.user_hooks:
                out = hook(self.module, res, self.grad_outputs)
                if out is None:
                    continue
                if len(out) != len(res):
                    raise RuntimeError("Backward hook returned an invalid number of grad_input, "
                                       f"got {len(out)}, but expected {len(res)}")
                _check_grads(out)
                res = out
            self.grad_outputs = None
            return tuple(res[i] for i in self.input_index)

        res, index = self._wrap(on_grad_input, args)
        self._inputs = [args[i] for i in index] if index is not None else []
        self.n_inputs, self.input_index = len(args), index
        return res

    def setup_output_hook(self, result):
        """Route the tensor outputs through the identity whose backward runs the pre-hooks (and the
        full hooks too when no input requires grad: they get ``grad_input`` all None)."""
        def on_grad_output(grads):
            self.grad_outputs = self._pack(self.output_index, grads, self.n_outputs)
            expected = len(self.grad_outputs)
            for hook in self.user_pre_hooks:
                new = hook(self.module, self.grad_outputs)
                if new is None:
                    continue
                if len(new) != expected:
                    raise RuntimeError("Backward pre hook returned an invalid number of grad_output, "
                                       f"got {len(new)}, but expected {expected}")
                _check_grads(new)
                self.grad_outputs = new
            local = self.grad_outputs
            if self.input_index is None:
                warnings.warn("Full backward hook is firing when gradients are computed with respect to module "
                              "outputs since no inputs require gradients. See "
                              "https://docs.pytorch.org/docs/main/generated/torch.nn.Module.html"
                              "#torch.nn.Module.register_full_backward_hook for more details.", UserWarning)
                grad_inputs = (None,) * self.n_inputs
                for hook in self.user_hooks:
                    res = hook(self.module, grad_inputs, self.grad_outputs)
                    if res is not None and not (isinstance(res, tuple) and all(r is None for r in res)):
                        raise RuntimeError("Backward hook for Modules where no input requires gradient should "
                                           "always return None or None for all gradients.")
                self.grad_outputs = None
            return tuple(local[i] for i in self.output_index)

        if not isinstance(result, (Tensor, tuple)):
            warnings.warn("For backward hooks to be called, module output should be a Tensor or a tuple of Tensors "
                          f"but received {type(result)}", UserWarning)
        several = isinstance(result, tuple)
        items = result if several else (result,)
        res, index = self._wrap(on_grad_output, items)
        self.n_outputs, self.output_index = len(items), index
        return res if several else res[0]


def _check_grads(grads) -> None:
    """A hook's replacement gradients are Tensors or None: TypeError otherwise, as PyTorch."""
    for g in grads:
        if g is not None and not isinstance(g, Tensor):
            raise TypeError(f"expected Variable, but hook returned '{type(g).__name__}' "
                            "(a backward hook must return Tensors or None)")


def _zeros_like(x):
    from ..autograd.backend import xp

    return Tensor(xp.zeros_like(x.data))
