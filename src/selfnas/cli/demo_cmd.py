"""`selfnas demo`: from `pip install` to a meaningful result in minutes, no data to fetch.

Pretrains arch2vec on the NAS-Bench-Graph space (its tables ship with the
`nas-bench-graph` package), then runs random search, regularised evolution, arch2vec-BO
and GATES-EA on NAS-Bench-Graph Cora (10 seeds x 100 queries), prints the comparison,
and writes the regret plot and a 2-D map of the embeddings. `--benchmark nb201 --table F`
runs the same on a NAS-Bench-201 table the user has.

The budget is five minutes on a 2-core laptop, so the demo trims what costs time and
says so: arch2vec trains 3 epochs (`selfnas pretrain` trains 10) and embeds every arch;
BO asks 10 archs per round with a 50-epoch DNGO; GATES-EA retrains a 30-epoch predictor
every 10 queries and ranks 128 one-edit mutants (its defaults rank 512 mutants of up to
two edits); the map is a PCA (`selfnas plot embeddings` draws UMAP). Everything lands in
`--out` and a rerun resumes.

Last, a real search: GATES-EA against random search on NAS-Bench-201 cells where every
query trains the cell's network (`--benchmark train`) on scikit-learn's 8x8 digits for
`--train-epochs` epochs, so a newcomer sees networks built, trained and chosen. The
networks are the benchmark's (16 channels, 5 cells per stage); the recipe is NB201's
with batch 32 (a 650-image training split needs more than three steps an epoch).
"""

from __future__ import annotations

import argparse
import os
import time
from importlib import util
from pathlib import Path
from typing import Any

from selfnas.cli.output import add_json_flag, emit_json, print_table
from selfnas.errors import InvalidOption

STRATEGIES: dict[str, dict[str, Any]] = {
    "random": {},
    "re": {},
    "bo": {"batch": 10, "epochs": 50},
    "gates-ea": {"k": 10, "epochs": 30, "candidates": 128, "max_edits": 1},
}
#: the real search: GATES-EA sized for a dozen queries, against random search
REAL_STRATEGIES: dict[str, dict[str, Any]] = {
    "random": {},
    "gates-ea": {"init": 4, "k": 2, "epochs": 30, "candidates": 64, "max_edits": 1},
}
REAL_TRAINING = {"space": "nb201", "dataset": "digits", "recipe": {"batch_size": 32}}
LABELS = {
    "random": "random search",
    "re": "regularised evolution",
    "bo": "arch2vec-BO",
    "gates-ea": "GATES-EA",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="pretrain arch2vec, compare four searches, one real search (about 4 minutes, no data)",
        description="Pretrain arch2vec on the benchmark's space, run random search, "
        "regularised evolution, arch2vec-BO and GATES-EA over --seeds seeds of --budget "
        "queries, print the comparison and write regret.png and embeddings.png to --out; "
        "then a real search (GATES-EA vs random, each query trains an NB201 network on "
        "digits). "
        "A rerun with the same --out resumes (finished parts are not redone).",
    )
    demo.add_argument(
        "--benchmark",
        default="nbgraph",
        choices=("nbgraph", "nb201"),
        help="nbgraph (ships with pip) or nb201 (needs --table)",
    )
    demo.add_argument(
        "--table",
        action="append",
        default=[],
        metavar="FILE",
        help="NB201 table (CSV/Parquet with an `arch` column; repeatable)",
    )
    demo.add_argument("--dataset", default=None, help="nbgraph dataset (default cora)")
    demo.add_argument(
        "--metric",
        default=None,
        help="search metric (default: validation accuracy where there is one)",
    )
    demo.add_argument("--test-metric", default=None, help="reported metric (default: test)")
    demo.add_argument("--seeds", type=int, default=10, help="search seeds per strategy")
    demo.add_argument("--budget", type=int, default=100, help="queries per seed")
    demo.add_argument("--epochs", type=int, default=3, help="arch2vec pretraining epochs")
    demo.add_argument(
        "--pretrain-archs",
        type=int,
        default=0,
        metavar="N",
        help="train arch2vec on N archs of the space (default 0: all); every arch is embedded",
    )
    demo.add_argument(
        "--strategies",
        default=",".join(STRATEGIES),
        help="comma-separated subset of " + ", ".join(STRATEGIES),
    )
    demo.add_argument("--workers", type=int, default=None, help="processes (default: cores)")
    demo.add_argument(
        "--out",
        type=Path,
        default=Path("selfnas-demo"),
        help="output directory (default ./selfnas-demo; reruns resume)",
    )
    demo.add_argument("--seed", type=int, default=0, help="pretraining seed")
    demo.add_argument(
        "--train-budget",
        type=int,
        default=12,
        help="queries of the real search, each training a network (default 12; 0 skips it)",
    )
    demo.add_argument(
        "--train-epochs", type=int, default=2, help="epochs each trial trains (default 2)"
    )
    demo.add_argument(
        "--tensorboard",
        default=None,
        metavar="DIR",
        help="also write the pretraining curve and every search run as TensorBoard events",
    )
    add_json_flag(demo)
    demo.set_defaults(handler=run_demo)


