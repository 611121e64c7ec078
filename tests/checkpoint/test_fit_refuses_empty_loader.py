"""``fit`` over data that yields no rows is refused (Keras: "num_samples
should be a positive integer"), before any callback acts on a made-up loss."""

import numpy as np
import pytest

import retrograd as rg
from retrograd import nn, optim
from retrograd.data import DataLoader


class Spy(rg.train.Callback):
    def __init__(self):
        self.logs = []

    def on_epoch_end(self, loop, epoch, logs):
        self.logs.append(logs)


def _setup():
    model = nn.Linear(4, 3)
    return model, optim.SGD(model.parameters(), lr=0.1)


def test_fit_refuses_an_empty_training_loader(tmp_path):
    model, opt = _setup()
    empty = DataLoader((np.zeros((0, 4), np.float32), np.zeros(0, np.int64)), batch_size=8)
    spy = Spy()
    with pytest.raises(ValueError, match="train_data yielded no rows in epoch 1"):
        rg.train.fit(model, rg.cross_entropy, opt, empty, epochs=3, progress=False, verbose=False,
                     callbacks=[spy, rg.train.ModelCheckpoint(str(tmp_path / "ck.rgc"))])
    assert spy.logs == [] and not list(tmp_path.iterdir())


def test_fit_refuses_a_loader_that_drops_every_row():
    model, opt = _setup()
    x, y = np.zeros((5, 4), np.float32), np.zeros(5, np.int64)
    with pytest.raises(ValueError, match="no rows"):
        rg.train.fit(model, rg.cross_entropy, opt, DataLoader((x, y), batch_size=8, drop_last=True),
                     progress=False, verbose=False)


def test_fit_and_evaluate_refuse_empty_validation_data():
    model, opt = _setup()
    x, y = np.zeros((8, 4), np.float32), np.zeros(8, np.int64)
    with pytest.raises(ValueError, match="val_data yielded no rows"):
        rg.train.fit(model, rg.cross_entropy, opt, DataLoader((x, y)), val_data=[], progress=False, verbose=False)
    with pytest.raises(ValueError, match="data yielded no rows"):
        rg.train.evaluate(model, rg.cross_entropy, [])
