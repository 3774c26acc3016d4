"""SSWP-NAS: self-supervised, weight-preserving one-shot search in the DARTS space."""
