#!/usr/bin/env bash
# SSWP-NAS search at the paper's CIFAR-10 size on every local NVIDIA GPU: step time and
# peak GPU memory, written with the machine to benchmarks/results/oneshot_gpu.json.
#
#   benchmarks/oneshot_gpu.sh                 # ~300 weight steps, all GPUs (torchrun)
#   STEPS=600 OUT=/scratch/gpu_run benchmarks/oneshot_gpu.sh
#
# The search network is the paper's CIFAR search network, which is also the final network
# (SSWP-NAS searches the final architecture, Sec. 4 / Table 5): 20 cells, 36 initial
# channels, global batch 96 (split across the GPUs), SGD lr 0.025, Adam alphas lr 1e-3,
# under `torchrun --standalone --nproc_per_node=<GPUs>` with --amp and --sync-bn.
# Two epochs of STEPS/2 weight steps each: the first searches (alphas step every 5 weight
# steps), the second prunes forward (FPP), so every kind of step is timed.
#
# Data: CIFAR-10's python batches at <data directory>/images/cifar-10-batches-py
# (data directory: $SELFNAS_DATA, else the user cache dir; see docs/benchmarks.md and
# src/selfnas/datadir.py), or DATA_ROOT=/folder/holding/cifar-10-batches-py. Get it from
# https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz. Without it the script warns and
# searches the embedded mnist5k set instead (more, shorter epochs; the JSON records which).
#
# Settings (environment): STEPS (300), BATCH (96), CELLS (20), CHANNELS (36), DATA_ROOT,
# OUT (run directory, default a fresh temporary one), PYTHON (default .venv/bin/python),
# RESULT (default benchmarks/results/oneshot_gpu.json), CHECKPOINT_CELLS (search default).
# Exit 2 with a message when no GPU (or no CUDA build of torch) is present.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$HERE")"
PY="${PYTHON:-$REPO/.venv/bin/python}"
STEPS="${STEPS:-300}"
BATCH="${BATCH:-96}"
CELLS="${CELLS:-20}"
CHANNELS="${CHANNELS:-36}"
RESULT="${RESULT:-$HERE/results/oneshot_gpu.json}"

fail() {
    echo "oneshot_gpu.sh: $*" >&2
    exit 2
}

# ---- a GPU, before anything else ------------------------------------------------------
if ! command -v nvidia-smi >/dev/null 2>&1; then
    fail "no NVIDIA GPU: nvidia-smi is not on PATH (this benchmark needs CUDA GPUs; the CPU" \
        "search is measured by benchmarks/oneshot_step.py)"
fi
GPUS="$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)"
if [ "${GPUS:-0}" -lt 1 ]; then
    fail "no NVIDIA GPU: 'nvidia-smi -L' lists none (driver not loaded or no device visible)"
fi
[ -x "$PY" ] || fail "no Python at $PY (create the venv or set PYTHON=/path/to/python)"
"$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' \
    || fail "no NVIDIA GPU visible to torch ($("$PY" -c 'import torch; print(torch.__version__)'));" \
        "install a CUDA build of torch into the environment of $PY"

# ---- data -------------------------------------------------------------------------------
CIFAR_DIR="$("$PY" - "${DATA_ROOT:-}" <<'EOF'
import sys
from pathlib import Path

from selfnas.datadir import data_dir

root = Path(sys.argv[1]).expanduser() if sys.argv[1] else data_dir() / "images"
print(root / "cifar-10-batches-py")
EOF
)"
DATASET=cifar10
if [ ! -f "$CIFAR_DIR/data_batch_1" ]; then
    echo "oneshot_gpu.sh: WARNING: CIFAR-10 not found at $CIFAR_DIR (download" \
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz and extract it into" \
        "$(dirname "$CIFAR_DIR"), or set DATA_ROOT / SELFNAS_DATA); searching the embedded" \
        "mnist5k set instead: step times are not CIFAR-10's" >&2
    DATASET=mnist5k
fi

# epochs and images per epoch giving STEPS weight steps (at most the weight half per epoch)
PLAN="$("$PY" - "$DATASET" "${DATA_ROOT:-}" "$STEPS" "$BATCH" <<'EOF'
import math
import sys

from selfnas.oneshot.data import load_dataset

