"""``rg.nn.utils.rnn`` (padding and packing variable-length sequences) and
``Embedding(padding_idx=)`` against PyTorch in float64: values, gradients,
dtypes, errors, ``batch_first`` and ``enforce_sorted`` both ways, round trips."""

import numpy as np
import pytest

import retrograd as rg
from conftest import torch
from retrograd import nn
from retrograd.nn import functional as F

pytestmark = pytest.mark.torch

R = rg.nn.utils.rnn

CASES = [  # (lengths, enforce_sorted)
    ([4, 2, 1], True),
    ([4, 4, 2], True),
    ([2, 4, 2], False),
    ([1, 3, 3, 4], False),
    ([3], True),
]


def _pair(array):
    return rg.tensor(array, requires_grad=True), torch.tensor(array, requires_grad=True)


def _padded(lengths, batch_first, features=(2,), seed=0):
    rng = np.random.default_rng(seed)
    shape = (len(lengths), max(lengths)) if batch_first else (max(lengths), len(lengths))
    return rng.standard_normal(shape + features)


def _same(ours, theirs):
    theirs = theirs.detach().numpy()
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0)


def _same_indices(ours, theirs):
    if theirs is None:
        assert ours is None
    else:
        assert ours.dtype == np.int64
        np.testing.assert_array_equal(ours.data, theirs.numpy())


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("lengths, enforce_sorted", CASES)
def test_pack_padded_sequence_matches_torch_values_indices_and_gradients(lengths, enforce_sorted, batch_first):
    ours_in, torch_in = _pair(_padded(lengths, batch_first))
    ours = R.pack_padded_sequence(ours_in, lengths, batch_first=batch_first, enforce_sorted=enforce_sorted)
    theirs = torch.nn.utils.rnn.pack_padded_sequence(torch_in, lengths, batch_first=batch_first,
                                                     enforce_sorted=enforce_sorted)
    assert isinstance(ours, R.PackedSequence)
    _same(ours.data.data, theirs.data)
    assert ours.batch_sizes.dtype == np.int64
    np.testing.assert_array_equal(ours.batch_sizes.data, theirs.batch_sizes.numpy())
    _same_indices(ours.sorted_indices, theirs.sorted_indices)
    _same_indices(ours.unsorted_indices, theirs.unsorted_indices)
    weights = np.random.default_rng(1).standard_normal(ours.data.shape)
    (ours.data * rg.tensor(weights)).sum().backward()
    (theirs.data * torch.tensor(weights)).sum().backward()
    _same(ours_in.grad.data, torch_in.grad)


@pytest.mark.parametrize("total_length", [None, 6])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("lengths, enforce_sorted", CASES)
def test_pad_packed_sequence_round_trip_matches_torch(lengths, enforce_sorted, batch_first, total_length):
    array = _padded(lengths, batch_first, features=(3, 2))
    ours_in, torch_in = _pair(array)
    ours_packed = R.pack_padded_sequence(ours_in, lengths, batch_first=batch_first, enforce_sorted=enforce_sorted)
    torch_packed = torch.nn.utils.rnn.pack_padded_sequence(torch_in, lengths, batch_first=batch_first,
                                                           enforce_sorted=enforce_sorted)
    ours, ours_lengths = R.pad_packed_sequence(ours_packed, batch_first=batch_first, padding_value=-7.0,
                                               total_length=total_length)
    theirs, their_lengths = torch.nn.utils.rnn.pad_packed_sequence(torch_packed, batch_first=batch_first,
                                                                   padding_value=-7.0, total_length=total_length)
    _same(ours.data, theirs)
    assert ours_lengths.dtype == np.int64
    np.testing.assert_array_equal(ours_lengths.data, their_lengths.numpy())
    np.testing.assert_array_equal(ours_lengths.data, lengths)
    # the real steps come back where they were, in the caller's order
    for i, n in enumerate(lengths):
        real = (slice(i, i + 1), slice(0, n)) if batch_first else (slice(0, n), slice(i, i + 1))
        np.testing.assert_array_equal(ours.data[real], array[real])
    weights = np.random.default_rng(2).standard_normal(ours.shape)
    (ours * rg.tensor(weights)).sum().backward()
    (theirs * torch.tensor(weights)).sum().backward()
    _same(ours_in.grad.data, torch_in.grad)


