"""Pretrained architecture embeddings, aligned with a problem's arch index.

Embedding-space searches (arch2vec-RL, arch2vec-BO) move in the embedding space and map
back to archs by row, so the matrix is put in the order of `Problem.archs` once per
process, and the searches keep only row numbers and a visited mask.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, overload

import numpy as np

from selfnas.errors import DataCorrupt, DataNotFound, InvalidOption
from selfnas.spaces.base import Arch, SearchSpace


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
    def aligned(
        cls,
        hashes: np.ndarray,
        matrix: np.ndarray,
        space: SearchSpace,
        archs: Sequence[Arch],
        source: str = "",
    ) -> EmbeddingTable:
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


def embeddings_for(problem: Any, path: str | Path) -> EmbeddingTable:
    """The embeddings at `path` aligned with `problem.archs` (built once per problem: two
    problems over one space name may index different archs, e.g. a table's subset)."""
    key = ("embedding", str(Path(path).resolve()))
    table = problem.derived.get(key)
    if table is None:
        hashes, matrix = load_embeddings(path)
        table = EmbeddingTable.aligned(hashes, matrix, problem.space, problem.archs, str(path))
        problem.derived[key] = table
    return table


class IndexedArchs(Sequence[Arch]):
    """Archs of a problem's arch index named by row: a plain `Sequence[Arch]` to any
    predictor, and already rows to `ArchEmbeddings` (BO scores every unvisited arch of the
    space each round; looking each one up by key would cost more than the surrogate)."""

    def __init__(self, archs: Sequence[Arch], rows: Sequence[int] | np.ndarray) -> None:
        #: the whole arch index (`Problem.archs`) and the rows of it this sequence holds
        self.archs = archs
        self.rows = np.asarray(rows, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, i: int) -> Arch: ...

    @overload
    def __getitem__(self, i: slice) -> IndexedArchs: ...

    def __getitem__(self, i: int | slice) -> Arch | IndexedArchs:
        if isinstance(i, slice):
            return IndexedArchs(self.archs, self.rows[i])
        return self.archs[int(self.rows[i])]


@dataclass(frozen=True)
class ArchEmbeddings:
    """The pretrained embedding of any arch of a problem's index, by its benchmark key."""

    table: EmbeddingTable
    #: benchmark key -> row of `table` (`Problem.position`)
    position: Mapping[str, int]
    #: the benchmark key of an arch (`SearchContext.key`)
    key: Callable[[Arch], str]

    def rows(self, archs: Sequence[Arch]) -> np.ndarray:
        if isinstance(archs, IndexedArchs):
            return archs.rows
        try:
            return np.array([self.position[self.key(a)] for a in archs], dtype=np.int64)
        except KeyError as exc:
            raise InvalidOption(f"arch {exc.args[0]} is not in the embedded arch index") from None

    def vectors(self, archs: Sequence[Arch]) -> np.ndarray:
        """float32 [len(archs), D]: one embedding row per arch, in order."""
        return self.table.matrix[self.rows(archs)]
