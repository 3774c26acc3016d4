"""`selfnas search` and `selfnas compare`: seeds of search strategies on one runner.

    selfnas search --benchmark nb201 --table nb201_200ep_cifar10.csv --metric cifar10_test \
        --strategy ls --budget 300 --seeds 100 --out runs/ls
    selfnas compare --benchmark nb201 --table ... --strategies random,re,ls,bo \
        --embedding emb.npz --budget 300 --seeds 100 --out runs/cmp

A run directory resumes: re-run the same command after a crash and finished seeds are
kept, interrupted ones continue from their last checkpoint.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from selfnas.cli.output import add_json_flag, emit_json, print_table
from selfnas.errors import InvalidOption


def register(subparsers: Any) -> None:
    from selfnas.search.base import STRATEGIES

    search = subparsers.add_parser(
        "search",
        help="run one search strategy over many seeds",
        description="Run one search strategy for --seeds seeds (in parallel workers), "
        "writing one row per query to OUT/results.parquet and a summary.",
    )
    _add_problem(search)
    search.add_argument("--strategy", required=True, help=f"one of {STRATEGIES.help_text()}")
    search.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="strategy option (repeatable), e.g. population=50",
    )
    search.set_defaults(handler=run_search)

    compare = subparsers.add_parser(
        "compare",
        help="run several strategies on the same seeds and compare them",
        description="Run every strategy on the same seeds; write a markdown table "
        "(comparison.md) and a PNG of mean regret vs queries (regret.png).",
    )
    _add_problem(compare)
    compare.add_argument(
        "--strategies", required=True, help=f"comma-separated, from {STRATEGIES.choices()}"
    )
    compare.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="STRATEGY.KEY=VALUE",
        help="option of one strategy (repeatable), e.g. re.population=10",
    )
    compare.add_argument(
        "--seeds-for",
        action="append",
        default=[],
        metavar="STRATEGY=K",
        help="run STRATEGY on only the first K seeds (repeatable; for expensive strategies)",
    )
    compare.set_defaults(handler=run_compare)


def _add_problem(parser: argparse.ArgumentParser) -> None:
    from selfnas.benchmarks import BENCHMARKS
    from selfnas.spaces import SPACES

    parser.add_argument("--benchmark", required=True, help=f"one of {BENCHMARKS.choices()}")
    parser.add_argument("--space", help=f"{SPACES.choices()} (default: the benchmark's)")
    parser.add_argument(
        "--table",
        action="append",
        default=[],
        metavar="FILE",
        help="benchmark table file (repeatable; nb201)",
    )
    parser.add_argument(
        "--bench-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="other benchmark option (repeatable)",
    )
    parser.add_argument("--dataset", help="benchmark dataset (e.g. cora, citeseer)")
    parser.add_argument("--metric", help="the metric the search sees (default: the first)")
    parser.add_argument(
        "--test-metric", help="metric for regret, optimum and reported accuracy (default: --metric)"
    )
    parser.add_argument("--embedding", help="pretrained embeddings file (`selfnas embed`)")
    parser.add_argument(
        "--pretrained",
        help="pretraining run directory: the encoder that embeds candidates for rl/bo/bo-gp "
        "(without --embedding), the controller for nao, encoder weights for gates-ea",
    )
    parser.add_argument(
        "--pool",
        type=int,
        help="rl/bo/bo-gp on a space too large to enumerate (darts): candidates sampled and "
        "embedded by --pretrained (default 100000)",
    )
    parser.add_argument(
        "--pool-mutants",
        type=int,
        help="mutations of the best archs added to that pool each round (default 100)",
    )
    parser.add_argument(
        "--warm-start",
        metavar="FILE:PROXY",
        help="start each seed from a proxy's best archs instead of random ones: FILE is "
        "`selfnas zc` output, PROXY one of its columns (e.g. zc.csv:nwot)",
    )
    parser.add_argument(
        "--warm-size", type=int, default=10, help="archs the warm start replaces (default 10)"
    )
    parser.add_argument(
        "--warm-pool",
        type=int,
        default=1000,
        help="scored archs each seed ranks for its warm start (default 1000)",
    )
    budget = parser.add_mutually_exclusive_group(required=True)
    budget.add_argument("--budget", type=int, help="distinct archs queried per seed")
    budget.add_argument("--budget-seconds", type=float, help="simulated training seconds per seed")
    parser.add_argument("--seeds", type=int, default=10, help="number of seeds (default 10)")
    parser.add_argument("--first-seed", type=int, default=0, help="first seed (default 0)")
    parser.add_argument(
        "--workers", type=int, default=None, help="worker processes (default: the cores available)"
    )
    parser.add_argument("--out", required=True, help="run directory (resumes if it exists)")
    parser.add_argument(
        "--backend",
        choices=("local", "ray"),
        default="local",
        help="local: seeds in --workers processes, trials in each seed's process; ray: seeds "
        "and trials as Ray tasks on a local instance (started on demand) or --address",
    )
    parser.add_argument(
        "--address", help="Ray cluster to join (auto, HOST:PORT or ray://HOST:PORT)"
    )
    _add_training(parser)
    add_json_flag(parser)


def _add_training(parser: argparse.ArgumentParser) -> None:
    train = parser.add_argument_group(
        "training as the oracle (--benchmark train: each query trains the arch)"
    )
    train.add_argument("--epochs", type=int, help="training epochs per trial (recipe default)")
    train.add_argument(
        "--recipe-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="training recipe field (repeatable), e.g. lr=0.05 or batch_size=128",
    )
    train.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    train.add_argument("--channels", type=int, help="network width (default: the benchmark's)")
    train.add_argument("--cells", type=int, help="network depth (default: the benchmark's)")
    train.add_argument("--data-root", help="folder with the dataset files (default: data dir)")
    train.add_argument("--train-seed", type=int, default=0, help="seed of every trial (0)")
    train.add_argument(
        "--trials",
        help="trial store: finished trials are never trained again "
        "(default: the cache directory's trials/)",
    )
    train.add_argument(
        "--cpus-per-trial", type=float, default=1, help="Ray CPUs per trial (default 1)"
    )
    train.add_argument(
        "--gpus-per-trial", type=float, default=0, help="Ray GPUs per trial (default 0)"
    )
    train.add_argument(
        "--max-attempts",
        type=int,
        default=3,
        help="attempts per trial before it is recorded as failed (default 3)",
    )


def _pairs(items: list[str], what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidOption(f"{what} {item!r}: expected KEY=VALUE")
        out[key.strip()] = value.strip()
    return out


def _spec(args: argparse.Namespace):
    from selfnas.search.problem import ProblemSpec

    options: dict[str, Any] = dict(_pairs(args.bench_option, "--bench-option"))
    if args.table:
        options["tables"] = [str(Path(t).expanduser().resolve()) for t in args.table]
    if args.benchmark == "train":
        options.update(_training_options(args))
    elif args.recipe_option or args.epochs is not None:
        raise InvalidOption("--epochs and --recipe-option apply to --benchmark train only")
    return ProblemSpec(
        space=args.space,
        benchmark=args.benchmark,
        benchmark_options=options,
        dataset=args.dataset,
        metric=args.metric,
        test_metric=args.test_metric,
        embedding=str(Path(args.embedding).resolve()) if args.embedding else None,
        pretrained=str(Path(args.pretrained).resolve()) if args.pretrained else None,
        warm_start=_resolved_warm_start(args.warm_start),
        warm_size=args.warm_size,
        warm_pool=args.warm_pool,
        pool=args.pool,
        pool_mutants=args.pool_mutants,
    )


def _resolved_warm_start(text: str | None) -> str | None:
    """FILE:PROXY with FILE made absolute (worker processes may run elsewhere)."""
    if not text:
        return None
    path, sep, proxy = text.rpartition(":")
    if not sep:
        raise InvalidOption(f"--warm-start {text!r}: expected FILE:PROXY, e.g. zc.csv:nwot")
    return f"{Path(path).expanduser().resolve()}:{proxy}"


def _training_options(args: argparse.Namespace) -> dict[str, Any]:
    """The `train` benchmark's options, JSON-able (recorded in config.json)."""
    from selfnas.trials.factory import default_store

    options: dict[str, Any] = {
        "space": args.space or "nb201",
        "dataset": args.dataset,
        "epochs": args.epochs,
        "recipe": _pairs(args.recipe_option, "--recipe-option"),
        "device": args.device,
        "seed": args.train_seed,
        "channels": args.channels,
        "cells": args.cells,
        "data_root": str(Path(args.data_root).resolve()) if args.data_root else None,
        "trials": str(Path(args.trials).expanduser().resolve() if args.trials else default_store()),
        "backend": "ray" if args.backend == "ray" else "inprocess",
        "address": args.address,
        "cpus_per_trial": args.cpus_per_trial,
        "gpus_per_trial": args.gpus_per_trial,
        "max_attempts": args.max_attempts,
    }
    return {k: v for k, v in options.items() if v is not None}


