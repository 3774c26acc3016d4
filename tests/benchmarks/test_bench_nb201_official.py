"""NAS-Bench-201 .pth and NATS-Bench -simple folders, on fixtures in the official layout."""

from __future__ import annotations

import bz2
import pickle
from collections import OrderedDict

import numpy as np
import pytest
import torch

from selfnas.benchmarks import get_benchmark
from selfnas.benchmarks.nb201_official import NB201Official
from selfnas.errors import DataCorrupt, DataNotFound
from selfnas.spaces import get_space

SETS = {
    "cifar10-valid": ("x-valid", "ori-test"),
    "cifar10": ("ori-test",),
    "cifar100": ("x-valid", "x-test", "ori-test"),
    "ImageNet16-120": ("x-valid", "x-test", "ori-test"),
}


def _result(rng, dataset, seed, epochs):
    """A ResultsCount state dict (fields as the APIs' `ResultsCount.__dict__`)."""
    accs = {f"{s}@{e}": float(rng.uniform(10, 95)) for s in SETS[dataset] for e in range(epochs)}
    return {
        "name": dataset,
        "net_state_dict": None,
        "seed": seed,
        "epochs": epochs,
        "train_acc1es": {e: float(rng.uniform(10, 99)) for e in range(epochs)},
        "train_acc5es": None,
        "train_losses": {e: 1.0 for e in range(epochs)},
        "train_times": OrderedDict((e, float(rng.uniform(5, 20))) for e in range(epochs)),
        "arch_config": {"arch_str": "x"},
        "params": 0.5,
        "flop": 80.0,
        "latency": [0.01, 0.02],
        "eval_names": list(SETS[dataset]),
        "eval_acc1es": accs,
        "eval_times": {k: 1.0 for k in accs},
        "eval_losses": {k: 1.0 for k in accs},
    }


def _arch_results(rng, index, arch, epochs):
    seeds = {
        "cifar10-valid": [777, 888],
        "cifar10": [777],
        "cifar100": [777, 888, 999],
        "ImageNet16-120": [777],
    }
    return {
        "arch_index": index,
        "arch_str": arch,
        "clear_net_done": True,
        "dataset_seed": seeds,
        "all_results": {(d, s): _result(rng, d, s, epochs) for d, ss in seeds.items() for s in ss},
    }


@pytest.fixture(scope="module")
def archive():
    rng = np.random.default_rng(0)
    space = get_space("nb201")
    meta = [space.format(a) for a in space.sample(5, np.random.default_rng(3))]
    infos = {
        i: {"less": _arch_results(rng, i, meta[i], 12), "full": _arch_results(rng, i, meta[i], 200)}
        for i in range(4)
    }
    return meta, infos


def _expected(state, dataset, set_name):
    runs = [state["all_results"][(dataset, s)] for s in state["dataset_seed"][dataset]]
    return np.mean([r["eval_acc1es"][f"{set_name}@{r['epochs'] - 1}"] for r in runs])


def _check(bench, meta, infos):
    assert bench.datasets == ("cifar10-valid", "cifar10", "cifar100", "ImageNet16-120")
    assert bench.fidelities() == (12, 200)
    assert len(bench.table()) == 4  # only the evaluated archs
    for index in range(4):
        for epochs, hp in ((12, "less"), (200, "full")):
            state = infos[index][hp]
            rec = bench.query(meta[index], "cifar100", fidelity=epochs)
            assert rec["val_accuracy"] == pytest.approx(_expected(state, "cifar100", "x-valid"))
            assert rec["test_accuracy"] == pytest.approx(_expected(state, "cifar100", "x-test"))
            rec10 = bench.query(meta[index], "cifar10", fidelity=epochs)
            assert rec10["test_accuracy"] == pytest.approx(_expected(state, "cifar10", "ori-test"))
            # cifar10 has no validation split: the APIs use cifar10-valid's x-valid
            assert rec10["val_accuracy"] == pytest.approx(
                _expected(state, "cifar10-valid", "x-valid")
            )
            run = state["all_results"][("cifar10", 777)]
            total = sum(run["train_times"].values())
            assert rec10.seconds == pytest.approx(total)
            assert rec10["epoch_seconds"] == pytest.approx(total / epochs)
            assert rec10["latency"] == pytest.approx(0.015)


def test_pth_layout(tmp_path, archive):
    meta, infos = archive
    path = tmp_path / "NAS-Bench-201-v1_1-096897.pth"
    torch.save(
        {
            "meta_archs": meta,
            "arch2infos": infos,
            "evaluated_indexes": [0, 1, 2, 3],
            "total_archs": len(meta),
        },
        path,
    )
    _check(NB201Official(path), meta, infos)
    _check(get_benchmark("nb201", path=path), meta, infos)  # cached reload


def test_nats_simple_folder(tmp_path, archive):
    meta, infos = archive
    folder = tmp_path / "NATS-tss-v1_0-3ffb9-simple"
    folder.mkdir()
    with bz2.open(folder / "meta.pickle.pbz2", "wb") as handle:
        pickle.dump({"meta_archs": meta, "arch2infos": {}, "evaluated_indexes": []}, handle)
    for index, by_hp in infos.items():
        with bz2.open(folder / f"{index:06d}.pickle.pbz2", "wb") as handle:
            pickle.dump({"12": by_hp["less"], "200": by_hp["full"]}, handle)
    _check(NB201Official(folder), meta, infos)


class Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_bad_official_files(tmp_path):
    with pytest.raises(DataNotFound):
        NB201Official(tmp_path / "missing.pth")
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"\x80\x04garbage")
    with pytest.raises(DataCorrupt, match=r"bad\.pth"):
        NB201Official(bad)
    folder = tmp_path / "nats"
    folder.mkdir()
    with bz2.open(folder / "meta.pickle.pbz2", "wb") as handle:
        pickle.dump({"meta_archs": [Evil()]}, handle)
    with pytest.raises(DataCorrupt, match="refusing"):
        NB201Official(folder)
