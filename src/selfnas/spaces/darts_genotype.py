"""The DARTS vocabulary: op names, cell topology, the `Genotype` pair and the typed cell.

Kept apart from the space so the one-shot supernet can import the types and op names
without the space's sampling and tensor code; the supernet, its derived networks and the
space all read the op list, edge numbering and genotype types from here. The text form of
a `Genotype` is the one the DARTS repository's `genotypes.py` prints and stores:

    Genotype(normal=[('sep_conv_3x3', 0), ...], normal_concat=[2, 3, 4, 5],
             reduce=[...], reduce_concat=[2, 3, 4, 5])

(`range(2, 6)` is accepted for a concat, as DARTS itself writes it).

A cell has two inputs (index 0 = c_{k-2}, 1 = c_{k-1}) and four intermediate nodes
(indices 2..5); intermediate node k (0-based) takes two (op, input) pairs with input in
0 .. k+1; the cell output concatenates nodes 2..5. NAS-Bench-301 requires the two inputs of
a node to be distinct, which also makes the canonical order below unambiguous.
"""

from __future__ import annotations

import ast
import numbers
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from selfnas.errors import InvalidArchitecture

#: the seven operations a DARTS / NB301 cell edge can carry
DARTS_OPS: tuple[str, ...] = (
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
)

#: DARTS's `PRIMITIVES`: the ops above with `none` (zero) first
PRIMITIVES: tuple[str, ...] = ("none", *DARTS_OPS)
#: the ops P-DARTS caps in a derived cell (pools) and the parameter-free shortcut
POOL_OPS: tuple[str, ...] = ("max_pool_3x3", "avg_pool_3x3")
SKIP_CONNECT = "skip_connect"
#: the ops with weights (what SSWP-NAS' skip dropout samples instead of a skip)
PARAMETRIC_OPS: tuple[str, ...] = tuple(name for name in DARTS_OPS if "conv" in name)

NUM_NODES = 4  # intermediate nodes per cell
NUM_CELL_INPUTS = 2  # c_{k-2}, c_{k-1}
CONCAT: tuple[int, ...] = tuple(range(NUM_CELL_INPUTS, NUM_CELL_INPUTS + NUM_NODES))
#: first edge into each intermediate node: node k has k + 2 candidate inputs
NODE_STARTS: tuple[int, ...] = (0, 2, 5, 9)
NUM_EDGES = 14  # candidate (input -> node) edges of a cell, as a supernet holds them

Edge = tuple[str, int]
Cell = tuple[Edge, ...]  # 2 * NUM_NODES (op, input) pairs, node by node


def edge_index(node: int, source: int) -> int:
    """Index (0..13) of the edge from `source` (0..node+1) into intermediate node `node`."""
    if not 0 <= node < NUM_NODES or not 0 <= source <= node + 1:
        raise InvalidArchitecture(f"no edge from input {source} into node {node}")
    return NODE_STARTS[node] + source


def edge_source(edge: int) -> tuple[int, int]:
    """(node, source) of edge `edge`."""
    if 0 <= edge < NUM_EDGES:
        node = max(k for k in range(NUM_NODES) if NODE_STARTS[k] <= edge)
        return node, edge - NODE_STARTS[node]
    raise InvalidArchitecture(f"edge index {edge} out of range")


def check_cell(cell: Iterable[Sequence[object]], what: str = "cell") -> Cell:
    """Validate one cell's (op, input) pairs, keeping their order."""
    try:
        pairs = [tuple(pair) for pair in cell]
    except TypeError as exc:
        raise InvalidArchitecture(f"{what}: expected a list of (op, input) pairs") from exc
    if len(pairs) != 2 * NUM_NODES:
        raise InvalidArchitecture(
            f"{what}: expected {2 * NUM_NODES} (op, input) pairs, got {len(pairs)}"
        )
    checked: list[Edge] = []
    for position, pair in enumerate(pairs):
        if len(pair) != 2:
            raise InvalidArchitecture(f"{what}: pair {position} is not an (op, input) pair")
        op, source = pair
        node = position // 2
        if op not in DARTS_OPS:
            raise InvalidArchitecture(
                f"{what}: unknown op {op!r} on node {node + 2}; expected one of "
                f"{', '.join(DARTS_OPS)}"
            )
        if isinstance(source, bool) or not isinstance(source, numbers.Integral):
            raise InvalidArchitecture(f"{what}: input {source!r} of node {node + 2} is not an int")
        if not 0 <= int(source) <= node + 1:
            raise InvalidArchitecture(
                f"{what}: node {node + 2} cannot take input {source} (allowed 0..{node + 1})"
            )
        checked.append((str(op), int(source)))
    for node in range(NUM_NODES):
        first, second = checked[2 * node], checked[2 * node + 1]
        if first[1] == second[1]:
            raise InvalidArchitecture(
                f"{what}: node {node + 2} takes input {first[1]} twice; NAS-Bench-301 needs "
                "two distinct inputs"
            )
    return tuple(checked)


