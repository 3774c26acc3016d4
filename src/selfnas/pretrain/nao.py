"""The NAO controller (Luo et al. 2018, SemiNAS's NAS-Bench variant) and its
self-supervised pretraining objective: a sequence autoencoder over architectures.

Controller = `SeqEncoder` (tokens -> per-token outputs + unit-norm arch embedding),
`SeqDecoder` (LSTM + attention, initial state = embedding), and a 2-layer MLP predictor
(hidden 64, residual, sigmoid). Pretraining trains encoder and decoder on reconstruction
only (there are no accuracies yet); the predictor is kept for search, which uses
`encode`, `predict`, `nao_step` and `decode` (NAO's gradient ascent in embedding space).

Defaults are Table 2 of Choi et al. (2020): SGD lr 1.0, x0.2 at iteration 6000, batch 512,
no gradient clipping during pretraining (clipping 5.0 is for search-time training, as in
the authors' code). The training length is counted in iterations where epochs are short
(`min_steps`; see docs/locality.md).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import Any, TypeVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from selfnas.encoders.seq import SeqEncoder, SeqLayout, layout_for, pool_tokens
from selfnas.errors import InvalidOption, SelfnasError
from selfnas.pretrain.nao_decoder import SeqDecoder
from selfnas.pretrain.objective import Objective, Reconstruction
from selfnas.spaces.base import Arch, SearchSpace
from selfnas.spaces.batch import PAD, ArchBatch


class Predictor(nn.Module):
    """NAO's performance head: residual 2-layer MLP then a linear regressor and sigmoid."""

    def __init__(self, hidden: int = 16, mlp_hidden: int = 64, layers: int = 2) -> None:
        super().__init__()
        if layers < 1:
            raise InvalidOption(f"predictor needs >= 1 layer, got {layers}")
        dims = [hidden] + [mlp_hidden] * (layers - 1) + [hidden]
        self.mlp = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(dims))
        self.regressor = nn.Linear(hidden, 1)

    def forward(self, embedding: torch.Tensor) -> torch.Tensor:
        x = embedding
        for layer in self.mlp:
            x = F.relu(layer(x))
        x = (embedding + x) * math.sqrt(0.5)
        return torch.sigmoid(self.regressor(x)).squeeze(-1)


