"""The fusion model and the intent classifier built on it."""

from fusiondesk.service.understanding.fusion.classifier import (
    IntentClassifier,
    Prediction,
    RankedIntent,
)
from fusiondesk.service.understanding.fusion.model import (
    Calibration,
    FusionConfig,
    FusionModel,
    SlotConfig,
)

__all__ = [
    "Calibration",
    "FusionConfig",
    "FusionModel",
    "IntentClassifier",
    "Prediction",
    "RankedIntent",
    "SlotConfig",
]
