"""The zero-cost proxies: one score per untrained network, to rank architectures cheaply.

Each proxy is a function `(network, batch) -> float`, higher meaning "predicted better",
defined as NASLib computes it for NAS-Bench-Suite-Zero (whose published scores
`zc_nb201.csv` holds), so our scores can be checked against theirs:

* the network is scored in training mode (BatchNorm on batch statistics), because NASLib
  never switches its freshly built networks to eval mode;
* per-weight saliencies are taken over the weights of every Conv2d and Linear layer and
  summed (layer sums, then over layers); `synflow` is reported as log(sum) as NASLib does;
* the loss is the cross-entropy of the logits (the first output of a network that also
  returns auxiliary logits).

A proxy never changes the network it is given: anything that writes (gradients, BN running
statistics, synflow's absolute weights, zen's Gaussian re-initialisation) happens on a deep
copy. A score that comes out non-finite (a network whose output does not depend on its
input makes nwot's kernel singular and jacov's correlations undefined) is reported as
`FAILED_SCORE`, NASLib's -1e8, so it ranks last instead of poisoning a sort.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from selfnas.errors import InvalidOption
from selfnas.nets import count_parameters
from selfnas.nets.flops import count_flops
from selfnas.zc.batch import Batch

#: the score of a network a proxy cannot rank (NASLib's value for NaN or infinite scores)
FAILED_SCORE = -1e8
#: the ridge NASLib adds to eigenvalues and correlations before taking logs (jacov, epe_nas)
RIDGE = 1e-5
#: zen's perturbation size (Zen-NAS's mixup_gamma)
ZEN_MIXUP = 1e-2

ProxyFn = Callable[[nn.Module, Batch], float]


@dataclass(frozen=True)
class Proxy:
    """A registered proxy: `data_free` ones read only the batch's shape and size."""

    name: str
    fn: ProxyFn
    data_free: bool
    doc: str

    def __call__(self, network: nn.Module, batch: Batch) -> float:
        return self.fn(network, batch)


# --------------------------------------------------------------------------- helpers


def _finite(value: float | Tensor) -> float:
    """The score as a float, with NaN and infinities mapped to `FAILED_SCORE`."""
    score = float(value)
    return score if math.isfinite(score) else FAILED_SCORE


def _is_auxiliary(name: str) -> bool:
    return "auxiliary" in name.split(".")


def _weighted_layers(network: nn.Module) -> list[nn.Conv2d | nn.Linear]:
    """The Conv2d and Linear layers (NASLib's prunable layers), auxiliary head left out."""
    return [
        m
        for name, m in network.named_modules()
        if isinstance(m, nn.Conv2d | nn.Linear) and not _is_auxiliary(name)
    ]


def _scratch(network: nn.Module) -> nn.Module:
    """A training-mode deep copy with no gradients, so scoring leaves `network` untouched."""
    net = copy.deepcopy(network)
    net.train()
    for p in net.parameters():
        p.grad = None
        p.requires_grad_(True)
    return net


def _device(network: nn.Module) -> torch.device:
    first = next(network.parameters(), None)
    return first.device if first is not None else torch.device("cpu")


def _logits(output: Tensor | tuple[Tensor, ...]) -> Tensor:
    """The main logits of a forward pass (DARTS networks add auxiliary logits in training)."""
    return output[0] if isinstance(output, tuple) else output


def _targets(batch: Batch, proxy: str) -> Tensor:
    if batch.targets is None:
        raise InvalidOption(f"proxy {proxy!r} needs labelled data; the batch has no targets")
    return batch.targets


def _loss(net: nn.Module, batch: Batch, proxy: str) -> Tensor:
    """Cross-entropy of the network on the batch (the loss NASLib's proxies differentiate)."""
    return F.cross_entropy(_logits(net(batch.inputs)), _targets(batch, proxy))


def _layer_sum(net: nn.Module, saliency: Callable[[Tensor, Tensor], Tensor]) -> float:
    """Sum over conv/linear layers of `saliency(weight, grad)` (layers without a gradient
    count zero, as NASLib's zeros_like fallback)."""
    total = 0.0
    with torch.no_grad():
        for layer in _weighted_layers(net):
            if layer.weight.grad is not None:
                total += float(saliency(layer.weight, layer.weight.grad))
    return total


