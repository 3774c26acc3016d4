"""NAS-Bench-Graph from the pip package: all nine datasets, metrics against the raw tables."""

from __future__ import annotations

import nas_bench_graph
import numpy as np
import pytest

from selfnas.benchmarks import get_benchmark
from selfnas.benchmarks.nbgraph import DATASETS
from selfnas.errors import InvalidArchitecture, InvalidOption


@pytest.mark.parametrize("dataset", DATASETS)
def test_every_dataset_matches_the_package(dataset):
    bench = get_benchmark("nbgraph", dataset=dataset)
    raw = nas_bench_graph.light_read(dataset)
    table = bench.table()
    assert len(table) == len(raw) == (2021 if dataset == "proteins" else 26206)
    best_id = max(raw, key=lambda k: raw[k]["perf"])
    assert bench.best(metric="test_accuracy") == (str(best_id), 100 * raw[best_id]["perf"])
    key = sorted(raw)[len(raw) // 2]
    rec = bench.query(key)
    assert rec["val_accuracy"] == pytest.approx(100 * raw[key]["valid_perf"])
    assert rec["latency"] == pytest.approx(raw[key]["latency"])
    assert rec["params"] == pytest.approx(raw[key]["para"])
    assert rec.seconds is None


def test_archs_of_the_space_and_isomorphs_share_an_entry():
    bench = get_benchmark("nbgraph")
    arch = nas_bench_graph.Arch([0, 0, 0, 2], ["gcn", "gat", "sage", "fc"])  # not canonical
    rec = bench.query(arch)
    assert rec.key == str(arch.valid_hash()) and int(rec.key) in nas_bench_graph.light_read("cora")
    space_mod = pytest.importorskip("selfnas.spaces.nbgraph")
    space_arch = space_mod.NBGraphArch([0, 0, 0, 2], ["gcn", "gat", "sage", "fc"])
    assert bench.key(space_arch) == rec.key
    ranks = bench.table().ranks("val_accuracy")
    assert bench.rank(arch, metric="val_accuracy") == ranks[bench.table().row(rec.key)]


def test_bad_queries():
    bench = get_benchmark("nbgraph")
    with pytest.raises(InvalidOption, match="choose one of"):
        bench.query(0, dataset="mnist")
    with pytest.raises(InvalidArchitecture):
        bench.query(99999)
    gat_only = nas_bench_graph.Arch([0, 0, 0, 0], ["gat"] * 4)
    bench.query(gat_only, "cora")
    with pytest.raises(InvalidArchitecture):  # proteins allows five ops only
        bench.query(gat_only, "proteins")
    assert np.isfinite(bench.optimum("proteins", "val_accuracy"))
