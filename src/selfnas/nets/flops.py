"""FLOPs of one forward pass, counted the way the zero-cost benchmark data count them.

NAS-Bench-Suite-Zero's `flops` column (NASLib, via tensorwatch's model statistics) is not
plain multiply-accumulates: besides conv and linear MACs it charges BatchNorm, ReLU and
pooling by the elements they touch. Reproducing that convention exactly lets a network
builder be checked against the published numbers; the per-module rules are in
`_module_flops` and were calibrated on all NB201 rows of `zc_nb201.csv`.

Counted per module (one image, eval mode):

* Conv2d: output positions x kernel area x in/groups x out channels, plus one per output
  element when the conv has a bias (dilation and stride only change the output size);
* Linear: in x out features (the bias is not counted);
* BatchNorm: one per input element, two when it has an affine scale and shift;
* ReLU (and its close relatives): one per input element;
* AvgPool2d / MaxPool2d: kernel area per output element;
* AdaptiveAvgPool2d / AdaptiveMaxPool2d: for every output cell and channel,
  (window height + 1) x (window width + 1) (the reference's own rule, kept to match it).

Everything else (identity, zero ops, the additions inside a cell) counts nothing.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

if TYPE_CHECKING:
    from selfnas.nets import InputShape

_RELUS = (nn.ReLU, nn.ReLU6, nn.PReLU, nn.ELU, nn.LeakyReLU)
_POOLS = (nn.AvgPool2d, nn.MaxPool2d)
_ADAPTIVE_POOLS = (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)


def _adaptive_windows(size_in: int, size_out: int) -> int:
    """Sum over output positions of (window extent + 1) along one axis."""
    total = 0
    for i in range(size_out):
        start = (i * size_in) // size_out
        end = -((-(i + 1) * size_in) // size_out)  # ceil
        total += end - start + 1
    return total


def _module_flops(module: nn.Module, inp: Tensor, out: Tensor) -> int:
    """FLOPs of one call of a leaf module on one image (see the module docstring)."""
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        positions = math.prod(out.shape[2:])
        macs = positions * kh * kw * (module.in_channels // module.groups) * module.out_channels
        return macs + (out.shape[1] * positions if module.bias is not None else 0)
    if isinstance(module, nn.Linear):
        rows = inp.numel() // module.in_features
        return rows * module.in_features * module.out_features
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        return inp.numel() * (2 if module.affine else 1)
    if isinstance(module, _RELUS):
        return inp.numel()
    if isinstance(module, _POOLS):
        k = module.kernel_size
        kh, kw = (k, k) if isinstance(k, int) else k
        return out.numel() * kh * kw
    if isinstance(module, _ADAPTIVE_POOLS):
        channels = inp.shape[0] * inp.shape[1]
        rows = _adaptive_windows(inp.shape[2], out.shape[2])
        cols = _adaptive_windows(inp.shape[3], out.shape[3])
        return channels * rows * cols
    return 0


def count_flops(network: nn.Module, shape: InputShape) -> int:
    """FLOPs of one forward pass of one `shape` image through `network` (eval mode, no grad).

    Works on any device, the 'meta' device included (only shapes are needed); the auxiliary
    head (a module named `auxiliary`) is left out. Every module's training flag is restored.
    """
    total = 0

    def hook(module: nn.Module, inputs: tuple, output: object) -> None:
        nonlocal total
        if inputs and isinstance(inputs[0], Tensor) and isinstance(output, Tensor):
            total += int(_module_flops(module, inputs[0], output))

    handles = []
    for name, module in network.named_modules():
        if "auxiliary" in name.split("."):
            continue
        if next(module.children(), None) is None:
            handles.append(module.register_forward_hook(hook))
    modes = {module: module.training for module in network.modules()}
    reference: Tensor | None = next(network.parameters(), None)
    if reference is None:
        reference = next(network.buffers(), None)
    device = reference.device if reference is not None else torch.device("cpu")
    dtype = reference.dtype if reference is not None else torch.float32
    x = torch.zeros(1, shape.channels, shape.size, shape.size, device=device, dtype=dtype)
    try:
        network.eval()
        with torch.no_grad():
            network(x)
    finally:
        for handle in handles:
            handle.remove()
        for module, mode in modes.items():
            module.training = mode
    return total


__all__ = ["count_flops"]
