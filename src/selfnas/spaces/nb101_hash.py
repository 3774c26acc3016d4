"""The official NAS-Bench-101 module hash, for one cell and vectorised over many.

NAS-Bench-101 keys every cell by `graph_util.hash_module(matrix, labeling)`: a
Weisfeiler-Lehman style refinement where MD5 hex digests are the colours.

* labels: input -1, output -2, an op its index in `HASH_OPS` (the benchmark's
  `available_ops` order, which is *not* the node vocabulary of `ArchBatch`);
* start: vertex v gets `md5(str((out_degree, in_degree, label)))`, e.g. `"(2, 0, -1)"`;
* V rounds (V = number of vertices): v gets `md5(join(sorted in-neighbour digests) + "|" +
  join(sorted out-neighbour digests) + "|" + own digest)`;
* fingerprint: `md5(str(sorted(digests)))`, i.e. of `"['d1', 'd2', ...]"`.

`module_hash` is the plain per-graph form (the reference, and fast enough for one cell).
`module_hashes` computes the same strings for many padded graphs at once: each round it
gathers every vertex's (sorted in-colours, sorted out-colours, own colour) key with numpy,
runs MD5 once per *distinct* key only, and maps the digests back. Colours are kept as
ranks among the round's sorted digests, so sorting ranks sorts the hex strings exactly as
the reference does (hex encoding preserves byte order).
"""

from __future__ import annotations

import contextlib
import hashlib
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

import numpy as np

#: op -> label order used by the official hash (nasbench `config['available_ops']`)
HASH_OPS: tuple[str, ...] = ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")
INPUT_LABEL = -1
OUTPUT_LABEL = -2

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_BAR = ord("|")


def module_hash(matrix: np.ndarray | Sequence[Sequence[int]], labels: Sequence[int]) -> str:
    """Official hash of one (pruned, upper-triangular) graph with integer labels."""
    rows = np.asarray(matrix, dtype=np.int64).tolist()
    n = len(rows)
    ins = [[w for w in range(n) if rows[w][v]] for v in range(n)]
    outs = [[w for w in range(n) if rows[v][w]] for v in range(n)]
    digests = [
        hashlib.md5(str((len(outs[v]), len(ins[v]), int(labels[v]))).encode()).hexdigest()
        for v in range(n)
    ]
    for _ in range(n):
        digests = [
            hashlib.md5(
                (
                    "".join(sorted(digests[w] for w in ins[v]))
                    + "|"
                    + "".join(sorted(digests[w] for w in outs[v]))
                    + "|"
                    + digests[v]
                ).encode()
            ).hexdigest()
            for v in range(n)
        ]
    return hashlib.md5(str(sorted(digests)).encode()).hexdigest()


