"""NAS-Bench-101 from a tfrecord in the exact official byte layout, NASLib's pickle, JSON."""

from __future__ import annotations

import base64
import json
import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import damaged, fuzz_settings, shared_file
from selfnas.benchmarks import Ledger, get_benchmark
from selfnas.benchmarks.nb101 import NB101Benchmark, parse_tfrecord
from selfnas.benchmarks.nb101_proto import model_metrics_class
from selfnas.benchmarks.tfrecord import encode_record, write_records
from selfnas.errors import DataCorrupt, DataNotFound
from selfnas.spaces.nb101 import NB101Space


def _official():
    return json.loads(shared_file("nb101/nb101_official_30.json").read_text())


def _payloads(records):
    """One record per run: the JSON list the official generator wrote."""
    metrics_cls = model_metrics_class()
    for module_hash, entry in records.items():
        adjacency = "".join(str(v) for row in entry["module_adjacency"] for v in row)
        for run in entry["runs_108_epochs"]:
            metrics = metrics_cls(
                trainable_parameters=entry["trainable_parameters"],
                total_time=run["final_training_time"] + 10.0,
            )
            metrics.evaluation_data.add(
                current_epoch=0.0,
                training_time=0.0,
                train_accuracy=0.1,
                validation_accuracy=0.1,
                test_accuracy=0.1,
            )
            for stage, epoch in (("halfway", 54.0), ("final", 108.0)):
                metrics.evaluation_data.add(
                    current_epoch=epoch,
                    training_time=run[f"{stage}_training_time"],
                    train_accuracy=run[f"{stage}_train_accuracy"],
                    validation_accuracy=run[f"{stage}_validation_accuracy"],
                    test_accuracy=run[f"{stage}_test_accuracy"],
                    checkpoint_path=f"gs://nasbench/{module_hash}/model.ckpt-{int(epoch)}",
                )
            row = [
                module_hash,
                108,
                adjacency,
                ",".join(entry["module_operations"]),
                base64.b64encode(metrics.SerializeToString()).decode("ascii"),
            ]
            yield json.dumps(row).encode("utf-8")


@pytest.fixture(scope="module")
def tfrecord(tmp_path_factory):
    path = tmp_path_factory.mktemp("nb101") / "nasbench_only108.tfrecord"
    write_records(path, _payloads(_official()))
    return path


def _expected(entry, field):
    return 100 * np.mean([run[field] for run in entry["runs_108_epochs"]])


def _check_against_json(bench):
    records = _official()
    assert len(bench.table()) == 30 and bench.fidelities() == (108,)
    for module_hash, entry in records.items():
        rec = bench.query(module_hash)
        assert rec["val_accuracy"] == pytest.approx(_expected(entry, "final_validation_accuracy"))
        assert rec["test_accuracy"] == pytest.approx(_expected(entry, "final_test_accuracy"))
        assert rec.seconds == pytest.approx(
            np.mean([r["final_training_time"] for r in entry["runs_108_epochs"]])
        )
        assert rec["params"] == entry["trainable_parameters"]
    best = max(records, key=lambda h: _expected(records[h], "final_validation_accuracy"))
    assert bench.best(metric="val_accuracy")[0] == best
    assert bench.rank(best, metric="val_accuracy") == 1


def test_tfrecord_in_official_layout_matches_the_json(tfrecord):
    _check_against_json(NB101Benchmark(tfrecord))
    _check_against_json(NB101Benchmark(tfrecord))  # from the columnar cache
    cells = parse_tfrecord(tfrecord)
    assert all(len(c[3][108]) == 3 for c in cells.values())


def test_naslib_pickle_and_official_json(tmp_path):
    records = _official()
    data = {
        h: (
            {
                "module_adjacency": np.array(e["module_adjacency"], dtype=np.int8),
                "module_operations": e["module_operations"],
                "trainable_parameters": e["trainable_parameters"],
            },
            {108: e["runs_108_epochs"]},
        )
        for h, e in records.items()
    }
    path = tmp_path / "nasbench_only108.pkl"
    path.write_bytes(pickle.dumps(data, protocol=4))
    _check_against_json(NB101Benchmark(path))
    _check_against_json(get_benchmark("nb101", path=shared_file("nb101/nb101_official_30.json")))


