"""PyTorch's ``test/nn/test_packed_sequence.py`` ported: each case runs through torch 2.13 and
``rg.nn.utils.rnn`` side by side (values, dtypes, indices, gradients, exception types and messages).
The random sequences of torch's tests are drawn here from a seeded NumPy generator."""

import itertools

import numpy as np
import pytest

import retrograd as rg
from conftest import torch

pytestmark = [pytest.mark.torch, pytest.mark.usefixtures("float64_default", "torch_float64_default")]

R = rg.nn.utils.rnn
CASTS = ["double", "float", "long", "int", "short", "char", "byte"]


def _tt():
    return torch.nn.utils.rnn


def _same(ours, theirs):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    assert tuple(ours.shape) == theirs.shape and ours.dtype == theirs.dtype, (ours.shape, ours.dtype, theirs.dtype)
    np.testing.assert_array_equal(ours.data, theirs)


def _same_packed(ours, theirs):
    _same(ours.data, theirs.data)
    _same(ours.batch_sizes, theirs.batch_sizes)
    for a, b in ((ours.sorted_indices, theirs.sorted_indices), (ours.unsorted_indices, theirs.unsorted_indices)):
        assert (a is None) == (b is None)
        if a is not None:
            _same(a, b)


def _sequences(rng, dims, shuffle=True, maxlen=9):
    """torch's 'more dimensions' sequences: lengths i², trailing (5, 4, …)."""
    seqs = [rng.random((i * i, 5) + (4,) * dims) for i in range(1, maxlen + 1)]
    if shuffle:
        rng.shuffle(seqs)
    return seqs


@pytest.mark.parametrize("cast", CASTS)
@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_type_casts(cast, enforce_sorted):
    """test_type_casts: a cast PackedSequence unpacks to the cast dtype; indices stay int64."""
    rng = np.random.default_rng(0)
    ordered = sorted((rng.integers(-128, 128, rng.integers(1, 7)) for _ in range(5)), key=len, reverse=True)
    lengths = [len(s) for s in ordered]
    ours = R.pack_padded_sequence(R.pad_sequence([rg.tensor(s) for s in ordered]), lengths,
                                  enforce_sorted=enforce_sorted)
    theirs = _tt().pack_padded_sequence(_tt().pad_sequence([torch.tensor(s) for s in ordered]), lengths,
                                        enforce_sorted=enforce_sorted)
    ours_cast, theirs_cast = getattr(ours, cast)(), getattr(theirs, cast)()
    _same_packed(ours_cast, theirs_cast)
    _same(R.pad_packed_sequence(ours_cast)[0], _tt().pad_packed_sequence(theirs_cast)[0])


def test_to_and_cpu_return_the_same_object_when_nothing_changes():
    """test_to (CPU part): to('cpu'), cpu(), to('cpu', dtype=int32) on int32 data are the same object;
    long() equals to(int64)."""
    for enforce_sorted in (True, False):
        x = np.array([[1, 2], [3, 4], [5, 0]], dtype=np.int32)
        ours = R.pack_padded_sequence(rg.tensor(x), [3, 2], enforce_sorted=enforce_sorted)
        theirs = _tt().pack_padded_sequence(torch.tensor(x), [3, 2], enforce_sorted=enforce_sorted).cpu()
        assert ours.to("cpu") is ours and ours.cpu() is ours and ours.to("cpu", dtype=np.int32) is ours
        assert theirs.to("cpu") is theirs and theirs.to("cpu", dtype=torch.int32) is theirs
        _same_packed(ours.long(), theirs.long())
        _same_packed(ours.to(np.int64), theirs.to(torch.int64))
        assert ours.is_cuda == theirs.is_cuda is False


def test_wrong_order():
    """test_wrong_order: lengths [22, 25] with enforce_sorted is a RuntimeError."""
    for lib, make in ((_tt(), torch.ones), (R, lambda *s: rg.tensor(np.ones(s)))):
        b_a = lib.pad_sequence([make(22, 300), make(25, 300)])
        with pytest.raises(RuntimeError, match="must be sorted in decreasing order"):
            lib.pack_padded_sequence(b_a, [22, 25], enforce_sorted=True)


