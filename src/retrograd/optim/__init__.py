"""``rg.optim``: SGD, Adagrad, RMSprop, Adam, AdamW and learning-rate schedules."""

from . import lr_scheduler
from .lr_scheduler import (ConstantLR, CosineAnnealingLR, CosineAnnealingWarmRestarts, ExponentialLR, LambdaLR,
                           LinearLR, LRScheduler, MultiplicativeLR, MultiStepLR, OneCycleLR, ReduceLROnPlateau,
                           StepLR)
from .optimizer import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop
from .optimizers_extra import ASGD, Adadelta, Adamax, NAdam, RAdam, Rprop
from .lbfgs import LBFGS
from .adafactor import Adafactor
from .muon import Muon
from .schedulers_extra import ChainedScheduler, CyclicLR, PolynomialLR, SequentialLR

__all__ = ["lr_scheduler", "Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "LRScheduler", "LambdaLR",
           "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR", "ExponentialLR",
           "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "OneCycleLR", "ReduceLROnPlateau",
           "Adadelta", "Adamax", "NAdam", "RAdam", "Rprop", "ASGD", "LBFGS",
           "PolynomialLR", "CyclicLR", "SequentialLR", "ChainedScheduler", "Adafactor", "Muon"]
