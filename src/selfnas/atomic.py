"""Atomic file writes: an interrupted run never leaves a half-written result.

Each writer writes to a temporary file in the target's directory, flushes and fsyncs it,
then renames it over the target (atomic on POSIX within one file system). `read_json`
reads such a file back, turning a damaged one into `DataCorrupt` with its path.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from selfnas.errors import DataCorrupt


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], fsync: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside `target`; on success it replaces `target`.

    `fsync=False` skips the flush to disk: the replace is still atomic for every process
    (a `kill -9` never leaves a torn file), only an OS crash may lose the latest write;
    for checkpoints rewritten many times a second."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if fsync:
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; results should be readable
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_with(
    target: str | os.PathLike[str], writer: Callable[[IO[bytes]], Any], fsync: bool = True
) -> Path:
    """Call `writer(binary_file)` on a temporary file, then move it into place."""
    with atomic_path(target, fsync) as tmp, open(tmp, "wb") as handle:
        writer(handle)
    return Path(target)


def write_bytes(target: str | os.PathLike[str], data: bytes, fsync: bool = True) -> Path:
    return write_with(target, lambda handle: handle.write(data), fsync)


def write_text(target: str | os.PathLike[str], text: str) -> Path:
    return write_bytes(target, text.encode("utf-8"))


def write_json(target: str | os.PathLike[str], obj: Any, indent: int | None = 2) -> Path:
    text = json.dumps(obj, indent=indent, default=_jsonable)
    return write_text(target, text + "\n")


def read_json(source: str | os.PathLike[str]) -> Any:
    """A JSON file these writers made; one edited by hand into invalid JSON is
    `DataCorrupt` naming the file, not a bare traceback."""
    path = Path(source)
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataCorrupt(f"{path}: not valid JSON ({exc})") from None


def save_torch(target: str | os.PathLike[str], obj: Any) -> Path:
    """`torch.save` made atomic (checkpoints)."""
    import torch

    return write_with(target, lambda handle: torch.save(obj, handle))


def save_npz(target: str | os.PathLike[str], **arrays: Any) -> Path:
    import numpy as np

    return write_with(target, lambda handle: np.savez(handle, **arrays))


def write_parquet(target: str | os.PathLike[str], frame: Any) -> Path:
    """Write a pandas DataFrame to Parquet atomically."""
    with atomic_path(target) as tmp:
        frame.to_parquet(tmp, index=False)
    return Path(target)


def write_csv(target: str | os.PathLike[str], frame: Any) -> Path:
    with atomic_path(target) as tmp:
        frame.to_csv(tmp, index=False)
    return Path(target)


def _jsonable(obj: Any) -> Any:
    """Turn numpy scalars/arrays and paths into JSON types."""
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
