"""Every `selfnas ...` command the docs record still parses with today's CLI.

Committed results name the command that made them; a renamed flag or subcommand would
leave a results page whose command no longer runs. Placeholder lines (`...`, `[options]`,
`<...>`, an upper-case word such as `FILE` or `S`) are synopses, not recorded commands,
and are skipped.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from selfnas.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"```[^\n]*\n(.*?)```", re.S)
PLACEHOLDER = re.compile(r"\.\.\.|\[options\]|<[^>]+>|\[--|(?<=\s)[A-Z][A-Z_]*(?=\s|$)")


def _doc_files() -> list[Path]:
    docs = sorted((ROOT / "docs").rglob("*.md"))
    return [ROOT / "README.md", *(p for p in docs if p.name != "cli.md")]


def _commands(text: str) -> list[str]:
    """`selfnas ...` lines of the fenced blocks, backslash continuations joined."""
    found = []
    for block in FENCE.findall(text):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            line = line.split("  #", 1)[0].strip()
            if line.startswith("selfnas ") and not PLACEHOLDER.search(line):
                found.append(line)
    return found


CASES = [
    pytest.param(command, id=f"{path.relative_to(ROOT)}:{i}")
    for path in _doc_files()
    for i, command in enumerate(_commands(path.read_text()))
]


def test_docs_record_commands() -> None:
    assert len(CASES) > 50


@pytest.mark.parametrize("command", CASES)
def test_recorded_command_parses(command: str) -> None:
    parser = build_parser()
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            parser.parse_args(shlex.split(command)[1:])
    except SystemExit as exc:
        pytest.fail(f"{command}\n{stderr.getvalue().strip()}" if exc.code else command)
