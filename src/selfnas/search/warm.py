"""A proxy-ranked warm start: a search's first random archs replaced by a proxy's best.

Zero-cost proxies score an arch without training it, so before the first query a search
can look at many archs: each seed draws `pool` archs from a score file (`selfnas zc`
output), and its first `size` "random" archs are the `pool`'s best by the proxy, best
first. After those, random draws are uniform again. The pool is drawn from the seed's own
generator, so seeds still start from different archs, and a run resumes exactly.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from selfnas.benchmarks.table import higher_is_better
from selfnas.errors import InvalidOption
from selfnas.spaces.base import SearchSpace


@dataclass(frozen=True)
class WarmStart:
    """Archs named by a score file, their proxy values (signed: higher is better) and the
    warm start's size and pool."""

    archs: tuple[Any, ...]
    scores: np.ndarray
    size: int = 10
    pool: int = 1000

    def first(self, rng: np.random.Generator) -> list[Any]:
        """The best `size` of a random `pool` of the scored archs, best first."""
        drawn = rng.choice(len(self.archs), size=min(self.pool, len(self.archs)), replace=False)
        best = drawn[np.argsort(-self.scores[drawn], kind="stable")[: self.size]]
        return [self.archs[i] for i in best]


@functools.lru_cache(maxsize=4)
def _load(path: str, proxy: str, space_name: str) -> tuple[tuple[Any, ...], np.ndarray]:
    from selfnas.predictors.features import read_scores
    from selfnas.spaces import get_space

    scores = read_scores(path)
    if proxy not in scores.columns:
        raise InvalidOption(
            f"--warm-start: {path} has no proxy {proxy!r}; it has {', '.join(scores.columns)}"
        )
    values = scores[proxy].to_numpy(dtype=np.float64)
    keep = np.isfinite(values)
    space = get_space(space_name)
    archs = tuple(space.parse(text) for text in scores.index[keep])
    sign = 1.0 if higher_is_better(proxy) else -1.0
    return archs, sign * values[keep]


def load_warm_start(spec: str, space: SearchSpace, size: int = 10, pool: int = 1000) -> WarmStart:
    """`spec` = `FILE:PROXY` (a `selfnas zc` output and one of its proxy columns)."""
    path, sep, proxy = spec.rpartition(":")
    if not sep or not path or not proxy:
        raise InvalidOption(f"--warm-start {spec!r}: expected FILE:PROXY, e.g. zc.csv:nwot")
    if size < 1 or pool < size:
        raise InvalidOption(f"--warm-size must be >= 1 and --warm-pool >= it ({size}, {pool})")
    archs, scores = _load(str(Path(path).expanduser().resolve()), proxy, space.name)
    if not archs:
        raise InvalidOption(f"--warm-start: {path} scores no arch with {proxy}")
    return WarmStart(archs, scores, size, pool)
