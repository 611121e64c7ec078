"""Attention, PyTorch's way: ``F.scaled_dot_product_attention``, ``F.multi_head_attention_forward``
and ``nn.MultiheadAttention``.

Everything here is composed from differentiable ops (``linear``, ``matmul``, ``softmax``,
``where``, reshapes), so the gradients to the inputs, the projection weights and a float mask
are the ops' own; there is no derivative rule of its own to trust. The one formula is

    Attention(Q, K, V) = softmax(Q Kᵀ · scale + B) V,     scale = 1/√E by default,

with Q (…, L, E) the queries, K (…, S, E) the keys, V (…, S, Eᵥ) the values and B (…, L, S)
an additive mask: 0 where query i may look at key j, −∞ where it may not (a float mask is
added as it is, so any bias works). Multi-head attention projects its inputs, splits the
features into ``num_heads`` groups of ``head_dim = embed_dim / num_heads``, attends within
each group and projects the concatenated results back.

Two boolean conventions, as in PyTorch (a frequent source of bugs):

- ``scaled_dot_product_attention``: ``True`` = the pair *takes part*;
- ``MultiheadAttention`` and the Transformer layers (``attn_mask``, ``key_padding_mask``):
  ``True`` = the key is *masked out*.

A row whose every key is masked out has no softmax (0/0). PyTorch answers differently on its
two paths, and so does this module: ``scaled_dot_product_attention`` (and so
``MultiheadAttention(need_weights=False)``, which the Transformer layers call) gives that
query an output of zeros and zero gradients; ``MultiheadAttention(need_weights=True)`` (the
default) gives NaN, as its plain softmax does.
"""

from __future__ import annotations

import math
import warnings

from .. import ops
from ..autograd.backend import xp
from ..autograd.op import OpError, off_tape
from ..autograd.replay import tracing
from ..autograd.tensor import Tensor, get_default_dtype
from ..ops import device_checks
from . import functional as F, init
from .functional_losses import _t
from .layers import Linear
from .module import Module, Parameter, check_device


class AttentionError(OpError, RuntimeError):
    """Attention inputs that cannot be combined (shapes, dtypes, masks): a ``RuntimeError``,
    as PyTorch raises for these, and an ``OpError``."""


class AttentionArgumentError(OpError, AssertionError):
    """A check that PyTorch's attention code makes with an ``AssertionError`` (the input's
    number of dimensions, the embedding size, a mask's dtype or shape): raised as one too."""


def _shape(x) -> tuple:
    return tuple(int(n) for n in x.shape)


def _dims(x) -> int:
    return len(x.shape)


# ---------------------------------------------------------------- masks
@off_tape
def _additive_from_bool(mask, dtype, blocked: bool):
    """The additive mask of a boolean one: −∞ where ``mask == blocked``, 0 elsewhere, in ``dtype``.
    Computed off the tape (it is a constant of the graph), so a replay makes it again from the
    new mask."""
    m = mask.data if isinstance(mask, Tensor) else xp.asarray(mask)
    return Tensor(xp.where(m == blocked, -xp.inf, 0.0).astype(dtype))


@off_tape
def _causal_bias(rows: int, cols: int, dtype):
    """(rows, cols) additive causal mask, aligned at the top left: query i sees keys j ≤ i."""
    allowed = xp.tril(xp.ones((rows, cols), dtype=bool))
    return Tensor(xp.where(allowed, 0.0, -xp.inf).astype(dtype))


def _is_float(t) -> bool:
    return t.dtype.kind == "f"


def _canonical_mask(mask, mask_name: str, other_type, other_name: str, target_type, check_other: bool = True):
    """PyTorch's ``F._canonical_mask``: a boolean mask (True = masked out) as an additive float mask of
    ``target_type`` (−∞ where True); a float mask is returned as it is. Any other dtype is refused;
    a mask whose dtype differs from the other mask's gets PyTorch's deprecation warning."""
    if mask is None:
        return None
    mask = _t(mask)
    if mask.dtype != bool and not _is_float(mask):
        raise AttentionArgumentError(f"only bool and floating types of {mask_name} are supported, got "
                                     f"{mask.dtype} (shape {_shape(mask)}); convert it to bool (True = masked "
                                     f"out) or to the input's float dtype")
    if check_other and other_type is not None and mask.dtype != other_type:
        warnings.warn(f"Support for mismatched {mask_name} and {other_name} is deprecated. Use same type for both "
                      f"instead.", UserWarning, stacklevel=4)
    if mask.dtype == bool:
        return _additive_from_bool(mask, target_type, True)
    return mask