def _run(
    args: argparse.Namespace,
    strategies: dict[str, dict[str, Any]],
    seeds_for: dict[str, int] | None = None,
) -> dict[str, Any]:
    """`selfnas.pipeline.compare`, then what belongs to this invocation: its timing and
    the markdown table headed by the command line."""
    from selfnas import progress
    from selfnas.atomic import write_json, write_text
    from selfnas.pipeline import compare
    from selfnas.search.runner import Budget, default_workers
    from selfnas.search.summary import markdown_table

    if args.seeds < 1:
        raise InvalidOption(f"--seeds must be >= 1, got {args.seeds}")
    if args.json:
        progress.set_enabled(False)
    budget = Budget(args.budget, args.budget_seconds)
    spec = _spec(args)
    began = time.perf_counter()
    if args.backend != "ray" and args.address:
        raise InvalidOption("--address needs --backend ray")
    parts = (spec.benchmark, spec.dataset, spec.test_metric or spec.metric)
    outcome = compare(
        spec,
        strategies,
        budget,
        args.out,
        seeds=range(args.first_seed, args.first_seed + args.seeds),
        workers=args.workers,
        seeds_for=seeds_for,
        backend=args.backend,
        address=args.address,
        title=" ".join(x for x in parts if x),
        describe=args.command,
    )
    out = outcome.run.root
    wall = time.perf_counter() - began
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    workers = args.workers or default_workers()
    write_json(
        out / "timing.json",
        {
            "wall_seconds": wall,
            "workers": workers,
            "loadavg_1min": load,
            "note": "this invocation only; seeds finished by earlier invocations are reused",
        },
    )
    command = "selfnas " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    table = markdown_table(outcome.summary)
    timing = (
        f"This invocation: {wall:.0f} s wall with {workers} worker(s), 1-min load average "
        f"{load if load is None else round(load, 1)} (seeds finished earlier are reused)."
    )
    write_text(out / "comparison.md", f"{command}\n\n{table}\n{timing}\n")
    return outcome.summary