def canonical_cell(cell: Iterable[Sequence[object]], what: str = "cell") -> Cell:
    """Validate one cell's (op, input) pairs and put each node's two pairs in input order.

    Order within a node carries no meaning (the node sums its two edges), so sorting makes
    equal cells compare equal.
    """
    checked = check_cell(cell, what)
    result: list[Edge] = []
    for node in range(NUM_NODES):
        pair = checked[2 * node : 2 * node + 2]
        result.extend(sorted(pair, key=lambda edge: edge[1]))
    return tuple(result)


def _concat(value: Iterable[int], what: str) -> tuple[int, ...]:
    try:
        concat = tuple(int(v) for v in value)
    except (TypeError, ValueError) as exc:
        raise InvalidArchitecture(f"{what}: expected a list of node indices") from exc
    if concat != CONCAT:
        raise InvalidArchitecture(
            f"{what}: must be {list(CONCAT)} (all four intermediate nodes), got {list(concat)}"
        )
    return concat


@dataclass(frozen=True)
class Genotype:
    """A normal and a reduction cell, in canonical order; immutable and hashable.

    Built like DARTS's namedtuple (`Genotype(normal=[...], normal_concat=range(2, 6), ...)`);
    lists are accepted and stored as tuples; invalid input raises `InvalidArchitecture`.
    """

    normal: Cell
    normal_concat: tuple[int, ...] = CONCAT
    reduce: Cell = ()
    reduce_concat: tuple[int, ...] = CONCAT

    def __post_init__(self) -> None:
        object.__setattr__(self, "normal", canonical_cell(self.normal, "normal cell"))
        object.__setattr__(self, "reduce", canonical_cell(self.reduce, "reduce cell"))
        object.__setattr__(self, "normal_concat", _concat(self.normal_concat, "normal_concat"))
        object.__setattr__(self, "reduce_concat", _concat(self.reduce_concat, "reduce_concat"))

    @property
    def cells(self) -> tuple[Cell, Cell]:
        """(normal, reduce)."""
        return (self.normal, self.reduce)

    @property
    def cell_genotypes(self) -> tuple[CellGenotype, CellGenotype]:
        """(normal, reduce) as typed cells, the form a network builds its cells from."""
        return (
            CellGenotype(self.normal, reduction=False, concat=self.normal_concat),
            CellGenotype(self.reduce, reduction=True, concat=self.reduce_concat),
        )

    def __str__(self) -> str:
        return format_genotype(self)


def _cell_text(cell: Cell) -> str:
    return "[" + ", ".join(f"({op!r}, {source})" for op, source in cell) + "]"


def format_genotype(genotype: Genotype) -> str:
    """The DARTS repository's text for a genotype (round-trips with `parse_genotype`)."""
    return (
        f"Genotype(normal={_cell_text(genotype.normal)}, "
        f"normal_concat={list(genotype.normal_concat)}, "
        f"reduce={_cell_text(genotype.reduce)}, "
        f"reduce_concat={list(genotype.reduce_concat)})"
    )


_FIELDS = ("normal", "normal_concat", "reduce", "reduce_concat")