class NAOController(nn.Module):
    """Encoder, decoder and predictor; the pieces NAO's search is written against."""

    def __init__(
        self,
        space: SearchSpace,
        layout: SeqLayout | None = None,
        hidden: int = 16,
        mlp_hidden: int = 64,
        mlp_layers: int = 2,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.space = space
        self.layout = layout or layout_for(space)
        self.encoder = SeqEncoder(self.layout, hidden=hidden, dropout=dropout)
        self.decoder = SeqDecoder(
            self.layout.vocab_size, self.layout.length, hidden=hidden, dropout=dropout
        )
        self.predictor = Predictor(hidden, mlp_hidden, mlp_layers)
        #: whether decoding may end a graph early (spaces with fewer-vertex graphs)
        self.allow_pad = True

    @property
    def device(self) -> torch.device:
        return self.encoder.embedding.weight.device

    # --- the search-facing API ---------------------------------------------------
    def encode(self, archs: ArchBatch) -> tuple[torch.Tensor, torch.Tensor]:
        """`(token_outputs [N,L,H], arch_embedding [N,H])`, both unit-norm per vector."""
        return self.encoder.encode(archs.to(self.device))

    def predict(self, embedding: torch.Tensor) -> torch.Tensor:
        """Predicted score in (0, 1) per architecture `[N]` (higher is better)."""
        return self.predictor(embedding)

    def nao_step(self, embedding: torch.Tensor, step_size: float) -> torch.Tensor:
        """Move embeddings up the predictor's gradient: `normalize(x + step * dP/dx)`.

        `embedding` is either token outputs `[N,L,H]` (NAO's own move, re-pooled for the
        prediction) or arch embeddings `[N,H]`; the result has the same shape."""
        with torch.enable_grad():
            x = embedding.detach().requires_grad_(True)
            pooled = pool_tokens(x) if x.dim() == 3 else x
            (grad,) = torch.autograd.grad(self.predict(pooled).sum(), x)
        return F.normalize(x.detach() + step_size * grad, p=2, dim=-1)

    def decode_tokens(self, embedding: torch.Tensor) -> torch.Tensor:
        """Greedy constrained tokens `[N, L]` from token outputs `[N,L,H]` or arch
        embeddings `[N,H]` (then attention has the embedding alone as its source)."""
        if embedding.dim() == 3:
            source, pooled = embedding, pool_tokens(embedding)
        elif embedding.dim() == 2:
            source, pooled = embedding.unsqueeze(1), embedding
        else:
            raise InvalidOption(
                f"expected [N,L,H] or [N,H] embeddings, got {tuple(embedding.shape)}"
            )
        return self.decoder.generate(pooled, source, self.layout.allowed(self.allow_pad))

    def decode_graphs(self, embedding: torch.Tensor) -> ArchBatch:
        """Decoded node-form graphs (possibly invalid members of the space)."""
        return self.layout.decode(self.decode_tokens(embedding))

    def decode(self, embedding: torch.Tensor) -> list[Arch | None]:
        """Decoded architectures; None where the decoded graph is not in the space."""
        return graphs_to_archs(self.space, self.decode_graphs(embedding))


def graphs_to_archs(space: SearchSpace, graphs: ArchBatch) -> list[Arch | None]:
    """`space.decode` per graph, on its real vertices; None where invalid."""
    adj = graphs.adj.detach().cpu().numpy()
    ops = graphs.ops.detach().cpu().numpy()
    mask = graphs.mask.detach().cpu().numpy()
    out: list[Arch | None] = []
    for a, o, m in zip(adj, ops, mask, strict=True):
        k = int(m.sum())
        if not m[:k].all():  # a padded vertex before a real one: not a graph
            out.append(None)
            continue
        try:
            out.append(space.decode(a[:k, :k], o[:k]))
        except SelfnasError:
            out.append(None)
    return out


class NAOObjective(Objective):
    """NAO's autoencoder pretraining: reconstruction NLL of the token sequence."""

    name = "nao"
    grad_clip: float | None = None
    #: With SGD lr 1.0 the decoder first learns the fixed tokens and guesses the ops
    #: (NB201: a plateau at 0.28 nats per token); it leaves the plateau between iterations
    #: 2,100 and 2,800 (measured, seed 0) and then reconstructs every held-out cell. NB101's
    #: default epochs are ~6,000 iterations; smaller spaces train at least this many.
    min_steps: int = 4000

    def __init__(
        self,
        space: SearchSpace,
        *,
        hidden: int = 16,
        mlp_hidden: int = 64,
        dropout: float = 0.0,
        batch_size: int = 512,
        lr: float = 1.0,
        decay_at: int = 6000,
        gamma: float = 0.2,
        grad_clip: float | None = None,
    ) -> None:
        super().__init__(space)
        if batch_size < 1:
            raise InvalidOption(f"batch_size must be >= 1, got {batch_size}")
        if lr <= 0:
            raise InvalidOption(f"lr must be > 0, got {lr}")
        self.controller = NAOController(
            space, hidden=hidden, mlp_hidden=mlp_hidden, dropout=dropout
        )
        self.layout = self.controller.layout
        self.batch_size = int(batch_size)
        self.lr = float(lr)
        self.decay_at = int(decay_at)
        self.gamma = float(gamma)
        self.grad_clip = grad_clip

    # --- training ---------------------------------------------------------------
    def batches(self, train: ArchBatch, rng: np.random.Generator, epoch: int) -> Iterator[Any]:
        order = rng.permutation(len(train))
        for start in range(0, len(order), self.batch_size):
            yield train[order[start : start + self.batch_size]]

    def reconstruction(
        self, archs: ArchBatch
    ) -> tuple[torch.Tensor, torch.Tensor, dict[str, float]]:
        """`(nll, arch_embedding, parts)` of one teacher-forced pass."""
        tokens = self.layout.encode(archs.to(self.controller.device))
        outputs, embedding = self.controller.encoder.encode_tokens(tokens)
        logp = self.controller.decoder(tokens, embedding, outputs)
        nll = F.nll_loss(logp.reshape(-1, logp.shape[-1]), tokens.reshape(-1))
        with torch.no_grad():
            right = logp.argmax(dim=-1) == tokens
        parts = {
            "loss": float(nll.detach()),
            "reconstruction": float(nll.detach()),
            "token_acc": float(right.float().mean()),
            "recon_acc": float(right.all(dim=1).float().mean()),
        }
        return nll, embedding, parts

    def loss(self, batch: Any) -> tuple[torch.Tensor, dict[str, float]]:
        nll, _, parts = self.reconstruction(batch)
        return nll, parts

    def configure_optimizer(
        self, steps_per_epoch: int
    ) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler | None]:
        opt = torch.optim.SGD(self.parameters(), lr=self.lr)
        sched = torch.optim.lr_scheduler.MultiStepLR(
            opt, milestones=[self.decay_at], gamma=self.gamma
        )
        return opt, sched

    # --- evaluation ----------------------------------------------------------------
    @torch.no_grad()
    def embed(self, archs: ArchBatch) -> torch.Tensor:
        was = self.training
        self.eval()
        try:
            return self.controller.encode(archs)[1]
        finally:
            self.train(was)

    @torch.no_grad()
    def reconstruct_tokens(self, archs: ArchBatch) -> torch.Tensor:
        """Greedy decoded tokens of each arch's own encoding."""
        was = self.training
        self.eval()
        try:
            outputs, _ = self.controller.encode(archs)
            return self.controller.decode_tokens(outputs)
        finally:
            self.train(was)

    @torch.no_grad()
    def reconstruction_accuracy(self, archs: ArchBatch) -> float:
        """Share of archs whose greedy decoding gets every token right (the paper's
        definition, Fig. 3c, per architecture rather than per token)."""
        tokens = self.layout.encode(archs.to(self.controller.device))
        return float((self.reconstruct_tokens(archs) == tokens).all(dim=1).float().mean())

    @torch.no_grad()
    def reconstruct(self, archs: ArchBatch) -> Reconstruction:
        graphs = self.layout.decode(self.reconstruct_tokens(archs))
        return _fit_vertices(graphs, archs.num_vertices)

    @torch.no_grad()
    def sample_decode(self, embeddings: torch.Tensor) -> Reconstruction:
        """Decode arch embeddings `[N,H]` (renormalised: the encoder's are unit-norm)."""
        was = self.training
        self.eval()
        try:
            emb = F.normalize(embeddings.to(self.controller.device), p=2, dim=-1)
            graphs = self.controller.decode_graphs(emb)
        finally:
            self.train(was)
        return Reconstruction(adj=graphs.adj, ops=graphs.ops)


