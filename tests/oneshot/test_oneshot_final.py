"""Final training of a searched network at DARTS' evaluation recipe (`oneshot train`)."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from conftest import tiny_search_config
from selfnas.errors import (
    DataCorrupt,
    DataNotFound,
    InvalidArchitecture,
    InvalidOption,
    ResumeMismatch,
)
from selfnas.nets.darts import DartsNetwork
from selfnas.oneshot.data import ImageData
from selfnas.oneshot.final import (
    build_final_network,
    final_recipe,
    final_tag,
    final_train,
    load_concomitant,
)
from selfnas.oneshot.network import load_network, save_network
from selfnas.oneshot.search import run_search
from selfnas.spaces.darts_genotype import POOL_OPS


@pytest.fixture(scope="module")
def simclr_run(tmp_path_factory, tiny_mnist):
    root = tmp_path_factory.mktemp("simclr")
    run_search(tiny_search_config(epochs=3, max_pool=None), root, data=tiny_mnist)
    return root


@pytest.fixture(scope="module")
def supervised_run(tmp_path_factory, tiny_mnist):
    root = tmp_path_factory.mktemp("supervised")
    run_search(
        tiny_search_config(epochs=3, max_pool=None, objective="supervised", seed=4),
        root,
        data=tiny_mnist,
    )
    return root


def _copy(run, target):
    """A fresh copy of a finished search (no `final/` folder)."""
    shutil.copytree(run, target, ignore=shutil.ignore_patterns("final"))
    return target


def _images(seed: int = 0) -> torch.Tensor:
    return torch.randn(6, 1, 16, 16, generator=torch.Generator().manual_seed(seed))


def test_concomitant_weights_map_completely_and_reproduce_the_searched_features(simclr_run):
    searched = load_network(simclr_run / "network.pt")
    torch.manual_seed(0)
    network = build_final_network(searched, classes=10, auxiliary=True)
    report = load_concomitant(network, searched)
    assert report["kept"] == ["cells", "stem"]
    assert report["fresh"] == ["auxiliary", "classifier"]  # the projection head has no place
    assert report["dropped"] == ["head"]
    source, target = searched.state_dict(), network.state_dict()
    loaded = [k for k in target if not k.startswith(("auxiliary.", "classifier."))]
    assert report["tensors"] == len(loaded) == len(source) - len(searched.head.state_dict())
    for key in loaded:  # every loaded tensor is the searched network's, under the same name
        assert torch.equal(target[key], source[key]), key
    # the searched cells, per position, at the searched width and depth
    assert network.cell_genotypes == searched.genotypes
    assert network.config == searched.config
    x = _images()
    searched.eval()
    network.eval()
    with torch.no_grad():
        assert torch.equal(network.features(x), searched.features(x))
        network.drop_path_prob = 0.3  # eval mode: no drop path, no auxiliary output
        assert network(x).shape == (6, 10)
    # the searched cells hold pools, whose BatchNorm statistics DARTS' bare pools would drop
    assert any(cell.count(POOL_OPS) for cell in searched.genotypes)
    bare = DartsNetwork(searched.genotypes, 1, 10, channels=4, cells=3, auxiliary=True)
    with pytest.raises(InvalidArchitecture, match="unexpected"):
        load_concomitant(bare, searched)
    # a fresh network of the same architecture computes something else
    fresh = build_final_network(searched, classes=10, auxiliary=True).eval()
    with torch.no_grad():
        assert not torch.allclose(fresh.features(x), searched.features(x), atol=1e-3)


def test_a_supervised_search_keeps_its_classifier_and_its_logits(supervised_run):
    searched = load_network(supervised_run / "network.pt")
    assert searched.head_kind == "linear" and searched.out_dim == 10
    network = build_final_network(searched, classes=10, auxiliary=False)
    report = load_concomitant(network, searched)
    assert report["kept"] == ["cells", "classifier", "stem"]
    assert report["fresh"] == [] and report["dropped"] == []
    assert report["tensors"] == len(network.state_dict()) == len(searched.state_dict())
    x = _images(1)
    with torch.no_grad():
        assert torch.equal(network.eval()(x), searched.eval()(x))
        # training mode, drop path off and no auxiliary head: the same batch statistics
        searched.train()
        network.train()
        assert torch.allclose(network(x), searched(x), atol=1e-6)
    with_aux = build_final_network(searched, classes=10, auxiliary=True)
    load_concomitant(with_aux, searched)
    with torch.no_grad():
        assert torch.equal(with_aux.eval()(x), searched.eval()(x))


def test_an_imagenet_stem_network_transfers_too(simclr_run):
    """A network searched with DARTS' ImageNet reduction stem (per-cell genotypes of the
    tiny run, 3-channel 64 px inputs): stem0/stem1 and the cells load, features equal."""
    from selfnas.oneshot.network import MacroConfig, Network

    genotypes = load_network(simclr_run / "network.pt").genotypes
    torch.manual_seed(0)
    config = MacroConfig(cells=3, channels=4, in_channels=3, stem="imagenet")
    searched = Network(config, genotypes, head="linear", out_dim=5)
    x = torch.randn(4, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    searched.train()
    with torch.no_grad():
        searched(x)  # move the BatchNorm running statistics off their initial values
    network = build_final_network(searched, classes=5, auxiliary=True)
    assert network.config == config
    report = load_concomitant(network, searched)
    assert report["kept"] == ["cells", "classifier", "stem"] and report["fresh"] == ["auxiliary"]
    assert any(k.startswith("stem.stem1.") for k in network.state_dict())
    with torch.no_grad():
        assert torch.equal(network.eval()(x), searched.eval()(x))


def test_pools_keep_the_search_batchnorm_so_the_transfer_is_exact():
    """A cell with both pools: the evaluation network of a one-shot run keeps the pools'
    non-affine BatchNorm (with running statistics to load); DARTS' own keeps them bare."""
    from selfnas.spaces.darts_genotype import CellGenotype

    normal = CellGenotype(
        ops=(
            ("max_pool_3x3", 0),
            ("avg_pool_3x3", 1),
            ("sep_conv_3x3", 0),
            ("skip_connect", 2),
            ("dil_conv_3x3", 1),
            ("sep_conv_5x5", 3),
            ("dil_conv_5x5", 0),
            ("skip_connect", 4),
        ),
        reduction=False,
    )
    reduce = CellGenotype(ops=normal.ops, reduction=True)
    cells = [normal, reduce, reduce]
    kept = DartsNetwork(cells, 1, 10, channels=4, cells=3, pool_bn=True)
    bare = DartsNetwork(cells, 1, 10, channels=4, cells=3)
    assert any("running_mean" in k and "edges.0." in k for k in kept.state_dict())
    assert not any("edges.0." in k for k in bare.state_dict())
    assert {name for name, _ in normal.ops} >= set(POOL_OPS)


