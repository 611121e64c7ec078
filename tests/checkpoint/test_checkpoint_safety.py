"""Checkpoints that cannot hurt: every damaged or crafted file raises
``CheckpointError`` and leaves model and optimizer as they were; nothing read
from a file is used as a name; temporaries and permissions like torch.save."""

import copy
import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import retrograd as rg
from retrograd import nn, optim


# ------------------------------------------------------------------ a checkpoint and its raw parts
def _model(seed):
    rg.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))


def _trained(seed=0):
    model = _model(seed)
    opt = optim.Adam(model.parameters(), lr=0.01, amsgrad=True)
    sched = optim.StepLR(opt, step_size=2, gamma=0.5)
    x = rg.tensor(np.random.default_rng(seed).standard_normal((5, 3)).astype(np.float32))
    opt.zero_grad()
    (model(x) ** 2).mean().backward()
    opt.step()
    sched.step()
    return model, opt, sched


def _callbacks():
    return [rg.train.EarlyStopping(monitor="loss", patience=2), rg.train.ModelCheckpoint("unused", monitor="loss")]


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """The bytes of a checkpoint with every section."""
    model, opt, sched = _trained()
    cbs = _callbacks()
    cbs[0].best, cbs[0].wait, cbs[1].best = 0.5, 1, 0.5
    path = tmp_path_factory.mktemp("ckpt") / "good.safetensors"
    rg.save(path, model, opt, sched, callbacks=cbs, epoch=2, note="n")
    return path.read_bytes()


def _split(data: bytes):
    n = int.from_bytes(data[:8], "little")
    return json.loads(data[8:8 + n]), data[8 + n:]


