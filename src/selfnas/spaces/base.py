"""The search-space interface every space implements.

An architecture (`Arch`) is an immutable, hashable value of one space. Two archs compare
equal when the space says they are the same architecture: NB101 by the official canonical
hash (isomorphic cells are one arch), NB201 by its exact edge ops (the benchmark lists
isomorphic cells separately; `unique_key` gives their class), DARTS by the genotype with
each node's two inputs in canonical order, NAS-Bench-Graph by its own arch id.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from selfnas.spaces.batch import ArchBatch, EdgeBatch

Arch = Hashable


class SearchSpace(ABC):
    """A family of architectures with sampling, editing, hashing and graph tensors."""

    #: short name used on the command line (`nb101`, `nb201`, `darts`, `nbgraph`)
    name: str = ""
    #: node-form op vocabulary, in the index order used by `ArchBatch.ops`
    node_ops: tuple[str, ...] = ()
    #: True where ops live on edges natively (NB201, DARTS)
    op_on_edge: bool = False

    # --- size -----------------------------------------------------------------
    @property
    @abstractmethod
    def size(self) -> int | None:
        """Number of distinct archs (None if too large to state exactly)."""

    @property
    def unique(self) -> int | None:
        """Number of classes of archs that compute the same function (None if unknown)."""
        return self.size

    @property
    def candidate_ops(self) -> tuple[str, ...]:
        """The ops a user chooses between (the `spaces` table's `ops` column)."""
        return self.node_ops

    # --- text -----------------------------------------------------------------
    @abstractmethod
    def parse(self, text: str) -> Arch:
        """Parse the space's standard text form; raise `InvalidArchitecture` if bad."""

    @abstractmethod
    def format(self, arch: Arch) -> str:
        """The space's standard text form (round-trips with `parse`)."""

    @abstractmethod
    def hash(self, arch: Arch) -> str:
        """Stable identifier of the arch (NB101: official module hash)."""

    # --- population -----------------------------------------------------------
    def enumerate(self) -> list[Arch]:
        """Every arch of the space (each once)."""
        raise NotImplementedError(f"{self.name} cannot be enumerated")

    @abstractmethod
    def sample(self, n: int, rng: np.random.Generator) -> list[Arch]:
        """`n` archs drawn uniformly from the space (with replacement)."""

    @abstractmethod
    def mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        """A random valid arch at edit distance 1 (different from `arch`)."""

    @abstractmethod
    def neighbours(self, arch: Arch) -> list[Arch]:
        """All valid archs at edit distance 1, each once."""

    def random_edit(self, arch: Arch, num_edits: int, rng: np.random.Generator) -> Arch:
        """A valid arch made by `num_edits` random edits of `arch` (true edit distance <=
        `num_edits`); used to make positives for locality-based metric learning."""
        raise NotImplementedError(f"{self.name} has no random edits")

    def edit_distance(self, a: Arch, b: Arch) -> int:
        """Exact graph edit distance between two archs of this space."""
        raise NotImplementedError(f"{self.name} has no edit distance")

    # --- tensors --------------------------------------------------------------
    @abstractmethod
    def batch(self, archs: Sequence[Arch]) -> ArchBatch:
        """Node-form padded tensors for many archs."""

    def edge_batch(self, archs: Sequence[Arch]) -> EdgeBatch:
        """Native edge-form tensors (op-on-edge spaces only)."""
        raise NotImplementedError(f"{self.name} has ops on nodes; use batch()")

    def decode(self, adj: np.ndarray, ops: np.ndarray) -> Arch | None:
        """Turn one node-form graph (`adj [V,V]`, `ops [V]`) back into an arch, or None if
        it is not a valid member of the space (used to score decoders' validity)."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """One row of the `selfnas spaces` table."""
        return {
            "name": self.name,
            "size": self.size,
            "unique": self.unique,
            "ops": list(self.candidate_ops),
        }


def space_num_vertices(space: SearchSpace, probe: int = 64) -> int:
    """Most vertices a node-form graph of `space` has (attribute, else measured on a sample)."""
    for attr in ("max_vertices", "num_vertices", "MAX_VERTICES"):
        value = getattr(space, attr, None)
        if isinstance(value, int):
            return value
    archs = space.sample(probe, np.random.default_rng(0))
    return space.batch(archs).num_vertices
