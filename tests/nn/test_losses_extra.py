"""PyTorch's remaining losses in rg.nn (losses_extra.py, ctc.py, adaptive.py): values, dtypes and the
gradients of every input and weight against torch 2.13 in float64, for each reduction, at the kinks and
edge cases; CTC's second derivatives; Gumbel-softmax's samples; and PyTorch's refusals."""

import warnings

import numpy as np
import pytest

import retrograd as rg
from retrograd import nn
from retrograd.nn import functional as F
from conftest import requires_torch, torch
from torch_compare import same_error

pytestmark = [pytest.mark.filterwarnings("ignore:size_average and reduce"),
              pytest.mark.filterwarnings("ignore:Initializing zero-element tensors")]

RNG = np.random.default_rng(5)
REDUCTIONS = ["none", "mean", "sum"]


def _torch_of(a, grad):
    if isinstance(a, np.ndarray):
        return torch.tensor(a, requires_grad=grad)
    return a


def both(ours_fn, theirs_fn, *args, grad=(0,), rtol=1e-10, atol=1e-12):
    """Both functions on the same arguments (the arrays numbered in ``grad`` require grad): values, dtype and
    shape equal; then the gradients of Σ w·out (the same random w on both sides) equal, NaNs included."""
    args = [np.asarray(a) if isinstance(a, np.generic) else a for a in args]
    ours_in = [rg.tensor(a, requires_grad=i in grad) if isinstance(a, np.ndarray) else a for i, a in enumerate(args)]
    theirs_in = [_torch_of(a, i in grad) for i, a in enumerate(args)]
    ours, theirs = ours_fn(*ours_in), theirs_fn(*theirs_in)
    expected = theirs.detach().numpy()
    assert ours.dtype == expected.dtype and tuple(ours.shape) == expected.shape, (ours.dtype, ours.shape,
                                                                                expected.dtype, expected.shape)
    np.testing.assert_allclose(ours.data, expected, rtol=rtol, atol=atol)
    if not grad:
        return ours_in, theirs_in
    w = RNG.standard_normal(expected.shape)
    (ours * rg.tensor(w.astype(expected.dtype))).sum().backward()
    (theirs * torch.tensor(w, dtype=theirs.dtype)).sum().backward()
    for i in grad:
        got = np.zeros(args[i].shape) if ours_in[i].grad is None else ours_in[i].grad.data
        want = np.zeros(args[i].shape) if theirs_in[i].grad is None else theirs_in[i].grad.numpy()
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=f"gradient of argument {i}")
    return ours_in, theirs_in


def _index(a):
    return np.asarray(a, dtype=np.int64)


# ------------------------------------------------------------ multi-class margin
X = RNG.standard_normal((4, 5))
Y = _index([0, 4, 2, 2])
W = RNG.random(5) + 0.2


@requires_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p,margin,weighted", [(1, 1.0, False), (2, 1.0, False), (1, 0.7, True), (2, 1.3, True)])
def test_multi_margin_loss_matches_torch(p, margin, weighted, reduction):
    w = W if weighted else None
    cases = ((X, Y), (X[0], Y[0]), (X[0], Y[:1])) + (() if weighted else ((X[0, 0], _index(0)),))
    for x, y in cases:  # (C,) scores with a 0-d or a one-element target; a 0-d score (one class)
        both(lambda a, t: F.multi_margin_loss(a, t, p, margin, None if w is None else rg.tensor(w),
                                              reduction=reduction),
             lambda a, t: torch.nn.functional.multi_margin_loss(a, t, p, margin, None if w is None else
                                                                 torch.tensor(w), reduction=reduction), x, y)