@pytest.mark.parametrize("padding_side", ["right", "left"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_pad_sequence_matches_torch_values_and_gradients(batch_first, padding_side):
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal((n, 2, 3)) for n in (2, 5, 0, 3)]
    pairs = [_pair(a) for a in arrays]
    ours = R.pad_sequence([p[0] for p in pairs], batch_first=batch_first, padding_value=1.5,
                          padding_side=padding_side)
    theirs = torch.nn.utils.rnn.pad_sequence([p[1] for p in pairs], batch_first=batch_first, padding_value=1.5,
                                             padding_side=padding_side)
    _same(ours.data, theirs)
    weights = rng.standard_normal(ours.shape)
    (ours * rg.tensor(weights)).sum().backward()
    (theirs * torch.tensor(weights)).sum().backward()
    for ours_in, torch_in in pairs:
        _same(ours_in.grad.data, torch_in.grad)


def test_pad_sequence_reads_a_tensor_as_a_list_along_its_first_axis():
    array = np.arange(6.0).reshape(3, 2)
    _same(R.pad_sequence(rg.tensor(array)).data, torch.nn.utils.rnn.pad_sequence(torch.tensor(array)))


@pytest.mark.parametrize("enforce_sorted, lengths", [(True, (4, 3, 1)), (False, (2, 4, 1, 4))])
def test_pack_sequence_and_unpack_sequence_match_torch_and_round_trip(enforce_sorted, lengths):
    rng = np.random.default_rng(4)
    pairs = [_pair(rng.standard_normal((n, 3))) for n in lengths]
    ours = R.pack_sequence([p[0] for p in pairs], enforce_sorted=enforce_sorted)
    theirs = torch.nn.utils.rnn.pack_sequence([p[1] for p in pairs], enforce_sorted=enforce_sorted)
    _same(ours.data.data, theirs.data)
    np.testing.assert_array_equal(ours.batch_sizes.data, theirs.batch_sizes.numpy())
    _same_indices(ours.sorted_indices, theirs.sorted_indices)
    ours_back = R.unpack_sequence(ours)
    theirs_back = torch.nn.utils.rnn.unpack_sequence(theirs)
    assert len(ours_back) == len(lengths)
    for (ours_in, _), o, t in zip(pairs, ours_back, theirs_back):
        _same(o.data, t)
        np.testing.assert_array_equal(o.data, ours_in.data)
    total_ours = sum((o * float(i + 1)).sum() for i, o in enumerate(ours_back))
    total_theirs = sum((t * float(i + 1)).sum() for i, t in enumerate(theirs_back))
    total_ours.backward()
    total_theirs.backward()
    for ours_in, torch_in in pairs:
        _same(ours_in.grad.data, torch_in.grad)


@pytest.mark.parametrize("batch_first", [False, True])
def test_unpad_sequence_inverts_pad_sequence_like_torch(batch_first):
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal((n, 2)) for n in (3, 1, 4)]
    ours_padded = R.pad_sequence([rg.tensor(a) for a in arrays], batch_first=batch_first)
    theirs_padded = torch.nn.utils.rnn.pad_sequence([torch.tensor(a) for a in arrays], batch_first=batch_first)
    lengths = [3, 1, 4]
    ours = R.unpad_sequence(ours_padded, rg.tensor(np.array(lengths)), batch_first=batch_first)
    theirs = torch.nn.utils.rnn.unpad_sequence(theirs_padded, torch.tensor(lengths), batch_first=batch_first)
    for o, t, a in zip(ours, theirs, arrays):
        _same(o.data, t)
        np.testing.assert_array_equal(o.data, a)


def test_lengths_may_be_a_list_an_int64_array_or_an_int64_tensor():
    array = _padded([3, 2], False)
    expected = R.pack_padded_sequence(rg.tensor(array), [3, 2]).data.data
    for lengths in (np.array([3, 2]), rg.tensor(np.array([3, 2])), np.array([3.0, 2.0])):
        np.testing.assert_array_equal(R.pack_padded_sequence(rg.tensor(array), lengths).data.data, expected)


def _both_raise(call, torch_error, match):
    """Ours raises ``SequenceLengthError`` (also a RuntimeError, like PyTorch) with PyTorch's message."""
    with pytest.raises(torch_error, match=match):
        call(torch.nn.utils.rnn, torch.tensor)
    with pytest.raises(R.SequenceLengthError, match=match) as caught:
        call(R, rg.tensor)
    assert isinstance(caught.value, (RuntimeError, rg.OpError))


