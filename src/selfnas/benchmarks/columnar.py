"""Columnar caches of parsed benchmark sources, so the second load takes milliseconds.

Parsing a source (a 500 MB tfrecord, a CSV of 15,625 arch strings) is done once; the result
is written as Parquet beside the source (`<file>.<tag>.selfnas.parquet`), or, where the
source's folder is read-only (a shared data folder), under `selfnas.datadir.cache_dir()`
keyed by the source's absolute path, size and modification time. The Parquet file records
the source's size and mtime; a cache that no longer matches its source, or that cannot be
read, is rebuilt rather than trusted.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from selfnas.atomic import atomic_path
from selfnas.datadir import cache_dir

#: bump when a loader's output layout changes, so old caches are rebuilt
FORMAT_VERSION = "1"


def _stamp(source: Path, tag: str) -> dict[bytes, bytes]:
    stat = source.stat()
    return {
        b"selfnas.source": str(source.resolve()).encode(),
        b"selfnas.size": str(stat.st_size).encode(),
        b"selfnas.mtime_ns": str(stat.st_mtime_ns).encode(),
        b"selfnas.tag": tag.encode(),
        b"selfnas.version": FORMAT_VERSION.encode(),
    }


def cache_paths(source: Path, tag: str) -> list[Path]:
    """Candidate cache files: beside the source first, then the user cache directory."""
    source = Path(source)
    stat = source.stat()
    ident = f"{source.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{tag}|{FORMAT_VERSION}"
    digest = hashlib.sha1(ident.encode()).hexdigest()[:16]
    return [
        source.with_name(f"{source.name}.{tag}.selfnas.parquet"),
        cache_dir() / "columnar" / f"{source.name}.{tag}.{digest}.parquet",
    ]


def _read_valid(path: Path, stamp: dict[bytes, bytes]) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    try:
        import pyarrow.parquet as pq

        table = pq.read_table(path)
    except Exception:  # an unreadable cache is rebuilt, never trusted
        return None
    meta = table.schema.metadata or {}
    if any(meta.get(key) != value for key, value in stamp.items()):
        return None
    return table.to_pandas()


def _write(path: Path, frame: pd.DataFrame, stamp: dict[bytes, bytes]) -> bool:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **stamp})
        with atomic_path(path) as tmp:
            pq.write_table(table, tmp)
    except OSError:
        return False
    return True


def _writable_dir(folder: Path) -> bool:
    """Writable by its permission bits too: root may write anywhere, but a folder marked
    read-only (a shared data folder) is left untouched."""
    try:
        mode = folder.stat().st_mode
    except OSError:
        return False
    return folder.is_dir() and bool(mode & 0o222) and os.access(folder, os.W_OK)


def load_cached(source: Path, tag: str, build: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """The parsed form of `source`: from a valid cache, else `build()` and cache it."""
    source = Path(source)
    stamp = _stamp(source, tag)
    candidates = cache_paths(source, tag)
    for path in candidates:
        frame = _read_valid(path, stamp)
        if frame is not None:
            return frame
    frame = build()
    for path in candidates:
        if path == candidates[0] and not _writable_dir(path.parent):
            continue
        if _write(path, frame, stamp):
            break
    return frame
