"""`selfnas bench info|query`: look at a benchmark, or ask it about one architecture.

- `bench info NAME [--table F]... [--dataset D] [--json]`: size, datasets, metrics and the
  optimum of each metric (`--json` keys: `size`, `metrics`, `optimum` = metric -> best).
- `bench query NAME --arch ARCH [--dataset D] [--metric M] [--fidelity E] [--json]`: the
  record of one arch (`--json`: its metrics by name, e.g. `{"val_accuracy": 95.46, ...}`).

ARCH is the space's text: an NB201 cell string, a DARTS `Genotype(...)`, an NB101 JSON spec
(`{"adjacency": [[...]], "operations": [...]}`) or module hash, an NB-Graph spec or id.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from selfnas.benchmarks import BENCHMARKS, Benchmark, TableBenchmark, get_benchmark
from selfnas.cli.output import add_json_flag, emit_json, print_table
from selfnas.errors import InvalidOption


def register(subparsers: argparse._SubParsersAction) -> None:
    bench = subparsers.add_parser("bench", help="benchmark oracles: info and queries")
    actions = bench.add_subparsers(dest="bench_command", metavar="ACTION")

    info = actions.add_parser("info", help="size, datasets, metrics and optimum of a benchmark")
    _common(info)
    add_json_flag(info)
    info.set_defaults(handler=run_info)

    query = actions.add_parser("query", help="the record of one architecture")
    _common(query)
    query.add_argument("--arch", required=True, help="the arch in its space's text form")
    query.add_argument("--metric", help="the metric the query is for (checked to exist)")
    query.add_argument("--fidelity", type=int, help="epochs (NB101, NB201 official, NB301)")
    add_json_flag(query)
    query.set_defaults(handler=run_query)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help=", ".join(BENCHMARKS))
    parser.add_argument(
        "--table",
        action="append",
        type=Path,
        default=None,
        help="nb201: a CSV/Parquet table with an `arch` column (repeatable; tables join on arch)",
    )
    parser.add_argument(
        "--source",
        type=Path,
        default=None,
        help="an explicit data file: nb101 .tfrecord/.pkl/.json, nb201 "
        ".pth or NATS folder, nb301 .onnx surrogate",
    )
    parser.add_argument("--dataset", help="dataset (default: the benchmark's first)")


def open_benchmark(args: argparse.Namespace) -> Benchmark:
    name = args.name.lower()
    options: dict[str, Any] = {}
    if args.table:
        if name != "nb201":
            raise InvalidOption("--table applies to nb201 only")
        options["tables"] = args.table
    if args.source is not None:
        options["model" if name == "nb301" else "path"] = args.source
    if name == "nbgraph" and args.dataset:
        options["dataset"] = args.dataset
    return get_benchmark(name, **options)


def run_info(args: argparse.Namespace) -> int:
    benchmark = open_benchmark(args)
    info = benchmark.describe(args.dataset)
    if args.json:
        emit_json(info)
        return 0
    print(
        f"{info['name']}: dataset {info['dataset']} (of {', '.join(info['datasets'])}); "
        f"size {info['size'] if info['size'] is not None else 'not enumerable'}"
    )
    if info.get("surrogate"):
        print(f"surrogate: {info['surrogate']}")
    if info["fidelities"]:
        fids = info["fidelities"]
        shown = f"{fids[0]}..{fids[-1]}" if len(fids) > 4 else ", ".join(map(str, fids))
        print(f"fidelities (epochs): {shown}")
    print_table(
        None, ["metric", "optimum"], [[m, info["optimum"].get(m, "-")] for m in info["metrics"]]
    )
    return 0


def run_query(args: argparse.Namespace) -> int:
    benchmark = open_benchmark(args)
    dataset = None if args.name.lower() == "nbgraph" and args.dataset is None else args.dataset
    record = benchmark.query(args.arch, dataset, args.metric, args.fidelity)
    values = record.as_dict()
    if args.json:
        emit_json(values)
        return 0
    print(f"{benchmark.name}: {record.key}")
    rows = [[name, value] for name, value in values.items()]
    if isinstance(benchmark, TableBenchmark):
        metric = benchmark.default_metric(args.metric, args.dataset)
        rank = benchmark.rank(args.arch, args.dataset, metric, args.fidelity)
        total = benchmark.table(benchmark.default_dataset(args.dataset), args.fidelity)
        rows.append([f"rank ({metric})", f"{rank} of {total.count(metric)}"])
    print_table(None, ["metric", "value"], rows)
    return 0
