"""Where benchmark data lives, and how to say precisely what is missing.

One data directory: `$SELFNAS_DATA`, else the user cache directory
(`platformdirs.user_cache_dir("selfnas")/data`). A folder laid out as

    nb101/  nb201/  nb301/  images/

with the official or documented file names works as a data directory as it is.
Explicit paths given on the command line always win over the data directory.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from selfnas.errors import DataCorrupt, DataNotFound

ENV_VAR = "SELFNAS_DATA"


def data_dir() -> Path:
    """The data directory in force (not created here)."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("selfnas")) / "data"


def cache_dir() -> Path:
    """Where derived files (columnar caches, enumerations) go when the source is read-only."""
    env = os.environ.get("SELFNAS_CACHE")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("selfnas")) / "cache"


@dataclass(frozen=True)
class DataFile:
    """A file a benchmark needs: where it goes under the data directory and how to get it."""

    name: str
    relative_path: str
    description: str
    how_to_get: str
    size_bytes: int | None = None
    sha256: str | None = None
    #: official download address (None where only a manual route exists)
    url: str | None = None
    #: True for a folder of files (NATS-Bench `-simple` archive, NB301 model folder)
    is_dir: bool = False

    def path(self, root: Path | None = None) -> Path:
        return (root or data_dir()) / self.relative_path

    def verify(self, path: Path, checksum: bool = True) -> Path:
        """Raise `DataCorrupt` if `path` does not have the documented size or checksum."""
        if self.is_dir:
            if not path.is_dir():
                raise DataCorrupt(f"{self.name}: {path} should be a folder ({self.description})")
            return path
        size = path.stat().st_size
        if self.size_bytes is not None and size != self.size_bytes:
            raise DataCorrupt(
                f"{self.name}: {path} has {size} bytes, expected {self.size_bytes} "
                f"(truncated or a different version). {self.how_to_get}"
            )
        if checksum and self.sha256 is not None and sha256_file(path) != self.sha256:
            raise DataCorrupt(
                f"{self.name}: {path} does not match its sha256 {self.sha256[:12]}... "
                f"(corrupt or a different version). {self.how_to_get}"
            )
        return path

    def require(self, explicit: str | os.PathLike[str] | None = None) -> Path:
        """Return the file's path, or raise `DataNotFound` saying exactly what to do."""
        path = Path(explicit).expanduser() if explicit else self.path()
        if path.exists():
            return path
        where = (
            f"the path given ({path})"
            if explicit
            else f"{path} (data directory {data_dir()}; set ${ENV_VAR} to change it)"
        )
        raise DataNotFound(
            f"{self.name}: {self.description} not found at {where}. {self.how_to_get}"
        )


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks (data files can be hundreds of MB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()
