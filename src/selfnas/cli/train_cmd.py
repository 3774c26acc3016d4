"""`selfnas train` and `selfnas net info`: train one architecture for real, or size it.

- `train --space S --arch A [--dataset D] [--epochs E] [--out DIR] [--recipe-option K=V]...
  [--json]`: trains the benchmark network of A with the benchmark's recipe (every field
  overridable) and prints `val_accuracy`, `test_accuracy` (%), `seconds`, `params`,
  `epochs` and `dataset`. With `--out`, DIR holds `checkpoint.pt` (rewritten each epoch;
  rerunning the command resumes) and `result.json` (with the per-epoch history).
  The default dataset is `animals10k` when its file is in the data directory, else the
  embedded `mnist5k`.
- `net info --space S --arch A [--dataset D] [--json]`: `params` (auxiliary head excluded,
  as the benchmarks count) and `flops` (multiply-adds of one image) of that network.

ARCH is the space's text: an NB201 cell string, a DARTS `Genotype(...)`, an NB101 JSON spec.
"""

from __future__ import annotations

import argparse
from collections.abc import Hashable
from pathlib import Path
from typing import Any

from selfnas.cli.output import add_json_flag, emit_json

#: spaces whose archs are parsed by another space's grammar (NB301 is the DARTS space)
SPACE_ALIASES = {"nb301": "darts"}


def parse_arch(space: str, text: str) -> Hashable:
    """`text` as an arch of `space` (InvalidOption / InvalidArchitecture when it is not)."""
    from selfnas.spaces import get_space

    name = space.lower()
    return get_space(SPACE_ALIASES.get(name, name)).parse(text)


def _add_network_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--space", required=True, help="nb201, nb101, darts (nb301)")
    parser.add_argument("--arch", required=True, help="the arch in its space's text form")
    parser.add_argument(
        "--channels", type=int, default=None, help="initial channels (default: the benchmark's)"
    )
    parser.add_argument(
        "--cells", type=int, default=None, help="cells per stage (default: the benchmark's)"
    )


def register(subparsers: Any) -> None:
    train = subparsers.add_parser(
        "train", help="train one architecture with its benchmark's recipe (resumable)"
    )
    _add_network_options(train)
    train.add_argument(
        "--dataset",
        default=None,
        help="mnist5k, digits, animals10k, cifar10, cifar100 or folder:PATH "
        "(default: animals10k if present, else mnist5k)",
    )
    train.add_argument("--data-root", default=None, help="folder holding the dataset")
    train.add_argument("--epochs", type=int, default=None, help="default: the recipe's")
    train.add_argument(
        "--recipe-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a recipe field, e.g. lr=0.05 or batch_size=128 (repeatable)",
    )
    train.add_argument("--out", default=None, help="run directory: checkpoint and result.json")
    train.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    add_json_flag(train)
    train.set_defaults(handler=run_train)

    net = subparsers.add_parser("net", help="the benchmark network of an architecture")
    actions = net.add_subparsers(dest="net_command", metavar="ACTION")
    net.set_defaults(handler=lambda args: (net.print_help(), 2)[1])
    info = actions.add_parser("info", help="parameters and FLOPs of an arch's network")
    _add_network_options(info)
    info.add_argument(
        "--dataset", default="cifar10", help="the input shape's dataset (default cifar10)"
    )
    add_json_flag(info)
    info.set_defaults(handler=run_info)


def run_train(args: argparse.Namespace) -> int:
    from selfnas import progress
    from selfnas.atomic import write_json
    from selfnas.nets import build_network
    from selfnas.runtime import configure_threads
    from selfnas.train.data import default_dataset, load_train_data
    from selfnas.train.loop import train
    from selfnas.train.recipes import parse_options, recipe_for

    if args.json:
        progress.set_enabled(False)
    configure_threads(args.threads)
    arch = parse_arch(args.space, args.arch)
    recipe = recipe_for(args.space, args.epochs, **parse_options(args.recipe_option))
    dataset = args.dataset or default_dataset(args.data_root)
    data = load_train_data(dataset, recipe.val_fraction, root=args.data_root)
    auxiliary = recipe.auxiliary_weight > 0

    def factory():
        return build_network(args.space, arch, data.shape, args.channels, args.cells, auxiliary)

    result = train(
        factory,
        data,
        recipe,
        device=args.device,
        seed=args.seed,
        checkpoint_dir=args.out,
        progress=not args.json,
    )
    summary: dict[str, Any] = {
        "val_accuracy": result.val_accuracy,
        "test_accuracy": result.test_accuracy,
        "seconds": result.seconds,
        "params": result.params,
        "epochs": result.epochs,
        "dataset": dataset,
    }
    if args.out is not None:
        write_json(
            Path(args.out) / "result.json",
            {
                **summary,
                "space": args.space,
                "arch": args.arch,
                "seed": args.seed,
                "channels": args.channels,
                "cells": args.cells,
                "recipe": recipe.to_dict(),
                "recipe_key": recipe.key(),
                "history": result.history,
            },
        )
    if args.json:
        emit_json(summary)
    else:
        val = "-" if result.val_accuracy is None else f"{result.val_accuracy:.2f}%"
        print(
            f"{dataset}: val {val}, test {result.test_accuracy:.2f}% after {result.epochs} "
            f"epochs ({result.seconds:.1f} s, {result.params:,} params)"
        )
    return 0


def run_info(args: argparse.Namespace) -> int:
    from selfnas.nets import build_network, count_parameters, dataset_shape
    from selfnas.nets.flops import count_flops

    arch = parse_arch(args.space, args.arch)
    shape = dataset_shape(args.dataset)
    network = build_network(args.space, arch, shape, args.channels, args.cells)
    info = {"params": count_parameters(network), "flops": int(count_flops(network, shape))}
    if args.json:
        emit_json(info)
    else:
        print(f"{args.space} on {args.dataset}: {info['params']:,} params, {info['flops']:,} FLOPs")
    return 0
