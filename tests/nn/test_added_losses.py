"""The losses, distances, GroupNorm and adaptive pooling composed from differentiable ops: PyTorch's
values and input gradients (float64) for every reduction, at kinks and edge cases, and its refusals."""

import warnings

import numpy as np
import pytest

import retrograd as rg
from retrograd import nn
from retrograd.nn import functional as F
from conftest import requires_torch, torch

pytestmark = [requires_torch, pytest.mark.filterwarnings("ignore:reduction. 'mean' divides"),
              pytest.mark.filterwarnings("ignore:.*target size"),
              pytest.mark.filterwarnings("ignore:size_average and reduce")]

RNG = np.random.default_rng(11)
X = RNG.standard_normal((5, 4))
Y = RNG.standard_normal((5, 4))
# differences at the kinks: 0 (l1), ±1 (smooth_l1 β=1 / huber δ=1 switch points), ±0.5 (β=0.5)
KINKS_X = np.array([[0.0, 1.0, -1.0, 0.5], [2.0, -0.5, 3.0, 0.25]])
KINKS_Y = np.zeros_like(KINKS_X)
SIGN = np.where(RNG.random((5, 4)) < 0.5, -1.0, 1.0)
REDUCTIONS = ["none", "mean", "sum"]


def _tt(a):
    return torch.tensor(np.asarray(a))


def compare(ours_fn, theirs_fn, *arrays, grad=(0,), rtol=1e-10, atol=1e-12):
    """Call both on the same float64 arrays; compare values and the gradients of sum(out) with
    respect to the inputs numbered in ``grad``."""
    ours_in = [rg.tensor(a, requires_grad=i in grad) for i, a in enumerate(arrays)]
    theirs_in = [_tt(a).requires_grad_(i in grad) for i, a in enumerate(arrays)]
    ours, theirs = ours_fn(*ours_in), theirs_fn(*theirs_in)
    assert ours.dtype == np.dtype(str(theirs.dtype).replace("torch.", ""))
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=rtol, atol=atol)
    if not grad or theirs.numel() == 0:
        return
    ours.sum().backward()
    theirs.sum().backward()
    for i in grad:
        np.testing.assert_allclose(ours_in[i].grad.data, theirs_in[i].grad.numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"gradient of argument {i}")


# ------------------------------------------------------------ elementwise regression losses
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("x,y", [(X, Y), (KINKS_X, KINKS_Y)], ids=["random", "kinks"])
@pytest.mark.parametrize("name,kw", [("l1_loss", {}), ("smooth_l1_loss", {}), ("smooth_l1_loss", {"beta": 0.5}),
                                     ("smooth_l1_loss", {"beta": 0.0}), ("huber_loss", {}),
                                     ("huber_loss", {"delta": 0.5}), ("huber_loss", {"delta": 2.0})])
def test_regression_losses_match_torch(name, kw, x, y, reduction):
    compare(lambda a, b: getattr(F, name)(a, b, reduction=reduction, **kw),
            lambda a, b: getattr(torch.nn.functional, name)(a, b, reduction=reduction, **kw), x, y, grad=(0, 1))


@pytest.mark.parametrize("policy", ["first", "split", "all"])
def test_kink_gradients_are_torchs_under_every_policy(policy):
    with rg.conventions.policy(policy):
        compare(lambda a, b: F.l1_loss(a, b, reduction="sum"),
                lambda a, b: torch.nn.functional.l1_loss(a, b, reduction="sum"), KINKS_X, KINKS_Y)
        compare(lambda a, b, t: F.margin_ranking_loss(a, b, t, reduction="sum"),
                lambda a, b, t: torch.nn.functional.margin_ranking_loss(a, b, t, reduction="sum"),
                np.array([0.0, 1.0, -2.0]), np.zeros(3), np.array([1.0, -1.0, 1.0]))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_weighted_l1_and_huber_match_torch(reduction):
    w = RNG.random((5, 4)) + 0.1
    for name in ("l1_loss", "huber_loss"):
        compare(lambda a, b: getattr(F, name)(a, b, reduction=reduction, weight=rg.tensor(w)),
                lambda a, b: getattr(torch.nn.functional, name)(a, b, reduction=reduction, weight=_tt(w)), X, Y)
    with pytest.raises(rg.OpError, match="l1_loss: weight of shape"):
        F.l1_loss(rg.tensor(X), rg.tensor(Y), weight=rg.tensor(w[0]))


