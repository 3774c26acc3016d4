"""One epoch loop for every self-supervised objective: seeded, checkpointed, resumable.

A run directory holds `config.json` (what was asked), `checkpoint.pt` (model, optimiser,
scheduler, RNG states, epoch, history; rewritten atomically after every epoch) and
`metrics.json` (per-epoch history and the final metrics, also atomic). Running again on
the same directory resumes after the last finished epoch; a different configuration there
raises `ResumeMismatch` instead of silently mixing two runs (only `epochs` may grow).

Determinism: the train/held-out split comes from `(seed, "split")`, each epoch's batch order
from `(seed, epoch)`, each evaluation's samples from `(seed, epoch, "eval")`, and torch's
generator is reseeded from `(seed, epoch)` at the start of every epoch. So a resumed run ends
with exactly the metrics of an uninterrupted one, and metrics never perturb training.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from selfnas.atomic import save_torch, write_json
from selfnas.errors import ResumeMismatch
from selfnas.pretrain.objective import Objective
from selfnas.progress import progress_bar
from selfnas.spaces.base import SearchSpace
from selfnas.spaces.batch import ArchBatch

CONFIG = "config.json"
CHECKPOINT = "checkpoint.pt"
METRICS = "metrics.json"

#: evaluate(objective, train, held_out, epoch, rng) -> metrics
Evaluate = Callable[[Objective, ArchBatch, ArchBatch, int, np.random.Generator], dict[str, Any]]

_SPLIT, _EVAL, _DATA = 1, 2, 4

#: share of the data held out for reconstruction accuracy
HOLDOUT = 0.1


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng(list(key))


def evaluation_rng(seed: int, epoch: int) -> np.random.Generator:
    """The generator the evaluation after `epoch` (0-based) draws its samples from."""
    return _rng(seed, epoch, _EVAL)


def _torch_seed(*key: int) -> int:
    return int(np.random.SeedSequence(list(key)).generate_state(1, dtype=np.uint64)[0] >> 1)


def space_data(
    space: SearchSpace, samples: int | None, seed: int, subset: int | None = None
) -> ArchBatch:
    """What a space is pretrained on: all of it where it is `enumerable` (`batch_all`), else
    `samples` archs (default 100,000) drawn with `(seed, "data")`; `subset` keeps a seeded
    random share of that (quick runs, tests)."""
    if samples is None and space.enumerable:
        data = space.batch_all()
    else:
        count = 100_000 if samples is None else samples
        data = space.batch(space.sample(count, _rng(seed, _DATA)))
    if subset is not None and subset < len(data):
        keep = np.sort(_rng(seed, _DATA, 1).choice(len(data), subset, replace=False))
        data = data[keep]
    return data


def space_hashes(space: SearchSpace, data: ArchBatch) -> list[str]:
    """Canonical hash of every row of `space_data` (the space's `hashes_all` where it has them
    and `data` is the whole space)."""
    hashes = space.hashes_all() if len(data) == space.size else None
    if hashes is not None:
        return hashes
    adj, ops = data.adj.cpu().numpy(), data.ops.cpu().numpy()
    return [space.hash(space.decode(a, o)) for a, o in zip(adj, ops, strict=True)]


def split_indices(n: int, holdout: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train and held-out row indices, fixed by `seed` (held-out = the last `holdout` share
    of a seeded permutation)."""
    order = _rng(seed, _SPLIT).permutation(n)
    n_held = round(n * holdout)
    return np.sort(order[: n - n_held]), np.sort(order[n - n_held :])


@dataclass
class TrainResult:
    history: list[dict[str, Any]] = field(default_factory=list)
    final: dict[str, Any] = field(default_factory=dict)