def test_errors_match_torch():
    x = _padded([4, 2, 1], False)
    _both_raise(lambda m, t: m.pack_padded_sequence(t(x), [1, 2, 4]), RuntimeError,
                r"`lengths` array must be sorted in decreasing order when `enforce_sorted` is True")
    _both_raise(lambda m, t: m.pack_padded_sequence(t(x), [3, 0, 0]), RuntimeError,
                r"Length of all samples has to be greater than 0")
    _both_raise(lambda m, t: m.pack_padded_sequence(t(x), [0, 3, 1], enforce_sorted=False), RuntimeError,
                r"Length of all samples has to be greater than 0")
    _both_raise(lambda m, t: m.pack_padded_sequence(t(x), [3, 1]), RuntimeError,
                r"Expected `len\(lengths\)` to be equal to batch_size, but got 2 \(batch_size=3\)")
    _both_raise(lambda m, t: m.pad_sequence([]), RuntimeError, r"received an empty list of sequences")
    _both_raise(lambda m, t: m.pack_sequence([]), RuntimeError, r"received an empty list of sequences")
    _both_raise(lambda m, t: m.pad_sequence([t(x[0])], padding_side="middle"), RuntimeError,
                r"Expected padding_side to be one of left or right, but got middle")


def test_total_length_shorter_than_the_longest_sequence_is_a_value_error_like_torch():
    x = _padded([4, 2, 1], False)
    theirs = torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(x), [4, 2, 1])
    message = r"Expected total_length to be at least the length of the longest sequence in input, but got " \
              r"total_length=3 and max sequence length being 4"
    with pytest.raises(ValueError, match=message):
        torch.nn.utils.rnn.pad_packed_sequence(theirs, total_length=3)
    with pytest.raises(rg.OpError, match=message):
        R.pad_packed_sequence(R.pack_padded_sequence(rg.tensor(x), [4, 2, 1]), total_length=3)


def test_inputs_torch_mishandles_are_refused_with_the_cause():
    """PyTorch reads past the tensor for a length > T with enforce_sorted=False, truncates
    fractional lengths and lets unpad_sequence return a short sequence: we refuse all three."""
    x = rg.tensor(_padded([4, 2, 1], False))
    for enforce_sorted in (True, False):
        with pytest.raises(R.SequenceLengthError, match=r"a length of 5 exceeds the 4 steps of the input of shape "
                                                         r"\(4, 3, 2\)"):
            R.pack_padded_sequence(x, [5, 2, 1], enforce_sorted=enforce_sorted)
    with pytest.raises(R.SequenceLengthError, match=r"'lengths' must be whole numbers"):
        R.pack_padded_sequence(x, [3.5, 2, 1])
    with pytest.raises(R.SequenceLengthError, match=r"lengths \[5, 2, 1\] must lie in \[0, 4\]"):
        R.unpad_sequence(x, [5, 2, 1])
    with pytest.raises(rg.OpError, match=r"pack_padded_sequence: input must have a time and a batch axis"):
        R.pack_padded_sequence(rg.tensor(np.zeros(4)), [3])
    with pytest.raises(rg.OpError, match=r"pad_sequence: each sequence needs a time axis"):
        R.pad_sequence([rg.tensor(np.float64(1.0)), rg.tensor(np.float64(2.0))])
    with pytest.raises(rg.OpError, match=r"pad_sequence: all sequences must have the same trailing shape"):
        R.pad_sequence([rg.tensor(np.zeros((2, 3))), rg.tensor(np.zeros((3, 4)))])


# ---- Embedding(padding_idx=) -------------------------------------------------------------


@pytest.mark.parametrize("padding_idx", [0, 3, -1, -5])
def test_embedding_padding_row_starts_at_zero_and_gets_no_gradient_like_torch(padding_idx):
    ours, theirs = nn.Embedding(5, 3, padding_idx=padding_idx).double(), \
        torch.nn.Embedding(5, 3, padding_idx=padding_idx).double()
    assert ours.padding_idx == theirs.padding_idx == padding_idx % 5
    assert repr(ours) == repr(theirs)
    np.testing.assert_array_equal(ours.weight.data[padding_idx], np.zeros(3))
    ours.load_state_dict({name: value.detach().numpy() for name, value in theirs.state_dict().items()})
    indices = np.array([[0, 3, 4, 3], [1, 2, 0, 4]])
    weights = np.random.default_rng(6).standard_normal((2, 4, 3))
    out_ours, out_theirs = ours(rg.tensor(indices)), theirs(torch.tensor(indices))
    _same(out_ours.data, out_theirs)
    (out_ours * rg.tensor(weights)).sum().backward()
    (out_theirs * torch.tensor(weights)).sum().backward()
    _same(ours.weight.grad.data, theirs.weight.grad)
    np.testing.assert_array_equal(ours.weight.grad.data[padding_idx], np.zeros(3))


