"""Scoring many architectures with zero-cost proxies: the same numbers as a plain loop,
computed with less work, resumable through a `ScoreCache`.

The reference is `score_plain`: for every arch and proxy, seed, build the network fresh,
call the proxy. `score_archs` returns exactly its numbers (tests check it) while

* building each network once per arch, not once per proxy: proxies never change the
  network they get (`selfnas.zc.proxies` works on copies), and the global random state is
  restored to its post-build value before each proxy, so each sees what a fresh build
  would give it;
* computing `params` and `flops` once per structure where they depend on nothing else
  (NB201: the multiset of edge ops, 210 of them for 15,625 cells), building no network
  for an arch whose requested scores are all known;
* spreading archs over a process pool (`workers`, one torch thread each);
* skipping whatever the cache already holds, and loading images only when a proxy that
  reads them still has work to do.

What is left is the proxies' own cost: on a CPU, zen's two batch-64 forward passes are
nearly all of it (see `benchmarks/zc_throughput.py`).
"""

from __future__ import annotations

import random
import signal
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from multiprocessing import get_context
from types import TracebackType
from typing import Any

import numpy as np
import pandas as pd
import torch

from selfnas.errors import InvalidOption
from selfnas.nets import BUILDERS, InputShape, build_network, dataset_shape
from selfnas.runtime import configure_threads, seed_everything, select_device
from selfnas.spaces import SearchSpace, get_space
from selfnas.zc.batch import DEFAULT_BATCH_SIZE, Batch, dataset_batch, noise_batch
from selfnas.zc.cache import NO_DATA, ScoreCache, ScoreKey
from selfnas.zc.proxies import PROXIES, Proxy

#: the images a data-dependent proxy reads when no dataset is named (embedded, offline)
DEFAULT_DATASET = "mnist5k"
#: the networks' input shape when no dataset is named (NASLib scores CIFAR-10 networks)
DEFAULT_SHAPE = "cifar10"
#: proxies whose value is a function of the network's structure alone (no weights, data)
STRUCTURAL = frozenset({"params", "flops"})
#: archs per task sent to a worker process
TASK_ARCHS = 4
#: spaces whose archs are another space's (NB301 is the DARTS space)
SPACE_ALIASES = {"nb301": "darts"}


# ------------------------------------------------------------------ resolving the inputs


def resolve_space(name: str) -> SearchSpace:
    """The space called `name` (aliases accepted) if we can build its networks."""
    space = get_space(SPACE_ALIASES.get(name.lower(), name.lower()))
    if space.name not in BUILDERS:
        raise InvalidOption(
            f"no networks are built for space {name!r}; zero-cost scoring supports "
            f"{', '.join(BUILDERS)}"
        )
    return space


def resolve_proxies(
    names: str | Sequence[str], registry: Mapping[str, Proxy] | None = None
) -> list[Proxy]:
    """Proxies by name (a comma-separated string or a list), each once, in order."""
    table = PROXIES if registry is None else registry
    if isinstance(names, str):
        names = names.split(",")
    wanted = list(dict.fromkeys(n.strip().lower() for n in names if n.strip()))
    if not wanted:
        raise InvalidOption(f"name at least one proxy; choose from {', '.join(table)}")
    unknown = [n for n in wanted if n not in table]
    if unknown:
        raise InvalidOption(
            f"unknown zero-cost proxy {unknown[0]!r}; choose from {', '.join(table)}"
        )
    return [table[n] for n in wanted]


def network_shape(dataset: str | None) -> InputShape:
    """The input shape networks are built for: the dataset's, CIFAR-10's when none."""
    if dataset is None:
        return dataset_shape(DEFAULT_SHAPE)
    try:
        return dataset_shape(dataset)
    except InvalidOption:  # a dataset known by its files only (folder:PATH)
        from selfnas.oneshot.data import load_dataset

        data = load_dataset(dataset)
        return InputShape(data.channels, data.size[0], data.num_classes)