def module_hashes(
    adj: np.ndarray, labels: np.ndarray, num_vertices: np.ndarray, workers: int = 1
) -> np.ndarray:
    """Official hashes of many graphs, as an array of 32-byte hex strings (`S32`).

    `adj [G,V,V]` 0/1 and `labels [G,V]` are padded at the end: graph g uses vertices
    `0 .. num_vertices[g]-1` (output last); padding must hold no edges. `workers > 1`
    splits the graphs over that many processes (each graph's hash is independent; MD5
    calls are the cost and CPython runs them one at a time per process).
    """
    adj = np.asarray(adj, dtype=bool)
    labels = np.asarray(labels, dtype=np.int64)
    nv = np.asarray(num_vertices, dtype=np.int64)
    g, v = labels.shape
    if adj.shape != (g, v, v) or nv.shape != (g,):
        raise ValueError(f"shape mismatch: adj {adj.shape}, labels {labels.shape}, nv {nv.shape}")
    if g == 0:
        return np.empty(0, dtype="S32")
    real = np.arange(v)[None, :] < nv[:, None]
    if np.any(adj & ~(real[:, :, None] & real[:, None, :])):
        raise ValueError("padding vertices must hold no edges")
    workers = max(1, min(int(workers), g // _MIN_GRAPHS_PER_WORKER))
    # fork (workers run numpy and hashlib only); spawn would re-run a caller's main script
    if workers == 1 or "fork" not in multiprocessing.get_all_start_methods():
        return _Refinement(adj, labels, nv, real).fingerprints()
    out = np.empty(g, dtype="S32")
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        parts = [slice(k, None, workers) for k in range(workers)]  # interleaved: balanced sizes
        jobs = [pool.submit(_hash_part, adj[p], labels[p], nv[p]) for p in parts]
        for part, job in zip(parts, jobs, strict=True):
            out[part] = job.result()
    return out


def _hash_part(adj: np.ndarray, labels: np.ndarray, nv: np.ndarray) -> np.ndarray:
    real = np.arange(labels.shape[1])[None, :] < nv[:, None]
    return _Refinement(adj, labels, nv, real).fingerprints()


_MD5 = hashlib.md5
# CPython's built-in MD5 gives the same digest with less per-call overhead than OpenSSL's.
with contextlib.suppress(ImportError):
    from _md5 import md5 as _MD5  # type: ignore[no-redef]

#: 256 -> two lowercase hex characters, as one uint16 (so one gather hex-encodes a byte)
_HEX_PAIRS = np.frombuffer(b"".join(f"{b:02x}".encode() for b in range(256)), dtype=np.uint16)
_CHUNK = 1 << 17  # messages per MD5 batch (bounds the message buffer to ~30 MB)
_MIN_GRAPHS_PER_WORKER = 50_000  # below this a process start costs more than it saves
#: dedup a round's keys unless nearly all are distinct (factorising is far cheaper than MD5)
_DEDUP_BELOW = 0.9


def _hex(digests: np.ndarray) -> np.ndarray:
    """`[M,16]` raw digests -> `[M,32]` lowercase hex bytes."""
    return _HEX_PAIRS[digests].view(np.uint8).reshape(len(digests), 32)


def _md5_rows(messages: np.ndarray) -> np.ndarray:
    """MD5 digest of each row of a `[M,L]` uint8 array -> `[M,16]` uint8."""
    if messages.shape[0] == 0:
        return np.empty((0, 16), dtype=np.uint8)
    rows = np.ascontiguousarray(messages).view(f"S{messages.shape[1]}").ravel().tolist()
    md5 = _MD5
    joined = b"".join([md5(row).digest() for row in rows])
    return np.frombuffer(joined, dtype=np.uint8).reshape(-1, 16)


def _sort_by_digest(idx: np.ndarray, head: np.ndarray, tail: np.ndarray) -> np.ndarray:
    """Reorder each row of instance indices `[n,k]` so their digests ascend (= hex order).

    Sorts on the first 8 digest bytes; a row where two different digests share those bytes
    (never seen in practice, but possible) is re-sorted exactly on all 16."""
    if idx.shape[1] < 2:
        return idx
    heads = head[idx]
    order = np.argsort(heads, axis=1)
    idx = np.take_along_axis(idx, order, axis=1)
    heads = np.take_along_axis(heads, order, axis=1)
    tie = heads[:, 1:] == heads[:, :-1]
    if tie.any():
        tails = tail[idx]
        for row in np.flatnonzero(np.any(tie & (tails[:, 1:] != tails[:, :-1]), axis=1)):
            idx[row] = sorted(idx[row].tolist(), key=lambda i: (int(head[i]), int(tail[i])))
    return idx


def _unique_rows(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact first index of each distinct row of `keys` and each row's distinct id, done
    fast: factorise a 64-bit mix of each row with a hash table, then verify every row
    equals its group's first row (falling back to the sort-based `np.unique`)."""
    import pandas as pd

    mixed = np.zeros(keys.shape[0], dtype=np.uint64)
    with np.errstate(over="ignore"):
        for col in range(keys.shape[1]):
            mixed = (mixed ^ keys[:, col].astype(np.uint64)) * np.uint64(0x100000001B3)
            mixed ^= mixed >> np.uint64(29)
    inverse, uniques = pd.factorize(mixed)
    first = np.empty(len(uniques), dtype=np.int64)
    first[inverse[::-1]] = np.arange(len(inverse) - 1, -1, -1)
    if np.array_equal(keys[first[inverse]], keys):
        return first, inverse
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    return first, inverse.ravel()


class _Refinement:
    """The refinement over every real vertex ("instance") of every graph at once.

    Instances are ordered by (in-degree, out-degree), then by graph size descending, so
    each degree group is one slice with fixed-width neighbour lists, and the graphs still
    refining in round t are a prefix of each slice. Each instance holds its current raw
    digest; rounds where many instances share a key (the first one or two) hash each
    distinct key once.
    """

    def __init__(self, adj: np.ndarray, labels: np.ndarray, nv: np.ndarray, real: np.ndarray):
        self.nv = nv
        ind = adj.sum(axis=1)
        outd = adj.sum(axis=2)
        graph, vertex = np.nonzero(real)
        din, dout = ind[graph, vertex], outd[graph, vertex]
        # one small-int key, so numpy's stable (radix) sort applies
        base = real.shape[1] + 1
        order = np.argsort((din * base + dout) * base + (base - nv[graph]), kind="stable")
        self.graph, self.vertex = graph[order], vertex[order]
        din, dout = din[order], dout[order]
        self.position = np.full(real.shape, -1, dtype=np.int64)
        self.position[self.graph, self.vertex] = np.arange(len(order))
        self.groups = []  # (start, stop, in_nbrs [n,din], out_nbrs [n,dout])
        starts = np.flatnonzero(np.r_[True, (din[1:] != din[:-1]) | (dout[1:] != dout[:-1])])
        for start, stop in zip(starts, [*starts[1:], len(order)], strict=True):
            g, vv = self.graph[start:stop], self.vertex[start:stop]
            in_nbrs = self._neighbours(adj[g, :, vv], g, int(din[start]))
            out_nbrs = self._neighbours(adj[g, vv, :], g, int(dout[start]))
            self.groups.append((int(start), int(stop), in_nbrs, out_nbrs))
        lab = labels[self.graph, self.vertex]
        base = max(base, 8)
        if lab.min() < -2 or lab.max() > base - 3:
            raise ValueError(f"labels must lie in -2..{base - 3}")
        triples = (dout * base + din) * base + (lab + 2)
        codes, inverse = np.unique(triples, return_inverse=True)
        seeds = [
            _MD5(str((c // base**2, c // base % base, c % base - 2)).encode()).digest()
            for c in codes.tolist()
        ]
        self.digests = np.frombuffer(b"".join(seeds), dtype=np.uint8).reshape(-1, 16)
        self.digests = self.digests[inverse.ravel()]
        self.distinct = len(codes)

    def _neighbours(self, rows: np.ndarray, graph: np.ndarray, width: int) -> np.ndarray:
        """Instance indices of the `width` vertices flagged in each row of `rows [n,V]`."""
        cols = np.nonzero(rows)[1].reshape(len(rows), width)
        return self.position[graph[:, None], cols]

    def fingerprints(self) -> np.ndarray:
        for round_ in range(1, int(self.nv.max()) + 1):
            done = self.nv[self.graph] < round_
            self._refine(done, dedup=self.distinct < _DEDUP_BELOW * len(self.digests))
        return self._fingerprints()

    def _refine(self, done: np.ndarray, dedup: bool) -> None:
        keys64 = self.digests.view(">u8")
        head, tail = keys64[:, 0].astype(np.uint64), keys64[:, 1].astype(np.uint64)
        hexes = _hex(self.digests)
        new = self.digests.copy()
        distinct = 0
        for start, stop, in_nbrs, out_nbrs in self.groups:
            active = stop - start - int(done[start:stop].sum())
            if active == 0:
                continue
            ins = _sort_by_digest(in_nbrs[:active], head, tail)
            outs = _sort_by_digest(out_nbrs[:active], head, tail)
            own = np.arange(start, start + active)[:, None]
            if dedup:
                both = np.concatenate([ins, outs, own], axis=1)
                first, inverse = _unique_rows(np.concatenate([head[both], tail[both]], axis=1))
                digests = _hash_messages(hexes, ins[first], outs[first], own[first])
                new[start : start + active] = digests[inverse]
                distinct += len(first)
            else:
                new[start : start + active] = _hash_messages(hexes, ins, outs, own)
                distinct += active
        self.digests = new
        self.distinct = distinct

    def _fingerprints(self) -> np.ndarray:
        """`md5(str(sorted(hex digests)))` per graph, i.e. of `"['d1', 'd2']"`."""
        keys64 = self.digests.view(">u8")
        head, tail = keys64[:, 0].astype(np.uint64), keys64[:, 1].astype(np.uint64)
        hexes = _hex(self.digests)
        out = np.empty(len(self.nv), dtype="S32")
        for n in np.unique(self.nv):
            rows = np.flatnonzero(self.nv == n)
            for lo in range(0, len(rows), _CHUNK):
                part = rows[lo : lo + _CHUNK]
                idx = _sort_by_digest(self.position[part, :n], head, tail)
                text = np.empty((len(part), n, 36), dtype=np.uint8)  # "'h', " per vertex
                text[:, :, 0] = ord("'")
                text[:, :, 1:33] = hexes[idx]
                text[:, :, 33] = ord("'")
                text[:, :, 34] = ord(",")
                text[:, :, 35] = ord(" ")
                flat = text.reshape(len(part), 36 * n)
                # "['h1', 'h2']": drop the final ", " and wrap in brackets
                msg = np.empty((len(part), 36 * n), dtype=np.uint8)
                msg[:, 0] = ord("[")
                msg[:, 1:-1] = flat[:, :-2]
                msg[:, -1] = ord("]")
                out[part] = _hex(_md5_rows(msg)).view("S32").ravel()
        return out


def _hash_messages(
    hexes: np.ndarray, ins: np.ndarray, outs: np.ndarray, own: np.ndarray
) -> np.ndarray:
    """MD5 of `in-hexes | out-hexes | own-hex` per row (instance indices into `hexes`)."""
    din, dout = ins.shape[1], outs.shape[1]
    width = 32 * (din + dout + 1) + 2
    cut = 32 * (din + dout) + 1
    out = np.empty((len(own), 16), dtype=np.uint8)
    for lo in range(0, len(own), _CHUNK):
        hi = min(lo + _CHUNK, len(own))
        msg = np.empty((hi - lo, width), dtype=np.uint8)
        msg[:, : 32 * din] = hexes[ins[lo:hi]].reshape(hi - lo, -1)
        msg[:, 32 * din] = _BAR
        msg[:, 32 * din + 1 : cut] = hexes[outs[lo:hi]].reshape(hi - lo, -1)
        msg[:, cut] = _BAR
        msg[:, cut + 1 :] = hexes[own[lo:hi, 0]]
        out[lo:hi] = _md5_rows(msg)
    return out
