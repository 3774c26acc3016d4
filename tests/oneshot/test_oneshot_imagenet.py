"""ImageNet-style class folders and DARTS' ImageNet reduction stem (supernet, network, CLI)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from selfnas.errors import DataCorrupt, DataNotFound, InvalidOption, ResumeMismatch
from selfnas.oneshot.config import SearchConfig, SupernetConfig
from selfnas.oneshot.data import load_dataset, parse_imagenet_name
from selfnas.oneshot.network import MacroConfig, Network, ReductionStem, load_network, save_network
from selfnas.oneshot.supernet import Supernet
from selfnas.spaces.darts_genotype import DARTS_V2

CLASSES = ("cat", "dog", "fox")
REPO = Path(__file__).resolve().parents[2]


def _write_folder(root: Path, per_class: int = 4, val: int = 2, size=(40, 30)) -> Path:
    """root/train/<class>/*.png and root/val/<class>/*.png of random 40x30 RGB images."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for split, count in (("train", per_class), ("val", val)):
        for cls in CLASSES:
            folder = root / split / cls
            folder.mkdir(parents=True)
            for index in range(count):
                pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
                Image.fromarray(pixels).save(folder / f"{index}.png")
    return root


def _genotypes(config: MacroConfig):
    normal, reduce = DARTS_V2.cell_genotypes
    return [reduce if row[3] else normal for row in config.layout()]


# ---- data --------------------------------------------------------------------------------
def test_an_imagenet_folder_loads_at_the_asked_size_with_its_own_split(tmp_path):
    root = _write_folder(tmp_path / "inet")
    data = load_dataset(f"imagenet:{root}", image_size=32)
    assert data.train_x.shape == (12, 3, 32, 32) and data.train_x.dtype == torch.uint8
    assert data.test_x.shape == (6, 3, 32, 32)
    assert data.num_classes == 3 and data.size == (32, 32) and data.channels == 3
    assert data.train_y.tolist() == [0] * 4 + [1] * 4 + [2] * 4  # sorted class names
    assert data.test_y.tolist() == [0, 0, 1, 1, 2, 2]
    assert data.name == f"imagenet@32:{root}"
    # the name carries the size (what a run's config records) and reloads identically
    again = load_dataset(data.name)
    assert torch.equal(again.train_x, data.train_x) and torch.equal(again.test_x, data.test_x)
    # default for the layout: 224 px; the data root's imagenet/ folder when no path is given
    _write_folder(tmp_path / "dataroot" / "imagenet", per_class=1, val=1)
    big = load_dataset("imagenet", root=tmp_path / "dataroot")
    assert big.train_x.shape == (3, 3, 224, 224) and big.test_x.shape == (3, 3, 224, 224)


def test_images_are_resized_on_the_shorter_side_and_centre_cropped(tmp_path):
    from PIL import Image

    root = tmp_path / "inet"
    for split in ("train", "val"):
        (root / split / "a").mkdir(parents=True)
        # 40 wide, 20 high: black, with a white band over the centre 28 columns
        pixels = np.zeros((20, 40, 3), dtype=np.uint8)
        pixels[:, 6:34] = 255
        Image.fromarray(pixels).save(root / split / "a" / "0.png")
    data = load_dataset(f"imagenet@10:{root}")
    # shorter side 20 -> 10 (width 40 -> 20); the centre 10 columns lie in the white band,
    # a squashing resize (or a left crop) would bring in the black sides
    assert data.train_x.shape == (1, 3, 10, 10)
    assert int(data.train_x.min()) == 255


def test_bad_imagenet_folders_fail_clearly(tmp_path):
    with pytest.raises(DataNotFound, match="not found"):
        load_dataset(f"imagenet:{tmp_path / 'missing'}")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataNotFound, match="no train/ sub-folder"):
        load_dataset(f"imagenet:{tmp_path / 'empty'}")
    (tmp_path / "empty" / "train").mkdir()
    with pytest.raises(DataNotFound, match="no class sub-folders"):
        load_dataset(f"imagenet:{tmp_path / 'empty'}")

    root = _write_folder(tmp_path / "inet")
    for file in (root / "val" / "dog").iterdir():
        file.unlink()
    (root / "val" / "dog").rmdir()
    with pytest.raises(DataNotFound, match=r"class\(es\) dog of train/ missing"):
        load_dataset(f"imagenet@16:{root}")
    (root / "val" / "dog").mkdir()
    with pytest.raises(DataNotFound, match="dog: no images"):
        load_dataset(f"imagenet@16:{root}")
    (root / "val" / "dog" / "0.png").write_bytes((root / "val" / "cat" / "0.png").read_bytes())
    (root / "val" / "wolf").mkdir()
    with pytest.raises(DataCorrupt, match="wolf are not in train/"):
        load_dataset(f"imagenet@16:{root}")
    (root / "val" / "wolf").rmdir()
    (root / "train" / "cat" / "9.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(DataCorrupt, match=r"9\.jpg: not a readable image"):
        load_dataset(f"imagenet@16:{root}")
    (root / "train" / "cat" / "9.jpg").unlink()
    assert load_dataset(f"imagenet@16:{root}").test_y.tolist() == [0, 0, 1, 2, 2]  # repaired


def test_the_decoded_size_limit_is_checked_before_decoding(tmp_path, monkeypatch):
    root = _write_folder(tmp_path / "inet")
    monkeypatch.setenv("SELFNAS_MAX_IMAGE_BYTES", str(18 * 3 * 16 * 16 - 1))
    with pytest.raises(InvalidOption, match="18 images at 16 px take"):
        load_dataset(f"imagenet@16:{root}")
    monkeypatch.setenv("SELFNAS_MAX_IMAGE_BYTES", str(18 * 3 * 16 * 16))
    assert load_dataset(f"imagenet@16:{root}").train_x.shape[0] == 12


def test_imagenet_names_parse_and_reject_bad_sizes(tmp_path):
    assert parse_imagenet_name("imagenet") == (None, None)
    assert parse_imagenet_name("imagenet@64") == (64, None)
    assert parse_imagenet_name("imagenet@64:/d/x:y") == (64, "/d/x:y")
    assert parse_imagenet_name("imagenet:/d") == (None, "/d")
    assert parse_imagenet_name("imagenet10k") is None and parse_imagenet_name("cifar10") is None
    for bad in ("imagenet@big", "imagenet@4:/d"):
        with pytest.raises(InvalidOption, match="image size"):
            parse_imagenet_name(bad)
    with pytest.raises(InvalidOption, match="asks for 64 px but image_size is 32"):
        load_dataset(f"imagenet@64:{tmp_path}", image_size=32)


# ---- the reduction stem ------------------------------------------------------------------
def test_the_reduction_stem_takes_the_input_to_an_eighth_before_the_cells():
    config = MacroConfig(cells=3, channels=8, in_channels=3, stem="imagenet")
    torch.manual_seed(0)
    net = Supernet(config, head="projection", out_dim=16)
    s0, s1 = net.stem(torch.randn(2, 3, 32, 32))
    assert s0.shape == (2, 8, 8, 8) and s1.shape == (2, 8, 4, 4)  # 1/4 and 1/8 of 32 px
    # DARTS' NetworkImageNet layout: C in, first cell factorized-reduces stem0
    assert config.layout()[0] == (8, 8, 8, False, True)
    assert MacroConfig(cells=3, channels=8).layout()[0] == (24, 24, 8, False, False)
    net.sample(torch.Generator().manual_seed(0))
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 16)
    net.fix_all()
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 16)


@pytest.mark.parametrize("channels", [8, 48])
def test_the_reduction_stem_has_darts_parameter_count(channels):
    half = channels // 2
    convs = 3 * half * 9 + half * channels * 9 + channels * channels * 9
    batchnorms = 2 * (half + channels + channels)
    stem = ReductionStem(3, channels)
    assert sum(p.numel() for p in stem.parameters()) == convs + batchnorms
    # the ImageNet DARTS network (C=48): 648 + 10,368 + 20,736 conv weights
    if channels == 48:
        assert convs + batchnorms == 31_992


def test_weights_copy_one_to_one_into_the_exported_imagenet_network():
    config = MacroConfig(cells=3, channels=4, in_channels=3, stem="imagenet")
    torch.manual_seed(0)
    supernet = Supernet(config, head="projection", out_dim=8)
    supernet.sample(torch.Generator().manual_seed(1))
    supernet.train()
    supernet(torch.randn(4, 3, 32, 32))  # move BN statistics off their init
    network = supernet.to_network(_genotypes(config))
    assert isinstance(network.stem, ReductionStem)
    kept = supernet.state_dict()
    stem_keys = [key for key in network.state_dict() if key.startswith("stem.")]
    assert len(stem_keys) == 3 + 3 * 5  # 3 conv weights; 3 BNs (weight, bias, stats, count)
    for key in stem_keys:
        assert torch.equal(network.state_dict()[key], kept[key]), key
    for index, genotype in enumerate(_genotypes(config)):
        supernet.fix_cell(index, genotype)
    supernet.eval(), network.eval()
    x = torch.randn(2, 3, 32, 32)
    assert torch.allclose(supernet(x), network(x), atol=1e-6)


def test_the_exported_network_runs_at_224_px_and_round_trips(tmp_path):
    config = MacroConfig(cells=3, channels=4, in_channels=3, stem="imagenet")
    torch.manual_seed(0)
    network = Network(config, _genotypes(config), head="linear", out_dim=5).eval()
    seen = []
    network.cells[0].register_forward_hook(lambda m, i, o: seen.append((i[0].shape, i[1].shape)))
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        out = network(x)
    assert out.shape == (1, 5)
    assert seen == [((1, 4, 56, 56), (1, 4, 28, 28))]  # stem0 at 1/4, stem1 at 1/8
    save_network(network, tmp_path / "net.pt")
    loaded = load_network(tmp_path / "net.pt")
    assert loaded.config.stem == "imagenet"
    with torch.no_grad():
        assert torch.allclose(loaded(x), out, atol=1e-6)


def test_a_bad_stem_is_refused():
    with pytest.raises(InvalidOption, match="stem must be one of"):
        MacroConfig(stem="mobile")
    with pytest.raises(InvalidOption, match="stem must be one of"):
        SupernetConfig(stem="mobile")


# ---- the recorded config and resume identity ---------------------------------------------
def test_the_stem_is_recorded_and_the_default_keeps_old_identities():
    cifar = SearchConfig.from_fields(cells=3)
    assert "stem" not in cifar.to_dict() and "stem" not in cifar.identity()
    imagenet = cifar.with_fields(stem="imagenet")
    assert imagenet.to_dict()["stem"] == "imagenet"
    assert imagenet.identity() != cifar.identity()  # a resume cannot switch stems
    assert SearchConfig.from_dict(imagenet.to_dict()) == imagenet
    assert SearchConfig.from_dict(cifar.to_dict()).supernet.stem == "cifar"


def test_a_search_on_an_imagenet_folder_records_the_stem_and_resumes(tmp_path):
    from selfnas.oneshot.search import run_search

    root = _write_folder(tmp_path / "inet", per_class=6)
    config = SearchConfig.from_fields(
        dataset=f"imagenet@32:{root}",
        stem="imagenet",
        cells=3,
        channels=4,
        epochs=3,
        batch_size=4,
        device="cpu",
        threads=1,
    )
    assert run_search(config, tmp_path / "run", stop_after=1).genotypes == []  # interrupted
    with pytest.raises(ResumeMismatch, match=r"different settings \(stem\)"):  # identity
        run_search(config.with_fields(stem="cifar"), tmp_path / "run")
    result = run_search(config, tmp_path / "run")
    assert len(result.genotypes) == 3
    recorded = SearchConfig.from_dict(json.loads((tmp_path / "run" / "config.json").read_text()))
    assert recorded.supernet.stem == "imagenet" and recorded.data.dataset == config.data.dataset
    network = load_network(tmp_path / "run" / "network.pt")
    assert isinstance(network.stem, ReductionStem)


# ---- command line ------------------------------------------------------------------------
def _parse(*argv: str) -> argparse.Namespace:
    from selfnas.cli.oneshot_cmd import _add_search_options

    parser = argparse.ArgumentParser()
    _add_search_options(parser)
    return parser.parse_args(list(argv))


def test_cli_folds_the_image_size_into_the_dataset_and_picks_the_stem():
    from selfnas.cli.oneshot_cmd import _search_config

    config = _search_config(_parse("--dataset", "imagenet:/d", "--device", "cpu"))
    assert (config.data.dataset, config.supernet.stem) == ("imagenet:/d", "imagenet")
    config = _search_config(
        _parse("--dataset", "imagenet:/d", "--image-size", "32", "--device", "cpu")
    )
    assert (config.data.dataset, config.supernet.stem) == ("imagenet@32:/d", "cifar")
    config = _search_config(
        _parse("--dataset", "imagenet:/d", "--image-size", "32", "--stem", "imagenet")
    )
    assert config.supernet.stem == "imagenet"
    assert _search_config(_parse()).supernet.stem == "cifar"
    with pytest.raises(InvalidOption, match="imagenet"):
        _search_config(_parse("--dataset", "cifar10", "--image-size", "224"))
    with pytest.raises(InvalidOption, match="asks for 64 px but --image-size is 32"):
        _search_config(_parse("--dataset", "imagenet@64:/d", "--image-size", "32"))


# ---- the GPU benchmark script ------------------------------------------------------------
def test_the_gpu_benchmark_script_parses_and_fails_clearly_without_a_gpu(tmp_path):
    script = REPO / "benchmarks" / "oneshot_gpu.sh"
    assert subprocess.run(["bash", "-n", str(script)], check=False).returncode == 0
    # a PATH without nvidia-smi (bash itself is called by absolute path)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("dirname", "grep", "mkdir", "cat"):
        for folder in ("/usr/bin", "/bin"):
            if os.path.exists(f"{folder}/{tool}"):
                (bin_dir / tool).symlink_to(f"{folder}/{tool}")
                break
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path)}
    run = subprocess.run(
        ["/bin/bash", str(script)], env=env, capture_output=True, text=True, check=False
    )
    assert run.returncode == 2, run.stderr
    assert "no NVIDIA GPU" in run.stderr and "nvidia-smi" in run.stderr
    # a fake nvidia-smi that lists no GPU fails the same way
    fake = bin_dir / "nvidia-smi"
    fake.write_text("#!/bin/bash\nexit 9\n")
    fake.chmod(0o755)
    run = subprocess.run(
        ["/bin/bash", str(script)], env=env, capture_output=True, text=True, check=False
    )
    assert run.returncode == 2 and "no NVIDIA GPU" in run.stderr
