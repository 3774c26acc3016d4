"""REINFORCE over the categorical decisions that spell an arch, on any space that has them.

This is the NAS-Bench-201 paper's RL baseline (Dong & Yang 2020, Section 5; NATS-Bench)
and the NAS-Bench-101 paper's REINFORCE baseline (Ying et al. 2019): one independent
categorical distribution per decision of `space.choices` (NB201: each edge's op; NB101:
each edge bit and inner vertex op; DARTS: each node's input pair and edge ops; NB-Graph:
each op node's input and op), logits initialised near zero, trained by REINFORCE with Adam
and an exponential-moving-average reward baseline, one update per sampled arch. Unlike
arch2vec-RL (`rl`), which acts in a pretrained embedding space, it needs no pretraining;
it is the baseline arch2vec's NB201 table lists as "REINFORCE".

Decisions have different numbers of options, so the logits are padded to the largest and
the missing options masked out. A combination that spells no valid arch (NB101: too many
edges, input and output unconnected) is drawn again without a query. The runner never
queries an arch twice, so a sampled arch already evaluated is rewarded with its recorded
value (no query is spent) and sampling goes on until an unseen arch comes up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from selfnas.errors import InvalidOption
from selfnas.search.base import Arch, DiscreteStrategy, Options, SearchContext


@dataclass
class OpReinforceOptions(Options):
    #: Adam learning rate of the policy logits
    lr: float = 0.01
    #: momentum of the exponential moving average baseline
    baseline_momentum: float = 0.9
    #: draw at most this many seen or invalid combinations before asking a random unseen arch
    max_resamples: int = 1000


class OpReinforce(DiscreteStrategy):
    name = "reinforce"
    options_class = OpReinforceOptions
    options: OpReinforceOptions

    def __init__(
        self, ctx: SearchContext, rng: np.random.Generator, options: OpReinforceOptions
    ) -> None:
        space = ctx.space
        choices = space.choices
        if choices is None:
            raise InvalidOption(
                f"reinforce needs a space whose archs are categorical choices (nb101, nb201, "
                f"darts, nbgraph); {getattr(space, 'name', space)!r} has none: use rl, re or ls"
            )
        if options.lr <= 0 or not 0 <= options.baseline_momentum < 1:
            raise InvalidOption("reinforce needs lr > 0 and 0 <= baseline_momentum < 1")
        super().__init__(ctx, rng, options)
        self.choices = tuple(choices)
        shape = (len(choices), max(choices))
        init = np.random.default_rng(int(rng.integers(2**31))).normal(0, 1e-3, shape)
        self.logits = torch.nn.Parameter(torch.as_tensor(init, dtype=torch.float64))
        #: 0 where a decision has the option, -inf where it is padding
        self.mask = torch.zeros(shape, dtype=torch.float64)
        for decision, n in enumerate(choices):
            self.mask[decision, n:] = -torch.inf
        self.optimizer = torch.optim.Adam([self.logits], lr=options.lr)
        self.baseline: float | None = None
        self.values: dict[str, float] = {}
        #: key -> the combination that produced an asked arch, until it is told
        self.sampled: dict[str, tuple[int, ...]] = {}
        self.updates = 0

    def probabilities(self) -> np.ndarray:
        """The policy: `[decision, option]` probabilities, 0 at padded options."""
        return torch.softmax(self.logits.detach() + self.mask, dim=1).numpy()

    def _sample(self) -> tuple[int, ...]:
        probs = self.probabilities()
        return tuple(
            int(self.rng.choice(n, p=p[:n] / p[:n].sum()))
            for n, p in zip(self.choices, probs, strict=True)
        )

    def _update(self, choice: Sequence[int], reward: float) -> None:
        if self.baseline is None:
            self.baseline = reward
        m = self.options.baseline_momentum
        self.baseline = m * self.baseline + (1 - m) * reward
        log_probs = torch.log_softmax(self.logits + self.mask, dim=1)
        log_prob = log_probs[torch.arange(len(choice)), list(choice)]
        loss = -log_prob.sum() * (reward - self.baseline)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.updates += 1

    def ask(self) -> list[Arch]:
        space = self.ctx.space
        for _ in range(self.options.max_resamples):
            choice = self._sample()
            arch = space.from_choices(choice)
            if arch is None:  # spells no valid arch: draw again, no query spent
                continue
            key = self.key(arch)
            if key not in self.visited:
                self.sampled[key] = choice
                return [self.mark(arch)]
            if key in self.values:  # seen and measured: learn from it for free
                self._update(choice, self.values[key])
        return self.random_new(1)

    def tell(self, archs: Sequence[Arch], values: Sequence[float]) -> None:
        for arch, value in zip(archs, values, strict=False):
            key = self.key(arch)
            self.values[key] = float(value)
            choice = self.sampled.pop(key, None)
            if choice is None:  # a random fallback's arch: reward its own spelling
                choice = self.ctx.space.to_choices(arch)
            self._update(choice, float(value))
