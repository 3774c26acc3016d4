"""`selfnas data list|check|fetch`: which benchmark files are present, intact, obtainable.

- `data list`: every file each benchmark can use, found or not, and where to get it.
- `data check`: verifies the size and sha256 of every file found (and the record CRCs of
  a NAS-Bench-101 tfrecord); exit status 1 if any is corrupt.
- `data fetch NAME`: downloads a benchmark's (or one file's) official files into the data
  directory; without a network it fails within seconds with a "no network" message.
"""

from __future__ import annotations

import argparse
import importlib.util

from selfnas.benchmarks import sources
from selfnas.cli.output import add_json_flag, emit_json, print_table
from selfnas.datadir import data_dir
from selfnas.errors import DataCorrupt, InvalidOption


def register(subparsers: argparse._SubParsersAction) -> None:
    data = subparsers.add_parser("data", help="list, check or fetch benchmark data files")
    actions = data.add_subparsers(dest="data_command", metavar="ACTION")

    listing = actions.add_parser("list", help="what each benchmark needs, found or not")
    listing.add_argument("benchmark", nargs="?", help="one of nb101, nb201, nb301, nbgraph")
    add_json_flag(listing)
    listing.set_defaults(handler=run_list)

    check = actions.add_parser("check", help="verify sizes and checksums of found files")
    check.add_argument("benchmark", nargs="?", help="one of nb101, nb201, nb301, nbgraph")
    check.add_argument("--no-checksum", action="store_true", help="sizes only (faster)")
    add_json_flag(check)
    check.set_defaults(handler=run_check)

    fetch = actions.add_parser("fetch", help="download official files into the data directory")
    fetch.add_argument("name", help="a benchmark (nb101, nb301) or a file name from `data list`")
    fetch.add_argument(
        "--timeout",
        type=float,
        default=5.0,
        help="seconds to wait for the host before giving up (default 5)",
    )
    fetch.set_defaults(handler=run_fetch)

    data.set_defaults(handler=lambda args: data.print_help() or 2)


def _rows(benchmark: str | None) -> list[dict]:
    rows = []
    for entry in sources.entries(benchmark):
        path = entry.file.path()
        rows.append(
            {
                "benchmark": entry.benchmark,
                "role": entry.role,
                "name": entry.file.name,
                "path": str(path),
                "found": path.exists(),
                "description": entry.file.description,
                "how_to_get": entry.file.how_to_get,
            }
        )
    if benchmark in (None, "nbgraph"):
        installed = importlib.util.find_spec("nas_bench_graph") is not None
        rows.append(
            {
                "benchmark": "nbgraph",
                "role": "source",
                "name": "nas-bench-graph",
                "path": "(python package)",
                "found": installed,
                "description": sources.PACKAGED["nbgraph"],
                "how_to_get": "pip install nas-bench-graph",
            }
        )
    return rows


def run_list(args: argparse.Namespace) -> int:
    rows = _rows(args.benchmark)
    if args.json:
        emit_json({"data_dir": str(data_dir()), "files": rows})
        return 0
    print(f"data directory: {data_dir()} (set $SELFNAS_DATA to change it)")
    print_table(
        None,
        ["benchmark", "role", "file", "found", "how to get it"],
        [
            [
                r["benchmark"],
                r["role"],
                r["path"],
                "yes" if r["found"] else "no",
                "" if r["found"] else r["how_to_get"],
            ]
            for r in rows
        ],
    )
    return 0


def _check_one(entry: sources.Entry, checksum: bool) -> tuple[str, str]:
    path = entry.file.path()
    if not path.exists():
        return "missing", ""
    try:
        entry.file.verify(path, checksum=checksum)
        if path.suffix == ".tfrecord" and checksum:
            from selfnas.benchmarks.tfrecord import record_spans

            starts, _ = record_spans(path.read_bytes(), path)
            return "ok", f"{len(starts)} records, CRCs valid"
    except DataCorrupt as exc:
        return "corrupt", str(exc)
    known = (
        "size+sha256"
        if entry.file.sha256 and checksum
        else ("size" if entry.file.size_bytes else "present (no published checksum)")
    )
    return "ok", known


def run_check(args: argparse.Namespace) -> int:
    results = []
    for entry in sources.entries(args.benchmark):
        status, detail = _check_one(entry, not args.no_checksum)
        results.append(
            {
                "benchmark": entry.benchmark,
                "name": entry.file.name,
                "path": str(entry.file.path()),
                "status": status,
                "detail": detail,
            }
        )
    if args.json:
        emit_json({"data_dir": str(data_dir()), "files": results})
    else:
        print_table(
            None,
            ["benchmark", "file", "status", "detail"],
            [[r["benchmark"], r["path"], r["status"], r["detail"]] for r in results],
        )
    return 1 if any(r["status"] == "corrupt" for r in results) else 0


def run_fetch(args: argparse.Namespace) -> int:
    from selfnas.benchmarks.fetch import fetch

    name = args.name.lower()
    if name in sources.PACKAGED:
        print(f"{name}: nothing to fetch; {sources.PACKAGED[name]}")
        return 0
    if name in sources.GROUPS:
        wanted = [e.file for e in sources.entries(name) if e.file.url]
        if not wanted:
            raise InvalidOption(
                f"{name} has no file with a direct download address. "
                + " ".join(sorted({e.file.how_to_get for e in sources.entries(name)}))
            )
        if name == "nb101":
            wanted = wanted[:1]
    else:
        wanted = [sources.file(args.name)]
    for entry in wanted:
        if entry.path().exists():
            print(f"{entry.name}: already present at {entry.path()}")
            continue
        path = fetch(entry, timeout=args.timeout)
        print(f"{entry.name}: saved {path}")
    return 0
