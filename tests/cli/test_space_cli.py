"""`selfnas spaces`, `selfnas space ...` and `selfnas demo`, run in-process."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from selfnas.cli import main
from selfnas.spaces import get_space

NB201_CELL = "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_one_line_error(status: int, err: str, fragment: str) -> None:
    assert status == 2
    lines = [line for line in err.splitlines() if not line.startswith("note:")]
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0]


def test_spaces_json(capsys):
    status, out, _ = run(capsys, "spaces", "--json")
    assert status == 0
    rows = {row["name"]: row for row in json.loads(out)}
    assert all(set(row) == {"name", "size", "unique", "ops"} for row in rows.values())
    assert rows["nb201"]["size"] == 15625 and rows["nb201"]["unique"] == 6466
    assert rows["nb201"]["ops"] == list(get_space("nb201").candidate_ops)
    assert rows["nbgraph"]["size"] == 26206
    assert rows["darts"]["size"] == 1037664180**2 and rows["darts"]["unique"] is None
    assert len(rows["darts"]["ops"]) == 7
    assert rows["nb101"]["size"] == rows["nb101"]["unique"] == 423624


def test_spaces_table(capsys):
    status, out, _ = run(capsys, "spaces")
    assert status == 0
    for fragment in ("nb201", "15,625", "6,466", "darts", "nbgraph", "26,206"):
        assert fragment in out


@pytest.mark.parametrize("suffix", [".txt", ".parquet", ".npz"])
def test_enumerate_nb201(capsys, tmp_path, suffix):
    out_file = tmp_path / f"nb201{suffix}"
    status, out, _ = run(capsys, "space", "enumerate", "nb201", "--out", str(out_file), "--json")
    assert status == 0
    report = json.loads(out)
    assert set(report) == {"count", "seconds"} and report["count"] == 15625
    space = get_space("nb201")
    if suffix == ".txt":
        lines = out_file.read_text().splitlines()
        assert len(lines) == 15625 and {space.parse(x) for x in lines} == set(space.enumerate())
    elif suffix == ".parquet":
        frame = pd.read_parquet(out_file)
        assert list(frame.columns) == ["index", "arch", "hash"] and len(frame) == 15625
        assert frame["arch"].nunique() == 15625
    else:
        with np.load(out_file) as data:
            assert data["adj"].shape == (15625, 8, 8) and data["ops"].shape == (15625, 8)
            assert tuple(data["op_names"]) == space.node_ops
            cell = space.parse(str(data["text"][123]))
            assert space.decode(data["adj"][123], data["ops"][123]) == cell
    assert [p.name for p in tmp_path.iterdir()] == [out_file.name]  # no temporary left


def test_enumerate_nbgraph_counts_the_table(capsys, tmp_path):
    out_file = tmp_path / "nbgraph.txt"
    status, out, _ = run(capsys, "space", "enumerate", "nbgraph", "--out", str(out_file), "--json")
    assert status == 0 and json.loads(out)["count"] == 26206
    assert len(out_file.read_text().splitlines()) == 26206


def test_enumerate_darts_is_a_clear_error(capsys, tmp_path):
    status, _, err = run(capsys, "space", "enumerate", "darts", "--out", str(tmp_path / "d.txt"))
    assert_one_line_error(status, err, "cannot be enumerated")
    assert not (tmp_path / "d.txt").exists()


def test_sample_is_seeded(capsys):
    status, first, _ = run(capsys, "space", "sample", "nb201", "-n", "5", "--seed", "3")
    assert status == 0
    _, again, _ = run(capsys, "space", "sample", "nb201", "-n", "5", "--seed", "3")
    _, other, _ = run(capsys, "space", "sample", "nb201", "-n", "5", "--seed", "4")
    lines = first.splitlines()
    assert len(lines) == 5 and first == again and first != other
    space = get_space("nb201")
    assert all(space.format(space.parse(line)) == line for line in lines)
    status, out, _ = run(capsys, "space", "sample", "darts", "-n", "2", "--json")
    report = json.loads(out)
    assert report["space"] == "darts" and len(report["archs"]) == 2
    assert all(get_space("darts").parse(text) for text in report["archs"])


def test_hash_nb201_keeps_going_past_bad_lines(capsys, tmp_path):
    source = tmp_path / "cells.txt"
    source.write_text(f"{NB201_CELL}\nnot a cell\n\n|conv~0|+|none~0|none~1|+|a~0|b~1|c~2|\n")
    status, out, _ = run(capsys, "space", "hash", "nb201", "--input", str(source))
    assert status == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) == 3
    assert records[0] == {"hash": NB201_CELL, "arch": NB201_CELL}
    assert "node groups" in records[1]["error"]
    assert "unknown op 'conv'" in records[2]["error"]


def test_hash_reads_stdin(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("link=0,1,2,3;ops=gcn,gat,sage,gin\n{oops\n"))
    status, out, _ = run(capsys, "space", "hash", "nbgraph", "--input", "-")
    assert status == 0
    first, second = (json.loads(line) for line in out.splitlines())
    assert first["arch"] == "link=0,1,2,3;ops=gcn,gat,sage,gin"
    assert first["hash"] == get_space("nbgraph").hash(get_space("nbgraph").parse(first["arch"]))
    assert "error" in second


def test_hash_nb101_lines(capsys, tmp_path):
    good = {
        "adjacency": [
            [0, 1, 1, 0, 0, 0, 0],
            [0, 0, 0, 1, 0, 0, 0],
            [0, 0, 0, 0, 1, 0, 0],
            [0, 0, 0, 0, 0, 1, 0],
            [0, 0, 0, 0, 0, 1, 0],
            [0, 0, 0, 0, 0, 0, 1],
            [0, 0, 0, 0, 0, 0, 0],
        ],
        "operations": [
            "input",
            "conv3x3-bn-relu",
            "conv1x1-bn-relu",
            "maxpool3x3",
            "conv3x3-bn-relu",
            "conv3x3-bn-relu",
            "output",
        ],
    }
    cyclic = {**good, "adjacency": [row[:] for row in good["adjacency"]]}
    cyclic["adjacency"][3][1] = 1
    lines = [
        json.dumps(good),
        "{not json",
        json.dumps({"adjacency": good["adjacency"]}),
        json.dumps({**good, "operations": ["input", "conv9x9", *good["operations"][2:]]}),
        json.dumps(good),
    ]
    source = tmp_path / "specs.jsonl"
    source.write_text("\n".join(lines) + "\n")
    status, out, _ = run(capsys, "space", "hash", "nb101", "--input", str(source))
    assert status == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) == 5
    assert set(records[0]) == {"hash", "adjacency", "operations"}
    assert len(records[0]["hash"]) == 32 and records[4] == records[0]
    assert "bad JSON" in records[1]["error"]
    assert "operations" in records[2]["error"]
    assert "error" in records[3]


def test_show_and_bad_input_are_one_line_errors(capsys, tmp_path):
    status, out, _ = run(capsys, "space", "show", "nb201", NB201_CELL, "--json")
    info = json.loads(out)
    assert status == 0 and info["neighbours"] == 24 and info["hash"] == NB201_CELL
    # node 2 sums two zero edges: "#+#", which NATS-Bench does not collapse to "#"
    assert info["unique_key"] == "#+(#+#)@nor_conv_3x3+0"
    status, _, err = run(capsys, "space", "show", "nb201", "|nor_conv_3x3~0|+|none~0|")
    assert_one_line_error(status, err, "node groups")
    status, _, err = run(capsys, "space", "sample", "nb999", "-n", "2")
    assert_one_line_error(status, err, "unknown search space 'nb999'")
    status, _, err = run(capsys, "space", "show", "darts", "Genotype(normal=[")
    assert_one_line_error(status, err, "syntax")
    status, _, err = run(capsys, "space", "hash", "nb201", "--input", str(tmp_path / "none"))
    assert_one_line_error(status, err, "does not exist")
    status, _, err = run(capsys, "space", "sample", "nb201", "-n", "-1")
    assert_one_line_error(status, err, "-n must be")
