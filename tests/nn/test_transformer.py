"""nn.TransformerEncoderLayer, TransformerDecoderLayer, TransformerEncoder, TransformerDecoder and
Transformer against PyTorch 2.13 in float64: PyTorch's weights copied in through state_dict keys (which
must be PyTorch's), then the outputs and the gradients of every parameter and input compared, in eval
and train mode (dropout 0), for batch_first and norm_first both ways, each activation form, bias=False,
unbatched input and every kind of mask; the causal-mask helpers; and the refusals."""

import numpy as np
import pytest

import retrograd as rg
from retrograd import nn
from retrograd.nn import functional as F
from conftest import requires_torch, torch

pytestmark = [requires_torch, pytest.mark.filterwarnings("ignore:enable_nested_tensor is True"),
              pytest.mark.filterwarnings("ignore:Support for mismatched")]

RNG = np.random.default_rng(3)
D, NHEAD, FF, N, S, T = 8, 2, 16, 3, 5, 4  # d_model, heads, feed-forward width, batch, source and target lengths


def copy_weights(theirs, ours):
    """PyTorch's parameters (biases and norms made non-trivial first) into ours, by state_dict key."""
    with torch.no_grad():
        for p in theirs.parameters():
            if p.ndim == 1:
                p.copy_(torch.tensor(RNG.standard_normal(p.shape) * 0.5 + (p.data.mean().item() == 1)))
    state = {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
    assert list(state) == list(ours.state_dict())
    ours.load_state_dict(state)


ACTIVATIONS = {"relu": ("relu", "relu"), "gelu": ("gelu", "gelu"),
               "callable": (lambda: F.silu, lambda: torch.nn.functional.silu),
               "module": (lambda: nn.GELU(), lambda: torch.nn.GELU())}


def _activation(name, ours):
    spec = ACTIVATIONS[name][0 if ours else 1]
    return spec if isinstance(spec, str) else spec()


def make(kind, activation="relu", num_layers=2, **kw):
    """The same module on both sides, PyTorch's weights in ours."""
    kw.setdefault("dropout", 0.0)
    if kind in ("EncoderLayer", "DecoderLayer"):
        args = (D, NHEAD, FF)
        theirs = getattr(torch.nn, "Transformer" + kind)(*args, activation=_activation(activation, False), **kw)
        ours = getattr(nn, "Transformer" + kind)(*args, activation=_activation(activation, True), dtype=np.float64,
                                                 **kw)
    elif kind in ("Encoder", "Decoder"):
        norm = kw.pop("norm", False)
        layer_t = getattr(torch.nn, f"Transformer{kind}Layer")(D, NHEAD, FF, **kw)
        layer_o = getattr(nn, f"Transformer{kind}Layer")(D, NHEAD, FF, dtype=np.float64, **kw)
        extra_t = {"enable_nested_tensor": False} if kind == "Encoder" else {}
        theirs = getattr(torch.nn, "Transformer" + kind)(layer_t, num_layers, torch.nn.LayerNorm(D) if norm else None,
                                                         **extra_t)
        ours = getattr(nn, "Transformer" + kind)(layer_o, num_layers, nn.LayerNorm(D, dtype=np.float64) if norm
                                                 else None)
    else:
        theirs = torch.nn.Transformer(D, NHEAD, num_layers, num_layers, FF, activation=_activation(activation, False),
                                      **kw)
        ours = nn.Transformer(D, NHEAD, num_layers, num_layers, FF, activation=_activation(activation, True),
                              dtype=np.float64, **kw)
    theirs.double()
    copy_weights(theirs, ours)
    return theirs, ours


def _seq(length, batch_first, batched=True):
    if not batched:
        return RNG.standard_normal((length, D))
    return RNG.standard_normal((N, length, D) if batch_first else (length, N, D))


def _mask(kind, rows, cols, batched=True):
    """MultiheadAttention's convention (True = masked out); each query keeps a key."""
    shape = {"attn": (rows, cols), "attn3": (N * NHEAD, rows, cols), "kpm": (N, cols) if batched else (cols,)}
    which, dtype = kind.split("-")
    blocked = RNG.random(shape[which]) < 0.35
    blocked[..., 0] = False
    return blocked if dtype == "bool" else np.where(blocked, -np.inf, RNG.standard_normal(blocked.shape))


def run_both(theirs, ours, inputs, kwargs, training):
    """Forward on both, compare outputs; backward of Σ out·w, compare every parameter's and input's gradient."""
    theirs.train(training), ours.train(training)
    ours_in = [rg.tensor(a, requires_grad=True) for a in inputs]
    theirs_in = [torch.tensor(a, requires_grad=True) for a in inputs]
    as_t = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    out_o, out_t = ours(*ours_in, **kwargs), theirs(*theirs_in, **as_t)
    assert tuple(out_o.shape) == tuple(out_t.shape) and out_o.dtype == np.float64
    np.testing.assert_allclose(out_o.data, out_t.detach().numpy(), rtol=1e-10, atol=1e-10)
    w = RNG.standard_normal(out_o.shape)
    (out_o * rg.tensor(w)).sum().backward()
    (out_t * torch.tensor(w)).sum().backward()
    grads_t = {n: p.grad for n, p in theirs.named_parameters()}
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.data, grads_t[name].numpy(), rtol=1e-9, atol=1e-10, err_msg=name)
    for i, (o, t) in enumerate(zip(ours_in, theirs_in)):
        np.testing.assert_allclose(o.grad.data, t.grad.numpy(), rtol=1e-9, atol=1e-10, err_msg=f"input {i}")


