"""selfnas: self-supervised neural architecture search.

Learns representations of architectures without performance labels and uses them to
search with few evaluations (arch2vec, locality-based pretraining, GATES, SSWP-NAS).
"""

__version__ = "0.1.0"


__all__ = ["__version__", "optimize"]


def __getattr__(name: str):  # lazy: `import selfnas` stays cheap (no torch)
    if name == "optimize":
        from selfnas.trials.api import optimize

        return optimize
    raise AttributeError(f"module 'selfnas' has no attribute {name!r}")