def _join(st_header: dict, body: bytes) -> bytes:
    text = json.dumps(st_header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return len(text).to_bytes(8, "little") + text + body


def _with_header(data: bytes, edit) -> bytes:
    """The file with our JSON header changed by ``edit`` (which changes the
    dict in place, or returns replacement JSON text) and its checksum
    recomputed: a crafted file, not a damaged one."""
    st_header, body = _split(data)
    ours = json.loads(st_header["__metadata__"]["retrograd"])
    text = edit(ours)
    text = json.dumps(ours) if text is None else text
    st_header["__metadata__"] = {"retrograd": text, "retrograd_sha256": hashlib.sha256(text.encode()).hexdigest()}
    return _join(st_header, body)


def _with_entries(data: bytes, edit) -> bytes:
    """The file with its safetensors entries changed by ``edit(entries, ours)``
    (our table kept consistent by the edit when it wants)."""
    st_header, body = _split(data)
    ours = json.loads(st_header["__metadata__"]["retrograd"])
    edit(st_header, ours)
    text = json.dumps(ours)
    st_header["__metadata__"] = {"retrograd": text, "retrograd_sha256": hashlib.sha256(text.encode()).hexdigest()}
    return _join(st_header, body)


def _targets(seed=7):
    model, opt, sched = _trained(seed)
    return model, opt, sched, _callbacks()


def _snapshot(model, opt, sched, cbs):
    return (copy.deepcopy(model.state_dict()), copy.deepcopy(opt.state_dict()), sched.state_dict(),
            [cb.state_dict() for cb in cbs], rg.random.get_rng_state())


def _assert_same(before, after):
    (m0, o0, s0, c0, r0), (m1, o1, s1, c1, r1) = before, after
    assert m0.keys() == m1.keys()
    for k in m0:
        np.testing.assert_array_equal(m0[k], m1[k], err_msg=k)
        assert m0[k].dtype == m1[k].dtype and m0[k].shape == m1[k].shape, k
    assert o0["param_groups"] == o1["param_groups"]
    assert o0["state"].keys() == o1["state"].keys()
    for i, s in o0["state"].items():
        assert s.keys() == o1["state"][i].keys()
        for k, v in s.items():
            np.testing.assert_array_equal(v, o1["state"][i][k], err_msg=f"{i}.{k}")
    assert (s0, c0, r0) == (s1, c1, r1)


def _refused(tmp_path, data: bytes, match=None):
    """Loading ``data`` raises CheckpointError and changes nothing."""
    path = tmp_path / "bad.safetensors"
    path.write_bytes(data)
    model, opt, sched, cbs = _targets()
    before = _snapshot(model, opt, sched, cbs)
    with pytest.raises(rg.CheckpointError, match=match):
        rg.load(path, model, opt, sched, callbacks=cbs)
    _assert_same(before, _snapshot(model, opt, sched, cbs))


def test_the_good_checkpoint_loads_everything(tmp_path, good):
    path = tmp_path / "g.safetensors"
    path.write_bytes(good)
    model, opt, sched, cbs = _targets()
    assert rg.load(path, model, opt, sched, callbacks=cbs) == {"epoch": 2, "note": "n"}
    saved, _, _ = _trained()
    for k, v in saved.state_dict().items():
        np.testing.assert_array_equal(model.state_dict()[k], v, err_msg=k)
    assert model.state_dict()["1.num_batches_tracked"].shape == ()
    assert (cbs[0].best, cbs[0].wait, cbs[1].best) == (0.5, 1, 0.5)
    assert sched.last_epoch == 1


# ------------------------------------------------------------------ the RNG state names nothing
def test_a_crafted_rng_name_is_never_looked_up(tmp_path, good, monkeypatch):
    called = []
    monkeypatch.setattr(np.random, "evil", lambda: called.append(1), raising=False)

    def evil(h):
        h["rng"]["bit_generator"] = h["rng"]["state"]["bit_generator"] = "evil"

    _refused(tmp_path, _with_header(good, evil), match="bit generator 'evil'")
    with pytest.raises(ValueError, match="only .*PCG64"):
        rg.random.set_rng_state({"bit_generator": "evil", "state": {}})
    assert called == []


def test_rng_state_round_trips_and_checks_its_fields():
    rg.manual_seed(3)
    state = rg.random.get_rng_state()
    expected = rg.random.generator().standard_normal(4)
    rg.manual_seed(9)
    rg.random.set_rng_state(state)
    np.testing.assert_array_equal(rg.random.generator().standard_normal(4), expected)
    bad = copy.deepcopy(state)
    bad["state"]["state"]["inc"] = "1"
    with pytest.raises(ValueError, match="128-bit"):
        rg.random.set_rng_state(bad)


# ------------------------------------------------------------------ all or nothing
def test_an_optimizer_mismatch_changes_neither_model_nor_learning_rate(tmp_path):
    model, opt, _ = _trained(0)
    rg.save(tmp_path / "c.safetensors", model, opt)
    other = _model(5)
    other_opt = optim.Adam(list(other.parameters())[:2], lr=0.5)  # two parameters, not six
    before = copy.deepcopy(other.state_dict())
    with pytest.raises(rg.CheckpointError, match="groups of \\[6\\] parameters; this optimizer has \\[2\\]"):
        rg.load(tmp_path / "c.safetensors", other, other_opt)
    for k, v in before.items():
        np.testing.assert_array_equal(other.state_dict()[k], v, err_msg=k)
    assert other_opt.param_groups[0]["lr"] == 0.5


def test_a_callback_that_refuses_its_state_undoes_everything_assigned_before(tmp_path, good):
    def bad_wait(h):
        h["callbacks"][0]["state"]["wait"] = -3  # well-typed, refused by EarlyStopping itself

    _refused(tmp_path, _with_header(good, bad_wait), match="'wait' must be a non-negative integer")


def test_callbacks_must_match_by_class_and_position(tmp_path, good):
    path = tmp_path / "g.safetensors"
    path.write_bytes(good)
    model, opt, sched, cbs = _targets()
    before = _snapshot(model, opt, sched, cbs)
    with pytest.raises(rg.CheckpointError, match="callbacks \\['EarlyStopping', 'ModelCheckpoint'\\]"):
        rg.load(path, model, opt, sched, callbacks=cbs[::-1])
    _assert_same(before, _snapshot(model, opt, sched, cbs))


# ------------------------------------------------------------------ every malformed header
def _set(path, value):
    def edit(h):
        target = h
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return edit


def _drop(path):
    def edit(h):
        target = h
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
    return edit


MALFORMED = {
    "lr is a string": _set(["optimizer", "param_groups", 0, "lr"], "abc"),
    "lr is NaN": _set(["optimizer", "param_groups", 0, "lr"], float("nan")),
    "lr past any float": _set(["optimizer", "param_groups", 0, "lr"], 10 ** 400),
    "lr is a bool": _set(["optimizer", "param_groups", 0, "lr"], True),
    "betas too short": _set(["optimizer", "param_groups", 0, "betas"], [0.9]),
    "amsgrad is a string": _set(["optimizer", "param_groups", 0, "amsgrad"], "yes"),
    "unknown hyper-parameter": _set(["optimizer", "param_groups", 0, "foo"], 1.0),
    "params not a list": _set(["optimizer", "param_groups", 0, "params"], 3),
    "params renumbered": _set(["optimizer", "param_groups", 0, "params"], [0, 1, 2, 3, 4, 9]),
    "no optimizer class": _drop(["optimizer", "class"]),
    "other optimizer class": _set(["optimizer", "class"], "SGD"),
    "param_groups a dict": _set(["optimizer", "param_groups"], {}),
    "step a string": _set(["optimizer", "scalars", "0", "step"], "1"),
    "step negative": _set(["optimizer", "scalars", "0", "step"], -1),
    "step fractional": _set(["optimizer", "scalars", "0", "step"], 1.5),
    "scalars key not a number": _set(["optimizer", "scalars", "x"], {"step": 1}),
    "state of a parameter that does not exist": _set(["optimizer", "scalars", "99"], {"step": 1}),
    "scheduler last_epoch a string": _set(["scheduler", "last_epoch"], "x"),
    "scheduler last_epoch fractional": _set(["scheduler", "last_epoch"], 1.5),
    "scheduler base_lrs too long": _set(["scheduler", "base_lrs"], [0.1, 0.1]),
    "scheduler a list": _set(["scheduler"], [1]),
    "rng not a dict": _set(["rng"], "PCG64"),
    "rng test": _set(["rng", "bit_generator"], "test"),
    "rng state huge": _set(["rng", "state", "state", "state"], 2 ** 200),
    "callbacks a dict": _set(["callbacks"], {}),
    "callback best a string": _set(["callbacks", 1, "state", "best"], "low"),
    "callback state missing": _drop(["callbacks", 0, "state", "wait"]),
    "meta a list": _set(["meta"], [1, 2]),
    "meta nested deeply": _set(["meta", "x"], json.loads("[" * 200 + "]" * 200)),
    "format missing": _drop(["format"]),
    "version 1": _set(["version"], 1),
    "version a string": _set(["version"], "2"),
    "unknown section": _set(["extra"], 1),
    "tensors missing": _drop(["tensors"]),
    "tensor entry missing its checksum": lambda h: h["tensors"]["model.0.weight"].pop("sha256"),
    "header a list": lambda h: "[]",
    "header nested past the parser's stack": lambda h: '{"meta": ' + "[" * 100_000 + "]" * 100_000 + "}",
    "header not JSON": lambda h: "{",
}


@pytest.mark.parametrize("case", MALFORMED)
def test_every_malformed_header_raises_checkpoint_error_and_changes_nothing(tmp_path, good, case):
    _refused(tmp_path, _with_header(good, MALFORMED[case]))


def test_a_hyper_parameter_the_file_lacks_keeps_its_current_value(tmp_path, good):
    path = tmp_path / "old.safetensors"
    path.write_bytes(_with_header(good, _drop(["optimizer", "param_groups", 0, "eps"])))
    model, opt, sched, cbs = _targets()
    opt.param_groups[0]["eps"] = 1e-6
    rg.load(path, model, opt, sched, callbacks=cbs)
    assert opt.param_groups[0]["eps"] == 1e-6 and opt.param_groups[0]["lr"] == 0.01


# ------------------------------------------------------------------ integrity
def test_a_flipped_data_byte_is_caught_by_the_checksum(tmp_path, good):
    data = bytearray(good)
    data[-3] ^= 0x10
    _refused(tmp_path, bytes(data), match="does not match its checksum")


def test_a_tensor_relabelled_with_another_dtype_of_the_same_size_is_caught(tmp_path, good):
    assert b'"dtype":"F32"' in good
    _refused(tmp_path, good.replace(b'"dtype":"F32"', b'"dtype":"I32"', 1), match="stored as 'I32'")


def test_a_damaged_header_is_caught_by_its_checksum(tmp_path, good):
    st_header, body = _split(good)
    st_header["__metadata__"]["retrograd"] = st_header["__metadata__"]["retrograd"].replace('"lr": 0.01', '"lr": 0.03')
    assert '"lr": 0.03' in st_header["__metadata__"]["retrograd"]
    _refused(tmp_path, _join(st_header, body), match="does not match its checksum")


ENTRY_EDITS = {
    "unknown dtype": lambda h, ours: [e.update(dtype="Q64") for e in _entries(h, ours, "model.0.bias")],
    "huge shape": lambda h, ours: [e.update(shape=[2 ** 40, 2 ** 40]) for e in _entries(h, ours, "model.0.bias")],
    "negative shape": lambda h, ours: [e.update(shape=[-4]) for e in _entries(h, ours, "model.0.bias")],
    "offsets past the end": lambda h, ours: h["model.0.bias"].update(data_offsets=[0, 10 ** 12]),
    "offsets reversed": lambda h, ours: h["model.0.bias"].update(data_offsets=[16, 0]),
    "offsets overlapping": lambda h, ours: h["model.0.bias"].update(
        data_offsets=h["model.0.weight"]["data_offsets"][:1] + [h["model.0.weight"]["data_offsets"][0] + 16]),
    "offsets strings": lambda h, ours: h["model.0.bias"].update(data_offsets=["0", "16"]),
    "entry not an object": lambda h, ours: h.update({"model.0.bias": 3}),
    "tensor not in our table": lambda h, ours: h.update({"model.extra": dict(h["model.0.bias"])}),
    "tensor of no section": lambda h, ours: [h.update({"stray": dict(h["model.0.bias"])}),
                                             ours["tensors"].update({"stray": ours["tensors"]["model.0.bias"]})],
    "metadata not an object": lambda h, ours: h.update({"__metadata__": 3}),
}


def _entries(h, ours, name):
    return [h[name], ours["tensors"][name]]  # the file's entry and our table's, changed together


@pytest.mark.parametrize("case", ENTRY_EDITS)
def test_crafted_safetensors_entries_raise_checkpoint_error(tmp_path, good, case):
    st_header, body = _split(good)
    ours = json.loads(st_header["__metadata__"]["retrograd"])
    ENTRY_EDITS[case](st_header, ours)
    if isinstance(st_header.get("__metadata__"), dict):
        text = json.dumps(ours)
        st_header["__metadata__"] = {"retrograd": text,
                                     "retrograd_sha256": hashlib.sha256(text.encode()).hexdigest()}
    _refused(tmp_path, _join(st_header, body))


def test_a_header_text_with_a_lone_surrogate_is_refused(tmp_path, good):
    st_header, body = _split(good)
    st_header["__metadata__"]["retrograd"] = "\ud800"
    _refused(tmp_path, _join(st_header, body), match="does not match its checksum")


def test_a_checkpoint_without_checksums_is_refused_with_the_reason(tmp_path, good):
    st_header, body = _split(good)
    del st_header["__metadata__"]["retrograd_sha256"]
    _refused(tmp_path, _join(st_header, body), match="no header checksum")


# ------------------------------------------------------------------ fuzz: damaged and crafted files
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(data=st.data())
def test_fuzz_bit_flips_anywhere_are_refused(tmp_path, good, data):
    flips = data.draw(st.lists(st.integers(0, len(good) * 8 - 1), min_size=1, max_size=3, unique=True))
    damaged = bytearray(good)
    for bit in flips:
        damaged[bit // 8] ^= 1 << (bit % 8)
    _refused(tmp_path, bytes(damaged))


@FUZZ
@given(data=st.data())
def test_fuzz_truncation_anywhere_is_refused(tmp_path, good, data):
    _refused(tmp_path, good[:data.draw(st.integers(0, len(good) - 1))])


def _paths(value, prefix=()):
    """Every path to a value inside the JSON header."""
    yield prefix
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for k, v in items:
        yield from _paths(v, prefix + (k,))


def _nested(depth):
    value = []
    for _ in range(depth):
        value = [value]
    return value


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2 ** 130, 2 ** 130) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8)