def _problem(args: argparse.Namespace):
    from selfnas.search.problem import ProblemSpec

    if args.benchmark == "nbgraph":
        if args.table:
            raise InvalidOption("--table is for --benchmark nb201")
        return ProblemSpec(
            benchmark="nbgraph",
            dataset=args.dataset or "cora",
            metric=args.metric or "val_accuracy",
            test_metric=args.test_metric or "test_accuracy",
        )
    if not args.table:
        raise InvalidOption("--benchmark nb201 needs --table FILE (e.g. nb201_200ep_cifar10.csv)")
    return ProblemSpec(
        benchmark="nb201",
        benchmark_options={"tables": [str(Path(t).expanduser().resolve()) for t in args.table]},
        metric=args.metric,
        test_metric=args.test_metric,
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
    points = ax.scatter(
        xy[order, 0],
        xy[order, 1],
        c=None if values is None else values[order],
        s=2,
        cmap="viridis",
        linewidths=0,
        # a few broken archs (near-zero accuracy) would squash every other colour together
        vmin=None if values is None else float(np.percentile(values, 5)),
    )
    if values is not None:
        fig.colorbar(points, ax=ax, label=f"{problem.test_metric} (lowest 5 % clipped)")
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return target


def _strategies(text: str) -> dict[str, dict[str, Any]]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in STRATEGIES]
    if unknown or not names:
        raise InvalidOption(
            f"--strategies: unknown {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(STRATEGIES)}"
        )
    chosen = {n: STRATEGIES[n] for n in dict.fromkeys(names)}
    missing = [n for n in chosen if not available(n)]
    if missing:
        raise InvalidOption(f"strategies not in this build: {', '.join(missing)}")
    return chosen


def _embed_once(pre: Any, target: Path) -> Path:
    """Embed every arch, unless a rerun finds the embeddings of this very checkpoint."""
    from selfnas.pipeline import embed

    checkpoint = pre.checkpoint_path
    if (
        target.is_file()
        and checkpoint.is_file()
        and target.stat().st_mtime >= checkpoint.stat().st_mtime
    ):
        return target
    return embed(pre, target)


def _load_average() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:  # pragma: no cover - not on this platform
        return None