def _dtype_or_none(mask):
    return None if mask is None else _t(mask).dtype


def _masked_rows_softmax(scores):
    """Softmax over the last axis, with a row that is −∞ everywhere (every key masked out)
    giving zeros, as PyTorch's ``scaled_dot_product_attention`` does, instead of 0/0 = NaN.
    The row is replaced by zeros before the softmax too, so that no NaN reaches the backward
    pass (``where`` sends a zero gradient to the branch it did not take, but 0·NaN is NaN)."""
    empty = ops.all(scores == -math.inf, axis=-1, keepdims=True)
    if not tracing() and not device_checks.may_hold(empty.data):
        return ops.softmax(scores, -1)
    return ops.where(empty, 0.0, ops.softmax(ops.where(empty, 0.0, scores), -1))


# ---------------------------------------------------------------- scaled dot-product attention
def _check_sdpa_inputs(q, k, v):
    if min(_dims(q), _dims(k), _dims(v)) < 2:
        raise AttentionError(f"scaled_dot_product_attention: expected query, key and value to all be at least 2 "
                             f"dimensional (…, L, E), got query.dim {_dims(q)}, key.dim {_dims(k)} and value.dim "
                             f"{_dims(v)}")
    if not q.dtype == k.dtype == v.dtype:
        raise AttentionError(f"scaled_dot_product_attention: expected query, key and value to have the same dtype, "
                             f"got query {q.dtype}, key {k.dtype} and value {v.dtype}; convert them with .to(dtype)")
    if not _is_float(q):
        raise AttentionError(f"scaled_dot_product_attention: expected floating query, key and value, got {q.dtype} "
                             f"(PyTorch refuses it too); convert them with .to(rg.get_default_dtype())")
    if k.shape[-1] != q.shape[-1]:
        raise AttentionError(f"scaled_dot_product_attention: key's last dim must equal query's (E), got query "
                             f"{_shape(q)} and key {_shape(k)}")
    if v.shape[-2] != k.shape[-2]:
        raise AttentionError(f"scaled_dot_product_attention: value must have as many positions (S, dim -2) as key, "
                             f"got key {_shape(k)} and value {_shape(v)}")


def _repeat_heads(x, times: int):
    """Each head of ``x`` (…, H, S, E) repeated ``times`` times in place, (…, H·times, S, E):
    ``repeat_interleave`` along dim −3, by broadcasting (the gradient sums over the copies)."""
    *lead, h, s, e = _shape(x)
    wide = ops.broadcast_to(ops.unsqueeze(x, -3), (*lead, h, times, s, e))
    return ops.reshape(wide, (*lead, h * times, s, e))


