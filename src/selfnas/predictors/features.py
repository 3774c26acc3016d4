"""Zero-cost proxy scores as extra inputs of a predictor.

A proxy (synflow, nwot, ...) is computed without training, so its value is known for
every arch of the space, labelled or not. Each proxy column is turned into its quantile
over the whole space (0 = lowest, 1 = highest): proxies span many orders of magnitude
(synflow) or sit in narrow bands (nwot), and ranks put them on one scale without looking
at a single label. The graph-level vector is concatenated to the encoder's embedding
before the score head (`Predictor(features=F)`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from scipy.stats import rankdata

from selfnas.errors import DataCorrupt, DataNotFound, InvalidOption
from selfnas.spaces.base import SearchSpace


@dataclass
class WithFeatures:
    """An encoder batch plus a feature row per arch; sliced and moved together."""

    graphs: Any
    features: torch.Tensor  # float32 [N, F]

    def __len__(self) -> int:
        return int(self.features.shape[0])

    def __getitem__(self, index: Any) -> WithFeatures:
        rows = torch.as_tensor(index) if isinstance(index, np.ndarray) else index
        return WithFeatures(self.graphs[index], self.features[rows])

    def to(self, device: torch.device | str) -> WithFeatures:
        graphs = self.graphs.to(device) if hasattr(self.graphs, "to") else self.graphs
        return WithFeatures(graphs, self.features.to(device))


def read_scores(path: str | Path) -> pd.DataFrame:
    """A `selfnas zc` output (CSV or Parquet with an `arch` column), indexed by arch."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataNotFound(
            f"proxy scores {path} not found; compute them with "
            "`selfnas zc --space SPACE --proxy NAMES --out FILE`"
        )
    try:
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise DataCorrupt(f"{path}: not a readable score table ({exc})") from None
    if "arch" not in frame.columns:
        raise DataCorrupt(f"{path}: no `arch` column")
    return frame.drop_duplicates("arch").set_index("arch")


def quantiles(values: np.ndarray) -> np.ndarray:
    """Each value's mid-rank quantile in (0, 1); NaN (a failed proxy) sits at 0.5."""
    out = np.full(len(values), 0.5)
    finite = np.isfinite(values)
    if finite.sum() > 1:
        out[finite] = (rankdata(values[finite]) - 0.5) / finite.sum()
    return out


def proxy_features(
    space: SearchSpace, archs: Sequence[Any], scores: pd.DataFrame, proxies: Sequence[str]
) -> torch.Tensor:
    """float32 [len(archs), len(proxies)]: each proxy's quantile over `archs` (which should
    be the whole space, so no label is involved)."""
    missing = [p for p in proxies if p not in scores.columns]
    if missing or not proxies:
        raise InvalidOption(
            f"proxies {', '.join(missing) or '(none)'} are not in the score table; it has "
            f"{', '.join(c for c in scores.columns if c != 'arch')}"
        )
    texts = [space.format(a) for a in archs]
    absent = [t for t in texts if t not in scores.index]
    if absent:
        raise InvalidOption(
            f"the score table lacks {len(absent)} of {len(texts)} archs (e.g. {absent[0]}); "
            "score the whole space with `selfnas zc`"
        )
    table = scores.loc[texts, list(proxies)].to_numpy(dtype=np.float64)
    columns = [quantiles(table[:, j]) for j in range(table.shape[1])]
    return torch.tensor(np.stack(columns, axis=1), dtype=torch.float32)
