"""The archs an embedding search (arch2vec-RL, arch2vec-BO) chooses among, embedded.

On an enumerable space the candidates are the whole space, by `Problem.archs`: embedded
once from a `selfnas embed` file, or on the fly by a pretraining run's encoder
(`--pretrained DIR`). Where the space cannot be enumerated (DARTS through NB301, any
space under real training) they are a *pool*: a large seeded sample of the space embedded
on the fly by the pretrained encoder (arch2vec embedded 600,000 DARTS cells), to which a
search adds mutations of its incumbents each round, so it can reach archs the sample
missed. A search never re-queries: it keeps a visited mask over the candidates.

The base candidates are shared by every seed in a process and never pickled; what a
search adds is its own, and part of its checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from selfnas.errors import InvalidOption
from selfnas.search.embeddings import EmbeddingTable, embeddings_for
from selfnas.spaces.base import Arch, SearchSpace

#: candidates sampled from a space too large to enumerate, by default
DEFAULT_POOL = 100_000
#: archs added to the pool per round: mutations of the incumbents
DEFAULT_MUTANTS = 100
#: the incumbents those mutations come from (the best queried so far)
MUTANT_PARENTS = 10
#: the pool's own seed: the same sample for every search seed, so seeds differ only in
#: their search (and one embedding pass serves them all)
POOL_SEED = 20_200_601
#: archs embedded per encoder call
EMBED_CHUNK = 4096

Embedder = Callable[[Sequence[Arch]], np.ndarray]


@dataclass
class Candidates:
    """Base candidates: `archs[i]` has embedding `table.matrix[i]` and key
    `position`-inverse `i`. `embed` embeds archs beyond them (None: only these exist);
    `pool` says they are a sample that searches should grow with mutants."""

    archs: Sequence[Arch]
    position: Mapping[str, int]
    table: EmbeddingTable
    embed: Embedder | None = None
    pool: bool = False
    mutants: int = DEFAULT_MUTANTS
    source: str = ""

    @property
    def dim(self) -> int:
        return self.table.dim


class PretrainedEmbedder:
    """Embeds any arch of the space with a `selfnas pretrain` run's encoder (eval mode,
    deterministic: the same arch always gets the same vector)."""

    def __init__(self, directory: str | Path, space: SearchSpace) -> None:
        from selfnas.runs.pretrain import PretrainRun

        run = PretrainRun.open(directory)
        if run.space.name != space.name:
            raise InvalidOption(
                f"{directory} was pretrained on {run.space.name!r}; this search is on "
                f"{space.name!r}"
            )
        self.directory = str(directory)
        self.space = space
        self.objective = run.objective.cpu().eval()

    def __call__(self, archs: Sequence[Arch]) -> np.ndarray:
        import torch

        parts = []
        with torch.no_grad():
            for start in range(0, len(archs), EMBED_CHUNK):
                batch = self.space.batch(list(archs[start : start + EMBED_CHUNK]))
                parts.append(self.objective.embed(batch).cpu().numpy())
        if not parts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)


_EMBEDDERS: dict[tuple[str, str], PretrainedEmbedder] = {}


def pretrained_embedder(directory: str | Path, space: SearchSpace) -> PretrainedEmbedder:
    """The embedder of the run at `directory` (loaded once per process)."""
    key = (str(Path(directory).resolve()), space.name)
    if key not in _EMBEDDERS:
        _EMBEDDERS[key] = PretrainedEmbedder(directory, space)
    return _EMBEDDERS[key]


def candidates_for(
    problem: Any,
    embedding: str | None,
    pretrained: str | None,
    pool: int | None = None,
    mutants: int | None = None,
) -> Candidates:
    """The candidates of `problem` (a `Problem`), built once per problem and process.

    `embedding` is a `selfnas embed` file (enumerable spaces), `pretrained` a pretraining
    run whose encoder embeds on the fly; `pool`/`mutants` size the sample of a space too
    large to enumerate and what each round adds to it."""
    space: SearchSpace = problem.space
    if pool is not None and pool < 1:
        raise InvalidOption(f"--pool must be >= 1, got {pool}")
    if mutants is not None and mutants < 0:
        raise InvalidOption(f"--pool-mutants must be >= 0, got {mutants}")
    key = ("candidates", embedding, pretrained, pool, mutants)
    cached = problem.derived.get(key)
    if cached is not None:
        return cached
    n_mutants = DEFAULT_MUTANTS if mutants is None else mutants
    if embedding:
        if not space.enumerable:
            raise InvalidOption(
                f"--embedding FILE needs a space whose every arch is embedded; {space.name!r} "
                "is too large: give --pretrained DIR (a `selfnas pretrain` run on "
                f"{space.name}) and the search embeds a pool of candidates on the fly"
            )
        embed = pretrained_embedder(pretrained, space) if pretrained else None
        table = embeddings_for(problem, embedding)
        out = Candidates(problem.archs, problem.position, table, embed, False, 0, embedding)
    elif not pretrained:
        raise InvalidOption(
            "embedding searches need --embedding FILE (`selfnas embed`) or --pretrained DIR "
            "(a `selfnas pretrain` run whose encoder embeds candidates on the fly)"
        )
    else:
        embed = pretrained_embedder(pretrained, space)
        if space.enumerable:
            archs: Sequence[Arch] = problem.archs
            position: Mapping[str, int] = problem.position
            is_pool = False
        else:
            archs, position = _sample_pool(problem, pool or DEFAULT_POOL)
            is_pool = True
        matrix = _embed_with_progress(embed, archs, space.name)
        table = EmbeddingTable(matrix, str(pretrained))
        out = Candidates(archs, position, table, embed, is_pool, n_mutants, str(pretrained))
    problem.derived[key] = out
    return out


def _sample_pool(problem: Any, size: int) -> tuple[list[Arch], dict[str, int]]:
    """`size` distinct archs drawn with the pool's own seed (fewer if the space runs out)."""
    space: SearchSpace = problem.space
    rng = np.random.default_rng(POOL_SEED)
    archs: list[Arch] = []
    position: dict[str, int] = {}
    stalls = 0
    while len(archs) < size and stalls < 10:
        drawn = space.sample(min(size - len(archs), 65_536), rng)
        before = len(archs)
        for arch in drawn:
            key = problem.benchmark.key(arch)
            if key not in position and len(archs) < size:
                position[key] = len(archs)
                archs.append(arch)
        stalls = stalls + 1 if len(archs) == before else 0
    return archs, position


def _embed_with_progress(embed: Embedder, archs: Sequence[Arch], name: str) -> np.ndarray:
    from selfnas.progress import track

    parts = [
        embed(archs[start : start + EMBED_CHUNK])
        for start in track(range(0, len(archs), EMBED_CHUNK), f"embedding {name} candidates")
    ]
    return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)
