"""Optimizers with PyTorch's update rules, hyper-parameter names and
``state_dict`` layout, plus TensorFlow's two halves of ``minimize``.

Seed page 001 asks where TensorFlow's ``minimize`` does backpropagation: it is
``compute_gradients`` (the backward pass) followed by ``apply_gradients``
(the update). Both are here, and ``minimize`` is literally the two in a row.
"""

from __future__ import annotations

import math

from ..autograd.backend import xp

from ..autograd.engine import grad as _grad
from ..autograd.tensor import Tensor, mark_modified
from . import foreach as _foreach
from .hooks import OptimizerHooks, patch_step, register_optimizer_step_post_hook, register_optimizer_step_pre_hook

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "register_optimizer_step_pre_hook",
           "register_optimizer_step_post_hook"]


def _as_read(group: dict) -> dict:
    """The group as an update reads it: a Tensor learning rate (PyTorch takes a 1-element Tensor
    ``lr``, which a scheduler fills in place) by its value now."""
    lr = group.get("lr")
    if isinstance(lr, Tensor):
        return {**group, "lr": float(lr.data.reshape(()))}
    return group


def _like(current, value):
    """A loaded hyper-parameter ``value`` in the kind of the ``current`` one: where the group holds a
    Tensor (a Tensor ``lr``), a new Tensor of the loaded value in its dtype — PyTorch's
    ``load_state_dict`` copies the saved groups, so two optimizers never share a rate's Tensor."""
    if isinstance(current, Tensor) and _is_number(value):
        return Tensor(xp.asarray(float(value), dtype=current.data.dtype))
    if isinstance(value, Tensor):
        return value.clone()
    return value


def _is_number(value) -> bool:
    """A real number (Python or NumPy scalar), not a bool or a string."""
    return not isinstance(value, (bool, str, bytes)) and (isinstance(value, (int, float)) or
                                                          hasattr(value, "__float__"))


