"""Search run directories: the config a run was made with, per-seed checkpoints, results.

Layout of a search run directory:

    run.json                          the kind marker (`selfnas.runs.kind`)
    config.json                       problem, budget and each strategy's options
    checkpoints/<strategy>/seed_0007.ckpt  journal: the state after each tell, appended
                                           (deleted when the seed is done)
    seeds/<strategy>/seed_0007.parquet     one finished seed's rows
    results.parquet, results.csv      every finished seed's rows, one per query
    summary.json                      per-strategy summary (see `selfnas.search.summary`)

Every result file is written atomically and a checkpoint record is checksummed, so a run
killed at any moment (even `kill -9`) resumes from its last complete checkpoint.
Re-running into a directory made with a different problem,
budget or strategy options raises `ResumeMismatch` instead of mixing results.
"""

from __future__ import annotations

import json
import pickle
import struct
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from selfnas.atomic import read_json, write_csv, write_json, write_parquet
from selfnas.errors import DataCorrupt, DataNotFound, ResumeMismatch
from selfnas.runs.kind import SEARCH, mark

_MAGIC = b"SNCK"
_HEAD = 4 + 8 + 4  # magic, payload length, crc32


class RunDir:
    """One search run's directory (created on first write)."""

    kind = SEARCH

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    # --- config -------------------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.root / "config.json"

    def read_config(self) -> dict[str, Any] | None:
        return read_json(self.config_path) if self.config_path.is_file() else None

    def ensure_config(self, config: dict[str, Any]) -> dict[str, Any]:
        """Record `config`, or check it against the one already there.

        `config` has `strategies: {name: options}` plus shared keys (problem, budget). New
        strategies may join a run; a shared key or a known strategy's options may not change.
        """
        config = json.loads(json.dumps(config, default=str))
        old = self.read_config()
        if old is None:
            mark(self.root, SEARCH)
            write_json(self.config_path, config)
            return config
        shared = sorted(k for k in set(config) | set(old) if k != "strategies")
        changed = [k for k in shared if old.get(k) != config.get(k)]
        old_strategies = old.get("strategies", {})
        for name, options in config.get("strategies", {}).items():
            recorded = old_strategies.get(name)
            if recorded is not None and _with_defaults(name, recorded) != _with_defaults(
                name, options
            ):
                changed.append(f"options of {name}")
        if changed:
            raise ResumeMismatch(
                f"{self.root} holds a run made with a different {', '.join(changed)}; "
                "use a new --out directory (or delete this one)"
            )
        merged = dict(old)
        merged["strategies"] = {**old_strategies, **config.get("strategies", {})}
        if merged != old:
            write_json(self.config_path, merged)
        return merged

    # --- per-seed files -----------------------------------------------------------------
    def checkpoint_path(self, strategy: str, seed: int) -> Path:
        return self.root / "checkpoints" / strategy / f"seed_{seed:04d}.ckpt"

    def seed_path(self, strategy: str, seed: int) -> Path:
        return self.root / "seeds" / strategy / f"seed_{seed:04d}.parquet"

    def save_checkpoint(self, strategy: str, seed: int, state: dict[str, Any]) -> None:
        """Append the seed's state as one checksummed record to its checkpoint journal.

        Written after every tell (hundreds of times per seed), so it avoids what makes a
        replace-per-tell slow on this disk: renaming over or deleting a freshly written
        file (ext4 then waits on its journal, ~25 ms each). A `kill -9` part-way through an
        append leaves a torn last record, which `load_checkpoint` skips: the previous tell's
        state is then the latest, so a resumed seed still ends exactly where it would have."""
        data = pickle.dumps(state, protocol=5)
        record = _MAGIC + struct.pack("<QI", len(data), zlib.crc32(data)) + data
        path = self.checkpoint_path(strategy, seed)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "ab") as handle:
            handle.write(record)

    def load_checkpoint(self, strategy: str, seed: int) -> dict[str, Any] | None:
        """The state of the latest complete record (None if there is none yet)."""
        path = self.checkpoint_path(strategy, seed)
        if not path.is_file():
            return None
        blob = path.read_bytes()
        latest: bytes | None = None
        offset = 0
        while offset < len(blob):
            head = blob[offset : offset + _HEAD]
            if len(head) == _HEAD and head[:4] != _MAGIC:
                raise DataCorrupt(f"checkpoint {path} is damaged at byte {offset}; delete it")
            if len(head) < _HEAD:
                break  # torn header of the last record
            size, crc = struct.unpack("<QI", head[4:])
            data = blob[offset + _HEAD : offset + _HEAD + size]
            if len(data) < size:
                break  # torn last record
            if zlib.crc32(data) != crc:
                raise DataCorrupt(f"checkpoint {path} fails its checksum; delete it")
            latest = data
            offset += _HEAD + size
        if latest is None:
            return None
        try:
            return pickle.loads(latest)
        except Exception as exc:  # checksummed, so this is a version mismatch
            raise DataCorrupt(f"checkpoint {path} cannot be read ({exc}); delete it") from None

    def seed_done(self, strategy: str, seed: int) -> bool:
        return self.seed_path(strategy, seed).is_file()

    def report_path(self, strategy: str, seed: int) -> Path:
        return self.root / "seeds" / strategy / f"seed_{seed:04d}.report.json"

    def finish_seed(
        self,
        strategy: str,
        seed: int,
        frame: pd.DataFrame,
        report: dict[str, Any] | None = None,
    ) -> None:
        """Write a finished seed's strategy report (what it did besides querying, e.g.
        NAO's decoded vs filled archs), then its rows, then drop its checkpoints."""
        if report is not None:
            write_json(self.report_path(strategy, seed), report)
        write_parquet(self.seed_path(strategy, seed), frame)
        self.checkpoint_path(strategy, seed).unlink(missing_ok=True)

    def read_report(self, strategy: str, seed: int) -> dict[str, Any] | None:
        """A finished seed's strategy report (None where its strategy writes none)."""
        path = self.report_path(strategy, seed)
        return read_json(path) if path.is_file() else None

    def read_seed(self, strategy: str, seed: int) -> pd.DataFrame:
        return pd.read_parquet(self.seed_path(strategy, seed))

    # --- results ------------------------------------------------------------------------
    def collect(self, tasks: Iterable[tuple[str, int]]) -> pd.DataFrame:
        """Rows of the finished (strategy, seed) pairs, in the order given."""
        frames = [self.read_seed(s, seed) for s, seed in tasks if self.seed_done(s, seed)]
        if not frames:
            return pd.DataFrame()
        return pd.concat(frames, ignore_index=True)

    @property
    def results_path(self) -> Path:
        return self.root / "results.parquet"

    def read_results(self) -> pd.DataFrame:
        """Every finished seed's rows, as the last `write_results` left them."""
        if not self.results_path.is_file():
            raise DataNotFound(f"{self.results_path} is absent: has the search run finished?")
        return pd.read_parquet(self.results_path)

    def write_results(self, frame: pd.DataFrame) -> None:
        write_parquet(self.results_path, frame)
        write_csv(self.root / "results.csv", frame)

    def write_summary(self, summary: Any, name: str = "summary.json") -> Path:
        return write_json(self.root / name, summary)


#: the search run type under the name the other run types follow
SearchRun = RunDir


def _with_defaults(strategy: str, recorded: dict[str, Any]) -> dict[str, Any]:
    """`recorded` options plus the default of each option added since they were recorded
    (a run made before an option existed ran as its default does, so it still resumes)."""
    from selfnas.search.base import STRATEGIES, default_options

    if strategy not in STRATEGIES:
        return recorded
    defaults = json.loads(json.dumps(default_options(strategy), default=str))
    return {**defaults, **recorded}
