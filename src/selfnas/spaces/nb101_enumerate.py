"""Every unique NAS-Bench-101 cell, found with whole-array numpy work, and its cache file.

The benchmark's own generator loops over every upper-triangular bitmask, every labelling,
and hashes each labelled graph in Python (~1.3 M MD5 refinements). Here:

1. for each vertex count V, all bitmasks are filtered at once (<= 9 edges; "full DAG":
   every vertex but the output has an out-edge, every vertex but the input an in-edge,
   which is exactly "nothing to prune");
2. each surviving matrix gets a canonical code: the minimum, over all permutations of its
   V-2 intermediate vertices, of the permuted V x V matrix read as an integer (one float
   matrix product gives every permutation's code at once; codes < 2^49 are exact);
   matrices with equal codes are isomorphic, and the first of each class is kept;
3. labellings of a kept matrix are isomorphic exactly when one is the other permuted by an
   automorphism of the matrix; automorphism groups are few, so the orbit representatives
   (the labellings that are smallest in their orbit) are found once per distinct group;
4. the official hash is computed for the unique cells only (`nb101_hash.module_hashes`).

Bit k of a bitmask is edge x -> y with k = x + y(y-1)/2 (the generator's column-major
order), so a 7-vertex bitmask fits 21 bits.
"""

from __future__ import annotations

import itertools
import logging
import os
import warnings
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from selfnas.atomic import save_npz
from selfnas.datadir import cache_dir
from selfnas.progress import progress_bar
from selfnas.spaces.nb101_hash import INPUT_LABEL, OUTPUT_LABEL, module_hashes

log = logging.getLogger(__name__)

MAX_VERTICES = 7
MAX_EDGES = 9
NUM_OPS = 3
NUM_CELLS = 423_624
CACHE_NAME = "nb101_cells_v1.npz"


def edge_index(x: int, y: int) -> int:
    """Bit of edge x -> y (x < y) in a bitmask."""
    return x + y * (y - 1) // 2


EDGE_PAIRS: tuple[tuple[int, int], ...] = tuple(
    (x, y) for y in range(MAX_VERTICES) for x in range(y)
)  # ordered by bit index


def bits_to_adjacency(bits: np.ndarray, size: int = MAX_VERTICES) -> np.ndarray:
    """`[N]` bitmasks -> `[N,size,size]` uint8 upper-triangular matrices."""
    bits = np.asarray(bits, dtype=np.int64)
    adj = np.zeros((len(bits), size, size), dtype=np.uint8)
    for x, y in EDGE_PAIRS:
        if y < size:
            adj[:, x, y] = (bits >> edge_index(x, y)) & 1
    return adj


def adjacency_to_bits(adj: np.ndarray) -> np.ndarray:
    """`[N,V,V]` upper-triangular 0/1 -> `[N]` int64 bitmasks."""
    adj = np.asarray(adj)
    size = adj.shape[1]
    bits = np.zeros(adj.shape[0], dtype=np.int64)
    for x, y in EDGE_PAIRS:
        if y < size:
            bits |= adj[:, x, y].astype(np.int64) << edge_index(x, y)
    return bits


def _popcount(values: np.ndarray) -> np.ndarray:
    return np.unpackbits(values.astype("<u4").view(np.uint8).reshape(-1, 4), axis=1).sum(axis=1)


def full_dag_bitmasks(vertices: int, max_edges: int = MAX_EDGES) -> np.ndarray:
    """Every bitmask of a `vertices`-vertex cell with <= `max_edges` edges and no vertex to
    prune (every vertex on an input-to-output path), ascending."""
    num_bits = vertices * (vertices - 1) // 2
    bits = np.arange(2**num_bits, dtype=np.int64)
    bits = bits[_popcount(bits) <= max_edges]
    keep = np.ones(len(bits), dtype=bool)
    for v in range(vertices):
        if v < vertices - 1:  # needs an out-edge
            out_mask = sum(1 << edge_index(v, y) for y in range(v + 1, vertices))
            keep &= (bits & out_mask) != 0
        if v > 0:  # needs an in-edge
            in_mask = sum(1 << edge_index(x, v) for x in range(v))
            keep &= (bits & in_mask) != 0
    return bits[keep]


