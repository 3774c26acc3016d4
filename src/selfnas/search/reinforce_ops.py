"""REINFORCE over the cell's op choices: the NAS-Bench-201 paper's RL baseline.

Unlike arch2vec-RL (`rl`), which acts in a pretrained embedding space, this policy is
one independent categorical distribution per edge over the candidate ops (logits
initialised near zero), trained by REINFORCE with Adam and an exponential-moving-average
reward baseline, one update per sampled cell (Dong & Yang 2020, Section 5; NATS-Bench).
It is the baseline arch2vec's NB201 table lists as "REINFORCE".

The runner never queries a cell twice, so a sampled cell that was already evaluated is
rewarded with its recorded value (no query is spent) and sampling goes on until an unseen
cell comes up. Needs a space whose cells are a fixed vector of op choices
(`from_indices` / `op_indices`: NAS-Bench-201).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Protocol, Self, cast, runtime_checkable

import numpy as np
import torch

from selfnas.errors import InvalidOption
from selfnas.search.base import Arch, DiscreteStrategy, Options, SearchContext


@runtime_checkable
class OpChoiceCell(Hashable, Protocol):
    """A cell that is one op choice per edge (an `NB201Cell`): what the policy samples."""

    @property
    def op_indices(self) -> tuple[int, ...]: ...

    @classmethod
    def from_indices(cls, indices: Sequence[int]) -> Self: ...


@dataclass
class OpReinforceOptions(Options):
    #: Adam learning rate of the policy logits
    lr: float = 0.01
    #: momentum of the exponential moving average baseline
    baseline_momentum: float = 0.9
    #: resample at most this many already-seen cells before asking a random unseen one
    max_resamples: int = 1000


class OpReinforce(DiscreteStrategy):
    name = "reinforce"
    options_class = OpReinforceOptions
    options: OpReinforceOptions

    def __init__(
        self, ctx: SearchContext, rng: np.random.Generator, options: OpReinforceOptions
    ) -> None:
        space = ctx.space
        cell = space.sample(1, np.random.default_rng(0))[0]
        if not isinstance(cell, OpChoiceCell):
            raise InvalidOption(
                f"reinforce needs a space whose cells are fixed op choices per edge "
                f"(nb201); {getattr(space, 'name', space)!r} is not one: use rl, re or ls"
            )
        if options.lr <= 0 or not 0 <= options.baseline_momentum < 1:
            raise InvalidOption("reinforce needs lr > 0 and 0 <= baseline_momentum < 1")
        super().__init__(ctx, rng, options)
        edges = len(cell.op_indices)
        ops = len(space.candidate_ops)
        init = np.random.default_rng(int(rng.integers(2**31))).normal(0, 1e-3, (edges, ops))
        self.logits = torch.nn.Parameter(torch.as_tensor(init, dtype=torch.float64))
        self.optimizer = torch.optim.Adam([self.logits], lr=options.lr)
        self.baseline: float | None = None
        self.values: dict[str, float] = {}
        self.updates = 0

    def _sample(self) -> tuple[int, ...]:
        probs = torch.softmax(self.logits.detach(), dim=1).numpy()
        return tuple(int(self.rng.choice(len(p), p=p / p.sum())) for p in probs)

    def _update(self, choice: Sequence[int], reward: float) -> None:
        if self.baseline is None:
            self.baseline = reward
        m = self.options.baseline_momentum
        self.baseline = m * self.baseline + (1 - m) * reward
        log_prob = torch.log_softmax(self.logits, dim=1)[torch.arange(len(choice)), list(choice)]
        loss = -log_prob.sum() * (reward - self.baseline)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.updates += 1

    def _cell_type(self) -> type[OpChoiceCell]:
        """The space's cell class (checked to be an `OpChoiceCell` at construction)."""
        return type(cast(OpChoiceCell, self.ctx.space.sample(1, np.random.default_rng(0))[0]))

    def ask(self) -> list[Arch]:
        cell_type = self._cell_type()
        for _ in range(self.options.max_resamples):
            arch = cell_type.from_indices(self._sample())
            key = self.key(arch)
            if key not in self.visited:
                return [self.mark(arch)]
            if key in self.values:  # seen and measured: learn from it for free
                self._update(arch.op_indices, self.values[key])
        return self.random_new(1)

    def tell(self, archs: Sequence[Arch], values: Sequence[float]) -> None:
        for arch, value in zip(archs, values, strict=False):
            self.values[self.key(arch)] = float(value)
            self._update(cast(OpChoiceCell, arch).op_indices, float(value))
