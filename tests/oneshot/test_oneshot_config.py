"""SearchConfig: its parts, flat construction, and the flat record a run directory keeps."""

from __future__ import annotations

import json

import pytest

from selfnas.errors import InvalidOption
from selfnas.oneshot.config import (
    FIELD_NAMES,
    LATER_FIELDS,
    DataConfig,
    LossConfig,
    ScheduleConfig,
    SearchConfig,
    SupernetConfig,
)

# `config.json` as the search wrote it before SearchConfig was split into parts
# (benchmarks/results/oneshot_targets.json records the same object)
LEGACY_RECORD = json.loads(
    '{"dataset": "mnist5k", "data_root": null, "cells": 5, "channels": 8, "epochs": 10, '
    '"batch_size": 64, "images_per_epoch": 1280, "objective": "simclr", "temperature": 0.07, '
    '"projection_dim": 128, "prune": "fpp", "split": [0.2, 0.4, 0.4], "skip_dropout": 0.2, '
    '"max_skip": 2, "max_pool": 2, "lr": 0.025, "momentum": 0.9, "weight_decay": 4e-05, '
    '"grad_clip": 5.0, "arch_lr": 0.001, "arch_betas": [0.0, 0.999], "arch_weight_decay": 0.0, '
    '"arch_every": 5, "crop_scale": [0.3, 1.0], "flip": false, "jitter": 0.4, '
    '"grayscale_p": 0.2, "blur_p": 0.5, "seed": 0, "device": "cpu", "threads": 1, '
    '"sync_bn": false, "amp": false, "channels_last": true, "checkpoint_cells": null}'
)
RUNTIME = {"device", "threads", "sync_bn", "amp", "channels_last"}


def test_a_legacy_record_loads_into_the_parts_and_is_written_back_unchanged():
    config = SearchConfig.from_dict(LEGACY_RECORD)
    assert config.supernet == SupernetConfig(cells=5, channels=8)
    assert config.data == DataConfig(images_per_epoch=1280)
    assert config.optim.arch_betas == (0.0, 0.999) and config.schedule.split == (0.2, 0.4, 0.4)
    assert (config.runtime.device, config.runtime.threads) == ("cpu", 1)
    assert set(FIELD_NAMES) == set(LEGACY_RECORD) | set(LATER_FIELDS)
    assert config.to_dict() == LEGACY_RECORD
    # a checkpoint's identity keeps the old flat keys, so old checkpoints still resume
    assert config.identity() == {k: v for k, v in LEGACY_RECORD.items() if k not in RUNTIME}


def test_records_with_keys_from_other_versions_still_load():
    record = {**LEGACY_RECORD, "some_future_option": 1}
    del record["checkpoint_cells"]
    assert SearchConfig.from_dict(record).supernet.checkpoint_cells is None


def test_flat_fields_route_to_their_parts():
    config = SearchConfig.from_fields(cells=3, arch_lr=0.01, objective="supervised", seed=4)
    assert config.supernet.cells == 3 and config.optim.arch_lr == 0.01
    assert config.loss == LossConfig(objective="supervised") and config.seed == 4
    changed = config.with_fields(prune="bpp", skip_dropout=0.5)
    assert changed.schedule == ScheduleConfig(prune="bpp", skip_dropout=0.5)
    assert changed.supernet == config.supernet
    with pytest.raises(InvalidOption, match="unknown search settings: colour"):
        config.with_fields(colour="red")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"objective": "simsiam"}, "objective"),
        ({"skip_dropout": 1.5}, "skip dropout"),
        ({"batch_size": 1}, "batch size"),
        ({"arch_every": 0}, "arch_every"),
        ({"cells": 2}, "at least 3 cells"),
    ],
)
def test_each_part_rejects_its_invalid_settings(fields, message):
    with pytest.raises(InvalidOption, match=message):
        SearchConfig.from_fields(**fields)


def test_the_schedule_is_checked_against_the_cell_count():
    with pytest.raises(InvalidOption):
        SearchConfig.from_fields(split=(0.5, 0.5, 0.5))
    assert SearchConfig.from_fields(cells=6, epochs=4).phases().fix_times()[-1][1] == 5
