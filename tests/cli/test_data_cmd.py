"""`selfnas data list|check|fetch`, the catalogue, and clear errors for missing files."""

from __future__ import annotations

import json
import socket
import time

import pytest

from conftest import SHARED_DATA, shared_file
from selfnas.benchmarks import fetch as fetch_mod
from selfnas.benchmarks import sources
from selfnas.cli import main
from selfnas.datadir import DataFile, sha256_file
from selfnas.errors import DataCorrupt, DataNotFound


def test_catalogue_sizes_and_checksums_match_the_reference_folder():
    shared_file("nb201/nb201_12ep.csv")
    for entry in sources.entries():
        path = entry.file.path(SHARED_DATA)
        if entry.file.sha256 and path.exists():
            assert path.stat().st_size == entry.file.size_bytes
            assert sha256_file(path) == entry.file.sha256, entry.file.name


def test_list_and_check_on_the_reference_folder(capsys, monkeypatch):
    shared_file("nb201/nb201_12ep.csv")
    monkeypatch.setenv("SELFNAS_DATA", str(SHARED_DATA))
    assert main(["data", "list", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)["files"]}
    assert rows["nb201-12ep"]["found"] and not rows["nb101-tfrecord"]["found"]
    assert "storage.googleapis.com" in rows["nb101-tfrecord"]["how_to_get"]
    assert rows["nas-bench-graph"]["found"]
    assert main(["data", "check", "nb201", "--json"]) == 0
    checked = {r["name"]: r["status"] for r in json.loads(capsys.readouterr().out)["files"]}
    assert checked["nb201-12ep"] == "ok" and checked["nb201-v1_1"] == "missing"


def test_check_reports_a_truncated_file(tmp_path, capsys, monkeypatch):
    source = shared_file("nb301/yahpo_nb301_encoding.json")
    (tmp_path / "nb301").mkdir()
    (tmp_path / "nb301" / source.name).write_bytes(source.read_bytes()[:-10])
    monkeypatch.setenv("SELFNAS_DATA", str(tmp_path))
    assert main(["data", "check", "nb301", "--json"]) == 1
    status = {r["name"]: r for r in json.loads(capsys.readouterr().out)["files"]}
    assert status["nb301-encoding"]["status"] == "corrupt"
    assert "6696 bytes, expected 6706" in status["nb301-encoding"]["detail"]


def test_require_and_verify_messages(tmp_path):
    entry = DataFile(
        "demo",
        "x/demo.bin",
        "a demo file",
        "Get it from example.org.",
        size_bytes=3,
        sha256="0" * 64,
    )
    with pytest.raises(DataNotFound, match=r"demo.*x/demo.bin.*example.org"):
        entry.require(tmp_path / "x" / "demo.bin")
    path = tmp_path / "demo.bin"
    path.write_bytes(b"abcd")
    with pytest.raises(DataCorrupt, match="4 bytes, expected 3"):
        entry.verify(path)
    path.write_bytes(b"abc")
    with pytest.raises(DataCorrupt, match="sha256"):
        entry.verify(path)


def test_fetch_without_network_fails_fast(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SELFNAS_DATA", str(tmp_path))
    monkeypatch.setattr(fetch_mod, "reachable", lambda host, **kw: "simulated: no route")
    start = time.monotonic()
    assert main(["data", "fetch", "nb101"]) == 2
    err = capsys.readouterr().err
    assert "no network" in err and "nasbench_only108.tfrecord" in err
    assert time.monotonic() - start < 5 and not (tmp_path / "nb101").exists()
    assert main(["data", "fetch", "nbgraph"]) == 0
    assert main(["data", "fetch", "nb101-naslib-pickle"]) == 2  # no direct address
    assert "drive.google.com" in capsys.readouterr().err


def test_reachable_reports_a_closed_port_quickly():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    start = time.monotonic()
    assert fetch_mod.reachable("127.0.0.1", port=port, timeout=2.0) is not None
    assert time.monotonic() - start < 3
