"""Random search without replacement: the baseline every method must beat."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from selfnas.search.base import Arch, DiscreteStrategy, Options


@dataclass
class RandomOptions(Options):
    #: archs asked per round (only changes how often the runner checkpoints, not results)
    batch: int = 10


class RandomSearch(DiscreteStrategy):
    """Uniform draws from the space, each arch at most once."""

    name = "random"
    options_class = RandomOptions
    options: RandomOptions

    def ask(self) -> list[Arch]:
        return self.random_new(max(1, self.options.batch))

    def tell(self, archs: Sequence[Arch], values: Sequence[float]) -> None:
        return None