def test_broadcast_target_warns_like_torch_and_mismatch_is_refused():
    for name in ("l1_loss", "smooth_l1_loss", "huber_loss"):
        with pytest.warns(UserWarning, match="target size"):
            out = getattr(F, name)(rg.tensor(X), rg.tensor(Y[0]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = getattr(torch.nn.functional, name)(_tt(X), _tt(Y[0]))
        np.testing.assert_allclose(out.data, ref.numpy(), rtol=1e-12)
    for name in ("l1_loss", "smooth_l1_loss", "huber_loss", "kl_div", "soft_margin_loss",
                 "hinge_embedding_loss", "poisson_nll_loss"):
        with pytest.raises(rg.OpError, match=rf"{name}: input shape \(5, 4\), target shape \(3,\) do not broadcast"):
            getattr(F, name)(rg.tensor(X), rg.tensor(np.ones(3)))


def test_bad_arguments_are_refused_naming_the_function():
    a, b = rg.tensor(X), rg.tensor(Y)
    with pytest.raises(rg.OpError, match="smooth_l1_loss: beta must be non-negative"):
        F.smooth_l1_loss(a, b, beta=-1.0)
    with pytest.raises(rg.OpError, match="huber_loss: delta must be positive"):
        F.huber_loss(a, b, delta=0.0)
    with pytest.raises(rg.OpError, match="l1_loss: reduction must be one of"):
        F.l1_loss(a, b, reduction="batchmean")
    with pytest.raises(rg.OpError, match=r"l1_loss: input must be floating-point, got int64\[2\]"):
        F.l1_loss(rg.tensor(np.array([1, 2])), rg.tensor(np.array([1, 2])))
    with pytest.raises(rg.OpError, match="kl_div: target must be floating-point"):
        F.kl_div(a, rg.tensor(np.ones((5, 4), dtype=np.int64)))


def test_dtypes_follow_torch():
    x32 = X.astype(np.float32)
    for name, expect in (("l1_loss", np.float64), ("smooth_l1_loss", np.float64), ("huber_loss", np.float32),
                         ("soft_margin_loss", np.float32), ("hinge_embedding_loss", np.float32),
                         ("poisson_nll_loss", np.float64)):
        ours = getattr(F, name)(rg.tensor(x32), rg.tensor(SIGN))
        theirs = getattr(torch.nn.functional, name)(torch.tensor(x32), _tt(SIGN))
        assert ours.dtype == expect == np.dtype(str(theirs.dtype).replace("torch.", "")), name
        np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-6)
    ours = F.l1_loss(rg.tensor(x32), rg.tensor(np.ones((5, 4), dtype=np.int64)))  # an integer target: float32
    assert ours.dtype == np.float32


@pytest.mark.parametrize("name", ["l1_loss", "smooth_l1_loss", "huber_loss", "soft_margin_loss",
                                  "hinge_embedding_loss", "poisson_nll_loss", "kl_div"])
def test_empty_batch_is_torchs(name):
    for reduction in REDUCTIONS:
        compare(lambda a, b: getattr(F, name)(a, b, reduction=reduction),
                lambda a, b: getattr(torch.nn.functional, name)(a, b, reduction=reduction),
                np.zeros((0, 3)), np.zeros((0, 3)), grad=())


# ------------------------------------------------------------ kl_div
P = RNG.random((5, 4))
P[0, 1] = P[3, 0] = 0.0  # zeros in the target: their terms are 0
LOGQ = np.log(RNG.dirichlet(np.ones(4), 5))


@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_matches_torch(reduction, log_target):
    target = np.log(P + 0.1) if log_target else P
    compare(lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=log_target),
            lambda a, b: torch.nn.functional.kl_div(a, b, reduction=reduction, log_target=log_target),
            LOGQ, target, grad=(0,))
    positive = np.log(P + 0.1) if log_target else P + 0.1  # the target gradient where torch's is finite
    compare(lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=log_target),
            lambda a, b: torch.nn.functional.kl_div(a, b, reduction=reduction, log_target=log_target),
            LOGQ, positive, grad=(0, 1))


