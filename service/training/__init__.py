"""Datasets, features, training and evaluation of fusion models."""

from service.training.data import Dataset, Example, load_dataset
from service.training.evaluation import Evaluation
from service.training.features import Features, featurize
from service.training.pipeline import evaluate_file, train_from_file
from service.training.trainer import TrainingOptions, TrainingResult, train_model

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