@requires_torch
def test_margin_losses_have_no_gradient_at_the_kink_and_a_zero_mean_for_no_samples():
    """PyTorch's kernels add a hinge term only when it is > 0: at 1 − x_y + x_i = 0 the slope is 0."""
    x = np.array([[0.0, 1.0, 0.5, 0.0], [2.0, 1.0, 1.0, -1.0]])
    both(lambda a, t: F.multi_margin_loss(a, t, reduction="sum"),
         lambda a, t: torch.nn.functional.multi_margin_loss(a, t, reduction="sum"), x, _index([1, 0]))
    both(lambda a, t: F.multilabel_margin_loss(a, t, reduction="sum"),
         lambda a, t: torch.nn.functional.multilabel_margin_loss(a, t, reduction="sum"), x,
         _index([[1, -1, 0, 0], [0, 3, -1, 2]]))
    for reduction in REDUCTIONS:
        both(lambda a, t: F.multi_margin_loss(a, t, reduction=reduction),
             lambda a, t: torch.nn.functional.multi_margin_loss(a, t, reduction=reduction), X[:0], Y[:0])
        both(lambda a, t: F.multilabel_margin_loss(a, t, reduction=reduction),
             lambda a, t: torch.nn.functional.multilabel_margin_loss(a, t, reduction=reduction), X[:0],
             _index(np.zeros((0, 5))))


@requires_torch
def test_multi_margin_loss_in_float32_and_as_a_module():
    both(lambda a, t: F.multi_margin_loss(a, t), lambda a, t: torch.nn.functional.multi_margin_loss(a, t),
         X.astype(np.float32), Y, rtol=1e-6, atol=1e-7)
    ours = nn.MultiMarginLoss(p=2, margin=0.5, weight=rg.tensor(W), reduction="sum")
    theirs = torch.nn.MultiMarginLoss(p=2, margin=0.5, weight=torch.tensor(W), reduction="sum")
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    both(ours, theirs, X, Y)


# ------------------------------------------------------------ multi-label margin
ML_TARGET = _index([[3, 0, -1, 1, 4], [1, 1, 2, -1, -1], [0, 1, 2, 3, 4], [-1, 2, 0, 0, 0]])


@requires_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multilabel_margin_loss_matches_torch(reduction):
    """Targets listed up to the first −1 (what follows ignored), a class listed twice, every class, none."""
    def ours(a, t):
        return F.multilabel_margin_loss(a, t, reduction=reduction)

    def theirs(a, t):
        return torch.nn.functional.multilabel_margin_loss(a, t, reduction=reduction)
    for x, y in ((X, ML_TARGET), (X[1], ML_TARGET[1]), (X[0, 0], _index(0)), (X[0, 0], _index([-1]))):
        both(ours, theirs, x, y)
    both(nn.MultiLabelMarginLoss(reduction=reduction), torch.nn.MultiLabelMarginLoss(reduction=reduction),
         X, ML_TARGET)


# ------------------------------------------------------------ multi-label soft margin
SOFT_T = (RNG.random((4, 5)) < 0.5).astype(np.float64)


@requires_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight", [None, RNG.random(5), RNG.random((4, 1))], ids=["none", "per-class", "per-row"])
def test_multilabel_soft_margin_loss_matches_torch_with_gradients_of_target_and_weight(weight, reduction):
    args = (X, SOFT_T * 0.8 + 0.1) + (() if weight is None else (weight,))
    both(lambda *a: F.multilabel_soft_margin_loss(*a, reduction=reduction),
         lambda *a: torch.nn.functional.multilabel_soft_margin_loss(*a, reduction=reduction), *args,
         grad=tuple(range(len(args))))


@requires_torch
def test_multilabel_soft_margin_loss_shapes_dtypes_and_module():
    def pair(**kw):
        return (lambda a, t: F.multilabel_soft_margin_loss(a, t, **kw),
                lambda a, t: torch.nn.functional.multilabel_soft_margin_loss(a, t, **kw))
    both(*pair(reduction="none"), X, SOFT_T.astype(np.int64))  # integer targets
    both(*pair(reduction="none"), X[0], SOFT_T[0])  # one sample: a 0-d loss
    both(*pair(reduction="none"), X[None], SOFT_T[None])  # the last axis is the class axis
    both(*pair(), X.astype(np.float32), SOFT_T, rtol=1e-6)  # float32 log σ, then float64 as torch promotes
    both(*pair(reduction="none"), X[:, :0], SOFT_T[:, :0])  # no classes: 0/0
    ours = nn.MultiLabelSoftMarginLoss(weight=rg.tensor(W), reduction="sum")
    theirs = torch.nn.MultiLabelSoftMarginLoss(weight=torch.tensor(W), reduction="sum")
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    both(ours, theirs, X, SOFT_T)