def test_kl_div_mean_warns_batchmean_of_a_scalar_and_broadcasting():
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
        F.kl_div(rg.tensor(LOGQ), rg.tensor(P))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.kl_div(rg.tensor(LOGQ), rg.tensor(P), reduction="batchmean")
    compare(lambda a, b: F.kl_div(a, b, reduction="batchmean"),
            lambda a, b: torch.nn.functional.kl_div(a, b, reduction="batchmean"), np.array(-0.3), np.array(0.4))
    compare(lambda a, b: F.kl_div(a, b, reduction="sum"),
            lambda a, b: torch.nn.functional.kl_div(a, b, reduction="sum"), LOGQ, P[0])
    compare(lambda a, b: F.kl_div(a, b, reduction="batchmean"),
            lambda a, b: torch.nn.functional.kl_div(a, b, reduction="batchmean"), np.zeros((0, 4)),
            np.zeros((0, 4)), grad=())


# ------------------------------------------------------------ similarity and distance
@pytest.mark.parametrize("shapes,dim", [(((5, 4), (5, 4)), 1), (((2, 3, 4), (3, 4)), 1), (((2, 3, 4), (4,)), -1),
                                        (((4,), (4,)), 0), (((), ()), 0), (((0, 3), (0, 3)), 1),
                                        (((2, 0), (2, 0)), 1)])
def test_cosine_similarity_matches_torch(shapes, dim):
    a, b = (RNG.standard_normal(s) for s in shapes)
    compare(lambda u, v: F.cosine_similarity(u, v, dim=dim), lambda u, v: torch.nn.functional.cosine_similarity(
        u, v, dim=dim), a, b, grad=(0, 1))


def test_cosine_similarity_at_tiny_and_zero_norms_is_torchs():
    a = np.array([[1e-9, 0.0], [3.0, 4.0], [0.0, 0.0]])
    b = np.array([[2e-9, 1e-9], [1.0, 0.0], [0.3, -0.2]])
    compare(lambda u, v: F.cosine_similarity(u, v), lambda u, v: torch.nn.functional.cosine_similarity(u, v),
            a, b, grad=(0, 1), rtol=1e-9)
    with pytest.raises(rg.OpError, match=r"cosine_similarity: x1 shape \(2, 3\), x2 shape \(2, 4\) do not"):
        F.cosine_similarity(rg.tensor(np.ones((2, 3))), rg.tensor(np.ones((2, 4))))
    with pytest.raises(rg.OpError, match="cosine_similarity: dim 1 is out of range"):
        F.cosine_similarity(rg.tensor(np.ones(3)), rg.tensor(np.ones(3)))
    with pytest.raises(rg.OpError, match="floating-point common dtype"):
        F.cosine_similarity(rg.tensor(np.ones((2, 3), dtype=np.int64)), rg.tensor(np.ones((2, 3), dtype=np.int64)))


