"""`selfnas pretrain`, `selfnas embed`, `selfnas plot embeddings|locality`.

Argument parsing over `selfnas.pipeline.pretrain` / `embed`; the run directory they write
and read is `selfnas.runs.PretrainRun`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from selfnas.cli.output import add_json_flag, emit_json, print_table
from selfnas.errors import DataNotFound, InvalidOption

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
    from selfnas.encoders import ENCODERS
    from selfnas.pretrain.registry import OBJECTIVE_REGISTRY
    from selfnas.spaces import SPACES

    p = subparsers.add_parser(
        "pretrain",
        help="self-supervised pretraining of architecture embeddings",
        description="Train an objective on every arch of a space (a sample for DARTS); "
        "DIR gets the checkpoint (each epoch), config and metrics; rerun to resume.",
    )
    p.add_argument(
        "objective", metavar="OBJECTIVE", help=f"one of {OBJECTIVE_REGISTRY.help_text()}"
    )
    p.add_argument("--space", required=True, help=SPACES.choices())
    p.add_argument("--loss", default=None, help="metric loss (margin, angular, ..., none)")
    p.add_argument("--encoder", default=None, help=ENCODERS.choices())
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
    from selfnas.pipeline import pretrain
    from selfnas.pretrain.metrics import summarise
    from selfnas.runtime import configure_threads

    if args.json:
        progress.set_enabled(False)
    configure_threads(args.threads)
    options = {k: getattr(args, k) for k in _OPTION_KEYS if getattr(args, k, None) is not None}
    for switch in ("edge_bias", "op_bias", "vertex_ids"):
        if switch in options:
            options[switch] = options[switch] == "on"
    run = pretrain(
        args.objective,
        args.space,
        args.out,
        epochs=args.epochs,
        seed=args.seed,
        options=options,
        samples=args.samples,
        subset=args.subset,
        validity_samples=args.validity_samples,
        eval_every=args.eval_every,
        locality_steps=args.locality_steps,
        device=args.device,
        log=None if args.json else (lambda line: print(line, flush=True)),
    )
    summary = summarise(run.final)
    if args.json:
        emit_json(summary)
    else:
        rows = [(k, f"{v:.4f}" if isinstance(v, float) else v) for k, v in summary.items()]
        print_table(f"{args.objective} on {run.space.name}", ["metric", "value"], rows)
    return 0


# --- embed -------------------------------------------------------------------------
def _embed(args: argparse.Namespace) -> int:
    from selfnas.pipeline import embed
    from selfnas.runs import PretrainRun
    from selfnas.runtime import configure_threads

    configure_threads(args.threads)
    run = PretrainRun.open(args.run_dir)
    embed(run, args.out, args.device)
    with np.load(args.out, allow_pickle=False) as npz:
        count, dim = npz["embeddings"].shape
    info = {"file": str(args.out), "space": run.space.name, "count": count, "dim": dim}
    if args.json:
        emit_json(info)
    else:
        print(f"wrote {count} embeddings of dimension {dim} to {args.out}")
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
        from selfnas.benchmarks import get_benchmark
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

    from selfnas.runs import PretrainRun

    l2, edit = PretrainRun(args.run_dir).locality()
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
