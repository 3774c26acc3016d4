"""The CLI frame: help, unknown commands, and user errors as one line with status 2."""

from __future__ import annotations

import subprocess
import sys

import pytest

from selfnas.cli import main
from selfnas.errors import DataNotFound, InvalidArchitecture, SelfnasError


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "usage: selfnas" in capsys.readouterr().err


def test_unknown_command_is_a_usage_error():
    with pytest.raises(SystemExit) as exit_info:
        main(["no-such-command"])
    assert exit_info.value.code == 2


def test_errors_form_one_family():
    assert issubclass(InvalidArchitecture, SelfnasError)
    assert issubclass(DataNotFound, SelfnasError)
    assert issubclass(DataNotFound, FileNotFoundError)


def test_console_script_entry_point_runs():
    result = subprocess.run(
        [sys.executable, "-m", "selfnas", "--version"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert result.stdout.startswith("selfnas ")
