"""Checkpoints (atomic, validated, exact resume), the training loop, data
loading and DLPack interop."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import retrograd as rg
from retrograd import nn, optim
from retrograd.data import DataLoader


def _model():
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 3))


def _data(seed=0, n=96):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0)
    return x, y


def test_save_load_roundtrip(tmp_path):
    rg.manual_seed(1)
    model, path = _model(), tmp_path / "m.safetensors"
    opt = optim.Adam(model.parameters(), lr=0.01)
    x, y = _data()
    opt.zero_grad()
    rg.cross_entropy(model(rg.tensor(x)), y).backward()
    opt.step()
    rg.save(path, model, opt, epoch=3, note="hello")
    rg.manual_seed(2)
    other, other_opt = _model(), optim.Adam(_model().parameters(), lr=0.5)
    other_opt = optim.Adam(other.parameters(), lr=0.5)
    meta = rg.load(path, other, other_opt)
    assert meta == {"epoch": 3, "note": "hello"}
    for (k, a), b in zip(model.state_dict().items(), other.state_dict().values()):
        np.testing.assert_array_equal(a, b, err_msg=k)
    assert other_opt.param_groups[0]["lr"] == 0.01
    s1, s2 = opt.state_dict()["state"], other_opt.state_dict()["state"]
    assert s1[0]["step"] == s2[0]["step"] == 1
    np.testing.assert_array_equal(s1[1]["exp_avg_sq"], s2[1]["exp_avg_sq"])
    with open(path, "rb") as f:
        assert b"pickle" not in f.read(200)


def test_wrong_model_truncated_and_corrupt_files_give_clear_errors(tmp_path):
    path = tmp_path / "m.safetensors"
    rg.save(path, _model())
    wrong = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(), nn.Linear(8, 5))
    before = wrong[3].weight.data.copy()
    with pytest.raises(nn.StateDictError, match=r"3.weight: checkpoint \(3, 8\) vs model \(5, 8\)"):
        rg.load(path, wrong)
    np.testing.assert_array_equal(wrong[3].weight.data, before)  # nothing was modified
    data = path.read_bytes()
    (tmp_path / "t.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(rg.CheckpointError, match="truncated|corrupt"):
        rg.load(tmp_path / "t.safetensors", _model())
    (tmp_path / "c.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{garbage}" + b"\0" * 16)
    with pytest.raises(rg.CheckpointError, match="corrupt"):
        rg.load(tmp_path / "c.safetensors", _model())
    with pytest.raises(rg.CheckpointError, match="does not exist"):
        rg.load(tmp_path / "missing.safetensors", _model())
    import safetensors.numpy as st
    st.save_file({"w": np.zeros(2, np.float32)}, str(tmp_path / "foreign.safetensors"))
    with pytest.raises(rg.CheckpointError, match="not a retrograd checkpoint"):
        rg.load(tmp_path / "foreign.safetensors", _model())
    with pytest.raises(rg.CheckpointError, match="no optimizer state"):
        rg.load(path, _model(), optim.SGD(_model().parameters(), lr=0.1))


KILLER = textwrap.dedent("""
    import sys, numpy as np, retrograd as rg
    model = rg.nn.Linear(2500, 2000)   # 20 MB of weights
    i = 0
    while True:
        model.weight.data[...] = i
        model.bias.data[...] = i
        rg.save(sys.argv[1], model, step=i)
        print(i, flush=True)
        i += 1