TRAINING = pytest.mark.parametrize("training", [False, True], ids=["eval", "train"])

ENCODER_LAYER_CASES = {
    # name: (constructor kwargs, activation, forward masks, batched)
    "plain": ({}, "relu", {}, True),
    "batch_first": ({"batch_first": True}, "relu", {}, True),
    "norm_first": ({"norm_first": True}, "gelu", {}, True),
    "batch_first, norm_first": ({"batch_first": True, "norm_first": True}, "relu", {}, True),
    "callable activation": ({}, "callable", {}, True),
    "module activation": ({"batch_first": True}, "module", {}, True),
    "no bias": ({"bias": False}, "relu", {}, True),
    "eps": ({"layer_norm_eps": 1e-3}, "relu", {}, True),
    "bool src_mask": ({}, "relu", {"src_mask": "attn-bool"}, True),
    "float src_mask, 3-D": ({"batch_first": True}, "relu", {"src_mask": "attn3-float"}, True),
    "bool padding": ({"batch_first": True}, "relu", {"src_key_padding_mask": "kpm-bool"}, True),
    "both masks": ({"norm_first": True}, "gelu", {"src_mask": "attn-bool", "src_key_padding_mask": "kpm-bool"}, True),
    "float masks": ({}, "relu", {"src_mask": "attn-float", "src_key_padding_mask": "kpm-float"}, True),
    "unbatched": ({}, "relu", {"src_mask": "attn-bool", "src_key_padding_mask": "kpm-bool"}, False),
}


def _masks(spec, rows, cols, batched=True):
    return {k: _mask(v, rows, cols, batched) for k, v in spec.items()}


@TRAINING
@pytest.mark.parametrize("name", ENCODER_LAYER_CASES)
def test_encoder_layer(name, training):
    ctor, activation, masks, batched = ENCODER_LAYER_CASES[name]
    theirs, ours = make("EncoderLayer", activation, **ctor)
    run_both(theirs, ours, [_seq(S, ctor.get("batch_first", False), batched)], _masks(masks, S, S, batched), training)


def test_encoder_layer_causal_hint_makes_the_causal_mask():
    """``is_causal=True`` with a mask that is not causal: PyTorch attends causally (no padding
    mask, no weights needed: the hint wins); so does retrograd."""
    theirs, ours = make("EncoderLayer")
    run_both(theirs, ours, [_seq(S, False)], {"src_mask": np.zeros((S, S), bool), "is_causal": True}, False)


DECODER_LAYER_CASES = {
    "plain": ({}, "relu", {}, True),
    "batch_first, norm_first": ({"batch_first": True, "norm_first": True}, "gelu", {}, True),
    "norm_first": ({"norm_first": True}, "callable", {}, True),
    "no bias": ({"bias": False, "batch_first": True}, "relu", {}, True),
    "causal tgt_mask": ({}, "relu", {"tgt_mask": "causal"}, True),
    "boolean causal tgt_mask": ({"batch_first": True}, "relu", {"tgt_mask": "causal-bool"}, True),
    "every mask, bool": ({"batch_first": True}, "relu",
                         {"tgt_mask": "attn-bool", "memory_mask": "mem-bool", "tgt_key_padding_mask": "kpm-bool",
                          "memory_key_padding_mask": "mkpm-bool"}, True),
    "every mask, float": ({"norm_first": True}, "relu",
                          {"tgt_mask": "attn-float", "memory_mask": "mem-float", "tgt_key_padding_mask": "kpm-float",
                           "memory_key_padding_mask": "mkpm-float"}, True),
    "unbatched": ({}, "gelu", {"tgt_mask": "causal", "memory_key_padding_mask": "mkpm-bool"}, False),
}


