"""The torch features rmt_mm uses that older releases of its supported range (torch 2.1 to
2.14, docs/compatibility.md) lack, each with the fallback that gives the same numbers.

- choosing the CUDA attention kernels: ``torch.nn.attention.sdpa_kernel`` (2.3; its
  ``set_priority`` 2.6), else ``torch.backends.cuda.sdp_kernel`` (the same kernels as flags;
  no cuDNN attention and no order before 2.3);
- ``torch.compiler.is_compiling`` (2.3), else ``torch._dynamo.is_compiling``;
- ``torch.compiler.is_exporting`` (2.5): before it, ``torch.export`` traces through dynamo,
  which :func:`is_compiling` reports;
- ``flex_attention`` (2.5): MaSA's ``attn_impl='flex'`` says which torch it needs;
- ``torch.serialization.safe_globals`` (2.5): :func:`load_weights_only` allow-lists a few
  more classes for one ``weights_only`` load; before it, the same through torch's own
  weights-only allow-list (``torch._weights_only_unpickler``) given to a restricted pickle
  module, so such a load still cannot run code;
- ``torch.onnx.export(dynamo=False)`` (2.5 added the dynamo exporter, 2.9 made it the
  default): :func:`onnx_export` always asks for the TorchScript-based exporter, which is the
  only one before 2.5.
"""
import inspect
import pickle
import types

import torch

from ..version import major_minor

TORCH_VERSION = major_minor(torch.__version__)
HAS_FLEX_ATTENTION = TORCH_VERSION >= (2, 5)

# Resolved once here: MaSA asks on every attention call. is_compiling: whether dynamo is
# tracing the code (torch.compile, torch.export).
if hasattr(torch, 'compiler') and hasattr(torch.compiler, 'is_compiling'):
    is_compiling = torch.compiler.is_compiling
else:
    is_compiling = torch._dynamo.is_compiling
_is_exporting = getattr(getattr(torch, 'compiler', None), 'is_exporting', None)


def is_exporting() -> bool:
    """Whether the code is being traced for ONNX or ``torch.export``."""
    return torch.onnx.is_in_onnx_export() or bool(_is_exporting and _is_exporting())


def eager_inference() -> bool:
    """Whether this call may take inference shortcuts: no autograd graph to keep, and not
    traced (FLOP counting, export), exported or compiled, whose graphs keep every operation
    the modules name and must not specialise on sizes."""
    return not (torch.is_grad_enabled() or torch.jit.is_tracing() or is_exporting()
                or is_compiling())


_ONNX_DYNAMO_FLAG = 'dynamo' in inspect.signature(torch.onnx.export).parameters


def onnx_export(*args, **kwargs):
    """``torch.onnx.export`` with the TorchScript-based exporter on every supported torch
    (the dynamo exporter of torch 2.14 cannot translate MaSA's graph yet)."""
    if _ONNX_DYNAMO_FLAG:
        kwargs['dynamo'] = False
    return torch.onnx.export(*args, **kwargs)


try:
    from torch.nn.attention import SDPBackend, sdpa_kernel
    _SDP_BACKENDS = {name: getattr(SDPBackend, member) for name, member in (
        ('efficient', 'EFFICIENT_ATTENTION'), ('math', 'MATH'), ('flash', 'FLASH_ATTENTION'),
        ('cudnn', 'CUDNN_ATTENTION')) if hasattr(SDPBackend, member)}
    _SET_PRIORITY = 'set_priority' in inspect.signature(sdpa_kernel).parameters
except ImportError:  # torch < 2.3
    sdpa_kernel = None


def sdpa_kernels(names):
    """A context in which CUDA's ``scaled_dot_product_attention`` uses only the kernels
    ``names`` ('efficient', 'math', 'flash', 'cudnn'), tried in that order where torch
    supports an order (2.6)."""
    if sdpa_kernel is None:  # torch < 2.3: the kernels as flags, no cuDNN attention
        return torch.backends.cuda.sdp_kernel(
            enable_flash='flash' in names, enable_math='math' in names,
            enable_mem_efficient='efficient' in names)
    backends = [_SDP_BACKENDS[name] for name in names if name in _SDP_BACKENDS]
    return sdpa_kernel(backends, set_priority=True) if _SET_PRIORITY else sdpa_kernel(backends)


def flex_attention():
    """torch's ``flex_attention`` function; an error naming the torch it needs before 2.5."""
    if not HAS_FLEX_ATTENTION:
        raise RuntimeError(f"MaSA: attn_impl='flex' needs torch >= 2.5 (flex_attention), found "
                           f"{torch.__version__}; use attn_impl='auto'")
    from torch.nn.attention.flex_attention import flex_attention as function
    return function


def load_weights_only(path, extra_globals=(), map_location='cpu'):
    """``torch.load(path, weights_only=True)`` that also accepts the classes
    ``extra_globals`` (e.g. ``argparse.Namespace``), on every supported torch; anything else
    that is not tensors and plain containers is refused with ``pickle.UnpicklingError``."""
    if hasattr(torch.serialization, 'safe_globals'):  # torch >= 2.5
        with torch.serialization.safe_globals(list(extra_globals)):
            return torch.load(path, map_location=map_location, weights_only=True)
    if not extra_globals:
        return torch.load(path, map_location=map_location, weights_only=True)
    from torch._weights_only_unpickler import _get_allowed_globals
    allowed = dict(_get_allowed_globals())
    allowed.update({f'{g.__module__}.{g.__qualname__}': g for g in extra_globals})

    class Unpickler(pickle.Unpickler):
        def find_class(self, module, name):
            if f'{module}.{name}' in allowed:
                return allowed[f'{module}.{name}']
            raise pickle.UnpicklingError(
                f'Weights only load failed: {module}.{name} is not an allowed global')

    restricted = types.SimpleNamespace(Unpickler=Unpickler, load=pickle.load,
                                       __name__='restricted_pickle')
    return torch.load(path, map_location=map_location, pickle_module=restricted,
                      weights_only=False)


__all__ = ['HAS_FLEX_ATTENTION', 'TORCH_VERSION', 'flex_attention', 'is_compiling',
           'is_exporting', 'load_weights_only', 'sdpa_kernels']