def shape_text(shape: InputShape) -> str:
    return f"{shape.channels}x{shape.size}x{shape.size}-{shape.classes}cls"


def structure_key(space: str, arch: Hashable) -> Hashable | None:
    """What `params` and `flops` depend on besides the shape, width and depth, or None
    where that is the whole arch. NB201: every edge op sees the same channels and
    resolution, so the multiset of the six ops decides both."""
    if space == "nb201":
        return tuple(sorted(arch.ops))  # type: ignore[attr-defined]
    return None


# ------------------------------------------------------------------ scoring one arch


@dataclass(frozen=True)
class Setup:
    """Everything that scores an arch besides the arch (sent once to each worker)."""

    space: str
    proxies: tuple[Proxy, ...]
    shape: InputShape
    seed: int
    device: str
    free_batch: Batch
    data_batch: Batch | None
    channels: int | None = None
    cells: int | None = None

    def build(self, arch: Hashable) -> torch.nn.Module:
        """The arch's network after seeding everything with `seed` (the reference build)."""
        seed_everything(self.seed)
        network = build_network(self.space, arch, self.shape, self.channels, self.cells)
        return network.to(self.device)

    def batch_for(self, proxy: Proxy) -> Batch:
        batch = self.free_batch if proxy.data_free else self.data_batch
        if batch is None:
            raise InvalidOption(f"proxy {proxy.name!r} reads images but no dataset was set")
        return batch.to(self.device)


def _random_state(device: str) -> tuple[Any, ...]:
    cuda = torch.cuda.get_rng_state(device) if device.startswith("cuda") else None
    return random.getstate(), np.random.get_state(), torch.get_rng_state(), cuda


def _restore_random_state(state: tuple[Any, ...], device: str) -> None:
    py, npy, cpu, cuda = state
    random.setstate(py)
    np.random.set_state(npy)
    torch.set_rng_state(cpu)
    if cuda is not None:
        torch.cuda.set_rng_state(cuda, device)


class ArchScorer:
    """Scores one arch at a time with one build per arch and structural scores memoised."""

    def __init__(self, setup: Setup) -> None:
        self.setup = setup
        self.proxies = {p.name: p for p in setup.proxies}
        self.memo: dict[tuple[str, Hashable], float] = {}

    def __call__(self, arch: Hashable, names: Sequence[str]) -> dict[str, float]:
        setup = self.setup
        shared = structure_key(setup.space, arch)
        out: dict[str, float] = {}
        todo = []
        for name in names:
            if name in STRUCTURAL and shared is not None and (name, shared) in self.memo:
                out[name] = self.memo[(name, shared)]
            else:
                todo.append(name)
        if not todo:
            return out
        network = setup.build(arch)
        state = _random_state(setup.device)
        for name in todo:
            _restore_random_state(state, setup.device)
            proxy = self.proxies[name]
            out[name] = float(proxy.fn(network, setup.batch_for(proxy)))
            if name in STRUCTURAL and shared is not None:
                self.memo[(name, shared)] = out[name]
        return out


_worker_scorer: ArchScorer | None = None


def _init_worker(setup: Setup) -> None:
    """One torch thread; Ctrl-C is the parent's to handle (it keeps what is done)."""
    global _worker_scorer
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    configure_threads(1)
    _worker_scorer = ArchScorer(setup)


def _score_task(task: Items) -> list[tuple[str, dict]]:
    assert _worker_scorer is not None
    return [(key, _worker_scorer(arch, names)) for key, arch, names in task]


# ------------------------------------------------------------------ scoring many archs