""")


def test_killing_the_process_mid_save_keeps_a_valid_checkpoint(tmp_path):
    path = str(tmp_path / "ckpt.safetensors")
    rng = np.random.default_rng(0)
    for trial in range(4):
        proc = subprocess.Popen([sys.executable, "-c", KILLER, path], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() != ""  # at least one complete save exists
        time.sleep(rng.uniform(0.0, 0.15))  # then kill it somewhere inside a later write
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        model = rg.nn.Linear(2500, 2000)
        meta = rg.load(path, model)
        step = meta["step"]
        assert np.all(model.weight.data == step) and np.all(model.bias.data == step)
    leftovers = [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]
    assert len(leftovers) <= 4  # a killed writer may leave its temp file, never a broken target


def _train(epochs, ckpt_dir, resume_from=None):
    rg.manual_seed(0)
    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = optim.StepLR(opt, step_size=2, gamma=0.5)
    x, y = _data()
    loader = DataLoader((x, y), batch_size=16, shuffle=True)
    initial = 0
    if resume_from:
        initial = rg.load(resume_from, model, opt, sched)["epoch"]
    cb = rg.train.ModelCheckpoint(os.path.join(ckpt_dir, "epoch{epoch}.safetensors"))
    return rg.train.fit(model, rg.cross_entropy, opt, loader, epochs=epochs, callbacks=[cb], scheduler=sched,
                        initial_epoch=initial, progress=False, verbose=False)


def test_resuming_from_a_checkpoint_reproduces_the_uninterrupted_run(tmp_path):
    full = _train(6, str(tmp_path))
    resumed = _train(6, str(tmp_path), resume_from=str(tmp_path / "epoch3.safetensors"))
    assert resumed.epochs == [4, 5, 6]
    assert full["loss"][3:] == resumed["loss"]  # exactly, dropout and shuffling included


def test_fit_with_validation_metrics_early_stopping_and_history_plot(tmp_path):
    rg.manual_seed(0)
    x, y = _data(n=200)
    model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 3))
    opt = optim.Adam(model.parameters(), lr=0.02)
    train = DataLoader((x[:150], y[:150]), batch_size=32, shuffle=True)
    val = DataLoader((x[150:], y[150:]), batch_size=64)
    stop = rg.train.EarlyStopping(monitor="val_loss", patience=4, min_delta=0.005, restore_best=True)
    hist = rg.train.fit(model, rg.cross_entropy, opt, train, epochs=100, val_data=val, callbacks=[stop],
                        metrics=["accuracy"], progress=False, verbose=False)
    assert hist["loss"][-1] < hist["loss"][0]
    assert max(hist["val_accuracy"]) > 0.8
    assert len(hist.epochs) < 100 and stop.stopped_epoch == hist.epochs[-1]
    assert rg.train.evaluate(model, rg.cross_entropy, val)["loss"] == pytest.approx(stop.best, rel=1e-6)
    path = hist.plot(str(tmp_path / "h.png"))
    assert os.path.getsize(path) > 1000


def test_fit_stops_on_non_finite_loss():
    model = nn.Linear(4, 1)
    x, y = _data()
    bad = DataLoader((x * np.inf, y.astype(np.float32)[:, None]), batch_size=8)
    with pytest.raises(FloatingPointError, match="loss became"), np.errstate(invalid="ignore"):
        rg.train.fit(model, rg.mse_loss, optim.SGD(model.parameters(), lr=0.1), bad, progress=False, verbose=False)


def test_progress_bar_on_request(capsys):
    x, y = _data(n=32)
    model = nn.Linear(4, 3)
    rg.train.fit(model, rg.cross_entropy, optim.SGD(model.parameters(), lr=0.1), DataLoader((x, y), batch_size=8),
                 epochs=1, progress=True, verbose=False)
    assert "epoch 1/1" in capsys.readouterr().err


def test_dataloader_batches_and_errors():
    x, y = np.arange(10), np.arange(10) * 2
    batches = list(DataLoader((x, y), batch_size=4))
    assert [len(b[0]) for b in batches] == [4, 4, 2]
    assert len(DataLoader((x, y), batch_size=4, drop_last=True)) == 2
    rg.manual_seed(3)
    seen = np.concatenate([b[0].data for b in DataLoader((x, y), batch_size=3, shuffle=True)])
    assert sorted(seen.tolist()) == list(range(10)) and seen.tolist() != list(range(10))
    with pytest.raises(ValueError, match="different lengths"):
        DataLoader((x, y[:5]))


def test_dlpack_and_numpy_are_zero_copy():
    torch = pytest.importorskip("torch")
    t = rg.tensor(np.arange(4.0))
    view = torch.from_dlpack(t)
    view[0] = 7.0
    assert t.data[0] == 7.0
    src = torch.arange(3.0)
    r = rg.from_dlpack(src)
    src[1] = 5.0
    assert r.data[1] == 5.0
    a = np.zeros(2, np.float32)
    assert rg.from_numpy(a).numpy() is a
