"""Local search: best-improvement hill climbing over edit-distance-1 neighbours, with
random restarts (White et al., 2021: "local search is state of the art" on NAS benchmarks).

From the best of `init` random archs, evaluate every unseen neighbour of the current arch
(in random order), move to the best neighbour if it beats the current arch, and restart
from `init` fresh random archs at a local optimum.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from selfnas.errors import InvalidOption
from selfnas.search.base import Arch, DiscreteStrategy, Options, SearchContext


@dataclass
class LocalOptions(Options):
    #: random archs evaluated at the start and at each restart (the best one is climbed)
    init: int = 1


class LocalSearch(DiscreteStrategy):
    name = "ls"
    options_class = LocalOptions
    options: LocalOptions

    def __init__(self, ctx: SearchContext, rng: np.random.Generator, options: LocalOptions) -> None:
        if options.init < 1:
            raise InvalidOption(f"ls needs init >= 1, got {options.init}")
        super().__init__(ctx, rng, options)
        self.values: dict[str, float] = {}  # key -> value of every arch told
        self.current: tuple[Arch, float] | None = None
        self.phase = "start"  # start: random archs pending; climb: neighbours pending
        self.start_batch: list[Arch] = []

    def ask(self) -> list[Arch]:
        while True:
            if self.current is None:
                batch = self.random_new(self.options.init)
                self.phase = "start"
                self.start_batch = batch
                return batch
            arch = self.current[0]
            neighbours = self.ctx.space.neighbours(arch)
            fresh = [a for a in neighbours if self.is_new(a)]
            if fresh:
                order = self.rng.permutation(len(fresh))
                self.phase = "climb"
                return [self.mark(fresh[i]) for i in order]
            self._move(neighbours)  # every neighbour known: decide without querying

    def tell(self, archs: Sequence[Arch], values: Sequence[float]) -> None:
        for arch, value in zip(archs, values, strict=True):
            self.values[self.key(arch)] = float(value)
        if self.phase == "start":
            known = [(a, self.values[self.key(a)]) for a in archs]
            if known:
                self.current = max(known, key=lambda m: m[1])
        elif self.current is not None:
            self._move(self.ctx.space.neighbours(self.current[0]))

    def _move(self, neighbours: Sequence[Arch]) -> None:
        """Step to the best known neighbour if it improves, else restart."""
        assert self.current is not None
        scored = [(a, self.values[k]) for a in neighbours if (k := self.key(a)) in self.values]
        best = max(scored, key=lambda m: m[1], default=None)
        if best is not None and best[1] > self.current[1]:
            self.current = best
        else:
            self.current = None