def _grouped_query(q, k, v):
    """``enable_gqa``: key and value with fewer heads (dim −3) than query each serve a group of
    query heads; their heads are repeated to the query's number."""
    if min(_dims(q), _dims(k), _dims(v)) < 3:
        raise AttentionError(f"scaled_dot_product_attention: enable_gqa=True needs a heads dimension (-3) in query, "
                             f"key and value, got shapes {_shape(q)}, {_shape(k)} and {_shape(v)}")
    hq, hk, hv = q.shape[-3], k.shape[-3], v.shape[-3]
    if hq == hk == hv:
        return k, v
    if hk == 0 or hv == 0 or hq % hk or hq % hv:
        raise AttentionError(f"scaled_dot_product_attention: Number of heads in key and value must divide the number "
                             f"of heads in query (enable_gqa=True): query has {hq}, key {hk}, value {hv}")
    return _repeat_heads(k, hq // hk), _repeat_heads(v, hq // hv)


def _mask_bias(mask, q, scores_shape):
    """The additive bias of ``attn_mask`` for scores of ``scores_shape`` (True = take part)."""
    m = _t(mask)
    if m.dtype == bool:
        bias = _additive_from_bool(m, q.dtype, False)
    elif _is_float(m) and m.dtype in (q.dtype, xp.dtype(xp.float32)):
        bias = m if m.dtype == q.dtype else ops.cast(m, q.dtype)  # a float32 mask is taken, as PyTorch's
    else:
        raise AttentionError(f"scaled_dot_product_attention: Expected attn_mask dtype to be bool or float or to match "
                             f"query dtype, got attn_mask {m.dtype} and query {q.dtype}")
    try:
        fits = _dims(m) <= len(scores_shape) and xp.broadcast_shapes(_shape(m), scores_shape) == scores_shape
    except ValueError:
        fits = False
    if not fits:
        raise AttentionError(f"scaled_dot_product_attention: attn_mask of shape {_shape(m)} does not broadcast to the "
                             f"attention scores' shape {scores_shape} (…, L, S)")
    return bias


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p: float = 0.0, is_causal: bool = False,
                                 *, scale=None, enable_gqa: bool = False):
    """PyTorch's ``F.scaled_dot_product_attention``: softmax(Q Kᵀ · scale + B) V.

    ``query`` (…, L, E), ``key`` (…, S, E), ``value`` (…, S, Eᵥ) → (…, L, Eᵥ); the leading
    dims broadcast. ``scale`` defaults to 1/√E (keyword-only, as in PyTorch).

    ``attn_mask`` broadcasts to (…, L, S): boolean, ``True`` = the pair takes part (note: the
    opposite of ``MultiheadAttention``'s convention), or float, added to the scores (a float32
    mask is taken with float64 inputs, as PyTorch takes it; its gradient flows). ``is_causal``:
    query i sees keys j ≤ i (the lower triangle of (L, S), aligned at the top left); it excludes
    ``attn_mask``. A query that sees no key at all gets zeros (and zero gradients), as in PyTorch.

    ``dropout_p`` > 0 drops attention weights always (this function has no training flag; pass
    ``dropout_p=0`` at evaluation). ``enable_gqa``: grouped-query attention, key and value with
    fewer heads (dim −3) than query, each serving ``Hq/Hk`` query heads."""
    q, k, v = _t(query, key, value)
    _check_sdpa_inputs(q, k, v)
    if dropout_p > 1:
        raise AttentionError(f"scaled_dot_product_attention: dropout probability has to be between 0 and 1, but got "
                             f"{dropout_p}")
    if is_causal and attn_mask is not None:
        raise AttentionError("scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True "
                             "(the causal mask is made here; pass one of them)")
    if enable_gqa:
        k, v = _grouped_query(q, k, v)
    try:
        batch = xp.broadcast_shapes(_shape(q)[:-2], _shape(k)[:-2], _shape(v)[:-2])
    except ValueError:
        raise AttentionError(f"scaled_dot_product_attention: the leading (batch, head) dims of query {_shape(q)}, key "
                             f"{_shape(k)} and value {_shape(v)} do not broadcast") from None
    L, S, E = q.shape[-2], k.shape[-2], q.shape[-1]
    scores = ops.matmul(q, ops.swapaxes(k, -2, -1)) * (1.0 / math.sqrt(E) if scale is None else scale)
    if is_causal:
        scores = scores + _causal_bias(L, S, q.dtype)
    elif attn_mask is not None:
        scores = scores + _mask_bias(attn_mask, q, (*batch, L, S))
    weights = _masked_rows_softmax(scores)
    if dropout_p > 0:
        weights = F.dropout(weights, dropout_p, True)
    return ops.matmul(weights, v)