class Optimizer(OptimizerHooks):
    """Base class: parameter groups, ``zero_grad``, ``step``, state save/load.

    A subclass implements ``update(param, grad, state, group)``, which changes
    ``param.data`` in place from the gradient array ``grad``, and declares its
    hyper-parameters with their defaults (and types) in ``defaults``; saving
    and loading (``state_dict``/``load_state_dict``) follow that declaration.
    """

    defaults: dict = {}
    counters: tuple = ("step",)
    """Per-parameter state entries that are integer counts (PyTorch keeps them
    as float tensors; here they are ints again after loading)."""

    def __init__(self, params, **hyper):
        name = type(self).__name__
        patch_step(type(self))  # step runs the step hooks (optim.hooks), as PyTorch patches it
        if isinstance(params, Tensor) or isinstance(params, dict):
            raise TypeError(f"{name}: params should be an iterable of Tensors or dicts, got "
                            f"{type(params).__name__}; pass [tensor] or model.parameters()")
        params = list(params)
        if not params:
            raise ValueError(f"{name}: optimizer got an empty parameter list")
        self._hyper = {**type(self).defaults, **hyper}
        self._check(self._hyper)
        self.param_groups = []
        self.state = {}  # id(param) -> dict of state arrays and counters
        for g in (params if isinstance(params[0], dict) else [{"params": params}]):
            self.add_param_group(g)

    def add_param_group(self, param_group: dict):
        """Add a group of parameters with its own hyper-parameters (the others
        come from the constructor's). Checked like PyTorch: every parameter a
        leaf Tensor (a frozen one is taken, and left alone while it has no
        gradient), in no other group and not twice in this one, and every
        hyper-parameter valid (``ValueError`` otherwise)."""
        name = type(self).__name__
        if not isinstance(param_group, dict) or "params" not in param_group:
            raise ValueError(f"{name}: a parameter group must be a dict with a 'params' entry, got "
                             f"{type(param_group).__name__}")
        raw = param_group["params"]
        group = {**self._hyper, **{k: v for k, v in param_group.items() if k != "params"}}
        group["params"] = [raw] if isinstance(raw, Tensor) else list(raw)
        seen = set()
        for i, p in enumerate(group["params"]):
            if not isinstance(p, Tensor):  # a frozen one (requires_grad=False) is taken: it has no gradient to apply
                raise TypeError(f"{name}: can only optimize Tensors, but parameter {i} of group "
                                f"{len(self.param_groups)} is {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{name}: can't optimize a non-leaf Tensor (parameter {i} of group "
                                 f"{len(self.param_groups)} was computed by {p.grad_fn.name}); pass the leaf")
            if id(p) in seen:
                raise ValueError(f"{name}: parameter {i} appears twice in parameter group "
                                 f"{len(self.param_groups)} (it would be updated twice per step)")
            seen.add(id(p))
        if any(id(p) in seen for g in self.param_groups for p in g["params"]):
            raise ValueError(f"{name}: some parameters appear in more than one parameter group")
        self._check(group)
        self.param_groups.append(group)

    # PyTorch's wording (after the class name, so lower case); a NaN fails every comparison: refused too.
    rules: dict = {
        "lr": "invalid learning rate: {}",
        "eps": "invalid epsilon value: {}",
        "momentum": "invalid momentum value: {}",
        "weight_decay": "invalid weight_decay value: {}",
        "lr_decay": "invalid lr_decay value: {}",
        "initial_accumulator_value": "invalid initial_accumulator_value value: {}",
        "alpha": "invalid alpha value: {}",
    }
    """Hyper-parameters that must be finite numbers ≥ 0, with the message for a bad one."""

    def _check(self, group):
        """Validate a group's hyper-parameters (``ValueError`` with PyTorch's wording):
        the ``rules`` entries finite and ≥ 0, ``betas`` a pair in [0, 1), Nesterov
        only with momentum > 0 and zero dampening."""
        name = type(self).__name__
        lr = group.get("lr")
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError(f"{name}: Tensor lr must be 1-element, got shape {tuple(lr.shape)}")
        for key, message in self.rules.items():
            if key not in group:
                continue
            v = group[key]
            if not _is_number(v):
                raise ValueError(f"{name}: {message.format(repr(v))} (must be a number)")
            if not (math.isfinite(float(v)) and float(v) >= 0):
                raise ValueError(f"{name}: {message.format(v)}")
        if "betas" in group:
            betas = group["betas"]
            if not isinstance(betas, (tuple, list)) or len(betas) != 2:
                raise ValueError(f"{name}: betas must be a pair (beta1, beta2), got {betas!r}")
            for i, b in enumerate(betas):
                if not _is_number(b) or not 0.0 <= float(b) < 1.0:
                    raise ValueError(f"{name}: invalid beta parameter at index {i}: {b}")
        if group.get("foreach", None) not in (None, True, False):
            raise ValueError(f"{name}: foreach must be None, True or False, got {group['foreach']!r}")
        if group.get("nesterov") and (group.get("momentum", 0) <= 0 or group.get("dampening", 0) != 0):
            raise ValueError(f"{name}: Nesterov momentum requires a momentum and zero dampening")

    def params(self):
        """Every parameter, in group order."""
        return [p for g in self.param_groups for p in g["params"]]

    def zero_grad(self, set_to_none: bool = True):
        """Clear the gradients of every parameter (to None, or to zeros)."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None  # what p.zero_grad_(True) does, without a call per parameter
                else:
                    p.zero_grad_(False)

    def step(self, closure=None):
        """Update every parameter that has a gradient. Returns the closure's loss if given."""
        loss = closure() if closure is not None else None
        states = self.state
        for group in self.param_groups:
            self._step_group(_as_read(group), states)
            mark_modified(group["params"])  # a backward through a graph recorded before this step now raises
        return loss

    def _step_group(self, group, states):
        """``update`` every parameter of ``group`` that has a gradient (a subclass may
        override this with an equivalent loop that does less per parameter)."""
        update = self.update
        maximize = group.get("maximize", False)  # ascend: the gradient negated first, as PyTorch's
        for p in group["params"]:
            grad = p.grad
            if grad is not None:
                state = states.get(id(p))
                if state is None:
                    state = states[id(p)] = {}
                update(p, -grad.data if maximize else grad.data, state, group)

    def update(self, p, g, state, group):  # pragma: no cover - abstract
        raise NotImplementedError

    # ------------------------------------------------------------ TensorFlow's two halves
    def compute_gradients(self, loss, var_list=None):
        """The backward pass alone: ``[(grad, param), ...]`` for every parameter
        (grad is None for one the loss does not use). Nothing is updated."""
        params = self.params() if var_list is None else list(var_list)
        grads = _grad(loss, params, allow_unused=True)
        return list(zip(grads, params))

    def apply_gradients(self, grads_and_vars):
        """The update alone: apply the given gradients to their parameters."""
        owner = {id(p): g for g in self.param_groups for p in g["params"]}
        for grad, p in grads_and_vars:
            if grad is None:
                continue
            if id(p) not in owner:
                raise ValueError("apply_gradients: a parameter is not managed by this optimizer")
            gdata = grad.data if isinstance(grad, Tensor) else xp.asarray(grad)
            if gdata.shape != p.shape:
                raise ValueError(f"apply_gradients: gradient of shape {gdata.shape} for a parameter of "
                                 f"shape {p.shape}")
            self.update(p, gdata, self.state.setdefault(id(p), {}), owner[id(p)])
            p.mark_modified_()

    def minimize(self, loss, var_list=None):
        """``apply_gradients(compute_gradients(loss))``: one training step."""
        self.apply_gradients(self.compute_gradients(loss, var_list))

    # ------------------------------------------------------------ state
    # PyTorch's layout. Each optimizer class owns the conversion of its own
    # hyper-parameters and state back from a saved (for instance JSON'd) form
    # through ``restore_hyper`` and ``restore_state``; a checkpoint writer only
    # ever calls ``state_dict`` and ``load_state_dict``.
    def state_dict(self) -> dict:
        """``{"state": {i: {name: array or number}}, "param_groups": [{hyper…, "params": [i, …]}]}``,
        parameters numbered from 0 in group order, as in PyTorch: a parameter's
        state is keyed by its position, not by its identity, so it loads into a
        new optimizer over new tensors of the same shapes. Hyper-parameters keep
        their types (``betas`` is a tuple); arrays are the live state (not
        copies, like PyTorch), ``load_state_dict`` copies them in."""
        self._call_hooks("_optimizer_state_dict_pre_hooks")
        index = {}
        groups = []
        for g in self.param_groups:
            ids = []
            for p in g["params"]:
                index[id(p)] = len(index)
                ids.append(index[id(p)])
            groups.append({**{k: v for k, v in g.items() if k != "params"}, "params": ids})
        state = {index[pid]: dict(s) for pid, s in self.state.items() if pid in index}
        return self._call_hooks("_optimizer_state_dict_post_hooks", {"state": state, "param_groups": groups})

    def load_state_dict(self, state_dict: dict):
        """Restore hyper-parameters and state from a ``state_dict()`` (this
        optimizer's, a serialised copy of it, or PyTorch's with its tensors as
        arrays); parameters are matched by position. Each value goes through
        ``restore_hyper`` / ``restore_state``, so a tuple saved as a list is a
        tuple again and arrays are copied in the parameter's dtype. Everything
        is checked before anything changes."""
        name = type(self).__name__
        state_dict = self._call_hooks("_optimizer_load_state_dict_pre_hooks", dict(state_dict))  # a shallow copy
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups) or any(
                len(a["params"]) != len(b["params"]) for a, b in zip(groups, self.param_groups)):
            raise ValueError(f"{name}.load_state_dict: the saved parameter groups do not match "
                             f"this optimizer's ({[len(g['params']) for g in groups]} vs "
                             f"{[len(g['params']) for g in self.param_groups]} parameters)")
        params = self.params()
        hypers = [{k: _like(group.get(k), self.restore_hyper(k, v)) for k, v in saved.items() if k != "params"}
                  for saved, group in zip(groups, self.param_groups)]
        for group, hyper in zip(self.param_groups, hypers):
            self._check({**group, **hyper})
        state = {}
        for i, saved in state_dict["state"].items():
            if not 0 <= int(i) < len(params):
                raise ValueError(f"{name}.load_state_dict: state for parameter {i}, but there are "
                                 f"{len(params)} parameters")
            p = params[int(i)]
            state[id(p)] = {k: self.restore_state(p, k, v, int(i)) for k, v in saved.items()}
        for group, hyper in zip(self.param_groups, hypers):
            group.update(hyper)
        self.state = state
        self._call_hooks("_optimizer_load_state_dict_post_hooks")

    def restore_hyper(self, name: str, value):
        """A saved hyper-parameter in the type this optimizer uses. The class
        declares its hyper-parameters in ``defaults``: a value saved as a list
        (JSON has no tuples) whose default is a tuple, such as Adam's
        ``betas``, becomes a tuple again. Override for other conversions."""
        default = type(self).defaults.get(name)
        if isinstance(default, tuple) and isinstance(value, list):
            return tuple(value)
        return value

    def restore_state(self, param, name: str, value, index: int):
        """A saved per-parameter state entry in the form ``update`` uses: a
        counter (``counters``) becomes an int, an array of the parameter's shape
        a copy in the parameter's dtype on the active backend, any other 0-d
        array a Python number. Override for state of other kinds."""
        if name in self.counters:
            item = getattr(value, "item", None)  # PyTorch's step is a 0-d float tensor
            value = item() if item is not None else value
            return int(value) if float(value).is_integer() else value
        if hasattr(value, "shape") and hasattr(value, "dtype"):
            if tuple(value.shape) == tuple(param.shape):
                return xp.array(value, dtype=param.dtype, copy=True)
            if value.ndim == 0:
                return value.item()
            raise ValueError(f"{type(self).__name__}.load_state_dict: state '{name}' of parameter {index} "
                             f"has shape {tuple(value.shape)}, the parameter {tuple(param.shape)}")
        return value

    def __repr__(self):
        hyper = {k: v for k, v in self.param_groups[0].items() if k != "params"}
        return f"{type(self).__name__}({', '.join(f'{k}={v}' for k, v in hyper.items())})"


