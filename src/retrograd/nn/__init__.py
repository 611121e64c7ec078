"""``rg.nn``: modules, layers, losses and initialisers with PyTorch's names."""

from . import functional, init, utils
from .layers import (ELU, GELU, SELU, AvgPool2d, BatchNorm1d, BatchNorm2d, BCELoss, BCEWithLogitsLoss, Conv1d,
                     Conv2d, ConvTranspose2d, CrossEntropyLoss, Dropout, Embedding, Flatten, Hardtanh, Identity,
                     LayerNorm, LeakyReLU, Linear, LogSigmoid, LogSoftmax, MaxPool2d, Mish, MSELoss, NLLLoss, ReLU,
                     ReLU6, Sigmoid, SiLU, Softmax, Softplus, Softsign, Tanh)
from .module import Module, ModuleList, Parameter, Sequential, StateDictError

__all__ = [
    "functional", "init", "utils", "Module", "ModuleList", "Parameter", "Sequential", "StateDictError",
    "ELU", "GELU", "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "BCELoss", "BCEWithLogitsLoss", "Conv2d",
    "CrossEntropyLoss", "Dropout", "Embedding", "Flatten", "Identity", "LayerNorm", "LeakyReLU", "Linear",
    "LogSoftmax", "MaxPool2d", "MSELoss", "NLLLoss", "ReLU", "Sigmoid", "Softmax", "Softplus", "Tanh",
    "Conv1d", "ConvTranspose2d", "SiLU", "Mish", "Hardtanh", "ReLU6", "SELU", "LogSigmoid", "Softsign",
]
