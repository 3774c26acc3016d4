"""`selfnas report RUN_DIRS... --out DIR`: many finished runs, one markdown page + plots.

    selfnas report selfnas-demo runs/nb201-compare results/a2v --out report

Each directory given is searched (recursively) for what selfnas writes:

- search runs (`selfnas search/compare --out`, the demo's `search/`): `config.json` +
  `results.parquet`; grouped by problem (benchmark, dataset, metrics), one table per
  problem with every run's strategies side by side and one regret plot per problem;
- reproductions (`selfnas reproduce --out`): `results.csv` with ours/paper columns; one
  table per reproduction plus a scatter of ours against the paper's numbers;
- pretraining runs (`selfnas pretrain --out`): `metrics.json`; final metrics table and
  training-loss curves.

Writes DIR/report.md, DIR/search.csv, DIR/reproductions.csv, DIR/pretraining.csv and the PNGs;
`--tensorboard TB` also exports every history and search run found to TensorBoard files.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pandas as pd

from selfnas.cli.output import add_json_flag, emit_json
from selfnas.errors import InvalidOption
from selfnas.runs import PRETRAINING, REPRODUCTION, SEARCH, PretrainRun, RunDir, run_kind


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "report",
        help="aggregate search, reproduction and pretraining run dirs into tables and plots",
        description="Find the search runs, reproductions and pretraining runs under each "
        "RUN_DIR and write DIR/report.md (markdown tables), CSVs and PNG plots.",
    )
    p.add_argument(
        "run_dirs",
        nargs="+",
        type=Path,
        metavar="RUN_DIR",
        help="directories written by selfnas search/compare/demo/reproduce/pretrain",
    )
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.add_argument(
        "--regret-at",
        type=int,
        default=None,
        help="also tabulate mean regret after this many queries",
    )
    p.add_argument(
        "--tensorboard",
        default=None,
        metavar="DIR",
        help="also export every training history and search run to TensorBoard",
    )
    add_json_flag(p)
    p.set_defaults(handler=_report)


# --- discovery --------------------------------------------------------------------------
def _label(path: Path, roots: list[Path]) -> str:
    """A short, unique-enough name: the path relative to the RUN_DIR given (with its name)."""
    for root in roots:
        if path == root or root in path.parents:
            rel = path.relative_to(root.parent) if root.parent != root else path
            return str(rel)
    return str(path)


#: the kinds of run the report has a section for, in `discover`'s keys
_SECTIONS = {"search": SEARCH, "reproduction": REPRODUCTION, "pretraining": PRETRAINING}


def discover(run_dirs: list[Path]) -> dict[str, list[Path]]:
    """{'search': [...], 'reproduction': [...], 'pretraining': [...]} under `run_dirs`,
    each directory by the kind it records (`selfnas.runs.run_kind`)."""
    found: dict[str, list[Path]] = {section: [] for section in _SECTIONS}
    for root in run_dirs:
        if not root.is_dir():
            raise InvalidOption(f"{root} is not a directory")
        for path in sorted({root, *(p for p in root.rglob("*") if p.is_dir())}):
            kind = run_kind(path)
            for section, wanted in _SECTIONS.items():
                if kind == wanted and _complete(path, kind):
                    found[section].append(path)
    return found


def _complete(path: Path, kind: str) -> bool:
    """Whether a run has what its section reads (a search has no results before its seeds
    end, a pretraining run no metrics before its first epoch, a reproduction no report)."""
    if kind == SEARCH:
        return RunDir(path).results_path.is_file()
    if kind == PRETRAINING:
        return PretrainRun(path).metrics_path.is_file()
    return (path / "results.csv").is_file() and (path / "report.md").is_file()


# --- search runs ----------------------------------------------------------------------------
def _problem_key(config: dict[str, Any]) -> str:
    p = config.get("problem", {})
    parts = [str(p.get("benchmark"))]
    if p.get("dataset"):
        parts.append(str(p["dataset"]))
    parts.append(f"{p.get('metric') or 'default'} -> {p.get('test_metric') or 'default'}")
    return " ".join(parts)


def _fmt(mean: Any, std: Any, digits: int) -> str:
    from selfnas.stats import format_mean_std

    return format_mean_std(mean, std, digits)


def search_section(runs: list[Path], roots: list[Path], out: Path, regret_at: int | None):
    """(markdown, tidy rows, figures) for the search runs."""
    from selfnas.search.plots import BEST_TEST_LABEL, plot_regret, search_curves
    from selfnas.search.summary import found_percent, summarise

    groups: dict[str, list[tuple[str, pd.DataFrame, dict[str, Any]]]] = {}
    for path in runs:
        run = RunDir(path)
        config = run.read_config() or {}
        frame = run.read_results()
        if frame.empty:
            continue
        groups.setdefault(_problem_key(config), []).append((_label(path, roots), frame, config))
    lines, rows, figures = [], [], []
    for index, (problem, items) in enumerate(groups.items(), start=1):
        lines += [f"### {problem}", ""]
        header = (
            "| run | strategy | seeds | queries | test (mean ± std) | test regret "
            "| rank | queries to final best | found optimum |"
        )
        extra = f" regret @{regret_at} |" if regret_at else ""
        lines += [header + extra, "|" + "---|" * (9 + bool(regret_at))]
        curves = []
        for label, frame, config in items:
            summary = summarise(frame, checkpoints=(regret_at,) if regret_at else ())
            budget = config.get("budget", {}).get("queries")
            for strategy, s in summary.items():
                at = s.get(f"mean_test_regret_at_{regret_at}") if regret_at else None
                rows.append(
                    {"problem": problem, "run": label, "strategy": strategy, "budget": budget, **s}
                )
                lines.append(
                    f"| {label} | {strategy} | {s['seeds']} | {s['mean_queries']:.0f} "
                    f"| {_fmt(s['mean_test'], s['std_test'], 3)} "
                    f"| {_fmt(s['mean_test_regret'], s['std_test_regret'], 3)} "
                    f"| {_fmt(s['mean_rank'], s['std_rank'], 1)} "
                    f"| {_fmt(s['mean_queries_to_best'], s['std_queries_to_best'], 1)} "
                    f"| {found_percent(s)} |" + (f" {_fmt(at, None, 3)} |" if regret_at else "")
                )
            prefix = "" if len(items) == 1 else f"{label}: "
            labelled = frame.assign(strategy=prefix + frame["strategy"].astype(str))
            curves.append(search_curves(labelled))
        is_regret = all(regret for _, regret in curves)
        merged = pd.concat([c for c, _ in curves], ignore_index=True)
        what = "test regret" if is_regret else "best test accuracy"
        png = plot_regret(
            merged,
            out / f"{'regret' if is_regret else 'best'}_{index}.png",
            title=problem,
            ylabel=None if is_regret else BEST_TEST_LABEL,
        )
        figures.append((f"{what} vs queries, {problem}", png))
        lines += ["", f"![{what}, {problem}]({png.name})", ""]
    return "\n".join(lines), rows, figures


# --- reproductions ------------------------------------------------------------------------------
def reproduction_section(dirs: list[Path], roots: list[Path], out: Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from selfnas.atomic import atomic_path
    from selfnas.reproduce.writer import fmt

    lines, tidy, figures = [], [], []
    for index, path in enumerate(dirs, start=1):
        frame = pd.read_csv(path / "results.csv")
        if not {"ours", "paper"} <= set(frame.columns):
            continue
        label = _label(path, roots)
        title = (path / "report.md").read_text().splitlines()[0].lstrip("# ").strip()
        both = frame.dropna(subset=["ours", "paper"])
        lines += [
            f"### {title} (`{label}`)",
            "",
            f"{len(frame)} rows, {len(both)} with both numbers; "
            f"full report: `{path / 'report.md'}`.",
            "",
            "| table | row | metric | ours | paper | ours − paper |",
            "|---|---|---|---|---|---|",
        ]
        for r in frame.itertuples(index=False):
            ours = None if pd.isna(r.ours) else float(r.ours)
            paper = None if pd.isna(r.paper) else float(r.paper)
            std = None if pd.isna(r.ours_std) else float(r.ours_std)
            gap = None if ours is None or paper is None else ours - paper
            lines.append(
                f"| {r.table} | {r.row} | {r.column} | {fmt(ours, std)} "
                f"| {fmt(paper)} | {fmt(gap)} |"
            )
            tidy.append(
                {
                    "reproduction": label,
                    "table": r.table,
                    "row": r.row,
                    "column": r.column,
                    "ours": ours,
                    "ours_std": std,
                    "paper": paper,
                    "gap": gap,
                }
            )
        if len(both):
            fig, ax = plt.subplots(figsize=(5, 5), dpi=110)
            for column, part in both.groupby("column", sort=False):
                ax.scatter(part["paper"], part["ours"], s=14, label=str(column))
            low = float(min(both["paper"].min(), both["ours"].min()))
            high = float(max(both["paper"].max(), both["ours"].max()))
            ax.plot([low, high], [low, high], color="gray", linewidth=0.8, linestyle="--")
            ax.set_xlabel("paper")
            ax.set_ylabel("ours")
            ax.set_title(title, fontsize=9)
            ax.grid(alpha=0.3)
            if both["column"].nunique() <= 10:
                ax.legend(fontsize=7, frameon=False)
            fig.tight_layout()
            target = out / f"reproduction_{index}.png"
            with atomic_path(target) as tmp:
                fig.savefig(tmp, format="png")
            plt.close(fig)
            figures.append((f"ours vs paper, {title}", target))
            lines += ["", f"![ours vs paper, {title}]({target.name})"]
        lines.append("")
    return "\n".join(lines), tidy, figures


# --- pretraining runs ------------------------------------------------------------------------
_FINAL_KEYS = ("reconstruction_accuracy", "validity", "uniqueness", "train_loss", "seconds")


def pretraining_section(dirs: list[Path], roots: list[Path], out: Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from selfnas.atomic import atomic_path

    lines = [
        "| run | objective | space | epochs | " + " | ".join(_FINAL_KEYS) + " |",
        "|" + "---|" * (4 + len(_FINAL_KEYS)),
    ]
    tidy, curves = [], []
    for path in dirs:
        run = PretrainRun(path)
        config, history, final = run.config, run.history, run.final
        label = _label(path, roots)
        row = {
            "run": label,
            "objective": config.get("objective"),
            "space": config.get("space"),
            "epochs": final.get("epoch", len(history)),
        }
        row.update({k: final.get(k) for k in _FINAL_KEYS})
        tidy.append(row)
        cells = [str(row[k]) for k in ("run", "objective", "space", "epochs")]
        cells += [_fmt(row[k], None, 4 if k != "seconds" else 1) for k in _FINAL_KEYS]
        lines.append("| " + " | ".join(cells) + " |")
        losses = [(h.get("epoch", i + 1), h.get("train_loss")) for i, h in enumerate(history)]
        losses = [(e, v) for e, v in losses if isinstance(v, int | float)]
        if losses:
            curves.append((label, losses))
    figures = []
    if curves:
        fig, ax = plt.subplots(figsize=(6, 4), dpi=110)
        for label, points in curves:
            ax.plot(*zip(*points, strict=True), marker="o", markersize=3, label=label)
        ax.set_xlabel("epoch")
        ax.set_ylabel("training loss")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, frameon=False)
        fig.tight_layout()
        target = out / "pretraining_loss.png"
        with atomic_path(target) as tmp:
            fig.savefig(tmp, format="png")
        plt.close(fig)
        figures.append(("pretraining loss", target))
        lines += ["", f"![pretraining loss]({target.name})"]
    return "\n".join(lines) + "\n", tidy, figures


# --- the command --------------------------------------------------------------------------------
def build_report(run_dirs: list[Path], out: Path, regret_at: int | None = None) -> dict[str, Any]:
    """Write the report; returns what was found and written (the `--json` document)."""
    from selfnas.atomic import write_csv, write_text

    roots = [Path(p).resolve() for p in run_dirs]
    found = discover(roots)
    if not any(found.values()):
        raise InvalidOption(
            "no selfnas runs found under "
            + ", ".join(map(str, run_dirs))
            + " (looked for results.parquet + config.json, results.csv + report.md, "
            "metrics.json + config.json)"
        )
    out.mkdir(parents=True, exist_ok=True)
    out = out.resolve()
    parts = ["# selfnas report", "", "Runs: " + ", ".join(f"`{r}`" for r in run_dirs), ""]
    written: dict[str, Any] = {"report": str(out / "report.md"), "figures": [], "found": {}}
    sections = (
        ("search", "Searches", lambda d: search_section(d, roots, out, regret_at), "search.csv"),
        (
            "reproduction",
            "Reproductions",
            lambda d: reproduction_section(d, roots, out),
            "reproductions.csv",
        ),
        (
            "pretraining",
            "Pretraining",
            lambda d: pretraining_section(d, roots, out),
            "pretraining.csv",
        ),
    )
    for kind, heading, make, csv_name in sections:
        written["found"][kind] = [str(p) for p in found[kind]]
        if not found[kind]:
            continue
        text, tidy, figures = make(found[kind])
        parts += [f"## {heading}", "", text, ""]
        if tidy:
            write_csv(out / csv_name, pd.DataFrame(tidy))
        written["figures"] += [str(f) for _, f in figures]
    write_text(out / "report.md", "\n".join(parts).rstrip() + "\n")
    return written


def _report(args: argparse.Namespace) -> int:
    if args.regret_at is not None and args.regret_at < 1:
        raise InvalidOption("--regret-at must be >= 1")
    result = build_report(args.run_dirs, args.out, args.regret_at)
    if args.tensorboard:
        from selfnas.tracking import export_tree

        result["tensorboard"] = []
        for root in args.run_dirs:
            names = export_tree(root, Path(args.tensorboard) / Path(root).resolve().name)
            result["tensorboard"] += names
    if args.json:
        emit_json(result)
        return 0
    counts = ", ".join(f"{len(v)} {k} run(s)" for k, v in result["found"].items())
    print(f"found {counts}")
    print(f"report:  {result['report']}")
    for figure in result["figures"]:
        print(f"figure:  {figure}")
    if args.tensorboard:
        print(
            f"tensorboard: {len(result['tensorboard'])} run(s) under {args.tensorboard} "
            "(view with `pip install tensorboard && tensorboard --logdir "
            f"{args.tensorboard}`)"
        )
    return 0
