"""Pretraining run directories (`selfnas pretrain --out DIR`), read back in one place.

Layout (the trainer, `selfnas.pretrain.trainer`, writes the first three):

    config.json     objective, space, options (with the space's defaults resolved), samples,
                    subset, validity_samples, eval_every, seed, holdout, epochs
    checkpoint.pt   model, optimiser and RNG states, epoch, history (after every epoch)
    metrics.json    per-epoch history and the final metrics
    locality.npz    L2 against edit distance of a random walk (spaces with edits)
    run.json        the kind marker (`selfnas.runs.kind`)

`embed`, the predictors (`--pretrained`), NAO's controller and the report all read a run
through `PretrainRun`, so the file names and the handling of old runs live here only.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from selfnas.atomic import read_json
from selfnas.errors import DataCorrupt, DataNotFound, InvalidOption
from selfnas.runs.kind import PRETRAINING

if TYPE_CHECKING:
    import numpy as np

    from selfnas.pretrain.objective import Objective
    from selfnas.spaces.base import SearchSpace
    from selfnas.spaces.batch import ArchBatch

CONFIG = "config.json"
CHECKPOINT = "checkpoint.pt"
METRICS = "metrics.json"
LOCALITY = "locality.npz"

#: the encoder each pretraining objective uses when its run does not name one
OBJECTIVE_ENCODERS = {"arch2vec": "gin", "vgae": "gcn", "gae": "gcn", "nao": "seq"}


class PretrainRun:
    """One pretraining run's directory: its config, metrics, weights and embeddings.

    `objective`, when given, is the trained objective already in memory (the pipeline
    passes it on so nothing is read back from disk); otherwise it is loaded on first use.
    """

    kind = PRETRAINING

    def __init__(self, root: str | Path, objective: Objective | None = None) -> None:
        self.root = Path(root)
        if objective is not None:
            self.__dict__["objective"] = objective

    @classmethod
    def open(cls, root: str | Path) -> PretrainRun:
        """The run in `root`, checked to hold a config and a checkpoint."""
        run = cls(root)
        for path in (run.config_path, run.checkpoint_path):
            if not path.exists():
                raise DataNotFound(
                    f"{path} is absent: is {run.root} a `selfnas pretrain` directory?"
                )
        return run

    # --- files ----------------------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.root / CONFIG

    @property
    def checkpoint_path(self) -> Path:
        return self.root / CHECKPOINT

    @property
    def metrics_path(self) -> Path:
        return self.root / METRICS

    @property
    def locality_path(self) -> Path:
        return self.root / LOCALITY

    # --- what was asked and what came out -------------------------------------------------
    def read_config(self) -> dict[str, Any] | None:
        """The recorded config, or None where the run has none (a bare checkpoint)."""
        return read_json(self.config_path) if self.config_path.is_file() else None

    @cached_property
    def config(self) -> dict[str, Any]:
        config = self.read_config()
        if config is None:
            raise DataNotFound(f"{self.config_path} is absent")
        return config

    @property
    def metrics(self) -> dict[str, Any]:
        """`{"history": [...], "final": {...}}` ({} before the first epoch ends)."""
        if not self.metrics_path.is_file():
            return {}
        return read_json(self.metrics_path)

    @property
    def history(self) -> list[dict[str, Any]]:
        return list(self.metrics.get("history") or [])

    @property
    def final(self) -> dict[str, Any]:
        """The final metrics (those of the last epoch where no final was recorded)."""
        metrics = self.metrics
        history = metrics.get("history") or []
        return dict(metrics.get("final") or (history[-1] if history else {}))

    def update_final(self, final: dict[str, Any]) -> None:
        """Replace the final metrics (measurements made after training, e.g. locality)."""
        from selfnas.atomic import write_json

        metrics = self.metrics
        metrics["final"] = final
        write_json(self.metrics_path, metrics)

    # --- the model --------------------------------------------------------------------------
    @cached_property
    def space(self) -> SearchSpace:
        from selfnas.spaces import get_space

        return get_space(self.config["space"])

    @property
    def objective_options(self) -> dict[str, Any]:
        """The options the objective was built with, as recorded."""
        options = dict(self.config.get("options", {}))
        if self.config["objective"] == "arch2vec":
            # runs made before `vertex_ids` was recorded trained without vertex positions
            options.setdefault("vertex_ids", False)
        return options

    def load_objective(self, device: Any = "cpu") -> Objective:
        """The objective with the run's trained weights, on `device`, in eval mode."""
        from selfnas.pretrain.registry import get_objective

        state = self._checkpoint(device)
        objective = get_objective(self.config["objective"], self.space, **self.objective_options)
        objective.load_state_dict(state["model"])
        objective.to(device).eval()
        return objective

    @cached_property
    def objective(self) -> Objective:
        """The trained objective (on the CPU unless the pipeline handed over its own)."""
        return self.load_objective("cpu")

    def _checkpoint(self, device: Any = "cpu", path: Path | None = None) -> dict[str, Any]:
        import torch

        path = path or self.checkpoint_path
        if not path.exists():
            raise DataNotFound(f"{path} is absent: is {self.root} a `selfnas pretrain` directory?")
        try:
            return torch.load(path, map_location=device, weights_only=False)
        except (ValueError, RuntimeError, EOFError) as exc:
            raise DataCorrupt(f"cannot read run {self.root}: {exc}") from None

    def encoder_weights(self, checkpoint: Path | None = None) -> dict[str, Any]:
        """The encoder's weights (`encoder.*` of the model state, prefix dropped)."""
        path = checkpoint or self.checkpoint_path
        state = self._checkpoint("cpu", path)
        model = state.get("model", state) if isinstance(state, dict) else state
        prefix = "encoder."
        weights = {k[len(prefix) :]: v for k, v in model.items() if k.startswith(prefix)}
        if not weights:
            raise InvalidOption(f"{path} holds no `encoder.*` weights")
        return weights

    @property
    def encoder(self) -> tuple[str | None, dict[str, Any]]:
        """(encoder name, encoder options) the run trained: `options.encoder`, else the
        objective's default encoder; (None, {}) for a run without a config."""
        config = self.read_config()
        if config is None:
            return None, {}
        options = dict(config.get("options") or {})
        name = options.get("encoder") or config.get("encoder")
        name = name or OBJECTIVE_ENCODERS.get(str(config.get("objective")))
        opts = dict(options.get("encoder_opts") or config.get("encoder_opts") or {})
        return name, opts

    # --- data and what was measured on it ----------------------------------------------------
    def data(self) -> ArchBatch:
        """Every arch the embeddings cover: the whole space (or the run's sample of it),
        not just the `subset` it trained on."""
        from selfnas.pretrain.trainer import space_data

        return space_data(self.space, self.config.get("samples"), int(self.config.get("seed", 0)))

    def locality(self) -> tuple[np.ndarray, np.ndarray]:
        """(L2 distances, edit distances) of the run's locality walk."""
        import numpy as np

        if not self.locality_path.exists():
            raise DataNotFound(
                f"{self.locality_path} is absent (run `selfnas pretrain` with --locality-steps > 0)"
            )
        with np.load(self.locality_path) as npz:
            return npz["l2"], npz["edit"]


def load_run(
    root: str | Path, device: Any = "cpu"
) -> tuple[Objective, SearchSpace, dict[str, Any]]:
    """(objective with trained weights, space, config) of the pretraining run in `root`."""
    run = PretrainRun.open(root)
    return run.load_objective(device), run.space, run.config