def score_archs(
    space: str,
    archs: Sequence[Hashable | str],
    proxies: str | Sequence[str],
    dataset: str | None = None,
    seed: int = 0,
    batch_size: int = DEFAULT_BATCH_SIZE,
    device: str = "auto",
    cache: ScoreCache | None = None,
    progress: bool = True,
    *,
    workers: int = 1,
    channels: int | None = None,
    cells: int | None = None,
    registry: Mapping[str, Proxy] | None = None,
) -> pd.DataFrame:
    """One row per arch (`arch`: its text) with one column per proxy, equal to
    `score_plain`'s numbers.

    Networks are built for `dataset`'s input shape (CIFAR-10's when None); proxies that
    read images get one fixed batch of `batch_size` images drawn with `seed` from
    `dataset` (`mnist5k` when None, fitted to the shape), the others a Gaussian batch of
    that size. Scores in `cache` are reused and new ones added as they come, so rerunning
    an interrupted call only computes the rest. `registry` replaces the proxy table.
    `frame.attrs` holds `computed` and `cached` (scores per proxy) and `seconds`."""
    start = time.perf_counter()
    space_obj = resolve_space(space)
    chosen = resolve_proxies(proxies, registry)
    if batch_size < 1:
        raise InvalidOption(f"batch size must be >= 1, got {batch_size}")
    if workers < 1:
        raise InvalidOption(f"workers must be >= 1, got {workers}")
    archs = [space_obj.parse(a) if isinstance(a, str) else a for a in archs]
    keys = [space_obj.hash(a) for a in archs]
    shape = network_shape(dataset)
    images = dataset or DEFAULT_DATASET
    score_keys = {
        p.name: ScoreKey(
            space_obj.name,
            p.name,
            NO_DATA if p.data_free else images,
            shape_text(shape),
            seed,
            batch_size,
            channels,
            cells,
        )
        for p in chosen
    }
    unique = dict(zip(keys, archs, strict=True))
    scores = {name: _cached(cache, key, unique) for name, key in score_keys.items()}
    todo = {k: tuple(name for name in score_keys if k not in scores[name]) for k in unique}
    todo = {k: names for k, names in todo.items() if names}
    cached = {name: len(unique) - sum(name in n for n in todo.values()) for name in score_keys}

    if todo:
        setup = _setup(
            space_obj.name, chosen, todo, shape, images, seed, batch_size, device, channels, cells
        )
        items = [(k, unique[k], names) for k, names in todo.items()]
        run = _run_serial if workers == 1 or len(items) == 1 else _run_pool

        def keep(key: str, result: Mapping[str, float]) -> None:
            for name, value in result.items():
                scores[name][key] = value
                if cache is not None:
                    cache.put(score_keys[name], key, value)
            if cache is not None:
                cache.flush(force=False)

        try:
            run(
                setup,
                items,
                keep,
                workers,
                _Tracker(progress, len(unique), len(unique) - len(todo)),
            )
        finally:
            if cache is not None:
                cache.flush()

    frame = pd.DataFrame({"arch": [space_obj.format(a) for a in archs]})
    for name in score_keys:
        frame[name] = np.array([scores[name][k] for k in keys], dtype=np.float64)
    frame.attrs = {
        "computed": {name: len(unique) - cached[name] for name in score_keys},
        "cached": cached,
        "seconds": time.perf_counter() - start,
    }
    return frame


def _cached(cache: ScoreCache | None, key: ScoreKey, unique: Mapping[str, Any]) -> dict:
    if cache is None:
        return {}
    stored = cache.load(key)
    return {k: stored[k] for k in unique if k in stored}


def _setup(
    space: str,
    chosen: Sequence[Proxy],
    todo: Mapping[str, Sequence[str]],
    shape: InputShape,
    images: str,
    seed: int,
    batch_size: int,
    device: str,
    channels: int | None,
    cells: int | None,
) -> Setup:
    """The batches: Gaussian for data-free proxies, images only if a proxy still needs them."""
    pending = {name for names in todo.values() for name in names}
    needs_images = any(not p.data_free and p.name in pending for p in chosen)
    free = noise_batch(shape, batch_size, seed)
    data = dataset_batch(images, shape, batch_size, seed) if needs_images else None
    resolved = str(select_device(device))
    return Setup(space, tuple(chosen), shape, seed, resolved, free, data, channels, cells)


