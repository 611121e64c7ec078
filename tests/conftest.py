import numpy as np
import pytest

import retrograd as rg

try:
    import torch
except ImportError:  # the tests that need it are skipped one by one, with TORCH_MISSING as the reason
    torch = None

TORCH_MISSING = "PyTorch is not installed (`pip install '.[dev]'` installs the CPU build)"

# Mark a test that compares against PyTorch: it is skipped, with the reason, when
# PyTorch is absent (the same as ``@pytest.mark.torch``, which this hook honours).
requires_torch = pytest.mark.torch


def pytest_collection_modifyitems(config, items):
    """Skip each test marked ``torch`` when PyTorch is missing: reported one by
    one with the reason, never dropped silently with its whole module."""
    if torch is not None:
        return
    skip = pytest.mark.skip(reason=TORCH_MISSING)
    for item in items:
        if item.get_closest_marker("torch"):
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _numpy_recurrent_loops():
    """The fused recurrent layers' NumPy loops are what the tests cover first: the
    compiled (numba) path is off unless a test turns it on with ``compiled.use(True)``
    (tests/recurrent/test_compiled_kernels.py holds it equal to these loops)."""
    from retrograd.recurrent import compiled
    with compiled.use(False):
        yield


@pytest.fixture(autouse=True)
def _default_policy():
    """Every test starts from the default convention."""
    rg.conventions.set_policy("min_norm")
    yield
    rg.conventions.set_policy("min_norm")


@pytest.fixture
def float64_default():
    """rg's default float dtype float64 for one test (``pytestmark = pytest.mark.usefixtures(...)``
    for a module of float64 checks), restored after."""
    before = rg.get_default_dtype()
    rg.set_default_dtype(np.float64)
    yield
    rg.set_default_dtype(before)


@pytest.fixture
def torch_float64_default():
    """torch's default dtype float64 for one test too, so a tensor made inside a compared function
    has rg's dtype (``float64_default``); restored after."""
    import torch
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


def t64(a, requires_grad=True):
    return rg.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)