@FUZZ
@given(data=st.data())
def test_fuzz_crafted_header_values_load_or_are_refused_without_changes(tmp_path, good, data):
    header = json.loads(_split(good)[0]["__metadata__"]["retrograd"])
    paths = [p for p in _paths(header) if p]
    path = data.draw(st.sampled_from(paths))
    value = data.draw(JSON_VALUES | st.builds(_nested, st.integers(30, 400)))
    crafted = _with_header(good, _set(list(path), value))
    (tmp_path / "c.safetensors").write_bytes(crafted)
    model, opt, sched, cbs = _targets()
    before = _snapshot(model, opt, sched, cbs)
    try:
        rg.load(tmp_path / "c.safetensors", model, opt, sched, callbacks=cbs)
    except rg.CheckpointError:
        _assert_same(before, _snapshot(model, opt, sched, cbs))
    # a value of the right type (a new epoch in meta, another lr) is a valid checkpoint: it loads


@FUZZ
@given(data=st.data())
def test_fuzz_crafted_values_of_the_wrong_type_are_refused(tmp_path, good, data):
    targets = {  # typed fields -> values that are never valid there
        ("optimizer", "param_groups", 0, "lr"): st.text() | st.booleans() | st.none() | st.just(float("inf"))
        | st.integers(min_value=2 ** 1024),
        ("optimizer", "param_groups", 0, "betas"): st.lists(st.floats(0, 1), max_size=5).filter(lambda v: len(v) != 2),
        ("optimizer", "scalars", "0", "step"): st.text() | st.floats().filter(lambda v: not float(v).is_integer()),
        ("scheduler", "last_epoch"): st.text() | st.none() | st.lists(st.integers()),
        ("rng", "bit_generator"): st.text().filter(lambda v: v not in ("PCG64", "PCG64DXSM")),
        ("rng", "state", "state", "inc"): st.integers(2 ** 128, 2 ** 200) | st.integers(max_value=-1) | st.text(),
        ("tensors", "model.0.weight", "shape"): st.lists(st.integers(0, 2 ** 40), max_size=4).filter(
            lambda v: v != [4, 3]),
        ("tensors", "model.0.weight", "dtype"): st.text().filter(lambda v: v != "F32"),
        ("callbacks", 0, "state", "wait"): st.text() | st.integers(max_value=-1) | st.floats(),
        ("version",): st.integers().filter(lambda v: v != 2) | st.text(),
    }
    path = data.draw(st.sampled_from(sorted(targets, key=str)))
    _refused(tmp_path, _with_header(good, _set(list(path), data.draw(targets[path]))))


