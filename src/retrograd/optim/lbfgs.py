"""L-BFGS with PyTorch 2.13's algorithm, arguments, errors and ``state_dict`` layout.

A quasi-Newton method: from the last ``history_size`` steps s = Δp and gradient changes
y = Δg it builds an approximation of the inverse Hessian (never stored: the "two-loop
recursion" applies it to the gradient in O(n·history) work), and moves along that direction,
by a fixed step ``lr`` or by a line search that satisfies the strong Wolfe conditions. One
``step(closure)`` runs up to ``max_iter`` such iterations, calling the closure (which must
clear the gradients, compute the loss, call ``backward`` and return the loss) whenever it
needs the loss and gradient at a new point.

The port is line for line (after PyTorch's, itself from Mark Schmidt's minFunc and Torch7's
``optim``): the same tests, the same order of operations, the scalars kept as 0-d values of
the parameters' dtype, so the iterates agree with PyTorch's to rounding.
"""

from __future__ import annotations

from ..autograd.backend import xp
from ..autograd.mode import enable_grad
from ..autograd.tensor import mark_modified
from .optimizer import Optimizer, _as_read


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1, g2, clipped to
    ``bounds`` (default: the interval between the points); the midpoint if the cubic has none."""
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    # d1 = g1 + g2 − 3(f1 − f2)/(x1 − x2);  d2 = √(d1² − g1g2);
    # min_pos = x2 − (x2 − x1)(g2 + d2 − d1)/(g2 − g1 + 2d2)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if d2_square >= 0:
        d2 = xp.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def _strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """A step length t along d satisfying the strong Wolfe conditions
    f(x + td) ≤ f + c1·t·gtd and abs(∇f(x + td)·d) ≤ −c2·gtd: bracket an interval that holds one,
    then shrink it by cubic interpolation ("zoom"). Returns (f_new, g_new, t, evaluations)."""
    d_norm = xp.abs(d).max()
    g = g.copy()
    f_new, g_new = obj_func(x, t, d)
    ls_func_evals = 1
    gtd_new = xp.dot(g_new, d)

    # bracket an interval containing a point satisfying the Wolfe criteria
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        # extrapolate
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new.copy(), gtd_new
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = xp.dot(g_new, d)
        ls_iter += 1

    if ls_iter == max_ls:  # out of evaluations
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]

    # zoom: refine the bracket until a point satisfies the conditions
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:  # the bracket is too small
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1])
        # a point too close to an end of the bracket (twice, or outside it) moves 10 % of the
        # bracket's length inside, so the bracket keeps shrinking
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                t = max(bracket) - eps if abs(t - max(bracket)) < abs(t - min(bracket)) else min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False

        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = xp.dot(g_new, d)
        ls_iter += 1

        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            # not enough decrease, or not below the lowest point: the new point is the high end
            bracket[high_pos], bracket_f[high_pos] = t, f_new
            bracket_g[high_pos], bracket_gtd[high_pos] = g_new.copy(), gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True  # the Wolfe conditions hold
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                # the old high end becomes the new low end
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos], bracket_gtd[high_pos] = bracket_g[low_pos], bracket_gtd[low_pos]
            bracket[low_pos], bracket_f[low_pos] = t, f_new
            bracket_g[low_pos], bracket_gtd[low_pos] = g_new.copy(), gtd_new

    return bracket_f[low_pos], bracket_g[low_pos], bracket[low_pos], ls_func_evals


class LBFGS(Optimizer):
    """L-BFGS (Liu & Nocedal 1989), PyTorch's: ``step(closure)`` runs up to ``max_iter``
    iterations (``max_eval`` loss evaluations, default ``max_iter``·5//4) and returns the first
    loss the closure gave.

    Direction: d = −H·g, with H the inverse-Hessian estimate of the last ``history_size`` pairs
    (s = t·d, y = Δg; a pair with y·s ≤ 1e-10 is skipped), scaled by y·s / y·y. Step: t = ``lr``
    (the first iteration ever: min(1, 1/Σabs(g))·lr), or, with ``line_search_fn="strong_wolfe"``,
    a strong-Wolfe line search from there. It stops early when max(abs(g)) ≤ ``tolerance_grad``, or
    when the directional derivative, the step (max(abs(t·d))) or the change of the loss is below
    ``tolerance_change``.

    One parameter group only (``ValueError`` otherwise, as PyTorch). The closure is called with
    gradients recorded (inside ``rg.enable_grad()``); it must clear them, compute the loss, call
    ``backward`` and return the loss. The state (history, last direction and step) belongs to
    the first parameter in ``state_dict``, as in PyTorch.
    """

    defaults = dict(lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7, tolerance_change=1e-9, history_size=100,
                    line_search_fn=None)
    counters = ("func_evals", "n_iter")

    def __init__(self, params, lr: float = 1, max_iter: int = 20, max_eval: int | None = None,
                 tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9, history_size: int = 100,
                 line_search_fn: str | None = None):
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        super().__init__(params, lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                         tolerance_change=tolerance_change, history_size=history_size, line_search_fn=line_search_fn)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups): pass one list of "
                             "parameters")
        self._params = self.param_groups[0]["params"]

    # ------------------------------------------------------------ the parameters as one flat vector
    def _gather_flat_grad(self):
        return xp.concatenate([xp.zeros(p.data.size, dtype=p.dtype) if p.grad is None else p.grad.data.reshape(-1)
                               for p in self._params])

    def _add_grad(self, step_size, update):
        offset = 0
        for p in self._params:
            n = p.data.size
            p.data += step_size * update[offset:offset + n].reshape(p.shape)
            offset += n
        mark_modified(self._params)  # a graph recorded before this change no longer matches the values

    def _clone_param(self):
        return [p.data.copy() for p in self._params]

    def _set_param(self, params_data):
        for p, data in zip(self._params, params_data):
            p.data[...] = data
        mark_modified(self._params)

    def _directional_evaluate(self, closure, x, t, d):
        self._add_grad(t, d)
        loss = float(closure())
        flat_grad = self._gather_flat_grad()
        self._set_param(x)
        return loss, flat_grad

    def update(self, p, g, state, group):
        raise RuntimeError("LBFGS: needs the loss at the points it chooses; call step(closure) (it has no "
                           "per-parameter update for apply_gradients / minimize)")

    def step(self, closure):
        """Run one L-BFGS optimisation (up to ``max_iter`` iterations); returns the closure's first loss."""
        if len(self.param_groups) != 1:
            raise AssertionError(f"Expected exactly one param_group, but got {len(self.param_groups)}")

        def evaluate():
            with enable_grad():
                return closure()

        group = _as_read(self.param_groups[0])
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        line_search_fn, history_size = group["line_search_fn"], group["history_size"]

        # L-BFGS has only global state: it is kept as the first parameter's (PyTorch's layout)
        state = self.state.setdefault(id(self._params[0]), {})
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = evaluate()
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._gather_flat_grad()
        if xp.abs(flat_grad).max() <= tolerance_grad:  # already optimal
            return orig_loss

        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        H_diag = state.get("H_diag")  # noqa: N806 - PyTorch's name
        prev_flat_grad, prev_loss = state.get("prev_flat_grad"), state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1

            # ---- the direction
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro = [], [], []
                H_diag = 1  # noqa: N806
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = xp.dot(y, s)
                if ys > 1e-10:  # keep the pair (else the curvature estimate would not be positive)
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / xp.dot(y, y)  # noqa: N806 - the initial inverse Hessian's scale
                num_old = len(old_dirs)
                if "al" not in state:
                    state["al"] = [None] * history_size
                al = state["al"]
                # the two-loop recursion: d = −H·g without forming H
                q = -flat_grad
                for i in range(num_old - 1, -1, -1):
                    al[i] = xp.dot(old_stps[i], q) * ro[i]
                    q += -al[i] * old_dirs[i]
                d = r = q * H_diag
                for i in range(num_old):
                    be_i = xp.dot(old_dirs[i], r) * ro[i]
                    r += (al[i] - be_i) * old_stps[i]

            if prev_flat_grad is None:
                prev_flat_grad = flat_grad.copy()
            else:
                prev_flat_grad[...] = flat_grad
            prev_loss = loss

            # ---- the step length
            t = min(1.0, 1.0 / xp.abs(flat_grad).sum()) * lr if state["n_iter"] == 1 else lr
            gtd = xp.dot(flat_grad, d)  # the directional derivative
            if gtd > -tolerance_change:  # not a descent direction (to tolerance): stop
                break

            ls_func_evals = 0
            if line_search_fn is not None:
                if line_search_fn != "strong_wolfe":
                    raise RuntimeError("only 'strong_wolfe' is supported")
                x_init = self._clone_param()

                def obj_func(x, t, d):
                    return self._directional_evaluate(evaluate, x, t, d)

                loss, flat_grad, t, ls_func_evals = _strong_wolfe(obj_func, x_init, t, d, loss, flat_grad, gtd,
                                                                  max_ls=max_eval - current_evals)
                self._add_grad(t, d)
                opt_cond = xp.abs(flat_grad).max() <= tolerance_grad
            else:
                self._add_grad(t, d)  # a fixed step
                if n_iter != max_iter:
                    # re-evaluate only if another iteration follows (in a stochastic setting the
                    # last evaluation would be of no use)
                    loss = float(evaluate())
                    flat_grad = self._gather_flat_grad()
                    opt_cond = xp.abs(flat_grad).max() <= tolerance_grad
                    ls_func_evals = 1
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            # ---- stopping tests
            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if xp.abs(d * t).max() <= tolerance_change:  # no progress in the parameters
                break
            if abs(loss - prev_loss) < tolerance_change:  # nor in the loss
                break

        state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=H_diag,
                     prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        return orig_loss

    def restore_state(self, param, name, value, index):
        """L-BFGS's state is flat vectors, lists of them and scalars: arrays (and the arrays in
        lists) are copied in the first parameter's dtype, as PyTorch casts them on loading;
        0-d arrays become scalars of that dtype; the counters ints; other numbers stay."""
        if name in self.counters:
            return super().restore_state(param, name, value, index)
        if isinstance(value, (list, tuple)):
            return [self.restore_state(param, name, v, index) for v in value]
        if hasattr(value, "shape") and hasattr(value, "dtype"):
            array = xp.array(value, dtype=param.dtype, copy=True)
            return array[()] if array.ndim == 0 else array
        return value


__all__ = ["LBFGS"]
