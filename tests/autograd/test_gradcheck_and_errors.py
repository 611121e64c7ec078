"""The gradient checker catches wrong rules and reports them; errors name the
op, shapes and dtypes; detect_anomaly points at the culprit."""

import numpy as np
import pytest

import retrograd as rg
from retrograd.autograd import Op


class WrongSquare(Op):
    """A deliberately wrong rule: d(x²)/dx written as x instead of 2x."""
    name = "wrong_square"
    __slots__ = ()

    def forward(self, x): return x * x
    def vjp(self, ns, g, y, x): return (g * x,)


def test_gradcheck_catches_a_wrong_vjp_and_reports_the_worst_elements():
    x = np.array([1.0, -2.0, 3.0])
    report = rg.gradcheck(lambda t: WrongSquare()(t), [x])
    assert not report.ok and not report
    assert len(report.failures) == 3
    worst = report.worst(1)[0]
    assert worst.index == (2,)
    assert worst.analytic == pytest.approx(3.0 * worst.analytic / 3.0)
    text = str(report)
    assert "FAIL" in text and "analytic" in text and "numeric" in text
    with pytest.raises(rg.GradcheckError, match="FAIL"):
        rg.gradcheck(lambda t: WrongSquare()(t), [x], raise_exception=True)


def test_gradgradcheck_catches_a_wrong_second_derivative():
    class WrongSecond(Op):
        """x³ with a first derivative that is right in value, wrong in its graph."""
        name = "wrong_cube"
        __slots__ = ()

        def forward(self, x): return x ** 3
        def vjp(self, ns, g, y, x): return (g * 3 * ns.value(x) ** 2 * (x / ns.value(x)),)

    x = np.array([1.5, -0.5])
    assert rg.gradcheck(lambda t: WrongSecond()(t), [x]).ok
    assert not rg.gradgradcheck(lambda t: WrongSecond()(t), [x]).ok


def test_gradcheck_only_checks_inputs_marked_requires_grad():
    a = rg.tensor(np.ones(2), requires_grad=True)
    b = rg.tensor(np.ones(3))
    report = rg.gradcheck(lambda x, y: x.sum() * y.sum(), [a, b])
    assert {e.input for e in report.elements} == {0}


def test_gradcheck_detects_kink_between_samples():
    # relu at 1e-7 (closer to the kink than eps): one-sided differences disagree
    report = rg.gradcheck(rg.relu, [np.array([1e-7])])
    assert report.ok and report.kinks


def test_shape_errors_name_the_op_shapes_and_dtypes():
    a = rg.tensor(np.ones((2, 3), np.float32))
    b = rg.tensor(np.ones((4, 5), np.float32))
    with pytest.raises(rg.OpError, match=r"matmul.*float32\[2, 3\].*float32\[4, 5\]"):
        a @ b
    with pytest.raises(rg.OpError, match=r"add.*float32\[2, 3\].*float32\[4, 5\]"):
        a + b
    with pytest.raises(rg.OpError, match=r"reshape\(shape=\(7,\)\)"):
        a.reshape(7)
    with pytest.raises(rg.OpError, match="axis 5 is out of range"):
        a.sum(axis=5)
    with pytest.raises(rg.OpError, match="stack: all inputs must have the same shape"):
        rg.stack([a, b])
    with pytest.raises(rg.OpError, match="condition must be boolean"):
        rg.where(np.ones(3), a, b)
    with pytest.raises(rg.OpError, match="squeeze: cannot squeeze axis 0 of size 2"):
        rg.squeeze(a, axis=0)  # NumPy's axis= must name a size-1 axis (PyTorch's dim leaves it)


def test_detect_anomaly_forward_names_op_and_user_line():
    x = rg.tensor([-1.0, 1.0], requires_grad=True)
    with rg.detect_anomaly(), np.errstate(invalid="ignore"):
        with pytest.raises(rg.AnomalyError, match=r"forward of log.*NaN.*test_gradcheck_and_errors.py"):
            rg.log(x)


def test_detect_anomaly_backward_names_op_and_creation_site():
    x = rg.tensor([0.0, 1.0], requires_grad=True)
    with rg.detect_anomaly(), np.errstate(divide="ignore"):
        y = rg.sqrt(x)  # forward is finite; the backward divides by 2·sqrt(0)
        with pytest.raises(rg.AnomalyError, match=r"backward of sqrt.*Inf.*created at.*test_gradcheck_and_errors.py"):
            y.sum().backward()


def test_without_anomaly_mode_nan_propagates_silently():
    x = rg.tensor([-1.0], requires_grad=True)
    with np.errstate(invalid="ignore"):
        assert np.isnan(rg.log(x).item())


def test_backward_on_tensor_without_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        rg.tensor([1.0]).sum().backward()


def test_grad_output_shape_mismatch():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"gradient has shape \(3,\) but the output has shape \(2,\)"):
        (x * 2).backward(np.ones(3))


def test_missing_vjp_is_a_clear_error():
    class NoRule(Op):
        name = "no_rule"
        __slots__ = ()

        def forward(self, x): return x + 1

    x = rg.tensor([1.0], requires_grad=True)
    with pytest.raises(NotImplementedError, match="no_rule: no vector-Jacobian product"):
        NoRule()(x).sum().backward()
