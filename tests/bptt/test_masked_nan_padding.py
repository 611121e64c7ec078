"""Padded steps never reach the gradient: NaN or inf in the inputs of steps
the mask marks as padding leave ``rg.bptt.gradient`` finite and equal to the
run with zeros there, for per-step models (the engine gives the model zeros
on padded rows) as for sequence models (the fused layers skip them)."""

import numpy as np
import pytest

import retrograd as rg
from retrograd import bptt

import rnn_models

T, B, I, H, O = 6, 3, 3, 4, 2
MASK = np.array([[1, 1, 1, 1, 0, 0],
                 [1, 1, 1, 1, 1, 1],
                 [1, 1, 0, 0, 0, 0]], dtype=bool).T  # (T, B): rows end at 4, 6, 2


def CellModel():
    return rnn_models.CellModel("LSTM", I, H, O)


def SeqModel():
    return rnn_models.SeqModel("LSTM", I, H, O)


def mse(out, y):
    return ((out - y) ** 2).mean()


def _data(fill):
    rng = np.random.default_rng(0)
    xs, ys = rng.standard_normal((T, B, I)), rng.standard_normal((T, B, O))
    xs[~MASK], ys[~MASK] = fill, fill
    return xs, ys


@pytest.mark.parametrize("model_cls", [CellModel, SeqModel])
@pytest.mark.parametrize("mode", [lambda: bptt.full(), lambda: bptt.chunk(2), lambda: bptt.full(checkpoint_every=2),
                                  lambda: bptt.rtrl()], ids=["full", "chunk2", "ckpt2", "rtrl"])
def test_nan_on_padded_steps_does_not_reach_the_gradient(model_cls, mode):
    if model_cls is SeqModel and mode().__class__.__name__.lower().startswith("rtrl"):
        pytest.skip("online modes run per-step models")
    rg.manual_seed(0)
    model = model_cls().double()
    clean = bptt.gradient(model, *_data(0.0), mse, mode(), mask=MASK)
    for fill in (np.nan, np.inf):
        xs, ys = _data(fill)
        with np.errstate(invalid="raise", over="raise"):  # nothing non-finite is even computed
            grads = bptt.gradient(model, xs, ys, mse, mode(), mask=MASK)
        for name, g in grads.items():
            assert np.isfinite(g).all(), (name, fill)
            np.testing.assert_allclose(g, clean[name], rtol=1e-12, atol=1e-14, err_msg=name)


def test_padded_steps_batch_first():
    rg.manual_seed(1)
    model = CellModel().double()
    xs, ys = _data(np.nan)
    clean = bptt.gradient(model, *(np.swapaxes(a, 0, 1) for a in _data(0.0)), mse, mask=MASK.T, batch_first=True)
    grads = bptt.gradient(model, np.swapaxes(xs, 0, 1), np.swapaxes(ys, 0, 1), mse, mask=MASK.T, batch_first=True)
    for name, g in grads.items():
        np.testing.assert_allclose(g, clean[name], rtol=1e-12, atol=1e-14, err_msg=name)
