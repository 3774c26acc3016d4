"""selfnas: self-supervised neural architecture search.

Learns representations of architectures without performance labels and uses them to
search with few evaluations (arch2vec, locality-based pretraining, GATES, SSWP-NAS).

The pipeline's stages are plain functions in `selfnas.pipeline` (`pretrain`, `embed`,
`search`, `compare`, `predict`, `oneshot_search`, `finetune`); they are not repeated here
because `selfnas.pretrain` and `selfnas.search` name the subpackages of those stages.
`optimize` is the search loop over trained networks (`selfnas.trials.api`).
"""

__version__ = "0.1.0"


__all__ = ["__version__", "optimize", "pipeline"]


def __getattr__(name: str):  # lazy: `import selfnas` stays cheap (no torch, no pandas)
    if name == "optimize":
        from selfnas.trials.api import optimize

        return optimize
    if name == "pipeline":
        from importlib import import_module

        return import_module("selfnas.pipeline")
    raise AttributeError(f"module 'selfnas' has no attribute {name!r}")
