"""Sequence-length bookkeeping lives on the host, as in PyTorch: on a device backend
(the stand-in ``tests/array_shim.py``), packing with host ``lengths`` reads nothing
back from the device, ``PackedSequence.batch_sizes`` holds host data (PyTorch's CPU
tensor), a device array of lengths or batch sizes is read exactly once, and the
values equal the NumPy backend's."""


import numpy as np
import pytest

import retrograd as rg
from retrograd.autograd import backend

from array_shim import count_host_reads, shim, shim_backend

R = rg.nn.utils.rnn
LENGTHS = [3, 5, 2, 5]
RNG = np.random.default_rng(3)
PADDED = RNG.standard_normal((4, 5, 2))  # (B, T, features): batch_first
MASK = np.arange(5)[None, :] < np.array(LENGTHS)[:, None]  # (B, T)



def _host(x):
    return backend.to_numpy(x.data if isinstance(x, rg.Tensor) else x)


def _packed_on_numpy(enforce_sorted=False, lengths=LENGTHS, padded=PADDED):
    return R.pack_padded_sequence(rg.tensor(padded), lengths, batch_first=True, enforce_sorted=enforce_sorted)


@pytest.mark.parametrize("as_given", [list, tuple, np.array, lambda v: np.array(v, dtype=np.float32),
                                      lambda v: np.array(v, dtype=np.uint64)],
                         ids=["list", "tuple", "int64", "float32", "uint64"])
def test_packing_host_lengths_reads_nothing(as_given):
    expected = _packed_on_numpy()
    with shim_backend():
        x = rg.tensor(PADDED)
        with count_host_reads() as reads:
            packed = R.pack_padded_sequence(x, as_given(LENGTHS), batch_first=True, enforce_sorted=False)
        assert reads.n == 0, reads
        assert isinstance(packed.batch_sizes.data, np.ndarray)  # host data, like PyTorch's CPU batch_sizes
        assert isinstance(packed.sorted_indices.data, shim.ndarray)  # these index the data: on the device
        assert isinstance(packed.unsorted_indices.data, shim.ndarray)
        for ours, theirs in zip(packed, expected):
            assert ours.dtype == theirs.dtype
            np.testing.assert_array_equal(_host(ours), _host(theirs))


def test_packing_sorted_lengths_reads_nothing():
    lengths = sorted(LENGTHS, reverse=True)
    expected = _packed_on_numpy(True, lengths)
    with shim_backend():
        with count_host_reads() as reads:
            packed = R.pack_padded_sequence(rg.tensor(PADDED), lengths, batch_first=True)
        assert reads.n == 0, reads
        assert packed.sorted_indices is None and packed.unsorted_indices is None
        np.testing.assert_array_equal(_host(packed.data), _host(expected.data))
        assert packed.batch_sizes.data.tolist() == expected.batch_sizes.data.tolist() == [4, 4, 3, 2, 2]


@pytest.mark.parametrize("wrap", [lambda a: a, rg.tensor], ids=["array", "tensor"])
def test_device_lengths_are_read_once(wrap):
    expected = _packed_on_numpy()
    with shim_backend():
        lengths = wrap(shim.asarray(np.array(LENGTHS)))
        with count_host_reads() as reads:
            packed = R.pack_padded_sequence(rg.tensor(PADDED), lengths, batch_first=True, enforce_sorted=False)
        assert reads.n == 1, reads  # PyTorch requires CPU lengths; a device array is copied once
        np.testing.assert_array_equal(_host(packed.data), _host(expected.data))


def test_device_batch_sizes_are_brought_to_the_host_once():
    with shim_backend():
        data, sizes = rg.tensor(np.arange(6.0).reshape(6, 1)), shim.asarray(np.array([3, 2, 1]))
        with count_host_reads() as reads:
            packed = R.PackedSequence(data, sizes)
            again = R.PackedSequence(packed.data, packed.batch_sizes)  # host already: no read
        assert reads.n == 1, reads
        assert isinstance(again.batch_sizes.data, np.ndarray) and again.batch_sizes.data.tolist() == [3, 2, 1]


def test_unpacking_and_masks_from_host_lengths_read_nothing():
    expected_padded, expected_lengths = R.pad_packed_sequence(_packed_on_numpy(), batch_first=True, total_length=6)
    expected_pieces = R.unpad_sequence(rg.tensor(PADDED), LENGTHS, batch_first=True)
    expected_mask = R.mask_from_lengths(LENGTHS, batch_first=True)
    with shim_backend():
        packed = R.pack_padded_sequence(rg.tensor(PADDED), LENGTHS, batch_first=True, enforce_sorted=False)
        with count_host_reads() as reads:
            padded, lengths = R.pad_packed_sequence(packed, batch_first=True, total_length=6)
            pieces = R.unpad_sequence(rg.tensor(PADDED), LENGTHS, batch_first=True)
            mask = R.mask_from_lengths(LENGTHS, batch_first=True)
        assert reads.n == 0, reads
        np.testing.assert_array_equal(_host(padded), _host(expected_padded))
        np.testing.assert_array_equal(_host(lengths), _host(expected_lengths))
        for ours, theirs in zip(pieces, expected_pieces):
            np.testing.assert_array_equal(_host(ours), _host(theirs))
        np.testing.assert_array_equal(_host(mask), expected_mask)
        np.testing.assert_array_equal(expected_mask, MASK)


@pytest.mark.parametrize("lengths, match", [([5, 0, 2, 5], r"lengths\[1\] = 0"), ([3.5, 5, 2, 5], "3.5"),
                                            ([3, 6, 2, 5], "a length of 6 exceeds the 5 steps")])
def test_bad_lengths_are_refused_on_a_device_too(lengths, match):
    with shim_backend():
        with pytest.raises(R.SequenceLengthError, match=match):
            R.pack_padded_sequence(rg.tensor(PADDED), lengths, batch_first=True, enforce_sorted=False)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("how", ["packed", "host mask", "device mask"])
def test_a_recurrent_layer_plans_on_the_host(kind, how):
    """A packed batch or a host mask: no read in the forward; a device mask: exactly one
    (its pattern decides the packed shapes). The outputs equal the NumPy backend's."""
    def run():
        rg.manual_seed(0)
        layer = getattr(rg.nn, kind)(2, 3, batch_first=True, bidirectional=True).double()
        x = rg.tensor(PADDED)
        if how == "packed":
            packed = R.pack_padded_sequence(x, LENGTHS, batch_first=True, enforce_sorted=False)
            with count_host_reads() as reads:
                out, state = layer(packed)
            out = R.pad_packed_sequence(out, batch_first=True)[0]
        else:
            mask = MASK if how == "host mask" else rg.tensor(MASK)  # rg.tensor: on the device backend's device
            with count_host_reads() as reads:
                out, state = layer(x, mask=mask)
        h = state[0] if isinstance(state, tuple) else state
        return reads.n, _host(out), _host(h)

    _, out_np, h_np = run()
    with shim_backend():
        n, out, h = run()
    assert n == (1 if how == "device mask" else 0)
    np.testing.assert_array_equal(out, out_np)
    np.testing.assert_array_equal(h, h_np)