# --------------------------------------------------------------------- data-free proxies


def params(network: nn.Module, batch: Batch) -> float:
    """Trainable parameters (the auxiliary head left out), as the benchmarks count them;
    NASLib's column is this in millions."""
    return float(count_parameters(network))


def flops(network: nn.Module, batch: Batch) -> float:
    """FLOPs of one image's forward pass, counted as NASLib's `flops` column (there in
    millions)."""
    return float(count_flops(network, batch.shape))


def l2_norm(network: nn.Module, batch: Batch) -> float:
    """Sum over conv/linear layers of the weight's Frobenius norm: the init's scale, which
    grows with width and depth. Needs no forward pass."""
    with torch.no_grad():
        return _finite(sum(float(layer.weight.norm()) for layer in _weighted_layers(network)))


def _passthrough(input: Tensor) -> Tensor:
    """BatchNorm's `forward`, skipped (same parameter name, so it can stand in for it)."""
    return input


def _linearised(network: nn.Module) -> nn.Module:
    """Synflow's network: a double copy with every weight and buffer made non-negative and
    BatchNorm skipped (NASLib copies with bn=False), so no path's sign cancels another's."""
    net = _scratch(network).double()
    with torch.no_grad():
        for tensor in net.state_dict().values():
            if tensor.is_floating_point():
                tensor.abs_()
    for module in net.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            # replacing the bound method is the point: skip BN in this scratch copy only
            module.forward = _passthrough  # type: ignore[method-assign]
    return net


def synflow(network: nn.Module, batch: Batch) -> float:
    """log of sum |w * d(sum of outputs)/dw| for an all-ones input through the linearised
    network: the total synaptic flow, which collapses when an edge starves a layer. Zero
    for a network whose output ignores its input; negative sums give -log(-sum) (NASLib)."""
    net = _linearised(network)
    s = batch.shape
    x = torch.ones(1, s.channels, s.size, s.size, dtype=torch.float64, device=_device(net))
    _logits(net(x)).sum().backward()
    total = _layer_sum(net, lambda w, g: (w * g).abs().sum())
    if not math.isfinite(total):
        return FAILED_SCORE
    if total == 0.0:
        return 0.0
    return math.log(total) if total > 0 else -math.log(-total)


def _gaussian_init(net: nn.Module, gen: torch.Generator) -> None:
    """Zen-NAS's initialisation: N(0, 1) conv/linear weights, zero biases, unit BN/GN."""
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Conv2d | nn.Linear):
                nn.init.normal_(m.weight, generator=gen)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d | nn.GroupNorm) and m.weight is not None:
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)


def _feature_module(net: nn.Module) -> nn.Module:
    """The module whose input is the pre-pooling feature map: the last global pooling
    module, else the last Linear (the classifier of a network that pools with a mean)."""
    named = [(n, m) for n, m in net.named_modules() if not _is_auxiliary(n)]
    pools = [m for _, m in named if isinstance(m, nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool2d)]
    if pools:
        return pools[-1]
    linears = [m for _, m in named if isinstance(m, nn.Linear)]
    if not linears:
        raise InvalidOption("zen needs a network ending in global pooling or a Linear head")
    return linears[-1]


def _features(net: nn.Module, module: nn.Module, x: Tensor) -> Tensor:
    """The input of `module` when `net` runs on `x`."""
    seen: list[Tensor] = []
    handle = module.register_forward_pre_hook(lambda _m, args: seen.append(args[0]))
    try:
        net(x)
    finally:
        handle.remove()
    return seen[-1]


def zen(network: nn.Module, batch: Batch) -> float:
    """Zen-NAS: log of the mean L1 change of the pre-pooling features under a 1% Gaussian
    input perturbation, plus the log BN scales, on a Gaussian re-initialised copy with
    Gaussian inputs: expressivity without data or labels. Weights and inputs are drawn
    from the batch's seed (its size sets the batch), so the network's own init does not
    matter."""
    net = _scratch(network)
    device = _device(net)
    gen = torch.Generator(device=device).manual_seed(batch.seed)
    _gaussian_init(net, gen)
    size = (len(batch), batch.shape.channels, batch.shape.size, batch.shape.size)
    x = torch.randn(size, generator=gen, device=device)
    mixed = x + ZEN_MIXUP * torch.randn(size, generator=gen, device=device)
    module = _feature_module(net)
    with torch.no_grad():
        change = (_features(net, module, x) - _features(net, module, mixed)).abs()
        score = torch.log(change.flatten(1).sum(1).mean())
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d) and m.running_var is not None:
                score = score + torch.log(torch.sqrt(m.running_var.mean()))
    return _finite(score)