def test_pad_sequence_with_tensor_sequences_and_non_iterables():
    """test_pad_sequence_with_tensor_sequences / _with_non_iterable_sequences."""
    pair = np.array([[[7, 6]], [[-7, -1]]])
    from_tuple = R.pad_sequence((rg.tensor(pair[0]), rg.tensor(pair[1])))
    from_tensor = R.pad_sequence(rg.tensor(pair))
    _same(from_tuple, _tt().pad_sequence(torch.tensor(pair)))
    _same(from_tensor, _tt().pad_sequence((torch.tensor(pair[0]), torch.tensor(pair[1]))))
    assert from_tuple.shape == (1, 2, 2)
    msg = r"Expected iterable for input sequences, but got arg of type"
    for lib in (_tt(), R):
        with pytest.raises(RuntimeError, match=msg):
            lib.pad_sequence(5)


def test_total_length():
    """test_total_length: too short a total_length is a ValueError; longer ones pad with zeros."""
    rng = np.random.default_rng(1)
    ordered = sorted((rng.random(rng.integers(1, 7)) for _ in range(5)), key=len, reverse=True)
    lengths = [len(s) for s in ordered]
    ours = R.pack_padded_sequence(R.pad_sequence([rg.tensor(s) for s in ordered]), lengths)
    theirs = _tt().pack_padded_sequence(_tt().pad_sequence([torch.tensor(s) for s in ordered]), lengths)
    for total_length, batch_first in itertools.product((-1, 0, max(lengths) - 1), (True, False)):
        for lib, packed in ((_tt(), theirs), (R, ours)):
            with pytest.raises(ValueError, match=r"Expected total_length to be at least the length of the longest"):
                lib.pad_packed_sequence(packed, batch_first=batch_first, total_length=total_length)
    for batch_first, delta in itertools.product((True, False), (0, 1, 8)):
        total = max(lengths) + delta
        got, got_len = R.pad_packed_sequence(ours, batch_first=batch_first, total_length=total)
        want, want_len = _tt().pad_packed_sequence(theirs, batch_first=batch_first, total_length=total)
        _same(got, want)
        _same(got_len, want_len)
        assert got.shape[1 if batch_first else 0] == total


def test_pad_sequence_values():
    """test_pad_sequence: 1-D integer sequences (batch_first both ways, padding_value 1, sorted
    input) and the 'more dimensions' sequences."""
    a, b, c = [1, 2, 3], [4, 5], [6]
    for order, args in itertools.product(([b, a, c], [a, b, c]), ((True,), (False,), (True, 1))):
        _same(R.pad_sequence([rg.tensor(np.array(s)) for s in order], *args),
              _tt().pad_sequence([torch.tensor(s) for s in order], *args))
    rng = np.random.default_rng(2)
    for dims in (0, 1, 2, 3):
        seqs = _sequences(rng, dims)
        for batch_first in (True, False):
            _same(R.pad_sequence([rg.tensor(s) for s in seqs], batch_first),
                  _tt().pad_sequence([torch.tensor(s) for s in seqs], batch_first))


@pytest.mark.parametrize("dims", [None, 0, 1, 2, 3])
def test_unpad_and_unpack_sequence_invert_pad_and_pack(dims):
    """test_unpad_sequence / test_unpack_sequence."""
    rng = np.random.default_rng(3)
    seqs = [np.array([1, 2, 3]), np.array([4, 5]), np.array([6])] if dims is None else _sequences(rng, dims)
    lengths = [len(s) for s in seqs]
    for batch_first in (True, False):
        padded = R.pad_sequence([rg.tensor(s) for s in seqs], batch_first=batch_first)
        got = R.unpad_sequence(padded, rg.tensor(np.array(lengths)), batch_first=batch_first)
        want = _tt().unpad_sequence(_tt().pad_sequence([torch.tensor(s) for s in seqs], batch_first=batch_first),
                                    torch.tensor(lengths), batch_first=batch_first)
        for g, w, s in zip(got, want, seqs):
            _same(g, w)
            np.testing.assert_array_equal(g.data, s)
    unpacked = R.unpack_sequence(R.pack_sequence([rg.tensor(s) for s in seqs], enforce_sorted=False))
    for g, w in zip(unpacked, _tt().unpack_sequence(_tt().pack_sequence([torch.tensor(s) for s in seqs],
                                                                          enforce_sorted=False))):
        _same(g, w)


