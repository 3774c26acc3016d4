"""Pretraining metrics: the arch2vec protocol (reconstruction, validity, uniqueness) plus
locality (does embedding distance follow edit distance?).

All of them are batched over tensors; the only per-graph Python work is the space's own
`decode`/`hash` for validity and uniqueness (validity is counted by the space's rules, not
by a looser check of op names).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from selfnas.pretrain.objective import Objective, Reconstruction
from selfnas.spaces.base import SearchSpace
from selfnas.spaces.batch import PAD, ArchBatch


@torch.no_grad()
def reconstruction_accuracy(
    objective: Objective, archs: ArchBatch, batch_size: int = 4096
) -> dict[str, float]:
    """Fraction of archs rebuilt exactly (every op, padding included, and every edge), plus
    the per-op and per-edge accuracies for diagnosis."""
    exact = ops_right = edges_right = 0.0
    v = archs.num_vertices
    rows, cols = torch.triu_indices(v, v, offset=1, device=archs.adj.device)
    for start in range(0, len(archs), batch_size):
        part = archs[start : start + batch_size]
        rec = objective.reconstruct(part)
        ops_ok = rec.ops == part.ops
        edge_ok = rec.adj[:, rows, cols] == part.adj[:, rows, cols]
        exact += float((ops_ok.all(1) & edge_ok.all(1)).sum())
        ops_right += float(ops_ok.float().mean(1).sum())
        edges_right += float(edge_ok.float().mean(1).sum())
    n = max(len(archs), 1)
    return {
        "reconstruction_accuracy": exact / n,
        "ops_accuracy": ops_right / n,
        "adj_accuracy": edges_right / n,
    }


COVARIANCES = ("full", "diagonal")


@dataclass(frozen=True)
class LatentGaussian:
    """A Gaussian over whole per-node latents `[V, D]`, flattened to `V * D` coordinates.

    `scale` `[V*D, V*D]` maps standard normal noise to the fit's spread: a full covariance's
    square root (so draws keep the correlations between nodes and dims: which vertices
    carry an edge together, which op goes with which position) or, for the diagonal fit,
    the diagonal matrix of per-coordinate standard deviations the published arch2vec code
    samples with."""

    mean: torch.Tensor  # [V, D]
    scale: torch.Tensor  # [V*D, V*D]

    def transform(self, noise: torch.Tensor) -> torch.Tensor:
        """Standard normal noise `[S, V*D]` (float64) -> latents `[S, V, D]`."""
        spread = noise @ self.scale.T + self.mean.reshape(-1).double()
        return spread.to(self.mean.dtype).reshape(-1, *self.mean.shape)


@torch.no_grad()
def fit_gaussian(latents: torch.Tensor, covariance: str = "full") -> LatentGaussian:
    """The maximum-likelihood Gaussian of the training latents `[N, V, D]` (or its diagonal).

    The square root comes from an eigendecomposition, not a Cholesky factor: padding
    vertices have constant latents, so the covariance is singular."""
    if covariance not in COVARIANCES:
        raise ValueError(f"covariance must be one of {COVARIANCES}, got {covariance!r}")
    flat = latents.reshape(len(latents), -1).double()
    if covariance == "diagonal":
        return LatentGaussian(latents.mean(0), torch.diag(flat.std(0)))
    centred = flat - flat.mean(0)
    cov = centred.T @ centred / max(len(flat) - 1, 1)
    eigenvalues, vectors = torch.linalg.eigh(cov)
    return LatentGaussian(latents.mean(0), vectors * eigenvalues.clamp(min=0).sqrt())


@torch.no_grad()
def standard_noise(rng: np.random.Generator, samples: int, like: torch.Tensor) -> torch.Tensor:
    """`[samples, V*D]` standard normal draws for latents shaped like `like` `[N, V, D]`."""
    width = int(np.prod(like.shape[1:]))
    return torch.as_tensor(rng.standard_normal((samples, width)), device=like.device)


@torch.no_grad()
def training_latents(
    objective: Objective, train: ArchBatch, batch_size: int = 4096
) -> torch.Tensor:
    """`objective.latents` of every training arch, in chunks."""
    return torch.cat(
        [objective.latents(train[i : i + batch_size]) for i in range(0, len(train), batch_size)]
    )


def decode_draws(
    space: SearchSpace, rec: Reconstruction
) -> Iterator[tuple[np.ndarray, np.ndarray, Any | None]]:
    """Each decoded graph as (adjacency as int8, ops, the space's arch or None where the
    space rejects it): the one decoding every count of the draws shares."""
    adj = rec.adj.cpu().numpy().astype(np.int8)
    ops = rec.ops.cpu().numpy()
    for a, o in zip(adj, ops, strict=True):
        yield a, o, space.decode(a, o)


def count_valid_unique(space: SearchSpace, rec: Reconstruction) -> dict[str, float]:
    """validity = fraction the space accepts (`space.decode` is not None); uniqueness =
    distinct `space.hash` values among the valid ones. Where the space can hash a decoded
    graph as decoded (`unpruned_hash`: NB101), `uniqueness_unpruned` counts distinct
    decoded graphs among the valid ones, the published code's count. Where the space
    has the published code's looser validity rule (`published_valid`: DARTS),
    `validity_published_rule` counts by it too."""
    loosely_valid = 0
    has_published_rule = has_unpruned_hash = False
    hashes: set[str] = set()
    graphs: set[str] = set()
    valid = 0
    for a, o, arch in decode_draws(space, rec):
        published = space.published_valid(a, o)
        if published is not None:
            has_published_rule = True
            loosely_valid += bool(published)
        graph = space.unpruned_hash(a, o)
        has_unpruned_hash |= graph is not None
        if arch is not None:
            valid += 1
            hashes.add(space.hash(arch))
            if graph is not None:
                graphs.add(graph)
    samples = len(rec.ops)
    out = {
        "validity": valid / samples,
        "uniqueness": len(hashes) / valid if valid else 0.0,
    }
    if has_unpruned_hash:
        out["uniqueness_unpruned"] = len(graphs) / valid if valid else 0.0
    if has_published_rule:
        out["validity_published_rule"] = loosely_valid / samples
    return out


@torch.no_grad()
def draws_by_size(
    train_latents: torch.Tensor, sizes: torch.Tensor, rng: np.random.Generator, samples: int
) -> torch.Tensor:
    """`samples` latents from a mixture with one full-covariance Gaussian per cell size
    (`sizes[i]`: vertices of training arch `i`), each size drawn as often as the data has it.

    Cells of different sizes fill different vertex slots (padding latents are constant), so
    the training latents form one cluster per size; a single Gaussian puts mass between
    them."""
    if len(sizes) != len(train_latents):
        raise ValueError(f"{len(sizes)} cell sizes for {len(train_latents)} training latents")
    sizes = sizes.to(train_latents.device)
    values, counts = sizes.unique(return_counts=True)
    shares = counts.cpu().numpy().astype(np.float64)  # float32 shares may not sum to 1
    pick = rng.choice(len(values), size=samples, p=shares / shares.sum())
    out = train_latents.new_empty(samples, *train_latents.shape[1:])
    for i, size in enumerate(values.tolist()):
        rows = torch.as_tensor(np.flatnonzero(pick == i), device=out.device)
        if len(rows):
            group = train_latents[sizes == size]
            out[rows] = fit_gaussian(group, "full").transform(standard_noise(rng, len(rows), group))
    return out


#: the fits the validity metric draws from, and the suffix of their counts' keys
FIT_SUFFIXES = {"full": "", "diagonal": "_diagonal", "by_size": "_by_size"}


@torch.no_grad()
def latent_draws(
    train_latents: torch.Tensor,
    rng: np.random.Generator,
    samples: int,
    sizes: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """The validity metric's latent draws per fit (`FIT_SUFFIXES`), in the order the
    generator is used: one standard-normal noise through the full and the diagonal fit
    (paired draws), then, where the training cells differ in size (`sizes`), the per-size
    mixture (`draws_by_size`)."""
    noise = standard_noise(rng, samples, train_latents)
    draws = {c: fit_gaussian(train_latents, c).transform(noise) for c in COVARIANCES}
    if sizes is not None and len(sizes.unique()) > 1:
        draws["by_size"] = draws_by_size(train_latents, sizes, rng, samples)
    return draws


@torch.no_grad()
def validity_uniqueness(
    objective: Objective,
    space: SearchSpace,
    train_latents: torch.Tensor,
    rng: np.random.Generator,
    samples: int = 10_000,
    sizes: torch.Tensor | None = None,
) -> dict[str, float]:
    """Validity and uniqueness (`count_valid_unique`) of `samples` draws decoded from the
    Gaussian fitted to the training latents, with its full covariance.

    The same noise also goes through the diagonal fit the published code samples from;
    its counts carry the suffix `_diagonal`, so both are measured on paired draws. Where
    the training cells differ in size (`sizes`, NB101), draws from one Gaussian per size
    are counted too, with the suffix `_by_size` (see `latent_draws`)."""
    out: dict[str, float] = {}
    for fit, latents in latent_draws(train_latents, rng, samples, sizes).items():
        counts = count_valid_unique(space, objective.sample_decode(latents))
        out |= {f"{k}{FIT_SUFFIXES[fit]}": v for k, v in counts.items()}
    return out


def cell_sizes(archs: ArchBatch) -> torch.Tensor:
    """Vertices per arch (those that are not padding)."""
    return (archs.ops != PAD).sum(1)


@dataclass
class LocalityResult:
    """Pairs along a random walk: embedding L2 distance and exact edit distance."""

    l2: np.ndarray
    edit: np.ndarray
    spearman: float
    auc: float

    def summary(self) -> dict[str, float]:
        return {"locality_spearman": self.spearman, "locality_auc": self.auc}


@torch.no_grad()
def locality(
    objective: Objective,
    space: SearchSpace,
    rng: np.random.Generator,
    steps: int = 1000,
    max_offset: int = 10,
    positive_edit: int = 6,
    device: torch.device | str = "cpu",
) -> LocalityResult:
    """Spearman between L2 distance and exact edit distance for walk pairs `(i, i+k)`,
    `k <= max_offset` (a walk of `steps` single edits), and the AUC of `-L2` separating
    pairs within `positive_edit` edits from pairs of independently sampled archs."""
    from scipy.stats import spearmanr
    from sklearn.metrics import roc_auc_score

    walk = [space.sample(1, rng)[0]]
    for _ in range(steps - 1):
        walk.append(space.mutate(walk[-1], rng))
    others = space.sample(steps, rng)
    emb = objective.embed(space.batch(walk).to(device)).cpu().numpy()
    emb_other = objective.embed(space.batch(others).to(device)).cpu().numpy()
    first, second, edit = [], [], []
    for k in range(1, max_offset + 1):
        for i in range(steps - k):
            first.append(i)
            second.append(i + k)
            edit.append(space.edit_distance(walk[i], walk[i + k]))
    first_a, second_a = np.asarray(first), np.asarray(second)
    edit_a = np.asarray(edit, dtype=np.int64)
    l2 = np.linalg.norm(emb[first_a] - emb[second_a], axis=1)
    rho = float(spearmanr(l2, edit_a).statistic)
    positives = l2[edit_a <= positive_edit]
    negatives = np.linalg.norm(emb - emb_other, axis=1)
    labels = np.r_[np.ones(len(positives)), np.zeros(len(negatives))]
    auc = float(roc_auc_score(labels, -np.r_[positives, negatives]))
    return LocalityResult(l2=l2, edit=edit_a, spearman=rho, auc=auc)


def summarise(metrics: dict[str, Any]) -> dict[str, Any]:
    """The keys the CLI promises, first."""
    keys = ("reconstruction_accuracy", "validity", "uniqueness", "seconds")
    return {k: metrics[k] for k in keys if k in metrics} | {
        k: v for k, v in metrics.items() if k not in keys
    }


def pretraining_protocol(validity_samples: int = 10_000, batch_size: int = 4096):
    """The trainer's per-epoch evaluation: reconstruction on the held-out split, then
    validity and uniqueness of samples around the training latents (skipped for objectives
    without a generative decoder)."""

    def evaluate(
        objective: Objective,
        train: ArchBatch,
        held_out: ArchBatch,
        epoch: int,
        rng: np.random.Generator,
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        with contextlib.suppress(NotImplementedError):
            out |= reconstruction_accuracy(objective, held_out, batch_size)
        if validity_samples > 0:
            try:
                lat = training_latents(objective, train, batch_size)
                out |= validity_uniqueness(
                    objective, objective.space, lat, rng, validity_samples, cell_sizes(train)
                )
            except NotImplementedError:
                pass
        return out

    return evaluate
