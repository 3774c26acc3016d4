"""Shared test fixtures.

Real benchmark data is read from `../shared/data` beside the repository (override with
`$SELFNAS_TEST_DATA`). A test that needs a missing file skips with the reason, except under
`CI=true`, where a missing file is a failure.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, settings

if TYPE_CHECKING:
    from selfnas.nets import InputShape
    from selfnas.pretrain.objective import Objective
    from selfnas.pretrain.trainer import TrainResult
    from selfnas.spaces.base import SearchSpace

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SELFNAS_TEST_DATA", ROOT.parent / "shared" / "data"))

# Derived caches (enumerations, columnar tables) persist between local runs, fresh on CI.
os.environ.setdefault("SELFNAS_CACHE", str(ROOT / ".selfnas-cache"))
os.environ.setdefault("SELFNAS_DATA", str(SHARED_DATA))
os.environ.setdefault("SELFNAS_THREADS", "1")


def shared_file(relative: str) -> Path:
    """Path of a file under the shared data folder; skip (or fail on CI) when absent."""
    path = SHARED_DATA / relative
    if not path.exists():
        message = f"shared data file {path} is absent (set SELFNAS_TEST_DATA to its folder)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


#: an NB201 cell whose benchmark network has 615,386 parameters on CIFAR-10
NB201_KNOWN_CELL = (
    "|skip_connect~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_1x1~0|nor_conv_1x1~1|none~2|"
)
#: the NB201 zero-cost CSV's dataset names
NB201_ZC_DATASETS = ("cifar10", "cifar100", "ImageNet16-120")


def fuzz_settings(max_examples: int) -> settings:
    """Hypothesis settings of the corrupt-file fuzz tests: no deadline (parsing is I/O), and
    `tmp_path` allowed although it is shared by the examples (each rewrites its file)."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )


def damaged(good: bytes, cut: int, edits: Iterable[tuple[int, int]], xor: bool) -> bytes:
    """`good` cut to its first `cut` bytes, then each in-range `(position, byte)` edit
    applied: XOR-ed into the byte there (`xor`) or written over it."""
    data = bytearray(good[:cut])
    for position, byte in edits:
        if position < len(data):
            data[position] = data[position] ^ byte if xor else byte
    return bytes(data)


def zc_rows(name: str) -> list[dict[str, str]]:
    """Rows of `zc/<name>.csv` (NASLib's zero-cost data) as dicts of text."""
    import csv

    with open(shared_file(f"zc/{name}.csv"), newline="") as handle:
        return list(csv.DictReader(handle))


def nb201_zc_count(row: dict[str, str], column: str) -> int:
    """A zc_nb201 count (`params`, `flops`): printed in millions with 6 decimals, i.e. exact."""
    return round(float(row[column]) * 1e6)


def nb201_zc_shapes() -> dict[str, InputShape]:
    """The zero-cost CSV's NB201 dataset names -> the network's input shape."""
    from selfnas.nets import dataset_shape

    return {name: dataset_shape(name) for name in NB201_ZC_DATASETS}


def nb201_zc_by_op_multiset(column: str) -> dict[tuple[tuple[str, ...], str], int]:
    """`column` of all 2,174 zc_nb201 rows as one count per (sorted cell ops, dataset).

    Edge placement changes no module's input shape, so one network per key stands for all
    its rows; the data agree (asserted here: rows sharing a key share one value)."""
    from selfnas.spaces.nb201 import parse_cell

    rows = zc_rows("zc_nb201")
    assert len(rows) == 2174
    by_key: dict[tuple[tuple[str, ...], str], set[int]] = {}
    for row in rows:
        key = (tuple(sorted(parse_cell(row["arch"]).ops)), row["dataset"])
        by_key.setdefault(key, set()).add(nb201_zc_count(row, column))
    assert all(len(values) == 1 for values in by_key.values())
    return {key: next(iter(values)) for key, values in by_key.items()}


#: DARTS_V2 exactly as the DARTS repository's cnn/genotypes.py writes it
DARTS_V2_TEXT = (
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
    "('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), "
    "('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), "
    "('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
    "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])"
)


