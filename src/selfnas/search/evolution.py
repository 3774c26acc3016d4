"""Regularised evolution (Real et al., 2019): tournament selection, ageing population.

Defaults: population 50, tournament sample 10 (on NB201 CIFAR-10 this found the optimum
faster than the smaller 10/3 setting). Each round asks one child: the best of `sample`
archs drawn from the population, mutated by one edit (a single-edge/op change); the
oldest member dies when the population is full.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from selfnas.errors import InvalidOption
from selfnas.search.base import Arch, DiscreteStrategy, Options, SearchContext


@dataclass
class EvolutionOptions(Options):
    #: population size (the first `population` archs are random)
    population: int = 50
    #: tournament size: archs drawn from the population to pick each parent
    sample: int = 10
    #: mutation draws before a parent with no unseen child is given up
    mutation_tries: int = 50


class RegularizedEvolution(DiscreteStrategy):
    name = "re"
    options_class = EvolutionOptions
    options: EvolutionOptions

    def __init__(
        self, ctx: SearchContext, rng: np.random.Generator, options: EvolutionOptions
    ) -> None:
        if options.population < 1 or not 1 <= options.sample <= options.population:
            raise InvalidOption(
                f"re needs population >= 1 and 1 <= sample <= population, got "
                f"population={options.population}, sample={options.sample}"
            )
        super().__init__(ctx, rng, options)
        self.population: list[tuple[Arch, float]] = []  # oldest first
        self.evaluated = 0

    def ask(self) -> list[Arch]:
        if self.evaluated < self.options.population:
            return self.random_new(1)
        child = self._child()
        return [child] if child is not None else self.random_new(1)

    def _child(self) -> Arch | None:
        """A never-asked mutant of a tournament winner (None if none can be found)."""
        space = self.ctx.space
        for _ in range(self.options.population):
            picks = self.rng.choice(len(self.population), self.options.sample, replace=False)
            parent = max((self.population[i] for i in picks), key=lambda m: m[1])[0]
            for _ in range(self.options.mutation_tries):
                child = space.mutate(parent, self.rng)
                if self.is_new(child):
                    return self.mark(child)
            fresh = [a for a in space.neighbours(parent) if self.is_new(a)]
            if fresh:
                return self.mark(fresh[int(self.rng.integers(len(fresh)))])
        return None

    def tell(self, archs: Sequence[Arch], values: Sequence[float]) -> None:
        for arch, value in zip(archs, values, strict=True):
            self.population.append((arch, float(value)))
            self.evaluated += 1
            if len(self.population) > self.options.population:
                self.population.pop(0)