@pytest.mark.parametrize("p", [0, 1, 1.5, 2, 3, float("inf"), -float("inf")])
@pytest.mark.parametrize("keepdim", [False, True])
def test_pairwise_distance_matches_torch(p, keepdim):
    a = np.array([[1.0, -1.0, 2.0], [0.0, 0.0, 0.0], [2.0, -2.0, 1.0]])
    compare(lambda u, v: F.pairwise_distance(u, v, p=p, eps=0.0, keepdim=keepdim),
            lambda u, v: torch.nn.functional.pairwise_distance(u, v, p=p, eps=0.0, keepdim=keepdim),
            a, np.zeros((3, 3)), grad=(0,) if p else ())
    compare(lambda u, v: F.pairwise_distance(u, v, p=p, keepdim=keepdim),
            lambda u, v: torch.nn.functional.pairwise_distance(u, v, p=p, keepdim=keepdim), X, Y,
            grad=(0, 1) if p else ())


def test_pairwise_distance_shapes_are_torchs():
    for sa, sb in (((2, 3), (3,)), ((3,), (2, 3)), ((3,), (3,)), ((), ()), ((0, 3), (0, 3)), ((2, 0), (2, 0))):
        compare(F.pairwise_distance, torch.nn.functional.pairwise_distance, RNG.standard_normal(sa),
                RNG.standard_normal(sb), grad=(0, 1))
    with pytest.raises(rg.OpError, match=r"pairwise_distance: x1 shape \(2, 3\), x2 shape \(2, 4\)"):
        F.pairwise_distance(rg.tensor(np.ones((2, 3))), rg.tensor(np.ones((2, 4))))
    with pytest.raises(rg.OpError, match="pairwise_distance: negative p"):
        F.pairwise_distance(rg.tensor(X), rg.tensor(Y), p=-1)


# ------------------------------------------------------------ margin and embedding losses
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_soft_margin_and_hinge_embedding_match_torch(reduction):
    compare(lambda a, b: F.soft_margin_loss(a, b, reduction=reduction),
            lambda a, b: torch.nn.functional.soft_margin_loss(a, b, reduction=reduction), X, SIGN, grad=(0,))
    with pytest.raises(rg.OpError, match="soft_margin_loss: the target requires a gradient"):
        F.soft_margin_loss(rg.tensor(X), rg.tensor(SIGN, requires_grad=True))
    kinks = np.array([[1.0, 0.0, 2.0, -3.0], [0.5, 1.0, 1.0, 0.0]])  # margin − x = 0 at x = 1
    target = np.array([[-1.0, -1.0, 1.0, -1.0], [-1.0, 1.0, -1.0, 0.0]])  # 0: both terms, as torch
    for margin in (1.0, 0.5):
        compare(lambda a, b: F.hinge_embedding_loss(a, b, margin=margin, reduction=reduction),
                lambda a, b: torch.nn.functional.hinge_embedding_loss(a, b, margin=margin, reduction=reduction),
                kinks, target)
        compare(lambda a, b: F.hinge_embedding_loss(a, b, margin=margin, reduction=reduction),
                lambda a, b: torch.nn.functional.hinge_embedding_loss(a, b, margin=margin, reduction=reduction),
                X, SIGN)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [0.0, 0.5])
def test_margin_ranking_matches_torch(reduction, margin):
    compare(lambda a, b, t: F.margin_ranking_loss(a, b, t, margin=margin, reduction=reduction),
            lambda a, b, t: torch.nn.functional.margin_ranking_loss(a, b, t, margin=margin, reduction=reduction),
            X, Y, SIGN, grad=(0, 1))
    compare(lambda a, b, t: F.margin_ranking_loss(a, b, t, margin=margin, reduction=reduction),
            lambda a, b, t: torch.nn.functional.margin_ranking_loss(a, b, t, margin=margin, reduction=reduction),
            X, Y[:1], SIGN[:, :1], grad=(0, 1))
    with pytest.raises(rg.OpError, match="margin_ranking_loss: all input tensors should have the same number"):
        F.margin_ranking_loss(rg.tensor(np.ones(3)), rg.tensor(np.ones(3)), rg.tensor(np.ones((1, 3))))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [0.0, 0.3, -0.2])