@pytest.fixture(scope="module")
def space():
    """The NB201 space: the default `space` of a test module; one about another space
    defines its own `space` fixture, which takes precedence."""
    from selfnas.spaces import get_space

    return get_space("nb201")


@pytest.fixture
def one_thread():
    """Torch pinned to one thread again before each test of a module that asks for it
    (`pytestmark = pytest.mark.usefixtures("one_thread")`): code under test may change it."""
    import torch

    torch.set_num_threads(1)


def search_cut_and_resumed(problem, strategy: str, options, seed: int, budget: int,
                           out: Path, cut: int):  # fmt: skip
    """A search of `strategy` run straight through, and the same search interrupted once it
    has `cut` rows (into `out`) then resumed from its checkpoint: (straight run, its rows,
    resumed run before it goes on). The caller runs the resumed one and compares."""
    from selfnas.runs import RunDir
    from selfnas.search.runner import Budget, SeedRun

    straight = SeedRun(problem, strategy, options, seed, Budget(budget))
    rows = straight.run()

    class Stop(Exception):
        pass

    def stop(run) -> None:
        if len(run.rows) >= cut:
            raise Stop

    with pytest.raises(Stop):
        SeedRun(problem, strategy, options, seed, Budget(budget), RunDir(out)).run(stop)
    resumed = SeedRun(problem, strategy, options, seed, Budget(budget), RunDir(out))
    assert len(resumed.rows) >= cut
    return straight, rows, resumed


def assert_resume_is_exact(
    space: SearchSpace,
    out: Path,
    objective: str,
    build: Callable[[], Objective],
    samples: int,
    seed: int,
) -> TrainResult:
    """Pretraining `build()` (torch seeded 0) on `samples` archs drawn with `seed` for two
    epochs straight, and for one then resumed to two, ends in the same loss and weights.
    Returns the resumed run's result."""
    import numpy as np
    import torch

    from selfnas.pretrain.trainer import Trainer

    def run(directory: str, epochs: int) -> tuple[Objective, TrainResult]:
        torch.manual_seed(0)
        obj = build()
        data = space.batch(space.sample(samples, np.random.default_rng(seed)))
        config = {"objective": objective}
        return obj, Trainer(obj, data, out / directory, config, epochs=epochs).run()

    obj_full, full = run("full", 2)
    run("cut", 1)
    obj_cut, resumed = run("cut", 2)
    assert resumed.final["train_loss"] == full.final["train_loss"]
    for (name, a), (_, b) in zip(
        obj_full.state_dict().items(), obj_cut.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name
    return resumed


@pytest.fixture(autouse=True, scope="session")
def _quiet_and_single_threaded():
    import torch

    from selfnas import progress

    torch.set_num_threads(1)
    progress.set_enabled(False)
    yield


@pytest.fixture(scope="module")
def tiny_mnist():
    """48 train / 20 test MNIST images from the shared 5k file, cropped to 16x16: the
    one-shot tests' data (small enough for a search in seconds)."""
    import numpy as np
    import torch

    from selfnas.oneshot.data import ImageData

    with np.load(shared_file("images/mnist_5k.npz")) as archive:
        images, labels = archive["images"], archive["labels"]
    pick = np.concatenate([np.flatnonzero(labels == c)[:7] for c in range(10)])
    x = torch.from_numpy(images[pick, 6:22, 6:22].copy())[:, None]
    y = torch.from_numpy(labels[pick].astype(np.int64))
    train, test = np.arange(len(pick)) % 7 < 5, np.arange(len(pick)) % 7 >= 5
    return ImageData("tiny", x[train], y[train], x[test], y[test], 10)


def tiny_search_config(**changes):
    """The one-shot tests' search: 3 cells x 4 channels, batch 8, one thread (flat field
    names, as `SearchConfig.from_fields` takes them)."""
    from selfnas.oneshot.search import SearchConfig

    base = dict(
        cells=3,
        channels=4,
        epochs=5,
        batch_size=8,
        arch_every=2,
        threads=1,
        device="cpu",
        projection_dim=16,
        seed=3,
    )
    base.update(changes)
    return SearchConfig.from_fields(**base)
