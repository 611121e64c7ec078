"""The Transformer of "Attention Is All You Need" (Vaswani et al. 2017), PyTorch's modules:
``TransformerEncoderLayer``, ``TransformerEncoder``, ``TransformerDecoderLayer``,
``TransformerDecoder`` and ``Transformer``, with PyTorch's arguments, submodule names (so
``state_dict`` keys are PyTorch's) and mask conventions.

An encoder layer is self-attention then a feed-forward network, each a residual block:

    post-norm (``norm_first=False``, the paper's):  x = LN(x + Block(x))
    pre-norm  (``norm_first=True``):                x = x + Block(LN(x))

with Block ∈ {SelfAttention, FF}, FF(x) = linear2(dropout(activation(linear1(x)))), and a
dropout on each block's output. A decoder layer has a third block between the two: attention
from the target to the encoder's output (``memory``).

Masks follow ``MultiheadAttention``: ``src_mask``/``tgt_mask``/``memory_mask`` (L, S) or
(N·nhead, L, S), boolean (``True`` = may not attend) or float (added to the scores);
``*_key_padding_mask`` (N, S), ``True`` at padding positions. ``*_is_causal`` is a hint that the
mask is ``generate_square_subsequent_mask``'s; left as None the encoders detect it, as PyTorch's.

PyTorch's inference fast paths (``torch._transformer_encoder_layer_fwd`` and the nested tensors
``TransformerEncoder`` builds from a padding mask in eval mode without gradients) do not exist
here: ``enable_nested_tensor`` is accepted and ``use_nested_tensor`` is always False. The
results are those of PyTorch's ordinary path; its nested-tensor path differs at the padded
positions of the output (zeros there, before the final norm) and not elsewhere.
"""

from __future__ import annotations

import copy

from ..autograd.backend import xp
from ..autograd.op import OpError
from ..autograd.tensor import Tensor, get_default_dtype
from . import functional as F, init
from .activation import GELU, ReLU
from .attention import MultiheadAttention, _canonical_mask, _dtype_or_none
from .functional_losses import _t
from .layers import Dropout, Linear
from .module import Module, ModuleList, check_device
from .normalization import LayerNorm


class TransformerError(OpError, RuntimeError):
    """A Transformer argument or input PyTorch refuses with a ``RuntimeError`` (an unknown activation
    name, src and tgt of different batch or feature sizes); also an ``OpError``."""


def _activation_fn(activation):
    """``"relu"``/``"gelu"`` as PyTorch's legacy strings, or any unary callable as it is."""
    if isinstance(activation, str):
        if activation == "relu":
            return F.relu
        if activation == "gelu":
            return F.gelu
        raise TransformerError(f"activation should be relu/gelu, not {activation} (or a unary callable such as "
                               f"F.silu)")
    return activation


def _generate_square_subsequent_mask(sz: int, device=None, dtype=None) -> Tensor:
    check_device("generate_square_subsequent_mask", device)
    dtype = xp.dtype(dtype or get_default_dtype())
    upper = xp.triu(xp.ones((sz, sz), dtype=bool), 1)
    if dtype == bool:  # PyTorch's torch.full(-inf, dtype=bool): True above the diagonal
        return Tensor(upper)
    return Tensor(xp.where(upper, -xp.inf, 0.0).astype(dtype))


def _get_seq_len(src, batch_first: bool) -> int:
    shape = tuple(src.shape)
    return shape[0] if len(shape) == 2 else shape[1 if batch_first else 0]


def _detect_is_causal_mask(mask, is_causal=None, size=None) -> bool:
    """PyTorch's ``_detect_is_causal_mask``: ``is_causal`` if given; otherwise whether ``mask``
    equals ``generate_square_subsequent_mask`` of ``size`` (in the mask's dtype)."""
    make_causal = is_causal is True
    if is_causal is None and mask is not None:
        m = _t(mask)
        sz = size if size is not None else m.shape[-2]
        causal = _generate_square_subsequent_mask(sz, dtype=m.dtype).data
        make_causal = tuple(m.shape) == causal.shape and bool((m.data == causal).all())
    return make_causal


def _get_clones(module, n: int):
    """``n`` independent deep copies (each layer its own parameters, equal at the start)."""
    return ModuleList([copy.deepcopy(module) for _ in range(n)])


