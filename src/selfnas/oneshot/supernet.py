"""The proxy-free supernet: the final network's depth and width, one alpha per cell.

Each of the L cells has its own [14, 7] architecture weights. A step runs one sampled path
(`sample`), so it costs about one derived network; fixing a cell (`fix_cell`) swaps its
search cell for a `DerivedCell` built from the very same modules, dropping the other ops,
so a fixed cell costs what the derived cell costs and its kept weights are the ones the
exported network receives.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import torch
import torch.utils.checkpoint
from torch import Tensor, nn

from selfnas.oneshot.derive import derive_cell
from selfnas.oneshot.network import (
    DerivedCell,
    MacroConfig,
    Network,
    make_head,
    make_preprocess,
    make_stem,
    stem_states,
)
from selfnas.oneshot.ops import make_op
from selfnas.oneshot.sampling import CellPath, binary_gates, sample_pairs
from selfnas.spaces.darts_genotype import (
    DARTS_OPS,
    NODE_STARTS,
    NUM_EDGES,
    NUM_NODES,
    CellGenotype,
    edge_source,
)


class _GatedPair(torch.autograd.Function):
    """y = g_a * out + g_o * other(x) for straight-through gates valued (1, 0).

    The value is `out`; the pair's other op matters only for dL/dg_o = <dL/dy, other(x)>,
    so it runs in backward, without a graph, and its output is never stored: an
    architecture step keeps no more activations than a weight step.
    """

    @staticmethod
    def forward(ctx, out: Tensor, gates: Tensor, x: Tensor, other: nn.Module) -> Tensor:
        device = x.device.type
        ctx.other = other
        ctx.autocast = (
            device,
            torch.is_autocast_enabled(device),
            torch.get_autocast_dtype(device),
        )
        ctx.save_for_backward(out, gates, x)
        return out * gates[0].detach()  # == out (hard gate 1)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, Tensor, None, None]:
        out, gates, x = ctx.saved_tensors
        device, autocast, dtype = ctx.autocast
        with torch.no_grad(), torch.autocast(device, dtype=dtype, enabled=autocast):
            out_other = ctx.other(x)
        grad_gates = torch.stack([(grad * out).sum(), (grad * out_other).sum()]).to(gates.dtype)
        return grad * gates[0].detach(), grad_gates, None, None


class MixedEdge(nn.Module):
    """All 7 candidate ops of one edge; only the sampled one runs."""

    def __init__(self, c: int, stride: int) -> None:
        super().__init__()
        self.ops = nn.ModuleDict({name: make_op(name, c, stride) for name in DARTS_OPS})

    def forward(self, x: Tensor, active: int, other: int, gates: Tensor | None) -> Tensor:
        out = self.ops[DARTS_OPS[active]](x)
        if gates is None:
            return out
        return _GatedPair.apply(out, gates, x, self.ops[DARTS_OPS[other]])

    def forward_all(self, x: Tensor, weights: Tensor) -> Tensor:
        """DARTS' continuous relaxation: every op runs, softmax-weighted (the cost baseline)."""
        return sum(w * op(x) for w, op in zip(weights, self.ops.values(), strict=True))


class SearchCell(nn.Module):
    def __init__(self, c_pp: int, c_p: int, c: int, reduction: bool, reduction_prev: bool) -> None:
        super().__init__()
        self.reduction = reduction
        self.preprocess0, self.preprocess1 = make_preprocess(c_pp, c_p, c, reduction_prev)
        self.edges = nn.ModuleList(
            MixedEdge(c, 2 if reduction and edge_source(edge)[1] < 2 else 1)
            for edge in range(NUM_EDGES)
        )

    def edge(self, index: int) -> MixedEdge:
        return cast(MixedEdge, self.edges[index])

    def forward(self, s0: Tensor, s1: Tensor, path: CellPath) -> Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for edge_start, node in zip(NODE_STARTS, range(NUM_NODES), strict=True):
            total: Tensor | None = None
            for source in range(node + 2):
                edge = edge_start + source
                if path.active[edge] < 0:
                    continue
                if path.mixture is not None:
                    out = self.edge(edge).forward_all(states[source], path.mixture[edge])
                    total = out if total is None else total + out
                    continue
                gates = None if path.gates is None else path.gates[edge]
                out = self.edge(edge)(states[source], path.active[edge], path.other[edge], gates)
                total = out if total is None else total + out
            if total is None:
                raise RuntimeError(f"node {node} has no active input edge")
            states.append(total)
        return torch.cat(states[2:], dim=1)


