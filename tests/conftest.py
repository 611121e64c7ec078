import numpy as np
import pytest

import retrograd as rg


@pytest.fixture(autouse=True)
def _default_policy():
    """Every test starts from the default convention."""
    rg.conventions.set_policy("min_norm")
    yield
    rg.conventions.set_policy("min_norm")


def t64(a, requires_grad=True):
    return rg.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)