# ---------------------------------------------------------------- multi-head attention, functional
def _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads) -> bool:
    """PyTorch's ``_mha_shape_check``: whether the input is batched (3-D) or not (2-D), with
    every input's and mask's number of dims checked against it."""
    qd, kd, vd = _dims(query), _dims(key), _dims(value)
    if qd not in (2, 3):
        raise AttentionArgumentError(f"multi_head_attention_forward: query should be unbatched 2D or batched 3D tensor "
                                     f"but received {qd}-D query tensor (shape {_shape(query)}; expected (L, E) or "
                                     f"(L, N, E), (N, L, E) with batch_first)")
    batched = qd == 3
    what = "batched (3-D)" if batched else "unbatched (2-D)"
    if kd != qd or vd != qd:
        raise AttentionArgumentError(f"multi_head_attention_forward: For {what} `query`, expected `key` and `value` to "
                                     f"be {qd}-D but found {kd}-D and {vd}-D tensors respectively")
    if key_padding_mask is not None and _dims(key_padding_mask) != qd - 1:
        raise AttentionArgumentError(f"multi_head_attention_forward: For {what} `query`, expected `key_padding_mask` "
                                     f"to be `None` or {qd - 1}-D but found {_dims(key_padding_mask)}-D tensor "
                                     f"instead")
    if attn_mask is not None:
        if _dims(attn_mask) not in (2, 3):
            raise AttentionArgumentError(f"multi_head_attention_forward: For {what} `query`, expected `attn_mask` to "
                                         f"be `None`, 2-D or 3-D but found {_dims(attn_mask)}-D tensor instead")
        expected = (num_heads, query.shape[0], key.shape[0])
        if not batched and _dims(attn_mask) == 3 and _shape(attn_mask) != expected:
            raise AttentionArgumentError(f"multi_head_attention_forward: Expected `attn_mask` shape to be {expected} "
                                         f"but got {_shape(attn_mask)}")
    return batched


def _same_dtype_as_weight(weight, *xs):
    for name, x in xs:
        if x.dtype != weight.dtype:
            raise AttentionError(f"multi_head_attention_forward: {name} has dtype {x.dtype} but the projection "
                                 f"weights have {weight.dtype} (mat1 and mat2 must have the same dtype); convert "
                                 f"the input with .to({weight.dtype}) or the module with .to(...)")


def _in_projection_packed(q, k, v, w, b, E):
    """q, k, v projected by the rows [0, E), [E, 2E), [2E, 3E) of the packed ``w`` (and ``b``):
    one product for self-attention (q is k is v), two for encoder-decoder attention (k is v)."""
    for name, x in (("key", k), ("value", v)):
        if x.shape[-1] != E:
            raise AttentionError(f"multi_head_attention_forward: {name} has {x.shape[-1]} features (shape "
                                 f"{_shape(x)}) but the packed in_proj_weight projects {E}; give kdim/vdim to "
                                 f"MultiheadAttention for other sizes")
    if k is v and q is k:
        qkv = F.linear(q, w, b)
        return qkv[..., :E], qkv[..., E:2 * E], qkv[..., 2 * E:]
    b_q, b_kv, b_k, b_v = (None,) * 4 if b is None else (b[:E], b[E:], b[E:2 * E], b[2 * E:])
    if k is v:
        kv = F.linear(k, w[E:], b_kv)
        return F.linear(q, w[:E], b_q), kv[..., :E], kv[..., E:]
    return F.linear(q, w[:E], b_q), F.linear(k, w[E:2 * E], b_k), F.linear(v, w[2 * E:], b_v)


def _in_projection(q, k, v, w_q, w_k, w_v, b_q, b_k, b_v):
    """q, k, v projected by their own weights (``kdim``/``vdim`` other than ``embed_dim``)."""
    Eq, Ek, Ev = q.shape[-1], k.shape[-1], v.shape[-1]
    for what, t, shape in (("query weights", w_q, (Eq, Eq)), ("key weights", w_k, (Eq, Ek)),
                           ("value weights", w_v, (Eq, Ev)), ("query bias", b_q, (Eq,)),
                           ("key bias", b_k, (Eq,)), ("value bias", b_v, (Eq,))):
        if t is not None and _shape(t) != shape:
            raise AttentionArgumentError(f"multi_head_attention_forward: expecting {what} shape of {shape}, but got "
                                         f"{_shape(t)}")
    return F.linear(q, w_q, b_q), F.linear(k, w_k, b_k), F.linear(v, w_v, b_v)


def _static(name, t, rows, head_dim):
    if t.shape[0] != rows:
        raise AttentionArgumentError(f"multi_head_attention_forward: expecting {name}.size(0) of {rows}, but got "
                                     f"{t.shape[0]}")
    if t.shape[2] != head_dim:
        raise AttentionArgumentError(f"multi_head_attention_forward: expecting {name}.size(2) of {head_dim}, but got "
                                     f"{t.shape[2]}")
    return t