class Trainer:
    """Train `objective` on `data` for `epochs`, writing everything to `out_dir`."""

    def __init__(
        self,
        objective: Objective,
        data: ArchBatch,
        out_dir: str | Path,
        config: dict[str, Any],
        *,
        epochs: int,
        seed: int = 0,
        holdout: float = HOLDOUT,
        device: torch.device | str = "cpu",
        evaluate: Evaluate | None = None,
        eval_every: int = 1,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.objective = objective.to(device)
        self.device = torch.device(device)
        self.out_dir = Path(out_dir)
        self.config = dict(config) | {"seed": seed, "holdout": holdout, "epochs": epochs}
        self.epochs = epochs
        self.seed = seed
        self.evaluate = evaluate
        self.eval_every = max(1, eval_every)
        self.log = log
        train_idx, held_idx = split_indices(len(data), holdout, seed)
        data = data.to(self.device)
        self.train_set = data[torch.as_tensor(train_idx, device=self.device)]
        self.held_out = data[torch.as_tensor(held_idx, device=self.device)]
        steps = objective.steps_per_epoch(len(self.train_set))
        self.steps_per_epoch = steps
        self.optimizer, self.scheduler = objective.configure_optimizer(steps)

    # --- persistence -----------------------------------------------------------
    def _check_config(self) -> None:
        path = self.out_dir / CONFIG
        if not path.exists():
            return
        saved = json.loads(path.read_text())
        mine = json.loads(json.dumps(self.config, default=str))
        differ = sorted(
            k for k in set(saved) | set(mine) if k != "epochs" and saved.get(k) != mine.get(k)
        )
        if differ:
            detail = ", ".join(f"{k}: {saved.get(k)!r} there, {mine.get(k)!r} now" for k in differ)
            raise ResumeMismatch(
                f"{self.out_dir} holds a run with another configuration ({detail})"
            )

    def _load(self) -> tuple[int, list[dict[str, Any]]]:
        path = self.out_dir / CHECKPOINT
        if not path.exists():
            return 0, []
        state = torch.load(path, map_location=self.device, weights_only=False)
        self.objective.load_state_dict(state["model"])
        # the optimiser is built over the parameters the loaded model has (a checkpoint may
        # predate one an objective can drop, such as the VGAE's op offset)
        self.optimizer, self.scheduler = self.objective.configure_optimizer(self.steps_per_epoch)
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state.get("scheduler") is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["torch_rng"].cpu())  # map_location moved it
        return int(state["epoch"]), list(state["history"])

    def _save(self, epoch: int, history: list[dict[str, Any]]) -> None:
        save_torch(
            self.out_dir / CHECKPOINT,
            {
                "epoch": epoch,
                "model": self.objective.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "scheduler": None if self.scheduler is None else self.scheduler.state_dict(),
                "torch_rng": torch.get_rng_state(),
                "history": history,
                "config": self.config,
            },
        )

    # --- loop ------------------------------------------------------------------
    def train_epoch(self, epoch: int) -> dict[str, float]:
        """One pass over the training set; mean of each loss part."""
        torch.manual_seed(_torch_seed(self.seed, epoch))
        self.objective.train()
        sums: dict[str, float] = {}
        steps = 0
        params = [p for p in self.objective.parameters() if p.requires_grad]
        with progress_bar() as bar:
            task = bar.add_task(
                f"epoch {epoch + 1}/{self.epochs}", total=self.steps_per_epoch, info=""
            )
            for batch in self.objective.batches(self.train_set, _rng(self.seed, epoch), epoch):
                self.optimizer.zero_grad(set_to_none=True)
                loss, parts = self.objective.loss(batch)
                loss.backward()
                if self.objective.grad_clip is not None:
                    torch.nn.utils.clip_grad_norm_(params, self.objective.grad_clip, foreach=True)
                self.optimizer.step()
                if self.scheduler is not None:
                    self.scheduler.step()
                for key, value in parts.items():
                    sums[key] = sums.get(key, 0.0) + value
                steps += 1
                if steps % 50 == 0:
                    info = f"loss {sums.get('loss', 0.0) / steps:.4f}"
                    bar.update(task, completed=steps, info=info)
        return {f"train_{k}": v / max(steps, 1) for k, v in sums.items()}

    def run(self) -> TrainResult:
        """Train the remaining epochs (resuming if `out_dir` has a checkpoint)."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._check_config()
        write_json(self.out_dir / CONFIG, self.config)
        start, history = self._load()
        for epoch in range(start, self.epochs):
            began = time.perf_counter()
            record: dict[str, Any] = {"epoch": epoch + 1} | self.train_epoch(epoch)
            record["train_seconds"] = time.perf_counter() - began
            last = epoch + 1 == self.epochs
            if self.evaluate is not None and (last or (epoch + 1) % self.eval_every == 0):
                began_eval = time.perf_counter()
                record |= self.evaluate(
                    self.objective,
                    self.train_set,
                    self.held_out,
                    epoch,
                    evaluation_rng(self.seed, epoch),
                )
                record["eval_seconds"] = time.perf_counter() - began_eval
            record["seconds"] = sum(
                r["train_seconds"] + r.get("eval_seconds", 0.0) for r in [*history, record]
            )
            history.append(record)
            self._save(epoch + 1, history)
            write_json(self.out_dir / METRICS, {"history": history, "final": history[-1]})
            if self.log is not None:
                self.log(_describe(record))
        final = history[-1] if history else {}
        write_json(self.out_dir / METRICS, {"history": history, "final": final})
        return TrainResult(history=history, final=final)


def _describe(record: dict[str, Any]) -> str:
    shown = (
        "train_loss",
        "train_kl",
        "reconstruction_accuracy",
        "ops_accuracy",
        "adj_accuracy",
        "validity",
        "uniqueness",
        "validity_diagonal",
    )
    parts = [f"{k}={record[k]:.4f}" for k in shown if k in record]
    return f"epoch {record['epoch']}: " + " ".join(parts) + f" ({record['seconds']:.1f} s)"
