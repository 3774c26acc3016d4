"""selfnas: self-supervised neural architecture search.

Learns representations of architectures without performance labels and uses them to
search with few evaluations (arch2vec, locality-based pretraining, GATES, SSWP-NAS).
"""

__version__ = "0.1.0"
