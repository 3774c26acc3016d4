"""NAS-Bench-201 / NATS-Bench official files, read without `nas_201_api` / `nats_bench`.

Layouts (as those projects' APIs define them):

- `NAS-Bench-201-v1_0-e61699.pth` / `NAS-Bench-201-v1_1-096897.pth`: a `torch.save`d dict
  `{'meta_archs': [arch strings], 'arch2infos': {index: {'less': A, 'full': A}},
  'evaluated_indexes': [...], 'total_archs': N}`; `less` = 12-epoch, `full` = 200-epoch
  training. Loaded with `weights_only=True` (plain data only).
- `NATS-tss-v1_0-3ffb9-simple/`: `meta.pickle.pbz2` (bz2 pickle with `meta_archs`) and one
  `{index:06d}.pickle.pbz2` per arch holding `{'12': A, '200': A}`. Read with an unpickler
  that admits only containers and numpy values.

`A` is an ArchResults state dict: `dataset_seed` {dataset: [seeds]} and `all_results`
{(dataset, seed): R}, R a ResultsCount state dict with `epochs`, `train_times`
{epoch: seconds}, `eval_acc1es` {'<set>@<epoch>': accuracy %}, `params`, `flop`, `latency`.

Metrics per dataset, at the last epoch, averaged over seeds (the APIs' `is_random=False`):
`val_accuracy` (`x-valid`; for `cifar10`, which trains on train+valid and has no
validation split, the API's convention: `cifar10-valid`'s `x-valid`), `test_accuracy`
(`ori-test` on cifar10-valid/cifar10, `x-test` on cifar100/ImageNet16-120),
`train_seconds` (sum of per-epoch training times; `Record.seconds`), `epoch_seconds`
(mean per-epoch training time), `params` (MB), `flops` (M), `latency` (s).
`fidelity` = 12 or 200 (training epochs; default 200).
"""

from __future__ import annotations

import bz2
import os
import re
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from selfnas.benchmarks.base import TableBenchmark
from selfnas.benchmarks.columnar import load_cached
from selfnas.benchmarks.nb101 import safe_unpickle
from selfnas.benchmarks.table import MetricTable
from selfnas.errors import DataCorrupt, DataNotFound, InvalidArchitecture
from selfnas.progress import track

DATASETS = ("cifar10-valid", "cifar10", "cifar100", "ImageNet16-120")
FIDELITIES = (12, 200)
METRICS = (
    "val_accuracy",
    "test_accuracy",
    "train_seconds",
    "epoch_seconds",
    "params",
    "flops",
    "latency",
)
_HP_KEYS = {"less": 12, "full": 200, "12": 12, "200": 200}
_TEST_SET = {
    "cifar10-valid": "ori-test",
    "cifar10": "ori-test",
    "cifar100": "x-test",
    "ImageNet16-120": "x-test",
}


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else float("nan")


def _final_eval(result: Mapping, set_name: str) -> float | None:
    accs = result.get("eval_acc1es") or {}
    epochs = int(result["epochs"])
    value = accs.get(f"{set_name}@{epochs - 1}")
    return None if value is None else float(value)


def arch_metrics(state: Mapping, where: str) -> dict[str, float]:
    """Columns `<dataset>:<metric>` of one ArchResults state dict (one fidelity)."""
    try:
        seeds = state["dataset_seed"]
        results = state["all_results"]
        out: dict[str, float] = {}
        for dataset, dataset_seeds in seeds.items():
            if dataset not in DATASETS:
                continue
            runs = [results[(dataset, seed)] for seed in dataset_seeds]
            collected: dict[str, list[float]] = {m: [] for m in METRICS}
            for run in runs:
                times = [float(t) for t in (run.get("train_times") or {}).values()]
                if times:
                    collected["train_seconds"].append(sum(times))
                    collected["epoch_seconds"].append(sum(times) / len(times))
                for metric, set_name in (
                    ("val_accuracy", "x-valid"),
                    ("test_accuracy", _TEST_SET[dataset]),
                ):
                    value = _final_eval(run, set_name)
                    if value is not None:
                        collected[metric].append(value)
                for metric, field in (("params", "params"), ("flops", "flop")):
                    if run.get(field) is not None:
                        collected[metric].append(float(run[field]))
                latency = run.get("latency")
                if latency:
                    collected["latency"].append(float(np.mean(latency)))
            for metric, values in collected.items():
                out[f"{dataset}:{metric}"] = _mean(values)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise DataCorrupt(
            f"{where}: not an ArchResults state dict ({type(exc).__name__}: {exc})"
        ) from None
    if "cifar10-valid:val_accuracy" in out:  # the APIs' convention for cifar10 validation
        out["cifar10:val_accuracy"] = out["cifar10-valid:val_accuracy"]
    return out