def test_cosine_embedding_matches_torch(reduction, margin):
    t = np.array([1.0, -1.0, -1.0, 1.0, -1.0])
    compare(lambda a, b, y: F.cosine_embedding_loss(a, b, y, margin=margin, reduction=reduction),
            lambda a, b, y: torch.nn.functional.cosine_embedding_loss(a, b, y, margin=margin, reduction=reduction),
            X, Y, t, grad=(0, 1))
    compare(lambda a, b, y: F.cosine_embedding_loss(a, b, y, margin=margin, reduction=reduction),
            lambda a, b, y: torch.nn.functional.cosine_embedding_loss(a, b, y, margin=margin, reduction=reduction),
            X[0], Y[0], np.array(-1.0), grad=(0, 1))
    compare(lambda a, b, y: F.cosine_embedding_loss(a, b, y, margin=margin, reduction=reduction),
            lambda a, b, y: torch.nn.functional.cosine_embedding_loss(a, b, y, margin=margin, reduction=reduction),
            X, Y[:1], t, grad=(0, 1))


def test_cosine_embedding_refusals():
    a = rg.tensor(X)
    with pytest.raises(rg.OpError, match="cosine_embedding_loss: a 0-D or 1-D target is expected"):
        F.cosine_embedding_loss(a, a, rg.tensor(np.ones((5, 1))))
    with pytest.raises(rg.OpError, match=r"a 1-D target expects 2-D inputs, got input1 \(4,\)"):
        F.cosine_embedding_loss(rg.tensor(X[0]), rg.tensor(X[0]), rg.tensor(np.ones(4)))
    with pytest.raises(rg.OpError, match="cosine_embedding_loss: cosine shape"):
        F.cosine_embedding_loss(a, a, rg.tensor(np.ones(2)))


# ------------------------------------------------------------ likelihood losses
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("var_shape", [(5, 4), (5,), (5, 1), (1, 4)])
def test_gaussian_nll_matches_torch(reduction, full, var_shape):
    var = RNG.random(var_shape) + 0.05
    var.flat[0] = 1e-9  # below eps: clamped, and the gradient still reaches it (PyTorch's no-grad clamp)
    compare(lambda a, b, v: F.gaussian_nll_loss(a, b, v, full=full, reduction=reduction),
            lambda a, b, v: torch.nn.functional.gaussian_nll_loss(a, b, v, full=full, reduction=reduction),
            X, Y, var, grad=(0, 1, 2))


def test_gaussian_nll_float_var_and_refusals():
    compare(lambda a, b: F.gaussian_nll_loss(a, b, 0.5), lambda a, b: torch.nn.functional.gaussian_nll_loss(
        a, b, 0.5), X, Y)
    a = rg.tensor(X)
    with pytest.raises(rg.OpError, match="var has negative entry"):
        F.gaussian_nll_loss(a, a, rg.tensor(-np.ones((5, 4))))
    with pytest.raises(rg.OpError, match="var has negative entry"):
        F.gaussian_nll_loss(a, a, -1.0)
    with pytest.raises(rg.OpError, match=r"var of shape \(5, 3\) is of incorrect size"):
        F.gaussian_nll_loss(a, a, rg.tensor(np.ones((5, 3))))
    with pytest.raises(rg.OpError, match="gaussian_nll_loss: reduction must be one of"):
        F.gaussian_nll_loss(a, a, 1.0, reduction="batchmean")


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("log_input", [True, False])
@pytest.mark.parametrize("full", [False, True])
def test_poisson_nll_matches_torch(reduction, log_input, full):
    counts = RNG.poisson(2.0, (5, 4)).astype(np.float64)
    counts[0, :3] = [0.0, 1.0, 1.5]
    x = X if log_input else np.abs(X) + 0.1
    compare(lambda a, b: F.poisson_nll_loss(a, b, log_input=log_input, full=full, reduction=reduction),
            lambda a, b: torch.nn.functional.poisson_nll_loss(a, b, log_input=log_input, full=full,
                                                              reduction=reduction), x, counts, grad=(0,))
    counts[counts == 0] = 0.5  # the target gradient where torch's is finite
    compare(lambda a, b: F.poisson_nll_loss(a, b, log_input=log_input, full=full, reduction=reduction),
            lambda a, b: torch.nn.functional.poisson_nll_loss(a, b, log_input=log_input, full=full,
                                                              reduction=reduction), x, counts, grad=(0, 1))