def _fit_vertices(graphs: ArchBatch, num_vertices: int) -> Reconstruction:
    """Crop decoded graphs to the batch's vertex count. A graph that used a vertex beyond
    it cannot equal its target, so its input op is set to PAD to keep it counted wrong."""
    adj, ops = graphs.adj, graphs.ops
    extra = ops.shape[1] - num_vertices
    if extra <= 0:
        return Reconstruction(adj=adj, ops=ops)
    overflow = (ops[:, num_vertices:] != PAD).any(dim=1)
    ops = ops[:, :num_vertices].clone()
    ops[overflow, 0] = PAD
    return Reconstruction(adj=adj[:, :num_vertices, :num_vertices], ops=ops)


def build_nao(space: SearchSpace, **options: Any) -> NAOObjective:
    """Registry factory for `nao` (options: see `NAOObjective`)."""
    return construct_objective(NAOObjective, space, options)


def option_names(cls: type) -> list[str]:
    """Keyword options accepted by an objective class (its and its bases' __init__)."""
    import inspect

    names: list[str] = []
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass in (Objective, nn.Module, object):
            continue
        for p in inspect.signature(init).parameters.values():
            if p.kind is p.KEYWORD_ONLY and p.name not in names:
                names.append(p.name)
    return names


ObjectiveT = TypeVar("ObjectiveT", bound=Objective)


def construct_objective(
    cls: type[ObjectiveT], space: SearchSpace, options: dict[str, Any]
) -> ObjectiveT:
    known = option_names(cls)
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise InvalidOption(
            f"{cls.name}: unknown option(s) {', '.join(unknown)}; options are {', '.join(known)}"
        )
    return cls(space, **options)


#: objective registry entries contributed by this module (name -> factory(space, **opts))
OBJECTIVES = {"nao": build_nao}
