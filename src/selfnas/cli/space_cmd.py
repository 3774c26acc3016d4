"""`selfnas spaces` and `selfnas space enumerate|hash|sample`: look at the search spaces.

`space enumerate SPACE --out FILE` picks the file format by extension:

* `.parquet`: columns `index`, `arch` (the space's text form), `hash`;
* `.npz`: `text` (text forms), `adj` uint8 [N,V,V], `ops` int8 [N,V] (node form, PAD -1),
  `op_names` (the node vocabulary);
* anything else (e.g. `.txt`): one text form per line.

Every file is written atomically. `space hash` reads one arch per line (NB101: a JSON
object `{"adjacency": [[...]], "operations": [...]}`; other spaces: their text form) and
writes one JSON line per non-blank input line; a bad line yields `{"error": ...}` and the
rest still run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from selfnas import progress
from selfnas.atomic import atomic_path, write_text
from selfnas.cli.output import add_json_flag, emit_json, print_table
from selfnas.errors import DataNotFound, InvalidOption, SelfnasError
from selfnas.spaces import SPACES, SearchSpace, get_space

#: node-form rows converted per chunk when writing `.npz` (bounds memory on NB101)
_CHUNK = 50_000


def register(subparsers: argparse._SubParsersAction) -> None:
    spaces = subparsers.add_parser("spaces", help="list the search spaces")
    add_json_flag(spaces)
    spaces.set_defaults(handler=run_spaces)

    space = subparsers.add_parser("space", help="enumerate, hash or sample one search space")
    actions = space.add_subparsers(dest="space_command", metavar="ACTION")

    enumerate_parser = actions.add_parser("enumerate", help="write every arch of a space")
    enumerate_parser.add_argument("space", help=SPACES.choices())
    enumerate_parser.add_argument(
        "--out", required=True, type=Path, help=".txt (one per line), .parquet or .npz"
    )
    add_json_flag(enumerate_parser)
    enumerate_parser.set_defaults(handler=run_enumerate)

    hash_parser = actions.add_parser("hash", help="hash archs given one per line")
    hash_parser.add_argument("space", help=SPACES.choices())
    hash_parser.add_argument(
        "--input", required=True, help="file of archs, one per line ('-' reads stdin)"
    )
    hash_parser.set_defaults(handler=run_hash)

    sample_parser = actions.add_parser("sample", help="print random archs")
    sample_parser.add_argument("space", help=SPACES.choices())
    sample_parser.add_argument("-n", type=int, default=10, help="how many (default 10)")
    sample_parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    add_json_flag(sample_parser)
    sample_parser.set_defaults(handler=run_sample)

    show_parser = actions.add_parser("show", help="parse one arch and describe it")
    show_parser.add_argument("space", help=SPACES.choices())
    show_parser.add_argument("arch", help="the arch in the space's text form")
    add_json_flag(show_parser)
    show_parser.set_defaults(handler=run_show)

    space.set_defaults(handler=lambda args: _missing_action(space))


def _missing_action(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


# --- spaces -------------------------------------------------------------------
def available_spaces() -> Iterator[SearchSpace]:
    """Each registered space whose module exists (a space still being written is skipped
    with a note on stderr rather than failing the whole table)."""
    for name, entry in SPACES.items():
        module = entry.module
        try:
            yield get_space(name)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            print(f"note: space {name} is not available ({module} missing)", file=sys.stderr)


def space_rows() -> list[dict[str, Any]]:
    return [space.describe() for space in available_spaces()]


def run_spaces(args: argparse.Namespace) -> int:
    rows = space_rows()
    if args.json:
        emit_json(rows)
        return 0
    print_spaces_table(rows)
    return 0


def _count(value: int | None) -> str | None:
    """Exact with thousands separators, or 3 significant digits when astronomically large."""
    if value is None:
        return None
    return f"{value:,}" if value < 10**12 else f"~{value:.3g}"


def print_spaces_table(rows: list[dict[str, Any]]) -> None:
    print_table(
        "Search spaces",
        ["name", "size", "unique classes", "ops"],
        [
            [
                row["name"],
                _count(row["size"]),
                _count(row["unique"]),
                ", ".join(row["ops"]),
            ]
            for row in rows
        ],
    )


# --- enumerate ------------------------------------------------------------------
def write_enumeration(space: SearchSpace, archs: list[Any], out: Path) -> None:
    """Write `archs` to `out` in the format its extension names (see module docstring)."""
    suffix = out.suffix.lower()
    if suffix == ".parquet":
        import pandas as pd

        from selfnas.atomic import write_parquet

        frame = pd.DataFrame(
            {
                "index": np.arange(len(archs), dtype=np.int64),
                "arch": [space.format(a) for a in progress.track(archs, "text forms")],
                "hash": [space.hash(a) for a in progress.track(archs, "hashes")],
            }
        )
        write_parquet(out, frame)
    elif suffix == ".npz":
        texts = np.array([space.format(a) for a in progress.track(archs, "text forms")])
        adj_parts, ops_parts = [], []
        for start in progress.track(range(0, len(archs), _CHUNK), "node form"):
            batch = space.batch(archs[start : start + _CHUNK])
            adj_parts.append(batch.adj.numpy().astype(np.uint8))
            ops_parts.append(batch.ops.numpy().astype(np.int8))
        with atomic_path(out) as tmp, open(tmp, "wb") as handle:
            np.savez_compressed(
                handle,
                text=texts,
                adj=np.concatenate(adj_parts) if adj_parts else np.zeros((0, 0, 0), np.uint8),
                ops=np.concatenate(ops_parts) if ops_parts else np.zeros((0, 0), np.int8),
                op_names=np.array(space.node_ops),
            )
    else:
        lines = [space.format(a) for a in progress.track(archs, "text forms")]
        write_text(out, "".join(line + "\n" for line in lines))


def run_enumerate(args: argparse.Namespace) -> int:
    space = get_space(args.space)
    if args.json:
        progress.set_enabled(False)
    start = time.perf_counter()
    archs = space.enumerate()
    write_enumeration(space, archs, args.out)
    seconds = time.perf_counter() - start
    if args.json:
        emit_json({"count": len(archs), "seconds": round(seconds, 3)})
    else:
        print(f"wrote {len(archs):,} {space.name} archs to {args.out} in {seconds:.2f} s")
    return 0


# --- hash -----------------------------------------------------------------------
def _hash_nb101(space: SearchSpace, line: str) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return {"error": f"bad JSON: {exc.msg} at column {exc.colno}"}
    if not isinstance(record, dict):
        return {"error": "expected a JSON object with 'adjacency' and 'operations'"}
    missing = [key for key in ("adjacency", "operations") if key not in record]
    if missing:
        return {"error": f"missing key {', '.join(repr(k) for k in missing)}"}
    cell = space.from_spec(record["adjacency"], record["operations"])  # type: ignore[attr-defined]
    spec = cell.to_spec()
    if isinstance(spec, dict):
        adjacency, operations = spec["adjacency"], spec["operations"]
    else:
        adjacency, operations = spec
    return {
        "hash": cell.hash,
        "adjacency": np.asarray(adjacency).astype(int).tolist(),
        "operations": list(operations),
    }


def _hash_text(space: SearchSpace, line: str) -> dict[str, Any]:
    arch = space.parse(line)
    return {"hash": space.hash(arch), "arch": space.format(arch)}


def hash_line(space: SearchSpace, line: str) -> dict[str, Any]:
    """One output record for one input line; never raises for bad input."""
    try:
        if space.name == "nb101":
            return _hash_nb101(space, line)
        return _hash_text(space, line)
    except (SelfnasError, ValueError, TypeError, KeyError, IndexError) as exc:
        return {"error": str(exc) or type(exc).__name__}


def _input_lines(source: str) -> Iterator[str]:
    if source == "-":
        yield from sys.stdin
        return
    path = Path(source)
    if not path.is_file():
        raise DataNotFound(f"input file {path} does not exist")
    with open(path, encoding="utf-8") as handle:
        yield from handle


def run_hash(args: argparse.Namespace) -> int:
    space = get_space(args.space)
    for raw in _input_lines(args.input):
        line = raw.strip()
        if not line:
            continue
        sys.stdout.write(json.dumps(hash_line(space, line)) + "\n")
    sys.stdout.flush()
    return 0


# --- show -----------------------------------------------------------------------
def describe_arch(space: SearchSpace, arch: Any) -> dict[str, Any]:
    info: dict[str, Any] = {
        "space": space.name,
        "arch": space.format(arch),
        "hash": space.hash(arch),
        "neighbours": len(space.neighbours(arch)),
    }
    unique_key = space.unique_key(arch)
    if unique_key is not None:
        info["unique_key"] = unique_key
    return info


def run_show(args: argparse.Namespace) -> int:
    space = get_space(args.space)
    info = describe_arch(space, space.parse(args.arch))
    if args.json:
        emit_json(info)
    else:
        for key, value in info.items():
            print(f"{key}: {value}")
    return 0


# --- sample -----------------------------------------------------------------------
def run_sample(args: argparse.Namespace) -> int:
    if args.n < 0:
        raise InvalidOption(f"-n must be >= 0, got {args.n}")
    space = get_space(args.space)
    archs = space.sample(args.n, np.random.default_rng(args.seed))
    texts = [space.format(a) for a in archs]
    if args.json:
        emit_json({"space": space.name, "seed": args.seed, "archs": texts})
    else:
        for text in texts:
            print(text)
    return 0