# ------------------------------------------------------------ modules
MODULES = {
    "L1Loss": ((), {}, (X, Y)), "SmoothL1Loss": ((), {"beta": 0.5}, (X, Y)),
    "HuberLoss": ((), {"delta": 0.7, "reduction": "sum"}, (X, Y)),
    "KLDivLoss": ((), {"reduction": "batchmean"}, (LOGQ, P), (0,)),
    "KLDivLoss_log": ((), {"log_target": True, "reduction": "none"}, (LOGQ, LOGQ[::-1].copy())),
    "CosineSimilarity": ((), {"dim": 0}, (X, Y)), "PairwiseDistance": ((), {"p": 1.0, "keepdim": True}, (X, Y)),
    "SoftMarginLoss": ((), {"reduction": "none"}, (X, SIGN), (0,)),
    "MarginRankingLoss": ((0.2,), {}, (X, Y, SIGN)), "HingeEmbeddingLoss": ((), {"margin": 0.5}, (X, SIGN), (0,)),
    "CosineEmbeddingLoss": ((0.1,), {}, (X, Y, SIGN[:, 0])),
    "GaussianNLLLoss": ((), {"full": True}, (X, Y, np.abs(Y) + 0.1)),
    "PoissonNLLLoss": ((False,), {"full": True}, (np.abs(X) + 0.1, np.abs(np.round(3 * Y))), (0,)),
    "L1Loss_legacy": ((False,), {}, (X, Y)),
}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_match_torch(name):
    args, kw, arrays, *grad = MODULES[name]
    cls = name.split("_")[0]
    ours, theirs = getattr(nn, cls)(*args, **kw), getattr(torch.nn, cls)(*args, **kw)
    if "Loss" not in cls:  # rg's losses show a non-default reduction in their repr (as MSELoss does)
        assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == []
    compare(ours, theirs, *arrays, grad=grad[0] if grad else (0, 1))


# ------------------------------------------------------------ group norm
@pytest.mark.parametrize("shape,groups", [((2, 6, 5), 3), ((3, 4, 2, 3), 2), ((2, 4), 4), ((2, 4), 1),
                                          ((0, 6, 3), 2)])
def test_group_norm_matches_torch(shape, groups):
    x = RNG.standard_normal(shape)
    c = shape[1]
    w, b = RNG.standard_normal(c), RNG.standard_normal(c)
    compare(lambda a, u, v: F.group_norm(a, groups, u, v), lambda a, u, v: torch.nn.functional.group_norm(
        a, groups, u, v), x, w, b, grad=(0, 1, 2), rtol=1e-9, atol=1e-11)
    compare(lambda a: F.group_norm(a, groups, eps=1e-3), lambda a: torch.nn.functional.group_norm(
        a, groups, eps=1e-3), x, rtol=1e-9, atol=1e-11)


