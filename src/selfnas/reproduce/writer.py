"""Write a reproduction's report: `report.md` (ours beside the paper's, row by row),
`results.csv` (the same rows, machine-readable) and one PNG per table comparing the two.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd

from selfnas.atomic import atomic_path, write_csv, write_text
from selfnas.reproduce.base import Report, Row
from selfnas.stats import format_mean_std

CSV_COLUMNS = (
    "table",
    "row",
    "column",
    "ours",
    "ours_std",
    "paper",
    "paper_std",
    "gap",
    "data",
    "budget",
    "seeds",
    "protocol",
)


def fmt(value: float | None, std: float | None = None) -> str:
    """A number at a precision that suits its size (Kendall tau 4 places, accuracy 2)."""
    if value is None or math.isnan(value):
        return "-"
    size = abs(value)
    return format_mean_std(value, std, 4 if size < 1.5 else 2 if size < 100 else 1)


def frame(rows: list[Row]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "table": r.table,
                "row": r.row,
                "column": r.column,
                "ours": r.ours,
                "ours_std": r.ours_std,
                "paper": r.paper,
                "paper_std": r.paper_std,
                "gap": r.gap,
                "data": r.data,
                "budget": r.budget,
                "seeds": str(r.seeds),
                "protocol": r.protocol,
            }
            for r in rows
        ],
        columns=list(CSV_COLUMNS),
    )


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown_rows(rows: list[Row]) -> str:
    """One markdown table per report table: ours | paper | gap, then how it was measured."""
    out = []
    for table in dict.fromkeys(r.table for r in rows):
        part = [r for r in rows if r.table == table]
        lines = [
            f"### {table}",
            "",
            "| row | metric | ours | paper | ours − paper | data | budget | seeds "
            "| protocol difference |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in part:
            lines.append(
                "| "
                + " | ".join(
                    _cell(c)
                    for c in (
                        r.row,
                        r.column,
                        fmt(r.ours, r.ours_std),
                        fmt(r.paper, r.paper_std),
                        fmt(r.gap),
                        r.data or "-",
                        r.budget or "-",
                        r.seeds if r.seeds != "" else "-",
                        r.protocol or "same",
                    )
                )
                + " |"
            )
        out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:60] or "table"


def plot_table(rows: list[Row], target: Path, title: str) -> Path | None:
    """Ours (filled) against the paper (hollow) for every row, one panel per metric."""
    pairs = [r for r in rows if r.ours is not None or r.paper is not None]
    if not pairs:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = list(dict.fromkeys(r.column for r in pairs))[:8]
    labels = list(dict.fromkeys(r.row for r in pairs))
    fig, axes = plt.subplots(
        1,
        len(columns),
        figsize=(3.2 * len(columns) + 1.5, 0.35 * len(labels) + 1.6),
        dpi=110,
        squeeze=False,
        sharey=True,
    )
    for ax, column in zip(axes[0], columns, strict=False):
        for y, label in enumerate(labels):
            hit = [r for r in pairs if r.column == column and r.row == label]
            if not hit:
                continue
            r = hit[0]
            if r.paper is not None:
                ax.errorbar(
                    r.paper,
                    y + 0.15,
                    xerr=r.paper_std or 0,
                    fmt="o",
                    mfc="none",
                    color="tab:gray",
                    label="paper" if y == 0 else None,
                )
            if r.ours is not None:
                ax.errorbar(
                    r.ours,
                    y - 0.15,
                    xerr=r.ours_std or 0,
                    fmt="o",
                    color="tab:blue",
                    label="ours" if y == 0 else None,
                )
        ax.set_title(column, fontsize=9)
        ax.grid(alpha=0.3)
    axes[0][0].set_yticks(range(len(labels)))
    axes[0][0].set_yticklabels(labels, fontsize=8)
    axes[0][0].invert_yaxis()
    handles = [
        plt.Line2D([], [], marker="o", ls="", color="tab:blue", label="ours"),
        plt.Line2D([], [], marker="o", ls="", mfc="none", color="tab:gray", label="paper"),
    ]
    fig.legend(handles=handles, loc="upper right", frameon=False, fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return target


def write_report(report: Report, out: Path) -> Path:
    """`out/report.md`, `out/results.csv` and `out/<table>.png`; returns the report path."""
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / "results.csv", frame(report.rows))
    figures = list(report.figures)
    for table in dict.fromkeys(r.table for r in report.rows):
        part = [r for r in report.rows if r.table == table]
        png = plot_table(part, out / f"compare_{slug(table)}.png", table)
        if png is not None:
            figures.append((f"ours vs paper: {table}", png))
    mode = "quick (a smoke-sized run: numbers are indicative only)" if report.quick else "full"
    lines = [
        f"# {report.title}",
        "",
        f"Reproduces: {report.citation}.",
        "",
        f"Mode: {mode}. Run time: {report.seconds:.0f} s"
        + (
            f" over {report.invocations} invocations (resumed; the last took "
            f"{report.invocation_seconds:.0f} s)."
            if report.invocations > 1
            else "."
        ),
        "",
    ]
    if report.command:
        lines += ["```", report.command, "```", ""]
    if report.notes:
        lines += ["## Notes", ""] + [f"- {n}" for n in report.notes] + [""]
    lines += ["## Ours beside the paper", "", markdown_rows(report.rows)]
    for extra in report.extra_markdown:
        lines += [extra, ""]
    if figures:
        lines += ["## Figures", ""]
        for caption, path in figures:
            rel = Path(path).relative_to(out) if Path(path).is_relative_to(out) else path
            lines += [f"![{caption}]({rel})", ""]
    lines += [
        "Files: `results.csv` holds every row above (ours, paper, gap, data, budget, seeds, "
        "protocol).",
        "",
    ]
    return write_text(out / "report.md", "\n".join(lines))