def test_pack_sequence():
    """test_pack_sequence: values, batch_sizes and both index permutations; the enforce_sorted
    refusal and its hint; compatibility with pad/pack_padded/pad_packed for 'more dimensions'."""
    a, b, c = np.array([1, 2, 3]), np.array([4, 5]), np.array([6])
    for order, enforce_sorted in (([a, b, c], False), ([b, c, a], False), ([a, b, c], True)):
        _same_packed(R.pack_sequence([rg.tensor(s) for s in order], enforce_sorted=enforce_sorted),
                     _tt().pack_sequence([torch.tensor(s) for s in order], enforce_sorted=enforce_sorted))
    for lib, make in ((_tt(), torch.tensor), (R, rg.tensor)):
        with pytest.raises(RuntimeError, match=r"must be sorted in decreasing order.*You can pass `enforce_sorted=False`"):
            lib.pack_sequence([make(b), make(c), make(a)], enforce_sorted=True)
    rng = np.random.default_rng(4)
    for dims in (0, 1, 2, 3):
        ordered = _sequences(rng, dims, shuffle=False)[::-1]
        shuffled = list(ordered)
        rng.shuffle(shuffled)
        cases = [(ordered, bf, es) for bf in (True, False) for es in (True, False)]
        cases += [(shuffled, bf, False) for bf in (True, False)]
        for seqs, batch_first, enforce_sorted in cases:
            lengths = [len(s) for s in seqs]
            ours = [rg.tensor(s) for s in seqs]
            padded = R.pad_sequence(ours, batch_first)
            packed = R.pack_sequence(ours, enforce_sorted)
            np.testing.assert_array_equal(R.pad_packed_sequence(packed, batch_first)[0].data, padded.data)
            _same_packed(R.pack_padded_sequence(padded, lengths, batch_first, enforce_sorted),
                         _tt().pack_sequence([torch.tensor(s) for s in seqs], enforce_sorted))


@pytest.mark.parametrize("sorted_lengths,shuffle", [([10, 8, 4, 2, 2, 2, 1], False), ([11, 10, 8, 6, 4, 3, 1], False),
                                                    ([11, 10, 8, 6, 4, 3, 1], True)])
@pytest.mark.parametrize("batch_first", [True, False])
def test_pack_padded_sequence(sorted_lengths, shuffle, batch_first):
    """test_pack_padded_sequence: sequence i holds i·100 + 1…5l, packed time-major; the inverse
    gives the input back; the gradient reaches exactly the real steps."""
    T = sorted_lengths[0]
    padded = np.zeros((T, len(sorted_lengths), 5))
    for i, n in enumerate(sorted_lengths, 1):
        padded[:n, i - 1] = i * 100 + np.arange(1.0, 5 * n + 1).reshape(n, 5)
    lengths = list(sorted_lengths)
    if shuffle:
        perm = np.random.default_rng(5).permutation(len(lengths))
        padded, lengths = padded[:, perm], [lengths[j] for j in perm]
    src = padded.transpose(1, 0, 2).copy() if batch_first else padded
    xr, xt = rg.tensor(src, requires_grad=True), torch.tensor(src, requires_grad=True)
    ours = R.pack_padded_sequence(xr, lengths, batch_first=batch_first, enforce_sorted=not shuffle)
    theirs = _tt().pack_padded_sequence(xt, lengths, batch_first=batch_first, enforce_sorted=not shuffle)
    _same_packed(ours, theirs)
    unpacked, unpacked_len = R.pad_packed_sequence(ours, batch_first=batch_first)
    np.testing.assert_array_equal(unpacked.data, src)
    assert unpacked_len.data.tolist() == lengths
    grad_out = np.random.default_rng(6).standard_normal(unpacked.shape)
    unpacked.backward(rg.tensor(grad_out))
    _tt().pad_packed_sequence(theirs, batch_first=batch_first)[0].backward(torch.tensor(grad_out))
    _same(xr.grad, xt.grad)
    g = xr.grad.data.transpose(1, 0, 2) if batch_first else xr.grad.data
    go = grad_out.transpose(1, 0, 2) if batch_first else grad_out
    for i, n in enumerate(lengths):
        np.testing.assert_array_equal(g[:n, i], go[:n, i])
        assert np.abs(g[n:, i]).sum() == 0


def test_pack_padded_sequence_errors():
    """test_pack_padded_sequence's error messages: unsorted lengths, empty tensors (before the lengths)."""
    cases = [(lambda lib, mk: lib.pack_padded_sequence(mk(np.zeros((3, 3))), [1, 3, 2]),
              "You can pass `enforce_sorted=False`"),
             (lambda lib, mk: lib.pack_padded_sequence(mk(np.zeros((0, 0))), []), "empty tensor"),
             (lambda lib, mk: lib.pack_padded_sequence(mk(np.zeros((0, 1, 10))), mk(np.zeros((11, 14, 14, 2))), True),
              "empty tensor")]
    for call, match in cases:
        for lib, make in ((_tt(), torch.tensor), (R, rg.tensor)):
            with pytest.raises(RuntimeError, match=match):
                call(lib, make)