def test_group_norm_module_is_torchs():
    ours, theirs = nn.GroupNorm(2, 6), torch.nn.GroupNorm(2, 6)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight", "bias"]
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(RNG.standard_normal(6)))
        theirs.bias.copy_(torch.tensor(RNG.standard_normal(6)))
    ours.load_state_dict({k: v.numpy().astype(np.float32) for k, v in theirs.state_dict().items()})
    theirs.float()
    x = RNG.standard_normal((2, 6, 4)).astype(np.float32)
    compare(ours, theirs, x, rtol=1e-5, atol=1e-5)
    for affine, bias in ((False, True), (True, False)):
        o, t = nn.GroupNorm(3, 6, affine=affine, bias=bias), torch.nn.GroupNorm(3, 6, affine=affine, bias=bias)
        assert repr(o) == repr(t) and list(o.state_dict()) == list(t.state_dict())
    with pytest.raises(ValueError, match=r"num_channels \(6\) must be divisible by num_groups \(4\)"):
        nn.GroupNorm(4, 6)
    with pytest.raises(rg.OpError, match=r"group_norm: the number of channels \(6\).*num_groups=4"):
        F.group_norm(rg.tensor(np.ones((2, 6, 3))), 4)
    with pytest.raises(rg.OpError, match="expected an"):
        nn.GroupNorm(2, 6)(rg.tensor(np.ones((2, 4, 3), dtype=np.float32)))
    m = nn.GroupNorm(2, 6, dtype=rg.float64)
    assert rg.gradcheck(lambda t: m(t), [rg.tensor(RNG.standard_normal((2, 6, 3)), requires_grad=True)]).ok


# ------------------------------------------------------------ adaptive average pooling
@pytest.mark.parametrize("shape,out", [((2, 3, 7, 5), 3), ((2, 3, 7, 5), (4, 2)), ((3, 5, 5), (5, None)),
                                       ((1, 2, 4, 6), (None, 4)), ((1, 1, 3, 3), (7, 7)), ((1, 2, 5, 5), (0, 2)),
                                       ((2, 1, 6, 6), 1), ((2, 3, 4, 4), (4, 4))])
def test_adaptive_avg_pool2d_matches_torch(shape, out):
    compare(lambda a: F.adaptive_avg_pool2d(a, out), lambda a: torch.nn.functional.adaptive_avg_pool2d(a, out),
            RNG.standard_normal(shape))
    ours, theirs = nn.AdaptiveAvgPool2d(out), torch.nn.AdaptiveAvgPool2d(out)
    assert repr(ours) == repr(theirs)
    compare(ours, theirs, RNG.standard_normal(shape))


def test_adaptive_avg_pool2d_refusals():
    with pytest.raises(rg.OpError, match="adaptive_avg_pool2d: expected a 3-D"):
        F.adaptive_avg_pool2d(rg.tensor(np.ones((4, 4))), 2)


# ------------------------------------------------------------ rg's own finite-difference check
def test_composites_pass_gradcheck():
    x = rg.tensor(X, requires_grad=True)
    y = rg.tensor(Y * 0.7, requires_grad=True)
    t = rg.tensor(SIGN)
    var = rg.tensor(np.abs(Y) + 0.2, requires_grad=True)
    checks = [
        (lambda a, b: F.smooth_l1_loss(a, b, beta=0.8), [x, y]),
        (lambda a, b: F.huber_loss(a, b, delta=0.6, reduction="sum"), [x, y]),
        (lambda a, b: F.kl_div(F.log_softmax(a, dim=1), F.softmax(b, dim=1), reduction="batchmean"), [x, y]),
        (lambda a, b: F.cosine_similarity(a, b), [x, y]),
        (lambda a, b: F.pairwise_distance(a, b, p=3.0), [x, y]),
        (lambda a, b: F.cosine_embedding_loss(a, b, rg.tensor(SIGN[:, 0]), margin=-0.5), [x, y]),
        (lambda a, b, v: F.gaussian_nll_loss(a, b, v, full=True), [x, y, var]),
        (lambda a, b: F.poisson_nll_loss(a, b * b, full=True), [x, y]),
        (lambda a: F.soft_margin_loss(a, t), [x]),
        (lambda a: F.adaptive_avg_pool2d(rg.reshape(a, (1, 1, 5, 4)), (3, 3)), [x]),
    ]
    for fn, inputs in checks:
        assert rg.gradcheck(fn, inputs).ok, fn
