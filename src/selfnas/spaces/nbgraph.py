"""The NAS-Bench-Graph space: four GNN op nodes, each fed by one earlier node.

An architecture is `link` (for op node i, 0-based, the node that feeds it: 0 the raw
input, j the j-th op node) and `ops` (one of nine GNN ops per op node); every leaf op node
(no other node consumes it) feeds the output, as the benchmark's README states. The
benchmark merges archs that compute the same thing (node relabelling, some skip
placements) and stores one representative per class under an integer id (the keys of
`nas_bench_graph.light_read(name)`); `NBGraphArch` always holds that representative, so
equal archs have equal fields and its `arch_id` queries the tables. 26,206 archs.

Text form: `link=0,1,2,3;ops=gcn,gat,sage,gin` (`parse` also takes the JSON object
`{"link": [0, 1, 2, 3], "ops": ["gcn", "gat", "sage", "gin"]}`); a link may be any of the
24 patterns with `link[i] <= i`, and is stored in the canonical pattern.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from selfnas.errors import InvalidArchitecture, InvalidOption
from selfnas.spaces.base import SearchSpace, check_choices
from selfnas.spaces.batch import PAD, ArchBatch

#: the nine GNN ops, in the package's `gnn_list` order (the digits of an arch id)
GNN_OPS: tuple[str, ...] = ("gat", "gcn", "gin", "cheb", "sage", "arma", "graph", "fc", "skip")
#: the nine canonical link patterns, in the package's `link_list` order
LINKS: tuple[tuple[int, ...], ...] = (
    (0, 0, 0, 0),
    (0, 0, 0, 1),
    (0, 0, 1, 1),
    (0, 0, 1, 2),
    (0, 0, 1, 3),
    (0, 1, 1, 1),
    (0, 1, 1, 2),
    (0, 1, 2, 2),
    (0, 1, 2, 3),
)
NUM_OP_NODES = 4
#: node-form vocabulary
NODE_OPS: tuple[str, ...] = ("input", *GNN_OPS, "output")
NUM_VERTICES = NUM_OP_NODES + 2
_ID_BASE = len(GNN_OPS) + 1  # the package's hash base
_OP_INDEX = {op: i for i, op in enumerate(GNN_OPS)}
_LINK_INDEX = {link: i for i, link in enumerate(LINKS)}
SIZE = 26206


def _validate(link: Sequence[int], ops: Sequence[str]) -> tuple[tuple[int, ...], tuple[str, ...]]:
    try:
        link_t = tuple(int(x) for x in link)
    except (TypeError, ValueError) as exc:
        raise InvalidArchitecture(f"link must be {NUM_OP_NODES} integers, got {link!r}") from exc
    ops_t = tuple(str(op) for op in ops)
    if len(link_t) != NUM_OP_NODES or len(ops_t) != NUM_OP_NODES:
        raise InvalidArchitecture(
            f"an NB-Graph arch has {NUM_OP_NODES} links and {NUM_OP_NODES} ops, "
            f"got {len(link_t)} and {len(ops_t)}"
        )
    for i, source in enumerate(link_t):
        if not 0 <= source <= i:
            raise InvalidArchitecture(
                f"op node {i + 1} can be fed by node 0..{i} (0 = input), got {source}"
            )
    for op in ops_t:
        if op not in _OP_INDEX:
            raise InvalidArchitecture(
                f"unknown GNN op {op!r}; expected one of {', '.join(GNN_OPS)}"
            )
    if all(op == "skip" for op in ops_t):
        raise InvalidArchitecture(
            "an arch of only skip ops has no GNN layer (not in the benchmark)"
        )
    return link_t, ops_t


def arch_id_of(link: Sequence[int], ops: Sequence[str]) -> int:
    """The package's `hash_arch` of a canonical (link, ops): link index, then op digits."""
    value = _LINK_INDEX[tuple(link)]
    for op in ops:
        value = value * _ID_BASE + _OP_INDEX[op]
    return value


def _from_id(arch_id: int) -> tuple[tuple[int, ...], tuple[str, ...]]:
    digits = []
    value = int(arch_id)
    for _ in range(NUM_OP_NODES):
        value, digit = divmod(value, _ID_BASE)
        digits.append(digit)
    if not 0 <= value < len(LINKS) or any(d >= len(GNN_OPS) for d in digits):
        raise InvalidArchitecture(f"{arch_id} is not an NB-Graph arch id")
    return LINKS[value], tuple(GNN_OPS[d] for d in reversed(digits))


def _canonical(
    link: tuple[int, ...], ops: tuple[str, ...]
) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """The benchmark's representative of the class, via the package's own `valid_hash`."""
    from nas_bench_graph.architecture import Arch as PackageArch

    return _from_id(PackageArch(list(link), list(ops)).valid_hash())


