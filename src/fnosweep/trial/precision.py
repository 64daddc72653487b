"""Training precision: fp32, or bf16 autocast with neuralop's spectral convolutions in fp32.

``bf16`` runs the forward pass under ``torch.autocast(dtype=torch.bfloat16)``: the
lifting, skip and channel-MLP convolutions and the projection run in bf16; the loss is
computed on the output cast back to float32 (autocast would run its norms in fp32
anyway); the weights stay float32, so gradients, the optimizer and the monitor's norms
and clipping are float32 as in an fp32 run. ``backward`` and ``optimizer.step`` run
outside autocast, as torch's AMP recipe says.

Why the spectral convolutions are held in fp32 (what was found, torch 2.13, neuralop 2.0):

- torch's FFTs have no bf16 kernel on any device (``Unsupported dtype BFloat16``; pytorch
  issues #117844, #139313). Autocast on the CPU lists every ``torch.fft`` function as an
  fp32 op, so on a CPU neuralop's ``SpectralConv`` gets its bf16 input upcast and runs.
  Autocast on CUDA lists no FFT: the first block's ``rfftn`` receives the lifting's bf16
  output and fails. That was read in torch's autocast lists and reproduced on a CPU with
  the CPU's FFT policy removed (tests/test_precision.py), not yet seen on a GPU:
  benchmarks/gpu_check.py records what a GPU does. cuFFT's half-precision path (fp16,
  not bf16) also takes only power-of-two sizes, which Darcy's s=85 is not.
- neuralop's own ``fno_block_precision`` ("half", "mixed") is fp16 (``x.half()``,
  ``chalf``), not bf16, and its ``Trainer(mixed_precision=True)`` uses autocast's default
  dtype (fp16 on CUDA), so neuralop has no bf16 path of its own to let stand.

`keep_spectral_fp32` therefore casts the input of every ``SpectralConv`` to float32 (a
forward pre-hook): inside it the FFTs run in fp32, and the complex spectral contraction is
untouched by autocast anyway (autocast casts real floating-point tensors only). The rest
of the FNO block follows autocast. The hooks are harmless in an fp32 run.

A user's own loop gets the same::

    keep_spectral_fp32(model)
    with forward_precision("bf16", device):
        loss = loss_fn(model(x).float(), y)
    loss.backward()                      # outside autocast
    monitor.observe(loss, batch_size=len(x))
    optimizer.step()                     # the monitor measures and clips in float32
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Literal

import torch
from torch import nn

Precision = Literal["fp32", "bf16"]


@contextlib.contextmanager
def forward_precision(precision: Precision, device: torch.device | str) -> Iterator[None]:
    """The context of a forward pass: bf16 autocast on ``device``'s type, or nothing (fp32)."""
    if precision == "fp32":
        yield
        return
    if precision != "bf16":
        raise ValueError(f"precision must be fp32 or bf16, but got {precision!r}")
    device_type = torch.device(device).type
    with torch.autocast(device_type=device_type, dtype=torch.bfloat16):
        yield


def keep_spectral_fp32(model: nn.Module) -> list[torch.utils.hooks.RemovableHandle]:
    """Run every neuralop ``SpectralConv`` of ``model`` on a float32 input (see the module
    docstring); returns the hook handles (``.remove()`` undoes it)."""
    from neuralop.layers.spectral_convolution import SpectralConv

    handles = []
    for module in model.modules():
        if isinstance(module, SpectralConv):
            handles.append(module.register_forward_pre_hook(_inputs_to_fp32))
    return handles


def _inputs_to_fp32(module: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(a.float() if isinstance(a, torch.Tensor) and a.is_floating_point() else a for a in args)