def test_final_training_from_concomitant_and_random_records_the_result(
    simclr_run, tmp_path, tiny_mnist
):
    run = _copy(simclr_run, tmp_path / "run")
    data = tiny_mnist  # passed in: the search's config names mnist5k
    results = {}
    for init in ("concomitant", "random"):
        results[init] = final_train(run, epochs=2, init=init, device="cpu", seed=1, data=data)
    recipe = final_recipe(2)
    assert recipe.cutout == 16 and recipe.auxiliary_weight == 0.4 and recipe.drop_path == 0.2
    for init, result in results.items():
        path = run / "final" / f"{init}_e2_s1.json"
        assert json.loads(path.read_text()) == json.loads(json.dumps(result))
        assert result["init"] == init and result["epochs"] == 2 == len(result["history"])
        assert result["recipe_key"] == recipe.key() and result["recipe"]["cutout"] == 16
        assert 0.0 <= result["test_accuracy"] <= 100.0
        assert (run / "final" / f"{init}_e2_s1" / "checkpoint.pt").is_file()
    assert results["concomitant"]["kept"] == ["cells", "stem"]
    assert results["concomitant"]["fresh"] == ["auxiliary", "classifier"]
    assert results["random"]["kept"] == [] and results["random"]["loaded_tensors"] == 0
    assert "auxiliary" in results["random"]["fresh"]
    # the two starts trained differently (same data, recipe and seed)
    a = torch.load(run / "final" / "concomitant_e2_s1" / "checkpoint.pt", weights_only=False)
    b = torch.load(run / "final" / "random_e2_s1" / "checkpoint.pt", weights_only=False)
    assert not torch.equal(a["model"]["stem.0.weight"], b["model"]["stem.0.weight"])
    assert "auxiliary.classifier.weight" in a["model"]  # trained with the auxiliary head
    # a finished training is returned as recorded
    again = final_train(run, epochs=2, init="random", device="cpu", seed=1, data=data)
    assert again["cached"] is True and again["seconds"] == results["random"]["seconds"]
    # an overridden recipe field gets its own record
    tag = final_tag("random", final_recipe(2, cutout=0), 1)
    assert tag == f"random_e2_s1_r{final_recipe(2, cutout=0).key()}"


class Interrupt(Exception):
    pass