# ----------------------------------------------------------------- gradient saliencies


def grad_norm(network: nn.Module, batch: Batch) -> float:
    """Sum over conv/linear layers of the loss gradient's norm."""
    return _gradient_scores(network, batch, ("grad_norm",))["grad_norm"]


def plain(network: nn.Module, batch: Batch) -> float:
    """Sum of grad * weight (signed): the first-order loss change of scaling every weight."""
    return _gradient_scores(network, batch, ("plain",))["plain"]


def snip(network: nn.Module, batch: Batch) -> float:
    """SNIP: sum |grad * weight|, the loss sensitivity to removing each connection (NASLib's
    mask gradient, which equals grad * weight at a mask of ones)."""
    return _gradient_scores(network, batch, ("snip",))["snip"]


def grasp(network: nn.Module, batch: Batch) -> float:
    """GraSP: sum of -weight * (H g), the Hessian-gradient product of the batch loss, i.e.
    how much removing weights would slow gradient flow (NASLib's sign)."""
    net = _scratch(network)
    batch = batch.to(_device(net))
    weights = [layer.weight for layer in _weighted_layers(net)]
    grads = torch.autograd.grad(
        _loss(net, batch, "grasp"), weights, create_graph=True, allow_unused=True
    )
    used = [(w, g) for w, g in zip(weights, grads, strict=True) if g is not None]
    if not used:
        return 0.0
    z = cast(Tensor, sum((g.detach() * g).sum() for _, g in used))  # `used` is non-empty
    hg = torch.autograd.grad(z, [w for w, _ in used], allow_unused=True)
    with torch.no_grad():
        pairs = zip(used, hg, strict=True)
        return _finite(sum(float((-w * h).sum()) for (w, _), h in pairs if h is not None))


def _track_fisher(net: nn.Module) -> tuple[dict[nn.Module, Tensor], list]:
    """Hooks that accumulate, per conv/linear layer, each output channel's Fisher term
    0.5 * mean over images of (sum over positions of activation * gradient)^2 during the
    next backward pass; returns that per-layer table and the hook handles."""
    channel_info: dict[nn.Module, Tensor] = {}

    def on_output(layer: nn.Module, _inputs: tuple, out: Tensor) -> None:
        act = out.detach()

        def on_grad(grad: Tensor) -> None:
            per_image = act * grad
            if per_image.dim() > 2:
                per_image = per_image.sum(dim=tuple(range(2, per_image.dim())))
            info = per_image.pow(2).mean(0).mul(0.5)
            channel_info[layer] = channel_info[layer] + info if layer in channel_info else info

        if out.requires_grad:
            out.register_hook(on_grad)

    handles = [layer.register_forward_hook(on_output) for layer in _weighted_layers(net)]
    return channel_info, handles


def _fisher_total(net: nn.Module, channel_info: dict[nn.Module, Tensor]) -> float:
    """NASLib's aggregation: each channel's term broadcast to the weights feeding it."""
    total = 0.0
    for layer in _weighted_layers(net):
        if layer in channel_info:
            total += float(channel_info[layer].abs().sum()) * math.prod(layer.weight.shape[1:])
    return _finite(total)


def fisher(network: nn.Module, batch: Batch) -> float:
    """Fisher information of each conv/linear output channel, 0.5 * mean over images of
    (sum over positions of activation * gradient)^2, broadcast to the channel's weights
    as NASLib does (so each channel counts once per weight feeding it) and summed."""
    return _gradient_scores(network, batch, ("fisher",))["fisher"]


#: what grad_norm, plain and snip read from one backward pass: f(weight, grad) per layer
_SALIENCIES: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "grad_norm": lambda w, g: g.norm(),
    "plain": lambda w, g: (w * g).sum(),
    "snip": lambda w, g: (w * g).abs().sum(),
}


