"""Enumeration of all unique NB101 cells: the vectorised search against the benchmark's
own generator loop on small sizes, and the full 423,624-cell table (built once, cached)."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from conftest import shared_file
from selfnas.spaces import get_space
from selfnas.spaces import nb101_enumerate as enum
from selfnas.spaces.nb101_cell import NODE_OPS, hash_labels, is_full_dag
from selfnas.spaces.nb101_hash import module_hash, module_hashes


def generator_loop(vertices: int) -> list[str]:
    """The NAS-Bench-101 generator, literally: every bitmask, every labelling, hash each."""
    hashes = []
    pairs = [(x, y) for y in range(vertices) for x in range(y)]
    for bits in range(2 ** len(pairs)):
        matrix = np.zeros((vertices, vertices), dtype=np.int64)
        for x, y in pairs:
            matrix[x, y] = (bits >> (x + y * (y - 1) // 2)) & 1
        if not is_full_dag(matrix) or matrix.sum() > 9:
            continue
        for labelling in itertools.product(range(3), repeat=vertices - 2):
            hashes.append(module_hash(matrix, [-1, *labelling, -2]))
    return hashes


@pytest.mark.parametrize("vertices", [2, 3, 4, 5])
def test_unique_cells_match_the_generator_loop(vertices):
    bits, inner = enum.unique_cells_with(vertices)
    labels = np.zeros((len(bits), vertices), dtype=np.int64)
    labels[:, 0], labels[:, 1:-1], labels[:, -1] = -1, inner, -2
    adj = enum.bits_to_adjacency(bits, vertices)
    hashes = [h.decode() for h in module_hashes(adj, labels, np.full(len(bits), vertices))]
    assert len(set(hashes)) == len(hashes)  # each cell once
    assert set(hashes) == set(generator_loop(vertices))


def test_bitmask_order_is_the_generators_column_major_order():
    adj = enum.bits_to_adjacency(np.array([0b101001]), 4)[0]
    # bit 0: 0->1, bit 3: 0->3, bit 5: 2->3
    assert adj.tolist() == [[0, 1, 0, 1], [0, 0, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0]]
    assert enum.adjacency_to_bits(adj[None])[0] == 0b101001


@pytest.fixture(scope="module")
def table():
    return get_space("nb101").table()


def test_full_table_has_every_unique_cell_once(table):
    assert len(table) == 423_624
    assert np.all(table.hashes[1:] > table.hashes[:-1])  # sorted, so no duplicates
    official = json.loads(shared_file("nb101/nb101_official_30.json").read_text())
    assert np.all(table.indices_of(list(official)) >= 0)
    space = get_space("nb101")
    items = json.loads(shared_file("nb101/nb101_val500.json").read_text())
    hashes = [space.from_spec(i["adjacency"], i["operations"]).hash for i in items]
    assert np.all(table.indices_of(hashes) >= 0)
    assert table.indices_of(["0" * 32, "f" * 32]).tolist() == [-1, -1]


def test_table_rows_are_valid_cells_with_their_own_hash(table):
    rng = np.random.default_rng(5)
    rows = [
        rng.choice(np.flatnonzero(table.num_vertices == n), size=min(60, count), replace=False)
        for n, count in zip(*np.unique(table.num_vertices, return_counts=True), strict=True)
    ]
    sizes = set()
    for row in np.concatenate(rows):
        n = int(table.num_vertices[row])
        adj = table.adjacency[row]
        assert not adj[n:].any() and not adj[:, n:].any()
        assert not np.tril(adj).any() and adj.sum() <= 9 and is_full_dag(adj[:n, :n])
        ops = [NODE_OPS[i] for i in table.ops[row, :n]]
        assert (table.ops[row, n:] == -1).all() and ops[0] == "input" and ops[-1] == "output"
        assert module_hash(adj[:n, :n], hash_labels(ops)) == table.hashes[row]
        assert (
            table.cell(row).hash == table.hashes[row] and table.index_of(table.hashes[row]) == row
        )
        sizes.add(n)
    assert sizes == {2, 3, 4, 5, 6, 7}


def test_cache_is_validated_and_rebuilt_when_corrupt(tmp_path, monkeypatch, table):
    small = enum.CellArrays(
        hashes=np.array([b"0" * 32]),
        bits=np.array([1], dtype=np.int32),
        labels=np.array([[-1, -2, -3, -3, -3, -3, -3]], dtype=np.int8),
        num_vertices=np.array([2], dtype=np.int8),
    )
    path = enum.save_cells(small, tmp_path / "cells.npz")
    with pytest.raises(ValueError, match="423624"):
        enum.load_cells(path)
    full = enum.load_cells()  # the real cache the `table` fixture built
    monkeypatch.setattr(enum, "enumerate_cells", lambda: full)
    path.write_bytes(b"not an npz")
    with pytest.warns(UserWarning, match="rebuilding"):
        rebuilt = enum.cells(path)
    assert len(rebuilt.hashes) == 423_624
    assert np.array_equal(enum.load_cells(path).hashes, full.hashes)
