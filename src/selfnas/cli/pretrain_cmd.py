"""`selfnas pretrain`, `selfnas embed`, `selfnas plot embeddings|locality`.

A pretraining run directory holds `config.json`, `checkpoint.pt`, `metrics.json` and, where
the space has edits, `locality.npz`; `embed` and `plot locality` read it back.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from selfnas.cli.output import add_json_flag, emit_json, print_table
from selfnas.errors import DataCorrupt, DataNotFound, InvalidOption

_KNOWN = ("arch2vec", "vgae", "gae", "locality", "nao")
_OPTION_KEYS = (
    "encoder",
    "loss",
    "batch_size",
    "lr",
    "kl_weight",
    "dropout",
    "latent",
    "edge_bias",
    "op_bias",
    "vertex_ids",
)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "pretrain",
        help="self-supervised pretraining of architecture embeddings",
        description="Train an objective on every arch of a space (a sample for DARTS); "
        "DIR gets the checkpoint (each epoch), config and metrics; rerun to resume.",
    )
    p.add_argument("objective", metavar="OBJECTIVE", help=f"one of {', '.join(_KNOWN)}")
    p.add_argument("--space", required=True, help="nb101, nb201, darts, nbgraph")
    p.add_argument("--loss", default=None, help="metric loss (margin, angular, ..., none)")
    p.add_argument("--encoder", default=None, help="gin, gcn, gcn-global, mlp, gates, seq")
    p.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="default: 8 NB101, 20 NB201 and DARTS (arch2vec on its GIN without --loss), "
        "10 otherwise; "
        "nao and locality: at least 4,000 iterations",
    )
    p.add_argument("--out", required=True, type=Path, help="run directory")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=None, help="default: 32")
    p.add_argument("--lr", type=float, default=None, help="default: 1e-3")
    p.add_argument("--kl-weight", type=float, default=None, help="VGAE KL weight per node")
    p.add_argument("--latent", type=int, default=None, help="VGAE latent size (default 16)")
    p.add_argument(
        "--edge-bias",
        choices=("on", "off"),
        default=None,
        help="VGAE: learned per-vertex-pair edge offset (default on; off = published decoder)",
    )
    p.add_argument(
        "--op-bias",
        choices=("on", "off"),
        default=None,
        help="VGAE: learned per-vertex op offset (default on; off = published decoder)",
    )
    p.add_argument(
        "--vertex-ids",
        choices=("on", "off"),
        default=None,
        help="GIN: one-hot vertex position beside each op (default off = published encoder)",
    )
    p.add_argument(
        "--samples", type=int, default=100_000, help="archs drawn from spaces too big to enumerate"
    )
    p.add_argument("--subset", type=int, default=None, help="train on this many archs only")
    p.add_argument("--validity-samples", type=int, default=10_000)
    p.add_argument(
        "--eval-every",
        type=int,
        default=None,
        help="epochs between metric checks (default: about 10 checks per run, and the last epoch)",
    )
    p.add_argument("--locality-steps", type=int, default=1000, help="random-walk length; 0: skip")
    p.add_argument("--device", default="cpu", help="cpu, cuda, auto")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default 1)")
    add_json_flag(p)
    p.set_defaults(handler=_pretrain)

    e = subparsers.add_parser("embed", help="embed every arch of the space with a pretrained run")
    e.add_argument("run_dir", type=Path, metavar="DIR")
    e.add_argument("--out", required=True, type=Path, help="output .npz (embeddings, hashes)")
    e.add_argument("--device", default="cpu")
    e.add_argument("--threads", type=int, default=None)
    add_json_flag(e)
    e.set_defaults(handler=_embed)

    plot = subparsers.add_parser("plot", help="figures of pretrained embeddings")
    kinds = plot.add_subparsers(dest="plot_kind", metavar="KIND")
    pe = kinds.add_parser("embeddings", help="2-D UMAP of an embedding file")
    pe.add_argument("file", type=Path, metavar="FILE")
    pe.add_argument("--benchmark", default=None, help="colour by this benchmark's metric")
    pe.add_argument("--max-points", type=int, default=20_000, help="subsample for UMAP")
    pe.add_argument("--seed", type=int, default=0)
    pe.add_argument("--out", required=True, type=Path)
    pe.set_defaults(handler=_plot_embeddings)
    pl = kinds.add_parser("locality", help="L2 distance against edit distance of a run")
    pl.add_argument("run_dir", type=Path, metavar="DIR")
    pl.add_argument("--out", required=True, type=Path)
    pl.set_defaults(handler=_plot_locality)
    plot.set_defaults(handler=lambda args: _usage(plot))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


# --- pretrain ----------------------------------------------------------------------
def _pretrain(args: argparse.Namespace) -> int:
    from selfnas import progress
    from selfnas.pretrain.registry import default_epochs, get_objective, resolve_options
    from selfnas.pretrain.trainer import HOLDOUT, space_data, split_indices
    from selfnas.runtime import configure_threads, seed_everything, select_device
    from selfnas.spaces import get_space

    if args.json:
        progress.set_enabled(False)
    configure_threads(args.threads)
    device = select_device(args.device)
    space = get_space(args.space)
    for flag, value in (("--epochs", args.epochs), ("--eval-every", args.eval_every)):
        if value is not None and value < 1:
            raise InvalidOption(f"{flag} must be >= 1, got {value}")
    options = {k: getattr(args, k) for k in _OPTION_KEYS if getattr(args, k, None) is not None}
    for switch in ("edge_bias", "op_bias", "vertex_ids"):
        if switch in options:
            options[switch] = options[switch] == "on"
    # the space's defaults are written into the config, so a run states what it trained
    options = resolve_options(args.objective, space.name, options)
    config = {
        "objective": args.objective,
        "space": space.name,
        "options": options,
        "samples": args.samples if space.size is None or space.size > 10**7 else None,
        "subset": args.subset,
        "validity_samples": args.validity_samples,
        "eval_every": args.eval_every,
    }
    seed_everything(args.seed)
    objective = get_objective(args.objective, space, **options)
    data = space_data(space, config["samples"], args.seed, args.subset)
    epochs = args.epochs
    if epochs is None:
        num_train = len(split_indices(len(data), HOLDOUT, args.seed)[0])
        epochs = default_epochs(objective, space.name, num_train)
    eval_every = args.eval_every if args.eval_every is not None else max(1, epochs // 10)
    from selfnas.pretrain.metrics import pretraining_protocol
    from selfnas.pretrain.trainer import Trainer

    log = None if args.json else (lambda line: print(line, flush=True))
    trainer = Trainer(
        objective,
        data,
        args.out,
        config,
        epochs=epochs,
        seed=args.seed,
        device=device,
        evaluate=pretraining_protocol(args.validity_samples),
        eval_every=eval_every,
        log=log,
    )
    result = trainer.run()
    final = dict(result.final)
    if args.locality_steps > 0 and "locality_spearman" not in final:
        final |= _locality(objective, space, args, device)
        _update_final(args.out, final)
    from selfnas.pretrain.metrics import summarise

    summary = summarise(final)
    if args.json:
        emit_json(summary)
    else:
        rows = [(k, f"{v:.4f}" if isinstance(v, float) else v) for k, v in summary.items()]
        print_table(f"{args.objective} on {space.name}", ["metric", "value"], rows)
    return 0


def _locality(objective: Any, space: Any, args: argparse.Namespace, device: Any) -> dict[str, Any]:
    from selfnas.atomic import save_npz
    from selfnas.pretrain.metrics import locality

    began = time.perf_counter()
    try:
        res = locality(
            objective,
            space,
            np.random.default_rng([args.seed, 3]),
            args.locality_steps,
            device=device,
        )
    except NotImplementedError:
        return {}
    save_npz(args.out / "locality.npz", l2=res.l2, edit=res.edit)
    return res.summary() | {"locality_seconds": time.perf_counter() - began}


def _update_final(out: Path, final: dict[str, Any]) -> None:
    from selfnas.atomic import write_json

    path = out / "metrics.json"
    metrics = json.loads(path.read_text())
    metrics["final"] = final
    write_json(path, metrics)


# --- embed -------------------------------------------------------------------------
def load_run(run_dir: Path, device: Any = "cpu") -> tuple[Any, Any, dict[str, Any]]:
    """(objective with trained weights, space, config) of a run directory."""
    import torch

    from selfnas.pretrain.registry import get_objective
    from selfnas.spaces import get_space

    config_path, ckpt_path = run_dir / "config.json", run_dir / "checkpoint.pt"
    for path in (config_path, ckpt_path):
        if not path.exists():
            raise DataNotFound(f"{path} is absent: is {run_dir} a `selfnas pretrain` directory?")
    try:
        config = json.loads(config_path.read_text())
        state = torch.load(ckpt_path, map_location=device, weights_only=False)
    except (ValueError, RuntimeError, EOFError) as exc:
        raise DataCorrupt(f"cannot read run {run_dir}: {exc}") from None
    space = get_space(config["space"])
    options = dict(config.get("options", {}))
    if config["objective"] == "arch2vec":
        # runs made before `vertex_ids` was recorded trained without vertex positions
        options.setdefault("vertex_ids", False)
    objective = get_objective(config["objective"], space, **options)
    objective.load_state_dict(state["model"])
    objective.to(device).eval()
    return objective, space, config


def _embed(args: argparse.Namespace) -> int:
    import torch

    from selfnas.atomic import save_npz
    from selfnas.pretrain.trainer import space_data, space_hashes
    from selfnas.progress import track
    from selfnas.runtime import configure_threads, select_device

    configure_threads(args.threads)
    device = select_device(args.device)
    objective, space, config = load_run(args.run_dir, device)
    data = space_data(space, config.get("samples"), int(config.get("seed", 0)))
    # embeddings cover the whole space (or its sample), not just a --subset
    chunk = 8192
    parts = []
    for start in track(range(0, len(data), chunk), "embedding"):
        parts.append(objective.embed(data[start : start + chunk].to(device)).cpu())
    emb = torch.cat(parts).numpy().astype(np.float32)
    hashes = space_hashes(space, data)
    save_npz(args.out, embeddings=emb, hashes=np.asarray(hashes), space=np.asarray(space.name))
    info = {"file": str(args.out), "space": space.name, "count": len(emb), "dim": emb.shape[1]}
    if args.json:
        emit_json(info)
    else:
        print(f"wrote {len(emb)} embeddings of dimension {emb.shape[1]} to {args.out}")
    return 0


# --- plots -------------------------------------------------------------------------
def _plot_embeddings(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not args.file.exists():
        raise DataNotFound(f"{args.file} is absent (make it with `selfnas embed`)")
    with np.load(args.file, allow_pickle=False) as npz:
        emb, hashes = npz["embeddings"], npz["hashes"]
        space_name = str(npz["space"]) if "space" in npz else None
    rng = np.random.default_rng(args.seed)
    pick = np.sort(rng.choice(len(emb), min(len(emb), args.max_points), replace=False))
    emb, hashes = emb[pick], hashes[pick]
    colour, label = None, None
    if args.benchmark:
        colour, label = _benchmark_values(args.benchmark, space_name, hashes)
    import umap

    xy = umap.UMAP(n_components=2, random_state=args.seed, n_jobs=1).fit_transform(emb)
    fig, ax = plt.subplots(figsize=(6, 5))
    points = ax.scatter(xy[:, 0], xy[:, 1], c=colour, s=2, cmap="viridis", linewidths=0)
    if colour is not None:
        fig.colorbar(points, ax=ax, label=label)
    ax.set_title(f"UMAP of {len(emb)} embeddings" + (f" ({space_name})" if space_name else ""))
    ax.set_xticks([])
    ax.set_yticks([])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=150, bbox_inches="tight")
    plt.close(fig)
    print(f"wrote {args.out}")
    return 0


def _benchmark_values(name: str, space_name: str | None, hashes: np.ndarray):
    """The benchmark's default metric for each hash (NaN where absent)."""
    try:
        from selfnas.benchmarks import get_benchmark  # type: ignore[attr-defined]
    except ImportError:
        raise InvalidOption("benchmarks are not available in this build") from None
    bench = get_benchmark(name)
    if space_name and bench.space.name != space_name:
        raise InvalidOption(f"{name} scores {bench.space.name}, the embeddings are {space_name}")
    by_hash = {bench.space.hash(a): a for a in bench.space.enumerate()}
    values = np.full(len(hashes), np.nan)
    known = [i for i, h in enumerate(hashes) if str(h) in by_hash]
    values[known] = bench.query_many([by_hash[str(hashes[i])] for i in known])
    return values, bench.default_metric(None)


def _plot_locality(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = args.run_dir / "locality.npz"
    if not path.exists():
        raise DataNotFound(f"{path} is absent (run `selfnas pretrain` with --locality-steps > 0)")
    with np.load(path) as npz:
        l2, edit = npz["l2"], npz["edit"]
    levels = np.unique(edit)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.boxplot([l2[edit == d] for d in levels], positions=levels, showfliers=False)
    ax.set_xlabel("edit distance")
    ax.set_ylabel("L2 distance of embeddings")
    ax.set_title(f"locality of {args.run_dir.name}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=150, bbox_inches="tight")
    plt.close(fig)
    print(f"wrote {args.out}")
    return 0
