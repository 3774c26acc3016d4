"""The search-space interface every space implements.

An architecture (`Arch`) is an immutable, hashable value of one space. Two archs compare
equal when the space says they are the same architecture: NB101 by the official canonical
hash (isomorphic cells are one arch), NB201 by its exact edge ops (the benchmark lists
isomorphic cells separately; `unique_key` gives their class), DARTS by the genotype with
each node's two inputs in canonical order, NAS-Bench-Graph by its own arch id.

What a space can do beyond the abstract methods is declared here too (`enumerable`,
`num_vertices`, `batch_all`, `hashes_all`, `unique_key`, `choices`, ...), each with a
default, so callers read one member instead of probing for attributes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Sequence
from functools import cached_property
from typing import Any, Generic, TypeVar

import numpy as np

from selfnas.errors import InvalidArchitecture
from selfnas.spaces.batch import ArchBatch, EdgeBatch

Arch = Hashable
#: the arch type of one space (`NB101Cell`, `NB201Cell`, `Genotype`, `NBGraphArch`)
A = TypeVar("A", bound=Hashable)

#: most archs a space may hold and still be `enumerable` (every arch listed, tensors built)
MAX_ENUMERABLE = 5_000_000


class SearchSpace(ABC, Generic[A]):
    """A family of architectures with sampling, editing, hashing and graph tensors."""

    #: short name used on the command line (`nb101`, `nb201`, `darts`, `nbgraph`)
    name: str = ""
    #: node-form op vocabulary, in the index order used by `ArchBatch.ops`
    node_ops: tuple[str, ...] = ()
    #: True where ops live on edges natively (NB201, DARTS)
    op_on_edge: bool = False
    #: True where `edge_batch` gives that native edge form (NB201); elsewhere encoders
    #: read the node form
    has_edge_batch: bool = False

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
    def enumerable(self) -> bool:
        """Whether every arch can be listed (`enumerate`, `batch_all`): the one rule every
        "whole space or a sample?" decision reads."""
        size = self.size
        return size is not None and size <= MAX_ENUMERABLE

    @cached_property
    def num_vertices(self) -> int:
        """Most vertices a node-form graph of the space has (spaces state it; this
        fallback measures a seeded sample)."""
        archs = self.sample(64, np.random.default_rng(0))
        return self.batch(archs).num_vertices

    @property
    def candidate_ops(self) -> tuple[str, ...]:
        """The ops a user chooses between (the `spaces` table's `ops` column)."""
        return self.node_ops

    # --- text -----------------------------------------------------------------
    @abstractmethod
    def parse(self, text: str) -> A:
        """Parse the space's standard text form; raise `InvalidArchitecture` if bad."""

    @abstractmethod
    def format(self, arch: A) -> str:
        """The space's standard text form (round-trips with `parse`)."""

    @abstractmethod
    def hash(self, arch: A) -> str:
        """Stable identifier of the arch (NB101: official module hash)."""

    # --- population -----------------------------------------------------------
    def enumerate(self) -> list[A]:
        """Every arch of the space (each once; `enumerable` spaces only)."""
        raise NotImplementedError(f"{self.name} cannot be enumerated")

    def batch_all(self) -> ArchBatch:
        """Node-form tensors of every arch, in `enumerate()` order (spaces with a faster
        way than `batch(enumerate())` override it)."""
        return self.batch(self.enumerate())

    def hashes_all(self) -> list[str] | None:
        """`hash` of every arch in `enumerate()` order where the space has them at hand
        (None: compute them one by one)."""
        return None

    def unique_key(self, arch: A) -> str | None:
        """The class of archs computing the same function as `arch`, where the space
        defines one beyond `hash` (NB201's NATS-Bench key; None elsewhere)."""
        return None

    @abstractmethod
    def sample(self, n: int, rng: np.random.Generator) -> list[A]:
        """`n` archs drawn uniformly from the space (with replacement)."""

    @abstractmethod
    def mutate(self, arch: A, rng: np.random.Generator) -> A:
        """A random valid arch at edit distance 1 (different from `arch`)."""

    @abstractmethod
    def neighbours(self, arch: A) -> list[A]:
        """All valid archs at edit distance 1, each once."""

    def random_edit(self, arch: A, num_edits: int, rng: np.random.Generator) -> A:
        """A valid arch made by `num_edits` random edits of `arch` (true edit distance <=
        `num_edits`); used to make positives for locality-based metric learning."""
        raise NotImplementedError(f"{self.name} has no random edits")

    def edit_distance(self, a: A, b: A) -> int:
        """Exact graph edit distance between two archs of this space."""
        raise NotImplementedError(f"{self.name} has no edit distance")

    # --- categorical decisions ------------------------------------------------
    @property
    def choices(self) -> tuple[int, ...] | None:
        """Number of options of each categorical decision that together spell an arch, or
        None where the space has no such encoding. A policy of one categorical
        distribution per decision (the REINFORCE baselines of the NAS-Bench-101 and -201
        papers) samples archs through it, whatever the space."""
        return None

    def from_choices(self, indices: Sequence[int]) -> A | None:
        """The arch spelled by one option index per decision, or None when that combination
        is no valid arch (the policy then draws again)."""
        raise NotImplementedError(f"{self.name} has no categorical decisions")

    def to_choices(self, arch: A) -> tuple[int, ...]:
        """One option index per decision spelling `arch` (`from_choices` gives it back), so
        a policy can score an arch it did not sample itself."""
        raise NotImplementedError(f"{self.name} has no categorical decisions")

    # --- tensors --------------------------------------------------------------
    @abstractmethod
    def batch(self, archs: Sequence[A]) -> ArchBatch:
        """Node-form padded tensors for many archs."""

    def edge_batch(self, archs: Sequence[A]) -> EdgeBatch:
        """Native edge-form tensors (op-on-edge spaces only)."""
        raise NotImplementedError(f"{self.name} has ops on nodes; use batch()")

    def decode(self, adj: np.ndarray, ops: np.ndarray) -> A | None:
        """Turn one node-form graph (`adj [V,V]`, `ops [V]`) back into an arch, or None if
        it is not a valid member of the space (used to score decoders' validity)."""
        raise NotImplementedError

    def unpruned_hash(self, adj: np.ndarray, ops: np.ndarray) -> str | None:
        """Hash of a decoded graph as decoded, before any pruning, where the published
        code counts uniqueness that way (NB101; None elsewhere)."""
        return None

    def published_valid(self, adj: np.ndarray, ops: np.ndarray) -> bool | None:
        """Validity of a decoded graph by the published code's looser rule, where it has
        one (DARTS; None elsewhere)."""
        return None

    def describe(self) -> dict[str, Any]:
        """One row of the `selfnas spaces` table."""
        return {
            "name": self.name,
            "size": self.size,
            "unique": self.unique,
            "ops": list(self.candidate_ops),
        }


def check_choices(indices: Sequence[int], cardinalities: Sequence[int]) -> tuple[int, ...]:
    """`indices` as ints, one in range per decision; `InvalidArchitecture` otherwise (a
    wrong vector is a caller's bug, unlike a valid vector spelling no arch)."""
    values = tuple(int(i) for i in indices)
    if len(values) != len(cardinalities):
        raise InvalidArchitecture(
            f"expected {len(cardinalities)} choice indices, got {len(values)}"
        )
    for d, (value, n) in enumerate(zip(values, cardinalities, strict=True)):
        if not 0 <= value < n:
            raise InvalidArchitecture(f"choice {d} has options 0..{n - 1}, got {value}")
    return values


def space_num_vertices(space: SearchSpace) -> int:
    """Most vertices a node-form graph of `space` has (its `num_vertices`)."""
    return space.num_vertices