def _gradient_scores(network: nn.Module, batch: Batch, names: tuple[str, ...]) -> dict:
    """grad_norm, plain, snip and fisher from one shared backward pass of the batch loss."""
    net = _scratch(network)
    batch = batch.to(_device(net))
    channel_info, handles = _track_fisher(net) if "fisher" in names else ({}, [])
    try:
        _loss(net, batch, names[0]).backward()
    finally:
        for handle in handles:
            handle.remove()
    out = {n: _finite(_layer_sum(net, _SALIENCIES[n])) for n in names if n in _SALIENCIES}
    if "fisher" in names:
        out["fisher"] = _fisher_total(net, channel_info)
    return out


# ------------------------------------------------------------------- activation codes


def _input_jacobian(network: nn.Module, batch: Batch) -> tuple[np.ndarray, int]:
    """d(sum of each image's logits)/d(image), flattened [B, C*H*W] in float64, and the
    number of logits (training mode, so images interact through the BN statistics)."""
    net = _scratch(network)
    net.requires_grad_(False)  # only the input gradient is needed
    x = batch.to(_device(net)).inputs.clone().requires_grad_(True)
    out = _logits(net(x))
    (grad,) = torch.autograd.grad(out, x, grad_outputs=torch.ones_like(out))
    return grad.reshape(len(x), -1).double().cpu().numpy(), int(out.shape[-1])


def _jacov_score(jac: np.ndarray) -> float:
    """-sum(log(v + k) + 1/(v + k)) over the eigenvalues v of the rows' correlations."""
    with np.errstate(all="ignore"):
        corr = np.corrcoef(jac)
        if not np.all(np.isfinite(corr)):
            return FAILED_SCORE
        v = np.linalg.eigvalsh(corr)
        return _finite(-np.sum(np.log(v + RIDGE) + 1.0 / (v + RIDGE)))


def jacov(network: nn.Module, batch: Batch) -> float:
    """Jacobian covariance (NAS without training, v1): -sum(log(v + k) + 1/(v + k)) over
    the eigenvalues v of the images' Jacobian correlation matrix, highest when the
    network maps different images to uncorrelated local linear maps."""
    return _jacobian_scores(network, batch, ("jacov",))["jacov"]


def _class_score(rows: np.ndarray) -> float:
    """EPE-NAS's per-class term: sum of log |correlation| over the class's Jacobians."""
    corr = np.atleast_2d(np.corrcoef(rows)) if len(rows) > 1 else np.ones((1, 1))
    return float(np.sum(np.log(np.abs(corr) + RIDGE)))


def _epe_score(jac: np.ndarray, targets: np.ndarray, n_logits: int) -> float:
    """Sum of the classes' |terms| (up to 100 logits), else the mean over classes of the
    summed |differences| of size-normalised terms (the authors' variant for many classes)."""
    terms = []
    with np.errstate(all="ignore"):
        for label in dict.fromkeys(targets.tolist()):
            rows = jac[targets == label]
            if n_logits <= 100:
                terms.append(_class_score(rows))
            elif len(rows) > 1:  # NASLib skips a class it cannot normalise
                terms.append(_class_score(rows) / len(rows))
        scores = np.array(terms)
        if n_logits <= 100:
            return _finite(np.abs(scores).sum())
        return _finite(np.abs(scores[:, None] - scores[None, :]).sum() / max(len(scores), 1))


def epe_nas(network: nn.Module, batch: Batch) -> float:
    """EPE-NAS: per class, the summed log |correlation| of its images' Jacobians, combined
    over classes; high when each class's images get dissimilar local linear maps."""
    return _jacobian_scores(network, batch, ("epe_nas",))["epe_nas"]


def _jacobian_scores(network: nn.Module, batch: Batch, names: tuple[str, ...]) -> dict:
    """jacov and epe_nas from one shared input Jacobian."""
    targets = _targets(batch, "epe_nas").cpu().numpy() if "epe_nas" in names else None
    jac, n_logits = _input_jacobian(network, batch)
    out = {}
    if "jacov" in names:
        out["jacov"] = _jacov_score(jac)
    if targets is not None:
        out["epe_nas"] = _epe_score(jac, targets, n_logits)
    return out


