"""arch2vec-RL: REINFORCE in a pretrained embedding space (Yan et al., 2020).

The policy is an LSTMCell (embedding dim -> 128) with a linear head back to the
embedding dim; from the current arch's embedding it outputs the mean of a Gaussian with
identity covariance. A sampled action is mapped to the nearest not-yet-visited
candidate, which is queried; its accuracy is the reward (candidates: the whole space, or
on a space too large to enumerate a pool grown after each episode by mutations of the
best archs). After each episode (16 steps) the policy takes one Adam step (lr 1e-2) on
-mean(log p(action) * (reward - baseline)), the baseline being an exponential moving
average of past episodes' mean reward (started at the first episode's mean, not a fixed
constant).

The episode keeps its inputs and actions (not autograd graphs), and the update replays
the LSTM over them: the policy does not change within an episode, so this gives the same
gradient and keeps every step checkpointable."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from selfnas.errors import InvalidOption
from selfnas.search.base import Arch, Options, SearchContext
from selfnas.search.embedded import EmbeddingStrategy


@dataclass
class ReinforceOptions(Options):
    #: LSTMCell hidden units
    hidden: int = 128
    #: Adam learning rate
    lr: float = 1e-2
    #: steps (queries) per episode, i.e. per policy update
    episode: int = 16
    #: moving-average momentum of the reward baseline
    baseline_momentum: float = 0.9
    #: standard deviation of the Gaussian action (identity covariance times its square)
    sigma: float = 1.0


class Policy(nn.Module):
    """LSTMCell policy: embedding -> hidden -> mean of the next embedding."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.cell = nn.LSTMCell(dim, hidden)
        self.head = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor, state=None):
        h, c = self.cell(x, state)
        return self.head(h), (h, c)


class EmbeddingReinforce(EmbeddingStrategy):
    name = "rl"
    options_class = ReinforceOptions
    options: ReinforceOptions

    def __init__(
        self, ctx: SearchContext, rng: np.random.Generator, options: ReinforceOptions
    ) -> None:
        if options.episode < 1 or options.sigma <= 0 or not 0 <= options.baseline_momentum < 1:
            raise InvalidOption("rl needs episode >= 1, sigma > 0, 0 <= baseline_momentum < 1")
        super().__init__(ctx, rng, options)
        dim = self.matrix.shape[1]
        self.policy = Policy(dim, options.hidden)
        self.optimizer = torch.optim.Adam(self.policy.parameters(), lr=options.lr)
        self.current: int | None = None  # row of the arch the policy stands on
        self.pending: int | None = None  # row asked, not told yet
        self.lstm_state = None
        self.inputs: list[np.ndarray] = []
        self.actions: list[np.ndarray] = []
        self.rewards: list[float] = []
        self.baseline: float | None = None
        self.updates = 0
        #: (row, value) of every arch queried, for growing a candidate pool
        self.queried: list[tuple[int, float]] = []

    def _setup(self) -> None:
        super()._setup()
        if not hasattr(self, "queried"):  # a checkpoint written before pools grew
            self.queried = []

    def ask(self) -> list[Arch]:
        if self.current is None:  # the start state: one random arch
            rows = self.random_rows(1)
        else:
            x = torch.from_numpy(self.matrix[self.current]).unsqueeze(0)
            with torch.no_grad():
                mean, self.lstm_state = self.policy(x, self.lstm_state)
                action = mean + self.options.sigma * torch.randn_like(mean)
            row = self.nearest_unvisited(action.squeeze(0).numpy())
            rows = [] if row is None else [row]
            if rows:
                self.inputs.append(x.squeeze(0).numpy().copy())
                self.actions.append(action.squeeze(0).numpy().copy())
        self.pending = rows[0] if rows else None
        return self.take(rows)

    def tell(self, archs: Sequence[Arch], values: Sequence[float]) -> None:
        if not archs:
            return
        first = self.current is None
        self.current = self.row_of(archs[0])
        self.queried.append((self.current, float(values[0])))
        if first:
            return
        self.rewards.append(float(values[0]))
        if len(self.rewards) >= self.options.episode:
            self._update()
            rows, values_so_far = zip(*self.queried, strict=True)
            self.grow_pool(rows, values_so_far)

    def _update(self) -> None:
        rewards = np.asarray(self.rewards, dtype=np.float64)
        if self.baseline is None:
            self.baseline = float(rewards.mean())
        advantage = torch.as_tensor(rewards - self.baseline, dtype=torch.float32)
        inputs = torch.from_numpy(np.stack(self.inputs))
        actions = torch.from_numpy(np.stack(self.actions))
        state = None
        log_probs = []
        for t in range(len(inputs)):
            mean, state = self.policy(inputs[t : t + 1], state)
            dist = torch.distributions.Normal(mean, self.options.sigma)
            log_probs.append(dist.log_prob(actions[t : t + 1]).sum())
        loss = -(torch.stack(log_probs) * advantage).mean()
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        m = self.options.baseline_momentum
        self.baseline = m * self.baseline + (1 - m) * float(rewards.mean())
        self.inputs, self.actions, self.rewards = [], [], []
        self.lstm_state = None
        self.updates += 1
