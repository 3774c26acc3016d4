"""Training an architecture for real: the benchmarks' recipes, data splits, augmentation
and a resumable training loop (`selfnas train`).

`recipe_for(space)` gives a benchmark's own recipe, `load_train_data(name, val_fraction)`
its train/validation/test splits, and `train(network, data, recipe)` the trained
network's validation and test accuracy.
"""

from __future__ import annotations

from selfnas.train.data import TrainData, load_train_data, split_validation
from selfnas.train.loop import TrainResult, train
from selfnas.train.recipes import Recipe, parse_options, recipe_for

__all__ = [
    "Recipe",
    "TrainData",
    "TrainResult",
    "load_train_data",
    "parse_options",
    "recipe_for",
    "split_validation",
    "train",
]
