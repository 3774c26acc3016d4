"""Atomic writes leave either the old file or the new one, never a partial file."""

from __future__ import annotations

import json

import pytest

from selfnas import atomic


def test_write_json_round_trips(tmp_path):
    target = tmp_path / "sub" / "result.json"
    atomic.write_json(target, {"a": 1})
    assert json.loads(target.read_text()) == {"a": 1}


def test_failed_write_keeps_previous_content_and_no_temp_files(tmp_path):
    target = tmp_path / "result.json"
    atomic.write_json(target, {"version": 1})

    def broken_writer(handle):
        handle.write(b'{"version": 2')
        raise RuntimeError("interrupted mid-write")

    with pytest.raises(RuntimeError):
        atomic.write_with(target, broken_writer)
    assert json.loads(target.read_text()) == {"version": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]