# ------------------------------------------------------------ triplets
A, P, N_ = (RNG.standard_normal((4, 3)) for _ in range(3))


@requires_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p,swap,margin", [(2, False, 1.0), (2, True, 1.0), (1, True, 0.5), (np.inf, False, 2.0)])
def test_triplet_margin_loss_matches_torch(p, swap, margin, reduction):
    for a, pos, neg in ((A, P, N_), (A[0], P[0], N_[0]), (A, P[:1], N_), (A[0, 0], P[0, 0], N_[0, 0])):
        both(lambda *x: F.triplet_margin_loss(*x, margin=margin, p=p, swap=swap, reduction=reduction),
             lambda *x: torch.nn.functional.triplet_margin_loss(*x, margin=margin, p=p, swap=swap,
                                                               reduction=reduction), a, pos, neg, grad=(0, 1, 2))
    both(nn.TripletMarginLoss(margin=margin, p=p, eps=1e-3, swap=swap, reduction=reduction),
         torch.nn.TripletMarginLoss(margin=margin, p=p, eps=1e-3, swap=swap, reduction=reduction), A, P, N_,
         grad=(0, 1, 2))


@requires_torch
def test_triplet_kinks_pass_the_hinge_and_halve_the_swap_tie():
    """At margin + d(a, p) − d(a, n) = 0 the gradient passes (clamp_min); where d(a, n) = d(p, n) the swap's
    min gives half to each (torch.minimum), whatever rg.conventions says."""
    a, pos, neg = np.array([[0.0, 0.0]]), np.array([[3.0, 4.0]]), np.array([[6.0, 8.0]])  # 5 + 5 − 10 = 0
    for policy in ("min_norm", "first"):
        with rg.conventions.policy(policy):
            both(lambda *x: F.triplet_margin_loss(*x, margin=5.0, eps=0.0),
                 lambda *x: torch.nn.functional.triplet_margin_loss(*x, margin=5.0, eps=0.0), a, pos, neg,
                 grad=(0, 1, 2))
            both(lambda *x: F.triplet_margin_loss(*x, margin=3.0, eps=0.0, swap=True),
                 lambda *x: torch.nn.functional.triplet_margin_loss(*x, margin=3.0, eps=0.0, swap=True),
                 np.array([[1.0, 2.0]]), np.array([[-1.0, 2.0]]), np.array([[0.0, 0.0]]), grad=(0, 1, 2))


@requires_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("swap", [False, True])
def test_triplet_margin_with_distance_loss_matches_torch(swap, reduction):
    def cosine(mod):
        return lambda x, y: 1.0 - mod.cosine_similarity(x, y)
    both(lambda *x: F.triplet_margin_with_distance_loss(*x, swap=swap, reduction=reduction),
         lambda *x: torch.nn.functional.triplet_margin_with_distance_loss(*x, swap=swap, reduction=reduction),
         A, P, N_, grad=(0, 1, 2))
    both(nn.TripletMarginWithDistanceLoss(distance_function=cosine(F), margin=0.5, swap=swap, reduction=reduction),
         torch.nn.TripletMarginWithDistanceLoss(distance_function=cosine(torch.nn.functional), margin=0.5,
                                                swap=swap, reduction=reduction), A, P, N_, grad=(0, 1, 2))
    assert isinstance(nn.TripletMarginWithDistanceLoss().distance_function, nn.PairwiseDistance)


# ------------------------------------------------------------ CTC
T, NB, C = 6, 4, 4
LOGITS = RNG.standard_normal((T, NB, C))
# sample 2's target cannot fit its 3 steps ("1 2 2" needs 4), sample 3 has no steps and no target
CTC_TARGETS = _index([[1, 2, 2], [3, 1, 0], [1, 2, 2], [0, 0, 0]])
CTC_IL, CTC_TL = _index([6, 5, 3, 0]), _index([3, 2, 3, 0])