class Supernet(nn.Module):
    """DARTS-space supernet with per-cell alphas, single-path sampling and cell fixing."""

    def __init__(
        self,
        config: MacroConfig,
        head: str = "projection",
        out_dim: int = 128,
        max_skip: int | None = 2,
        max_pool: int | None = 2,
        alpha_std: float = 1e-3,
        checkpoint_cells: int = 0,
    ) -> None:
        super().__init__()
        # Recompute the first `checkpoint_cells` cells (all if negative) in backward instead
        # of keeping their activations. The early, full-resolution cells hold most of the
        # activation memory for a small share of the compute; BN running stats of a
        # recomputed cell see its batch twice.
        self.checkpoint_cells = int(checkpoint_cells)
        self.config = config
        self.head_kind, self.out_dim = head, out_dim
        self.max_skip, self.max_pool = max_skip, max_pool
        self.stem = make_stem(config)
        self.cells = nn.ModuleList(
            SearchCell(c_pp, c_p, c, reduction, reduction_prev)
            for c_pp, c_p, c, reduction, reduction_prev in config.layout()
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = make_head(head, config.feature_dim, out_dim)
        self.alphas = nn.ParameterList(
            nn.Parameter(alpha_std * torch.randn(NUM_EDGES, len(DARTS_OPS)))
            for _ in range(config.cells)
        )
        self.fixed: list[CellGenotype | None] = [None] * config.cells
        self._paths: list[CellPath | None] = [None] * config.cells

    def cell(self, index: int) -> SearchCell | DerivedCell:
        """Cell `index`: a search cell until `fix_cell` swaps in its derived cell."""
        return cast(SearchCell | DerivedCell, self.cells[index])

    # ---- parameters -------------------------------------------------------------------
    def arch_parameters(self) -> list[nn.Parameter]:
        return list(self.alphas)

    def weight_parameters(self) -> list[nn.Parameter]:
        return [p for name, p in self.named_parameters() if not name.startswith("alphas.")]

    def trainable_arch_parameters(self) -> list[nn.Parameter]:
        """Alphas of the cells not fixed yet (fixed cells' alphas are frozen)."""
        return [
            alpha for alpha, fixed in zip(self.alphas, self.fixed, strict=True) if fixed is None
        ]

    # ---- paths ------------------------------------------------------------------------
    def sample(
        self,
        generator: torch.Generator | None,
        arch_step: bool = False,
        skip_dropout: float = 0.0,
    ) -> None:
        """Draw this step's path in every unfixed cell (gates only on architecture steps)."""
        for index, alpha in enumerate(self.alphas):
            if self.fixed[index] is not None:
                self._paths[index] = None
                continue
            active, other = sample_pairs(alpha, generator, 0.0 if arch_step else skip_dropout)
            gates = binary_gates(alpha, active, other) if arch_step else None
            self._paths[index] = CellPath(active.tolist(), other.tolist(), gates)

    def sample_all_ops(self) -> None:
        """DARTS-style path for the cost baseline: all 7 ops on all 14 edges of unfixed cells."""
        for index, alpha in enumerate(self.alphas):
            self._paths[index] = (
                None
                if self.fixed[index] is not None
                else CellPath([0] * NUM_EDGES, [0] * NUM_EDGES, None, torch.softmax(alpha, -1))
            )

    def derive(self) -> list[CellGenotype]:
        """Per-cell genotypes: the fixed ones, and the current best for the others."""
        return [
            fixed if fixed is not None else self.derive_cell(index)
            for index, fixed in enumerate(self.fixed)
        ]

    def derive_cell(self, index: int) -> CellGenotype:
        return derive_cell(
            self.alphas[index].detach().cpu().numpy(),
            self.cell(index).reduction,
            self.max_skip,
            self.max_pool,
        )

    def set_derived_path(self) -> None:
        """Run the derived architecture inside the supernet (unfixed cells: kept edges only)."""
        for index in range(self.config.cells):
            if self.fixed[index] is not None:
                self._paths[index] = None
                continue
            active = [-1] * NUM_EDGES
            for edge, name in self.derive_cell(index).edges():
                active[edge] = DARTS_OPS.index(name)
            self._paths[index] = CellPath(active, [-1] * NUM_EDGES, None)

    # ---- pruning ----------------------------------------------------------------------
    def fix_cell(self, index: int, genotype: CellGenotype | None = None) -> CellGenotype:
        """Replace cell `index` by its derived cell, reusing the kept modules (weights kept)."""
        fixed = self.fixed[index]
        if fixed is not None:
            return fixed
        genotype = genotype or self.derive_cell(index)
        cell = self.cell(index)
        if not isinstance(cell, SearchCell) or genotype.reduction != cell.reduction:
            raise ValueError(f"cell {index} cannot take genotype {genotype.to_text()}")
        edges = {edge: cell.edge(edge).ops[name] for edge, name in genotype.edges()}
        self.cells[index] = DerivedCell(genotype, cell.preprocess0, cell.preprocess1, edges)
        self.fixed[index] = genotype
        alpha = self.alphas[index]
        alpha.grad = None
        alpha.requires_grad_(False)
        self._paths[index] = None
        return genotype

    def fix_all(self) -> list[CellGenotype]:
        return [self.fix_cell(index) for index in range(self.config.cells)]

    # ---- forward ----------------------------------------------------------------------
    def features(self, x: Tensor) -> Tensor:
        s0, s1 = stem_states(self.stem, x)
        recompute = self.checkpoint_cells != 0 and self.training and torch.is_grad_enabled()
        for index, cell in enumerate(self.cells):
            args: tuple = (s0, s1)
            if not isinstance(cell, DerivedCell):
                path = self._paths[index]
                if path is None:
                    raise RuntimeError("call sample() or set_derived_path() before forward")
                args = (s0, s1, path)
            if recompute and (self.checkpoint_cells < 0 or index < self.checkpoint_cells):
                out = torch.utils.checkpoint.checkpoint(cell, *args, use_reentrant=False)
            else:
                out = cell(*args)
            s0, s1 = s1, out
        return self.pool(s1).flatten(1)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))

    # ---- export -----------------------------------------------------------------------
    def to_network(self, genotypes: Sequence[CellGenotype] | None = None) -> Network:
        """A plain `Network` of the derived architecture carrying the concomitant weights."""
        genotypes = list(genotypes) if genotypes is not None else self.derive()
        network = Network(self.config, genotypes, head=self.head_kind, out_dim=self.out_dim)
        network.stem.load_state_dict(self.stem.state_dict())
        network.head.load_state_dict(self.head.state_dict())
        for index, genotype in enumerate(genotypes):
            source, target = self.cell(index), network.cell(index)
            target.preprocess0.load_state_dict(source.preprocess0.state_dict())
            target.preprocess1.load_state_dict(source.preprocess1.state_dict())
            for edge, name in genotype.edges():
                module = (
                    source.edges[str(edge)]
                    if isinstance(source, DerivedCell)
                    else source.edge(edge).ops[name]
                )
                target.edges[str(edge)].load_state_dict(module.state_dict())
        return network.to(next(self.parameters()).device)