def _decoder_masks(spec, batched=True):
    out = {}
    for key, kind in spec.items():
        if kind.startswith("causal"):
            out[key] = torch.nn.Transformer.generate_square_subsequent_mask(
                T, dtype=torch.bool if kind == "causal-bool" else torch.float64).numpy()
            continue
        which, dtype = kind.split("-")
        rows, cols, which = {"attn": (T, T, "attn"), "mem": (T, S, "attn"), "kpm": (T, T, "kpm"),
                             "mkpm": (T, S, "kpm")}[which]
        out[key] = _mask(f"{which}-{dtype}", rows, cols, batched)
    return out


@TRAINING
@pytest.mark.parametrize("name", DECODER_LAYER_CASES)
def test_decoder_layer(name, training):
    ctor, activation, masks, batched = DECODER_LAYER_CASES[name]
    theirs, ours = make("DecoderLayer", activation, **ctor)
    bf = ctor.get("batch_first", False)
    run_both(theirs, ours, [_seq(T, bf, batched), _seq(S, bf, batched)], _decoder_masks(masks, batched), training)


STACK_CASES = {
    "encoder": ("Encoder", {}, {"src_key_padding_mask": "kpm-bool"}),
    "encoder with norm, batch_first, causal": ("Encoder", {"norm": True, "batch_first": True}, {"mask": "causal"}),
    "encoder, norm_first, float masks": ("Encoder", {"norm_first": True},
                                         {"mask": "attn-float", "src_key_padding_mask": "kpm-float"}),
    "decoder": ("Decoder", {"norm": True}, {"tgt_mask": "causal", "memory_key_padding_mask": "mkpm-bool"}),
    "decoder, batch_first, norm_first": ("Decoder", {"batch_first": True, "norm_first": True},
                                         {"tgt_key_padding_mask": "kpm-bool", "memory_mask": "mem-bool"}),
}


@TRAINING
@pytest.mark.parametrize("name", STACK_CASES)
def test_encoder_and_decoder_stacks(name, training):
    kind, ctor, masks = STACK_CASES[name]
    theirs, ours = make(kind, **ctor)
    bf = ctor.get("batch_first", False)
    if kind == "Encoder":
        masks = {k: (torch.nn.Transformer.generate_square_subsequent_mask(S, dtype=torch.float64).numpy()
                     if v == "causal" else _mask(v, S, S)) for k, v in masks.items()}
        inputs = [_seq(S, bf)]
    else:
        masks, inputs = _decoder_masks(masks), [_seq(T, bf), _seq(S, bf)]
    run_both(theirs, ours, inputs, masks, training)


TRANSFORMER_CASES = {
    "plain": ({}, {}, True),
    "batch_first, causal target": ({"batch_first": True}, {"tgt_mask": "causal", "tgt_is_causal": True}, True),
    "norm_first, gelu, every mask": ({"norm_first": True, "activation": "gelu"},
                                     {"src_mask": "src-bool", "tgt_mask": "causal", "memory_mask": "mem-bool",
                                      "src_key_padding_mask": "skpm-bool", "tgt_key_padding_mask": "kpm-bool",
                                      "memory_key_padding_mask": "mkpm-bool"}, True),
    "no bias, float masks": ({"bias": False, "batch_first": True},
                             {"src_mask": "src-float", "memory_key_padding_mask": "mkpm-float"}, True),
    "unbatched": ({}, {"tgt_mask": "causal", "src_key_padding_mask": "skpm-bool"}, False),
}


@TRAINING
@pytest.mark.parametrize("name", TRANSFORMER_CASES)
def test_transformer(name, training):
    ctor, masks, batched = TRANSFORMER_CASES[name]
    ctor = dict(ctor)
    activation = ctor.pop("activation", "relu")
    theirs, ours = make("Transformer", activation, num_layers=1, **ctor)
    flags = {k: v for k, v in masks.items() if not isinstance(v, str)}
    src_specs = {k: v for k, v in masks.items() if isinstance(v, str) and v.startswith(("src", "skpm"))}
    kw = _decoder_masks({k: v for k, v in masks.items() if isinstance(v, str) and k not in src_specs}, batched)
    for key, kind in src_specs.items():
        which, dtype = kind.split("-")
        kw[key] = _mask(f"{'attn' if which == 'src' else 'kpm'}-{dtype}", S, S, batched)
    bf = ctor.get("batch_first", False)
    run_both(theirs, ours, [_seq(S, bf, batched), _seq(T, bf, batched)], {**kw, **flags}, training)


def test_eval_mode_ignores_dropout():
    theirs, ours = make("Transformer", num_layers=1, dropout=0.3)
    run_both(theirs, ours, [_seq(S, False), _seq(T, False)], {}, False)