def _concatenated(targets, lengths):
    return np.concatenate([row[:n] for row, n in zip(targets, lengths)])


@requires_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("zero_infinity", [False, True])
@pytest.mark.parametrize("form", ["padded", "concatenated", "raw_log_probs"])
def test_ctc_loss_matches_torch(form, zero_infinity, reduction):
    """Values and gradients, an impossible target (∞ and a NaN gradient, or 0 with zero_infinity) and an empty
    input included; on free-standing log-probabilities the gradient is PyTorch's eq. (16) too."""
    targets = _concatenated(CTC_TARGETS, CTC_TL) if form == "concatenated" else CTC_TARGETS
    normalise = form != "raw_log_probs"

    def call(mod, softmax):
        return lambda x, t, il, tl: mod.ctc_loss(softmax(x, 2) if normalise else x, t, il, tl,
                                                 reduction=reduction, zero_infinity=zero_infinity)
    both(call(F, rg.log_softmax), call(torch.nn.functional, torch.log_softmax), LOGITS, targets, CTC_IL, CTC_TL)


@requires_torch
def test_ctc_loss_lengths_unbatched_blank_and_float32():
    lp = np.log(np.exp(LOGITS) / np.exp(LOGITS).sum(2, keepdims=True))
    cases = [  # (log_probs, targets, input_lengths, target_lengths, keywords)
        (lp[:, :2], CTC_TARGETS[:2], (6, 5), (3, 2), {"reduction": "none"}),  # tuples
        (lp[:, :2], CTC_TARGETS[:2], [6, 4], [3, 2], {}),  # lists
        (lp[:, :2], CTC_TARGETS[:2], CTC_IL[:2].astype(np.int32), CTC_TL[:2].astype(np.int32), {"reduction": "sum"}),
        (lp[:, :2], CTC_TARGETS[:2].astype(np.float64), CTC_IL[None, :2], CTC_TL[:2], {}),  # float targets, 2-D lengths
        (lp[:, 0], CTC_TARGETS[0], _index(6), _index(3), {"reduction": "none"}),  # unbatched: a 0-d loss
        (lp[:, 0], CTC_TARGETS[:1], (6,), (3,), {}),  # unbatched, padded (1, S) targets
        (lp[:, :2], _index([[0, 1, 1], [3, 1, 2]]), CTC_IL[:2], CTC_TL[:2], {"blank": 2, "reduction": "none"}),
    ]
    for x, t, il, tl, kw in cases:
        both(lambda a, *rest: F.ctc_loss(a, *rest, **kw), lambda a, *rest: torch.nn.functional.ctc_loss(a, *rest, **kw),
             x, t, tuple(il) if isinstance(il, tuple) else il, tl)
    both(lambda a, *rest: F.ctc_loss(a, *rest), lambda a, *rest: torch.nn.functional.ctc_loss(a, *rest),
         lp.astype(np.float32), CTC_TARGETS, CTC_IL, CTC_TL, rtol=2e-6, atol=1e-6)
    both(nn.CTCLoss(blank=3, reduction="sum"), torch.nn.CTCLoss(blank=3, reduction="sum"), lp[:, :2],
         _index([[1, 2, 2], [2, 1, 0]]), CTC_IL[:2], CTC_TL[:2])


@requires_torch
def test_ctc_gradient_is_exact_through_log_softmax_up_to_second_order():
    """gradcheck and gradgradcheck of ctc_loss(log_softmax(u)): the second derivative is the Hessian-vector
    product pushed through the α and β recursions (CTCGradient), which PyTorch lacks."""
    u = RNG.standard_normal((4, 3, 3))
    targets, il, tl = _index([[1, 2], [2, 2], [1, 0]]), _index([4, 3, 2]), _index([2, 2, 0])
    for zero_infinity in (False, True):
        def f(x):
            return F.ctc_loss(rg.log_softmax(x, 2), targets, il, tl, reduction="sum", zero_infinity=zero_infinity)
        assert rg.gradcheck(f, [u]).ok
        assert rg.gradgradcheck(f, [u]).ok
    # a label equal to the blank (which PyTorch's documentation rules out): PyTorch's values, the exact gradient
    blank_label = _index([[1, 0], [0, 2], [2, 0]])
    both(lambda a: F.ctc_loss(a, blank_label, il, tl, reduction="none"),
         lambda a: torch.nn.functional.ctc_loss(a, torch.tensor(blank_label), torch.tensor(il), torch.tensor(tl),
                                                reduction="none"), u, grad=())
    assert rg.gradcheck(lambda x: F.ctc_loss(rg.log_softmax(x, 2), blank_label, il, tl, reduction="sum"), [u]).ok
    x = rg.tensor(u, requires_grad=True)
    (g,) = rg.grad(F.ctc_loss(rg.log_softmax(x, 2), targets, il, tl), [x], create_graph=True)
    with pytest.raises(RuntimeError, match="third derivatives"):  # refused when a third would be recorded
        rg.grad((g * g).sum(), [x], create_graph=True)


