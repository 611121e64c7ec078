"""``pack_padded_sequence`` and friends check the lengths' values before
casting them (inf, nan, negative, fractional, beyond int64) and report them as
given; ``pad_packed_sequence`` refuses a ``total_length`` that is not an
integer as PyTorch does (``TypeError``), naming the argument."""

import numpy as np
import pytest

import retrograd as rg

R = rg.nn.utils.rnn
X = rg.tensor(np.zeros((4, 3, 2)))  # (T, B, features)


@pytest.mark.parametrize("lengths, shown", [
    ([float("inf"), 3, 2], "inf"),
    ([3, float("-inf"), 2], "-inf"),
    ([float("nan"), 3, 2], "nan"),
    (np.array([3.0, -1.0, 2.0]), "-1.0"),
    ([3.5, 3, 2], "3.5"),
    ([4.0, 1e30, 2.0], "1e+30"),
    (np.array([2 ** 63 + 5, 3, 2], dtype=np.uint64), str(2 ** 63 + 5)),
    (np.array([4, 2 ** 64 - 1, 2], dtype=np.uint64), str(2 ** 64 - 1)),
])
@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_bad_length_values_are_refused_as_given(lengths, shown, enforce_sorted):
    with pytest.raises(R.SequenceLengthError) as e:  # PyTorch raises RuntimeError; this is one
        R.pack_padded_sequence(X, lengths, enforce_sorted=enforce_sorted)
    message = str(e.value)
    assert "pack_padded_sequence" in message and "lengths" in message and shown in message, message
    assert "-9223372036854775808" not in message and "-9223372036854775803" not in message
    assert isinstance(e.value, RuntimeError)


def test_a_negative_integer_length_is_shown_as_given():
    with pytest.raises(R.SequenceLengthError, match=r"lengths.*-1"):
        R.pack_padded_sequence(X, [3, -1, 2], enforce_sorted=False)


def test_good_float_and_uint64_lengths_still_pack():
    for lengths in ([4.0, 3.0, 2.0], np.array([4, 3, 2], dtype=np.uint64)):
        packed = R.pack_padded_sequence(X, lengths)
        assert packed.batch_sizes.data.tolist() == [3, 3, 2, 1]


@pytest.mark.parametrize("total_length", [5.5, 5.0, float("inf"), float("nan"), "5", [5]])
def test_a_total_length_that_is_not_an_integer_is_a_type_error_naming_it(total_length):
    packed = R.pack_padded_sequence(X, [4, 3, 2])
    with pytest.raises(TypeError, match=r"pad_packed_sequence: total_length must be an integer.*got"):
        R.pad_packed_sequence(packed, total_length=total_length)


@pytest.mark.parametrize("total_length", [5, np.int64(5), np.array(5), rg.tensor(np.array(5))])
def test_integer_total_lengths_pad(total_length):
    packed = R.pack_padded_sequence(X, [4, 3, 2])
    padded, lengths = R.pad_packed_sequence(packed, total_length=total_length)
    assert padded.shape == (5, 3, 2) and lengths.data.tolist() == [4, 3, 2]


def test_mask_from_lengths_refuses_a_fractional_total_length():
    with pytest.raises(TypeError, match="mask_from_lengths: total_length must be an integer"):
        R.mask_from_lengths([3, 2], total_length=3.5)
