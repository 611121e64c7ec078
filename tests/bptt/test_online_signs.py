"""UORO's and KF-RTRL's random signs: drawn in blocks, the stream of one ``rng.choice`` per step."""

import numpy as np
import pytest

from retrograd.bptt.online.base import SignStream


@pytest.mark.parametrize("shapes", [[(1, 32)], [(1, 31)], [(3,)], [(2, 5), (2, 5)], [(1, 7), (1, 4), (2,)],
                                    [(64, 80)]])
def test_blocks_are_the_per_step_draws(shapes):
    """Odd and even counts, several parts, a block of one step: each step's arrays equal
    ``rng.choice([-1.0, 1.0], shape)`` called per shape and step on a twin generator, after the
    same initial normal draws (UORO's init="normal"); the generators end where the blocks left them."""
    ours, theirs = np.random.default_rng(7), np.random.default_rng(7)
    ours.standard_normal(5), theirs.standard_normal(5)
    stream = SignStream(ours, shapes)
    steps = 3 * stream.steps + 2  # across block boundaries
    for _ in range(steps):
        got = stream.next()
        for shape, g in zip(shapes, got):
            want = theirs.choice([-1.0, 1.0], shape)
            assert g.shape == shape and g.dtype == np.float64
            np.testing.assert_array_equal(g, want)
    # the block is drawn ahead: what is left of it is the twin's next draws
    rest = stream.steps - stream.next_row
    for _ in range(rest):
        for shape, g in zip(shapes, stream.next()):
            np.testing.assert_array_equal(g, theirs.choice([-1.0, 1.0], shape))
    assert ours.integers(0, 2**62) == theirs.integers(0, 2**62)


def test_signs_are_read_only():
    """A sweep that tried to write its cotangent ν in place would raise, not change later steps."""
    (nu,) = SignStream(np.random.default_rng(0), [(1, 4)]).next()
    with pytest.raises(ValueError):
        nu[0, 0] = 2.0