def _torch_ctc(*args, **kw):
    return lambda: torch.nn.functional.ctc_loss(*[torch.tensor(a) if isinstance(a, np.ndarray) else a for a in args],
                                                **kw)


CTC_LP = np.log(np.full((3, 2, 3), 1 / 3))
CTC_ERRORS = [  # (arguments, keywords, the gist of the message)
    ((CTC_LP, _index([[1, 2]] * 2), _index([3, 3]), _index([2, 2])), {"reduction": "avg"}, "not a valid"),
    ((CTC_LP, _index([[1, 2]] * 2), 3, 2), {}, "tensors or both"),
    ((CTC_LP, _index([[1, 2]] * 2), _index([3, 3]), (2, 2)), {}, "tensors or both"),
    ((CTC_LP, _index([[1, 2]] * 2), np.array([3.0, 3.0]), _index([2, 2])), {}, "must be integral"),
    ((CTC_LP.astype(np.int64), _index([[1, 2]] * 2), _index([3, 3]), _index([2, 2])), {}, "floating-point"),
    ((CTC_LP[:0], _index([[1, 2]] * 2), _index([0, 0]), _index([0, 0])), {}, "must not be empty"),
    ((CTC_LP, _index([[1, 2]] * 2), _index([3, 3]), _index([2, 2])), {"blank": 3}, "blank must be in label range"),
    ((CTC_LP, _index([[1, 2]] * 2), _index([3]), _index([2, 2])), {}, "input_lengths must be of size batch"),
    ((CTC_LP, _index([[1, 2]] * 2), _index([3, 3]), _index([2, 2, 2])), {}, "target_lengths must be of size batch"),
    ((CTC_LP, _index([[1, 2]] * 2), _index([3, 4]), _index([2, 2])), {}, "at most 3"),
    ((CTC_LP, _index([[1, 2]] * 2), _index([3, -1]), _index([2, 2])), {}, "at least 0"),
    ((CTC_LP, _index([[1, 2]] * 2), _index([3, 3]), _index([2, -1])), {}, "at least 0"),
    ((CTC_LP, _index([[1, 2]] * 2), _index([3, 3]), _index([2, 3])), {}, "size"),
    ((CTC_LP, _index([1, 2, 1]), _index([3, 3]), _index([2, 2])), {}, "size 4"),
    ((CTC_LP, _index([[[1, 2]] * 2]), _index([3, 3]), _index([2, 2])), {}, "1 to 2 dimensions"),
    ((CTC_LP[None], _index([[1, 2]] * 2), _index([3, 3]), _index([2, 2])), {}, "log_probs"),
]


@requires_torch
@pytest.mark.parametrize("args,kw,match", CTC_ERRORS, ids=[m for _, _, m in CTC_ERRORS])
def test_ctc_loss_refuses_what_torch_refuses(args, kw, match):
    same_error(lambda: F.ctc_loss(*args, **kw), _torch_ctc(*args, **kw), match)


def test_ctc_loss_refuses_targets_out_of_range_that_torch_reads_out_of_bounds():
    for bad in (3, -1):
        with pytest.raises(IndexError, match="out of range"):
            F.ctc_loss(CTC_LP, _index([[1, bad]] * 2), _index([3, 3]), _index([2, 2]))
    # past a target's length the padding is ignored, whatever it holds
    assert np.isfinite(F.ctc_loss(CTC_LP, _index([[1, 9]] * 2), _index([3, 3]), _index([1, 1])).item())


