"""``inference_mode`` and ``is_inference_mode_enabled`` as PyTorch's (torch 2.13 run beside): the
same states in nested blocks, as a decorator with and without parentheses, on a generator, and
``inference_mode(False)`` recording again even inside ``no_grad``."""

from __future__ import annotations

import pytest

import retrograd as rg

torch = pytest.importorskip("torch")


def _states(lib) -> list:
    seen = [(lib.is_inference_mode_enabled(), lib.is_grad_enabled())]
    with lib.inference_mode():
        seen.append((lib.is_inference_mode_enabled(), lib.is_grad_enabled()))
        with lib.inference_mode(False):
            seen.append((lib.is_inference_mode_enabled(), lib.is_grad_enabled()))
        with lib.no_grad():
            seen.append((lib.is_inference_mode_enabled(), lib.is_grad_enabled()))
        with lib.enable_grad():
            seen.append((lib.is_inference_mode_enabled(), lib.is_grad_enabled()))
        with lib.inference_mode(True):
            seen.append((lib.is_inference_mode_enabled(), lib.is_grad_enabled()))
        seen.append((lib.is_inference_mode_enabled(), lib.is_grad_enabled()))
    with lib.no_grad():
        with lib.inference_mode(False):
            seen.append((lib.is_inference_mode_enabled(), lib.is_grad_enabled()))
        seen.append((lib.is_inference_mode_enabled(), lib.is_grad_enabled()))
    seen.append((lib.is_inference_mode_enabled(), lib.is_grad_enabled()))
    return seen


def test_nested_blocks_give_torchs_states():
    assert _states(rg) == _states(torch)


def test_decorators_and_generators_give_torchs_states():
    def results(lib):
        @lib.inference_mode()
        def called():
            return lib.is_inference_mode_enabled(), lib.is_grad_enabled()

        @lib.inference_mode
        def bare():
            return lib.is_inference_mode_enabled(), lib.is_grad_enabled()

        @lib.inference_mode(False)
        def off():
            return lib.is_inference_mode_enabled(), lib.is_grad_enabled()

        def steps():
            yield lib.is_inference_mode_enabled()
            yield lib.is_grad_enabled()

        return [called(), bare(), off(), list(lib.inference_mode()(steps)()), lib.is_inference_mode_enabled()]

    assert results(rg) == results(torch)


def test_nothing_is_recorded_inside_and_the_mode_is_restored_after_an_error():
    x = rg.ones(3, requires_grad=True)
    with rg.inference_mode():
        y = x * 2
    assert not y.requires_grad
    with pytest.raises(ZeroDivisionError):
        with rg.inference_mode():
            raise ZeroDivisionError
    assert not rg.is_inference_mode_enabled() and rg.is_grad_enabled()
