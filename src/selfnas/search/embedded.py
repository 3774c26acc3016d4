"""Base of searches that move in a pretrained embedding space (arch2vec-RL, arch2vec-BO).

They work on row numbers of the problem's arch index (`Problem.archs`), with the embedding
matrix aligned to it and a boolean visited mask, so a step is a few vectorised array
operations over the whole space, never per-arch Python work.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from selfnas.search.base import Arch, Strategy
from selfnas.search.embeddings import ArchEmbeddings, IndexedArchs


class EmbeddingStrategy(Strategy):
    needs_embeddings = True
    transient = ("matrix", "sq_norms")

    def _setup(self) -> None:
        self.matrix: np.ndarray = self.ctx.embeddings.matrix
        self.sq_norms: np.ndarray = self.ctx.embeddings.sq_norms
        if not hasattr(self, "visited"):
            self.visited = np.zeros(len(self.matrix), dtype=bool)

    def row_of(self, arch: Arch) -> int:
        return int(self.ctx.problem.position[self.ctx.key(arch)])

    def indexed(self, rows: Sequence[int] | np.ndarray) -> IndexedArchs:
        """The archs at `rows`, as a sequence an embedding predictor reads by row."""
        return IndexedArchs(self.ctx.problem.archs, rows)

    @property
    def arch_embeddings(self) -> ArchEmbeddings:
        """The embedding of any arch of the index (what an `EmbeddingPredictor` reads)."""
        return ArchEmbeddings(self.ctx.embeddings, self.ctx.problem.position, self.ctx.key)

    def arch_of(self, row: int) -> Arch:
        return self.ctx.problem.archs[int(row)]

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
                self.warm_queue = [self.row_of(a) for a in self.ctx.warm.first(self.rng)]
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

    def nearest_unvisited(self, point: np.ndarray) -> int | None:
        """The unvisited row closest (L2) to `point` in the embedding space."""
        if self.visited.all():
            return None
        point = np.asarray(point, dtype=np.float32)
        dist = self.sq_norms - 2.0 * (self.matrix @ point)  # + |point|^2, same for all rows
        dist[self.visited] = np.inf
        return int(np.argmin(dist))