def test_an_interrupted_final_training_resumes_exactly(simclr_run, tmp_path, tiny_mnist):
    whole_run = _copy(simclr_run, tmp_path / "whole")
    cut_run = _copy(simclr_run, tmp_path / "cut")
    data = tiny_mnist
    options = {"batch_size": 16}  # several steps per epoch
    whole = final_train(
        whole_run, epochs=3, recipe_options=options, device="cpu", seed=2, data=data
    )

    def stop_after_first(record):
        if record["epoch"] == 1:
            raise Interrupt

    with pytest.raises(Interrupt):
        final_train(
            cut_run,
            epochs=3,
            recipe_options=options,
            device="cpu",
            seed=2,
            data=data,
            on_epoch=stop_after_first,
        )
    tag = final_tag("concomitant", final_recipe(3, **options), 2)
    saved = torch.load(cut_run / "final" / tag / "checkpoint.pt", weights_only=False)
    assert saved["epoch"] == 1 and not (cut_run / "final" / f"{tag}.json").exists()
    resumed = final_train(
        cut_run, epochs=3, recipe_options=options, device="cpu", seed=2, data=data
    )
    assert "cached" not in resumed
    assert resumed["test_accuracy"] == whole["test_accuracy"]
    assert resumed["val_accuracy"] == whole["val_accuracy"]
    drop = [{k: v for k, v in h.items() if k != "seconds"} for h in whole["history"]]
    assert [{k: v for k, v in h.items() if k != "seconds"} for h in resumed["history"]] == drop
    a = torch.load(whole_run / "final" / tag / "checkpoint.pt", weights_only=False)["model"]
    b = torch.load(cut_run / "final" / tag / "checkpoint.pt", weights_only=False)["model"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    # the same folder after the search's network changed: refused, not silently resumed
    (cut_run / "final" / f"{tag}.json").unlink()
    network = load_network(cut_run / "network.pt")
    with torch.no_grad():
        network.stem[0].weight.add_(1.0)
    save_network(network, cut_run / "network.pt")
    with pytest.raises(ResumeMismatch, match=r"another network\.pt"):
        final_train(cut_run, epochs=3, recipe_options=options, device="cpu", seed=2, data=data)


def test_bad_run_directories_and_options_are_clear_errors(simclr_run, tmp_path, tiny_mnist):
    with pytest.raises(DataNotFound, match="not a directory"):
        final_train(tmp_path / "nothing", epochs=1, device="cpu")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataNotFound, match="no finished one-shot search"):
        final_train(tmp_path / "empty", epochs=1, device="cpu")
    broken = _copy(simclr_run, tmp_path / "broken")
    (broken / "network.pt").write_bytes(b"not a network")
    with pytest.raises(DataCorrupt, match=r"network\.pt"):
        final_train(broken, epochs=1, device="cpu", data=tiny_mnist)
    run = _copy(simclr_run, tmp_path / "run")
    with pytest.raises(InvalidOption, match="init"):
        final_train(run, epochs=1, init="simclr", device="cpu", data=tiny_mnist)
    with pytest.raises(InvalidOption, match="unknown recipe field"):
        final_train(run, epochs=1, recipe_options={"colour": 1}, device="cpu", data=tiny_mnist)
    rgb = ImageData(
        "rgb",
        tiny_mnist.train_x.expand(-1, 3, -1, -1).contiguous(),
        tiny_mnist.train_y,
        tiny_mnist.test_x.expand(-1, 3, -1, -1).contiguous(),
        tiny_mnist.test_y,
        10,
    )
    with pytest.raises(InvalidOption, match="3-channel"):
        final_train(run, epochs=1, device="cpu", data=rgb)


def test_cli_trains_a_searched_network_and_reports_errors(tmp_path, capsys):
    from selfnas.cli import main

    run = tmp_path / "run"
    config = tiny_search_config(
        max_pool=None, dataset="digits", epochs=2, images_per_epoch=32, channels=4
    )
    run_search(config, run)
    argv = ["oneshot", "train", str(run), "--epochs", "1", "--device", "cpu", "--json"]
    argv += ["--recipe-option", "cutout=4", "--init", "random", "--seed", "5"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["init"] == "random" and report["epochs"] == 1 and report["dataset"] == "digits"
    assert report["recipe_key"] == final_recipe(1, cutout=4).key()
    assert (run / "final" / f"{report['tag']}.json").is_file()
    (tmp_path / "empty").mkdir()
    assert main(["oneshot", "train", str(tmp_path / "empty"), "--json"]) == 2
    assert "no finished one-shot search" in capsys.readouterr().err
    assert main([*argv[:3], "--recipe-option", "colour=red"]) == 2
    assert "recipe option" in capsys.readouterr().err
