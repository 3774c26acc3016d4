"""What every benchmark and diagnostic script ends with: the machine it ran on, and the
JSON printed and (with `--out`) written atomically."""

from __future__ import annotations

import json
import os
import platform
from typing import Any

import torch

from selfnas.atomic import write_json

SHARED_NOTE = "shared 2-core machine: other processes ran during the measurement"


def machine(load_start: tuple[float, float, float] | None = None) -> dict[str, Any]:
    """Platform, CPUs, torch and its threads, and the load average (at start and now)."""
    out: dict[str, Any] = {
        "platform": platform.platform(),
        "processor": platform.processor(),
        "cpus": os.cpu_count(),
    }
    if load_start is not None:
        out["load_average_start"] = load_start
    out |= {
        "load_average": os.getloadavg(),
        "note": SHARED_NOTE,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }
    return out


def emit(result: dict[str, Any], out: str | None) -> None:
    """Print `result` as JSON and write it to `out` when given."""
    print(json.dumps(result, indent=2))
    if out:
        write_json(out, result)
