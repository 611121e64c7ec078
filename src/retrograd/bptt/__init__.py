"""``rg.bptt``: backpropagation through time with every truncation named and exact.

    grads = rg.bptt.gradient(model, xs, ys, loss_fn, rg.bptt.chunk(25))
    state, losses = rg.bptt.train(model, xs, ys, loss_fn, optimizer, rg.bptt.williams_peng(5, 20))

See ``rg.bptt.modes`` for the table of modes and what other frameworks call them.
"""

from .engine import Runner, TrainResult, detach_state, gradient, train
from .inspect import BiasReport, GradientTrace, bias_report, trace
from .stateful import Stateful, detach_rows, reset_rows, select_rows
from .scan import scan
from .modes import Chunk, Full, Job, Mode, Tail, WilliamsPeng, Window, chunk, full, tail, williams_peng, window

__all__ = ["scan", "Stateful", "reset_rows", "detach_rows", "select_rows", "trace", "GradientTrace", "bias_report", "BiasReport", "gradient", "train", "TrainResult", "Runner", "detach_state", "Mode", "Job", "Full", "Chunk",
           "WilliamsPeng", "Window", "Tail", "full", "chunk", "williams_peng", "window", "tail"]