# ------------------------------------------------------------ Gumbel-softmax
def test_gumbel_softmax_samples_shapes_and_distribution():
    logits = rg.tensor(np.log(np.array([0.6, 0.3, 0.1])))
    rg.manual_seed(0)
    y = F.gumbel_softmax(rg.broadcast_to(logits, (20000, 3)), tau=0.5)
    assert y.shape == (20000, 3) and y.dtype == np.float64
    np.testing.assert_allclose(y.data.sum(1), 1.0, rtol=1e-12)
    frequencies = np.bincount(y.data.argmax(1), minlength=3) / 20000  # argmax ~ Categorical(softmax(logits))
    np.testing.assert_allclose(frequencies, [0.6, 0.3, 0.1], atol=0.015)
    rg.manual_seed(3)
    first = F.gumbel_softmax(rg.tensor(np.zeros((2, 4), np.float32)), dim=0)
    rg.manual_seed(3)
    again = F.gumbel_softmax(rg.tensor(np.zeros((2, 4), np.float32)), dim=0)
    assert first.dtype == np.float32 and np.array_equal(first.data, again.data)  # rg's generator
    np.testing.assert_allclose(first.data.sum(0), 1.0, rtol=1e-6)
    assert F.gumbel_softmax(rg.tensor(np.float64(0.3)), hard=True).item() == 1.0


def test_gumbel_softmax_hard_is_one_hot_with_the_soft_samples_gradient():
    z = RNG.standard_normal((5, 4))
    w = rg.tensor(RNG.standard_normal((5, 4)))
    xs, outs = [], []
    for hard in (False, True):
        rg.manual_seed(7)
        x = rg.tensor(z, requires_grad=True)
        out = F.gumbel_softmax(x, tau=0.7, hard=hard)
        (out * w).sum().backward()
        xs.append(x)
        outs.append(out.data)
    soft, hard = outs
    assert set(np.unique(hard)) == {0.0, 1.0} and np.array_equal(hard.argmax(1), soft.argmax(1))
    np.testing.assert_array_equal(hard.sum(1), 1.0)
    np.testing.assert_allclose(xs[1].grad.data, xs[0].grad.data, rtol=1e-12, atol=1e-15)


@requires_torch
def test_gumbel_softmax_refuses_and_warns_as_torch():
    same_error(lambda: F.gumbel_softmax(rg.tensor(np.ones((2, 3), np.int64))),
               lambda: torch.nn.functional.gumbel_softmax(torch.ones(2, 3, dtype=torch.int64)), "floating point")
    same_error(lambda: F.gumbel_softmax(rg.tensor(np.ones((2, 3))), dim=2),
               lambda: torch.nn.functional.gumbel_softmax(torch.ones(2, 3), dim=2))
    same_error(lambda: F.gumbel_softmax(rg.tensor(np.ones((2, 0))), hard=True),
               lambda: torch.nn.functional.gumbel_softmax(torch.ones(2, 0), hard=True), "non-zero size")
    with pytest.warns(UserWarning, match="deprecated"):
        F.gumbel_softmax(rg.tensor(np.ones(3)), eps=1e-3)


# ------------------------------------------------------------ adaptive softmax
def _adaptive_pair(head_bias=False, dtype=torch.float64 if torch is not None else None):
    torch.manual_seed(0)
    theirs = torch.nn.AdaptiveLogSoftmaxWithLoss(8, 12, [3, 7], div_value=2.0, head_bias=head_bias).to(dtype)
    ours = nn.AdaptiveLogSoftmaxWithLoss(8, 12, [3, 7], div_value=2.0, head_bias=head_bias, dtype=np.float64)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