def test_save_refuses_what_load_would_refuse(tmp_path):
    with pytest.raises(rg.CheckpointError, match="nests deeper"):
        rg.save(tmp_path / "deep.safetensors", nn.Linear(2, 2), note=_nested(40))
    model = nn.Linear(2, 2)
    model.register_buffer("phase", rg.tensor(np.ones(2, np.complex64)))
    with pytest.raises(TypeError, match="complex64, which a checkpoint cannot hold"):
        rg.save(tmp_path / "complex.safetensors", model)
    with pytest.raises(TypeError, match="JSON-serialisable"):
        rg.save(tmp_path / "obj.safetensors", nn.Linear(2, 2), note=object())
    assert os.listdir(tmp_path) == []


# ------------------------------------------------------------------ temporaries and permissions
def test_a_save_removes_the_temporaries_of_killed_saves_and_only_those(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)  # a process that has exited
    stale = tmp_path / f".m.safetensors.retrograd-{pid}-0123abcd.tmp"
    alive = tmp_path / f".m.safetensors.retrograd-{os.getppid()}-0123abcd.tmp"  # a live writer's
    kept = [alive, tmp_path / f".other.safetensors.retrograd-{pid}-0123abcd.tmp", tmp_path / "m.safetensors.tmp",
            tmp_path / f".m.safetensors.retrograd-{pid}-xyz.tmp"]
    for f in [stale, *kept]:
        f.write_bytes(b"x" * 100)
    rg.save(tmp_path / "m.safetensors", nn.Linear(2, 2))
    assert not stale.exists()
    assert all(f.exists() for f in kept)
    assert sorted(os.listdir(tmp_path)) == sorted(["m.safetensors", *(f.name for f in kept)])


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_checkpoints_follow_the_umask_like_torch_save(tmp_path):
    old = os.umask(0o027)
    try:
        rg.save(tmp_path / "m.safetensors", nn.Linear(2, 2))
    finally:
        os.umask(old)
    assert (os.stat(tmp_path / "m.safetensors").st_mode & 0o777) == 0o640
    os.chmod(tmp_path / "m.safetensors", 0o600)  # made private by its owner: overwriting keeps that
    rg.save(tmp_path / "m.safetensors", nn.Linear(2, 2))
    assert (os.stat(tmp_path / "m.safetensors").st_mode & 0o777) == 0o600


@pytest.mark.parametrize("magic, what", [(b"PK\x03\x04", "zip archive"), (b"\x80\x02", "Python pickle"),
                                         (b"\x89HDF\r\n\x1a\n", "HDF5"), (b"\x93NUMPY", "NumPy .npy")])
def test_a_foreign_file_is_named_not_measured(tmp_path, magic, what):
    """A PyTorch .pt (zip or pickle), a Keras .h5 or a .npy file is named as what it is, not read as a
    safetensors header of some absurd size."""
    path = tmp_path / "weights.bin"
    path.write_bytes(magic + bytes(200))
    with pytest.raises(rg.CheckpointError, match=what) as info:
        rg.load(str(path), rg.nn.Linear(2, 1))
    assert "safetensors" in str(info.value) and "header of" not in str(info.value)