class SGD(Optimizer):
    """p ← p − lr·d, d = g + λp, with momentum: b ← μb + (1 − τ)d, d = b (or d + μb, Nesterov).

    ``foreach`` (PyTorch's): update the group's parameters together, one kernel
    launch per group on CuPy (``optim/foreach.py``); None (default) does so on
    a device backend, True on every backend, False never. The numbers are the same."""

    defaults = dict(lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False,
                    foreach=None)

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None):
        super().__init__(params, lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                         nesterov=nesterov, maximize=maximize, foreach=foreach)

    def _step_group(self, group, states):
        if group["maximize"]:  # the general loop negates the gradient
            return super()._step_group(group, states)
        if type(self).update is SGD.update and _foreach.wanted(group):
            return _foreach.sgd_step(self, group, states)
        # Plain SGD (no momentum, no weight decay) is most of every small model's step: the
        # update inlined, with exactly ``update``'s arithmetic (p ← p − lr·g, in place).
        # A subclass that overrides ``update`` keeps the general loop.
        if group["momentum"] or group["weight_decay"] or type(self).update is not SGD.update:
            return super()._step_group(group, states)
        lr = group["lr"]
        for p in group["params"]:
            grad = p._grad  # (``p.grad``, without the property's call: an online run steps every time step)
            if grad is not None:
                if id(p) not in states:
                    states[id(p)] = {}
                p.data -= lr * grad.data

    def update(self, p, g, state, group):
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p.data
        mu = group["momentum"]
        if mu:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = xp.array(g, dtype=p.dtype)
            else:
                buf *= mu
                buf += (1 - group["dampening"]) * g
            g = g + mu * buf if group["nesterov"] else buf
        p.data -= group["lr"] * g


