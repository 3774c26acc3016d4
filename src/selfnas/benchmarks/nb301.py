"""NAS-Bench-301 through a surrogate: a *prediction* of training, not a measurement.

The default oracle is YAHPO Gym's ONNX surrogate of NAS-Bench-301 v1.0 (DARTS space,
CIFAR-10), run with onnxruntime. It takes 34 categorical codes and the epoch (1..98) and
predicts the validation accuracy (%) and the runtime (s) of training to that epoch. Its
answers are smooth model outputs: they carry the surrogate's error, are not test
accuracies, and no global optimum or rank is known. Report results on it as "NB301
(YAHPO surrogate)". The official NB301 v1.0 ensemble (`nb_models_1.0`) is accepted where a
user has it and the `nasbench301` package installed (`NB301Official`).

Encoding (data README): inputs, in order, `edge_normal_0..13`, `edge_reduce_0..13`,
`inputs_node_normal_3..5`, `inputs_node_reduce_3..5` (each prefixed by
`NetworkSelectorDatasetInfo_COLON_darts_COLON_`). Intermediate node k (0..3) owns edges
`start_k .. start_k + k + 1`, `start = 0, 2, 5, 9`, one per possible input; an edge carries
its op's code, unused edges `#na#` = 0; `inputs_node_<cell>_<k+2>` codes the sorted input
pair `i_j` of nodes k = 1..3.

Metrics: `val_accuracy` (%), `train_seconds` (predicted runtime; also `Record.seconds`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from selfnas.benchmarks.base import Benchmark, LazySpace, Record
from selfnas.benchmarks.onnx_batch import batchable
from selfnas.benchmarks.sources import file as catalogue_file
from selfnas.errors import DataCorrupt, DataNotFound, InvalidArchitecture, InvalidOption
from selfnas.spaces.darts_genotype import Genotype, format_genotype, parse_genotype

PREFIX = "NetworkSelectorDatasetInfo_COLON_darts_COLON_"
INPUT_NAMES: tuple[str, ...] = (
    *(f"{PREFIX}edge_normal_{i}" for i in range(14)),
    *(f"{PREFIX}edge_reduce_{i}" for i in range(14)),
    *(f"{PREFIX}inputs_node_normal_{i}" for i in (3, 4, 5)),
    *(f"{PREFIX}inputs_node_reduce_{i}" for i in (3, 4, 5)),
)
EDGE_START = (0, 2, 5, 9)
EPOCHS = tuple(range(1, 99))
METRICS = ("val_accuracy", "train_seconds")
DATASETS = ("cifar10",)


def load_encoding(path: Path) -> list[dict[str, int]]:
    """The code map of each of the 34 inputs, in input order."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataCorrupt(f"{path}: not a readable JSON encoding ({exc})") from None
    if not isinstance(raw, dict):
        raise DataCorrupt(f"{path}: expected a JSON object of input -> value -> code")
    out = []
    for name in INPUT_NAMES:
        codes = raw.get(name)
        if not isinstance(codes, dict) or not all(isinstance(v, int) for v in codes.values()):
            raise DataCorrupt(f"{path}: input {name} is missing or not a value -> code map")
        out.append(codes)
    return out


def _cell_codes(cell: Sequence[tuple[str, int]], prefix: int, encoding, out: np.ndarray) -> None:
    side = "normal" if prefix == 0 else "reduce"
    for k in range(4):
        pairs = cell[2 * k : 2 * k + 2]
        for op, source in pairs:
            slot = prefix + EDGE_START[k] + source
            try:
                out[slot] = encoding[slot][op]
            except KeyError:
                raise InvalidArchitecture(f"op {op!r} is not an NB301 op") from None
        if k >= 1:
            first, second = sorted(source for _, source in pairs)
            slot = 28 + (0 if side == "normal" else 3) + (k - 1)
            try:
                out[slot] = encoding[slot][f"{first}_{second}"]
            except KeyError:
                raise InvalidArchitecture(
                    f"node {k + 2} inputs {first}_{second} not encodable"
                ) from None


def encode(genotypes: Sequence[Genotype], encoding: list[dict[str, int]]) -> np.ndarray:
    """`x_cat` int32 [N, 34] for the surrogate."""
    out = np.zeros((len(genotypes), len(INPUT_NAMES)), dtype=np.int32)
    for row, genotype in enumerate(genotypes):
        _cell_codes(genotype.normal, 0, encoding, out[row])
        _cell_codes(genotype.reduce, 14, encoding, out[row])
    return out


def as_genotype(arch: Hashable) -> Genotype:
    if isinstance(arch, Genotype):
        return arch
    if isinstance(arch, str):
        return parse_genotype(arch)
    normal = getattr(arch, "normal", None)
    reduce = getattr(arch, "reduce", None)
    if normal is None or reduce is None:
        raise InvalidArchitecture(f"not a DARTS genotype: {arch!r}")
    return Genotype(normal=normal, reduce=reduce)


