"""retrograd's random number generator: one NumPy ``Generator`` that weight
initialisation, dropout and data shuffling draw from, so ``rg.manual_seed``
makes a run reproducible and checkpoints can save and restore its state.

A saved state may come from a file (a checkpoint), so restoring one never
looks a name up: the bit generator is picked from a fixed allow-list and
every field of its state is checked before anything changes.
"""

from __future__ import annotations

import numpy as np

_generator = np.random.default_rng(0)

# The bit generators whose state is plain integers (so it is JSON-able and can
# be checked field by field). ``default_rng`` -- what ``manual_seed`` builds --
# uses PCG64.
BIT_GENERATORS = {"PCG64": np.random.PCG64, "PCG64DXSM": np.random.PCG64DXSM}

_STATE_KEYS = {"bit_generator", "state", "has_uint32", "uinteger"}


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the global generator (like ``torch.manual_seed``)."""
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def new_generator(seed=None) -> np.random.Generator:
    """A generator of its own (not the global one): ``seed`` an int for a reproducible stream,
    None for a fresh one drawn from the global generator (so ``manual_seed`` fixes it too)."""
    if seed is None:
        seed = int(_generator.integers(2 ** 63))
    return np.random.default_rng(seed)


_draw_guard = None  # called before a draw when set (``rg.func.vmap(randomness="error")`` refuses random ops)


def generator() -> np.random.Generator:
    """The global generator."""
    if _draw_guard is not None:
        _draw_guard()
    return _generator


def get_rng_state() -> dict:
    """A JSON-serialisable snapshot of the global generator."""
    state = _generator.bit_generator.state
    return {"bit_generator": state["bit_generator"], "state": state}


def _is_int(value, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value < high


def generator_from_state(state) -> np.random.Generator:
    """A new ``Generator`` in the state ``get_rng_state`` described, after
    checking it; ``ValueError`` names what is wrong. The bit generator's name
    only selects an entry of ``BIT_GENERATORS``: it is never used to look
    anything up, so a crafted state cannot make this call arbitrary code."""
    if not isinstance(state, dict) or set(state) != {"bit_generator", "state"}:
        raise ValueError("RNG state must be a dict with keys 'bit_generator' and 'state' "
                         "(as rg.random.get_rng_state() returns)")
    name, inner = state["bit_generator"], state["state"]
    if not isinstance(name, str) or name not in BIT_GENERATORS:
        raise ValueError(f"RNG state names bit generator {name!r}; only {sorted(BIT_GENERATORS)} can be restored")
    if not isinstance(inner, dict) or set(inner) != _STATE_KEYS or inner["bit_generator"] != name:
        raise ValueError(f"RNG state of {name} must be a dict with keys {sorted(_STATE_KEYS)} naming {name!r}")
    counters = inner["state"]
    if not isinstance(counters, dict) or set(counters) != {"state", "inc"} or not all(
            _is_int(counters[k], 0, 2 ** 128) for k in ("state", "inc")):
        raise ValueError(f"RNG state of {name}: 'state' must hold 128-bit unsigned integers 'state' and 'inc'")
    if not _is_int(inner["has_uint32"], 0, 2) or not _is_int(inner["uinteger"], 0, 2 ** 32):
        raise ValueError(f"RNG state of {name}: 'has_uint32' must be 0 or 1 and 'uinteger' a 32-bit unsigned integer")
    bitgen = BIT_GENERATORS[name]()
    bitgen.state = {"bit_generator": name, "state": {"state": counters["state"], "inc": counters["inc"]},
                    "has_uint32": inner["has_uint32"], "uinteger": inner["uinteger"]}
    return np.random.Generator(bitgen)


def set_rng_state(state: dict) -> None:
    """Restore a snapshot taken by ``get_rng_state`` (checked first: see
    ``generator_from_state``; on an error the generator is unchanged)."""
    global _generator
    _generator = generator_from_state(state)
