"""``rg.nn``: modules, layers, losses and initialisers with PyTorch's names."""

from . import functional, init, utils
from .layers import (ELU, GELU, AvgPool2d, BatchNorm1d, BatchNorm2d, BCELoss, BCEWithLogitsLoss, Conv2d,
                     CrossEntropyLoss, Dropout, Embedding, Flatten, Identity, LayerNorm, LeakyReLU, Linear,
                     LogSoftmax, MaxPool2d, MSELoss, NLLLoss, ReLU, Sigmoid, Softmax, Softplus, Tanh)
from .module import Module, ModuleList, Parameter, Sequential, StateDictError

__all__ = [
    "functional", "init", "utils", "Module", "ModuleList", "Parameter", "Sequential", "StateDictError",
    "ELU", "GELU", "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "BCELoss", "BCEWithLogitsLoss", "Conv2d",
    "CrossEntropyLoss", "Dropout", "Embedding", "Flatten", "Identity", "LayerNorm", "LeakyReLU", "Linear",
    "LogSoftmax", "MaxPool2d", "MSELoss", "NLLLoss", "ReLU", "Sigmoid", "Softmax", "Softplus", "Tanh",
]
