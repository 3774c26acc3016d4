"""Pretrained architecture embeddings, aligned with a problem's arch index.

Embedding-space searches (arch2vec-RL, arch2vec-BO) move in the embedding space and map
back to archs by row, so the matrix is put in the order of `Problem.archs` once per
process, and the searches keep only row numbers and a visited mask.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from selfnas.errors import DataCorrupt, DataNotFound, InvalidOption


def load_embeddings(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read an embeddings file written by `selfnas embed`: (hashes [N] str, matrix [N, D]).

    The single reader of that format, so a format change is one edit here."""
    path = Path(path)
    if not path.is_file():
        raise DataNotFound(f"embeddings file {path} not found (make one with `selfnas embed`)")
    try:
        with np.load(path, allow_pickle=False) as data:
            hashes = np.asarray(data["hashes"]).astype(str)
            matrix = np.asarray(data["embeddings"], dtype=np.float32)
    except (KeyError, ValueError, OSError) as exc:
        raise DataCorrupt(
            f"{path}: not an embeddings file with 'hashes' and 'embeddings' ({exc})"
        ) from None
    if matrix.ndim != 2 or matrix.shape[0] != hashes.shape[0]:
        raise DataCorrupt(
            f"{path}: embeddings {matrix.shape} do not match {hashes.shape[0]} hashes"
        )
    return hashes, matrix


@dataclass
class EmbeddingTable:
    """`matrix[i]` is the embedding of `problem.archs[i]` (float32 [N, D])."""

    matrix: np.ndarray
    source: str = ""

    @cached_property
    def sq_norms(self) -> np.ndarray:
        """Squared L2 norm of each row (nearest-neighbour search by one matrix product)."""
        return np.einsum("ij,ij->i", self.matrix, self.matrix)

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    def __len__(self) -> int:
        return int(self.matrix.shape[0])

    @classmethod
    def aligned(cls, hashes: np.ndarray, matrix: np.ndarray, space, archs, source: str = ""):
        """Reorder rows to follow `archs`; every arch must have an embedding."""
        row_of = {h: i for i, h in enumerate(hashes)}
        order = np.empty(len(archs), dtype=np.int64)
        missing = 0
        for i, arch in enumerate(archs):
            row = row_of.get(space.hash(arch), -1)
            missing += row < 0
            order[i] = row
        if missing:
            raise InvalidOption(
                f"embeddings {source or ''} miss {missing} of the {len(archs)} archs of "
                f"{space.name}; embed the whole space (`selfnas embed`)"
            )
        return cls(np.ascontiguousarray(matrix[order], dtype=np.float32), source)


_CACHE: dict[tuple[str, str], EmbeddingTable] = {}


def embeddings_for(problem, path: str | Path) -> EmbeddingTable:
    """The embeddings at `path` aligned with `problem.archs` (cached per process)."""
    key = (str(Path(path).resolve()), problem.space.name)
    table = _CACHE.get(key)
    if table is None:
        hashes, matrix = load_embeddings(path)
        table = EmbeddingTable.aligned(hashes, matrix, problem.space, problem.archs, str(path))
        _CACHE[key] = table
    return table
