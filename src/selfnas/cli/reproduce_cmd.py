"""`selfnas reproduce NAME --out DIR [--quick]`: one published table, ours beside the paper's.

    selfnas reproduce --list
    selfnas reproduce arch2vec-nb201 --out results/a2v --quick

Writes DIR/report.md (every number of ours beside the paper's, with data, budget, seeds and
protocol differences), DIR/results.csv and PNGs; the runs it makes stay under DIR, so a
re-run resumes them.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path
from typing import Any

from selfnas.cli.output import add_json_flag, emit_json, print_table
from selfnas.errors import InvalidOption


def register(subparsers: Any) -> None:
    from selfnas.reproduce import MODULES

    p = subparsers.add_parser(
        "reproduce",
        help="reproduce a paper's table: our numbers beside the published ones",
        description="Run one reproduction and write DIR/report.md, DIR/results.csv and PNGs. "
        "--quick runs a smoke-sized version (minutes on a laptop CPU).",
    )
    p.add_argument("name", nargs="?", metavar="NAME", help=f"one of {MODULES.choices()}")
    p.add_argument("--list", action="store_true", help="list the reproductions and exit")
    p.add_argument("--out", type=Path, help="output directory (resumes the runs inside)")
    p.add_argument("--quick", action="store_true", help="smoke-sized run (minutes)")
    p.add_argument(
        "--data",
        type=Path,
        default=None,
        help="data directory (default: $SELFNAS_DATA or the user cache)",
    )
    p.add_argument("--seeds", type=int, default=None, help="override the number of seeds")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker processes for seeds (default: the cores available)",
    )
    p.add_argument("--device", default="cpu", help="cpu, cuda, auto (training loops)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default 1)")
    p.add_argument(
        "--tensorboard",
        default=None,
        metavar="DIR",
        help="also write training curves and search runs as TensorBoard events under DIR",
    )
    add_json_flag(p)
    p.set_defaults(handler=_reproduce)


def _list(as_json: bool) -> int:
    from selfnas.reproduce import MODULES, get_reproduction

    items = []
    for name in MODULES:
        try:
            item = get_reproduction(name)
            items.append({"name": name, "title": item.title, "cites": item.citation})
        except ImportError as exc:  # a part still missing from this build
            items.append({"name": name, "title": f"unavailable ({exc})", "cites": ""})
    if as_json:
        emit_json(items)
    else:
        print_table("reproductions", ["name", "what"], [(i["name"], i["title"]) for i in items])
    return 0


def _reproduce(args: argparse.Namespace) -> int:
    from selfnas import progress
    from selfnas.reproduce import Context, get_reproduction
    from selfnas.reproduce.writer import write_report
    from selfnas.runs import REPRODUCTION, mark
    from selfnas.runtime import configure_threads

    if args.list:
        return _list(args.json)
    if not args.name:
        raise InvalidOption("give a reproduction NAME (see `selfnas reproduce --list`)")
    if args.out is None:
        raise InvalidOption("give --out DIR")
    if args.seeds is not None and args.seeds < 1:
        raise InvalidOption(f"--seeds must be >= 1, got {args.seeds}")
    if args.json:
        progress.set_enabled(False)
    configure_threads(args.threads)
    if args.tensorboard:  # loops that log live (selfnas.tracking.log) write here too
        from selfnas.tracking import configure

        configure(args.tensorboard)
    if args.data is not None:  # through the environment, so worker processes see it too
        os.environ["SELFNAS_DATA"] = str(args.data.expanduser().resolve())
    item = get_reproduction(args.name)
    mark(args.out, REPRODUCTION)  # before any work: refuses a folder holding another run
    ctx = Context(
        out=args.out,
        quick=args.quick,
        seeds=args.seeds,
        workers=args.workers,
        device=args.device,
        tensorboard=args.tensorboard,
    )
    report = item.execute(ctx)
    report.command = (
        "selfnas " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        if Path(sys.argv[0]).name in ("selfnas", "__main__.py")
        else f"selfnas reproduce {args.name} --out {args.out}" + (" --quick" if args.quick else "")
    )
    path = write_report(report, args.out)
    result: dict[str, Any] = {
        "report": str(path),
        "seconds": report.seconds,
        "rows": len(report.rows),
    }
    if args.tensorboard:
        from selfnas.tracking import export_tree

        result["tensorboard"] = export_tree(args.out, Path(args.tensorboard))
    if args.json:
        emit_json(result)
    else:
        print(f"{item.title}: {len(report.rows)} rows in {report.seconds:.0f} s")
        print(f"report: {path}")
        if args.tensorboard:
            print(f"tensorboard: {args.tensorboard} ({len(result['tensorboard'])} runs)")
    return 0
