"""The contract every search method follows, so one runner owns budgets, seeds and resume.

A strategy only proposes (`ask`) and learns (`tell`); it never touches the benchmark. The
runner queries the archs it asks for, in order, until the budget ends, then tells it what
was measured: only the search metric (the test metric stays hidden from the search).

A strategy must be picklable between a `tell` and the next `ask` (that is the checkpoint):
everything heavy and shared (the problem, the embedding matrix) lives in the
`SearchContext` and is re-attached after loading, never pickled with the strategy.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from selfnas.errors import InvalidOption
from selfnas.registry import Registry
from selfnas.spaces.base import SearchSpace

Arch = Hashable


@dataclass
class SearchContext:
    """What a strategy may read: the space, the problem's arch index and (optionally)
    pretrained embeddings or a pretrained controller. Shared, read-only, never pickled."""

    space: SearchSpace
    problem: Any = None  # selfnas.search.problem.Problem (typed loosely to avoid a cycle)
    #: selfnas.search.candidates.Candidates (or an EmbeddingTable aligned with
    #: `problem.archs`), or None
    embeddings: Any = None
    pretrained: str | None = None
    warm: Any = None  # selfnas.search.warm.WarmStart: proxy-ranked first archs, or None

    def key(self, arch: Arch) -> str:
        """The identity the ledger counts by (two archs with one key are one query)."""
        if self.problem is not None:
            return self.problem.benchmark.key(arch)
        return self.space.hash(arch)


@dataclass
class Options:
    """Base of each strategy's options (a dataclass whose defaults are the documented ones)."""


class Strategy(ABC):
    """A search method: `ask()` archs to evaluate, `tell(archs, values)` what they scored."""

    #: registry name used on the command line
    name: ClassVar[str] = ""
    #: the strategy's options dataclass
    options_class: ClassVar[type[Options]] = Options
    #: needs `SearchContext.embeddings` / `.pretrained`
    needs_embeddings: ClassVar[bool] = False
    needs_pretrained: ClassVar[bool] = False
    #: attributes rebuilt by `_setup()` and never pickled
    transient: ClassVar[tuple[str, ...]] = ()

    def __init__(self, ctx: SearchContext, rng: np.random.Generator, options: Options) -> None:
        self.ctx = ctx
        self.rng = rng
        self.options = options
        self._setup()

    # --- the contract -------------------------------------------------------------------
    @abstractmethod
    def ask(self) -> list[Arch]:
        """Distinct, never-evaluated archs to evaluate next, in order (empty: nothing left)."""

    @abstractmethod
    def tell(self, archs: Sequence[Arch], values: Sequence[float]) -> None:
        """The search-metric values of the archs the runner evaluated (a prefix of the
        last `ask` when the budget ran out part-way)."""

    def report(self) -> dict[str, Any] | None:
        """What the search did besides its queries, kept beside a finished seed's rows
        (NAO: archs decoded vs filled per round; a pool: candidates added). None: nothing."""
        return None

    # --- checkpointing ------------------------------------------------------------------
    def _setup(self) -> None:
        """Rebuild transient, derived state from `self.ctx` (after init and after load)."""
        return None

    def attach(self, ctx: SearchContext) -> None:
        """Re-attach the shared context after unpickling."""
        self.ctx = ctx
        self._setup()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        for name in ("ctx", *self.transient):
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


