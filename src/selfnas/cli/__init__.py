"""`selfnas` command line: one subcommand group per pipeline stage.

Each `*_cmd.py` module in this package defines `register(subparsers)`, adding its
subcommands with `set_defaults(handler=...)`. A handler takes the parsed arguments and
returns an exit status (None means 0). Any `SelfnasError` becomes one line on stderr and
exit status 2; a traceback means a bug.
"""

from __future__ import annotations

import argparse
import pkgutil
import sys
from collections.abc import Sequence
from importlib import import_module

from selfnas import __version__
from selfnas.errors import SelfnasError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="selfnas",
        description="Self-supervised neural architecture search.",
    )
    parser.add_argument("--version", action="version", version=f"selfnas {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.endswith("_cmd"):
            import_module(f"{__name__}.{info.name}").register(subparsers)
    for leaf in _leaf_parsers(parser):
        if "--tensorboard" not in leaf._option_string_actions and _writes_runs(leaf):
            leaf.add_argument(
                "--tensorboard",
                default=None,
                metavar="DIR",
                help="also write the training curves of this run as TensorBoard events "
                "under DIR (view: pip install tensorboard; tensorboard --logdir DIR)",
            )
            leaf.set_defaults(tensorboard_export=True)
    return parser


def _leaf_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """Every parser that runs a command (no sub-commands below it)."""
    children = [
        child
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
        for child in dict.fromkeys(action.choices.values())
    ]
    if not children:
        return [parser]
    return [leaf for child in children for leaf in _leaf_parsers(child)]


def _writes_runs(parser: argparse.ArgumentParser) -> bool:
    """A command with an output directory (`--out` or a run-directory argument) trains or
    searches something whose history can be exported."""
    has_run_dir = any(action.dest == "run_dir" for action in parser._actions)
    return "--out" in parser._option_string_actions or has_run_dir


def _export_tensorboard(args: argparse.Namespace) -> None:
    """After a command, turn the histories its run directory holds into TensorBoard files."""
    target = getattr(args, "tensorboard", None)
    if not target or not getattr(args, "tensorboard_export", False):
        return
    from pathlib import Path

    from selfnas.tracking import export_tree

    root = getattr(args, "run_dir", None) or getattr(args, "out", None)
    if root is None or not Path(root).is_dir():
        return
    runs = export_tree(root, target)
    print(f"tensorboard: {target} ({len(runs)} runs)", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        if getattr(args, "tensorboard", None) and getattr(args, "tensorboard_export", False):
            from selfnas.tracking import configure

            configure(args.tensorboard)  # loops that log live write there as they go
        status = handler(args)
        _export_tensorboard(args)
    except SelfnasError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    return 0 if status is None else int(status)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
