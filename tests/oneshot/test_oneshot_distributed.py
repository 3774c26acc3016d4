"""Data-parallel search (gloo, 2 CPU processes) equals one process on the combined batch."""

from __future__ import annotations

import os
import socket

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from selfnas.oneshot.augment import Normalize
from selfnas.oneshot.config import SearchConfig
from selfnas.oneshot.data import ImageData
from selfnas.oneshot.distributed import DistContext, current
from selfnas.oneshot.objectives import SimCLRObjective, SupervisedObjective
from selfnas.oneshot.search import SearchState, Stepper


def _data() -> ImageData:
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.integers(0, 256, size=(8, 1, 12, 12), dtype=np.uint8))
    y = torch.from_numpy(rng.integers(0, 10, size=8))
    return ImageData("random", x, y, x, y, 10)


def _step(objective_name: str, ctx: DistContext) -> dict[str, torch.Tensor]:
    """One weight step then one arch step on the global batch (this rank's shard of it)."""
    torch.set_num_threads(1)
    data = _data()
    config = SearchConfig.from_fields(
        cells=3,
        channels=4,
        epochs=4,
        batch_size=8,
        objective=objective_name,
        projection_dim=8,
        device="cpu",
        sync_bn=ctx.enabled,
        channels_last=False,
    )
    state = SearchState(config, data, torch.device("cpu"), ctx)
    normalize = Normalize((0.5,), (0.25,))
    objective: nn.Module = (
        SimCLRObjective(nn.Identity(), normalize, 0.5)
        if objective_name == "simclr"
        else SupervisedObjective(None, normalize)
    )
    stepper = Stepper(state, objective, config, ctx)
    idx = ctx.shard(torch.arange(8))
    generator = torch.Generator().manual_seed(5)
    stepper.weight_step(data.train_x[idx], data.train_y[idx], generator, skip_dropout=0.2)
    stepper.arch_step(data.train_x[idx], data.train_y[idx], generator)
    return {k: v.detach().clone() for k, v in state.model.state_dict().items()}


def _worker(rank: int, world: int, port: int, objective: str, queue) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        result = _step(objective, current())
        if rank == 0:
            queue.put({k: v.numpy() for k, v in result.items()})
    except Exception as exc:  # report instead of leaving the parent waiting
        queue.put(f"rank {rank}: {type(exc).__name__}: {exc}")
        raise
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
@pytest.mark.parametrize("objective", ["simclr", "supervised"])
def test_two_gloo_processes_match_one_process_on_the_combined_batch(objective):
    single = _step(objective, DistContext())
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    port = _free_port()
    procs = [ctx.Process(target=_worker, args=(r, 2, port, objective, queue)) for r in range(2)]
    for proc in procs:
        proc.start()
    parallel = queue.get(timeout=240)
    assert not isinstance(parallel, str), parallel
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    assert set(parallel) == set(single)
    changed = 0
    for key, value in single.items():
        if value.dtype.is_floating_point:
            assert np.allclose(parallel[key], value.numpy(), atol=1e-4), key
            changed += int(key.startswith("alphas."))
    assert changed == 3  # every cell's alpha was in the comparison
