"""TensorBoard event files written without TensorBoard: framing, schema, export."""

from __future__ import annotations

import json
import struct

import pandas as pd
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from selfnas import tracking
from selfnas.benchmarks.tfrecord import crc32c, mask, read_records


def _event_class():
    """TensorFlow's `Event`/`Summary` schema (the fields TensorBoard's scalars read), built
    with protobuf itself, so our hand encoding is checked by an independent parser."""
    f = descriptor_pb2.FileDescriptorProto(name="selfnas_test_event.proto", package="tbtest")
    value = f.message_type.add(name="Value")
    value.field.add(name="tag", number=1, type=9, label=1)
    value.field.add(name="simple_value", number=2, type=2, label=1)
    summary = f.message_type.add(name="Summary")
    summary.field.add(name="value", number=1, type=11, label=3, type_name=".tbtest.Value")
    event = f.message_type.add(name="Event")
    event.field.add(name="wall_time", number=1, type=1, label=1)
    event.field.add(name="step", number=2, type=3, label=1)
    event.field.add(name="file_version", number=3, type=9, label=1)
    event.field.add(name="summary", number=5, type=11, label=1, type_name=".tbtest.Summary")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(f)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("tbtest.Event"))


def test_event_file_is_valid_tfrecord_and_event_protobuf(tmp_path):
    with tracking.EventWriter(tmp_path) as writer:
        writer.scalars(3, {"loss": 0.25, "acc": 91.5, "skipped": "text", "nan": float("nan")})
        writer.scalars(-2, {"loss": 1.5})
    files = list(tmp_path.glob("events.out.tfevents.*"))
    assert len(files) == 1
    records = read_records(files[0])  # checks both masked CRC32Cs of every record
    assert len(records) == 3
    raw = files[0].read_bytes()
    (length,) = struct.unpack_from("<Q", raw, 0)
    assert struct.unpack_from("<I", raw, 8)[0] == mask(crc32c(raw[:8]))
    assert length == len(records[0])
    event_cls = _event_class()
    first = event_cls.FromString(records[0])
    assert first.file_version == "brain.Event:2" and first.wall_time > 1e9
    second = event_cls.FromString(records[1])
    assert second.step == 3
    values = {v.tag: v.simple_value for v in second.summary.value}
    assert values == {"loss": 0.25, "acc": 91.5}  # non-numbers and NaN are left out
    assert event_cls.FromString(records[2]).step == -2
    assert tracking.read_scalars(tmp_path) == {"loss": [(3, 0.25), (-2, 1.5)], "acc": [(3, 91.5)]}


def test_live_logging_is_off_until_configured(tmp_path, monkeypatch):
    monkeypatch.delenv(tracking.ENV, raising=False)
    tracking.log("run", 1, {"x": 1.0})  # no-op
    assert tracking.active() is None
    monkeypatch.setenv(tracking.ENV, str(tmp_path / "tb"))
    try:
        for step in range(4):
            tracking.log("pretrain/a", step, {"x": step / 2})
    finally:
        tracking.close_all()
    assert tracking.read_scalars(tmp_path / "tb" / "pretrain" / "a") == {
        "x": [(0, 0.0), (1, 0.5), (2, 1.0), (3, 1.5)]
    }


def test_export_tree_reads_histories_and_search_runs_and_is_idempotent(tmp_path):
    run = tmp_path / "runs"
    (run / "pretrain").mkdir(parents=True)
    history = [{"epoch": e, "train_loss": 1.0 / e, "phase": "search"} for e in (1, 2, 3)]
    (run / "pretrain" / "metrics.json").write_text(json.dumps({"history": history}))
    (run / "search").mkdir()
    frame = pd.DataFrame(
        {
            "strategy": ["re"] * 3 + ["random"] * 2,
            "seed": [0, 0, 0, 1, 1],
            "step": [1, 2, 3, 1, 2],
            "value": [90.0, 91.0, 89.0, 80.0, 92.0],
            "best_value": [90.0, 91.0, 91.0, 80.0, 92.0],
            "best_test": [89.0, 90.5, 90.5, 79.0, 91.0],
            "regret": [5.0, 3.5, 3.5, 15.0, 3.0],
            "rank": [40, 10, 10, 900, 5],
        }
    )
    frame.to_parquet(run / "search" / "results.parquet")
    logdir = tmp_path / "tb"
    for _ in range(2):  # the second export replaces the first
        names = tracking.export_tree(run, logdir)
    assert names == ["pretrain/metrics", "search"]
    pre = tracking.read_scalars(logdir / "pretrain" / "metrics")
    assert pre["train_loss"] == [(1, 1.0), (2, 0.5), (3, pytest.approx(1 / 3))]
    assert "phase" not in pre
    re_seed = tracking.read_scalars(logdir / "search" / "re" / "seed_0000")
    assert re_seed["search/regret"] == [(1, 5.0), (2, 3.5), (3, 3.5)]
    assert len(list((logdir / "search" / "random").rglob("events.out.tfevents.*"))) == 1


def test_every_run_command_offers_tensorboard_and_exports_its_run(tmp_path, monkeypatch, capsys):
    from selfnas.cli import _leaf_parsers, build_parser, main

    parser = build_parser()
    leaves = {leaf.prog.removeprefix("selfnas "): leaf for leaf in _leaf_parsers(parser)}
    for command in (
        "pretrain",
        "search",
        "compare",
        "oneshot search",
        "oneshot finetune",
        "predict-grid",
        "demo",
        "reproduce",
    ):
        assert "--tensorboard" in leaves[command]._option_string_actions, command
    monkeypatch.delenv(tracking.ENV, raising=False)
    status = main(
        [
            "search",
            "--benchmark",
            "nbgraph",
            "--dataset",
            "cora",
            "--metric",
            "val_accuracy",
            "--strategy",
            "re",
            "--budget",
            "12",
            "--seeds",
            "2",
            "--workers",
            "1",
            "--out",
            str(tmp_path / "run"),
            "--tensorboard",
            str(tmp_path / "tb"),
        ]
    )
    assert status == 0
    scalars = tracking.read_scalars(tmp_path / "tb")
    assert scalars["search/regret"] and all(len(p) == 2 * 12 for p in scalars.values())
    assert "tensorboard:" in capsys.readouterr().err
