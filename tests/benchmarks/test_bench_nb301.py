"""NB301 through YAHPO Gym's ONNX surrogate: the DARTS-V2 check, encoding, batching, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import shared_file
from selfnas.benchmarks import Ledger, get_benchmark
from selfnas.benchmarks.nb301 import INPUT_NAMES, PREFIX, NB301Official, NB301Surrogate, encode
from selfnas.errors import DataCorrupt, DataNotFound, InvalidOption
from selfnas.spaces.darts import DARTS_OPS, DARTS_V2, Genotype


@pytest.fixture(scope="module")
def surrogate():
    shared_file("nb301/yahpo_nb301_surrogate.onnx")
    return get_benchmark("nb301")


def test_darts_v2_at_epoch_98(surrogate):
    record = surrogate.query(DARTS_V2, fidelity=98)
    assert record["val_accuracy"] == pytest.approx(95.46, abs=0.01)
    assert record.seconds == record["train_seconds"] > 0
    assert surrogate.query(str(DARTS_V2))["val_accuracy"] == record["val_accuracy"]


def test_encoding_follows_the_documented_edge_layout(surrogate):
    codes = json.loads(shared_file("nb301/yahpo_nb301_encoding.json").read_text())
    x = encode([DARTS_V2], surrogate.encoding)[0]
    named = dict(zip(INPUT_NAMES, x.tolist(), strict=True))
    normal = {
        f"{PREFIX}edge_normal_{i}": op
        for i, op in {
            0: "sep_conv_3x3",
            1: "sep_conv_3x3",  # node 2: inputs 0, 1
            2: "sep_conv_3x3",
            3: "sep_conv_3x3",  # node 3: edges 2..4
            5: "skip_connect",
            6: "sep_conv_3x3",  # node 4: edges 5..8
            9: "skip_connect",
            11: "dil_conv_3x3",
        }.items()
    }  # node 5: edges 9..13
    for name in INPUT_NAMES:
        if "edge_normal" in name:
            assert named[name] == codes[name][normal.get(name, "#na#")], name
    assert named[f"{PREFIX}inputs_node_normal_3"] == codes[f"{PREFIX}inputs_node_normal_3"]["0_1"]
    assert named[f"{PREFIX}inputs_node_normal_5"] == codes[f"{PREFIX}inputs_node_normal_5"]["0_2"]
    assert named[f"{PREFIX}inputs_node_reduce_4"] == codes[f"{PREFIX}inputs_node_reduce_4"]["0_2"]


def test_batches_equal_single_queries_and_fidelity_matters(surrogate):
    rng = np.random.default_rng(0)
    ops = list(DARTS_OPS)

    def cell():
        pairs = []
        for node in range(4):
            for source in rng.choice(node + 2, 2, replace=False):
                pairs.append((str(rng.choice(ops)), int(source)))
        return pairs

    genotypes = [Genotype(normal=cell(), reduce=cell()) for _ in range(20)]
    batch = surrogate.query_many(genotypes, fidelity=50)
    single = [surrogate.query(g, fidelity=50)["val_accuracy"] for g in genotypes]
    np.testing.assert_allclose(batch, single, rtol=1e-6)
    assert len(set(np.round(batch, 4))) > 1
    early = surrogate.query(DARTS_V2, fidelity=5)
    assert early["train_seconds"] < surrogate.query(DARTS_V2, fidelity=98)["train_seconds"]
    ledger = Ledger(surrogate, max_seconds=1e9)
    ledger.query(DARTS_V2)
    ledger.query(DARTS_V2)
    assert ledger.queries == 1


def test_options_and_files_fail_clearly(surrogate, tmp_path):
    with pytest.raises(InvalidOption, match="fidelity"):
        surrogate.query(DARTS_V2, fidelity=99)
    with pytest.raises(InvalidOption):
        surrogate.query(DARTS_V2, metric="test_accuracy")
    with pytest.raises(DataNotFound, match=r"yahpo"):
        NB301Surrogate(model=tmp_path / "absent.onnx")
    broken = tmp_path / "yahpo_nb301_surrogate.onnx"
    broken.write_bytes(shared_file("nb301/yahpo_nb301_surrogate.onnx").read_bytes()[:5000])
    (tmp_path / "yahpo_nb301_encoding.json").write_bytes(
        shared_file("nb301/yahpo_nb301_encoding.json").read_bytes()
    )
    with pytest.raises(DataCorrupt, match=r"yahpo_nb301_surrogate\.onnx"):
        NB301Surrogate(model=broken)
    with pytest.raises(DataNotFound, match=r"nb_models_1\.0|figshare"):
        NB301Official(tmp_path / "nb_models_1.0")