class DiscreteStrategy(Strategy):
    """A strategy that moves between archs directly (random, evolution, local search).

    Keeps the keys of every arch it has asked for, so it never asks for one twice."""

    #: give up looking for an unseen random arch after this many draws in a row
    max_draws: ClassVar[int] = 10_000

    def _setup(self) -> None:
        if not hasattr(self, "visited"):
            self.visited: set[str] = set()

    def key(self, arch: Arch) -> str:
        return self.ctx.key(arch)

    def is_new(self, arch: Arch) -> bool:
        return self.key(arch) not in self.visited

    def mark(self, arch: Arch) -> Arch:
        self.visited.add(self.key(arch))
        return arch

    def space_left(self) -> bool:
        size = self.ctx.space.size
        return size is None or len(self.visited) < size

    def warm_archs(self) -> list[Arch]:
        """What is left of the warm start's archs (drawn on the first call, from this
        strategy's generator; empty without a warm start)."""
        if self.ctx.warm is None:
            return []
        if not hasattr(self, "warm_queue"):
            self.warm_queue: list[Arch] = self.ctx.warm.first(self.rng)
        return self.warm_queue

    def random_new(self, n: int = 1) -> list[Arch]:
        """Up to `n` archs never asked before (marked as asked): the warm start's first,
        then uniformly drawn ones."""
        out: list[Arch] = []
        queue = self.warm_archs()
        while queue and len(out) < n:
            arch = queue.pop(0)
            if self.is_new(arch):
                out.append(self.mark(arch))
        draws = 0
        while len(out) < n and self.space_left() and draws < self.max_draws:
            draws += 1
            (arch,) = self.ctx.space.sample(1, self.rng)
            if self.is_new(arch):
                out.append(self.mark(arch))
                draws = 0
        return out


#: strategy name -> its class; imported lazily (torch-heavy ones only when used)
STRATEGIES: Registry[type[Strategy]] = Registry(
    "strategy",
    {
        "random": ("selfnas.search.random:RandomSearch", "random search"),
        "re": ("selfnas.search.evolution:RegularizedEvolution", "regularized evolution"),
        "ls": ("selfnas.search.local:LocalSearch", "local search"),
        "rl": ("selfnas.search.reinforce:EmbeddingReinforce", "REINFORCE on embeddings"),
        "bo": ("selfnas.search.bo:DNGOSearch", "Bayesian optimisation, DNGO"),
        "bo-gp": ("selfnas.search.bo:GPSearch", "Bayesian optimisation, GP"),
        "nao": ("selfnas.search.nao:NAOSearch", "NAO gradient ascent"),
        "gates-ea": ("selfnas.search.predictor_ea:PredictorEvolution", "GATES predictor + EA"),
        "reinforce": (
            "selfnas.search.reinforce_ops:OpReinforce",
            "REINFORCE on categorical choices",
        ),
    },
)


def strategy_class(name: str) -> type[Strategy]:
    """The strategy class registered as `name`."""
    return STRATEGIES.get(name)


def make_options(cls: type[Strategy], values: dict[str, Any] | None) -> Options:
    """Build `cls`'s options from `key -> value` (strings are converted to the field type)."""
    values = dict(values or {})
    fields = {f.name: f for f in dataclasses.fields(cls.options_class)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        known = ", ".join(fields) or "none"
        raise InvalidOption(
            f"strategy {cls.name!r} has no option {', '.join(unknown)}; its options: {known}"
        )
    converted = {}
    for key, value in values.items():
        default = fields[key].default
        converted[key] = _convert(key, value, default)
    return cls.options_class(**converted)


def _convert(key: str, value: Any, default: Any) -> Any:
    if not isinstance(value, str) or isinstance(default, str):
        return value
    try:
        if isinstance(default, bool):
            if value.lower() in ("1", "true", "yes"):
                return True
            if value.lower() in ("0", "false", "no"):
                return False
            raise ValueError(value)
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
    except ValueError:
        raise InvalidOption(f"option {key}={value!r}: expected {type(default).__name__}") from None
    return value


def options_dict(options: Options) -> dict[str, Any]:
    return dataclasses.asdict(options)


def default_options(name: str) -> dict[str, Any]:
    """The documented defaults of strategy `name` (for help text and run configs)."""
    return options_dict(strategy_class(name).options_class())


__all__ = [
    "STRATEGIES",
    "Arch",
    "DiscreteStrategy",
    "Options",
    "SearchContext",
    "Strategy",
    "default_options",
    "make_options",
    "options_dict",
    "strategy_class",
]