class TransformerEncoderLayer(Module):
    """Self-attention and a feed-forward network (PyTorch's ``nn.TransformerEncoderLayer``).

    Submodules: ``self_attn`` (MultiheadAttention), ``linear1`` (d_model → dim_feedforward),
    ``dropout``, ``linear2`` (back to d_model), ``norm1``, ``norm2`` (LayerNorm), ``dropout1``,
    ``dropout2``. ``forward(src, src_mask=None, src_key_padding_mask=None, is_causal=False)``;
    ``src`` (S, N, E), (N, S, E) with ``batch_first``, or unbatched (S, E)."""

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation=F.relu, layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device=None, dtype=None):
        super().__init__()
        check_device("TransformerEncoderLayer", device)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                            dtype=dtype)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        activation = _activation_fn(activation)
        # PyTorch's flag for its fast path (1 relu, 2 gelu, 0 other); informational here
        self.activation_relu_or_gelu = 1 if activation is F.relu or isinstance(activation, ReLU) else \
            2 if activation is F.gelu or isinstance(activation, GELU) else 0
        self.activation = activation

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal: bool = False):
        """The layer's output, of ``src``'s shape."""
        src = _t(src)
        src_key_padding_mask = _canonical_mask(src_key_padding_mask, "src_key_padding_mask",
                                               _dtype_or_none(src_mask), "src_mask", src.dtype)
        src_mask = _canonical_mask(src_mask, "src_mask", None, "", src.dtype, check_other=False)
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal=False):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask, need_weights=False,
                           is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x):
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerDecoderLayer(Module):
    """Self-attention, attention to the encoder's output, and a feed-forward network (PyTorch's
    ``nn.TransformerDecoderLayer``).

    Submodules: ``self_attn``, ``multihead_attn`` (MultiheadAttention), ``linear1``, ``dropout``,
    ``linear2``, ``norm1``, ``norm2``, ``norm3``, ``dropout1``, ``dropout2``, ``dropout3``.
    ``forward(tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
    memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False)``."""

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation=F.relu, layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device=None, dtype=None):
        super().__init__()
        check_device("TransformerDecoderLayer", device)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, batch_first=batch_first, bias=bias,
                                            dtype=dtype)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, batch_first=batch_first, bias=bias,
                                                 dtype=dtype)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.dropout3 = Dropout(dropout)
        self.activation = _activation_fn(activation)

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal: bool = False, memory_is_causal: bool = False):
        """The layer's output, of ``tgt``'s shape."""
        x = _t(tgt)
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask, memory_key_padding_mask, memory_is_causal)
            x = x + self._ff_block(self.norm3(x))
        else:
            x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
            x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask, memory_is_causal))
            x = self.norm3(x + self._ff_block(x))
        return x

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal=False):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask, is_causal=is_causal,
                           need_weights=False)[0]
        return self.dropout1(x)

    def _mha_block(self, x, mem, attn_mask, key_padding_mask, is_causal=False):
        x = self.multihead_attn(x, mem, mem, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                                is_causal=is_causal, need_weights=False)[0]
        return self.dropout2(x)

    def _ff_block(self, x):
        return self.dropout3(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerEncoder(Module):
    """``num_layers`` deep copies of ``encoder_layer`` in turn (``layers``, a ModuleList), then
    ``norm`` if given (PyTorch's ``nn.TransformerEncoder``). The copies start with equal
    parameters, as PyTorch's; re-initialise them if that is not wanted.

    ``enable_nested_tensor`` and ``mask_check`` are PyTorch's arguments for its nested-tensor
    inference path, which retrograd does not have: they are kept as attributes and change
    nothing (``use_nested_tensor`` is False)."""

    def __init__(self, encoder_layer, num_layers: int, norm=None, enable_nested_tensor: bool = True,
                 mask_check: bool = True):
        super().__init__()
        self.layers = _get_clones(encoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm
        self.enable_nested_tensor = enable_nested_tensor
        self.use_nested_tensor = False  # no nested tensors in retrograd
        self.mask_check = mask_check

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        """Every layer on ``src`` with the same masks; ``is_causal=None`` detects a causal ``mask``."""
        src = _t(src)
        src_key_padding_mask = _canonical_mask(src_key_padding_mask, "src_key_padding_mask", _dtype_or_none(mask),
                                               "mask", src.dtype)
        mask = _canonical_mask(mask, "mask", None, "", src.dtype, check_other=False)
        batch_first = self.layers[0].self_attn.batch_first
        is_causal = _detect_is_causal_mask(mask, is_causal, _get_seq_len(src, batch_first))
        output = src
        for mod in self.layers:
            output = mod(output, src_mask=mask, is_causal=is_causal, src_key_padding_mask=src_key_padding_mask)
        if self.norm is not None:
            output = self.norm(output)
        return output


class TransformerDecoder(Module):
    """``num_layers`` deep copies of ``decoder_layer`` in turn, then ``norm`` if given (PyTorch's
    ``nn.TransformerDecoder``)."""

    def __init__(self, decoder_layer, num_layers: int, norm=None):
        super().__init__()
        self.layers = _get_clones(decoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal: bool = False):
        """Every layer on ``tgt`` (attending to ``memory``); ``tgt_is_causal=None`` detects a causal ``tgt_mask``."""
        output = _t(tgt)
        seq_len = _get_seq_len(output, self.layers[0].self_attn.batch_first)
        tgt_is_causal = _detect_is_causal_mask(tgt_mask, tgt_is_causal, seq_len)
        for mod in self.layers:
            output = mod(output, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                         tgt_key_padding_mask=tgt_key_padding_mask, memory_key_padding_mask=memory_key_padding_mask,
                         tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)
        if self.norm is not None:
            output = self.norm(output)
        return output


class Transformer(Module):
    """The encoder-decoder Transformer (PyTorch's ``nn.Transformer``): ``encoder`` (a
    TransformerEncoder of ``num_encoder_layers`` layers and a final LayerNorm) reads ``src``;
    ``decoder`` (``num_decoder_layers`` layers and a LayerNorm) reads ``tgt`` and attends to the
    encoder's output. ``custom_encoder``/``custom_decoder`` replace them. Every parameter of
    two or more dims is Xavier-uniform initialised, as PyTorch's.

    ``forward(src, tgt, src_mask, tgt_mask, memory_mask, src_key_padding_mask,
    tgt_key_padding_mask, memory_key_padding_mask, src_is_causal, tgt_is_causal,
    memory_is_causal)`` → (T, N, E) ((N, T, E) with ``batch_first``). For a decoder that must
    not look ahead pass ``tgt_mask=Transformer.generate_square_subsequent_mask(T)``."""

    def __init__(self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6, num_decoder_layers: int = 6,
                 dim_feedforward: int = 2048, dropout: float = 0.1, activation=F.relu, custom_encoder=None,
                 custom_decoder=None, layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device=None, dtype=None):
        super().__init__()
        check_device("Transformer", device)
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            layer = TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                                            batch_first, norm_first, bias, dtype=dtype)
            self.encoder = TransformerEncoder(layer, num_encoder_layers,
                                              LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype))
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            layer = TransformerDecoderLayer(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                                            batch_first, norm_first, bias, dtype=dtype)
            self.decoder = TransformerDecoder(layer, num_decoder_layers,
                                              LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype))
        self._reset_parameters()
        self.d_model = d_model
        self.nhead = nhead
        self.batch_first = batch_first

    def forward(self, src, tgt, src_mask=None, tgt_mask=None, memory_mask=None, src_key_padding_mask=None,
                tgt_key_padding_mask=None, memory_key_padding_mask=None, src_is_causal=None, tgt_is_causal=None,
                memory_is_causal: bool = False):
        """The decoder's output for ``tgt`` given the encoding of ``src``."""
        src, tgt = _t(src), _t(tgt)
        batched = len(src.shape) == 3
        axis = 0 if self.batch_first else 1
        if batched and (len(tgt.shape) <= axis or src.shape[axis] != tgt.shape[axis]):
            raise TransformerError(f"Transformer: the batch number of src and tgt must be equal, got src "
                                 f"{tuple(src.shape)} and tgt {tuple(tgt.shape)} (batch axis {axis})")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise TransformerError(f"Transformer: the feature number of src and tgt must be equal to d_model "
                                 f"({self.d_model}), got src {tuple(src.shape)} and tgt {tuple(tgt.shape)}")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask, tgt_is_causal=tgt_is_causal,
                            memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device=None, dtype=None) -> Tensor:
        """The (sz, sz) causal mask: −∞ above the diagonal (position i may not attend to j > i),
        0 on and below it, in ``dtype`` (the default float dtype)."""
        return _generate_square_subsequent_mask(sz, device=device, dtype=dtype)

    def _reset_parameters(self):
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)