def _literal(node: ast.expr, field: str) -> object:
    """A literal value, or `range(a, b)` as DARTS writes the concat lists."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "range"
        and not node.keywords
    ):
        bounds = [_literal(arg, field) for arg in node.args]
        ints = [b for b in bounds if isinstance(b, int)]
        if not 1 <= len(bounds) <= 3 or len(ints) != len(bounds):
            raise InvalidArchitecture(f"{field}: bad range(...) arguments")
        return list(range(*ints))
    try:
        return ast.literal_eval(node)
    except ValueError as exc:
        raise InvalidArchitecture(f"{field}: not a literal value") from exc


def parse_genotype(text: str) -> Genotype:
    """Parse DARTS's `Genotype(normal=..., normal_concat=..., reduce=..., reduce_concat=...)`.

    Positional fields (in that order) and keywords are both accepted; nothing is executed.
    """
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise InvalidArchitecture(f"not a DARTS genotype (syntax error): {text.strip()!r}") from exc
    call = tree.body
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)):
        raise InvalidArchitecture(f"not a DARTS genotype; expected Genotype(...): {text.strip()!r}")
    if call.func.id != "Genotype":
        raise InvalidArchitecture(f"expected Genotype(...), got {call.func.id}(...)")
    if len(call.args) > len(_FIELDS):
        raise InvalidArchitecture("Genotype(...) takes at most four fields")
    values: dict[str, object] = {}
    for field, arg in zip(_FIELDS, call.args, strict=False):
        values[field] = _literal(arg, field)
    for keyword in call.keywords:
        if keyword.arg not in _FIELDS:
            raise InvalidArchitecture(f"Genotype(...) has no field {keyword.arg!r}")
        if keyword.arg in values:
            raise InvalidArchitecture(f"Genotype(...) field {keyword.arg!r} given twice")
        values[keyword.arg] = _literal(keyword.value, keyword.arg)
    missing = [field for field in ("normal", "reduce") if field not in values]
    if missing:
        raise InvalidArchitecture(f"Genotype(...) lacks {', '.join(missing)}")
    return Genotype(
        normal=values["normal"],  # type: ignore[arg-type]
        normal_concat=values.get("normal_concat", CONCAT),  # type: ignore[arg-type]
        reduce=values["reduce"],  # type: ignore[arg-type]
        reduce_concat=values.get("reduce_concat", CONCAT),  # type: ignore[arg-type]
    )


@dataclass(frozen=True)
class CellGenotype:
    """One typed cell: its 8 (op, input) pairs, two per node in node order, and whether it
    is a reduction cell.

    SSWP-NAS searches every cell of the network separately, so its result is a list of
    these rather than one `Genotype`. The pairs keep the order they were given in (a
    derivation lists each node's stronger edge first); `to_darts_cell` gives the
    canonical order a `Genotype` holds.
    """

    ops: Cell
    reduction: bool
    concat: tuple[int, ...] = CONCAT

    def __post_init__(self) -> None:
        object.__setattr__(self, "ops", check_cell(self.ops, f"{self.kind} cell"))
        object.__setattr__(self, "concat", _concat(self.concat, f"{self.kind} cell concat"))

    @property
    def kind(self) -> str:
        return "reduce" if self.reduction else "normal"

    def edges(self) -> list[tuple[int, str]]:
        """(edge index, op) for the 8 kept edges, in node order."""
        return [
            (edge_index(position // 2, source), name)
            for position, (name, source) in enumerate(self.ops)
        ]

    def count(self, names: Sequence[str]) -> int:
        """How many of the kept edges carry one of `names`."""
        return sum(name in names for name, _ in self.ops)

    def to_darts_cell(self) -> Cell:
        """This cell's (op, input) pairs in the DARTS space's canonical order."""
        return canonical_cell(self.ops)

    def to_text(self) -> str:
        """`normal: [('sep_conv_3x3', 0), ...] concat=[2, 3, 4, 5]` (DARTS' pair notation)."""
        return f"{self.kind}: {_cell_text(self.ops)} concat={list(self.concat)}"


_CELL_LINE = re.compile(r"^\s*(normal|reduce)\s*:\s*(\[.*\])\s*concat\s*=\s*(\[[\d,\s]*\])\s*$")


def parse_cell(text: str) -> CellGenotype:
    """The cell `CellGenotype.to_text` wrote; nothing is executed."""
    match = _CELL_LINE.match(text)
    if not match:
        raise InvalidArchitecture(f"not a cell genotype line: {text!r}")
    try:
        pairs = ast.literal_eval(match.group(2))
        concat = ast.literal_eval(match.group(3))
    except (ValueError, SyntaxError) as exc:
        raise InvalidArchitecture(f"cannot parse cell genotype {text!r}: {exc}") from None
    return CellGenotype(ops=pairs, reduction=match.group(1) == "reduce", concat=concat)


def cells_to_text(cells: Sequence[CellGenotype]) -> str:
    """One line per cell, first to last (the form of a one-shot run's `genotypes.txt`)."""
    return "\n".join(cell.to_text() for cell in cells)


def cells_from_text(text: str) -> list[CellGenotype]:
    """The cells `cells_to_text` wrote (blank lines ignored)."""
    return [parse_cell(line) for line in text.splitlines() if line.strip()]


#: DARTS (second order) from the DARTS paper, as in its repository's `genotypes.py`
DARTS_V2 = Genotype(
    normal=(
        ("sep_conv_3x3", 0),
        ("sep_conv_3x3", 1),
        ("sep_conv_3x3", 0),
        ("sep_conv_3x3", 1),
        ("sep_conv_3x3", 1),
        ("skip_connect", 0),
        ("skip_connect", 0),
        ("dil_conv_3x3", 2),
    ),
    normal_concat=CONCAT,
    reduce=(
        ("max_pool_3x3", 0),
        ("max_pool_3x3", 1),
        ("skip_connect", 2),
        ("max_pool_3x3", 1),
        ("max_pool_3x3", 0),
        ("skip_connect", 2),
        ("skip_connect", 2),
        ("max_pool_3x3", 1),
    ),
    reduce_concat=CONCAT,
)
