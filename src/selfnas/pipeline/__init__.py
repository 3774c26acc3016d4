"""The pipeline as library calls: one function per stage, the CLI being a thin shell.

    pretrain(objective, space, out)      self-supervised pretraining -> PretrainRun
    embed(run, out)                      every arch of the space -> embeddings .npz
    search / compare(problem, ...)       strategies x seeds on a benchmark -> SearchOutcome
    labelled(...), predict(spec, data)   predictor sample-efficiency experiment -> dict
    oneshot_search(config, out)          SSWP-NAS search -> SearchResult
    finetune(run, config)                fine-tune its network -> dict
    final_train(run, epochs=...)         train it at DARTS' evaluation recipe -> dict

Each writes a run directory that resumes when called again with the same arguments;
`selfnas.runs` reads them back. See docs/api.md.
"""

from __future__ import annotations

from selfnas.pipeline.oneshot import final_train, finetune, oneshot_search
from selfnas.pipeline.prediction import labelled, predict
from selfnas.pipeline.pretraining import embed, pretrain
from selfnas.pipeline.searching import SearchOutcome, compare, search

__all__ = [
    "SearchOutcome",
    "compare",
    "embed",
    "final_train",
    "finetune",
    "labelled",
    "oneshot_search",
    "predict",
    "pretrain",
    "search",
]