class _SurrogateBase(Benchmark):
    name = "nb301"

    @property
    def datasets(self) -> tuple[str, ...]:
        return DATASETS

    def metrics(self, dataset: str | None = None) -> tuple[str, ...]:
        return METRICS

    def fidelities(self, dataset: str | None = None) -> tuple[int, ...]:
        return EPOCHS

    def test_metric(self, dataset: str | None = None) -> str | None:
        return None  # the surrogate predicts validation accuracy only

    def key(self, arch: Hashable) -> str:
        return format_genotype(as_genotype(arch))

    def _predict(self, genotypes: Sequence[Genotype], epoch: int) -> np.ndarray:
        raise NotImplementedError

    def predict(self, archs: Sequence[Hashable], fidelity: int | None = None) -> np.ndarray:
        """[N, 2]: predicted validation accuracy (%) and runtime (s) at `fidelity` epochs."""
        epoch = self.default_fidelity(fidelity)
        assert epoch is not None, "surrogates list their epochs"
        genotypes = [as_genotype(a) for a in archs]
        if not genotypes:
            return np.zeros((0, 2), dtype=np.float64)
        return self._predict(genotypes, int(epoch))

    def query(
        self,
        arch: Hashable,
        dataset: str | None = None,
        metric: str | None = None,
        fidelity: int | None = None,
    ) -> Record:
        self.default_dataset(dataset)
        self.default_metric(metric, dataset)
        accuracy, seconds = self.predict([arch], fidelity)[0]
        return Record(
            self.key(arch),
            {"val_accuracy": float(accuracy), "train_seconds": float(seconds)},
            float(seconds),
        )

    def query_many(
        self,
        archs: Sequence[Hashable],
        dataset: str | None = None,
        metric: str | None = None,
        fidelity: int | None = None,
    ) -> np.ndarray:
        self.default_dataset(dataset)
        metric = self.default_metric(metric, dataset)
        return self.predict(archs, fidelity)[:, METRICS.index(metric)]


class NB301Surrogate(_SurrogateBase):
    """YAHPO Gym's ONNX surrogate of NAS-Bench-301 v1.0, batched through onnxruntime."""

    BATCH = 4096
    space = LazySpace("darts")

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        encoding: str | os.PathLike[str] | None = None,
    ) -> None:
        model_path = catalogue_file("nb301-surrogate").require(model)
        encoding_path = catalogue_file("nb301-encoding").require(
            encoding or (Path(model).with_name("yahpo_nb301_encoding.json") if model else None)
        )
        self.model_path, self.encoding_path = model_path, encoding_path
        self.encoding = load_encoding(encoding_path)
        self._session = _session(model_path)

    def _predict(self, genotypes: Sequence[Genotype], epoch: int) -> np.ndarray:
        x_cat = encode(genotypes, self.encoding)
        parts = []
        for start in range(0, len(x_cat), self.BATCH):
            chunk = x_cat[start : start + self.BATCH]
            x_cont = np.full((len(chunk), 1), float(epoch), dtype=np.float32)
            parts.append(self._session.run(None, {"x_cat": chunk, "x_cont": x_cont})[0])
        return np.concatenate(parts).astype(np.float64)

    def describe(self, dataset: str | None = None) -> dict:
        info = super().describe(dataset)
        info["surrogate"] = f"YAHPO Gym ONNX surrogate of NAS-Bench-301 v1.0 ({self.model_path})"
        return info


def _session(path: Path):
    import onnxruntime as ort

    try:
        model = batchable(path.read_bytes())
    except ValueError as exc:
        raise DataCorrupt(f"{path}: not a valid ONNX model ({exc})") from None
    options = ort.SessionOptions()
    options.intra_op_num_threads = int(os.environ.get("SELFNAS_THREADS", "1"))
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own error types for broken models
        raise DataCorrupt(f"{path}: onnxruntime cannot load it ({str(exc)[:200]})") from None
    names = sorted(i.name for i in session.get_inputs())
    if names != ["x_cat", "x_cont"]:
        raise DataCorrupt(f"{path}: expected inputs x_cat and x_cont, found {names}")
    return session


class _NativeGenotype(NamedTuple):
    """A genotype as the `nasbench301` package takes it: DARTS's four fields, as lists
    (it reads them by attribute)."""

    normal: list[tuple[str, int]]
    normal_concat: list[int]
    reduce: list[tuple[str, int]]
    reduce_concat: list[int]


class NB301Official(_SurrogateBase):
    """The official NB301 v1.0 ensemble (XGB accuracy + LGB runtime) via `nasbench301`.

    Needs the user's `nb_models_1.0` folder and the `nasbench301` package; its predictions
    are the final (98-epoch) ones, so fidelity must be left at 98.
    """

    def __init__(self, model_dir: str | os.PathLike[str] | None = None) -> None:
        folder = catalogue_file("nb301-official").require(model_dir)
        if not (folder / "xgb_v1.0").is_dir():
            raise DataNotFound(
                f"nb301: {folder} has no xgb_v1.0 folder; expected the unpacked "
                "nasbench301_models_v1.0 (nb_models_1.0/xgb_v1.0, nb_models_1.0/lgb_runtime_v1.0)"
            )
        try:
            import nasbench301
        except ImportError:
            raise InvalidOption(
                "nb301: the official surrogate needs the `nasbench301` package "
                "(https://github.com/automl/nasbench301); without it use the default "
                "YAHPO ONNX surrogate"
            ) from None
        self._nb = nasbench301
        self._accuracy = nasbench301.load_ensemble(str(folder / "xgb_v1.0"))
        runtime = folder / "lgb_runtime_v1.0"
        self._runtime = nasbench301.load_ensemble(str(runtime)) if runtime.is_dir() else None

    def fidelities(self, dataset: str | None = None) -> tuple[int, ...]:
        return (98,)

    def _predict(self, genotypes: Sequence[Genotype], epoch: int) -> np.ndarray:
        out = np.zeros((len(genotypes), 2), dtype=np.float64)
        for row, g in enumerate(genotypes):
            arch = _NativeGenotype(
                list(g.normal), list(g.normal_concat), list(g.reduce), list(g.reduce_concat)
            )
            out[row, 0] = self._accuracy.predict(
                config=arch, representation="genotype", with_noise=False
            )
            if self._runtime is not None:
                out[row, 1] = self._runtime.predict(config=arch, representation="genotype")
            else:
                out[row, 1] = np.nan
        return out