def multi_head_attention_forward(query, key, value, embed_dim_to_check: int, num_heads: int, in_proj_weight,
                                 in_proj_bias, bias_k, bias_v, add_zero_attn: bool, dropout_p: float,
                                 out_proj_weight, out_proj_bias, training: bool = True, key_padding_mask=None,
                                 need_weights: bool = True, attn_mask=None, use_separate_proj_weight: bool = False,
                                 q_proj_weight=None, k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights: bool = True, is_causal: bool = False):
    """PyTorch's ``F.multi_head_attention_forward`` (what ``nn.MultiheadAttention`` calls), step by step:

    1. project: q = query·W_qᵀ + b_q, k = key·W_kᵀ + b_k, v = value·W_vᵀ + b_v (the rows of the
       packed ``in_proj_weight``, or ``q/k/v_proj_weight`` with ``use_separate_proj_weight``);
    2. optionally append ``bias_k``/``bias_v`` as one more key/value position, and a zero one
       (``add_zero_attn``), widening the masks by an attended column each;
    3. split E into ``num_heads`` heads of E/H features: (L, N, E) → (N·H, L, E/H);
    4. attend per head: softmax(q kᵀ/√(E/H) + B) v, B the sum of ``attn_mask`` and
       ``key_padding_mask`` (True = masked out; float masks are added);
    5. concatenate the heads and project: out = heads·W_oᵀ + b_o.

    Inputs are time-major: ``query`` (L, N, E) or unbatched (L, E); ``key``/``value`` (S, N, ·).
    ``attn_mask`` is (L, S) or (N·H, L, S), ``key_padding_mask`` (N, S) (or (S,) unbatched).
    Returns ``(output (L, N, E), weights)``: with ``need_weights``, the softmax weights averaged
    over the heads (N, L, S) (``average_attn_weights=False``: (N, H, L, S)), else None (the
    output then comes from ``scaled_dot_product_attention``, where a query whose keys are all
    masked gets zeros; the ``need_weights`` path gives NaN there, both as PyTorch).

    ``is_causal`` is a hint that ``attn_mask`` is causal: it needs ``attn_mask``; without
    ``need_weights`` and ``key_padding_mask`` the causal mask is made here instead of reading it."""
    batched = _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    query, key_same, value_same = _t(query), key is query, value is key
    key = query if key_same else _t(key)
    value = key if value_same else _t(value)
    if not batched:  # a batch of one, squeezed out at the end
        query = ops.unsqueeze(query, 1)
        key = query if key_same else ops.unsqueeze(key, 1)
        value = key if value_same else ops.unsqueeze(value, 1)
        if key_padding_mask is not None:
            key_padding_mask = ops.unsqueeze(_t(key_padding_mask), 0)
    tgt_len, bsz, embed_dim = _shape(query)
    src_len = key.shape[0]

    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", _dtype_or_none(attn_mask), "attn_mask",
                                       query.dtype)
    if is_causal and attn_mask is None:
        raise AttentionError("multi_head_attention_forward: Need attn_mask if specifying the is_causal hint. You may "
                             "use the Transformer module method `generate_square_subsequent_mask` to create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None  # scaled_dot_product_attention makes the causal mask itself
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", query.dtype, check_other=False)
        if key_padding_mask is not None:
            is_causal = False  # the merged mask is no longer causal

    if embed_dim != embed_dim_to_check:
        raise AttentionArgumentError(f"multi_head_attention_forward: was expecting embedding dimension of "
                                     f"{embed_dim_to_check}, but got {embed_dim} (query shape {_shape(query)})")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AttentionArgumentError(f"multi_head_attention_forward: embed_dim {embed_dim} not divisible by num_heads "
                                     f"{num_heads}")
    if use_separate_proj_weight:
        if _shape(key)[:2] != _shape(value)[:2]:
            raise AttentionArgumentError(f"multi_head_attention_forward: key's sequence and batch dims "
                                         f"{_shape(key)[:2]} do not match value's {_shape(value)[:2]}")
    elif _shape(key) != _shape(value):
        raise AttentionArgumentError(f"multi_head_attention_forward: key shape {_shape(key)} does not match value "
                                     f"shape {_shape(value)}")
    if (static_k is None or static_v is None) and key.shape[1] != bsz:
        raise AttentionError(f"multi_head_attention_forward: key and value have batch size {key.shape[1]} but query "
                             f"has {bsz} (shapes {_shape(key)} and {_shape(query)}; time-major: (S, N, E))")

    # 1. the projections
    if not use_separate_proj_weight:
        if in_proj_weight is None:
            raise AttentionArgumentError("multi_head_attention_forward: use_separate_proj_weight is False but "
                                         "in_proj_weight is None")
        _same_dtype_as_weight(in_proj_weight, ("query", query), ("key", key), ("value", value))
        q, k, v = _in_projection_packed(query, key, value, in_proj_weight, in_proj_bias, embed_dim)
    else:
        for name, w in (("q_proj_weight", q_proj_weight), ("k_proj_weight", k_proj_weight),
                        ("v_proj_weight", v_proj_weight)):
            if w is None:
                raise AttentionArgumentError(f"multi_head_attention_forward: use_separate_proj_weight is True but "
                                             f"{name} is None")
        _same_dtype_as_weight(q_proj_weight, ("query", query), ("key", key), ("value", value))
        b_q = b_k = b_v = None
        if in_proj_bias is not None:
            E2 = 2 * embed_dim
            b_q, b_k, b_v = in_proj_bias[:embed_dim], in_proj_bias[embed_dim:E2], in_proj_bias[E2:]
        q, k, v = _in_projection(query, key, value, q_proj_weight, k_proj_weight, v_proj_weight, b_q, b_k, b_v)

    if attn_mask is not None:  # always 3-D from here: (1, L, S) or (N·H, L, S)
        if _dims(attn_mask) == 2:
            if _shape(attn_mask) != (tgt_len, src_len):
                raise AttentionError(f"multi_head_attention_forward: The shape of the 2D attn_mask is "
                                     f"{_shape(attn_mask)}, but should be {(tgt_len, src_len)}.")
            attn_mask = ops.unsqueeze(attn_mask, 0)
        elif _shape(attn_mask) != (bsz * num_heads, tgt_len, src_len):
            raise AttentionError(f"multi_head_attention_forward: The shape of the 3D attn_mask is {_shape(attn_mask)}, "
                                 f"but should be {(bsz * num_heads, tgt_len, src_len)}.")

    # 2. bias_k / bias_v: one more key and value position, attended by every query
    if bias_k is not None and bias_v is not None:
        if static_k is not None or static_v is not None:
            raise AttentionArgumentError("multi_head_attention_forward: bias cannot be added to static key or value.")
        k = ops.concatenate([k, ops.broadcast_to(bias_k, (1, bsz, embed_dim))], axis=0)
        v = ops.concatenate([v, ops.broadcast_to(bias_v, (1, bsz, embed_dim))], axis=0)
        attn_mask = None if attn_mask is None else ops.pad(attn_mask, [(0, 1)])
        key_padding_mask = None if key_padding_mask is None else ops.pad(key_padding_mask, [(0, 1)])
    elif bias_k is not None or bias_v is not None:
        raise AttentionArgumentError(f"multi_head_attention_forward: bias_{'k' if bias_k is not None else 'v'} is set "
                                     f"but bias_{'v' if bias_k is not None else 'k'} is None")

    # 3. heads: (L, N, E) → (N·H, L, E/H)
    q = ops.swapaxes(ops.reshape(q, (tgt_len, bsz * num_heads, head_dim)), 0, 1)
    if static_k is None:
        k = ops.swapaxes(ops.reshape(k, (k.shape[0], bsz * num_heads, head_dim)), 0, 1)
    else:
        k = _static("static_k", _t(static_k), bsz * num_heads, head_dim)
    if static_v is None:
        v = ops.swapaxes(ops.reshape(v, (v.shape[0], bsz * num_heads, head_dim)), 0, 1)
    else:
        v = _static("static_v", _t(static_v), bsz * num_heads, head_dim)

    if add_zero_attn:  # a key and value of zeros: a query may attend to "nothing"
        k = ops.pad(k, [(0, 1), (0, 0)])
        v = ops.pad(v, [(0, 1), (0, 0)])
        attn_mask = None if attn_mask is None else ops.pad(attn_mask, [(0, 1)])
        key_padding_mask = None if key_padding_mask is None else ops.pad(key_padding_mask, [(0, 1)])
    src_len = k.shape[1]

    if key_padding_mask is not None:  # (N, S) → (N·H, 1, S), added to the attention mask
        for axis, size in ((0, bsz), (1, src_len)):
            if key_padding_mask.shape[axis] != size:
                raise AttentionArgumentError(f"multi_head_attention_forward: Expected key_padded_mask.shape[{axis}] to "
                                             f"be {size}, but got {key_padding_mask.shape[axis]}")
        kpm = ops.broadcast_to(ops.reshape(key_padding_mask, (bsz, 1, 1, src_len)), (bsz, num_heads, 1, src_len))
        kpm = ops.reshape(kpm, (bsz * num_heads, 1, src_len))
        attn_mask = kpm if attn_mask is None else attn_mask + kpm

    if not training:
        dropout_p = 0.0

    # 4. and 5. attention per head, heads concatenated, output projection
    if need_weights:
        if attn_mask is not None and attn_mask.dtype != q.dtype:
            raise AttentionError(f"multi_head_attention_forward: the float masks have dtype {attn_mask.dtype} but the "
                                 f"inputs {q.dtype} (Input dtypes must be the same); convert the masks with "
                                 f".to({q.dtype})")
        scores = ops.matmul(q * math.sqrt(1.0 / head_dim), ops.swapaxes(k, -2, -1))
        if attn_mask is not None:
            scores = attn_mask + scores
        with warnings.catch_warnings():  # a row with every key masked: NaN, as PyTorch's (and as silently)
            warnings.simplefilter("ignore", RuntimeWarning)
            weights = ops.softmax(scores, -1)
        if dropout_p > 0.0:
            weights = F.dropout(weights, dropout_p, True)
        out = ops.reshape(ops.swapaxes(ops.matmul(weights, v), 0, 1), (tgt_len * bsz, embed_dim))
        out = ops.reshape(F.linear(out, out_proj_weight, out_proj_bias), (tgt_len, bsz, -1))
        weights = ops.reshape(weights, (bsz, num_heads, tgt_len, src_len))
        if average_attn_weights:
            weights = ops.mean(weights, axis=1)
        if not batched:
            out, weights = ops.squeeze(out, 1), ops.squeeze(weights, 0)
        return out, weights

    if attn_mask is not None:  # (1, L, S) → (1, 1, L, S); (N·H, ·, S) → (N, H, ·, S)
        if attn_mask.shape[0] == 1:
            attn_mask = ops.unsqueeze(attn_mask, 0)
        else:
            attn_mask = ops.reshape(attn_mask, (bsz, num_heads, -1, src_len))
    q = ops.reshape(q, (bsz, num_heads, tgt_len, head_dim))
    k = ops.reshape(k, (bsz, num_heads, src_len, head_dim))
    v = ops.reshape(v, (bsz, num_heads, src_len, head_dim))
    out = scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal)
    out = ops.reshape(ops.permute(out, (2, 0, 1, 3)), (bsz * tgt_len, embed_dim))
    out = ops.reshape(F.linear(out, out_proj_weight, out_proj_bias), (tgt_len, bsz, -1))
    return (out if batched else ops.squeeze(out, 1)), None


