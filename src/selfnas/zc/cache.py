"""A persistent cache of zero-cost scores, so an interrupted scoring run resumes.

Scoring all of NB201 with zen takes hours on a CPU; losing that to a crash, or redoing it
for a second proxy list, is what this prevents. A score depends on the arch and on a
`ScoreKey` (space, proxy, dataset or "none", input shape, seed, batch size, width, depth).
Each key owns one folder, and each flush adds one Parquet chunk (arch key, score) to it,
written atomically, so a file is never torn and nothing is ever rewritten in place:

    <root>/<space>/<proxy>/<data>_<shape>_seed<S>_bs<B>_ch<C>_cells<N>/chunk-*.parquet

Loading reads every chunk of the key (a later chunk wins a repeated arch, though both
hold the same score) and merges a folder of many chunks into one.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from selfnas.atomic import atomic_path

#: data field of the key of a proxy that reads no images
NO_DATA = "none"
#: a folder holding more chunks than this is merged into one when it is loaded
COMPACT_ABOVE = 32

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_counter = itertools.count()


@dataclass(frozen=True)
class ScoreKey:
    """Everything a score depends on besides the arch (None width/depth: the benchmark's)."""

    space: str
    proxy: str
    data: str
    shape: str
    seed: int
    batch_size: int
    channels: int | None = None
    cells: int | None = None

    def folder(self) -> Path:
        """The key's folder under the cache root (every field readable in the path)."""
        width = "default" if self.channels is None else self.channels
        depth = "default" if self.cells is None else self.cells
        leaf = (
            f"{_slug(self.data)}_{_slug(self.shape)}_seed{self.seed}_bs{self.batch_size}"
            f"_ch{width}_cells{depth}"
        )
        return Path(_slug(self.space)) / _slug(self.proxy) / leaf


def _slug(text: str) -> str:
    """`text` as a file name; a name that had to change gets a short hash, so two names
    never share a folder (`folder:/a/b` and `folder:/a_b`)."""
    safe = _SAFE.sub("_", text)
    if safe == text and text not in ("", ".", ".."):
        return text
    return f"{safe}-{hashlib.sha1(text.encode()).hexdigest()[:8]}"


class ScoreCache:
    """Scores on disk under `root`, with writes buffered in memory until `flush`.

    `put` buffers; `flush(force=False)` writes when `flush_every` scores are pending or
    `flush_seconds` have passed since the last write, so a crash loses at most that much
    work while the folder does not fill with tiny files."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        flush_every: int = 512,
        flush_seconds: float = 30.0,
    ) -> None:
        self.root = Path(root)
        self.flush_every = int(flush_every)
        self.flush_seconds = float(flush_seconds)
        self._pending: dict[ScoreKey, dict[str, float]] = {}
        self._last_flush = time.monotonic()

    # ------------------------------------------------------------------ reading
    def load(self, key: ScoreKey) -> dict[str, float]:
        """arch key -> score for everything stored under `key` (pending scores included)."""
        folder = self.root / key.folder()
        chunks = sorted(folder.glob("chunk-*.parquet")) if folder.is_dir() else []
        scores: dict[str, float] = {}
        for chunk in chunks:
            try:
                table = pq.read_table(chunk)
            except FileNotFoundError:  # merged away by another process meanwhile
                continue
            scores.update(zip(table["arch"].to_pylist(), table["score"].to_pylist(), strict=True))
        if len(chunks) > COMPACT_ABOVE:
            self._write_chunk(folder, scores)
            for chunk in chunks:
                chunk.unlink(missing_ok=True)
        scores.update(self._pending.get(key, {}))
        return scores

    # ------------------------------------------------------------------ writing
    def put(self, key: ScoreKey, arch_key: str, score: float) -> None:
        """Buffer one score (written by the next `flush` that writes)."""
        self._pending.setdefault(key, {})[arch_key] = float(score)

    def put_many(self, key: ScoreKey, scores: Mapping[str, float]) -> None:
        for arch_key, score in scores.items():
            self.put(key, arch_key, score)

    @property
    def pending(self) -> int:
        return sum(len(scores) for scores in self._pending.values())

    def flush(self, force: bool = True) -> int:
        """Write the buffered scores (one chunk per key); without `force` only when the
        size or time threshold is reached. Returns how many scores were written."""
        count = self.pending
        due = count >= self.flush_every or time.monotonic() - self._last_flush >= self.flush_seconds
        if count == 0 or not (force or due):
            return 0
        for key, scores in self._pending.items():
            if scores:
                self._write_chunk(self.root / key.folder(), scores)
        self._pending.clear()
        self._last_flush = time.monotonic()
        return count

    @staticmethod
    def _write_chunk(folder: Path, scores: Mapping[str, float]) -> Path:
        """One new chunk file, atomically; the name sorts after every earlier chunk."""
        name = f"chunk-{time.time_ns():020d}-{os.getpid()}-{next(_counter):06d}.parquet"
        table = pa.table(
            {
                "arch": pa.array(list(scores), pa.string()),
                "score": pa.array(list(scores.values()), pa.float64()),
            }
        )
        with atomic_path(folder / name) as tmp:
            pq.write_table(table, tmp)
        return folder / name


__all__ = ["COMPACT_ABOVE", "NO_DATA", "ScoreCache", "ScoreKey"]
