"""`selfnas demo`: from `pip install` to a meaningful result in minutes, no data to fetch.

Pretrains arch2vec on the NAS-Bench-Graph space (its tables ship with the
`nas-bench-graph` package), then runs random search, regularised evolution, arch2vec-BO
and GATES-EA on NAS-Bench-Graph Cora (10 seeds x 100 queries), prints the comparison,
and writes the regret plot and a 2-D map of the embeddings. `--benchmark nb201 --table F`
runs the same on a NAS-Bench-201 table the user has.

The budget is five minutes on a 2-core laptop, so the demo trims what costs time and
says so: fewer pretraining epochs than `selfnas pretrain`'s default, BO asks 10 archs per
round with a 50-epoch DNGO, and the map is a PCA (`selfnas plot embeddings` draws UMAP).
"""

from __future__ import annotations

import argparse
import time
from importlib import util
from pathlib import Path
from typing import Any

from selfnas.cli.output import print_table
from selfnas.errors import InvalidOption

STRATEGIES: dict[str, dict[str, Any]] = {
    "random": {},
    "re": {},
    "bo": {"batch": 10, "epochs": 50},
    "gates-ea": {},
}
LABELS = {"random": "random search", "re": "regularised evolution", "bo": "arch2vec-BO",
          "gates-ea": "GATES-EA"}


def register(subparsers: argparse._SubParsersAction) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="pretrain arch2vec, compare four searches, plot (about 5 minutes, no data needed)",
        description="Pretrain arch2vec on the benchmark's space, run random search, "
        "regularised evolution, arch2vec-BO and GATES-EA over --seeds seeds of --budget "
        "queries, print the comparison and write regret.png and embeddings.png to --out.",
    )
    demo.add_argument("--benchmark", default="nbgraph", choices=("nbgraph", "nb201"),
                      help="nbgraph (ships with pip) or nb201 (needs --table)")
    demo.add_argument("--table", action="append", default=[], metavar="FILE",
                      help="NB201 table (CSV/Parquet with an `arch` column)")
    demo.add_argument("--dataset", default=None, help="nbgraph dataset (default cora)")
    demo.add_argument("--metric", default=None,
                      help="search metric (default: validation accuracy where there is one)")
    demo.add_argument("--test-metric", default=None, help="reported metric (default: test)")
    demo.add_argument("--seeds", type=int, default=10)
    demo.add_argument("--budget", type=int, default=100, help="queries per seed")
    demo.add_argument("--epochs", type=int, default=3, help="arch2vec pretraining epochs")
    demo.add_argument("--workers", type=int, default=None, help="processes (default: cores)")
    demo.add_argument("--out", type=Path, default=Path("selfnas-demo"),
                      help="output directory (default ./selfnas-demo; reruns resume)")
    demo.add_argument("--seed", type=int, default=0, help="pretraining seed")
    demo.set_defaults(handler=run_demo)


def _problem(args: argparse.Namespace):
    from selfnas.search.problem import ProblemSpec

    if args.benchmark == "nbgraph":
        if args.table:
            raise InvalidOption("--table is for --benchmark nb201")
        return ProblemSpec(
            benchmark="nbgraph", dataset=args.dataset or "cora",
            metric=args.metric or "val_accuracy", test_metric=args.test_metric or "test_accuracy",
        )
    if not args.table:
        raise InvalidOption("--benchmark nb201 needs --table FILE (e.g. nb201_200ep_cifar10.csv)")
    return ProblemSpec(
        benchmark="nb201",
        benchmark_options={"tables": [str(Path(t).expanduser().resolve()) for t in args.table]},
        metric=args.metric, test_metric=args.test_metric,
    )


def available(name: str) -> bool:
    """Whether strategy `name`'s module is part of this build."""
    from selfnas.search.base import STRATEGIES as REGISTRY

    return name in REGISTRY and util.find_spec(REGISTRY[name][0]) is not None


