"""The DARTS `Genotype`: what a DARTS / NAS-Bench-301 cell pair is, and its text form.

Kept apart from the space so the one-shot supernet can import the type and op names
without the space's sampling and tensor code. The text form is the one the DARTS
repository's `genotypes.py` prints and stores:

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

#: the one-shot search's candidate ops: DARTS's `PRIMITIVES`, `none` (zero) first
PRIMITIVES: tuple[str, ...] = ("none", *DARTS_OPS)

NUM_NODES = 4  # intermediate nodes per cell
NUM_CELL_INPUTS = 2  # c_{k-2}, c_{k-1}
CONCAT: tuple[int, ...] = tuple(range(NUM_CELL_INPUTS, NUM_CELL_INPUTS + NUM_NODES))

Edge = tuple[str, int]
Cell = tuple[Edge, ...]  # 2 * NUM_NODES (op, input) pairs, node by node


def canonical_cell(cell: Iterable[Sequence[object]], what: str = "cell") -> Cell:
    """Validate one cell's (op, input) pairs and put each node's two pairs in input order.

    Order within a node carries no meaning (the node sums its two edges), so sorting makes
    equal cells compare equal.
    """
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
        if not 0 <= source <= node + 1:
            raise InvalidArchitecture(
                f"{what}: node {node + 2} cannot take input {source} (allowed 0..{node + 1})"
            )
        checked.append((str(op), int(source)))
    result: list[Edge] = []
    for node in range(NUM_NODES):
        first, second = checked[2 * node], checked[2 * node + 1]
        if first[1] == second[1]:
            raise InvalidArchitecture(
                f"{what}: node {node + 2} takes input {first[1]} twice; NAS-Bench-301 needs "
                "two distinct inputs"
            )
        result.extend(sorted((first, second), key=lambda edge: edge[1]))
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
        if not 1 <= len(bounds) <= 3 or not all(isinstance(b, int) for b in bounds):
            raise InvalidArchitecture(f"{field}: bad range(...) arguments")
        return list(range(*bounds))  # type: ignore[arg-type]
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


#: DARTS (second order) from the DARTS paper, as in its repository's `genotypes.py`
DARTS_V2 = Genotype(
    normal=[
        ("sep_conv_3x3", 0),
        ("sep_conv_3x3", 1),
        ("sep_conv_3x3", 0),
        ("sep_conv_3x3", 1),
        ("sep_conv_3x3", 1),
        ("skip_connect", 0),
        ("skip_connect", 0),
        ("dil_conv_3x3", 2),
    ],
    normal_concat=[2, 3, 4, 5],
    reduce=[
        ("max_pool_3x3", 0),
        ("max_pool_3x3", 1),
        ("skip_connect", 2),
        ("max_pool_3x3", 1),
        ("max_pool_3x3", 0),
        ("skip_connect", 2),
        ("skip_connect", 2),
        ("max_pool_3x3", 1),
    ],
    reduce_concat=[2, 3, 4, 5],
)