def run_demo(args: argparse.Namespace) -> int:
    from selfnas import progress
    from selfnas.atomic import write_json, write_text
    from selfnas.pipeline import compare, pretrain
    from selfnas.runs import PretrainRun
    from selfnas.runtime import configure_threads
    from selfnas.search.problem import build_problem
    from selfnas.search.summary import markdown_table

    if (
        min(args.seeds, args.budget, args.epochs, args.train_epochs) < 1
        or min(args.pretrain_archs, args.train_budget) < 0
    ):
        raise InvalidOption(
            "--seeds, --budget, --epochs and --train-epochs must be >= 1, "
            "--pretrain-archs and --train-budget >= 0"
        )
    steps = 4 if args.train_budget else 3
    strategies = _strategies(args.strategies)
    if args.json:
        progress.set_enabled(False)
    say = (lambda *a, **k: None) if args.json else print
    configure_threads(None)
    if args.tensorboard:  # loops that log live (selfnas.tracking.log) write here too
        from selfnas.tracking import configure

        configure(args.tensorboard)
    began = time.perf_counter()
    load_before = _load_average()
    spec = _problem(args)
    problem = build_problem(spec)  # fails here, before any training, on a bad table
    out: Path = args.out
    resuming = PretrainRun(out / "pretrain").checkpoint_path.is_file()
    out.mkdir(parents=True, exist_ok=True)
    space = problem.space.name
    subset = args.pretrain_archs or None
    timings: dict[str, float] = {}
    say(
        f"[1/{steps}] pretraining arch2vec on the {space} space: {args.epochs} epoch(s) on "
        + (f"{subset} archs" if subset else "every arch")
        + (f" (resuming in {out})" if resuming else ""),
        flush=True,
    )
    t = time.perf_counter()
    pre = pretrain(
        "arch2vec",
        space,
        out / "pretrain",
        epochs=args.epochs,
        seed=args.seed,
        subset=subset,
        validity_samples=200,
        eval_every=args.epochs,
    )
    emb = _embed_once(pre, out / "embeddings.npz")
    timings["pretrain_and_embed"] = time.perf_counter() - t
    say(
        f"      reconstruction accuracy {pre.final.get('reconstruction_accuracy', 0):.3f} "
        f"(held-out), {timings['pretrain_and_embed']:.0f} s",
        flush=True,
    )
    spec = type(spec)(**{**spec.to_dict(), "embedding": str(emb.resolve())})
    problem = build_problem(spec)
    title = f"{spec.benchmark} {problem.dataset or ''}: {problem.metric} -> {problem.test_metric}"
    say(
        f"[2/{steps}] searching: {', '.join(LABELS[k] for k in strategies)}; "
        f"{args.seeds} seeds x {args.budget} queries",
        flush=True,
    )
    t = time.perf_counter()
    searched = compare(
        spec,
        strategies,
        args.budget,
        out / "search",
        seeds=args.seeds,
        workers=args.workers,
        title=title,
    )
    summary, regret_png = searched.summary, searched.plot
    timings["search"] = time.perf_counter() - t
    say(f"      {timings['search']:.0f} s", flush=True)
    say(f"[3/{steps}] plotting the embedding map", flush=True)
    t = time.perf_counter()
    map_png = plot_map(
        problem,
        emb,
        out / "embeddings.png",
        f"arch2vec embeddings of {space} (PCA), colour: {problem.test_metric}",
    )
    timings["plot"] = time.perf_counter() - t
    table_md = write_text(
        out / "comparison.md", markdown_table(summary, regret_at=min(50, args.budget))
    )
    real = None
    if args.train_budget:
        say(
            f"[4/4] a real search: GATES-EA vs random on NB201 cells, each query trains the "
            f"cell's network on digits for {args.train_epochs} epoch(s); "
            f"{args.train_budget} queries each",
            flush=True,
        )
        t = time.perf_counter()
        real = real_search(out / "real", args.train_budget, args.train_epochs, args.workers)
        timings["real_search"] = time.perf_counter() - t
        say(f"      {timings['real_search']:.0f} s", flush=True)
    tb_runs: list[str] = []
    if args.tensorboard:
        from selfnas.tracking import export_tree

        tb_runs = export_tree(out, Path(args.tensorboard))
    timings["total"] = time.perf_counter() - began
    record = {
        "benchmark": spec.benchmark,
        "dataset": problem.dataset,
        "metric": problem.metric,
        "test_metric": problem.test_metric,
        "seeds": args.seeds,
        "budget": args.budget,
        "pretrain": {
            "epochs": args.epochs,
            "archs": subset,
            "reconstruction_accuracy": pre.final.get("reconstruction_accuracy"),
        },
        "strategies": strategies,
        "summary": summary,
        "seconds": {k: round(v, 1) for k, v in timings.items()},
        "resumed": resuming,
        "load_average_1min": {"start": load_before, "end": _load_average()},
        "cpu_count": os.cpu_count(),
        "files": {
            "regret": str(regret_png),
            "embeddings": str(map_png),
            "table": str(table_md),
        },
    }
    if tb_runs:
        record["tensorboard"] = tb_runs
    if real is not None:
        record["real_search"] = real
        record["files"]["real_search"] = real["plot"]
    write_json(out / "demo.json", record)
    if args.json:
        emit_json(record)
        return 0
    from selfnas.search.summary import found_percent
    from selfnas.stats import format_mean_std

    rows = []
    for name, s in summary.items():
        rows.append(
            [
                LABELS.get(name, name),
                s["seeds"],
                format_mean_std(s["mean_test"], s["std_test"], 2),
                format_mean_std(s["mean_test_regret"], s["std_test_regret"], 2),
                f"{s['mean_rank']:.0f}",
                found_percent(s),
            ]
        )
    print_table(
        f"{title}: best arch after {args.budget} queries (mean ± std over {args.seeds} seeds)",
        ["strategy", "seeds", "test acc. (%)", "test regret (%)", "rank", "found optimum"],
        rows,
    )
    if real is not None:
        print_table(
            f"real search on digits: the best of {args.train_budget} trained NB201 networks "
            "(chosen on validation)",
            ["strategy", "best arch", "val. acc. (%)", "test acc. (%)", "params"],
            [
                [
                    LABELS.get(name, name),
                    b["arch"],
                    f"{b['val_accuracy']:.1f}",
                    f"{b['test_accuracy']:.1f}",
                    f"{b['params']:,}",
                ]
                for name, b in real["best"].items()
            ],
        )
    print(f"regret plot:   {regret_png}")
    print(f"embedding map: {map_png}")
    print(f"table:         {table_md}")
    if real is not None:
        print(f"real search:   {real['plot']} (trials in {real['trials']})")
    if tb_runs:
        print(f"tensorboard:   {args.tensorboard} (`tensorboard --logdir {args.tensorboard}`)")
    print(f"done in {timings['total']:.0f} s (rerun with the same --out to resume)")
    return 0