class _Tracker:
    """A progress bar over archs (silent when off), started at the cached count."""

    def __init__(self, enabled: bool, total: int, done: int) -> None:
        from contextlib import nullcontext

        from selfnas import progress as bars

        self._context = bars.progress_bar() if enabled else nullcontext(None)
        self._total, self._done = total, done

    def __enter__(self) -> _Tracker:
        self._bar = self._context.__enter__()
        if self._bar is not None:
            info = f"{self._done} cached" if self._done else ""
            self._task = self._bar.add_task("zero-cost scores", total=self._total, info=info)
            self._bar.advance(self._task, self._done)
        return self

    def advance(self, count: int) -> None:
        if self._bar is not None:
            self._bar.advance(self._task, count)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._context.__exit__(exc_type, exc, traceback)


Sink = Callable[[str, Mapping[str, float]], None]
Items = Sequence[tuple[str, Hashable, tuple[str, ...]]]


def _run_serial(setup: Setup, items: Items, keep: Sink, workers: int, tracker: _Tracker) -> None:
    scorer = ArchScorer(setup)
    with tracker:
        for key, arch, names in items:
            keep(key, scorer(arch, names))
            tracker.advance(1)


def _run_pool(setup: Setup, items: Items, keep: Sink, workers: int, tracker: _Tracker) -> None:
    """Tasks of a few archs over `workers` processes; on an interrupt, the tasks already
    running are finished and kept, the queued ones dropped."""
    tasks = [items[i : i + TASK_ARCHS] for i in range(0, len(items), TASK_ARCHS)]
    pool = ProcessPoolExecutor(
        max_workers=min(workers, len(tasks)),
        mp_context=get_context("spawn"),
        initializer=_init_worker,
        initargs=(setup,),
    )

    def collect(futures: set[Future]) -> None:
        for future in futures:
            if future.done() and not future.cancelled() and future.exception() is None:
                results = future.result()
                for key, result in results:
                    keep(key, result)
                tracker.advance(len(results))

    running: set[Future] = set()
    try:
        with tracker:
            running = {pool.submit(_score_task, task) for task in tasks}
            while running:
                finished, running = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    future.result()  # a worker's error is raised here
                collect(finished)
    except KeyboardInterrupt:
        pool.shutdown(wait=True, cancel_futures=True)
        collect(running)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# ------------------------------------------------------------------ the reference loop


def score_plain(
    space: str,
    archs: Sequence[Hashable | str],
    proxies: str | Sequence[str],
    dataset: str | None = None,
    seed: int = 0,
    batch_size: int = DEFAULT_BATCH_SIZE,
    device: str = "auto",
    *,
    channels: int | None = None,
    cells: int | None = None,
    registry: Mapping[str, Proxy] | None = None,
) -> pd.DataFrame:
    """The definition `score_archs` must match: per arch and proxy, seed everything,
    build the network fresh and call the proxy. No cache, no sharing, no pool."""
    space_obj = resolve_space(space)
    chosen = resolve_proxies(proxies, registry)
    archs = [space_obj.parse(a) if isinstance(a, str) else a for a in archs]
    shape = network_shape(dataset)
    todo = {"all": tuple(p.name for p in chosen)}
    images = dataset or DEFAULT_DATASET
    setup = _setup(
        space_obj.name, chosen, todo, shape, images, seed, batch_size, device, channels, cells
    )
    rows = []
    for arch in archs:
        row: dict[str, Any] = {"arch": space_obj.format(arch)}
        for p in chosen:
            row[p.name] = float(p.fn(setup.build(arch), setup.batch_for(p)))
        rows.append(row)
    return pd.DataFrame(rows, columns=["arch", *(p.name for p in chosen)])


__all__ = [
    "DEFAULT_DATASET",
    "DEFAULT_SHAPE",
    "STRUCTURAL",
    "ArchScorer",
    "Setup",
    "network_shape",
    "resolve_proxies",
    "resolve_space",
    "score_archs",
    "score_plain",
    "structure_key",
]
