"""The three search phases (warm-up / search / prune) and when each cell is fixed.

Phase boundaries are whole epochs: warm-up = round(E * s0), search = round(E * (s0 + s1))
- warm-up, prune = the rest, so no phase is ever negative however short the run. During
the prune phase the cells are fixed one by one, first to last (FPP) or last to first (BPP),
every T = prune epochs / L epochs, starting at the phase's first step; several cells can
fall due within one epoch, and the last one is fixed at E - T, so it is still trained in
its derived form. `end` prunes every cell once, after the last epoch (no phase III: its
epochs go to the search phase, as in the paper's ablation).
"""

from __future__ import annotations

from dataclasses import dataclass

from selfnas.errors import InvalidOption

PRUNE_MODES = ("fpp", "bpp", "end")
_EPS = 1e-9


@dataclass(frozen=True)
class PhaseSchedule:
    epochs: int
    cells: int
    split: tuple[float, float, float] = (0.2, 0.4, 0.4)
    prune: str = "fpp"

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise InvalidOption(f"epochs must be >= 1, got {self.epochs}")
        if self.cells < 1:
            raise InvalidOption(f"cells must be >= 1, got {self.cells}")
        if self.prune not in PRUNE_MODES:
            raise InvalidOption(
                f"prune must be one of {', '.join(PRUNE_MODES)}, got {self.prune!r}"
            )
        if len(self.split) != 3 or min(self.split) < 0 or abs(sum(self.split) - 1) > 1e-6:
            raise InvalidOption(
                f"split must be 3 non-negative fractions summing to 1, got {self.split}"
            )

    @property
    def warmup_epochs(self) -> int:
        return round(self.epochs * self.split[0])

    @property
    def search_epochs(self) -> int:
        if self.prune == "end":
            return self.epochs - self.warmup_epochs
        return round(self.epochs * (self.split[0] + self.split[1])) - self.warmup_epochs

    @property
    def prune_epochs(self) -> int:
        return self.epochs - self.warmup_epochs - self.search_epochs

    def phase(self, epoch: int) -> str:
        """Phase of (0-based) `epoch`: 'warmup', 'search' or 'prune'."""
        if epoch < self.warmup_epochs:
            return "warmup"
        if epoch < self.warmup_epochs + self.search_epochs:
            return "search"
        return "prune"

    def order(self) -> list[int]:
        """The order in which cells are fixed."""
        cells = list(range(self.cells))
        return cells[::-1] if self.prune == "bpp" else cells

    def fix_times(self) -> list[tuple[float, int]]:
        """(time in epochs, cell) for every cell; a cell is fixed once training reaches it."""
        if self.prune == "end" or self.prune_epochs == 0:
            return [(float(self.epochs), cell) for cell in self.order()]
        start = float(self.warmup_epochs + self.search_epochs)
        step = self.prune_epochs / self.cells
        return [(start + rank * step, cell) for rank, cell in enumerate(self.order())]

    def due(self, progress: float) -> list[int]:
        """Cells whose fix time is at or before `progress` (epochs done, fractional)."""
        return [cell for time, cell in self.fix_times() if time <= progress + _EPS]
