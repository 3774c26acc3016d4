"""`selfnas oneshot search|finetune|ablate`: SSWP-NAS from the command line."""

from __future__ import annotations

import argparse
from typing import Any

from selfnas.cli.output import add_json_flag, emit_json, print_table


def _fractions(text: str) -> tuple[float, float, float]:
    parts = [float(p) for p in text.split(",")]
    if len(parts) != 3:
        raise argparse.ArgumentTypeError(
            "expected three comma-separated fractions, e.g. 0.2,0.4,0.4"
        )
    return parts[0], parts[1], parts[2]


def _cap(text: str) -> int | None:
    return None if text.lower() in ("none", "off", "-1") else int(text)


def _add_search_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dataset",
        default="mnist5k",
        help="mnist5k, digits, animals10k, cifar10, cifar100, folder:PATH or imagenet[:PATH] "
        "(PATH/train/<class>/*.jpg and PATH/val/<class>/...; default PATH: "
        "<data root>/imagenet)",
    )
    parser.add_argument(
        "--image-size",
        type=int,
        default=None,
        metavar="PX",
        help="side the imagenet layout's images are resized and centre-cropped to (default 224)",
    )
    parser.add_argument(
        "--stem",
        choices=("auto", "cifar", "imagenet"),
        default="auto",
        help="cifar: DARTS' CIFAR stem; imagenet: its reduction stem (224 px -> 28 px before "
        "the cells); auto: imagenet for the imagenet layout at >= 112 px, else cifar",
    )
    parser.add_argument(
        "--data-root", default=None, help="folder holding the dataset (default: the data directory)"
    )
    parser.add_argument("--cells", type=int, default=8, help="cells L (reductions at L/3 and 2L/3)")
    parser.add_argument("--channels", type=int, default=16, help="initial channels C")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument(
        "--images-per-epoch",
        type=int,
        default=None,
        help="weight-step images per epoch (default: the whole weight half)",
    )
    parser.add_argument(
        "--objective",
        choices=("simclr", "byol", "supervised"),
        default="simclr",
        help="simclr (InfoNCE), byol (EMA target, no negatives) or supervised (labels)",
    )
    parser.add_argument("--temperature", type=float, default=0.07)
    parser.add_argument("--prune", choices=("fpp", "bpp", "end"), default="fpp")
    parser.add_argument(
        "--split",
        type=_fractions,
        default=(0.2, 0.4, 0.4),
        help="warm-up,search,prune fractions of the epochs",
    )
    parser.add_argument("--skip-dropout", type=float, default=0.2)
    parser.add_argument(
        "--max-skip",
        type=_cap,
        default=2,
        help="skip connections per cell at most ('none': no cap)",
    )
    parser.add_argument(
        "--max-pool", type=_cap, default=2, help="pools per cell at most ('none': no cap)"
    )
    parser.add_argument("--lr", type=float, default=0.025)
    parser.add_argument("--arch-lr", type=float, default=1e-3)
    parser.add_argument(
        "--arch-every", type=int, default=5, help="weight steps per architecture step"
    )
    parser.add_argument("--crop-scale", type=float, nargs=2, default=(0.3, 1.0))
    parser.add_argument("--blur-p", type=float, default=0.5)
    parser.add_argument(
        "--jitter", type=float, default=0.4, help="colour-jitter strength (colour images)"
    )
    parser.add_argument("--flip", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument(
        "--distributed", action="store_true", help="join the torchrun process group"
    )
    parser.add_argument("--sync-bn", action="store_true")
    parser.add_argument("--amp", action="store_true", help="mixed precision (CUDA only)")
    parser.add_argument(
        "--checkpoint-cells",
        type=int,
        default=None,
        metavar="N",
        help="recompute the first N cells in backward (less memory, more compute); "
        "default: up to the first reduction cell; 0: none; -1: all",
    )


#: `--stem auto` picks the reduction stem for ImageNet-layout images at least this large
AUTO_IMAGENET_STEM_PX = 112


def _dataset_and_stem(args: argparse.Namespace) -> tuple[str, str]:
    """`--dataset` with `--image-size` folded into an imagenet name, and the stem in force."""
    from selfnas.errors import InvalidOption
    from selfnas.oneshot.data import IMAGENET_SIZE, imagenet_name, parse_imagenet_name

    dataset = args.dataset
    image_size = getattr(args, "image_size", None)
    stem = getattr(args, "stem", "auto")
    parsed = parse_imagenet_name(dataset)
    if parsed is None:
        if image_size is not None:
            raise InvalidOption("--image-size applies to the imagenet[:PATH] dataset layout only")
        return dataset, "cifar" if stem == "auto" else stem
    size, path = parsed
    if image_size is not None:
        if image_size < 8:
            raise InvalidOption(f"--image-size must be >= 8, got {image_size}")
        if size is not None and size != image_size:
            raise InvalidOption(f"{dataset!r} asks for {size} px but --image-size is {image_size}")
        size = image_size
    if stem == "auto":
        stem = "imagenet" if (size or IMAGENET_SIZE) >= AUTO_IMAGENET_STEM_PX else "cifar"
    return imagenet_name(path, size), stem


def _search_config(args: argparse.Namespace, **overrides: Any):
    """The search the flags ask for; `overrides` change flat fields (e.g. `seed=1`)."""
    from selfnas.errors import InvalidOption
    from selfnas.oneshot.augment import AugmentConfig
    from selfnas.oneshot.config import (
        DataConfig,
        LossConfig,
        OptimConfig,
        RuntimeConfig,
        ScheduleConfig,
        SearchConfig,
        SupernetConfig,
    )
    from selfnas.oneshot.distributed import local_device

    if args.amp and "cuda" not in str(args.device) and args.device != "auto":
        raise InvalidOption("--amp needs a CUDA device")
    dataset, stem = _dataset_and_stem(args)
    config = SearchConfig(
        data=DataConfig(
            dataset=dataset,
            data_root=args.data_root,
            batch_size=args.batch_size,
            images_per_epoch=args.images_per_epoch,
        ),
        supernet=SupernetConfig(
            cells=args.cells,
            channels=args.channels,
            max_skip=args.max_skip,
            max_pool=args.max_pool,
            checkpoint_cells=args.checkpoint_cells,
            stem=stem,
        ),
        loss=LossConfig(objective=args.objective, temperature=args.temperature),
        augment=AugmentConfig(
            crop_scale=tuple(args.crop_scale),
            flip=args.flip,
            jitter=args.jitter,
            blur_p=args.blur_p,
        ),
        optim=OptimConfig(lr=args.lr, arch_lr=args.arch_lr),
        schedule=ScheduleConfig(
            epochs=args.epochs,
            split=tuple(args.split),
            prune=args.prune,
            arch_every=args.arch_every,
            skip_dropout=args.skip_dropout,
        ),
        runtime=RuntimeConfig(
            device=local_device(args.device),
            threads=args.threads,
            sync_bn=args.sync_bn,
            amp=args.amp,
        ),
        seed=args.seed,
    )
    return config.with_fields(**overrides) if overrides else config


def _quiet(args: argparse.Namespace) -> None:
    if getattr(args, "json", False):
        from selfnas import progress

        progress.set_enabled(False)


def _search(args: argparse.Namespace) -> int:
    from selfnas.oneshot.distributed import current, init_from_env
    from selfnas.pipeline import oneshot_search

    _quiet(args)
    if args.distributed:
        init_from_env()
    result = oneshot_search(_search_config(args), args.out, resume=not args.no_resume)
    if not current().is_main:
        return 0
    if args.json:
        emit_json(
            {"genotypes": result.genotypes, "seconds": result.seconds, "network": result.network}
        )
    else:
        print_table("SSWP-NAS genotypes", ["cell", "genotype"], list(enumerate(result.genotypes)))
        print(f"network: {result.network}  ({result.seconds:.1f} s)")
    return 0


def _finetune(args: argparse.Namespace) -> int:
    from selfnas.oneshot.finetune import FinetuneConfig
    from selfnas.pipeline import finetune

    _quiet(args)
    config = FinetuneConfig(
        label_fraction=args.label_fraction,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        init=args.init,
        augment=args.augment,
        seed=args.seed,
        pretrain_epochs=args.pretrain_epochs,
        device=args.device,
        threads=args.threads,
        linear_probe=args.linear_probe,
    )
    result = finetune(args.run_dir, config)
    if args.json:
        emit_json(result)
    else:
        probe = ", linear probe" if args.linear_probe else ""
        print(
            f"{args.init} init{probe}, {args.label_fraction:.0%} labels: "
            f"test accuracy {result['test_accuracy']:.4f}"
        )
    return 0


def _final_train(args: argparse.Namespace) -> int:
    from selfnas.pipeline import final_train
    from selfnas.train.recipes import parse_options

    _quiet(args)
    result = final_train(
        args.run_dir,
        epochs=args.epochs,
        init=args.init,
        recipe_options=parse_options(args.recipe_option),
        device=args.device,
        seed=args.seed,
        threads=args.threads,
        progress=not args.json,
    )
    if args.json:
        emit_json({k: v for k, v in result.items() if k != "history"})
    else:
        val = result["val_accuracy"]
        val_text = "-" if val is None else f"{val:.2f}%"
        print(
            f"{args.init} init, DARTS recipe {result['recipe_key']}: val {val_text}, test "
            f"{result['test_accuracy']:.2f}% after {result['epochs']} epochs "
            f"({result['seconds']:.1f} s, {result['params']:,} params)"
        )
    return 0


def _ablate(args: argparse.Namespace) -> int:
    from selfnas.oneshot.ablate import AblationConfig, run_ablation

    _quiet(args)
    base = _search_config(args)
    report = run_ablation(
        AblationConfig(
            search=base,
            label_fraction=args.label_fraction,
            finetune_epochs=args.finetune_epochs,
            rows=tuple(args.rows) if args.rows else None,
        ),
        args.out,
    )
    if args.json:
        emit_json(report)
    else:
        print_table(
            "SSWP-NAS ablation (Table 3 layout, small scale)",
            [
                "table",
                "name",
                "test error % (scratch)",
                "test error % (concomitant)",
                "relative gain",
            ],
            [
                [
                    r["table"],
                    r["name"],
                    f"{100 * r['error_scratch']:.2f}",
                    f"{100 * r['error_concomitant']:.2f}",
                    "-" if r.get("relative_gain") is None else f"{100 * r['relative_gain']:.2f}",
                ]
                for r in report["rows"]
            ],
        )
    return 0


def register(subparsers: Any) -> None:
    oneshot = subparsers.add_parser(
        "oneshot", help="SSWP-NAS: self-supervised, weight-preserving one-shot search"
    )
    commands = oneshot.add_subparsers(dest="oneshot_command", metavar="SUBCOMMAND")
    oneshot.set_defaults(handler=lambda args: (oneshot.print_help(), 2)[1])

    search = commands.add_parser("search", help="search the final network on unlabelled data")
    _add_search_options(search)
    search.add_argument(
        "--out", required=True, help="run directory (checkpoint, genotypes, network)"
    )
    search.add_argument("--no-resume", action="store_true", help="ignore an existing checkpoint")
    add_json_flag(search)
    search.set_defaults(handler=_search)

    tune = commands.add_parser(
        "finetune", help="fine-tune a searched network on a fraction of labels"
    )
    tune.add_argument("run_dir", metavar="DIR")
    tune.add_argument("--label-fraction", type=float, default=0.1)
    tune.add_argument("--epochs", type=int, default=10)
    tune.add_argument("--batch-size", type=int, default=64)
    tune.add_argument(
        "--lr",
        type=float,
        default=None,
        help="default 0.025 (0.5 with --linear-probe: a lone linear layer needs more)",
    )
    tune.add_argument("--init", choices=("concomitant", "random", "simclr"), default="concomitant")
    tune.add_argument(
        "--augment", action="store_true", help="random-resized crops while fine-tuning"
    )
    tune.add_argument(
        "--pretrain-epochs", type=int, default=None, help="simclr init: default the search's epochs"
    )
    tune.add_argument(
        "--linear-probe",
        action="store_true",
        help="frozen features (weights, BatchNorm statistics); train only a linear classifier",
    )
    tune.add_argument("--seed", type=int, default=0)
    tune.add_argument("--device", default="auto")
    tune.add_argument("--threads", type=int, default=None)
    add_json_flag(tune)
    tune.set_defaults(handler=_finetune)

    final = commands.add_parser(
        "train",
        help="train a searched network at DARTS' evaluation recipe (cutout, auxiliary head, "
        "drop path) from its concomitant weights or from scratch (resumable)",
    )
    final.add_argument("run_dir", metavar="DIR")
    final.add_argument("--epochs", type=int, default=None, help="default: the recipe's 600")
    final.add_argument(
        "--init",
        choices=("concomitant", "random"),
        default="concomitant",
        help="concomitant: the search's stem, cells (and a supervised search's classifier); "
        "the auxiliary head starts fresh",
    )
    final.add_argument(
        "--recipe-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a DARTS recipe field, e.g. batch_size=64 or val_fraction=0 (repeatable)",
    )
    final.add_argument("--seed", type=int, default=0)
    final.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    final.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    add_json_flag(final)
    final.set_defaults(handler=_final_train)

    ablate = commands.add_parser(
        "ablate", help="SL vs SSL x FPP/BPP/end x skip-dropout (Table 3 layout)"
    )
    _add_search_options(ablate)
    ablate.add_argument("--out", required=True, help="folder for the ablation's runs")
    ablate.add_argument(
        "--label-fraction", type=float, default=1.0, help="labels used to train each architecture"
    )
    ablate.add_argument("--finetune-epochs", type=int, default=10)
    ablate.add_argument(
        "--rows", nargs="*", default=None, help="subset of row names (e.g. SSL+FPP SL)"
    )
    add_json_flag(ablate)
    ablate.set_defaults(handler=_ablate)
