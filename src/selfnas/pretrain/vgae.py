"""arch2vec: a variational graph autoencoder over node-form cells.

Encoder: any `GraphEncoder` (GIN by default) gives node states; two linear heads give each
node a mean and a log-variance of a `latent`-dimensional Gaussian. Decoder, from a sampled
`Z` with dropout: op logits `Z W + b` (softmax, cross-entropy) and edge logits `Z Zᵀ`
(sigmoid, binary cross-entropy on the upper triangle, the only place a DAG in topological
order has edges). KL to N(0, I) is summed over latent dimensions and averaged over nodes.

Where it differs from the published code, and why (see docs/arch2vec.md):
- ops use a softmax + cross-entropy (the published decoder applies its adjacency sigmoid to
  the op logits and trains them with BCE against one-hot rows);
- `logvar` is a true log-variance (`std = exp(logvar / 2)`; the published code samples with
  `std = exp(logvar)` and a KL written for a log standard deviation);
- padding (NB101 cells with fewer than 7 vertices) is an explicit extra op class, so the
  decoder states how many vertices a cell has instead of guessing from all-zero rows;
- the KL weight is a stated `kl_weight` per node, not `1 / (batch * vertices)` that changes
  with the batch size;
- metrics run inside `evaluating()`, so training stays variational after the first check.

An optional `MetricTerm` (locality metric learning, part B) adds its loss on the
architecture embeddings of its own grouped batches: VGAE + locality on any encoder.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from selfnas.encoders import GraphEncoder, get_encoder
from selfnas.errors import InvalidOption
from selfnas.pretrain.objective import MetricTerm, Objective, Reconstruction, grouped_steps
from selfnas.spaces.base import SearchSpace
from selfnas.spaces.batch import PAD, ArchBatch


@runtime_checkable
class GroupedTerm(Protocol):
    """A metric term whose batches come from a grouped sampler (anchor + positives): an
    epoch then has one batch per `batch_size // group_size` anchors."""

    sampler: Any  # selfnas.pretrain.locality.GroupedSampler, or None


class VGAE(Objective):
    """Graph (variational) autoencoder with per-node latents; `variational=False` is a GAE."""

    name = "arch2vec"

    def __init__(
        self,
        space: SearchSpace,
        encoder: GraphEncoder,
        latent: int = 16,
        dropout: float = 0.3,
        variational: bool = True,
        kl_weight: float = 5e-4,
        logvar_init: float = -4.0,
        lr: float = 1e-3,
        batch_size: int = 32,
        grad_clip: float | None = 5.0,
        metric: MetricTerm | None = None,
        edge_bias: bool = True,
        op_bias: bool = True,
    ) -> None:
        super().__init__(space)
        self.encoder = encoder
        self.latent = latent
        self.variational = variational
        self.kl_weight = kl_weight
        self.lr = lr
        self.batch_size = batch_size
        self.grad_clip = grad_clip
        self.metric = metric
        self.num_ops = len(space.node_ops)
        self.fc_mu = nn.Linear(encoder.out_dim, latent)
        self.fc_logvar = nn.Linear(encoder.out_dim, latent) if variational else None
        if self.fc_logvar is not None:
            # start with little posterior noise (std ~ 0.1), so the signal is not drowned
            # before the encoder has learnt anything; the KL term then sets the noise level
            nn.init.constant_(self.fc_logvar.bias, logvar_init)
        self.dropout = nn.Dropout(dropout)
        # one extra class: "no vertex here" (padding)
        self.op_decoder = nn.Linear(latent, self.num_ops + 1)
        vertices = space.num_vertices
        # a learned logit offset per vertex pair: edges the node form fixes (DARTS's
        # cross-cell block, NB201's whole adjacency) need not be carried by the latents
        self.edge_bias = nn.Parameter(torch.zeros(vertices, vertices)) if edge_bias else None
        # a learned op-logit offset per vertex: ops a position always or never holds
        # (the input at vertex 0; NB201's and DARTS's fixed input/output slots) need not
        # be carried by the latents either, so samples between cells keep legal ops there
        self.op_bias = nn.Parameter(torch.zeros(vertices, self.num_ops + 1)) if op_bias else None

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """Runs saved before the per-vertex op offset existed load without it, and then
        decode exactly as they were trained."""
        if self.op_bias is not None and "op_bias" not in state_dict:
            self.op_bias = None
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    # --- model ---------------------------------------------------------------
    def encode(self, archs: ArchBatch) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Per-node means `[N,V,latent]` and log-variances (None for a GAE)."""
        h = self.encoder(archs)
        mu = self.fc_mu(h)
        logvar = self.fc_logvar(h) if self.fc_logvar is not None else None
        return mu, logvar

    def decode_logits(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Op logits `[N,V,num_ops+1]` and edge logits `[N,V,V]` from latents."""
        z = self.dropout(z)
        adj_logits = torch.bmm(z, z.transpose(1, 2))
        if self.edge_bias is not None:
            adj_logits = adj_logits + self.edge_bias
        op_logits = self.op_decoder(z)
        if self.op_bias is not None:
            op_logits = op_logits + self.op_bias
        return op_logits, adj_logits

    def _targets(self, archs: ArchBatch) -> torch.Tensor:
        return torch.where(archs.ops == PAD, torch.full_like(archs.ops, self.num_ops), archs.ops)

    # --- Objective -----------------------------------------------------------
    def batches(
        self, train: ArchBatch, rng: np.random.Generator, epoch: int
    ) -> Iterator[tuple[ArchBatch, torch.Tensor | None]]:
        if self.metric is not None:
            yield from self.metric.batches(train, rng, epoch, self.batch_size)
            return
        order = torch.as_tensor(rng.permutation(len(train)), device=train.adj.device)
        for chunk in order.split(self.batch_size):
            yield train[chunk], None

    def steps_per_epoch(self, num_train: int) -> int:
        if not isinstance(self.metric, GroupedTerm) or self.metric.sampler is None:
            return super().steps_per_epoch(num_train)
        group_size = self.metric.sampler.group_size
        return grouped_steps(num_train, max(2, self.batch_size // group_size))

    def loss(self, batch: Any) -> tuple[torch.Tensor, dict[str, float]]:
        archs, labels = batch
        mu, logvar = self.encode(archs)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if logvar is not None else mu
        op_logits, adj_logits = self.decode_logits(z)
        ops_loss = F.cross_entropy(op_logits.flatten(0, 1), self._targets(archs).flatten())
        v = archs.num_vertices
        rows, cols = torch.triu_indices(v, v, offset=1, device=mu.device)
        adj_loss = F.binary_cross_entropy_with_logits(
            adj_logits[:, rows, cols], archs.adj[:, rows, cols]
        )
        total = ops_loss + adj_loss
        parts = {"ops": float(ops_loss.detach()), "adj": float(adj_loss.detach())}
        if logvar is not None:
            kl = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(-1)).mean()
            total = total + self.kl_weight * kl
            parts["kl"] = float(kl.detach())
        if self.metric is not None and labels is not None:
            metric_loss = self.metric(self._pool(mu, archs.mask), labels)
            total = total + metric_loss
            parts["metric"] = float(metric_loss.detach())
        parts["loss"] = float(total.detach())
        return total, parts

    def configure_optimizer(
        self, steps_per_epoch: int
    ) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler | None]:
        params = list(self.parameters())
        # the fused kernel: one pass over all parameters instead of ~10 small ops per tensor
        # (the step is overhead-bound at batch 32); same Adam update up to rounding
        fused = all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in params)
        adam = torch.optim.Adam(params, lr=self.lr, betas=(0.9, 0.999), eps=1e-8, fused=fused)
        return adam, None

    @staticmethod
    def _pool(mu: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        weights = mask.to(mu.dtype).unsqueeze(-1)
        return (mu * weights).sum(1) / weights.sum(1).clamp(min=1.0)

    @torch.no_grad()
    def embed(self, archs: ArchBatch) -> torch.Tensor:
        """The mean over real nodes of the per-node means, `[N, latent]`."""
        with self.evaluating():
            mu, _ = self.encode(archs)
        return self._pool(mu, archs.mask)

    @torch.no_grad()
    def latents(self, archs: ArchBatch) -> torch.Tensor:
        """Per-node means `[N, V, latent]` (what `sample_decode` accepts)."""
        with self.evaluating():
            mu, _ = self.encode(archs)
        return mu

    @torch.no_grad()
    def sample_decode(self, embeddings: torch.Tensor) -> Reconstruction:
        """Graphs from per-node latents: argmax ops (padding class -> PAD), edges where
        `z_i · z_j > 0` above the diagonal between vertices that are not padding."""
        with self.evaluating():
            op_logits, adj_logits = self.decode_logits(embeddings)
        ops = op_logits.argmax(-1)
        ops = torch.where(ops == self.num_ops, torch.full_like(ops, PAD), ops)
        # a vertex decoded as "no vertex here" has no edges: padding rows share one latent
        # (their encoder states are zero), so `z_i · z_j` alone would join them
        real = (ops != PAD).to(torch.float32)
        adj = (adj_logits > 0).to(torch.float32).triu(1) * real.unsqueeze(2) * real.unsqueeze(1)
        return Reconstruction(adj=adj, ops=ops)

    @torch.no_grad()
    def reconstruct(self, archs: ArchBatch) -> Reconstruction:
        return self.sample_decode(self.latents(archs))


def build(
    space: SearchSpace,
    encoder: str = "gin",
    variational: bool = True,
    encoder_opts: dict[str, Any] | None = None,
    metric: MetricTerm | None = None,
    vertex_ids: bool = False,
    **opts: Any,
) -> VGAE:
    """A VGAE/GAE on the named encoder (options: see `VGAE`)."""
    encoder_opts = dict(encoder_opts or {})
    if vertex_ids:
        if encoder != "gin":
            raise InvalidOption(f"--vertex-ids on is a GIN option; encoder {encoder!r} has none")
        encoder_opts["vertex_ids"] = True
    enc = get_encoder(encoder, space, **encoder_opts)
    return VGAE(space, enc, variational=variational, metric=metric, **opts)