def test_a_padded_source_with_no_key_left_gives_pytorchs_zeros_not_nan():
    """A batch entry whose every key is padding: the layers attend through scaled_dot_product_attention,
    which gives such a query zeros (PyTorch's ordinary path too), so the output stays finite."""
    theirs, ours = make("EncoderLayer")
    kpm = np.zeros((N, S), bool)
    kpm[1] = True
    run_both(theirs, ours, [_seq(S, False)], {"src_key_padding_mask": kpm}, False)


def test_state_dict_keys_and_structure_are_pytorchs():
    theirs = torch.nn.Transformer(D, NHEAD, 2, 1, FF, bias=False)
    ours = nn.Transformer(D, NHEAD, 2, 1, FF, bias=False)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [tuple(v.shape) for v in ours.state_dict().values()] == [tuple(v.shape) for v in
                                                                     theirs.state_dict().values()]
    layer = ours.encoder.layers[0]
    assert (layer.norm_first, layer.activation_relu_or_gelu, ours.d_model, ours.nhead) == (False, 1, D, NHEAD)
    # Transformer re-initialises every parameter with 2+ dims Xavier-uniform, as PyTorch's
    w0, w1 = (ours.encoder.layers[i].linear1.weight.data for i in (0, 1))
    assert np.abs(w0).max() <= np.sqrt(6 / (D + FF)) and not np.array_equal(w0, w1)
    encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(D, NHEAD), 2)
    a, b = (encoder.layers[i].linear1.weight for i in (0, 1))
    assert a is not b and np.array_equal(a.data, b.data)  # deep copies, equal at the start (PyTorch's warning)
    assert encoder.use_nested_tensor is False and encoder.enable_nested_tensor is True


@pytest.mark.parametrize("dtype", [None, np.float64, bool])
@pytest.mark.parametrize("size", [1, 4])
def test_generate_square_subsequent_mask(size, dtype):
    ours = nn.Transformer.generate_square_subsequent_mask(size, dtype=dtype)
    theirs = torch.nn.Transformer.generate_square_subsequent_mask(
        size, dtype={None: None, np.float64: torch.float64, bool: torch.bool}[dtype])
    assert ours.dtype == np.dtype(str(theirs.dtype).replace("torch.", "")) and not ours.requires_grad
    np.testing.assert_array_equal(ours.data, theirs.numpy())


def test_custom_encoder_and_decoder_are_used():
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(D, NHEAD, FF), 1)
    dec = nn.TransformerDecoder(nn.TransformerDecoderLayer(D, NHEAD, FF), 1)
    model = nn.Transformer(D, NHEAD, custom_encoder=enc, custom_decoder=dec)
    assert model.encoder is enc and model.decoder is dec
    assert model(rg.tensor(_seq(S, False).astype(np.float32)), rg.tensor(_seq(T, False).astype(np.float32))).shape \
        == (T, N, D)


ERRORS = {
    "activation string": (lambda lib: lib.TransformerEncoderLayer(D, NHEAD, activation="tanh"), None,
                          "activation should be relu/gelu, not tanh"),
    "nhead does not divide d_model": (lambda lib: lib.TransformerEncoderLayer(D, 3), None, None),
    "batch sizes": (lambda lib: lib.Transformer(D, NHEAD, 1, 1, FF), ((S, N, D), (T, N + 1, D)),
                    "the batch number of src and tgt must be equal"),
    "batch sizes, batch_first": (lambda lib: lib.Transformer(D, NHEAD, 1, 1, FF, batch_first=True),
                                 ((N, S, D), (N + 1, T, D)), "the batch number of src and tgt must be equal"),
    "features": (lambda lib: lib.Transformer(D, NHEAD, 1, 1, FF), ((S, N, D), (T, N, D + 1)),
                 "the feature number of src and tgt must be equal to d_model"),
    "causal hint without a mask": (lambda lib: lib.TransformerEncoderLayer(D, NHEAD, FF), ((S, N, D),),
                                   "Need attn_mask if specifying the is_causal hint"),
}


@pytest.mark.parametrize("name", ERRORS)
def test_refusals_match_pytorch(name):
    build, shapes, gist = ERRORS[name]
    kw = {"is_causal": True} if name.startswith("causal") else {}

    def attempt(lib, tensor):
        module = build(lib)
        if shapes is not None:
            module(*(tensor(RNG.standard_normal(s).astype(np.float32)) for s in shapes), **kw)

    with pytest.raises(Exception) as theirs:
        attempt(torch.nn, torch.tensor)
    with pytest.raises(type(theirs.value)) as ours:
        attempt(nn, rg.tensor)
    if gist:
        assert gist in str(theirs.value) and gist in str(ours.value)
