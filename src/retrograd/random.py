"""retrograd's random number generator: one NumPy ``Generator`` that weight
initialisation, dropout and data shuffling draw from, so ``rg.manual_seed``
makes a run reproducible and checkpoints can save and restore its state."""

from __future__ import annotations

import numpy as np

_generator = np.random.default_rng(0)


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the global generator (like ``torch.manual_seed``)."""
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def generator() -> np.random.Generator:
    """The global generator."""
    return _generator


def get_rng_state() -> dict:
    """A JSON-serialisable snapshot of the global generator."""
    state = _generator.bit_generator.state
    return {"bit_generator": state["bit_generator"], "state": state}


def set_rng_state(state: dict) -> None:
    """Restore a snapshot taken by ``get_rng_state``."""
    global _generator
    name = state["bit_generator"]
    bitgen = getattr(np.random, name)()
    bitgen.state = state["state"]
    _generator = np.random.Generator(bitgen)