@dataclass(frozen=True)
class _Perms:
    """All permutations of the intermediate vertices of a V-vertex cell."""

    vertices: int

    @cached_property
    def table(self) -> np.ndarray:
        """`[P,V]`: perm p sends vertex i to `table[p, i]` (input and output fixed)."""
        v = self.vertices
        inner = list(itertools.permutations(range(1, v - 1)))
        return np.array([[0, *p, v - 1] for p in inner], dtype=np.int64).reshape(len(inner), v)

    @cached_property
    def matrix_weights(self) -> np.ndarray:
        """`[E,P]` float64: 2^(position of edge e's image under perm p in a V x V code)."""
        v = self.vertices
        pairs = [(x, y) for x, y in EDGE_PAIRS if y < v]
        weights = np.empty((len(pairs), len(self.table)), dtype=np.float64)
        for e, (x, y) in enumerate(pairs):
            weights[e] = 2.0 ** (self.table[:, x] * v + self.table[:, y])
        return weights

    @cached_property
    def identity(self) -> int:
        return 0  # itertools.permutations yields the identity first


def _labellings(inner: int) -> np.ndarray:
    """`[3^inner, inner]` all op labellings of the intermediate vertices (0..2)."""
    return np.array(list(itertools.product(range(NUM_OPS), repeat=inner)), dtype=np.int64).reshape(
        NUM_OPS**inner, inner
    )


def unique_cells_with(vertices: int) -> tuple[np.ndarray, np.ndarray]:
    """Unique cells of exactly `vertices` vertices: `(bitmasks [N], labels [N, V-2])`."""
    perms = _Perms(vertices)
    bits = full_dag_bitmasks(vertices)
    num_edges = vertices * (vertices - 1) // 2
    edge_bits = ((bits[:, None] >> np.arange(num_edges)) & 1).astype(np.float64)
    codes = (edge_bits @ perms.matrix_weights).astype(np.int64)  # [M, P], exact (< 2^49)
    canonical = codes.min(axis=1)
    _, first = np.unique(canonical, return_index=True)
    reps = bits[first]
    automorphic = codes[first] == codes[first, perms.identity][:, None]  # [R, P]
    inner = vertices - 2
    labels = _labellings(inner)
    if inner == 0:
        return reps, np.zeros((len(reps), 0), dtype=np.int64)
    # code of labelling L permuted by p: sum_k L[k] * 3^(p(k)) over intermediate k
    powers = NUM_OPS ** (perms.table[:, 1:-1] - 1)  # [P, inner]
    label_codes = labels @ powers.T  # [3^inner, P]
    groups, group_of = np.unique(automorphic, axis=0, return_inverse=True)
    group_of = group_of.ravel()
    out_bits, out_labels = [], []
    for gi, group in enumerate(groups):
        orbit_min = np.where(group[None, :], label_codes, np.iinfo(np.int64).max).min(axis=1)
        representative = orbit_min == label_codes[:, perms.identity]
        members = reps[group_of == gi]
        chosen = labels[representative]
        out_bits.append(np.repeat(members, len(chosen)))
        out_labels.append(np.tile(chosen, (len(members), 1)))
    return np.concatenate(out_bits), np.concatenate(out_labels)


@dataclass(frozen=True)
class CellArrays:
    """All unique cells, sorted by official hash (the cache file's content)."""

    hashes: np.ndarray  # [N] S32 hex
    bits: np.ndarray  # [N] int32 edge bitmask (generator bit order)
    labels: np.ndarray  # [N, 7] int8 hash labels (-1 input, -2 output, 0..2 ops, PAD -3)
    num_vertices: np.ndarray  # [N] int8


PAD_LABEL = -3


