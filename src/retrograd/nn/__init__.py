"""``rg.nn``: modules, layers, losses and initialisers with PyTorch's names."""

from . import functional, init, utils
from .activation import (ELU, GELU, SELU, Hardtanh, LeakyReLU, LogSigmoid, LogSoftmax, Mish, ReLU, ReLU6, Sigmoid,
                         SiLU, Softmax, Softplus, Softsign, Tanh)
from .conv import AdaptiveAvgPool2d, AvgPool2d, Conv1d, Conv2d, ConvTranspose2d, MaxPool2d
from .layers import Dropout, Embedding, Flatten, Identity, Linear, Unflatten
from .loss import (BCELoss, BCEWithLogitsLoss, CosineEmbeddingLoss, CosineSimilarity, CrossEntropyLoss,
                   GaussianNLLLoss, HingeEmbeddingLoss, HuberLoss, KLDivLoss, L1Loss, MarginRankingLoss, MSELoss,
                   NLLLoss, PairwiseDistance, PoissonNLLLoss, SmoothL1Loss, SoftMarginLoss)
from .normalization import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm
from .module import IncompatibleKeys, Module, ModuleDict, ModuleList, Parameter, Sequential, StateDictError
from .attention import MultiheadAttention
from .transformer import (Transformer, TransformerDecoder, TransformerDecoderLayer, TransformerEncoder,
                          TransformerEncoderLayer)

__all__ = [
    "functional", "init", "utils", "Module", "ModuleList", "ModuleDict", "Parameter", "Sequential", "StateDictError",
    "IncompatibleKeys",
    "ELU", "GELU", "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "BCELoss", "BCEWithLogitsLoss", "Conv2d",
    "CrossEntropyLoss", "Dropout", "Embedding", "Flatten", "Unflatten", "Identity", "LayerNorm", "LeakyReLU", "Linear",
    "LogSoftmax", "MaxPool2d", "MSELoss", "NLLLoss", "ReLU", "Sigmoid", "Softmax", "Softplus", "Tanh",
    "Conv1d", "ConvTranspose2d", "SiLU", "Mish", "Hardtanh", "ReLU6", "SELU", "LogSigmoid", "Softsign",
    "L1Loss", "SmoothL1Loss", "HuberLoss", "KLDivLoss", "CosineSimilarity", "PairwiseDistance", "SoftMarginLoss",
    "MarginRankingLoss", "HingeEmbeddingLoss", "CosineEmbeddingLoss", "GaussianNLLLoss", "PoissonNLLLoss",
    "GroupNorm", "AdaptiveAvgPool2d",
    "MultiheadAttention", "Transformer", "TransformerEncoder", "TransformerEncoderLayer", "TransformerDecoder",
    "TransformerDecoderLayer",
]

# more activations, normalisations, containers, shuffles, paddings and dropouts (the *_extra files)
from .activation_extra import (CELU, GLU, PReLU, RReLU, Hardshrink, Hardsigmoid, Hardswish, Softmax2d,  # noqa: E402
                               Softmin, Softshrink, Tanhshrink, Threshold)
from . import tensor_methods  # noqa: E402,F401 - installs Tensor.hardshrink and Tensor.prelu
from .normalization_extra import (BatchNorm3d, InstanceNorm1d, InstanceNorm2d, InstanceNorm3d,  # noqa: E402
                                  LocalResponseNorm, RMSNorm)
from .containers_extra import Bilinear, ParameterDict, ParameterList  # noqa: E402
from .rearrange_extra import (ChannelShuffle, CircularPad1d, CircularPad2d, CircularPad3d,  # noqa: E402
                              ConstantPad1d, ConstantPad2d, ConstantPad3d, PixelShuffle, PixelUnshuffle,
                              ReflectionPad1d, ReflectionPad2d, ReflectionPad3d, ReplicationPad1d,
                              ReplicationPad2d, ReplicationPad3d, ZeroPad1d, ZeroPad2d, ZeroPad3d)
from .dropout_extra import AlphaDropout, Dropout1d, Dropout2d, Dropout3d, FeatureAlphaDropout  # noqa: E402