@dataclass(frozen=True)
class NBGraphArch:
    """A NAS-Bench-Graph arch, stored as the benchmark's canonical representative."""

    link: tuple[int, ...]
    ops: tuple[str, ...]

    def __post_init__(self) -> None:
        link, ops = _canonical(*_validate(self.link, self.ops))
        object.__setattr__(self, "link", link)
        object.__setattr__(self, "ops", ops)

    @classmethod
    def from_id(cls, arch_id: int) -> NBGraphArch:
        """The arch stored in the tables under `arch_id`."""
        link, ops = _from_id(arch_id)
        arch = cls(link, ops)
        if arch.arch_id != arch_id:
            raise InvalidArchitecture(f"{arch_id} is not a canonical NB-Graph arch id")
        return arch

    @property
    def arch_id(self) -> int:
        """Key of this arch in the benchmark's tables (`light_read(name)[arch_id]`)."""
        return arch_id_of(self.link, self.ops)

    @property
    def text(self) -> str:
        return f"link={','.join(map(str, self.link))};ops={','.join(self.ops)}"

    def to_json(self) -> dict[str, list]:
        return {"link": list(self.link), "ops": list(self.ops)}

    def __str__(self) -> str:
        return self.text


def _trusted(link: tuple[int, ...], ops: tuple[str, ...]) -> NBGraphArch:
    """Build from an already canonical pair (the table's keys) without re-canonicalising."""
    arch = object.__new__(NBGraphArch)
    object.__setattr__(arch, "link", link)
    object.__setattr__(arch, "ops", ops)
    return arch


def parse_arch(text: str) -> NBGraphArch:
    """Parse `link=0,1,2,3;ops=gcn,gat,sage,gin` or `{"link": [...], "ops": [...]}`."""
    text = text.strip()
    if text.startswith("{"):
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidArchitecture(f"bad NB-Graph JSON: {exc.msg}") from exc
        if not isinstance(obj, dict) or "link" not in obj or "ops" not in obj:
            raise InvalidArchitecture('NB-Graph JSON needs "link" and "ops"')
        link, ops = obj["link"], obj["ops"]
        if not isinstance(link, list) or not isinstance(ops, list):
            raise InvalidArchitecture('NB-Graph JSON "link" and "ops" must be lists')
        return NBGraphArch(tuple(link), tuple(ops))
    fields: dict[str, str] = {}
    for part in text.split(";"):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or key not in ("link", "ops") or key in fields:
            raise InvalidArchitecture(f"expected 'link=a,b,c,d;ops=op1,op2,op3,op4', got {text!r}")
        fields[key] = value.strip()
    if set(fields) != {"link", "ops"}:
        raise InvalidArchitecture(f"expected 'link=a,b,c,d;ops=op1,op2,op3,op4', got {text!r}")
    try:
        link = tuple(int(x) for x in fields["link"].split(","))
    except ValueError as exc:
        raise InvalidArchitecture(f"link must be integers: {fields['link']!r}") from exc
    ops = tuple(op.strip() for op in fields["ops"].split(","))
    return NBGraphArch(link, ops)


