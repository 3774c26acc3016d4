"""pytorch-metric-learning's `TripletMarginMiner`, mining without the N³ triplet tensor.

pml enumerates every (anchor, positive, negative) triplet through an `[N, N, N]` indicator
tensor before it filters by margin: at the locality batches' 512 archs that is 134 M
entries per step, about half of a pretraining step on this CPU. Here each
(anchor, positive) pair is scored against a whole row of the distance matrix instead
(`[pairs, N]`, 1.8 M entries for 64 groups of 8), and the same triplets come back in the
same (anchor, positive, negative) order, so losses and their gradients are unchanged.
"""

from __future__ import annotations

import torch
from pytorch_metric_learning.miners import TripletMarginMiner
from pytorch_metric_learning.utils import loss_and_miner_utils as lmu


class RowwiseTripletMarginMiner(TripletMarginMiner):
    """`TripletMarginMiner` (same options, same output) with row-wise enumeration."""

    def mine(self, embeddings, labels, ref_emb, ref_labels):
        matches, diffs = lmu.get_matches_and_diffs(labels, ref_labels)
        anchor, positive = torch.where(matches.bool())
        mat = self.distance(embeddings, ref_emb)
        ap = mat[anchor, positive].unsqueeze(1)
        an = mat[anchor]
        margin = ap - an if self.distance.is_inverted else an - ap
        negative_ok = diffs[anchor].bool()
        self._stats(ap, an, margin, negative_ok)
        if self.type_of_triplets == "easy":
            keep = margin > self.margin
        else:
            keep = margin <= self.margin
            if self.type_of_triplets == "hard":
                keep &= margin <= 0
            elif self.type_of_triplets == "semihard":
                keep &= margin > 0
        pair, negative = torch.where(keep & negative_ok)
        return anchor[pair], positive[pair], negative

    def _stats(self, ap, an, margin, negative_ok) -> None:
        """The parent's statistics (means over all triplets), when they are collected."""
        if not self.collect_stats:
            return
        with torch.no_grad():
            weight = negative_ok.to(an.dtype)
            total = weight.sum().clamp_min(1)
            self.pos_pair_dist = float((ap * weight).sum() / total)
            self.neg_pair_dist = float((an * weight).sum() / total)
            self.avg_triplet_margin = float((margin * weight).sum() / total)