@requires_torch
@pytest.mark.parametrize("head_bias", [False, True])
def test_adaptive_log_softmax_matches_torch_with_copied_weights(head_bias):
    ours, theirs = _adaptive_pair(head_bias)
    x = RNG.standard_normal((6, 8))
    target = _index([0, 2, 5, 11, 3, 7])  # the shortlist and both clusters
    xr, xt = rg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out_r, out_t = ours(xr, target), theirs(xt, torch.tensor(target))
    assert out_r._fields == ("output", "loss")
    for a, b in zip(out_r, out_t):
        np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-10, atol=1e-12)
    w = RNG.standard_normal(6)
    (out_r.loss + (out_r.output * rg.tensor(w)).sum()).backward()
    (out_t.loss + (out_t.output * torch.tensor(w)).sum()).backward()
    np.testing.assert_allclose(xr.grad.data, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    grads_t = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.data, grads_t[name].grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)
    np.testing.assert_allclose(ours.log_prob(rg.tensor(x)).data, theirs.log_prob(torch.tensor(x)).detach().numpy(),
                               rtol=1e-10, atol=1e-12)
    one_r, one_t = ours(rg.tensor(x[0]), _index(9)), theirs(torch.tensor(x[0]), torch.tensor(9))
    assert one_r.output.shape == () and np.allclose(one_r.output.data, one_t.output.detach().numpy(), rtol=1e-10)


@requires_torch
def test_adaptive_predict_matches_torch_in_and_out_of_the_shortlist():
    ours, theirs = _adaptive_pair()
    with torch.no_grad():
        theirs.head.weight[3:, :] *= 3.0  # some rows' head argmax falls on a cluster entry
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = RNG.standard_normal((40, 8))
    for rows in (slice(None), slice(0, 1)):
        expected = theirs.predict(torch.tensor(x[rows])).numpy()
        got = ours.predict(rg.tensor(x[rows]))
        assert got.dtype == np.int64 and np.array_equal(got.data, expected)
    assert (theirs.head(torch.tensor(x)).argmax(1) >= 3).any() and (theirs.head(torch.tensor(x)).argmax(1) < 3).any()


@requires_torch
def test_adaptive_log_softmax_refuses_as_torch():
    ours, theirs = _adaptive_pair()
    x = np.ones((2, 8))
    for args, match in [((x, _index([0, 12])), "Target values should be in"),
                        ((x, _index([0])), "same size in the batch"),
                        ((x[0], _index(np.zeros(8))), "1D target tensor expects 2D"),
                        ((x, _index(0)), "0D target tensor expects 1D"),
                        ((x, _index([[0, 1]])), "multi-target not supported")]:
        same_error(lambda: ours(*[rg.tensor(a) for a in args]), lambda: theirs(*[torch.tensor(a) for a in args]),
                   match)
    for cutoffs in ([], [3, 3], [5, 2], [0, 4], [4, 12]):
        same_error(lambda: nn.AdaptiveLogSoftmaxWithLoss(8, 12, cutoffs),
                   lambda: torch.nn.AdaptiveLogSoftmaxWithLoss(8, 12, cutoffs), "cutoffs should be")


# ------------------------------------------------------------ refusals of the margin and triplet losses
def _pair(name, *args, **kw):
    def convert(a):
        return torch.tensor(a) if isinstance(a, np.ndarray) else a
    return (lambda: getattr(F, name)(*[rg.tensor(a) if isinstance(a, np.ndarray) else a for a in args],
                                     **{k: rg.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}),
            lambda: getattr(torch.nn.functional, name)(*[convert(a) for a in args],
                                                       **{k: convert(v) for k, v in kw.items()}))


