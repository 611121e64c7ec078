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
    rg.save(path, rg.nn.Linear(2, 2))  # the next save removes what the killed writers left
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]


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


# Each optimizer with the options that give it the most state; the resumed
# optimizer is built with another learning rate, which the checkpoint restores.
OPTIMIZERS = {
    "sgd_momentum": lambda ps, lr=0.1: optim.SGD(ps, lr=lr, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "adagrad": lambda ps, lr=0.1: optim.Adagrad(ps, lr=lr, lr_decay=0.01, weight_decay=1e-3,
                                                initial_accumulator_value=0.1),
    "rmsprop_centered_momentum": lambda ps, lr=0.01: optim.RMSprop(ps, lr=lr, centered=True, momentum=0.9,
                                                                   weight_decay=1e-3),
    "adam_amsgrad": lambda ps, lr=0.01: optim.Adam(ps, lr=lr, betas=(0.8, 0.99), amsgrad=True, weight_decay=1e-3),
    "adamw": lambda ps, lr=0.01: optim.AdamW(ps, lr=lr, betas=(0.85, 0.995), weight_decay=0.05),
    "adadelta": lambda ps, lr=1.0: optim.Adadelta(ps, lr=lr, rho=0.8, weight_decay=1e-3),
    "adamax": lambda ps, lr=0.01: optim.Adamax(ps, lr=lr, betas=(0.8, 0.99), weight_decay=1e-3),
    "nadam_decoupled": lambda ps, lr=0.01: optim.NAdam(ps, lr=lr, weight_decay=1e-3, decoupled_weight_decay=True),
    "radam": lambda ps, lr=0.01: optim.RAdam(ps, lr=lr, weight_decay=1e-3),
    "rprop": lambda ps, lr=0.01: optim.Rprop(ps, lr=lr, etas=(0.4, 1.3)),
    "asgd": lambda ps, lr=0.01: optim.ASGD(ps, lr=lr, t0=2.0, weight_decay=1e-3),
    "adafactor": lambda ps, lr=0.01: optim.Adafactor(ps, lr=lr, weight_decay=1e-3),
}
# Muon takes weight matrices only (this model has biases): its round trip through rg.save is
# tests/optim/test_adafactor_muon.py::test_resume_from_rg_save_continues_exactly
CHECKPOINTED_ELSEWHERE = {optim.Muon}
# L-BFGS keeps lists of vectors (its curvature history), which the checkpoint format refuses, saying so
NOT_CHECKPOINTED = {"lbfgs": lambda ps, lr=0.5: optim.LBFGS(ps, lr=lr, max_iter=3, history_size=4)}


def _step(opt, loss_of):
    """One optimizer step through a closure (LBFGS evaluates the loss several times; the others once)."""
    def closure():
        opt.zero_grad()
        loss = loss_of()
        loss.backward()
        return loss
    opt.step(closure)


def _optimizer_run(make_optimizer, steps, save_at=None, path=None):
    """Train a small model ``steps`` steps on fixed batches; with ``save_at``,
    checkpoint after that many steps and finish with a fresh model and
    optimizer (other weights, another learning rate) loaded from it."""
    x, y = _data(n=96)
    batches = [(rg.tensor(x[i:i + 16]), y[i:i + 16]) for i in range(0, 96, 16)]
    rg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    opt = make_optimizer(model.parameters())
    for step in range(steps):
        if step == save_at:
            rg.save(path, model, opt)
            rg.manual_seed(99)
            model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
            opt = make_optimizer(model.parameters(), lr=0.5)
            rg.load(path, model, opt)
        xb, yb = batches[step % len(batches)]
        _step(opt, lambda: rg.cross_entropy(model(xb), yb))
    return model, opt


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_each_optimizer_resumes_from_a_checkpoint_exactly(tmp_path, name):
    full_model, full_opt = _optimizer_run(OPTIMIZERS[name], steps=6)
    model, opt = _optimizer_run(OPTIMIZERS[name], steps=6, save_at=3, path=tmp_path / "o.safetensors")
    for (k, a), b in zip(full_model.state_dict().items(), model.state_dict().values()):
        np.testing.assert_array_equal(a, b, err_msg=k)
    expected, got = full_opt.state_dict(), opt.state_dict()
    assert got["param_groups"] == expected["param_groups"]  # the learning rate too, and tuples as tuples
    for g in got["param_groups"]:
        assert all(type(v) is type(expected["param_groups"][0][k]) for k, v in g.items())
    assert got["state"].keys() == expected["state"].keys()
    for i, state in expected["state"].items():
        assert got["state"][i].keys() == state.keys()
        for k, v in state.items():
            assert type(got["state"][i][k]) is type(v), (i, k)
            np.testing.assert_array_equal(got["state"][i][k], v, err_msg=f"{i}.{k}")


def test_every_optimizer_is_covered_by_the_checkpoint_tests():
    shipped = {c for c in vars(optim).values() if isinstance(c, type) and issubclass(c, optim.Optimizer)}
    covered = {type(make([rg.tensor(np.zeros(1), requires_grad=True)]))
               for make in (*OPTIMIZERS.values(), *NOT_CHECKPOINTED.values())}
    assert shipped - {optim.Optimizer} == covered | CHECKPOINTED_ELSEWHERE


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_state_of_a_scalar_parameter_keeps_its_zero_dimensions(tmp_path, name):
    scale = nn.Parameter(np.array(1.5, np.float32))
    opt = OPTIMIZERS[name]([scale])
    for _ in range(2):
        _step(opt, lambda: scale * scale)
    rg.save(tmp_path / "s.safetensors", nn.Linear(1, 1), opt)
    other = OPTIMIZERS[name]([nn.Parameter(np.array(0.0, np.float32))], lr=0.5)
    rg.load(tmp_path / "s.safetensors", optimizer=other)
    expected, got = opt.state_dict()["state"][0], other.state_dict()["state"][0]
    assert got.keys() == expected.keys()
    for k, v in expected.items():
        assert np.shape(got[k]) == np.shape(v) and type(got[k]) is type(v), k
        np.testing.assert_array_equal(got[k], v, err_msg=k)


def test_batchnorm_buffers_round_trip_with_their_zero_dimensional_counter(tmp_path):
    rg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    model(rg.tensor(_data()[0][:8]))  # training mode: running stats and num_batches_tracked move
    rg.save(tmp_path / "bn.safetensors", model)
    rg.manual_seed(1)
    other = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    rg.load(tmp_path / "bn.safetensors", other)
    for k, v in model.state_dict().items():
        got = other.state_dict()[k]
        assert got.shape == v.shape and got.dtype == v.dtype, k
        np.testing.assert_array_equal(got, v, err_msg=k)
    assert other.state_dict()["1.num_batches_tracked"].shape == () and other[1].num_batches_tracked.item() == 1


class _Scores(rg.train.Callback):
    """Logs a scripted ``score`` per epoch, so the callbacks' decisions are known in advance."""

    def __init__(self, scores):
        self.scores = scores

    def on_epoch_end(self, loop, epoch, logs):
        logs["score"] = self.scores[epoch]


def _scripted_run(ckpt_dir, scores, epochs, resume_from=None, patience=2):
    rg.manual_seed(0)
    model = nn.Linear(4, 3)
    opt = optim.SGD(model.parameters(), lr=0.1)
    x, y = _data(n=32)
    stop = rg.train.EarlyStopping(monitor="score", patience=patience, restore_best=True)
    last = rg.train.ModelCheckpoint(os.path.join(ckpt_dir, "epoch{epoch}.safetensors"))
    best = rg.train.ModelCheckpoint(os.path.join(ckpt_dir, "best.safetensors"), monitor="score", save_best_only=True)
    history = rg.train.fit(model, rg.cross_entropy, opt, DataLoader((x, y), batch_size=8, shuffle=True),
                           epochs=epochs, callbacks=[_Scores(scores), stop, last, best], resume_from=resume_from,
                           progress=False, verbose=False)
    return history, stop, model


def test_early_stopping_resumed_mid_patience_stops_when_the_uninterrupted_run_stops(tmp_path):
    scores = {1: 1.0, 2: 2.0, 3: 3.0, 4: 0.5, 5: 4.0, 6: 5.0, 7: 6.0}
    full, full_stop, full_model = _scripted_run(str(tmp_path), scores, epochs=7)
    assert full.epochs == [1, 2, 3] and full_stop.stopped_epoch == 3
    resumed, stop, model = _scripted_run(str(tmp_path), scores, epochs=7,
                                         resume_from=str(tmp_path / "epoch2.safetensors"))
    assert resumed.epochs == [3] and stop.stopped_epoch == 3 and stop.best == 1.0
    for k, v in full_model.state_dict().items():  # restore_best: the epoch-1 weights, saved with the callback
        np.testing.assert_array_equal(model.state_dict()[k], v, err_msg=k)


def test_callbacks_restored_by_rg_load_keep_their_state_through_fit_with_initial_epoch(tmp_path):
    scores = {1: 1.0, 2: 2.0, 3: 3.0, 4: 0.5, 5: 4.0, 6: 5.0}
    _scripted_run(str(tmp_path), scores, epochs=2, patience=2)
    model = nn.Linear(4, 3)
    opt = optim.SGD(model.parameters(), lr=0.1)
    stop = rg.train.EarlyStopping(monitor="score", patience=2, restore_best=True)
    callbacks = [_Scores(scores), stop, rg.train.ModelCheckpoint(str(tmp_path / "again{epoch}.safetensors")),
                 rg.train.ModelCheckpoint(str(tmp_path / "best.safetensors"), monitor="score", save_best_only=True)]
    epoch = rg.load(tmp_path / "epoch2.safetensors", model, opt, callbacks=callbacks)["epoch"]
    x, y = _data(n=32)
    history = rg.train.fit(model, rg.cross_entropy, opt, DataLoader((x, y), batch_size=8), epochs=6,
                           callbacks=callbacks, initial_epoch=epoch, progress=False, verbose=False)
    assert history.epochs == [3] and stop.stopped_epoch == 3


def test_resume_from_a_plain_checkpoint_without_callbacks(tmp_path):
    model = nn.Linear(4, 3)
    opt = optim.SGD(model.parameters(), lr=0.1)
    rg.save(tmp_path / "plain.safetensors", model, opt, epoch=1)
    x, y = _data(n=32)
    history = rg.train.fit(model, rg.cross_entropy, opt, DataLoader((x, y), batch_size=8), epochs=3,
                           resume_from=tmp_path / "plain.safetensors", progress=False, verbose=False)
    assert history.epochs == [2, 3]
    with pytest.raises(ValueError, match="not both"):
        rg.train.fit(model, rg.cross_entropy, opt, DataLoader((x, y)), epochs=3, initial_epoch=1,
                     resume_from=tmp_path / "plain.safetensors", progress=False, verbose=False)
    rg.save(tmp_path / "no_epoch.safetensors", model, opt)
    with pytest.raises(rg.CheckpointError, match="has epoch None"):
        rg.train.fit(model, rg.cross_entropy, opt, DataLoader((x, y)), epochs=3,
                     resume_from=tmp_path / "no_epoch.safetensors", progress=False, verbose=False)


def test_save_best_only_keeps_the_best_checkpoint_across_a_resume(tmp_path):
    scores = {1: 1.0, 2: 2.0, 3: 3.0}
    _scripted_run(str(tmp_path), scores, epochs=2, patience=10)
    assert rg.load(tmp_path / "best.safetensors")["epoch"] == 1
    _scripted_run(str(tmp_path), scores, epochs=3, patience=10, resume_from=str(tmp_path / "epoch2.safetensors"))
    assert rg.load(tmp_path / "best.safetensors")["epoch"] == 1  # epoch 3 (worse) did not overwrite it


def test_resume_from_refuses_a_checkpoint_of_other_callbacks_and_changes_nothing(tmp_path):
    _scripted_run(str(tmp_path), {1: 1.0}, epochs=1)
    model = nn.Linear(4, 3)
    before = model.weight.data.copy()
    x, y = _data(n=32)
    with pytest.raises(rg.CheckpointError, match="callbacks"):
        rg.train.fit(model, rg.cross_entropy, optim.SGD(model.parameters(), lr=0.1), DataLoader((x, y)),
                     epochs=2, callbacks=[rg.train.EarlyStopping(monitor="score")],
                     resume_from=tmp_path / "epoch1.safetensors", progress=False, verbose=False)
    np.testing.assert_array_equal(model.weight.data, before)


class _SignDescent(optim.Optimizer):
    """An optimizer this repository does not ship, with a tuple hyper-parameter:
    the checkpoint code must not need to know its names."""

    defaults = dict(lr=0.1, etas=(0.5, 1.2))

    def update(self, p, g, state, group):
        shrink, grow = group["etas"]
        state["scale"] = state.get("scale", 1.0) * grow * shrink
        p.data -= group["lr"] * state["scale"] * np.sign(g)


def test_a_tuple_hyper_parameter_of_any_optimizer_comes_back_as_a_tuple(tmp_path):
    model = nn.Linear(3, 2)
    opt = _SignDescent(model.parameters(), etas=(0.25, 2.0))
    model(rg.tensor(np.ones((1, 3), np.float32))).sum().backward()
    opt.step()
    rg.save(tmp_path / "s.safetensors", model, opt)
    other = _SignDescent(model.parameters())
    rg.load(tmp_path / "s.safetensors", optimizer=other)
    assert other.param_groups[0]["etas"] == (0.25, 2.0)
    assert isinstance(other.param_groups[0]["etas"], tuple)
    assert other.state_dict()["state"][0] == {"scale": 0.5}


def test_adam_state_dict_has_pytorch_layout_and_loads_pytorch_state():
    torch = pytest.importorskip("torch", reason="compares with torch.optim.Adam")
    rng = np.random.default_rng(0)
    w0, b0 = rng.standard_normal((3, 2)), rng.standard_normal(2)
    grads = [(rng.standard_normal((3, 2)), rng.standard_normal(2)) for _ in range(4)]
    ours = [rg.tensor(w0, requires_grad=True), rg.tensor(b0, requires_grad=True)]
    theirs = [torch.tensor(w0, requires_grad=True), torch.tensor(b0, requires_grad=True)]
    opt = optim.Adam(ours, lr=0.05, betas=(0.8, 0.95), amsgrad=True)
    topt = torch.optim.Adam(theirs, lr=0.05, betas=(0.8, 0.95), amsgrad=True)

    def step(k):
        for p, q, g in zip(ours, theirs, grads[k]):
            p.grad, q.grad = rg.tensor(g), torch.tensor(g)
        opt.step()
        topt.step()

    step(0)
    step(1)
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert sd.keys() == tsd.keys() == {"state", "param_groups"}
    assert list(sd["state"]) == list(tsd["state"]) == [0, 1]
    for i in (0, 1):
        assert sd["state"][i].keys() == tsd["state"][i].keys() == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
        for k, v in tsd["state"][i].items():
            np.testing.assert_allclose(sd["state"][i][k], v.numpy(), rtol=1e-12, err_msg=f"{i}.{k}")
    (group,), (tgroup,) = sd["param_groups"], tsd["param_groups"]
    assert group["params"] == tgroup["params"] == [0, 1]
    assert set(group) <= set(tgroup) and all(group[k] == tgroup[k] for k in group)
    assert type(group["betas"]) is type(tgroup["betas"]) is tuple

    # PyTorch's state dict, its tensors converted to arrays, loads unchanged and continues identically
    resumed = [rg.tensor(p.detach().numpy().copy(), requires_grad=True) for p in theirs]
    ropt = optim.Adam(resumed, lr=1.0)
    ropt.load_state_dict({"state": {i: {k: v.numpy() for k, v in s.items()} for i, s in tsd["state"].items()},
                          "param_groups": tsd["param_groups"]})
    restored_step = ropt.state_dict()["state"][0]["step"]
    assert type(restored_step) is int and restored_step == 2  # PyTorch's float tensor counter, an int again
    ours[:] = resumed
    opt = ropt
    step(2)
    step(3)
    for p, q in zip(resumed, theirs):
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-12)


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


def test_lbfgs_state_is_refused_by_the_checkpoint_with_what_to_do(tmp_path):
    model = nn.Linear(2, 1)
    opt = NOT_CHECKPOINTED["lbfgs"](model.parameters())
    x = rg.tensor(np.array([[1.0, 2.0], [0.5, -1.0]], np.float32))
    for _ in range(2):
        _step(opt, lambda: (model(x) ** 2).sum())
    with pytest.raises(TypeError, match="start the optimizer anew"):
        rg.save(tmp_path / "l.safetensors", model, opt)
    rg.save(tmp_path / "m.safetensors", model)  # the model alone saves