class Adagrad(Optimizer):
    """s ← s + g²;  p ← p − lr/(1 + (t − 1)·decay) · g / (√s + ε)"""

    defaults = dict(lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10,
                    foreach=None, maximize=False)

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10, foreach: bool | None = None, *,
                 maximize: bool = False):
        # ``foreach`` is PyTorch's argument, accepted; the update is one loop either way (the same numbers)
        super().__init__(params, lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                         initial_accumulator_value=initial_accumulator_value, eps=eps, foreach=foreach,
                         maximize=maximize)
        for group in self.param_groups:  # the accumulators exist from the start, as PyTorch's (state_dict shows them)
            for p in group["params"]:
                self.state[id(p)] = self._fresh_state(p, group)

    @staticmethod
    def _fresh_state(p, group) -> dict:
        return {"step": 0, "sum": xp.full(p.shape, group["initial_accumulator_value"], dtype=p.dtype)}

    def update(self, p, g, state, group):
        if not state:  # a parameter added later (add_param_group) starts here
            state.update(self._fresh_state(p, group))
        state["step"] += 1
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p.data
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        state["sum"] += g * g
        p.data -= clr * g / (xp.sqrt(state["sum"]) + group["eps"])


class RMSprop(Optimizer):
    """v ← αv + (1 − α)g²;  p ← p − lr·g / (√v + ε)  (centered: v − ḡ²; momentum: a buffer of the steps)"""

    defaults = dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False, foreach=None,
                    maximize=False)

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0.0,
                 momentum: float = 0.0, centered: bool = False, foreach: bool | None = None, maximize: bool = False):
        # ``foreach`` is PyTorch's argument, accepted; the update is one loop either way (the same numbers)
        super().__init__(params, lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                         centered=centered, foreach=foreach, maximize=maximize)

    def update(self, p, g, state, group):
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(p.data)
            if group["momentum"]:
                state["momentum_buffer"] = xp.zeros_like(p.data)
            if group["centered"]:
                state["grad_avg"] = xp.zeros_like(p.data)
        state["step"] += 1
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p.data
        a = group["alpha"]
        sq = state["square_avg"]
        sq *= a
        sq += (1 - a) * g * g
        if group["centered"]:
            ga = state["grad_avg"]
            ga *= a
            ga += (1 - a) * g
            avg = xp.sqrt(sq - ga * ga) + group["eps"]
        else:
            avg = xp.sqrt(sq) + group["eps"]
        if group["momentum"]:
            buf = state["momentum_buffer"]
            buf *= group["momentum"]
            buf += g / avg
            p.data -= group["lr"] * buf
        else:
            p.data -= group["lr"] * g / avg