LOSS_ERRORS = [  # (function, arguments, keywords, the gist of the message)
    ("multi_margin_loss", (X, Y), {"p": 3}, "only p == 1 and p == 2"),
    ("multi_margin_loss", (X, Y), {"weight": np.ones((1, 5))}, "one-dimensional"),
    ("multi_margin_loss", (X, Y), {"weight": np.ones(4)}, "inconsistent weight size"),
    ("multi_margin_loss", (X, Y), {"weight": np.ones(5, np.float32)}, "expected scalar type"),
    ("multi_margin_loss", (X, Y), {"reduction": "avg"}, "not a valid"),
    ("multi_margin_loss", (X, Y.astype(np.int32)), {}, "expected scalar type Long"),
    ("multi_margin_loss", (X, Y[:3]), {}, "target tensor should be 1-D"),
    ("multi_margin_loss", (X, Y[:, None]), {}, "target tensor should be 1-D"),
    ("multi_margin_loss", (X, _index([0, 5, 0, 0])), {}, "target out of range"),
    ("multi_margin_loss", (X, _index([0, -1, 0, 0])), {}, "target out of range"),
    ("multi_margin_loss", (X[None], Y), {}, "non-empty vector or matrix"),
    ("multi_margin_loss", (X[:, :0], Y), {}, "non-empty vector or matrix"),
    ("multi_margin_loss", (X.astype(np.int64), Y), {}, None),
    ("multilabel_margin_loss", (X, ML_TARGET[:, :4]), {}, "inconsistent target size"),
    ("multilabel_margin_loss", (X, ML_TARGET[0]), {}, "inconsistent target size"),
    ("multilabel_margin_loss", (X, ML_TARGET * 2), {}, "out of range"),
    ("multilabel_margin_loss", (X, ML_TARGET - 1), {}, "out of range"),
    ("multilabel_margin_loss", (X, ML_TARGET.astype(np.float64)), {}, "expected scalar type Long"),
    ("multilabel_margin_loss", (X[None], ML_TARGET[None]), {}, "non-empty vector or matrix"),
    ("multilabel_soft_margin_loss", (X, SOFT_T[:, :3]), {}, "size"),
    ("multilabel_soft_margin_loss", (np.asarray(X[0, 0]), np.asarray(SOFT_T[0, 0])), {}, "no dimensions"),
    ("multilabel_soft_margin_loss", (X.astype(np.int64), SOFT_T), {}, None),
    ("multilabel_soft_margin_loss", (X, SOFT_T), {"reduction": "avg"}, "not"),
    ("triplet_margin_loss", (A, P, N_), {"margin": 0.0}, "margin must be greater than 0"),
    ("triplet_margin_loss", (A, P[0], N_), {}, "same number of dimensions"),
    ("triplet_margin_loss", (A, P, N_), {"reduction": "avg"}, "not a valid"),
    ("triplet_margin_with_distance_loss", (A, P, N_), {"margin": -1.0}, "margin must be greater than 0"),
    ("triplet_margin_with_distance_loss", (A, P, N_[0]), {}, "same number of dimensions"),
    ("triplet_margin_with_distance_loss", (A, P, N_), {"reduction": "avg"}, "not a valid"),
]


@requires_torch
@pytest.mark.parametrize("name,args,kw,match", LOSS_ERRORS, ids=[f"{e[0]}-{e[3]}" for e in LOSS_ERRORS])
def test_losses_refuse_what_torch_refuses(name, args, kw, match):
    same_error(*_pair(name, *args, **kw), match)


@requires_torch
def test_constant_weights_and_module_arguments_are_refused_as_torch():
    w = rg.tensor(W, requires_grad=True)
    same_error(lambda: F.multi_margin_loss(rg.tensor(X), rg.tensor(Y), weight=w),
               lambda: torch.nn.functional.multi_margin_loss(torch.tensor(X), torch.tensor(Y),
                                                             weight=torch.tensor(W, requires_grad=True)),
               "not differentiable with respect to argument 'weight'")
    for ours, theirs in [(lambda: nn.MultiMarginLoss(p=3), lambda: torch.nn.MultiMarginLoss(p=3)),
                         (lambda: nn.MultiMarginLoss(weight=rg.tensor(np.ones((2, 2)))),
                          lambda: torch.nn.MultiMarginLoss(weight=torch.ones(2, 2))),
                         (lambda: nn.TripletMarginLoss(margin=0), lambda: torch.nn.TripletMarginLoss(margin=0)),
                         (lambda: nn.TripletMarginWithDistanceLoss(margin=0),
                          lambda: torch.nn.TripletMarginWithDistanceLoss(margin=0))]:
        same_error(ours, theirs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(UserWarning, match="size_average and reduce"):
            F.multi_margin_loss(rg.tensor(X), rg.tensor(Y), size_average=False)