def plot_map(problem: Any, embedding: Path, target: Path, title: str) -> Path:
    """PCA of every arch's embedding, coloured by the reported metric."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from sklearn.decomposition import PCA

    from selfnas.atomic import atomic_path
    from selfnas.search.embeddings import embeddings_for

    matrix = embeddings_for(problem, embedding).matrix
    values = problem.test_values
    xy = PCA(n_components=2, random_state=0).fit_transform(matrix)
    order = np.argsort(values) if values is not None else slice(None)
    fig, ax = plt.subplots(figsize=(6, 5), dpi=120)
    points = ax.scatter(xy[order, 0], xy[order, 1], c=None if values is None else values[order],
                        s=2, cmap="viridis", linewidths=0)
    if values is not None:
        fig.colorbar(points, ax=ax, label=problem.test_metric)
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return target


def run_demo(args: argparse.Namespace) -> int:
    from selfnas.reproduce.common import compare, embed, pretrain
    from selfnas.search.problem import build_problem
    from selfnas.search.summary import markdown_table

    if args.seeds < 1 or args.budget < 1 or args.epochs < 1:
        raise InvalidOption("--seeds, --budget and --epochs must be >= 1")
    began = time.perf_counter()
    spec = _problem(args)
    problem = build_problem(spec)  # fails here, before any training, on a bad table
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    space = problem.space.name
    print(f"[1/3] pretraining arch2vec on the {space} space ({args.epochs} epochs)", flush=True)
    pre = pretrain("arch2vec", space, out / "pretrain", epochs=args.epochs, seed=args.seed,
                   validity_samples=500)
    emb = embed(pre, out / "embeddings.npz", seed=args.seed)
    print(f"      reconstruction accuracy {pre.final.get('reconstruction_accuracy', 0):.3f}, "
          f"{time.perf_counter() - began:.0f} s", flush=True)
    strategies = {k: v for k, v in STRATEGIES.items() if available(k)}
    missing = [LABELS[k] for k in STRATEGIES if k not in strategies]
    if missing:
        print(f"      (not in this build, skipped: {', '.join(missing)})")
    spec = type(spec)(**{**spec.to_dict(), "embedding": str(emb.resolve())})
    problem = build_problem(spec)
    title = f"{spec.benchmark} {problem.dataset or ''}: {problem.metric} -> {problem.test_metric}"
    print(f"[2/3] searching: {', '.join(LABELS[k] for k in strategies)}; "
          f"{args.seeds} seeds x {args.budget} queries", flush=True)
    _, summary, regret_png = compare(spec, strategies, args.seeds, args.budget, out / "search",
                                     args.workers, title=title)
    print("[3/3] plotting the embedding map", flush=True)
    map_png = plot_map(problem, emb, out / "embeddings.png",
                       f"arch2vec embeddings of {space} (PCA), colour: {problem.test_metric}")
    from selfnas.atomic import write_text

    write_text(out / "comparison.md", markdown_table(summary, regret_at=min(50, args.budget)))
    rows = []
    for name, s in summary.items():
        rows.append([
            LABELS.get(name, name), s["seeds"],
            f"{s['mean_test']:.2f} ± {s['std_test']:.2f}",
            f"{s['mean_test_regret']:.2f} ± {s['std_test_regret']:.2f}",
            f"{s['mean_rank']:.0f}",
            f"{100 * s['found_optimum_fraction']:.0f} %",
        ])
    print_table(
        f"{title}: best arch after {args.budget} queries (mean ± std over {args.seeds} seeds)",
        ["strategy", "seeds", "test acc. (%)", "test regret (%)", "rank", "found optimum"],
        rows,
    )
    print(f"regret plot:   {regret_png}")
    print(f"embedding map: {map_png}")
    print(f"table:         {out / 'comparison.md'}")
    print(f"done in {time.perf_counter() - began:.0f} s")
    return 0