class Adam(Optimizer):
    """m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²;
    p ← p − lr·(m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε)   (Kingma & Ba 2015)

    ``foreach`` (PyTorch's): update the group's parameters together, one kernel
    launch per group on CuPy (``optim/foreach.py``); None (default) does so on
    a device backend, True on every backend, False never. The numbers are the same."""

    defaults = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, foreach=None,
                    maximize=False, decoupled_weight_decay=False)
    decoupled = False

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0,
                 amsgrad: bool = False, *, foreach: bool | None = None, maximize: bool = False,
                 decoupled_weight_decay: bool = False):
        super().__init__(params, lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         foreach=foreach, maximize=maximize,
                         decoupled_weight_decay=decoupled_weight_decay or self.decoupled)

    def _step_group(self, group, states):
        if (type(self).update is Adam.update and _foreach.wanted(group) and not group["maximize"]
                and group["decoupled_weight_decay"] == self.decoupled):
            return _foreach.adam_step(self, group, states)
        return super()._step_group(group, states)

    def update(self, p, g, state, group):
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(p.data)
            state["exp_avg_sq"] = xp.zeros_like(p.data)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = xp.zeros_like(p.data)
        state["step"] += 1
        t = state["step"]
        lr, wd, (b1, b2) = group["lr"], group["weight_decay"], group["betas"]
        if wd:
            if group.get("decoupled_weight_decay", self.decoupled):  # AdamW's, or Adam(decoupled_weight_decay=True)
                p.data *= 1 - lr * wd
            else:
                g = g + wd * p.data
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * g * g
        if group["amsgrad"]:
            xp.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            v = state["max_exp_avg_sq"]
        bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t
        denom = xp.sqrt(v) / math.sqrt(bc2) + group["eps"]
        p.data -= (lr / bc1) * m / denom


class AdamW(Adam):
    """Adam with decoupled weight decay: p ← p·(1 − lr·λ) before the Adam step
    (Loshchilov & Hutter 2019)."""

    defaults = dict(Adam.defaults, weight_decay=1e-2)
    decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 1e-2,
                 amsgrad: bool = False, *, maximize: bool = False, foreach: bool | None = None):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         foreach=foreach, maximize=maximize)
