"""Bad arguments raise an exception of the type PyTorch raises for them (torch 2.13 run beside):
shapes that do not fit are a RuntimeError (retrograd's ``OpError`` is one, and a ValueError), a
dim or an index out of range an IndexError, and so on; retrograd's messages are its own (they name
the op, the shapes and dtypes, and what to do)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import retrograd as rg
from retrograd.autograd.op import OpError

torch = pytest.importorskip("torch")

CASES = {
    "add of shapes that do not broadcast": lambda L, t: t(np.ones(3)) + t(np.ones(4)),
    "mul of shapes that do not broadcast": lambda L, t: t(np.ones((2, 3))) * t(np.ones((3, 2))),
    "matmul of inner sizes 3 and 2": lambda L, t: L.matmul(t(np.ones((2, 3))), t(np.ones((2, 3)))),
    "mm": lambda L, t: L.mm(t(np.ones((2, 3))), t(np.ones((2, 3)))),
    "bmm of batch sizes 2 and 3": lambda L, t: L.bmm(t(np.ones((2, 3, 4))), t(np.ones((3, 4, 5)))),
    "linear": lambda L, t: L.nn.functional.linear(t(np.ones((2, 3))), t(np.ones((4, 5)))),
    "cat of sizes 3 and 4": lambda L, t: L.cat([t(np.ones((2, 3))), t(np.ones((2, 4)))], 0),
    "stack of shapes that differ": lambda L, t: L.stack([t(np.ones((2, 3))), t(np.ones((2, 4)))]),
    "reshape to 8 elements of 6": lambda L, t: t(np.ones((2, 3))).reshape(4, 2),
    "view to 5 elements of 6": lambda L, t: t(np.ones((2, 3))).view(5),
    "expand of size 2 to 4": lambda L, t: t(np.ones((2, 3))).expand(4, 3),
    "where of shapes that do not broadcast": lambda L, t: L.where(t(np.ones(3)) > 0, t(np.ones(4)), t(np.ones(3))),
    "split of size 0": lambda L, t: t(np.ones((2, 3))).split(0, 1),
    "gather of an index of another rank": lambda L, t: L.gather(t(np.ones((2, 3))), 1, L.zeros((2, 1, 3), dtype=L.int64)),
    "mse_loss of shapes that do not broadcast": lambda L, t: L.nn.functional.mse_loss(t(np.ones((2, 3))), t(np.ones((3, 2)))),
    "conv2d of 2 channels and a weight for 3": lambda L, t: L.nn.functional.conv2d(t(np.ones((1, 2, 5, 5))),
                                                                                    t(np.ones((4, 3, 3, 3)))),
    "cross_entropy of 2 rows and 3 targets": lambda L, t: L.nn.functional.cross_entropy(t(np.ones((2, 3))),
                                                                                         L.zeros(3, dtype=L.int64)),
    "sum over dim 5 of 2": lambda L, t: t(np.ones((2, 3))).sum(5),
    "transpose of dim 4 of 2": lambda L, t: t(np.ones((2, 3))).transpose(0, 4),
    "index 5 of a size 2": lambda L, t: t(np.ones((2, 3)))[5],
}


def _raised(fn, lib, make):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's mse_loss warns of the broadcast before it fails
        try:
            fn(lib, make)
        except Exception as error:  # noqa: BLE001 - the type is what is compared
            return error
    raise AssertionError(f"{lib.__name__} raised nothing")


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_bad_arguments_raise_torchs_exception_type(case):
    theirs = _raised(CASES[case], torch, torch.tensor)
    ours = _raised(CASES[case], rg, rg.tensor)
    assert isinstance(ours, type(theirs)), f"torch raises {type(theirs).__name__}, retrograd {type(ours).__mro__}"
    assert isinstance(ours, OpError)


def test_an_op_error_is_a_value_error_and_a_runtime_error():
    """Code written for either catches it: ``except ValueError`` (retrograd's earlier type) and
    ``except RuntimeError`` (PyTorch's)."""
    assert issubclass(OpError, ValueError) and issubclass(OpError, RuntimeError)
