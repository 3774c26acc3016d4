"""Base of searches that move in a pretrained embedding space (arch2vec-RL, arch2vec-BO).

They work on row numbers of their candidates (`selfnas.search.candidates`): the shared
base rows (the whole space, or a pool sampled from it) followed by the rows this search
added itself (mutations of its incumbents, on a pool), with a boolean visited mask, so a
step is a few vectorised array operations over every candidate, never per-arch Python
work. The added archs and their embeddings are pickled with the search; the base is
re-attached after a checkpoint is loaded.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Sequence
from typing import Any, cast, overload

import numpy as np

from selfnas.search.base import Arch, Strategy
from selfnas.search.candidates import MUTANT_PARENTS, Candidates
from selfnas.search.embeddings import ArchEmbeddings, EmbeddingTable, IndexedArchs


class CandidateArchs(Sequence[Arch]):
    """The base candidates followed by a search's own additions, by row."""

    def __init__(self, base: Sequence[Arch], added: Sequence[Arch]) -> None:
        self.base = base
        self.added = added

    def __len__(self) -> int:
        return len(self.base) + len(self.added)

    @overload
    def __getitem__(self, i: int) -> Arch: ...

    @overload
    def __getitem__(self, i: slice) -> list[Arch]: ...

    def __getitem__(self, i: int | slice) -> Arch | list[Arch]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        n = len(self.base)
        return self.base[i] if i < n else self.added[i - n]


class EmbeddingStrategy(Strategy):
    needs_embeddings = True
    transient = ("candidates", "matrix", "sq_norms", "all_archs", "position")

    def _setup(self) -> None:
        embeddings = self.ctx.embeddings
        if isinstance(embeddings, EmbeddingTable):  # a matrix aligned with `problem.archs`
            problem = self.ctx.problem
            embeddings = Candidates(problem.archs, problem.position, embeddings)
        self.candidates: Candidates = embeddings
        if not hasattr(self, "added"):
            self.added: list[Arch] = []
            self.added_matrix = np.zeros((0, self.candidates.dim), dtype=np.float32)
            self.visited = np.zeros(len(self.candidates.archs), dtype=bool)
        self._index()

    def _index(self) -> None:
        """Rebuild the combined matrix, norms, arch view and key -> row map."""
        base = self.candidates.table.matrix
        self.matrix: np.ndarray = (
            np.concatenate([base, self.added_matrix]) if len(self.added) else base
        )
        added_norms = np.einsum("ij,ij->i", self.added_matrix, self.added_matrix)
        self.sq_norms: np.ndarray = np.concatenate([self.candidates.table.sq_norms, added_norms])
        self.all_archs = CandidateArchs(self.candidates.archs, self.added)
        n = len(self.candidates.archs)
        own = {self.ctx.key(a): n + i for i, a in enumerate(self.added)}
        self.position: ChainMap[str, int] = ChainMap(own, cast(dict, self.candidates.position))

    # --- rows and archs ----------------------------------------------------------------
    def row_of(self, arch: Arch) -> int:
        return int(self.position[self.ctx.key(arch)])

    def indexed(self, rows: Sequence[int] | np.ndarray) -> IndexedArchs:
        """The archs at `rows`, as a sequence an embedding predictor reads by row."""
        return IndexedArchs(self.all_archs, rows)

    @property
    def arch_embeddings(self) -> ArchEmbeddings:
        """The embedding of any candidate (what an `EmbeddingPredictor` reads)."""
        return ArchEmbeddings(EmbeddingTable(self.matrix), self.position, self.ctx.key)

    def arch_of(self, row: int) -> Arch:
        return self.all_archs[int(row)]

    def take(self, rows: Sequence[int] | np.ndarray) -> list[Arch]:
        """Mark `rows` as asked and return their archs."""
        rows = [int(r) for r in rows]
        self.visited[rows] = True
        return [self.arch_of(r) for r in rows]

    def random_rows(self, n: int) -> list[int]:
        """Up to `n` distinct unvisited rows: the warm start's first (see
        `selfnas.search.warm`), then uniformly at random."""
        rows: list[int] = []
        if self.ctx.warm is not None:
            if not hasattr(self, "warm_queue"):
                self.warm_queue = self._warm_rows()
            while self.warm_queue and len(rows) < n:
                row = self.warm_queue.pop(0)
                if not self.visited[row] and row not in rows:
                    rows.append(row)
        free = np.flatnonzero(~self.visited)
        free = free[~np.isin(free, rows)]
        if len(rows) >= n or not len(free):
            return rows
        drawn = self.rng.choice(free, size=min(n - len(rows), len(free)), replace=False)
        return rows + [int(r) for r in drawn]

    def _warm_rows(self) -> list[int]:
        """Rows of the warm start's archs (added to the candidates where a pool lacks them)."""
        archs = self.ctx.warm.first(self.rng)
        self.add_candidates([a for a in archs if self.ctx.key(a) not in self.position])
        return [self.row_of(a) for a in archs]

    def nearest_unvisited(self, point: np.ndarray) -> int | None:
        """The unvisited row closest (L2) to `point` in the embedding space."""
        if self.visited.all():
            return None
        point = np.asarray(point, dtype=np.float32)
        dist = self.sq_norms - 2.0 * (self.matrix @ point)  # + |point|^2, same for all rows
        dist[self.visited] = np.inf
        return int(np.argmin(dist))

    def report(self) -> dict[str, Any] | None:
        if not self.candidates.pool:
            return None
        return {"added": len(self.added)}

    # --- growing a pool ----------------------------------------------------------------
    def add_candidates(self, archs: Sequence[Arch]) -> int:
        """Embed `archs` (not candidates yet) and make them candidates; returns how many."""
        embed = self.candidates.embed
        fresh: dict[str, Arch] = {}
        for arch in archs:
            key = self.ctx.key(arch)
            if key not in self.position and key not in fresh:
                fresh[key] = arch
        if not fresh or embed is None:
            return 0
        new = list(fresh.values())
        self.added_matrix = np.concatenate([self.added_matrix, embed(new)])
        self.added.extend(new)
        self.visited = np.concatenate([self.visited, np.zeros(len(new), dtype=bool)])
        self._index()
        return len(new)

    def grow_pool(self, rows: Sequence[int], values: Sequence[float]) -> int:
        """On a pool, add mutations of the best queried archs (`rows` with `values`):
        `candidates.mutants` per round from the `MUTANT_PARENTS` best. Nothing elsewhere."""
        if not self.candidates.pool or not self.candidates.mutants or not len(rows):
            return 0
        order = np.argsort(-np.asarray(values, dtype=np.float64), kind="stable")
        parents = [self.arch_of(rows[i]) for i in order[:MUTANT_PARENTS]]
        space = self.ctx.space
        children = [
            space.mutate(parents[i % len(parents)], self.rng)
            for i in range(self.candidates.mutants)
        ]
        return self.add_candidates(children)
