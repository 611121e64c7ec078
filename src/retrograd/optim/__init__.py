"""``rg.optim``: SGD, Adagrad, RMSprop, Adam, AdamW and learning-rate schedules."""

from . import lr_scheduler
from .lr_scheduler import (ConstantLR, CosineAnnealingLR, CosineAnnealingWarmRestarts, ExponentialLR, LambdaLR,
                           LinearLR, LRScheduler, MultiplicativeLR, MultiStepLR, OneCycleLR, ReduceLROnPlateau,
                           StepLR)
from .optimizer import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop

__all__ = ["lr_scheduler", "Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "LRScheduler", "LambdaLR",
           "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR", "ExponentialLR",
           "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "OneCycleLR", "ReduceLROnPlateau"]