__all__ += [
    "CELU", "GLU", "Hardshrink", "Softshrink", "Tanhshrink", "Hardsigmoid", "Hardswish", "Threshold", "PReLU",
    "RReLU", "Softmin", "Softmax2d", "RMSNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d",
    "LocalResponseNorm", "BatchNorm3d", "ParameterList", "ParameterDict", "Bilinear", "PixelShuffle",
    "PixelUnshuffle", "ChannelShuffle", "ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d",
    "ConstantPad3d", "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d", "ReplicationPad2d",
    "ReplicationPad3d", "CircularPad1d", "CircularPad2d", "CircularPad3d", "Dropout1d", "Dropout2d", "Dropout3d",
    "AlphaDropout", "FeatureAlphaDropout",
]

# more convolution, pooling and resampling layers (conv.py's 1-d/3-d forms, pooling.py, resampling.py)
from .conv import Conv3d, ConvTranspose1d, ConvTranspose3d  # noqa: E402
from .pooling import (AdaptiveAvgPool1d, AdaptiveAvgPool3d, AdaptiveMaxPool1d, AdaptiveMaxPool2d,  # noqa: E402
                      AdaptiveMaxPool3d, AvgPool1d, AvgPool3d, LPPool1d, LPPool2d, LPPool3d, MaxPool1d, MaxPool3d,
                      MaxUnpool1d, MaxUnpool2d, MaxUnpool3d)
from .resampling import Fold, Unfold, Upsample, UpsamplingBilinear2d, UpsamplingNearest2d  # noqa: E402

__all__ += [
    "Conv3d", "ConvTranspose1d", "ConvTranspose3d", "MaxPool1d", "MaxPool3d", "AvgPool1d", "AvgPool3d",
    "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d", "AdaptiveAvgPool1d", "AdaptiveAvgPool3d", "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d", "AdaptiveMaxPool3d", "LPPool1d", "LPPool2d", "LPPool3d", "Upsample", "UpsamplingNearest2d",
    "UpsamplingBilinear2d", "Fold", "Unfold",
]

# the remaining losses: margin, multi-label, triplet, CTC, adaptive softmax (losses_extra.py, ctc.py, adaptive.py)
from .losses_extra import (MultiLabelMarginLoss, MultiLabelSoftMarginLoss, MultiMarginLoss,  # noqa: E402
                           TripletMarginLoss, TripletMarginWithDistanceLoss)
from .ctc import CTCLoss  # noqa: E402
from .adaptive import AdaptiveLogSoftmaxWithLoss  # noqa: E402

__all__ += ["MultiMarginLoss", "MultiLabelMarginLoss", "MultiLabelSoftMarginLoss", "TripletMarginLoss",
            "TripletMarginWithDistanceLoss", "CTCLoss", "AdaptiveLogSoftmaxWithLoss"]

# bags of embeddings (embedding_bag.py)
from .embedding_bag import EmbeddingBag  # noqa: E402

__all__ += ["EmbeddingBag"]

# lazy modules, the uninitialized tensors and nn.Buffer (lazy.py); legacy modules (legacy_extra.py)
from .lazy import (Buffer, LazyBatchNorm1d, LazyBatchNorm2d, LazyBatchNorm3d, LazyConv1d,  # noqa: E402
                   LazyConv2d, LazyConv3d, LazyConvTranspose1d, LazyConvTranspose2d, LazyConvTranspose3d,
                   LazyInstanceNorm1d, LazyInstanceNorm2d, LazyInstanceNorm3d, LazyLinear, LazyModuleMixin,
                   UninitializedBuffer, UninitializedParameter)
from .legacy_extra import CrossMapLRN2d, NLLLoss2d  # noqa: E402

__all__ += ["Buffer", "UninitializedParameter", "UninitializedBuffer", "LazyModuleMixin", "LazyLinear",
            "LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d",
            "LazyConvTranspose3d", "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d", "LazyInstanceNorm1d",
            "LazyInstanceNorm2d", "LazyInstanceNorm3d", "CrossMapLRN2d", "NLLLoss2d"]

# fractional max-pooling (fractional_pooling.py)
from .fractional_pooling import FractionalMaxPool2d, FractionalMaxPool3d  # noqa: E402

__all__ += ["FractionalMaxPool2d", "FractionalMaxPool3d"]
