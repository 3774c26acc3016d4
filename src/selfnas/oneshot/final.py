"""Final training of a one-shot run's network at DARTS' evaluation recipe.

The searched architecture (one genotype per cell, at the search's width and depth) is
built as DARTS' evaluation network (`selfnas.nets.darts.DartsNetwork`) with the auxiliary
head, and trained by the real-training loop (`selfnas.train.loop.train`) under
`recipe_for("darts", epochs)`: cutout, auxiliary loss, drop path rising linearly,
gradient clipping, cosine learning rate; checkpointed and resumable after every epoch.

`init="concomitant"` starts from the weights kept from the search: the stem, every cell
(preprocessing, the 8 kept ops, BatchNorm statistics included) and, when the search
trained a linear classifier on the same classes (`objective=supervised`), the classifier.
The auxiliary head, and the classifier after a self-supervised search (whose projection
head is dropped), start fresh. The pools keep the search's non-affine BatchNorm
(`pool_bn=True`) so the loaded network computes exactly what the searched network
computes; `init="random"` builds the same network with fresh weights.

The record lands atomically in `RUN/final/<tag>.json` (tag `<init>_e<epochs>_s<seed>`,
plus `_r<recipe key>` when recipe fields other than `epochs` are overridden) and the
checkpoint in `RUN/final/<tag>/`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from selfnas.atomic import write_json
from selfnas.errors import DataNotFound, InvalidArchitecture, InvalidOption, ResumeMismatch
from selfnas.nets.darts import DartsNetwork
from selfnas.oneshot.data import ImageData
from selfnas.oneshot.network import Network, load_network
from selfnas.runs.oneshot import OneshotRun
from selfnas.train.data import TrainData, load_train_data, split_validation
from selfnas.train.recipes import Recipe, recipe_for

INITS = ("concomitant", "random")
FINAL_DIR = "final"
SOURCE_FILE = "source.json"


def final_recipe(epochs: int | None = None, **overrides: Any) -> Recipe:
    """DARTS' evaluation recipe (600 epochs unless `epochs`), any field overridable."""
    return recipe_for("darts", epochs, **overrides)


def final_tag(init: str, recipe: Recipe, seed: int) -> str:
    """File stem of one final training in the run's `final/` folder."""
    tag = f"{init}_e{recipe.epochs}_s{seed}"
    if recipe != final_recipe(recipe.epochs):
        tag += f"_r{recipe.key()}"
    return tag


def build_final_network(searched: Network, classes: int, auxiliary: bool = True) -> DartsNetwork:
    """DARTS' evaluation network of the searched cells at the searched width and depth,
    with fresh weights (pools keep their non-affine BatchNorm, as in the search)."""
    config = searched.config
    network = DartsNetwork(
        searched.genotypes,
        in_channels=config.in_channels,
        classes=classes,
        channels=config.channels,
        cells=config.cells,
        auxiliary=auxiliary,
        pool_bn=True,
        stem=config.stem,
    )
    if network.config != config:
        raise InvalidArchitecture(
            f"the searched network's layout {config} is not DARTS' evaluation layout "
            f"{network.config}; its weights cannot be carried over"
        )
    return network


def concomitant_state(network: DartsNetwork, searched: Network) -> dict[str, Any]:
    """Map the searched network's tensors onto `network`'s names; check the mapping.

    Returns `state` (target name -> tensor, each taken from the searched network), `kept`
    and `fresh` (the target's top-level modules loaded / left at initialisation) and
    `dropped` (searched modules with no place in the network). Every tensor of the network
    outside the auxiliary head (and the classifier, when the searched head is not a
    classifier on the same classes) must be loaded, with its shape."""
    source = searched.state_dict()
    target = network.state_dict()
    classifier = network.classifier
    head = searched.head
    keep_head = (
        isinstance(head, nn.Linear)
        and head.out_features == classifier.out_features
        and head.in_features == classifier.in_features
    )
    state: dict[str, Tensor] = {}
    dropped: set[str] = set()
    for key, value in source.items():
        module = key.split(".", 1)[0]
        if module in ("stem", "cells"):
            state[key] = value
        elif module == "head" and keep_head:
            state["classifier." + key.split(".", 1)[1]] = value
        else:
            dropped.add(module)
    fresh_modules = {"auxiliary"} | (set() if keep_head else {"classifier"})
    expected = {k for k in target if k.split(".", 1)[0] not in fresh_modules}
    missing = sorted(expected - set(state))
    unexpected = sorted(set(state) - set(target))
    wrong = sorted(
        k for k in set(state) & set(target) if tuple(state[k].shape) != tuple(target[k].shape)
    )
    if missing or unexpected or wrong:
        raise InvalidArchitecture(
            "the searched network's weights do not map onto the evaluation network: "
            f"missing {missing[:5]}, unexpected {unexpected[:5]}, wrong shape {wrong[:5]}"
        )
    kept = sorted({k.split(".", 1)[0] for k in state})
    fresh = sorted(m for m in fresh_modules if any(k.startswith(m + ".") for k in target))
    return {"state": state, "kept": kept, "fresh": fresh, "dropped": sorted(dropped)}


