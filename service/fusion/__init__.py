"""The fusion model and the intent classifier built on it."""

from service.fusion.classifier import IntentClassifier, Prediction, RankedIntent
from service.fusion.model import Calibration, FusionConfig, FusionModel, SlotConfig

__all__ = [
    "Calibration",
    "FusionConfig",
    "FusionModel",
    "IntentClassifier",
    "Prediction",
    "RankedIntent",
    "SlotConfig",
]
