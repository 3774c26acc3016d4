"""Evaluate a batch of archs: stored results first, the rest in parallel, with retries.

A trial whose attempt fails (the loss became NaN, the device ran out of memory, the
worker was killed) is submitted again until `max_attempts` attempts have failed; then it
is stored as failed with every reason, and the search goes on (a failed arch scores the
worst value, see `TrialBenchmark`). Every change of a trial is written to the store
before anything else happens, so a driver killed at any moment loses no finished trial.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Hashable, Sequence

from selfnas import progress
from selfnas.errors import InvalidOption
from selfnas.trials.backends import Backend, Job
from selfnas.trials.evaluators import Evaluator, Outcome
from selfnas.trials.store import DONE, FAILED, RUNNING, Trial, TrialStore


def describe_error(error: BaseException) -> str:
    """One line saying why an attempt failed (the exception's type and first line)."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".strip()


class TrialPool:
    """An evaluator, a store and a backend: `evaluate(archs, keys)` -> their trials."""

    def __init__(
        self,
        evaluator: Evaluator,
        store: TrialStore,
        backend: Backend,
        max_attempts: int = 3,
        describe: str = "trials",
        format_arch: Callable[[Hashable], str] = str,
    ) -> None:
        if max_attempts < 1:
            raise InvalidOption(f"--max-attempts must be >= 1, got {max_attempts}")
        self.evaluator = evaluator
        self.store = store
        self.backend = backend
        self.max_attempts = int(max_attempts)
        self.describe = describe
        self.format_arch = format_arch
        self.started = 0  # attempts this pool started (what a resumed run should keep at 0)
        # finished trials seen by this pool: the runner prefetches a round, then queries
        # each arch of it, and those queries should not read the store's files again
        self.finished: dict[str, Trial] = {}

    def evaluate(self, archs: Sequence[Hashable], keys: Sequence[str]) -> dict[str, Trial]:
        """The finished trial of every arch (keys: the benchmark's arch keys)."""
        out: dict[str, Trial] = {}
        todo: dict[str, Trial] = {}
        for arch, key in zip(archs, keys, strict=True):
            if key in out or key in todo:
                continue
            trial = self.finished.get(key) or self.store.get(key, self.evaluator.key)
            if trial is not None and trial.finished:
                out[key] = self.finished[key] = trial
                continue
            todo[key] = trial or Trial(key, self.evaluator.key, arch=self.format_arch(arch))
            self._start(todo[key], arch)
        if todo:
            self._drain(todo, out, {k: a for a, k in zip(archs, keys, strict=True)})
        return out

    def _start(self, trial: Trial, arch: Hashable) -> None:
        trial.status = RUNNING
        trial.attempts += 1
        self.started += 1
        self.store.put(trial)
        workdir = self.store.workdir(trial.arch_key, trial.recipe_key)
        self.backend.submit(Job(trial.arch_key, arch, workdir))

    def _drain(
        self, todo: dict[str, Trial], out: dict[str, Trial], archs: dict[str, Hashable]
    ) -> None:
        show = progress.enabled() and multiprocessing.parent_process() is None
        with progress.progress_bar() as bar:
            task = bar.add_task(self.describe, total=len(todo), info="") if show else None
            while self.backend.pending:
                job, result = self.backend.wait()
                trial = todo[job.key]
                if isinstance(result, Outcome):
                    trial.status = DONE
                    trial.metrics = dict(result.metrics)
                    trial.seconds = result.seconds
                else:
                    trial.reasons.append(describe_error(result))
                    if len(trial.reasons) < self.max_attempts:
                        self._start(trial, archs[job.key])
                        continue
                    trial.status = FAILED
                self.store.put(trial)
                out[job.key] = self.finished[job.key] = trial
                if task is not None:
                    bar.update(task, advance=1, info=f"{trial.status} {trial.arch[:40]}")
