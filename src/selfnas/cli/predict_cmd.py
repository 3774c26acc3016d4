"""`selfnas predict` and `selfnas predict-grid`: predictor sample-efficiency experiments."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any

from selfnas.cli.output import add_json_flag, emit_json, print_table
from selfnas.errors import InvalidOption


def _opts(pairs: list[str] | None) -> dict[str, Any]:
    """`KEY=VALUE` pairs; VALUE read as JSON where it parses (`layers=[128,128]`)."""
    out: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidOption(f"expected KEY=VALUE, got {pair!r}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _add_common(parser: argparse.ArgumentParser) -> None:
    from selfnas.benchmarks import BENCHMARKS
    from selfnas.spaces import SPACES

    parser.add_argument("--space", default="nb201", help=f"{SPACES.choices()} (default nb201)")
    parser.add_argument(
        "--benchmark", default="nb201", help=f"{BENCHMARKS.choices()} (default nb201)"
    )
    parser.add_argument("--table", default=None, help="benchmark table CSV (arch + metric)")
    parser.add_argument("--dataset", default=None, help="dataset (e.g. cifar10)")
    parser.add_argument("--metric", default=None, help="metric column (default cifar10_test)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per configuration")
    parser.add_argument("--epochs", type=int, default=None, help="training epochs (300)")
    parser.add_argument(
        "--encoder-opt",
        action="append",
        metavar="KEY=VALUE",
        help="encoder option (repeatable), e.g. readout=mean",
    )
    parser.add_argument(
        "--hidden", default=None, help="MLP head widths, comma-separated (300,300,300)"
    )
    parser.add_argument("--freeze", action="store_true", help="freeze a pretrained encoder")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (1)")
    add_json_flag(parser)


def register(subparsers: Any) -> None:
    from selfnas.predictors.experiment import ENCODER_NAMES
    from selfnas.predictors.losses import LOSSES

    predict = subparsers.add_parser(
        "predict",
        help="train a performance predictor on N archs and rank all the others",
        description=(
            "Train a predictor (encoder + MLP head) on a random subset of the space and "
            "evaluate its ranking on a fixed held-out split (last 10 % of a fixed "
            "permutation) and on every other arch; mean ± std over seeds."
        ),
    )
    _add_common(predict)
    predict.add_argument("--encoder", default="gates", help=f"one of {', '.join(ENCODER_NAMES)}")
    predict.add_argument("--loss", default="hinge", choices=sorted(LOSSES))
    size = predict.add_mutually_exclusive_group(required=True)
    size.add_argument("--train-size", type=int, help="number of training archs")
    size.add_argument("--train-fraction", type=float, help="share of the space (0.01 = 1%%)")
    predict.add_argument("--pretrained", default=None, help="pretraining run directory")
    predict.add_argument(
        "--proxies",
        default=None,
        help="zero-cost proxies read as extra predictor features, comma-separated "
        "(e.g. synflow,nwot; needs --scores)",
    )
    predict.add_argument(
        "--scores", default=None, help="proxy scores of the whole space (`selfnas zc --out`)"
    )
    predict.add_argument(
        "--proxy-pretrain",
        type=int,
        default=0,
        metavar="EPOCHS",
        help="first train the encoder to rank every arch by the proxies (label-free)",
    )
    predict.add_argument(
        "--no-proxy-features",
        action="store_true",
        help="use --proxies for --proxy-pretrain only, not as predictor features",
    )
    predict.add_argument(
        "--ensemble",
        type=int,
        default=1,
        metavar="K",
        help="average K predictors trained from different initialisations (as quantiles)",
    )
    predict.set_defaults(handler=_predict)

    grid = subparsers.add_parser(
        "predict-grid",
        help="encoders x train sizes and losses x train sizes (GATES tables)",
        description="Run the predictor grid and write it as markdown + CSV.",
    )
    _add_common(grid)
    grid.add_argument("--encoders", default="gates,gin,gcn,mlp,seq", help="comma-separated")
    grid.add_argument(
        "--losses", default="mse,hinge,bce,comparator,listmle", help="comma-separated"
    )
    grid.add_argument(
        "--train-sizes",
        default="0.005,0.01,0.05",
        help="comma-separated counts (>= 1) or shares of the space (< 1)",
    )
    grid.add_argument("--ranking-loss", default="hinge", help="loss of the encoder table")
    grid.add_argument(
        "--pretrained",
        action="append",
        metavar="ENCODER[+TAG]=DIR",
        help="add a pretrained-initialisation row to the encoder table (repeatable)",
    )
    grid.add_argument(
        "--out", default="docs/results/predictor_grid", help="output prefix (.md and .csv)"
    )
    grid.add_argument(
        "--workers",
        type=int,
        default=1,
        help="parallel processes, one torch thread each (seeds run in parallel)",
    )
    grid.add_argument(
        "--resume",
        action="store_true",
        help="reuse the rows of an existing OUT.csv with the same configuration; run the rest",
    )
    grid.set_defaults(handler=_grid)


def _prepare(args: argparse.Namespace):
    from selfnas import progress
    from selfnas.pipeline import labelled
    from selfnas.runtime import configure_threads, select_device

    if args.json:
        progress.set_enabled(False)
    configure_threads(args.threads)
    device = select_device(args.device)
    data = labelled(args.space, args.benchmark, args.table, args.dataset, args.metric)
    return data, device


def _base_spec(args: argparse.Namespace, **fields: Any):
    from selfnas.predictors.experiment import PredictSpec

    extra: dict[str, Any] = {"epochs": args.epochs} if args.epochs is not None else {}
    if args.hidden:
        extra["hidden"] = tuple(int(width) for width in _csv(args.hidden))
    return PredictSpec(
        seeds=args.seeds,
        freeze=args.freeze,
        encoder_opts=_opts(args.encoder_opt),
        **extra,
        **fields,
    )


def _fmt(mean: float, std: float | None, digits: int = 3) -> str:
    from selfnas.stats import format_mean_std

    return format_mean_std(mean, std, digits)


def _predict(args: argparse.Namespace) -> int:
    from selfnas.pipeline import predict
    from selfnas.predictors.experiment import train_size_of
    from selfnas.progress import progress_bar

    data, device = _prepare(args)
    size = train_size_of(len(data), args.train_size, args.train_fraction)
    spec = _base_spec(
        args,
        encoder=args.encoder,
        loss=args.loss,
        train_size=size,
        pretrained=args.pretrained,
        proxies=tuple(_csv(args.proxies)) if args.proxies else (),
        scores=str(Path(args.scores).expanduser().resolve()) if args.scores else None,
        proxy_features=not args.no_proxy_features,
        proxy_pretrain=args.proxy_pretrain,
        ensemble=args.ensemble,
    )
    with progress_bar() as bar:
        task = bar.add_task(f"predict {spec.label}", total=spec.seeds, info="")

        def seen(row: dict[str, Any]) -> None:
            bar.advance(task)
            bar.update(task, info=f"tau {row['kendall_tau']:.3f}")

        result = predict(spec, data, device, on_seed=seen)
    if args.json:
        emit_json(result)
        return 0
    rows = [
        ["Kendall tau", _fmt(result["kendall_tau"], result["kendall_tau_std"])],
        ["Spearman", _fmt(result["spearman"], result["spearman_std"])],
        ["N@5", _fmt(result["n_at_5"], result["n_at_5_std"], 1)],
        ["N@10", _fmt(result["n_at_10"], result["n_at_10_std"], 1)],
        ["P@10", _fmt(result["precision_at_10"], result["precision_at_10_std"], 2)],
        ["held-out Kendall tau", f"{result['heldout']['kendall_tau']:.3f}"],
        ["seconds per run", f"{result['seconds_per_run']:.1f}"],
    ]
    title = f"{spec.label}: {len(data) - size} archs ranked, {spec.seeds} seeds"
    print_table(title, ["metric", "mean ± std"], rows)
    return 0


def _sizes(text: str, total: int) -> list[int]:
    from selfnas.predictors.experiment import train_size_of

    out = []
    for part in _csv(text):
        value = float(part)
        if value < 1:
            out.append(train_size_of(total, None, value))
        else:
            out.append(int(value))
    return out


def _previous(out: str, cells: list[Any]) -> dict[str, Any]:
    """Rows of an earlier OUT.csv whose configuration matches a cell (`--resume`)."""
    from pathlib import Path

    import pandas as pd

    from selfnas.predictors import grid

    csv_path = Path(out).with_suffix(".csv")
    return grid.reusable(pd.read_csv(csv_path), cells) if csv_path.exists() else {}


def _grid(args: argparse.Namespace) -> int:
    from selfnas.predictors import grid
    from selfnas.progress import progress_bar

    data, device = _prepare(args)
    sizes = _sizes(args.train_sizes, len(data))
    pretrained = {}
    for pair in args.pretrained or []:
        label, sep, directory = pair.rpartition("=")
        if not sep:
            raise InvalidOption(f"--pretrained expects ENCODER[+TAG]=DIR, got {pair!r}")
        pretrained[label] = directory
    header = f"<!-- selfnas {shlex.join(sys.argv[1:])} -->\n\n" if sys.argv else ""
    cells = grid.grid_specs(
        _base_spec(args),
        _csv(args.encoders),
        _csv(args.losses),
        sizes,
        ranking_loss=args.ranking_loss,
        pretrained=pretrained,
    )
    reuse = _previous(args.out, cells) if args.resume else {}
    if reuse and not args.json:
        print(f"resuming: {len(reuse)} configuration(s) reused from {args.out}.csv")
    with progress_bar() as bar:
        task = bar.add_task("predict-grid", total=len(cells), info="")

        def seen(row: dict[str, Any], so_far: Any) -> None:
            bar.advance(task)
            info = f"{row['row']} n={row['train_size']} tau {row['kendall_tau']:.3f}"
            bar.update(task, info=info)
            grid.write(so_far, args.out, len(data), header)

        frame = grid.run_grid(
            data, cells, str(device), on_cell=seen, workers=args.workers, reuse=reuse
        )
    paths = grid.write(frame, args.out, len(data), header)
    if args.json:
        emit_json({"rows": frame.to_dict(orient="records"), "files": [str(p) for p in paths]})
        return 0
    print(grid.markdown(frame, len(data)))
    print("written: " + ", ".join(str(p) for p in paths))
    return 0