def available_cores() -> int:
    """CPU cores this process may use (affinity-aware where the OS tells)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def enumerate_cells(show_progress: bool = True, workers: int | None = None) -> CellArrays:
    """Enumerate and hash every unique cell (vectorised; ~10-60 s on a laptop CPU).

    `workers` processes share the hashing (default: the available cores)."""
    workers = available_cores() if workers is None else workers
    all_bits, all_labels, all_nv = [], [], []
    with progress_bar() as bar:
        task = bar.add_task("nb101 cells", total=MAX_VERTICES - 1, info="")
        if not show_progress:
            bar.update(task, visible=False)
        for v in range(2, MAX_VERTICES + 1):
            bits, inner = unique_cells_with(v)
            labels = np.full((len(bits), MAX_VERTICES), PAD_LABEL, dtype=np.int64)
            labels[:, 0] = INPUT_LABEL
            labels[:, 1 : v - 1] = inner
            labels[:, v - 1] = OUTPUT_LABEL
            all_bits.append(bits)
            all_labels.append(labels)
            all_nv.append(np.full(len(bits), v, dtype=np.int64))
            bar.update(task, advance=1, info=f"{v} vertices: {len(bits):,} cells")
        bits = np.concatenate(all_bits)
        labels = np.concatenate(all_labels)
        nv = np.concatenate(all_nv)
        hash_task = bar.add_task("nb101 hashes", total=1, info=f"{len(bits):,} cells")
        if not show_progress:
            bar.update(hash_task, visible=False)
        hashes = module_hashes(
            bits_to_adjacency(bits), np.where(labels == PAD_LABEL, 0, labels), nv, workers
        )
        bar.update(hash_task, advance=1)
    order = np.argsort(hashes)
    hashes = hashes[order]
    if len(hashes) != NUM_CELLS or np.any(hashes[1:] == hashes[:-1]):
        raise RuntimeError(
            f"NB101 enumeration found {len(hashes)} cells / {len(np.unique(hashes))} hashes, "
            f"expected {NUM_CELLS} distinct"
        )
    return CellArrays(
        hashes=hashes,
        bits=bits[order].astype(np.int32),
        labels=labels[order].astype(np.int8),
        num_vertices=nv[order].astype(np.int8),
    )


def cache_path() -> Path:
    return cache_dir() / CACHE_NAME


def save_cells(cells: CellArrays, path: Path | None = None) -> Path:
    """Write the cells atomically (raw digests, bitmasks, packed labels: ~11 MB)."""
    path = path or cache_path()
    digests = np.frombuffer(bytes.fromhex(b"".join(cells.hashes).decode()), dtype=np.uint8)
    return save_npz(
        path,
        digests=digests.reshape(-1, 16),
        bits=cells.bits,
        labels=cells.labels,
        num_vertices=cells.num_vertices,
    )


def load_cells(path: Path | None = None) -> CellArrays:
    """Read the cache file; raise `ValueError` if it does not hold the full, sorted set."""
    path = path or cache_path()
    with np.load(path) as data:
        digests = data["digests"]
        bits, labels, nv = data["bits"], data["labels"], data["num_vertices"]
    n = len(bits)
    if (
        n != NUM_CELLS
        or digests.shape != (n, 16)
        or labels.shape != (n, MAX_VERTICES)
        or nv.shape != (n,)
    ):
        raise ValueError(f"{path} does not hold {NUM_CELLS} NB101 cells")
    hexes = np.empty((n, 32), dtype=np.uint8)
    table = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    hexes[:, 0::2] = table[digests >> 4]
    hexes[:, 1::2] = table[digests & 15]
    hashes = hexes.view("S32").ravel()
    if np.any(hashes[1:] <= hashes[:-1]):
        raise ValueError(f"{path}: hashes are not strictly sorted")
    return CellArrays(hashes=hashes, bits=bits, labels=labels, num_vertices=nv)


def cells(path: Path | None = None) -> CellArrays:
    """The cells from the cache, enumerating (and caching) them on first use."""
    path = path or cache_path()
    if path.exists():
        try:
            return load_cells(path)
        except (ValueError, OSError, KeyError) as exc:
            warnings.warn(f"rebuilding the NB101 cell cache: {exc}", stacklevel=2)
    log.info("enumerating all NB101 cells into %s", path)
    result = enumerate_cells()
    save_cells(result, path)
    return result
