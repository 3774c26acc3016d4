"""Training recipes: the benchmarks' published values, overrides, validation, stable keys."""

from __future__ import annotations

import pytest

from selfnas.errors import InvalidOption
from selfnas.train.recipes import FIELD_NAMES, Recipe, parse_options, recipe_for


def test_nb201_recipe_is_the_benchmarks():
    r = recipe_for("nb201")
    assert (r.optimizer, r.lr, r.momentum, r.nesterov) == ("sgd", 0.1, 0.9, True)
    assert (r.weight_decay, r.batch_size, r.epochs) == (5e-4, 256, 200)
    assert (r.schedule, r.schedule_unit, r.min_lr) == ("cosine", "step", 0.0)
    assert (r.cutout, r.auxiliary_weight, r.drop_path, r.grad_clip) == (0, 0.0, 0.0, 0.0)
    assert recipe_for("nb201", epochs=12).epochs == 12


def test_nb101_recipe_is_the_released_code():
    r = recipe_for("nb101")
    assert (r.optimizer, r.lr, r.momentum, r.rms_decay, r.rms_eps) == (
        "rmsprop",
        0.2,
        0.9,
        0.9,
        1.0,
    )
    assert (r.weight_decay, r.batch_size, r.epochs, r.schedule) == (1e-4, 256, 108, "cosine")
    assert r.val_fraction == 0.2  # 40k / 10k


@pytest.mark.parametrize("space", ["darts", "nb301", "DARTS"])
def test_darts_evaluation_recipe(space):
    r = recipe_for(space)
    assert (r.optimizer, r.lr, r.momentum, r.weight_decay) == ("sgd", 0.025, 0.9, 3e-4)
    assert (r.batch_size, r.epochs, r.schedule, r.schedule_unit) == (96, 600, "cosine", "epoch")
    assert (r.cutout, r.auxiliary_weight, r.drop_path, r.grad_clip) == (16, 0.4, 0.2, 5.0)


def test_every_field_overridable_and_types_normalised():
    r = recipe_for("darts", epochs=3, lr="0.05", cutout=0, amp="true", flip=False)
    assert (r.epochs, r.lr, r.cutout, r.amp, r.flip) == (3, 0.05, 0, True, False)
    assert isinstance(r.lr, float)
    assert recipe_for("nb201", crop_padding="none").crop_padding is None
    assert Recipe(lr=1).lr == 1.0 and isinstance(Recipe(lr=1).lr, float)


def test_key_is_stable_short_and_sensitive():
    base = recipe_for("nb201")
    assert base.key() == recipe_for("nb201").key()
    assert len(base.key()) == 12 and int(base.key(), 16) >= 0
    assert base.replace(lr=0.1).key() == base.key()
    assert base.replace(lr=1).key() == base.replace(lr=1.0).key() == base.replace(lr="1").key()
    assert base.replace(epochs=12).key() != base.key()
    # pinned: a changed key silently orphans every trial stored under this recipe
    assert base.key() == "339db38f7804"


def test_round_trip_through_a_dict():
    r = recipe_for("nb101", epochs=4)
    assert Recipe.from_dict(r.to_dict()) == r
    assert set(r.to_dict()) == set(FIELD_NAMES)


@pytest.mark.parametrize(
    "overrides",
    [
        {"lr": 0},
        {"lr": float("nan")},
        {"optimizer": "adam"},
        {"schedule": "step"},
        {"epochs": 0},
        {"batch_size": 2.5},
        {"momentum": 1.0},
        {"val_fraction": 0.95},
        {"drop_path": -0.1},
        {"warmup_epochs": 300},
        {"min_lr": 1.0},
        {"amp": "maybe"},
        {"no_such_field": 1},
    ],
)
def test_bad_values_are_invalid_options(overrides):
    with pytest.raises(InvalidOption):
        recipe_for("nb201", **overrides)


def test_nesterov_needs_sgd():
    with pytest.raises(InvalidOption, match="nesterov"):
        recipe_for("nb201", optimizer="rmsprop")


def test_unknown_space_and_option_text():
    with pytest.raises(InvalidOption, match="no training recipe"):
        recipe_for("nbgraph")
    assert parse_options(["lr=0.05", "batch-size=64", "amp=off", "flip=auto"]) == {
        "lr": 0.05,
        "batch_size": 64,
        "amp": False,
        "flip": None,
    }
    for bad in (["lr"], ["speed=3"], ["epochs=ten"]):
        with pytest.raises(InvalidOption):
            parse_options(bad)