name, root, steps, batch = sys.argv[1], sys.argv[2] or None, int(sys.argv[3]), int(sys.argv[4])
half = len(load_dataset(name, root).train_x) // 2
per_epoch = max(1, min(math.ceil(steps / 2), half // batch))
epochs = max(2, math.ceil(steps / per_epoch))
print(epochs, per_epoch * batch)
EOF
)"
read -r EPOCHS IMAGES <<<"$PLAN"

OUT="${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/oneshot_gpu.XXXXXX")}"
mkdir -p "$OUT" "$(dirname "$RESULT")"
WRAPPER="$OUT/_rank.py"
cat >"$WRAPPER" <<'EOF'
"""One torchrun rank: the CLI search, then this rank's peak GPU memory."""
import json
import os
import sys
import time

import torch

from selfnas.cli import main

started = time.perf_counter()
code = main(sys.argv[2:])
rank = int(os.environ.get("RANK", "0"))
with open(os.path.join(sys.argv[1], f"_rank{rank}.json"), "w") as handle:
    json.dump(
        {
            "rank": rank,
            "exit_code": code,
            "wall_s": time.perf_counter() - started,
            "peak_allocated_mb": torch.cuda.max_memory_allocated() / 2**20,
            "peak_reserved_mb": torch.cuda.max_memory_reserved() / 2**20,
        },
        handle,
    )
sys.exit(code)
EOF

ARGS=(oneshot search --dataset "$DATASET" --cells "$CELLS" --channels "$CHANNELS"
    --batch-size "$BATCH" --epochs "$EPOCHS" --images-per-epoch "$IMAGES" --split 0,0.5,0.5
    --prune fpp --device cuda --amp --sync-bn --distributed --no-resume --out "$OUT/run")
[ -n "${DATA_ROOT:-}" ] && ARGS+=(--data-root "$DATA_ROOT")
[ -n "${CHECKPOINT_CELLS:-}" ] && ARGS+=(--checkpoint-cells "$CHECKPOINT_CELLS")

echo "oneshot_gpu.sh: $GPUS GPU(s), $DATASET, $CELLS cells x $CHANNELS channels, batch $BATCH," \
    "$EPOCHS epochs x $((IMAGES / BATCH)) weight steps; run directory $OUT/run" >&2
cd "$REPO"
"$PY" -m torch.distributed.run --standalone --nproc_per_node="$GPUS" \
    "$WRAPPER" "$OUT" "${ARGS[@]}"

# ---- the record -------------------------------------------------------------------------
NVIDIA_SMI="$(nvidia-smi)"
GPU_LIST="$(nvidia-smi -L)"
export NVIDIA_SMI GPU_LIST
"$PY" - "$OUT" "$RESULT" "$DATASET" "$GPUS" "$STEPS" "${ARGS[*]}" <<'EOF'
import glob
import json
import os
import platform
import statistics
import sys

import torch

from selfnas.atomic import write_json

out, result, dataset, gpus, steps, args = sys.argv[1:7]
ranks = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(out, "_rank*.json")))]
run = json.load(open(os.path.join(out, "run", "result.json")))
history = run["history"]
record = {
    "benchmark": "oneshot_gpu",
    "script": "benchmarks/oneshot_gpu.sh",
    "launch": f"torchrun --standalone --nproc_per_node={gpus} (one rank: selfnas {args})",
    "dataset": dataset,
    "cifar10_found": dataset == "cifar10",
    "gpus": int(gpus),
    "steps_requested": int(steps),
    "per_epoch": [
        {
            k: row.get(k)
            for k in ("epoch", "phase", "seconds", "weight_step_seconds", "loss", "fixed_cells")
        }
        for row in history
    ],
    "median_weight_step_s": statistics.median(r["weight_step_seconds"] for r in history),
    "search_seconds": run["seconds"],
    "peak_allocated_mb": max(r["peak_allocated_mb"] for r in ranks),
    "peak_reserved_mb": max(r["peak_reserved_mb"] for r in ranks),
    "ranks": ranks,
    "machine": {
        "nvidia_smi_L": os.environ["GPU_LIST"].splitlines(),
        "nvidia_smi": os.environ["NVIDIA_SMI"],
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "python": platform.python_version(),
        "host": platform.node(),
        "cpus": os.cpu_count(),
    },
}
write_json(result, record)
print(json.dumps({k: record[k] for k in ("dataset", "gpus", "median_weight_step_s",
                                         "search_seconds", "peak_allocated_mb")}, indent=2))
EOF
echo "oneshot_gpu.sh: wrote $RESULT" >&2
