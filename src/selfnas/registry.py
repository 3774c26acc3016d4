"""One lazy name -> component table, shared by spaces, benchmarks, encoders, objectives,
strategies and reproductions.

Each entry is a `"module:attr"` target (attr may be dotted, e.g. `GIN.from_space`) plus a
one-line help text. Nothing is imported until `get(name)` asks for that entry, so listing
the names (CLI help, `--list`) costs no imports, and one component's dependencies are not
everyone's. Adding a component is one line in its registry.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib import import_module
from typing import Any, Generic, NamedTuple, TypeVar

from selfnas.errors import InvalidOption

T = TypeVar("T")


class Entry(NamedTuple):
    """Where a registered component lives (`module`, `attr`) and what it is (`help`)."""

    module: str
    attr: str
    help: str


class Registry(Generic[T]):
    """Names (in registration order) -> lazily imported objects of one kind.

    `kind` names the family in messages ("search space", "strategy"); `ignore_case` lets
    `get("NB201")` find `nb201`."""

    def __init__(
        self, kind: str, entries: dict[str, tuple[str, str]], *, ignore_case: bool = False
    ) -> None:
        self.kind = kind
        self.ignore_case = ignore_case
        self._entries: dict[str, Entry] = {}
        self._loaded: dict[str, T] = {}
        for name, (target, help_text) in entries.items():
            self.register(name, target, help_text)

    def register(self, name: str, target: str, help_text: str) -> None:
        """Add `name` -> `target` (`"module:attr"`); registering a name twice is a bug."""
        module, sep, attr = target.partition(":")
        if not sep or not module or not attr:
            raise ValueError(f"{self.kind} {name!r}: target must be 'module:attr', got {target!r}")
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = Entry(module, attr, help_text)

    # --- lookup ---------------------------------------------------------------
    def key(self, name: str) -> str:
        """The registered name `name` refers to; `InvalidOption` lists the choices."""
        key = name.lower() if self.ignore_case else name
        if key not in self._entries:
            raise InvalidOption(f"unknown {self.kind} {name!r}; choose one of {self.choices()}")
        return key

    def get(self, name: str) -> T:
        """The object registered as `name` (imported on first use, then kept)."""
        key = self.key(name)
        if key not in self._loaded:
            entry = self._entries[key]
            obj: Any = import_module(entry.module)
            for part in entry.attr.split("."):
                obj = getattr(obj, part)
            self._loaded[key] = obj
        return self._loaded[key]

    def entry(self, name: str) -> Entry:
        """Where `name` lives, without importing it."""
        return self._entries[self.key(name)]

    # --- listing --------------------------------------------------------------
    def names(self) -> list[str]:
        return list(self._entries)

    def choices(self) -> str:
        """`a, b, c`: the names for an error message or a short help text."""
        return ", ".join(self._entries)

    def help_text(self) -> str:
        """`a (what a is), b (what b is), ...`: a CLI help text that lists every name."""
        return ", ".join(
            f"{name} ({entry.help})" if entry.help else name
            for name, entry in self._entries.items()
        )

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __getitem__(self, name: str) -> Entry:
        """`registry[name]`: the entry (module, attr, help) of `name`; KeyError if none."""
        return self._entries[name]

    def items(self) -> Iterator[tuple[str, Entry]]:
        return iter(self._entries.items())

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {self.choices()})"


__all__ = ["Entry", "Registry"]