def _torch_relus(net: nn.Module) -> Iterator[nn.Module]:
    """torch's own ReLU-family modules (NASLib hooks those, not wrappers named ReLU-...)."""
    for module in net.modules():
        kind = type(module)
        if "ReLU" in kind.__name__ and kind.__module__.startswith("torch."):
            yield module


def nwot(network: nn.Module, batch: Batch) -> float:
    """NAS without training (v2): log|det K|, K[i, j] = number of ReLU units on which
    images i and j agree (both active or both inactive), summed over every ReLU; high when
    the network separates the images into distinct linear regions. Needs no labels."""
    net = _scratch(network)
    batch = batch.to(_device(net))
    n = len(batch)
    kernel = torch.zeros(n, n, dtype=torch.float64, device=batch.inputs.device)

    def on_input(_module: nn.Module, inputs: tuple) -> None:
        codes = (inputs[0].detach().reshape(n, -1) > 0).double()
        active = codes.sum(1)
        # agreements = c c^T + (1 - c)(1 - c)^T, written with one product
        agree = 2 * codes @ codes.T - active[:, None] - active[None, :] + codes.shape[1]
        kernel.add_(agree)

    handles = [m.register_forward_pre_hook(on_input) for m in _torch_relus(net)]
    try:
        with torch.no_grad():
            net(batch.inputs)
    finally:
        for handle in handles:
            handle.remove()
    return _finite(torch.linalg.slogdet(kernel.cpu()).logabsdet)


# ------------------------------------------------------------------------- registry


def _register(*entries: tuple[ProxyFn, bool]) -> dict[str, Proxy]:
    table = {}
    for fn, data_free in entries:
        doc = (fn.__doc__ or "").strip().split("\n\n")[0]
        table[fn.__name__] = Proxy(fn.__name__, fn, data_free, " ".join(doc.split()))
    return table


#: every proxy by name; data-free ones need no images (NAS-Bench-Suite-Zero's split)
PROXIES: dict[str, Proxy] = _register(
    (params, True),
    (flops, True),
    (synflow, True),
    (zen, True),
    (l2_norm, True),
    (snip, False),
    (grasp, False),
    (fisher, False),
    (grad_norm, False),
    (plain, False),
    (jacov, False),
    (nwot, False),
    (epe_nas, False),
)

#: names of the proxies that read no images
DATA_FREE: tuple[str, ...] = tuple(name for name, p in PROXIES.items() if p.data_free)


#: proxies computed together from one shared pass, and the function that does it
_SHARED: dict[str, Callable[[nn.Module, Batch, tuple[str, ...]], dict]] = {
    "grad_norm": _gradient_scores,
    "plain": _gradient_scores,
    "snip": _gradient_scores,
    "fisher": _gradient_scores,
    "jacov": _jacobian_scores,
    "epe_nas": _jacobian_scores,
}


def score_many(names: Iterable[str], network: nn.Module, batch: Batch) -> dict[str, float]:
    """Several proxies of one network, in the order named: the same values as calling each,
    but grad_norm/plain/snip/fisher share one backward pass and jacov/epe_nas one Jacobian."""
    wanted = [proxy(name).name for name in names]
    scores: dict[str, float] = {}
    for name in wanted:
        if name in scores:
            continue
        shared = _SHARED.get(name)
        if shared is None:
            scores[name] = PROXIES[name](network, batch)
        else:
            group = tuple(n for n in wanted if _SHARED.get(n) is shared and n not in scores)
            scores |= shared(network, batch, group)
    return {name: scores[name] for name in wanted}


def proxy(name: str) -> Proxy:
    """The proxy called `name`; an unknown name is an error listing the choices."""
    found = PROXIES.get(name.lower())
    if found is None:
        raise InvalidOption(f"unknown zero-cost proxy {name!r}; choose one of {', '.join(PROXIES)}")
    return found


__all__ = [
    "DATA_FREE",
    "FAILED_SCORE",
    "PROXIES",
    "Proxy",
    "ProxyFn",
    "epe_nas",
    "fisher",
    "flops",
    "grad_norm",
    "grasp",
    "jacov",
    "l2_norm",
    "nwot",
    "params",
    "plain",
    "proxy",
    "score_many",
    "snip",
    "synflow",
    "zen",
]
