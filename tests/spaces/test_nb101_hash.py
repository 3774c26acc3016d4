"""The official NAS-Bench-101 module hash, per graph and vectorised, against real keys."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import shared_file
from selfnas.spaces import nb101_hash
from selfnas.spaces.nb101 import NB101Space
from selfnas.spaces.nb101_cell import hash_labels
from selfnas.spaces.nb101_hash import module_hash, module_hashes


def _official() -> dict:
    return json.loads(shared_file("nb101/nb101_official_30.json").read_text())


def _padded(cells):
    adj = np.zeros((len(cells), 7, 7), dtype=np.uint8)
    labels = np.zeros((len(cells), 7), dtype=np.int64)
    nv = np.array([c.num_vertices for c in cells])
    for i, cell in enumerate(cells):
        n = cell.num_vertices
        adj[i, :n, :n] = cell.adjacency
        labels[i, :n] = hash_labels(cell.operations)
    return adj, labels, nv


def test_all_30_official_records_hash_to_their_keys():
    records = _official()
    assert len(records) == 30
    for key, record in records.items():
        labels = hash_labels(record["module_operations"])
        assert module_hash(np.array(record["module_adjacency"]), labels) == key
        cell = NB101Space().from_spec(record["module_adjacency"], record["module_operations"])
        assert cell.hash == key


def test_vectorised_hashes_equal_per_graph_hashes_on_real_cells():
    space = NB101Space()
    items = json.loads(shared_file("nb101/nb101_val500.json").read_text())
    cells = [
        space.from_spec(r["module_adjacency"], r["module_operations"]) for r in _official().values()
    ]
    cells += [space.from_spec(item["adjacency"], item["operations"]) for item in items]
    assert len({c.num_vertices for c in cells}) >= 5  # sizes 2..7 all exercised
    hashes = module_hashes(*_padded(cells))
    assert [h.decode() for h in hashes] == [c.hash for c in cells]
    assert [h.decode() for h in hashes[:30]] == list(_official())


def test_hashes_split_over_worker_processes_equal_one_process(monkeypatch):
    space = NB101Space()
    cells = space.sample(40, np.random.default_rng(0))
    monkeypatch.setattr(nb101_hash, "_MIN_GRAPHS_PER_WORKER", 10)
    split = module_hashes(*_padded(cells), workers=3)
    assert [h.decode() for h in split] == [c.hash for c in cells]


def test_hash_ignores_vertex_numbering_but_sees_ops_and_edges():
    record = next(iter(_official().values()))
    matrix = np.array(record["module_adjacency"])
    labels = hash_labels(record["module_operations"])
    reference = module_hash(matrix, labels)
    # relabel the intermediate vertices with a permutation (any order, not just topological)
    perm = [0, 3, 1, 5, 2, 4, 6]
    moved = np.zeros_like(matrix)
    moved[np.ix_(perm, perm)] = matrix
    moved_labels = [0] * 7
    for old, new in enumerate(perm):
        moved_labels[new] = labels[old]
    assert module_hash(moved, moved_labels) == reference
    changed = list(labels)
    changed[1] = (changed[1] + 1) % 3
    assert module_hash(matrix, changed) != reference
    fewer = matrix.copy()
    src, dst = np.argwhere(fewer)[0]
    fewer[src, dst] = 0
    assert module_hash(fewer, labels) != reference


def test_vectorised_hash_rejects_edges_on_padding():
    adj = np.zeros((1, 7, 7), dtype=np.uint8)
    adj[0, 0, 1] = adj[0, 1, 5] = 1
    labels = np.array([[-1, -2, 0, 0, 0, 0, 0]])
    with pytest.raises(ValueError, match="padding"):
        module_hashes(adj, labels, np.array([2]))
