"""Timed steps shared by the benchmarks (``benchmark_backbone.py``, ``gpu_check.py``).

A step is a closure over a model and its input: a forward under ``no_grad`` in eval mode, or
a training step (forward, backward of the outputs' mean squares, SGD update) in train mode,
optionally under autocast. CUDA steps synchronise, so wall time is device time.
"""
import contextlib
import time
from collections.abc import Callable

import torch

AUTOCAST_DTYPES = {'fp32': None, 'fp16': torch.float16, 'bf16': torch.bfloat16}


def model_step(model: torch.nn.Module, inputs: torch.Tensor, train: bool,
               dtype: str = 'fp32') -> Callable[[], None]:
    """One inference (``train=False``) or training step of ``model`` on ``inputs`` (B, 3, H, W);
    the model may return a tensor or a tuple or list of them. ``dtype``: a key of
    ``AUTOCAST_DTYPES``. Sets the model's train/eval mode."""
    if dtype not in AUTOCAST_DTYPES:
        raise ValueError(f'model_step: dtype={dtype!r} is not one of {list(AUTOCAST_DTYPES)}')
    autocast_dtype = AUTOCAST_DTYPES[dtype]
    device_type = inputs.device.type
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-6) if train else None
    model.train(train)

    def step():
        # No autocast context at all for fp32: torch < 2.3 refuses a CPU autocast of another
        # dtype than bf16 even when it is disabled.
        with (torch.autocast(device_type, dtype=autocast_dtype) if autocast_dtype
              else contextlib.nullcontext()):
            with torch.set_grad_enabled(train):
                outs = model(inputs)
                outs = outs if isinstance(outs, (tuple, list)) else (outs, )
                loss = sum(o.float().square().mean() for o in outs)
        if train:
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        if device_type == 'cuda':
            torch.cuda.synchronize()

    return step


def median_seconds(step: Callable[[], None], runs: int, warmup: int = 1) -> float:
    """Median wall time of ``runs`` calls of ``step`` after ``warmup`` untimed ones (which also
    build caches and compile)."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]