def _rows(meta_archs: list, infos: Mapping[int, Mapping], where: str) -> pd.DataFrame:
    from selfnas.spaces import get_space

    space = get_space("nb201")
    rows = []
    for index, by_hp in track(infos.items(), "reading NAS-Bench-201 results"):
        try:
            arch = space.hash(space.parse(str(meta_archs[int(index)])))
        except (IndexError, ValueError, TypeError, InvalidArchitecture) as exc:
            raise DataCorrupt(f"{where}: arch {index}: {exc}") from None
        if not isinstance(by_hp, Mapping):
            raise DataCorrupt(f"{where}: arch {index}: expected a dict of fidelities")
        row: dict[str, Any] = {"arch": arch}
        for hp_key, state in by_hp.items():
            epochs = _HP_KEYS.get(str(hp_key))
            if epochs is None:
                continue
            for name, value in arch_metrics(state, f"{where}: arch {index}").items():
                row[f"{epochs}:{name}"] = value
        rows.append(row)
    if not rows:
        raise DataCorrupt(f"{where}: no evaluated architectures")
    return pd.DataFrame(rows)


def parse_pth(path: Path) -> pd.DataFrame:
    import pickle

    import torch

    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except (
        pickle.UnpicklingError,
        RuntimeError,
        EOFError,
        ValueError,
        OSError,
        AttributeError,
        TypeError,
        IndexError,
        KeyError,
        UnicodeDecodeError,
    ) as exc:
        raise DataCorrupt(
            f"{path}: not a readable NAS-Bench-201 .pth ({type(exc).__name__}: {str(exc)[:160]})"
        ) from None
    if not isinstance(data, Mapping) or "meta_archs" not in data or "arch2infos" not in data:
        raise DataCorrupt(f"{path}: expected a dict with meta_archs and arch2infos")
    return _rows(list(data["meta_archs"]), data["arch2infos"], str(path))


def _bz2_pickle(path: Path) -> Any:
    try:
        with bz2.open(path, "rb") as handle:
            return safe_unpickle(handle, path)
    except (OSError, EOFError) as exc:
        raise DataCorrupt(f"{path}: not a readable .pickle.pbz2 ({exc})") from None


def parse_nats_dir(folder: Path) -> pd.DataFrame:
    meta_path = folder / "meta.pickle.pbz2"
    if not meta_path.is_file():
        raise DataNotFound(
            f"{folder}: no meta.pickle.pbz2; expected the unpacked "
            "NATS-tss-v1_0-3ffb9-simple archive"
        )
    meta = _bz2_pickle(meta_path)
    if not isinstance(meta, Mapping) or "meta_archs" not in meta:
        raise DataCorrupt(f"{meta_path}: expected a dict with meta_archs")
    infos: dict[int, Any] = {}
    for item in sorted(folder.glob("*.pickle.pbz2")):
        match = re.fullmatch(r"(\d+)\.pickle\.pbz2", item.name)
        if match:
            infos[int(match.group(1))] = _bz2_pickle(item)
    return _rows(list(meta["meta_archs"]), infos, str(folder))


class NB201Official(TableBenchmark):
    """NB201 oracle over an official `.pth` or a NATS-Bench `-simple` folder."""

    name = "nb201"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        from selfnas.spaces import get_space

        self.space = get_space("nb201")
        self.path = Path(path).expanduser()
        if self.path.is_dir():
            stamp = self.path / "meta.pickle.pbz2"
            if not stamp.is_file():
                raise DataNotFound(f"{self.path}: no meta.pickle.pbz2 (not a NATS -simple folder)")
            # the folder's cache is keyed by its meta file (size + mtime) and its name
            self.frame_all = load_cached(stamp, "nats-tss", lambda: parse_nats_dir(self.path))
        elif self.path.is_file():
            self.frame_all = load_cached(self.path, "nb201pth", lambda: parse_pth(self.path))
        else:
            raise DataNotFound(
                f"nb201: {self.path} not found; give NAS-Bench-201-v1_[01]-*.pth or the "
                "NATS-tss-v1_0-3ffb9-simple folder (https://github.com/D-X-Y/NATS-Bench)"
            )
        self._tables: dict[tuple[str, int], MetricTable] = {}

    @property
    def datasets(self) -> tuple[str, ...]:
        present = {c.split(":")[1] for c in self.frame_all.columns if c != "arch"}
        return tuple(d for d in DATASETS if d in present)

    def fidelities(self, dataset: str | None = None) -> tuple[int, ...]:
        present = {int(c.split(":")[0]) for c in self.frame_all.columns if c != "arch"}
        return tuple(f for f in FIDELITIES if f in present)

    def table(self, dataset: str | None = None, fidelity: int | None = None) -> MetricTable:
        dataset = self.default_dataset(dataset)
        epochs = self.default_fidelity(fidelity)
        assert epochs is not None, "nb201 lists the epochs of its columns"
        key = (dataset, epochs)
        if key not in self._tables:
            prefix = f"{epochs}:{dataset}:"
            columns = {
                c[len(prefix) :]: self.frame_all[c].to_numpy(np.float64)
                for c in self.frame_all.columns
                if c.startswith(prefix)
            }
            columns = {
                m: columns[m] for m in METRICS if m in columns and not np.all(np.isnan(columns[m]))
            }
            self._tables[key] = MetricTable(
                self.frame_all["arch"].to_numpy(object),
                columns,
                "train_seconds" if "train_seconds" in columns else None,
            )
        return self._tables[key]

    def key(self, arch: Hashable) -> str:
        if isinstance(arch, str):
            arch = self.space.parse(arch)
        return self.space.hash(arch)