def real_search(out: Path, budget: int, epochs: int, workers: int | None) -> dict[str, Any]:
    """GATES-EA vs random search where each query trains an NB201 network on digits; the
    best arch of each (by validation accuracy) with its test accuracy and size."""
    import pandas as pd

    from selfnas.pipeline import compare
    from selfnas.runs import TrialsRun
    from selfnas.search.problem import ProblemSpec

    trials = out / "trials"
    spec = ProblemSpec(
        benchmark="train",
        space="nb201",
        benchmark_options={**REAL_TRAINING, "epochs": epochs, "trials": str(trials.resolve())},
        dataset="digits",
    )
    searched = compare(
        spec,
        REAL_STRATEGIES,
        budget,
        out / "search",
        seeds=1,
        workers=workers,
        title="NB201 on digits",
    )
    frame, png = searched.frame, searched.plot
    stored = {t.arch_key: t for t in TrialsRun(trials).trials()}
    best: dict[str, Any] = {}
    for name, rows in frame.groupby("strategy", sort=False):
        top = rows.loc[pd.to_numeric(rows["value"]).idxmax()]
        trial = stored[top["arch"]]
        best[str(name)] = {
            "arch": trial.arch,
            "val_accuracy": float(trial.metrics.get("val_accuracy", 0.0)),
            "test_accuracy": float(trial.metrics.get("test_accuracy", 0.0)),
            "params": int(trial.metrics.get("params", 0)),
            "queries_to_best": int(top["step"]),
        }
    return {
        "budget": budget,
        "epochs": epochs,
        "best": best,
        "plot": str(png),
        "trials": str(trials),
    }
