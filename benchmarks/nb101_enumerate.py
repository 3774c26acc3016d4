"""Benchmark: enumerate every NAS-Bench-101 cell, vectorised vs the generator's loop.

Each measurement runs in a fresh subprocess so its peak RSS (`ru_maxrss`) is its own:

* `vectorised`: `nb101_enumerate.enumerate_cells()` for all 423,624 cells (<= 7 vertices),
  then writing the cache file: once in one process, and once with the hashing split over
  the available cores (the default; `vectorised` in the JSON);
* `loop`: the NAS-Bench-101 paper's generator (`generate_graphs.py`) as plain Python: every
  bitmask -> matrix -> "full DAG" and edge checks -> every labelling -> per-graph hash ->
  dict of unique hashes, over all graphs of <= 6 vertices (all 7-vertex graphs take ~6 min);
  it uses this project's per-graph `module_hash`, a little faster than the official one, so
  the speed-up reported is conservative;
* `load`: reading the cache file into the space's table.

"Graphs" are labelled full DAGs (the generator's `total_graphs`, what each method covers);
unique cells per second are reported too. Prints JSON and writes
`benchmarks/results/nb101_enumerate.json`.

    python benchmarks/nb101_enumerate.py [--out PATH] [--loop-vertices 6]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "nb101_enumerate.json"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _children_peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def child_vectorised(cache: Path, workers: int) -> dict:
    from selfnas.spaces import nb101_enumerate as enum

    start = time.perf_counter()
    cells = enum.enumerate_cells(show_progress=False, workers=workers)
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    path = enum.save_cells(cells, cache / enum.CACHE_NAME)
    save_seconds = time.perf_counter() - start
    labelled = sum(
        len(enum.full_dag_bitmasks(v)) * 3 ** (v - 2) for v in range(2, enum.MAX_VERTICES + 1)
    )
    return {
        "seconds": seconds,
        "save_seconds": save_seconds,
        "cells": len(cells.hashes),
        "labelled_graphs": labelled,
        "file_mb": path.stat().st_size / 2**20,
        "workers": workers,
        "peak_rss_mb": _peak_rss_mb(),
        # hashing workers: the largest one; main + workers bounds the whole job's peak
        "worker_peak_rss_mb": _children_peak_rss_mb() if workers > 1 else 0.0,
        "total_peak_rss_mb_bound": _peak_rss_mb()
        + (workers * _children_peak_rss_mb() if workers > 1 else 0.0),
    }


def official_style_hash(matrix, labels) -> str:
    """The per-graph hash written the way the benchmark's `graph_util.hash_module` is:
    hex-digest strings, neighbours found by indexing the numpy matrix element by element."""
    import hashlib

    import numpy as np

    n = np.shape(matrix)[0]
    ins = np.sum(matrix, axis=0).tolist()
    outs = np.sum(matrix, axis=1).tolist()
    digests = [
        hashlib.md5(str(t).encode("utf-8")).hexdigest() for t in zip(outs, ins, labels, strict=True)
    ]
    for _ in range(n):
        digests = [
            hashlib.md5(
                (
                    "".join(sorted(digests[w] for w in range(n) if matrix[w, v]))
                    + "|"
                    + "".join(sorted(digests[w] for w in range(n) if matrix[v, w]))
                    + "|"
                    + digests[v]
                ).encode("utf-8")
            ).hexdigest()
            for v in range(n)
        ]
    return hashlib.md5(str(sorted(digests)).encode("utf-8")).hexdigest()


def child_loop(max_vertices: int, style: str) -> dict:
    """The generator's loop; `style` picks the per-graph hash: `official` (written like
    nasbench's) or `fast` (this project's `module_hash`, ~3x quicker per graph)."""
    import numpy as np

    from selfnas.spaces.nb101_cell import is_full_dag
    from selfnas.spaces.nb101_hash import module_hash

    hash_fn = official_style_hash if style == "official" else module_hash
    start = time.perf_counter()
    buckets: dict[str, tuple] = {}
    labelled = 0
    for vertices in range(2, max_vertices + 1):
        for bits in range(2 ** (vertices * (vertices - 1) // 2)):
            matrix = np.fromfunction(
                np.vectorize(lambda x, y, b=bits: x < y and (b >> (x + y * (y - 1) // 2)) & 1 == 1),
                (vertices, vertices),
                dtype=np.int64,
            ).astype(np.int8)
            if not is_full_dag(matrix) or matrix.sum() > 9:
                continue
            for labelling in itertools.product(range(3), repeat=vertices - 2):
                labelled += 1
                labels = [-1, *labelling, -2]
                buckets.setdefault(hash_fn(matrix, labels), (matrix.tolist(), labels))
    return {
        "seconds": time.perf_counter() - start,
        "cells": len(buckets),
        "labelled_graphs": labelled,
        "max_vertices": max_vertices,
        "hash": style,
        "peak_rss_mb": _peak_rss_mb(),
    }


def child_load(cache: Path) -> dict:
    os.environ["SELFNAS_CACHE"] = str(cache)
    from selfnas.spaces.nb101 import NB101Space

    space = NB101Space()
    import selfnas.spaces.nb101_enumerate  # noqa: F401  (imports outside the timing)

    start = time.perf_counter()
    table = space.table()
    return {"seconds": time.perf_counter() - start, "cells": len(table)}


def _run_child(*args: str) -> dict:
    env = {**os.environ, "SELFNAS_THREADS": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, __file__, "--child", *args],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def machine() -> dict:
    import numpy

    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "load_average_1min": load,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "platform": platform.platform(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--loop-vertices", type=int, default=6)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, value, *extra = args.child
        result = {
            "vectorised": lambda: child_vectorised(Path(value), int(extra[0])),
            "loop": lambda: child_loop(int(value), *extra),
            "load": lambda: child_load(Path(value)),
        }[kind]()
        print(json.dumps(result))
        return

    with tempfile.TemporaryDirectory() as cache:
        before = machine()
        from selfnas.spaces.nb101_enumerate import available_cores

        cores = available_cores()
        single = _run_child("vectorised", cache, "1")
        vectorised = _run_child("vectorised", cache, str(cores)) if cores > 1 else single
        load = _run_child("load", cache)
        loops = {
            style: _run_child("loop", str(args.loop_vertices), style)
            for style in ("official", "fast")
        }
    vec_rate = vectorised["labelled_graphs"] / vectorised["seconds"]
    report = {
        "machine": before,
        "load_average_1min_after": machine()["load_average_1min"],
        "vectorised": {
            **vectorised,
            "graphs_per_second": vec_rate,
            "cells_per_second": vectorised["cells"] / vectorised["seconds"],
        },
        "vectorised_one_process": {
            **single,
            "graphs_per_second": single["labelled_graphs"] / single["seconds"],
        },
    }
    for style, loop in loops.items():
        rate = loop["labelled_graphs"] / loop["seconds"]
        report[f"loop_{style}_hash"] = {
            **loop,
            "graphs_per_second": rate,
            "cells_per_second": loop["cells"] / loop["seconds"],
            "estimated_full_seconds": vectorised["labelled_graphs"] / rate,
            "speedup_graphs_per_second": vec_rate / rate,
            "speedup_one_process": single["labelled_graphs"] / single["seconds"] / rate,
        }
    report |= {
        "cache_load_seconds": load["seconds"],
        "targets": {
            "full_enumeration_seconds_max": 60,
            "peak_rss_mb_max": 2048,
            "speedup_min": 20,
            "cache_load_seconds_max": 1,
        },
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        from selfnas.atomic import write_text

        write_text(args.out, text + "\n")


if __name__ == "__main__":
    main()
