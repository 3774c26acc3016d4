"""Where trials run: in this process, or as Ray tasks on a local instance or a cluster.

A backend only runs jobs and reports each one's outcome or exception as it finishes;
retries, the trial store and the budget belong to `TrialPool`. Ray is the engine for
spreading trials over GPUs and machines: each trial is one Ray task that asks for
`cpus_per_trial` CPUs and `gpus_per_trial` GPUs, so Ray's scheduler places it and never
over-commits a device. Ray's own task retries are off: every retry goes through the pool,
which counts it and records why it failed.
"""

from __future__ import annotations

import os
import sys
from abc import ABC, abstractmethod
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from selfnas.errors import InvalidOption
from selfnas.trials.evaluators import Evaluator, Outcome

BACKENDS = ("inprocess", "ray")


@dataclass(frozen=True)
class Job:
    """One attempt at one trial."""

    key: str
    arch: Hashable
    workdir: Path | None


class Backend(ABC):
    """Runs jobs of one evaluator; `wait` yields them back as they finish."""

    def __init__(self, evaluator: Evaluator) -> None:
        self.evaluator = evaluator

    @abstractmethod
    def submit(self, job: Job) -> None:
        """Start (or queue) `job`."""

    @abstractmethod
    def wait(self) -> tuple[Job, Outcome | BaseException]:
        """Block until one submitted job finishes; its outcome or the error that ended it."""

    @property
    @abstractmethod
    def pending(self) -> int:
        """Submitted jobs not yet returned by `wait`."""


class InProcessBackend(Backend):
    """Runs each job here, one at a time, when `wait` asks for it (no Ray, no workers)."""

    def __init__(self, evaluator: Evaluator) -> None:
        super().__init__(evaluator)
        self._queue: list[Job] = []

    def submit(self, job: Job) -> None:
        self._queue.append(job)

    def wait(self) -> tuple[Job, Outcome | BaseException]:
        job = self._queue.pop(0)
        try:
            return job, self.evaluator(job.arch, job.workdir)
        except Exception as exc:  # any trial error is data for the pool, not a crash
            return job, exc

    @property
    def pending(self) -> int:
        return len(self._queue)


def _run_trial(evaluator: Evaluator, arch: Hashable, workdir: Path | None, threads: int) -> Any:
    """The body of one Ray task: a worker process, torch threads = the CPUs it was given."""
    from selfnas.runtime import configure_threads

    configure_threads(max(1, threads))
    return evaluator(arch, workdir)


def connect_ray(address: str | None = None, num_cpus: int | None = None) -> None:
    """Join the Ray cluster at `address` (`auto`, `HOST:PORT`, `ray://HOST:PORT`), or start a
    local instance on 127.0.0.1 (no dashboard) when `address` is None; once per process.

    A local instance's workers inherit this process's environment, so PYTHONPATH is set to
    this process's import path first: an `evaluate` function defined in the user's own
    module then imports in the workers too. On a cluster, ship code with Ray's
    `runtime_env` (see docs/scaling.md)."""
    ray = import_ray()
    if ray.is_initialized():
        return
    options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
    if address:
        ray.init(address=address, **options)
        return
    previous = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:  # the instance's processes copy the environment now; this process keeps its own
        ray.init(address="local", num_cpus=num_cpus, _node_ip_address="127.0.0.1", **options)
    finally:
        if previous is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = previous


def import_ray() -> Any:
    try:
        import ray
    except ImportError:  # pragma: no cover - ray is a dependency
        message = "--backend ray needs the ray package: pip install 'ray==2.60.0'"
        raise InvalidOption(message) from None
    return ray


class RayBackend(Backend):
    """Each job is a Ray task with `cpus`/`gpus` resources; failures come back as errors."""

    def __init__(
        self,
        evaluator: Evaluator,
        address: str | None = None,
        cpus_per_trial: float = 1,
        gpus_per_trial: float = 0,
    ) -> None:
        super().__init__(evaluator)
        if cpus_per_trial < 0 or gpus_per_trial < 0:
            raise InvalidOption("--cpus-per-trial and --gpus-per-trial must be >= 0")
        self.ray = import_ray()
        connect_ray(address)
        self.cpus = cpus_per_trial
        self.gpus = gpus_per_trial
        self._task = self.ray.remote(_run_trial).options(
            num_cpus=cpus_per_trial, num_gpus=gpus_per_trial, max_retries=0
        )
        self._evaluator_ref = self.ray.put(evaluator)
        self._running: dict[Any, Job] = {}
        available = self.ray.cluster_resources()
        if gpus_per_trial > available.get("GPU", 0):
            raise InvalidOption(
                f"--gpus-per-trial {gpus_per_trial}: the Ray cluster has "
                f"{available.get('GPU', 0):g} GPU(s); trials would wait forever"
            )
        if cpus_per_trial > available.get("CPU", 0):
            raise InvalidOption(
                f"--cpus-per-trial {cpus_per_trial}: the Ray cluster has "
                f"{available.get('CPU', 0):g} CPU(s); trials would wait forever"
            )

    def submit(self, job: Job) -> None:
        ref = self._task.remote(self._evaluator_ref, job.arch, job.workdir, int(self.cpus) or 1)
        self._running[ref] = job

    def wait(self) -> tuple[Job, Outcome | BaseException]:
        (ref,), _ = self.ray.wait(list(self._running), num_returns=1)
        job = self._running.pop(ref)
        try:
            return job, self.ray.get(ref)
        except self.ray.exceptions.RayTaskError as exc:
            cause = exc.cause if isinstance(exc.cause, BaseException) else exc
            return job, cause
        except self.ray.exceptions.RayError as exc:  # worker died, node lost, out of memory
            return job, exc

    @property
    def pending(self) -> int:
        return len(self._running)


def make_backend(
    name: str,
    evaluator: Evaluator,
    address: str | None = None,
    cpus_per_trial: float = 1,
    gpus_per_trial: float = 0,
) -> Backend:
    if name == "inprocess":
        if address or gpus_per_trial:
            raise InvalidOption("--address and --gpus-per-trial need --backend ray")
        return InProcessBackend(evaluator)
    if name == "ray":
        return RayBackend(evaluator, address, cpus_per_trial, gpus_per_trial)
    raise InvalidOption(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
