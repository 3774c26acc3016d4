"""Training for real: splits, batched augmentation, schedule, a short run that learns,
bit-identical resume, divergence and checkpoint identity."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from selfnas.errors import InvalidOption, ResumeMismatch, TrainingFailed
from selfnas.nets import build_network
from selfnas.spaces import get_space
from selfnas.train import TrainData, load_train_data, recipe_for, train
from selfnas.train.augment import BatchAugment, cutout, default_flip, random_crop, random_flip
from selfnas.train.loop import batch_count, lr_at

ARCH = "|skip_connect~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_1x1~0|nor_conv_1x1~1|none~2|"


@pytest.fixture(scope="module")
def digits() -> TrainData:
    return load_train_data("digits", val_fraction=0.1)


def tiny_nb201(data: TrainData):
    """A factory of the NB201 network at 4 channels and 1 cell per stage (~12k params)."""
    arch = get_space("nb201").parse(ARCH)
    return lambda: build_network("nb201", arch, data.shape, channels=4, cells=1)


def fast(**overrides):
    return recipe_for("nb201", **{"epochs": 2, "batch_size": 64, "val_fraction": 0.1, **overrides})


# --- data -------------------------------------------------------------------------------
def test_validation_is_a_stratified_share_of_the_training_split(digits):
    again = load_train_data("digits", val_fraction=0.1)
    assert torch.equal(digits.val_x, again.val_x)  # fixed cut
    n_train, n_val = len(digits.train_y), len(digits.val_y)
    assert abs(n_val / (n_train + n_val) - 0.1) < 0.01
    assert torch.bincount(digits.val_y).min() >= 13  # every class held out
    assert digits.shape.channels == 1 and digits.shape.size == 8 and digits.shape.classes == 10
    assert digits.train_x.dtype == torch.uint8 and len(digits.test_y) == 359


# --- augmentation -----------------------------------------------------------------------
def images(n=64, side=16, channels=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(1, 256, (n, channels, side, side), generator=g, dtype=torch.uint8)


def test_augment_is_deterministic_keeps_shape_and_differs_per_image():
    x = images()
    aug = BatchAugment((0.5, 0.5, 0.5), (0.25, 0.25, 0.25), padding=2, flip=True, cutout=4)
    a = aug(x, torch.Generator().manual_seed(7))
    b = aug(x, torch.Generator().manual_seed(7))
    c = aug(x, torch.Generator().manual_seed(8))
    assert a.shape == x.shape and a.dtype == torch.float32
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert x.dtype == torch.uint8  # input untouched
    plain = aug.normalise(x)
    changed = (a != plain).flatten(1).any(1)
    assert 0 < int(changed.sum()) <= len(x)


def test_random_crop_is_a_shifted_window_of_the_padded_image():
    x = images(n=32, side=8, channels=2).float()
    pad = 2
    out = random_crop(x, pad, torch.Generator().manual_seed(0))
    padded = nn.functional.pad(x, (pad, pad, pad, pad))
    offsets = set()
    for i in range(len(x)):
        hits = [
            (dy, dx)
            for dy in range(2 * pad + 1)
            for dx in range(2 * pad + 1)
            if torch.equal(out[i], padded[i, :, dy : dy + 8, dx : dx + 8])
        ]
        assert hits, f"image {i} is not a window of its padded self"
        offsets.add(hits[0])
    assert len(offsets) > 5  # offsets drawn per image, not per batch


def test_flip_mirrors_some_images_only():
    x = images(n=64).float()
    out = random_flip(x, torch.Generator().manual_seed(0))
    same = [torch.equal(o, i) for o, i in zip(out, x, strict=True)]
    mirrored = [torch.equal(o, i.flip(2)) for o, i in zip(out, x, strict=True)]
    assert all(s or m for s, m in zip(same, mirrored, strict=True))
    assert 10 < sum(mirrored) < 54
    assert not default_flip("mnist5k") and not default_flip("digits") and default_flip("cifar10")


def test_cutout_zeroes_one_square_per_image():
    x = torch.ones(200, 2, 16, 16)
    out = cutout(x, 6, torch.Generator().manual_seed(0))
    zero = out[:, 0] == 0
    assert torch.equal(out[:, 0] == 0, out[:, 1] == 0)  # same square in every channel
    rows, cols = zero.any(2), zero.any(1)
    assert torch.equal(zero, rows[:, :, None] & cols[:, None, :])  # a rectangle
    assert rows.sum(1).max() == 6 and rows.sum(1).min() >= 3  # clipped at the border
    assert (cols.sum(1) == 6).any()
    assert torch.equal(out[~zero.unsqueeze(1).expand_as(out)], x[~zero.unsqueeze(1).expand_as(x)])


# --- schedule ---------------------------------------------------------------------------
def test_learning_rate_schedules():
    r = recipe_for("nb201", epochs=10)
    assert lr_at(r, 0, 5) == pytest.approx(0.1)
    assert lr_at(r, 25, 5) == pytest.approx(0.05)
    assert lr_at(r, 49, 5) == pytest.approx(0.1 * 0.5 * (1 + math.cos(math.pi * 49 / 50)))
    per_epoch = r.replace(schedule_unit="epoch")
    assert lr_at(per_epoch, 5, 5) == lr_at(per_epoch, 9, 5) < lr_at(per_epoch, 4, 5)
    warm = r.replace(warmup_epochs=2)
    assert lr_at(warm, 0, 5) == pytest.approx(0.01) and lr_at(warm, 9, 5) == pytest.approx(0.1)
    assert lr_at(r.replace(schedule="constant"), 40, 5) == 0.1
    assert batch_count(1000, 256) == 4 and batch_count(1025, 256) == 4
    assert batch_count(1026, 256) == 5 and batch_count(10, 256) == 1


# --- training ---------------------------------------------------------------------------
def test_a_tiny_network_learns_digits(digits):
    seen = []
    result = train(tiny_nb201(digits), digits, fast(), device="cpu", seed=0, on_epoch=seen.append)
    assert result.test_accuracy > 30.0  # chance is 10%
    assert result.val_accuracy is not None and result.val_accuracy > 30.0
    assert result.params == 11766 and result.epochs == 2
    assert [h["epoch"] for h in result.history] == [1, 2] == [h["epoch"] for h in seen]
    assert result.history[1]["train_loss"] < result.history[0]["train_loss"]
    assert result.seconds == pytest.approx(sum(h["seconds"] for h in result.history))


class Interrupt(Exception):
    pass


def test_resume_after_an_interrupted_epoch_is_bit_identical(digits, tmp_path):
    recipe = fast(epochs=3)
    whole = train(tiny_nb201(digits), digits, recipe, "cpu", 1, tmp_path / "whole")

    calls = {"n": 0}
    factory = tiny_nb201(digits)

    def interrupted():
        net = factory()

        def stop_mid_epoch_two(module, inputs):
            calls["n"] += 1
            if calls["n"] == batch_count(len(digits.train_x), 64) + 3:
                raise Interrupt

        net.register_forward_pre_hook(stop_mid_epoch_two)
        return net

    with pytest.raises(Interrupt):
        train(interrupted, digits, recipe, "cpu", 1, tmp_path / "resumed")
    saved = torch.load(tmp_path / "resumed" / "checkpoint.pt", weights_only=False)
    assert saved["epoch"] == 1
    resumed = train(factory, digits, recipe, "cpu", 1, tmp_path / "resumed")

    assert resumed.test_accuracy == whole.test_accuracy
    assert resumed.val_accuracy == whole.val_accuracy
    strip = [{k: v for k, v in h.items() if k != "seconds"} for h in whole.history]
    assert [{k: v for k, v in h.items() if k != "seconds"} for h in resumed.history] == strip
    a = torch.load(tmp_path / "whole" / "checkpoint.pt", weights_only=False)
    b = torch.load(tmp_path / "resumed" / "checkpoint.pt", weights_only=False)
    assert a["model"].keys() == b["model"].keys()
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])

    again = train(factory, digits, recipe, "cpu", 1, tmp_path / "whole")  # finished: no work
    assert again.seconds == whole.seconds and again.test_accuracy == whole.test_accuracy
    with pytest.raises(ResumeMismatch):
        train(factory, digits, recipe.replace(lr=0.05), "cpu", 1, tmp_path / "whole")


def test_a_diverging_loss_raises_training_failed(digits):
    with pytest.raises(TrainingFailed, match=r"loss became (nan|inf) at epoch 1 step \d+"):
        train(tiny_nb201(digits), digits, fast(lr=1e30, epochs=1), device="cpu")


def test_data_split_must_match_the_recipe(digits):
    with pytest.raises(InvalidOption, match="validation"):
        train(tiny_nb201(digits), digits, fast(val_fraction=0.5), device="cpu")


class AuxNet(nn.Module):
    """A DARTS-like stand-in: an auxiliary head in training and a drop-path setting."""

    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU())
        self.head = nn.Linear(32, classes)
        self.auxiliary = nn.Linear(32, classes)
        self.drop_path_prob = 0.0

    def forward(self, x):
        h = self.body(x)
        return (self.head(h), self.auxiliary(h)) if self.training else self.head(h)


def test_drop_path_rises_and_auxiliary_loss_counts():
    net = AuxNet()
    probs = []
    recipe = recipe_for("darts", epochs=4, batch_size=64, cutout=0, val_fraction=0.0)
    digits = load_train_data("digits", val_fraction=0.0)
    result = train(
        net, digits, recipe, device="cpu", on_epoch=lambda _: probs.append(net.drop_path_prob)
    )
    assert probs == pytest.approx([0.0, 0.05, 0.1, 0.15])  # 0.2 * epoch / epochs, as DARTS
    assert result.val_accuracy is None and result.test_accuracy > 30.0
    assert result.params == 64 * 32 + 32 + 32 * 10 + 10  # auxiliary head left out
    torch.manual_seed(0)
    without = train(AuxNet(), digits, recipe.replace(auxiliary_weight=0.0, epochs=1), "cpu")
    torch.manual_seed(0)
    with_aux = train(AuxNet(), digits, recipe.replace(epochs=1), "cpu")
    assert with_aux.history[0]["train_loss"] > without.history[0]["train_loss"]