def _show(summary: dict[str, dict[str, Any]]) -> None:
    from selfnas.search.summary import found_percent
    from selfnas.stats import format_mean_std

    columns = [
        "strategy",
        "seeds",
        "median q. to optimum",
        "found optimum",
        "test regret",
        "test acc.",
        "rank",
    ]
    rows = []
    for name, s in summary.items():
        regret = s["mean_test_regret"]
        rows.append(
            [
                name,
                s["seeds"],
                s["median_queries_to_optimum"],
                found_percent(s),
                format_mean_std(regret, s["std_test_regret"], 3),
                format_mean_std(s["mean_test"], s["std_test"], 3),
                None if s["mean_rank"] is None else f"{s['mean_rank']:.1f}",
            ]
        )
    print_table(None, columns, rows)


def run_search(args: argparse.Namespace) -> int:
    strategies = {args.strategy: _pairs(args.option, "--option")}
    summary = _run(args, strategies)
    if args.json:
        emit_json({"strategy": args.strategy, **summary[args.strategy]})
    else:
        _show(summary)
    return 0


def run_compare(args: argparse.Namespace) -> int:
    names = [n.strip() for n in args.strategies.split(",") if n.strip()]
    if not names or len(set(names)) != len(names):
        raise InvalidOption(f"--strategies {args.strategies!r}: give distinct names")
    strategies: dict[str, dict[str, Any]] = {n: {} for n in names}
    for key, value in _pairs(args.option, "--option").items():
        name, dot, option = key.partition(".")
        if not dot or name not in strategies:
            raise InvalidOption(
                f"--option {key}={value}: expected STRATEGY.KEY=VALUE with STRATEGY one of "
                f"{', '.join(names)}"
            )
        strategies[name][option] = value
    seeds_for: dict[str, int] = {}
    for name, count in _pairs(args.seeds_for, "--seeds-for").items():
        try:
            seeds_for[name] = int(count)
        except ValueError:
            raise InvalidOption(f"--seeds-for {name}={count}: expected an integer") from None
    summary = _run(args, strategies, seeds_for)
    if args.json:
        emit_json(summary)
    else:
        _show(summary)
    return 0