# ---------------------------------------------------------------- the module
class NonDynamicallyQuantizableLinear(Linear):
    """``MultiheadAttention.out_proj``: a ``Linear`` under PyTorch's class name (which marks it
    for PyTorch's quantization tools; nothing else differs)."""


class MultiheadAttention(Module):
    """PyTorch's ``nn.MultiheadAttention``: MultiHead(Q, K, V) = Concat(head₁ … head_H) W_Oᵀ + b_O with
    headᵢ = Attention(Q W_Qᵢᵀ, K W_Kᵢᵀ, V W_Vᵢᵀ) (see ``multi_head_attention_forward`` for the steps).

    Parameters, by PyTorch's names (so ``state_dict`` keys are PyTorch's): ``in_proj_weight``
    (3E, E), the query, key and value projections stacked — or, when ``kdim`` or ``vdim``
    differ from ``embed_dim``, ``q_proj_weight`` (E, E), ``k_proj_weight`` (E, kdim),
    ``v_proj_weight`` (E, vdim); ``in_proj_bias`` (3E) (``bias=True``); ``out_proj`` (a Linear
    E → E); ``bias_k``, ``bias_v`` (1, 1, E) with ``add_bias_kv``. Initialised as PyTorch's:
    Xavier-uniform projections, zero biases, Xavier-normal ``bias_k``/``bias_v``.

    ``forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False)`` → ``(output, weights or None)``. Shapes
    (L, N, E) or, with ``batch_first``, (N, L, E); unbatched (L, E) too. Boolean masks:
    ``True`` = masked out. ``dropout`` drops attention weights in training mode.

    PyTorch's inference fast path (``torch._native_multi_head_attention``, taken in eval mode
    without gradients) and its nested tensors do not exist here: the results are those of the
    ordinary path, which PyTorch's fast path matches except on a query whose keys are all
    masked (there it gives NaN with ``need_weights=False``, the ordinary path zeros)."""

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim=None, vdim=None,
                 batch_first: bool = False, device=None, dtype=None):
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got embed_dim={embed_dim} and "
                             f"num_heads={num_heads} instead")
        super().__init__()
        check_device("MultiheadAttention", device)
        dt = dtype or get_default_dtype()
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise AttentionArgumentError(f"MultiheadAttention: embed_dim must be divisible by num_heads, got "
                                         f"embed_dim={embed_dim} and num_heads={num_heads}")

        def empty(*shape):
            return Parameter(xp.zeros(shape, dtype=dt))

        if not self._qkv_same_embed_dim:
            self.q_proj_weight = empty(embed_dim, embed_dim)
            self.k_proj_weight = empty(embed_dim, self.kdim)
            self.v_proj_weight = empty(embed_dim, self.vdim)
            self.register_parameter("in_proj_weight", None)
        else:
            self.in_proj_weight = empty(3 * embed_dim, embed_dim)
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        if bias:
            self.in_proj_bias = empty(3 * embed_dim)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias, dtype=dt)
        if add_bias_kv:
            self.bias_k = empty(1, 1, embed_dim)
            self.bias_v = empty(1, 1, embed_dim)
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self):
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def forward(self, query, key, value, key_padding_mask=None, need_weights: bool = True, attn_mask=None,
                average_attn_weights: bool = True, is_causal: bool = False):
        """``(output, weights)``; see the class docstring and ``multi_head_attention_forward``."""
        key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", _dtype_or_none(attn_mask),
                                           "attn_mask", _t(query).dtype)
        attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", _t(query).dtype, check_other=False)
        if self.batch_first and _dims(query) == 3:  # to time-major, keeping "q is k is v" (one projection)
            if key is value:
                if query is key:
                    query = key = value = ops.swapaxes(_t(query), 0, 1)
                else:
                    query, key = (ops.swapaxes(_t(x), 0, 1) for x in (query, key))
                    value = key
            else:
                query, key, value = (ops.swapaxes(_t(x), 0, 1) for x in (query, key, value))
        separate = not self._qkv_same_embed_dim
        out, weights = multi_head_attention_forward(
            query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight, self.in_proj_bias,
            self.bias_k, self.bias_v, self.add_zero_attn, self.dropout, self.out_proj.weight, self.out_proj.bias,
            training=self.training, key_padding_mask=key_padding_mask, need_weights=need_weights,
            attn_mask=attn_mask, use_separate_proj_weight=separate, q_proj_weight=self.q_proj_weight,
            k_proj_weight=self.k_proj_weight, v_proj_weight=self.v_proj_weight,
            average_attn_weights=average_attn_weights, is_causal=is_causal)
        if self.batch_first and _dims(query) == 3:
            out = ops.swapaxes(out, 0, 1)
        return out, weights
