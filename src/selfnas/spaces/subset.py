"""A space cut down to the archs a benchmark table can answer for.

A user's NAS-Bench-101 table often holds a few hundred cells of the 423,624 (the shared
`nb101_val500.json` holds 292 distinct ones). Searching the whole space there would ask
for cells nobody can score, so the search runs on this subset instead: it samples,
enumerates, mutates and decodes only inside the table, and hands everything else
(hashes, text, tensors, edit distances) to the full space, so encoders and pretrained
runs of the full space work unchanged.

A mutation keeps to the space's own move where that lands in the table (dense tables);
otherwise it moves to a member at the smallest edit distance, which is what "one edit"
means on a sparse subset.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any, Generic

import numpy as np

from selfnas.errors import InvalidArchitecture, InvalidOption
from selfnas.spaces.base import A, SearchSpace
from selfnas.spaces.batch import ArchBatch, EdgeBatch

#: tries of the full space's own mutation before falling back to the nearest members
_MUTATION_TRIES = 32


class SubsetSpace(SearchSpace[A], Generic[A]):
    """The members `archs` of `base`, searched as a space of their own."""

    def __init__(self, base: SearchSpace[A], archs: Sequence[A], source: str = "") -> None:
        if not archs:
            raise InvalidOption(f"{source or 'the table'} holds no arch of {base.name}")
        self.base = base
        self.source = source
        self.name = base.name
        self.node_ops = base.node_ops
        self.op_on_edge = base.op_on_edge
        self.has_edge_batch = base.has_edge_batch
        members: dict[str, A] = {}
        for arch in archs:
            members.setdefault(base.hash(arch), arch)
        self.members = members
        self._archs = list(members.values())

    # --- size and text ---------------------------------------------------------------
    @property
    def size(self) -> int:
        return len(self._archs)

    @property
    def unique(self) -> int | None:
        return len(self._archs)

    @cached_property
    def num_vertices(self) -> int:
        return self.base.num_vertices

    @property
    def candidate_ops(self) -> tuple[str, ...]:
        return self.base.candidate_ops

    def contains(self, arch: A) -> bool:
        return self.base.hash(arch) in self.members

    def parse(self, text: str) -> A:
        arch = self.base.parse(text)
        if not self.contains(arch):
            raise InvalidArchitecture(f"{text!r} is not among the {self.size} archs of {self}")
        return arch

    def format(self, arch: A) -> str:
        return self.base.format(arch)

    def hash(self, arch: A) -> str:
        return self.base.hash(arch)

    def unique_key(self, arch: A) -> str | None:
        return self.base.unique_key(arch)

    def __str__(self) -> str:
        return f"{self.name} restricted to {self.source or 'a table'}"

    # --- population --------------------------------------------------------------------
    def enumerate(self) -> list[A]:
        return list(self._archs)

    def sample(self, n: int, rng: np.random.Generator) -> list[A]:
        picks = rng.integers(0, len(self._archs), size=n)
        return [self._archs[int(i)] for i in picks]

    def _nearest(self, arch: A) -> list[A]:
        """The other members at the smallest edit distance from `arch`."""
        key = self.base.hash(arch)
        others = [a for h, a in self.members.items() if h != key]
        if not others:
            return []
        distance = np.array([self.base.edit_distance(arch, b) for b in others])
        return [others[i] for i in np.flatnonzero(distance == distance.min())]

    def mutate(self, arch: A, rng: np.random.Generator) -> A:
        for _ in range(_MUTATION_TRIES):
            child = self.base.mutate(arch, rng)
            if self.contains(child):
                return child
        nearest = self._nearest(arch)
        if not nearest:
            raise InvalidOption(f"{self} holds a single arch; nothing to mutate into")
        return nearest[int(rng.integers(len(nearest)))]

    def neighbours(self, arch: A) -> list[A]:
        inside = [a for a in self.base.neighbours(arch) if self.contains(a)]
        return inside or self._nearest(arch)

    def random_edit(self, arch: A, num_edits: int, rng: np.random.Generator) -> A:
        for _ in range(_MUTATION_TRIES):
            child = self.base.random_edit(arch, num_edits, rng)
            if self.contains(child) and self.hash(child) != self.hash(arch):
                return child
        return self.mutate(arch, rng)

    def edit_distance(self, a: A, b: A) -> int:
        return self.base.edit_distance(a, b)

    # --- categorical choices (a policy's view of an arch) ------------------------------
    @property
    def choices(self) -> tuple[int, ...] | None:
        return self.base.choices

    def from_choices(self, indices: Sequence[int]) -> A | None:
        arch = self.base.from_choices(indices)
        return arch if arch is not None and self.contains(arch) else None

    def to_choices(self, arch: A) -> tuple[int, ...]:
        return self.base.to_choices(arch)

    # --- tensors -----------------------------------------------------------------------
    def batch(self, archs: Sequence[A]) -> ArchBatch:
        return self.base.batch(archs)

    def edge_batch(self, archs: Sequence[A]) -> EdgeBatch:
        return self.base.edge_batch(archs)

    def decode(self, adj: np.ndarray, ops: np.ndarray) -> A | None:
        arch = self.base.decode(adj, ops)
        return arch if arch is not None and self.contains(arch) else None

    def unpruned_hash(self, adj: np.ndarray, ops: np.ndarray) -> str | None:
        return self.base.unpruned_hash(adj, ops)

    def published_valid(self, adj: np.ndarray, ops: np.ndarray) -> bool | None:
        return self.base.published_valid(adj, ops)

    def describe(self) -> dict[str, Any]:
        return {**self.base.describe(), "size": self.size, "unique": self.size}
