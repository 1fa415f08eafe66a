"""Datasets, features, training and evaluation of fusion models."""

from fusiondesk.service.training.data import Dataset, Example, load_dataset
from fusiondesk.service.training.evaluation import Evaluation
from fusiondesk.service.training.features import Features, featurize
from fusiondesk.service.training.options import TrainingOptions
from fusiondesk.service.training.pipeline import evaluate_file, train_from_file
from fusiondesk.service.training.trainer import TrainingResult, train_model

__all__ = [
    "Dataset",
    "Evaluation",
    "Example",
    "Features",
    "TrainingOptions",
    "TrainingResult",
    "evaluate_file",
    "featurize",
    "load_dataset",
    "train_from_file",
    "train_model",
]
