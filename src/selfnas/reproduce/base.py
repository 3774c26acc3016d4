"""What a reproduction is: a paper's published numbers, a way to compute ours, a report.

Each reproduction module declares the numbers it targets as `Published` values (transcribed
from the paper, with the table they come from) and a `run(ctx) -> Report` that calls only
the product's public functions. The report puts every number of ours beside the paper's,
on the same row, with the data, budget and seeds it was measured with and how our protocol
differs: a reader sees at a glance where we stand and why a gap may exist.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from selfnas.atomic import write_json


@dataclass(frozen=True)
class Published:
    """One number of a paper's table (`std` where the paper gives one)."""

    table: str
    row: str
    column: str
    value: float | None
    std: float | None = None


@dataclass
class Row:
    """One line of a report: our number and the paper's, and how they were measured."""

    table: str
    row: str
    column: str
    ours: float | None
    ours_std: float | None = None
    paper: float | None = None
    paper_std: float | None = None
    data: str = ""
    budget: str = ""
    seeds: int | str = ""
    protocol: str = ""

    @property
    def gap(self) -> float | None:
        """Ours minus the paper's (None where either is missing)."""
        if self.ours is None or self.paper is None:
            return None
        return self.ours - self.paper


@dataclass
class Context:
    """How a reproduction is asked to run."""

    out: Path
    quick: bool = False
    seeds: int | None = None
    workers: int | None = None
    device: str = "cpu"
    tensorboard: str | None = None

    def n_seeds(self, quick: int, full: int) -> int:
        """`--seeds` where given, else the reproduction's quick or full default."""
        return int(self.seeds) if self.seeds else (quick if self.quick else full)

    def pick(self, quick: Any, full: Any) -> Any:
        return quick if self.quick else full

    def path(self, *parts: str) -> Path:
        target = self.out.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        return target


@dataclass
class Report:
    """A finished reproduction: rows, figures (paths under `out`), notes, timing."""

    name: str
    title: str
    citation: str
    rows: list[Row] = field(default_factory=list)
    figures: list[tuple[str, Path]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extra_markdown: list[str] = field(default_factory=list)
    quick: bool = False
    seconds: float = 0.0
    #: the last invocation's share of `seconds`, and how many invocations it took
    invocation_seconds: float = 0.0
    invocations: int = 1
    command: str = ""


RunFn = Callable[[Context], Report]


@dataclass(frozen=True)
class Reproduction:
    """A registered reproduction: its name, the paper's numbers and the code that runs it."""

    name: str
    title: str
    citation: str
    published: tuple[Published, ...]
    run: RunFn
    #: what the full (non-quick) run costs, measured, for the docs and `--list`
    full_cost: str = ""

    def paper(self, table: str, row: str, column: str) -> Published | None:
        for item in self.published:
            if (item.table, item.row, item.column) == (table, row, column):
                return item
        return None

    def execute(self, ctx: Context) -> Report:
        """Run (or resume) the reproduction; its run time adds up over resumed invocations,
        so the report states what the whole run cost, not just its last piece. An
        invocation stopped by an error or Ctrl-C still adds its time; a killed process
        (SIGKILL, a lost machine) cannot, so the total is then a lower bound."""
        began = time.perf_counter()
        ctx.out.mkdir(parents=True, exist_ok=True)
        ledger = ctx.out / "run_seconds.json"
        before = json.loads(ledger.read_text()) if ledger.is_file() else {}
        seconds = float(before.get("seconds", 0.0))
        invocations = int(before.get("invocations", 0)) + 1
        try:
            report = self.run(ctx)
        finally:
            spent = time.perf_counter() - began
            write_json(ledger, {"seconds": seconds + spent, "invocations": invocations})
        report.invocation_seconds = spent
        report.seconds = seconds + spent
        report.invocations = invocations
        report.quick = ctx.quick
        return report


def attach_paper(rows: Sequence[Row], published: Sequence[Published]) -> list[Row]:
    """Fill each row's `paper` numbers from `published` by (table, row, column); published
    numbers we did not measure become rows with `ours` empty, so nothing is hidden."""
    index = {(p.table, p.row, p.column): p for p in published}
    seen = set()
    out = []
    for row in rows:
        key = (row.table, row.row, row.column)
        hit = index.get(key)
        if hit is not None:
            row.paper, row.paper_std = hit.value, hit.std
            seen.add(key)
        out.append(row)
    for key, item in index.items():
        if key not in seen:
            out.append(
                Row(
                    item.table,
                    item.row,
                    item.column,
                    None,
                    None,
                    item.value,
                    item.std,
                    protocol="not measured here",
                )
            )
    return out