def load_concomitant(network: DartsNetwork, searched: Network) -> dict[str, Any]:
    """Copy the searched network's weights into `network` (see `concomitant_state`);
    returns what was kept, left fresh and dropped, and how many tensors were loaded."""
    mapping = concomitant_state(network, searched)
    state = mapping.pop("state")
    result = network.load_state_dict(state, strict=False)
    if result.unexpected_keys or any(
        key.split(".", 1)[0] not in mapping["fresh"] for key in result.missing_keys
    ):  # cannot happen after concomitant_state's check; a guard against drift
        raise InvalidArchitecture(f"incomplete weight transfer: {result}")
    return {**mapping, "tensors": len(state)}


def _sha(path: Path) -> str:
    digest = hashlib.sha1()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def _train_data(run: OneshotRun, recipe: Recipe, data: ImageData | TrainData | None) -> TrainData:
    if isinstance(data, TrainData):
        return data
    if isinstance(data, ImageData):
        return split_validation(data, recipe.val_fraction)
    from selfnas.oneshot.config import SearchConfig

    search = SearchConfig.from_dict(run.read_config())
    return load_train_data(search.data.dataset, recipe.val_fraction, root=search.data.data_root)


def open_run(run_dir: str | Path) -> OneshotRun:
    """The finished one-shot run in `run_dir`, or a clear error."""
    run = OneshotRun(run_dir)
    if not run.root.is_dir():
        raise DataNotFound(f"{run.root} is not a directory: give a one-shot search's run folder")
    if not run.finished:
        raise DataNotFound(
            f"{run.root} holds no finished one-shot search (network.pt and config.json "
            "expected; run `selfnas oneshot search --out DIR` to the end first)"
        )
    return run


def final_train(
    run_dir: str | Path,
    *,
    epochs: int | None = None,
    init: str = "concomitant",
    recipe_options: Mapping[str, Any] | None = None,
    device: str | torch.device = "auto",
    seed: int = 0,
    threads: int | None = None,
    data: ImageData | TrainData | None = None,
    progress: bool = False,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Train the network of the finished one-shot run in `run_dir` at DARTS' evaluation
    recipe from `init` ("concomitant" or "random"); resumes its checkpoint, and returns
    (and records) test accuracy, epochs, recipe key and init. `data` defaults to the
    search's dataset; a finished training with the same settings is returned as recorded
    (`cached: True`)."""
    from selfnas.runtime import configure_threads
    from selfnas.train.loop import train

    if init not in INITS:
        raise InvalidOption(f"init must be one of {', '.join(INITS)}, got {init!r}")
    recipe = final_recipe(epochs, **dict(recipe_options or {}))
    run = open_run(run_dir)
    source = _sha(run.network_path)
    tag = final_tag(init, recipe, seed)
    folder = run.root / FINAL_DIR
    result_path, work = folder / f"{tag}.json", folder / tag
    identity = {"init": init, "recipe_key": recipe.key(), "seed": seed, "network_sha": source}
    if result_path.is_file():
        recorded = json.loads(result_path.read_text())
        if {k: recorded.get(k) for k in identity} == identity:
            return {**recorded, "cached": True}
    stamp = work / SOURCE_FILE
    if stamp.is_file() and json.loads(stamp.read_text()) != identity:
        raise ResumeMismatch(
            f"{work} was trained from another network.pt or settings; delete it to start over"
        )
    configure_threads(threads)
    searched = load_network(run.network_path)
    train_data = _train_data(run, recipe, data)
    if train_data.channels != searched.config.in_channels:
        raise InvalidOption(
            f"{train_data.name} has {train_data.channels}-channel images but the searched "
            f"network takes {searched.config.in_channels}"
        )
    transfer: dict[str, Any] = {}

    def factory() -> DartsNetwork:  # called by `train` under the run's seed
        network = build_final_network(
            searched, train_data.num_classes, auxiliary=recipe.auxiliary_weight > 0
        )
        if init == "concomitant":
            transfer.update(load_concomitant(network, searched))
        else:
            transfer["fresh"] = sorted({key.split(".", 1)[0] for key in network.state_dict()})
        return network

    write_json(stamp, identity)
    result = train(
        factory,
        train_data,
        recipe,
        device=device,
        seed=seed,
        checkpoint_dir=work,
        progress=progress,
        on_epoch=on_epoch,
    )
    record = {
        **identity,
        "test_accuracy": result.test_accuracy,
        "val_accuracy": result.val_accuracy,
        "epochs": result.epochs,
        "seconds": result.seconds,
        "params": result.params,
        "dataset": train_data.name,
        "tag": tag,
        "kept": transfer.get("kept", []),
        "fresh": transfer.get("fresh", []),
        "dropped": transfer.get("dropped", []),
        "loaded_tensors": transfer.get("tensors", 0),
        "genotypes": [cell.to_text() for cell in searched.genotypes],
        "channels": searched.config.channels,
        "cells": searched.config.cells,
        "recipe": recipe.to_dict(),
        "history": result.history,
    }
    write_json(result_path, record)
    return record


__all__ = [
    "FINAL_DIR",
    "INITS",
    "build_final_network",
    "concomitant_state",
    "final_recipe",
    "final_tag",
    "final_train",
    "load_concomitant",
    "open_run",
]
