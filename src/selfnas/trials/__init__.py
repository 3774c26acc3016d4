"""Evaluating architectures for real: trials that train (or call the user's evaluate),
kept in a persistent store, run in this process or as Ray tasks, behind the `Benchmark`
interface every strategy already uses.

- `store`: one file per (arch, recipe): finished trials are never run again.
- `evaluators`: what a trial does (`TrainingEvaluator`, `FunctionEvaluator`).
- `backends`: where it runs (`InProcessBackend`, `RayBackend`).
- `pool`: a batch of trials with retries; `benchmark`: the `train` oracle; `api`: `optimize`.
"""
