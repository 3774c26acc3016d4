"""Shared test fixtures.

Real benchmark data is read from `../shared/data` beside the repository (override with
`$SELFNAS_TEST_DATA`). A test that needs a missing file skips with the reason, except under
`CI=true`, where a missing file is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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


def zc_rows(name: str) -> list[dict[str, str]]:
    """Rows of `zc/<name>.csv` (NASLib's zero-cost data) as dicts of text."""
    import csv

    with open(shared_file(f"zc/{name}.csv"), newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(autouse=True, scope="session")
def _quiet_and_single_threaded():
    import torch

    from selfnas import progress

    torch.set_num_threads(1)
    progress.set_enabled(False)
    yield
