"""One exception family, so the CLI can turn any expected failure into one clear line.

Everything a user can cause (bad input, missing or corrupt data, a bad option) raises a
subclass of `SelfnasError`; the CLI prints `error: <message>` and exits with status 2.
Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class SelfnasError(Exception):
    """Base of every error a user can cause and fix."""

    exit_code = 2


class InvalidArchitecture(SelfnasError, ValueError):
    """An architecture that is not a member of its search space (or cannot be parsed)."""


class InvalidOption(SelfnasError, ValueError):
    """A bad argument or configuration value (unknown name, out of range, conflicting)."""


class DataNotFound(SelfnasError, FileNotFoundError):
    """A data file the user must provide is missing; the message says where to get it."""


class DataCorrupt(SelfnasError, ValueError):
    """A data file exists but is truncated or malformed; the message names the file."""


class ResumeMismatch(SelfnasError):
    """A run directory holds a checkpoint made with a different configuration."""


class BudgetExhausted(SelfnasError):
    """A search asked for more evaluations than its budget allows."""


class TrainingFailed(SelfnasError):
    """Training an architecture diverged (a non-finite loss); the message says when."""
