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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        status = handler(args)
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
