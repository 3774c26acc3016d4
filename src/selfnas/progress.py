"""Progress bars for long work (rich), quiet when output is not a terminal or JSON is asked."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

T = TypeVar("T")

_console = Console(stderr=True)
_enabled = True


def set_enabled(enabled: bool) -> None:
    """Turn bars off globally (e.g. under `--json` or in tests)."""
    global _enabled
    _enabled = enabled


def enabled() -> bool:
    return _enabled and sys.stderr.isatty()


@contextmanager
def progress_bar() -> Iterator[Progress]:
    """A rich Progress on stderr; disabled (but still usable) when not interactive."""
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=_console,
        disable=not enabled(),
        transient=False,
    )
    with bar:
        yield bar


def track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate with a progress bar."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with progress_bar() as bar:
        task = bar.add_task(description, total=total, info="")
        for item in items:
            yield item
            bar.advance(task)
