"""Optional TensorBoard logging (`--tensorboard DIR`), with no dependency on TensorBoard.

TensorBoard reads `events.out.tfevents.*` files: TFRecord framing (length, masked CRC32C,
payload, masked CRC32C) around `Event` protocol buffers. The two messages needed for
scalars are tiny, so they are encoded here by hand; `torch.utils.tensorboard` would pull
in the `tensorboard` package (and its own protobuf pins) just to write them. Viewing the
files still needs TensorBoard: `pip install tensorboard && tensorboard --logdir DIR`.

Two ways in:

- live: `configure(DIR)` (the CLI does it for `--tensorboard`), then any loop calls
  `log(run, step, {"loss": ...})`; without `configure` that is a no-op. The directory
  travels in `$SELFNAS_TENSORBOARD`, so worker processes log too.
- after the fact: `export_tree(ROOT, DIR)` turns every training history already written
  under ROOT (each JSON with a `history` list: pretraining `metrics.json`, one-shot
  `result.json`, ...) and every search run (`results.parquet`: best-so-far and regret per
  query, one TensorBoard run per strategy and seed) into event files. Exports replace
  their own earlier files, so re-running one is idempotent.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from selfnas.benchmarks.tfrecord import encode_record as _record
from selfnas.benchmarks.tfrecord import read_records
from selfnas.protowire import encode_varint, length_delimited

ENV = "SELFNAS_TENSORBOARD"
#: suffix of event files written by `export_*` (so a re-export can replace them)
EXPORT_SUFFIX = ".selfnas-export"
_FILE_VERSION = b"brain.Event:2"


# --- protocol buffer wire format (only what Event / Summary.Value need) -----------------
def encode_event(
    wall_time: float,
    step: int = 0,
    scalars: Mapping[str, float] | None = None,
    file_version: bytes | None = None,
) -> bytes:
    """An `Event` message: wall_time (1, double), step (2, int64), file_version (3) or
    summary (5) holding one `Value{tag (1), simple_value (2, float)}` per scalar."""
    out = bytearray(b"\x09" + struct.pack("<d", float(wall_time)))
    if step:
        out += b"\x10" + encode_varint(int(step))
    if file_version is not None:
        out += length_delimited(3, file_version)
    if scalars:
        summary = b"".join(
            length_delimited(
                1, length_delimited(1, tag.encode()) + b"\x15" + struct.pack("<f", value)
            )
            for tag, value in scalars.items()
        )
        out += length_delimited(5, summary)
    return bytes(out)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def _fields(data: bytes) -> Iterable[tuple[int, int, Any]]:
    """(field number, wire type, value) of a message, enough to read back our own events."""
    pos = 0
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        number, wire = key >> 3, key & 7
        value: int | bytes
        if wire == 0:
            value, pos = _read_varint(data, pos)
        elif wire == 1:
            value, pos = data[pos : pos + 8], pos + 8
        elif wire == 5:
            value, pos = data[pos : pos + 4], pos + 4
        elif wire == 2:
            size, pos = _read_varint(data, pos)
            value, pos = data[pos : pos + size], pos + size
        else:  # groups are not used by Event
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield number, wire, value


def decode_event(payload: bytes) -> dict[str, Any]:
    """{wall_time, step, file_version?, scalars: {tag: value}} of one `Event`."""
    event: dict[str, Any] = {"wall_time": 0.0, "step": 0, "scalars": {}}
    for number, _, value in _fields(payload):
        if number == 1:
            event["wall_time"] = struct.unpack("<d", value)[0]
        elif number == 2:
            event["step"] = value - (1 << 64) if value >= 1 << 63 else value
        elif number == 3:
            event["file_version"] = value.decode()
        elif number == 5:
            for vnum, _, raw in _fields(value):
                if vnum != 1:
                    continue
                tag, simple = "", None
                for inner, _, item in _fields(raw):
                    if inner == 1:
                        tag = item.decode()
                    elif inner == 2:
                        simple = struct.unpack("<f", item)[0]
                if simple is not None:
                    event["scalars"][tag] = simple
    return event


# --- writing ------------------------------------------------------------------------------
class EventWriter:
    """Appends scalar events to one new `events.out.tfevents.*` file in `logdir`."""

    _count = 0

    def __init__(self, logdir: str | os.PathLike[str], suffix: str = "") -> None:
        self.logdir = Path(logdir)
        self.logdir.mkdir(parents=True, exist_ok=True)
        EventWriter._count += 1
        name = (
            f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}."
            f"{os.getpid()}.{EventWriter._count}{suffix}"
        )
        self.path = self.logdir / name
        self._file = open(self.path, "ab")  # noqa: SIM115 - closed in close()
        self._file.write(_record(encode_event(time.time(), file_version=_FILE_VERSION)))
        self._file.flush()

    def scalars(self, step: int, values: Mapping[str, Any], wall_time: float | None = None) -> None:
        """Log the finite numeric entries of `values` at `step` (others are skipped)."""
        numbers = {k: float(v) for k, v in values.items() if _is_number(v)}
        if numbers:
            event = encode_event(time.time() if wall_time is None else wall_time, step, numbers)
            self._file.write(_record(event))
            self._file.flush()

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> EventWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _is_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        try:  # numpy scalars
            import numpy as np

            if not isinstance(value, np.integer | np.floating):
                return False
        except ImportError:  # pragma: no cover
            return False
    return value == value and abs(float(value)) != float("inf")


# --- live logging -------------------------------------------------------------------------
_writers: dict[str, EventWriter] = {}


def configure(logdir: str | os.PathLike[str] | None) -> Path | None:
    """Turn live logging on under `logdir` (None: leave as it is); returns the directory."""
    if logdir is not None:
        os.environ[ENV] = str(Path(logdir).expanduser().resolve())
    return active()


def active() -> Path | None:
    value = os.environ.get(ENV)
    return Path(value) if value else None


def log(run: str, step: int, values: Mapping[str, Any]) -> None:
    """Log scalars for TensorBoard run `run` (a relative path) when logging is on."""
    root = active()
    if root is None:
        return
    key = f"{root}/{run}"
    writer = _writers.get(key)
    if writer is None:
        writer = _writers[key] = EventWriter(root / run)
    writer.scalars(step, values)


def close_all() -> None:
    for writer in _writers.values():
        writer.close()
    _writers.clear()


# --- export of finished runs ----------------------------------------------------------------
def _fresh_writer(logdir: Path) -> EventWriter:
    if logdir.is_dir():
        for old in logdir.glob(f"events.out.tfevents.*{EXPORT_SUFFIX}"):
            old.unlink()
    return EventWriter(logdir, suffix=EXPORT_SUFFIX)


def export_history(history: list[dict[str, Any]], logdir: Path, prefix: str = "") -> int:
    """One event per history entry (step: its `epoch`, else its index); returns the count."""
    with _fresh_writer(logdir) as writer:
        for index, entry in enumerate(history):
            if not isinstance(entry, dict):
                continue
            step = entry.get("epoch", index)
            step = int(step) if _is_number(step) else index
            writer.scalars(step, {f"{prefix}{k}": v for k, v in entry.items() if k != "epoch"})
    return len(history)


def export_search(results: Path, logdir: Path) -> int:
    """Per strategy and seed of a search run's `results.parquet`: best value, best test
    value, regret and rank of the best so far, against the query count."""
    import pandas as pd

    frame = pd.read_parquet(results)
    runs = 0
    for (strategy, seed), group in frame.groupby(["strategy", "seed"], sort=True):
        with _fresh_writer(logdir / str(strategy) / f"seed_{int(seed):04d}") as writer:
            for row in group.sort_values("step").itertuples(index=False):
                writer.scalars(
                    int(row.step),
                    {
                        "search/best_value": row.best_value,
                        "search/best_test": row.best_test,
                        "search/regret": row.regret,
                        "search/rank": row.rank,
                        "search/value": row.value,
                    },
                )
        runs += 1
    return runs


def export_tree(root: str | os.PathLike[str], logdir: str | os.PathLike[str]) -> list[str]:
    """Export every training history and search run under `root` to `logdir`, mirroring
    the folder layout; returns the TensorBoard run names written."""
    root, logdir = Path(root), Path(logdir)
    written = []
    for path in sorted(root.rglob("*.json")):
        if logdir in path.parents:
            continue
        try:
            data = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError, OSError):
            continue
        history = data.get("history") if isinstance(data, dict) else None
        if isinstance(history, list) and history and isinstance(history[0], dict):
            name = path.parent.relative_to(root) / path.stem
            export_history(history, logdir / name)
            written.append(str(name))
    for path in sorted(root.rglob("results.parquet")):
        name = path.parent.relative_to(root)
        if export_search(path, logdir / name):
            written.append(str(name))
    return written


# --- reading back ------------------------------------------------------------------------------
def read_scalars(path: str | os.PathLike[str]) -> dict[str, list[tuple[int, float]]]:
    """tag -> [(step, value)] of an event file, or of every event file under a folder."""
    path = Path(path)
    files = sorted(path.rglob("events.out.tfevents.*")) if path.is_dir() else [path]
    out: dict[str, list[tuple[int, float]]] = {}
    for file in files:
        for payload in read_records(file):
            event = decode_event(payload)
            for tag, value in event["scalars"].items():
                out.setdefault(tag, []).append((event["step"], value))
    return out


__all__ = [
    "ENV",
    "EventWriter",
    "active",
    "close_all",
    "configure",
    "decode_event",
    "encode_event",
    "export_history",
    "export_search",
    "export_tree",
    "log",
    "read_scalars",
]
