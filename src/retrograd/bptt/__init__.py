"""``rg.bptt``: backpropagation through time with every truncation named and exact.

    grads = rg.bptt.gradient(model, xs, ys, loss_fn, rg.bptt.chunk(25))
    state, losses = rg.bptt.train(model, xs, ys, loss_fn, optimizer, rg.bptt.williams_peng(5, 20))
    grads = rg.bptt.gradient(model, xs, ys, loss_fn, mask=steps_are_real)      # padded batches
    state, losses = rg.bptt.train_stateful(model, rg.data.stateful_batches(seqs, 32, 25), loss_fn, optimizer)

See ``rg.bptt.modes`` for the table of modes and what other frameworks call
them, and ``rg.bptt.planner`` for the one plan a mode gives the engine;
``rg.bptt.runner`` follows that plan, ``rg.bptt.feeding`` says how the model is
fed its steps (layouts, masks, resets) and ``rg.bptt.api`` holds ``gradient``,
``train`` and ``train_stateful``. The
checkpointing schedules (``full(snapshots=…)``, ``full(memory_budget=…)``)
are in ``rg.bptt.revolve`` (binomial checkpointing) and ``rg.bptt.checkpointing``.
``trace`` records the gradient flow per step; its HTML explorer
(``trace(…).to_html(path)``, ``rg.explore.explore``) is drawn by
``rg.explore``, a higher layer. The state helpers (``detach_state``,
``reset_rows`` …) and ``Stateful`` live with the recurrent layers
(``rg.recurrent``) and are re-exported here.
"""

from ..recurrent.state import detach_rows, detach_state, reset_rows, select_rows
from ..recurrent.stateful import Stateful
from .runner import Runner
from .api import StatefulResult, TrainResult, gradient, train, train_stateful
from .layout import ModelLayoutError
from .diagnostics import BiasReport, Connectivity, GradientTrace, bias_report, connectivity, trace
from .scan import scan
from .alignment import Alignment, alignment
from .online import KFRTRL, RFLO, RTRL, UORO, OnlineMode, SnAp, kf_rtrl, rflo, rtrl, snap, uoro
from ..autograd.replay import NotReplayable
from .modes import Chunk, Full, Job, Mode, Tail, WilliamsPeng, Window, chunk, full, tail, williams_peng, window
from .planner import Plan, best_schedule, segment_for_budget
from . import revolve

__all__ = [
    "scan", "Stateful", "reset_rows", "detach_rows", "select_rows", "trace", "GradientTrace", "bias_report",
    "BiasReport", "connectivity", "Connectivity", "gradient", "train", "TrainResult", "train_stateful",
    "StatefulResult", "Runner", "ModelLayoutError", "detach_state", "Plan", "segment_for_budget",
    "best_schedule", "revolve", "Mode", "Job", "Full", "Chunk", "WilliamsPeng", "Window", "Tail", "full",
    "chunk", "williams_peng", "window", "tail", "OnlineMode", "RTRL", "UORO", "KFRTRL", "SnAp", "RFLO", "rtrl",
    "uoro", "kf_rtrl", "snap", "rflo", "alignment", "Alignment", "NotReplayable"]
