"""Zero-cost proxies: score an untrained network on one mini-batch to rank architectures.

`proxy(name)(network, batch)` gives one float (higher: predicted better) for a network
built by `selfnas.nets.build_network`; `Batch` holds the mini-batch (`noise_batch`,
`image_batch` or `dataset_batch` make one); `score_many` scores several at once, sharing
passes. `PROXIES` lists all thirteen, `DATA_FREE` the ones that read no images.
"""

from selfnas.zc.batch import (
    DEFAULT_BATCH_SIZE,
    Batch,
    dataset_batch,
    fit_images,
    image_batch,
    noise_batch,
)
from selfnas.zc.proxies import (
    DATA_FREE,
    FAILED_SCORE,
    PROXIES,
    Proxy,
    ProxyFn,
    proxy,
    score_many,
)

__all__ = [
    "DATA_FREE",
    "DEFAULT_BATCH_SIZE",
    "FAILED_SCORE",
    "PROXIES",
    "Batch",
    "Proxy",
    "ProxyFn",
    "dataset_batch",
    "fit_images",
    "image_batch",
    "noise_batch",
    "proxy",
    "score_many",
]