def _graph(link: Sequence[int], ops: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Node form: vertex 0 input, 1..4 the op nodes, 5 the output fed by every leaf."""
    adj = np.zeros((NUM_VERTICES, NUM_VERTICES), dtype=np.int64)
    labels = np.empty(NUM_VERTICES, dtype=np.int64)
    labels[0], labels[-1] = 0, len(NODE_OPS) - 1
    for i, (source, op) in enumerate(zip(link, ops, strict=True)):
        adj[source, i + 1] = 1
        labels[i + 1] = 1 + _OP_INDEX[op]
    consumed = set(link)
    for node in range(1, NUM_OP_NODES + 1):
        if node not in consumed:
            adj[node, -1] = 1
    return adj, labels


_PERMUTATIONS = np.array(list(itertools.permutations(range(NUM_OP_NODES))), dtype=np.int64)
_PERMUTATION_TUPLES = tuple(tuple(int(x) for x in p) for p in _PERMUTATIONS)


def _descendants(link: Sequence[int], node: int) -> set[int]:
    """`node` and every op node fed (directly or not) by it (nodes 1-based, 0 = input)."""
    found = {node}
    changed = True
    while changed:
        changed = False
        for i, source in enumerate(link):
            if source in found and i + 1 not in found:
                found.add(i + 1)
                changed = True
    return found


def _topological(
    parents: Sequence[int], ops: Sequence[str]
) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """Relabel op nodes so each is fed by an earlier one (`link[i] <= i`); needs a DAG."""
    order: list[int] = []  # 1-based op nodes in topological order
    placed = {0}
    while len(order) < NUM_OP_NODES:
        ready = [
            n for n in range(1, NUM_OP_NODES + 1) if n not in placed and parents[n - 1] in placed
        ]
        order.append(ready[0])
        placed.add(ready[0])
    new_label = {0: 0, **{old: i + 1 for i, old in enumerate(order)}}
    link = tuple(new_label[parents[old - 1]] for old in order)
    return link, tuple(ops[old - 1] for old in order)


def _pair_distance(a: NBGraphArch, b: NBGraphArch) -> int:
    """Edit distance of two archs (see `NBGraphSpace.edit_distance`)."""
    best = 2 * NUM_OP_NODES
    for perm in _PERMUTATION_TUPLES:
        cost = 0
        for i in range(NUM_OP_NODES):
            j = perm[i]
            source = a.link[i]
            mapped = 0 if source == 0 else perm[source - 1] + 1
            cost += (a.ops[i] != b.ops[j]) + (mapped != b.link[j])
        best = min(best, cost)
    return best


class NBGraphSpace(SearchSpace[NBGraphArch]):
    """The 26,206 archs the NAS-Bench-Graph tables hold (enumerated in id order)."""

    name = "nbgraph"
    node_ops = NODE_OPS
    op_on_edge = False
    num_vertices = NUM_VERTICES

    @property
    def size(self) -> int:
        return SIZE

    @property
    def candidate_ops(self) -> tuple[str, ...]:
        return GNN_OPS

    # --- text -----------------------------------------------------------------
    def parse(self, text: str) -> NBGraphArch:
        return parse_arch(text)

    def format(self, arch: NBGraphArch) -> str:
        return self._check(arch).text

    def hash(self, arch: NBGraphArch) -> str:
        """The arch id as text (the tables' key)."""
        return str(self._check(arch).arch_id)

    # --- categorical decisions ------------------------------------------------
    @property
    def choices(self) -> tuple[int, ...]:
        """The node feeding op node i (0..i: 1, 2, 3, 4 options), then each op node's op
        (nine options, `GNN_OPS` order); any such pattern is a valid labelling."""
        return (*range(1, NUM_OP_NODES + 1), *(len(GNN_OPS),) * NUM_OP_NODES)

    def from_choices(self, indices: Sequence[int]) -> NBGraphArch | None:
        """The canonical arch of that labelling (None for all-`skip` ops, which is none)."""
        values = check_choices(indices, self.choices)
        ops = tuple(GNN_OPS[i] for i in values[NUM_OP_NODES:])
        if all(op == "skip" for op in ops):
            return None
        return NBGraphArch(values[:NUM_OP_NODES], ops)

    def to_choices(self, arch: NBGraphArch) -> tuple[int, ...]:
        """The stored (canonical) labelling's link and ops."""
        arch = self._check(arch)
        return (*arch.link, *(_OP_INDEX[op] for op in arch.ops))

    # --- population -----------------------------------------------------------
    @cached_property
    def _all(self) -> tuple[NBGraphArch, ...]:
        from nas_bench_graph import light_read

        ids = sorted(light_read("cora"))
        archs = tuple(_trusted(*_from_id(i)) for i in ids)
        if len(archs) != SIZE:
            raise InvalidArchitecture(
                f"nas_bench_graph's table holds {len(archs)} archs, expected {SIZE}"
            )
        return archs

    @cached_property
    def _arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(link [M,4], op index [M,4]) of every arch, for vectorised edit distances."""
        links = np.array([a.link for a in self._all], dtype=np.int64)
        ops = np.array([[_OP_INDEX[o] for o in a.ops] for a in self._all], dtype=np.int64)
        return links, ops

    def enumerate(self) -> list[NBGraphArch]:
        return list(self._all)

    def sample(self, n: int, rng: np.random.Generator) -> list[NBGraphArch]:
        return [self._all[int(i)] for i in rng.integers(0, SIZE, size=int(n))]

    def distances_to_all(self, arch: NBGraphArch) -> np.ndarray:
        """`edit_distance(arch, b)` for every `b` of `enumerate()`, vectorised."""
        link_a = np.asarray(self._check(arch).link, dtype=np.int64)
        ops_a = np.array([_OP_INDEX[o] for o in arch.ops], dtype=np.int64)
        links, ops = self._arrays
        best = np.full(len(links), 2 * NUM_OP_NODES, dtype=np.int64)
        for perm in _PERMUTATIONS:
            # a's op node i is matched to b's op node perm[i]; the input stays the input
            mapped_source = np.where(link_a == 0, 0, perm[np.maximum(link_a - 1, 0)] + 1)
            cost = (ops[:, perm] != ops_a).sum(axis=1) + (links[:, perm] != mapped_source).sum(
                axis=1
            )
            np.minimum(best, cost, out=best)
        return best

    def neighbours(self, arch: NBGraphArch) -> list[NBGraphArch]:
        """Every arch of the tables at edit distance exactly 1.

        Such an arch is a relabelling of one single edit of `arch`, so the candidates are
        the canonical forms of those edits (a few dozen), kept where the distance is 1;
        `distances_to_all` gives the same set by brute force.
        """
        arch = self._check(arch)
        candidates: dict[NBGraphArch, None] = {}
        for node in range(NUM_OP_NODES):
            for op in GNN_OPS:
                if op != arch.ops[node]:
                    ops = (*arch.ops[:node], op, *arch.ops[node + 1 :])
                    if any(o != "skip" for o in ops):
                        candidates[NBGraphArch(arch.link, ops)] = None
            for source in range(NUM_OP_NODES + 1):
                if source != arch.link[node] and source not in _descendants(arch.link, node + 1):
                    parents = (*arch.link[:node], source, *arch.link[node + 1 :])
                    candidates[NBGraphArch(*_topological(parents, arch.ops))] = None
        return [b for b in candidates if _pair_distance(arch, b) == 1]

    def mutate(self, arch: NBGraphArch, rng: np.random.Generator) -> NBGraphArch:
        options = self.neighbours(arch)
        return options[int(rng.integers(len(options)))]

    def random_edit(
        self, arch: NBGraphArch, num_edits: int, rng: np.random.Generator
    ) -> NBGraphArch:
        """A walk of `num_edits` single edits, each step moving further from `arch` where
        it can (so the distance is `num_edits` unless the walk is cornered; never more)."""
        if num_edits < 0:
            raise InvalidOption(f"number of edits must be >= 0, got {num_edits}")
        start = current = self._check(arch)
        for step in range(1, num_edits + 1):
            options = self.neighbours(current)
            further = [b for b in options if _pair_distance(start, b) == step]
            pool = further or options
            current = pool[int(rng.integers(len(pool)))]
        return current

    def edit_distance(self, a: NBGraphArch, b: NBGraphArch) -> int:
        """Graph edit distance between the two canonical graphs: the fewest edits, each
        changing one op node's op or moving its input to another node, that turn `a` into
        a relabelling of `b` (minimum over the 24 matchings of op nodes).

        Every node has exactly one input and the output edges follow from the links, so a
        matching costs its differing ops plus differing inputs; applying the edits in the
        target's topological order (non-skip ops first) keeps every step a valid arch.
        Archs merged by the benchmark's skip rules are compared by their stored
        representatives.
        """
        return _pair_distance(self._check(a), self._check(b))

    # --- tensors --------------------------------------------------------------
    def batch(self, archs: Sequence[NBGraphArch]) -> ArchBatch:
        adj = np.zeros((len(archs), NUM_VERTICES, NUM_VERTICES), dtype=np.int64)
        ops = np.zeros((len(archs), NUM_VERTICES), dtype=np.int64)
        for i, arch in enumerate(archs):
            arch = self._check(arch)
            adj[i], ops[i] = _graph(arch.link, arch.ops)
        return ArchBatch.from_numpy(adj, ops, NODE_OPS)

    def decode(self, adj: np.ndarray, ops: np.ndarray) -> NBGraphArch | None:
        """The arch of a 6-vertex node-form graph (its canonical representative), or None
        unless: `input` first, `output` last, a GNN op at each op vertex, each op vertex fed
        by exactly one earlier vertex, exactly the leaf op vertices feeding the output, no
        other edge, and not all ops `skip`. Entries > 0.5 count as edges; trailing padding
        is allowed."""
        adj = np.asarray(adj) > 0.5
        labels = np.asarray(ops).astype(np.int64).reshape(-1)
        v = NUM_VERTICES
        if adj.ndim != 2 or adj.shape != (len(labels), len(labels)) or len(labels) < v:
            return None
        if np.any(labels[v:] != PAD) or adj[v:, :].any() or adj[:, v:].any():
            return None
        adj, labels = adj[:v, :v], labels[:v]
        if labels[0] != 0 or labels[-1] != len(NODE_OPS) - 1:
            return None
        op_labels = labels[1:-1] - 1
        if np.any(op_labels < 0) or np.any(op_labels >= len(GNN_OPS)):
            return None
        link = []
        for node in range(1, NUM_OP_NODES + 1):
            sources = np.flatnonzero(adj[:, node])
            if len(sources) != 1 or sources[0] >= node:
                return None
            link.append(int(sources[0]))
        names = tuple(GNN_OPS[int(i)] for i in op_labels)
        expected, _ = _graph(link, names)
        if not np.array_equal(adj, expected > 0) or all(op == "skip" for op in names):
            return None
        return NBGraphArch(tuple(link), names)

    @staticmethod
    def _check(arch: object) -> NBGraphArch:
        if not isinstance(arch, NBGraphArch):
            raise InvalidArchitecture(f"not an NB-Graph arch: {arch!r}")
        return arch