def test_functional_embedding_padding_idx_reads_the_row_but_sends_it_no_gradient():
    """F.embedding does not zero the row (only the layer initialises it so): a nonzero
    padding row is read as is, and its gradient is zero, as in PyTorch."""
    table = np.random.default_rng(7).standard_normal((6, 2))
    ours_w, torch_w = _pair(table)
    indices = np.array([5, 1, 5, 2, 1])
    ours = F.embedding(rg.tensor(indices), ours_w, padding_idx=-1)
    theirs = torch.nn.functional.embedding(torch.tensor(indices), torch_w, padding_idx=-1)
    _same(ours.data, theirs)
    (ours * ours).sum().backward()
    (theirs * theirs).sum().backward()
    _same(ours_w.grad.data, torch_w.grad)
    assert not ours_w.grad.data[5].any()


def test_embedding_padding_idx_keeps_float32_and_works_without_padding_in_the_batch():
    layer = nn.Embedding(4, 2, padding_idx=1)
    out = layer(rg.tensor(np.array([0, 2, 3])))
    assert out.dtype == np.float32
    out.sum().backward()
    np.testing.assert_array_equal(layer.weight.grad.data[1], np.zeros(2, np.float32))
    assert layer(rg.tensor(np.array([1, 1]))).dtype == np.float32


@pytest.mark.parametrize("padding_idx", [5, -6, 100])
def test_embedding_padding_idx_out_of_range_is_refused_like_torch(padding_idx):
    message = r"Padding_idx must be within num_embeddings"
    with pytest.raises(AssertionError, match=message):
        torch.nn.Embedding(5, 2, padding_idx=padding_idx)
    with pytest.raises(AssertionError, match=message):
        torch.nn.functional.embedding(torch.tensor([0]), torch.zeros(5, 2), padding_idx=padding_idx)
    with pytest.raises(F.EmbeddingPaddingIndexError, match=message) as caught:
        nn.Embedding(5, 2, padding_idx=padding_idx)
    assert isinstance(caught.value, AssertionError) and isinstance(caught.value, rg.OpError)
    with pytest.raises(F.EmbeddingPaddingIndexError, match=message):
        F.embedding(rg.tensor(np.array([0])), rg.tensor(np.zeros((5, 2))), padding_idx=padding_idx)


def test_embedding_padding_idx_must_be_an_int():
    with pytest.raises(rg.OpError, match=r"Embedding: padding_idx must be an int or None, got 1.0"):
        nn.Embedding(5, 2, padding_idx=1.0)


def test_empty_input_cannot_be_packed_like_torch():
    for shape, lengths in (((3, 0, 2), []), ((0, 2, 2), [1, 1])):
        with pytest.raises(RuntimeError, match="Cannot pack empty tensors"):
            torch.nn.utils.rnn.pack_padded_sequence(torch.zeros(shape), lengths)
        with pytest.raises(R.SequenceLengthError, match="Cannot pack empty tensors"):
            R.pack_padded_sequence(rg.tensor(np.zeros(shape)), lengths)


def test_pack_then_pad_passes_gradcheck_including_the_unsorted_path():
    lengths = [2, 4, 1]
    padded = rg.tensor(_padded(lengths, True), requires_grad=True)

    def repadded(x):
        packed = R.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        return (R.pad_packed_sequence(packed, batch_first=True, total_length=5)[0] ** 2).sum()

    assert rg.gradcheck(repadded, [padded])


def test_packed_sequence_built_by_hand_gets_its_inverse_permutation_like_torch():
    data = np.arange(10.0).reshape(5, 2)
    ours = R.PackedSequence(rg.tensor(data), [2, 2, 1], np.array([1, 0]))
    theirs = torch.nn.utils.rnn.PackedSequence(torch.tensor(data), torch.tensor([2, 2, 1]), torch.tensor([1, 0]))
    _same_indices(ours.unsorted_indices, theirs.unsorted_indices)
    assert ours.batch_sizes.dtype == np.int64
    data_out, batch_sizes, sorted_indices, unsorted_indices = ours  # a named tuple, as in PyTorch
    assert data_out is ours.data
    padded, lengths = R.pad_packed_sequence(ours)
    their_padded, their_lengths = torch.nn.utils.rnn.pad_packed_sequence(theirs)
    _same(padded.data, their_padded)
    np.testing.assert_array_equal(lengths.data, their_lengths.numpy())
