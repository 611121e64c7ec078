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
]