def test_record_hashes_are_the_spaces_canonical_hashes(tfrecord):
    space = NB101Space()
    bench = NB101Benchmark(tfrecord)
    for module_hash, entry in _official().items():
        cell = space.from_spec(entry["module_adjacency"], entry["module_operations"])
        assert bench.key(cell) == module_hash
        spec = json.dumps(
            {"adjacency": entry["module_adjacency"], "operations": entry["module_operations"]}
        )
        assert bench.query(spec).key == module_hash
    ledger = Ledger(bench)
    first = next(iter(_official()))
    ledger.query(first)
    ledger.query(first)
    assert ledger.queries == 1 and ledger.seconds == pytest.approx(bench.query(first).seconds)


def test_results_list_layout_val500():
    """NASLib's list repeats cells (one entry per raw spec / training repeat): one row per
    canonical cell, holding the mean of its entries."""
    items = json.loads(shared_file("nb101/nb101_val500.json").read_text())
    space = NB101Space()
    groups: dict[str, list[float]] = {}
    for item in items:
        cell = space.from_spec(item["adjacency"], item["operations"])
        groups.setdefault(space.hash(cell), []).append(item["val_accuracy"])
    assert 200 < len(groups) < len(items)  # the file really does repeat cells
    bench = NB101Benchmark(shared_file("nb101/nb101_val500.json"))
    assert len(bench.table()) == len(groups)
    for item in items[:50]:
        spec = {"adjacency": item["adjacency"], "operations": item["operations"]}
        key = space.hash(space.from_spec(**spec))
        assert bench.query(spec)["val_accuracy"] == pytest.approx(np.mean(groups[key]))
    assert bench.optimum(metric="val_accuracy") == pytest.approx(
        max(np.mean(v) for v in groups.values())
    )


def test_corrupt_tfrecords_raise_named_errors(tmp_path, tfrecord):
    data = tfrecord.read_bytes()
    truncated = tmp_path / "trunc.tfrecord"
    truncated.write_bytes(data[: len(data) - 7])
    with pytest.raises(DataCorrupt, match=r"trunc\.tfrecord.*(truncated|incomplete)"):
        NB101Benchmark(truncated)
    flipped = bytearray(data)
    flipped[100] ^= 0x01
    bad = tmp_path / "crc.tfrecord"
    bad.write_bytes(bytes(flipped))
    with pytest.raises(DataCorrupt, match="CRC"):
        NB101Benchmark(bad)
    with pytest.raises(DataNotFound, match="nasbench_only108"):
        NB101Benchmark(tmp_path / "absent.tfrecord")


def test_missing_default_file_names_every_option(tmp_path, monkeypatch):
    monkeypatch.setenv("SELFNAS_DATA", str(tmp_path))
    with pytest.raises(DataNotFound) as info:
        get_benchmark("nb101")
    message = str(info.value)
    assert "nasbench_only108.tfrecord" in message and "nasbench_only108.pkl" in message
    assert "storage.googleapis.com" in message


@fuzz_settings(30)
@given(payload=st.binary(max_size=300), json_like=st.booleans())
def test_fuzzed_record_contents_fail_only_with_named_errors(tmp_path, payload, json_like):
    if json_like:  # a well-framed record whose JSON content is broken
        payload = b'["' + b"a" * 32 + b'", 108, "' + payload + b'"]'
    path = tmp_path / "fuzz.tfrecord"
    write_records(path, [payload])
    with pytest.raises(DataCorrupt):
        parse_tfrecord(path)


@fuzz_settings(40)
@given(
    cut=st.integers(0, 2000),
    flips=st.lists(st.tuples(st.integers(0, 1999), st.integers(1, 255)), max_size=3),
)
def test_fuzzed_file_bytes_fail_only_with_named_errors(tmp_path, cut, flips):
    good = b"".join(encode_record(p) for p in list(_payloads(_official()))[:4])
    data = damaged(good, cut, flips, xor=True)
    path = tmp_path / "fuzz.tfrecord"
    path.write_bytes(data)
    try:
        cells = parse_tfrecord(path)
    except DataCorrupt:
        return
    # only an untouched file cut at a record boundary may parse
    assert cells and good.startswith(data)
