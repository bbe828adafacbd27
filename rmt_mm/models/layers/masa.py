"""Manhattan Self-Attention (MaSA): RMT's attention with an explicit spatial decay prior.

Everything about MaSA lives here: the per-stage rotary tables and Manhattan decay masks
(:class:`RelPos2d`) and the attention itself (:class:`MaSA`) in its two forms:

- decomposed: attention along W inside each row, then along H inside each column of that
  result, each biased by a 1-D decay ``|i - j| * log(gamma)``;
- full: one attention over all H*W tokens biased by the 2-D Manhattan decay.

The implementations (``attn_impl``) compute the same numbers:

- ``'reference'``: the official computation step by step (materialised logits, softmax,
  matmul); kept as the ground truth the tests and benchmarks compare against. A backbone
  built with it also keeps the official separate residual additions around its depthwise
  convs (``RMT(fuse_residual=None)``).
- ``'sdpa'``: fused ``scaled_dot_product_attention`` with the cached decay as an additive float
  bias, laid out so that no head permute is needed.
- ``'query_blocked'``: full form, queries in blocks with the decay of each block built on the
  fly and recomputed in backward, so memory no longer grows with the square of the token
  count. Decomposed stages, whose masks are 1-D and small, run ``'sdpa'``. (Unrelated to the
  official arch key ``chunkwise_recurrents``, which means the decomposed form.)
- ``'flex'``: ``torch.nn.attention.flex_attention`` with the decay computed from the token
  indices in a ``score_mod``: no mask tensor at all, for both forms. It always runs compiled
  (on its own or inside a compiled model); on CPU torch supports it for inference only.
- ``'auto'`` (default): ``'sdpa'``, and ``'query_blocked'`` for a full-form stage whose decay
  mask would exceed ``max_mask_bytes``.

On CUDA the fused calls choose their kernels explicitly (``cuda_backends``): recent torch
prefers cuDNN attention on Hopper, whose masked path has open reports of NaN gradients and
wrong outputs, and flash attention takes no mask; the memory-efficient kernel takes the float
decay bias and its gradient path is mature, so it comes first, with the math kernel as the
fallback. Cached masks are allocated with rows padded to a multiple of 8 elements there and
passed as a view, because that kernel needs aligned mask strides and would otherwise copy the
mask on every call (stage widths 28, 14, 7 and most detection sizes are not multiples of 8).
"""
import functools
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from ...utils import torch_api
from .dwconv import DWConv2d

ATTN_IMPLS = ('auto', 'reference', 'sdpa', 'query_blocked', 'flex')
CUDA_BACKENDS = ('efficient', 'math', 'flash', 'cudnn')
# At CPU inference the decomposed form's keys are padded to a multiple of this many tokens
# (masked out with -inf, so the softmax gives them weight 0 exactly). torch's CPU
# flash-attention kernel runs short key rows whose length is not a multiple of the 16-float
# vector far below its speed: measured on AVX-512 (16x224 batches), 14 keys took 2.5x as long
# as 16, 28 keys 1.4x as long as 32 and 56 keys 1.6x as long as 64. The full form's longer
# query blocks do not gain (49 -> 64 keys was slower), and the CUDA kernels take any length:
# neither pads.
CPU_KEY_MULTIPLE = 16


def rotate_every_two(x: torch.Tensor) -> torch.Tensor:
    """(..., d) -> (..., d): pairs (x0, x1), (x2, x3), ... become (-x1, x0), (-x3, x2), ..."""
    x = x.unflatten(-1, (-1, 2))
    return torch.stack((-x[..., 1], x[..., 0]), dim=-1).flatten(-2)


def theta_shift(x: torch.Tensor, sin: torch.Tensor, cos: torch.Tensor) -> torch.Tensor:
    """Rotary position rotation of the official code: x * cos + rotate_every_two(x) * sin."""
    return x * cos + rotate_every_two(x) * sin


def rotate_complex(x: torch.Tensor, phasor: torch.Tensor) -> torch.Tensor:
    """:func:`theta_shift` as one complex product: (..., d) real, (..., d/2) complex -> (..., d).

    Pair (x[2j], x[2j+1]) is the complex number x[2j] + i x[2j+1], and the official rotation
    is its product with cos + i sin of the pair's angle: one fused pass instead of five
    (the official form allocates the rotated copy, two products and a sum). Computed in fp32.
    """
    pairs = torch.view_as_complex(x.float().unflatten(-1, (-1, 2)))
    return torch.view_as_real(pairs * phasor).flatten(-2).to(x.dtype)


def rotate_complex_(x: torch.Tensor, phasor: torch.Tensor) -> torch.Tensor:
    """:func:`rotate_complex` written into ``x`` (a fresh projection output: no new buffer)
    at inference in fp32; otherwise into a new tensor.

    Under autograd the in-place product on a view of ``x`` would make backward clone the
    whole gradient of ``x``, zero-fill a buffer for every later view of it and copy the
    slices back (CopySlices, AsStrided): measured slower than the buffer it saves.
    """
    if x.dtype != torch.float32 or (torch.is_grad_enabled() and x.requires_grad):
        return rotate_complex(x, phasor)
    torch.view_as_complex(x.unflatten(-1, (-1, 2))).mul_(phasor)
    return x


def rotate_pairs(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """:func:`rotate_complex` in real arithmetic, for exporters and compilers without complex
    tensors (ONNX, inductor): (a, b) -> (a cos - b sin, a sin + b cos) per pair; (..., d)
    with cos, sin (..., d/2)."""
    a, b = x.float().unflatten(-1, (-1, 2)).unbind(-1)
    return torch.stack((a * cos - b * sin, a * sin + b * cos), -1).flatten(-2).to(x.dtype)


def check_attn_impl(attn_impl: str, owner: str) -> str:
    """``attn_impl``, checked against :data:`ATTN_IMPLS`."""
    if attn_impl not in ATTN_IMPLS:
        raise ValueError(f'{owner}: attn_impl={attn_impl!r} is not one of {ATTN_IMPLS}')
    return attn_impl


def mask_alignment(device: torch.device) -> int:
    """Row alignment (elements) of cached decay masks: 8 on CUDA (see the module docstring)."""
    return 8 if device.type == 'cuda' else 1


def aligned(mask: torch.Tensor, multiple: int) -> torch.Tensor:
    """``mask`` (..., L) as a view of a buffer whose rows are padded to ``multiple`` elements,
    so that every stride but the last is a multiple of it; the same values."""
    length = mask.shape[-1]
    padded = -(-length // multiple) * multiple
    if padded == length and mask.is_contiguous():
        return mask
    buffer = mask.new_zeros(*mask.shape[:-1], padded)
    buffer[..., :length] = mask
    return buffer[..., :length]


def sdpa(q, k, v, mask, scale, backends=None):
    """``scaled_dot_product_attention`` with an additive float mask; on CUDA limited to
    ``backends`` (names of ``CUDA_BACKENDS``, tried in that order).

    Traced (``torch.jit.trace``: mmengine's FLOP counter behind mmdet's, mmseg's and
    mmpretrain's get_flops, and ONNX export), the same computation is written as its two
    matrix products, so that counters that know ``matmul`` but not the fused kernel count
    MaSA's attention products without a handle of ours in their global table.
    """
    if torch.jit.is_tracing():
        weights = torch.softmax(torch.matmul(q, k.transpose(-2, -1)) * scale + mask, dim=-1)
        return torch.matmul(weights, v)
    if not q.is_cuda or not backends:
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=scale)
    with torch_api.sdpa_kernels(backends):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=scale)


@functools.cache
def _compiled_flex_attention():
    # Static shapes: one compilation per feature size and form (torch 2.14's CPU template
    # fails to build with dynamic shapes). Past dynamo's recompile limit (8 by default) a
    # call runs flex eagerly: the same numbers, slower; compile the whole model instead.
    return torch.compile(torch_api.flex_attention(), dynamic=False)


def flex(q, k, v, score_mod, scale):
    """``flex_attention`` compiled (eager flex materialises the scores): (B, n, L, d) each."""
    if torch_api.is_compiling():
        return torch_api.flex_attention()(q, k, v, score_mod=score_mod, scale=scale)
    if not q.is_cuda and torch.is_grad_enabled() and (q.requires_grad or k.requires_grad or
                                                      v.requires_grad):
        raise RuntimeError("MaSA: attn_impl='flex' on CPU runs inference only (torch's CPU "
                           "flex attention has no backward); train with attn_impl='auto'")
    return _compiled_flex_attention()(q, k, v, score_mod=score_mod, scale=scale)


def padded_keys(length: int, like: torch.Tensor) -> int:
    """Keys the decomposed form's fused attention runs on for ``length`` tokens: rounded up to
    :data:`CPU_KEY_MULTIPLE` for CPU inference; ``length`` elsewhere: under autograd (a
    training step measured no faster, 5.47 s against 5.48 s for RMT-S at 16x224, and its
    rounding would change training runs), when traced (FLOP counting, export), where the
    padding would only add work to the counted graph, and when compiled, where the rounding
    would specialise dynamic shapes to each size."""
    if like.device.type != 'cpu' or not torch_api.eager_inference():
        return length
    return -(-length // CPU_KEY_MULTIPLE) * CPU_KEY_MULTIPLE


def pad_tokens(t: torch.Tensor, dim: int, length: int) -> torch.Tensor:
    """``t`` (B, H, W, n, d) zero-padded along ``dim`` (1: H, 2: W) to ``length``; ``t``
    itself when it is that long already."""
    extra = length - t.shape[dim]
    if not extra:
        return t
    pad = [0, 0] * (t.ndim - 1 - dim) + [0, extra]
    return F.pad(t, pad)


# Views of (B, H, W, n, d) heads as SDPA's (batch, heads, sequence, d), without copies but
# for columns_view (the fallback when the per-column mask would be too large).
def rows_view(t: torch.Tensor) -> torch.Tensor:
    """Each row its own sequence: (B*H, n, W, d)."""
    B, H, W, n, d = t.shape
    return t.reshape(B * H, W, n, d).transpose(1, 2)


def columns_as_heads_view(t: torch.Tensor) -> torch.Tensor:
    """Each (column, head) pair a head, the column its sequence: (B, W*n, H, d)."""
    B, H, W, n, d = t.shape
    return t.permute(0, 2, 3, 1, 4).reshape(B, W * n, H, d)


def columns_view(t: torch.Tensor) -> torch.Tensor:
    """Each column its own sequence: (B*W, n, H, d); a copy (columns are not contiguous)."""
    B, H, W, n, d = t.shape
    return t.transpose(1, 2).reshape(B * W, H, n, d).transpose(1, 2)


def tokens_view(t: torch.Tensor) -> torch.Tensor:
    """All tokens one sequence: (B, n, H*W, d)."""
    B, H, W, n, d = t.shape
    return t.reshape(B, H * W, n, d).transpose(1, 2)


class RelPos2d(nn.Module):
    """Rotary tables and Manhattan decay masks of one stage (official ``RetNetRelPos2d``).

    Buffers (persistent: official checkpoints carry them as ``layers.i.Relpos.*``):
        angle (d,): rotary frequencies, each repeated twice.
        decay (n,): log(gamma_h), gamma_h = 1 - 2^(-init_value - heads_range * h / n).

    Tables and masks depend only on the feature size, so they are cached per
    (size, form, dtype) in a small LRU: every block of the stage and every iteration at that
    size reuse them. They are built as ordinary tensors whatever the caller's mode
    (``inference_mode``, ``no_grad``, autocast), so a cache filled during an evaluation serves
    the next training step. The cache is skipped under ``torch.compile`` (the compiler folds
    the construction into the graph instead) and cleared when the buffers are reloaded, moved
    or cast.
    """

    cache_size = 4

    def __init__(self, embed_dims: int, num_heads: int, init_value: float,
                 heads_range: float):
        super().__init__()
        head_dims = embed_dims // num_heads
        angle = 1.0 / (10000**torch.linspace(0, 1, head_dims // 2))
        angle = angle.unsqueeze(-1).repeat(1, 2).flatten()
        heads = torch.arange(num_heads, dtype=torch.float)
        decay = torch.log(1 - 2**(-init_value - heads_range * heads / num_heads))
        self.register_buffer('angle', angle)
        self.register_buffer('decay', decay)
        self.num_heads = num_heads
        self._cache = OrderedDict()

    def _load_from_state_dict(self, *args, **kwargs):
        self._cache.clear()
        super()._load_from_state_dict(*args, **kwargs)

    def _apply(self, fn, *args, **kwargs):
        self._cache.clear()
        return super()._apply(fn, *args, **kwargs)

    def _cached(self, key, build):
        # Traced values stay out of the cache.
        if torch_api.is_compiling() or torch_api.is_exporting():
            return build()
        value = self._cache.get(key)
        if value is None:
            # Cached values outlive the mode of the call that built them: built as inference
            # tensors (under torch.inference_mode) they could never be saved for a later
            # backward. (Autocast leaves them alone: they are built by elementwise ops only.)
            with torch.inference_mode(False):
                value = build()
            self._cache[key] = value
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        return value

    def rotary(self, height: int, width: int):
        """sin, cos of the row-major token index times angle: each (H, W, d), fp32."""
        def build():
            index = torch.arange(height * width, device=self.decay.device).to(self.decay)
            phase = index[:, None] * self.angle[None, :]
            return (torch.sin(phase).reshape(height, width, -1),
                    torch.cos(phase).reshape(height, width, -1))
        return self._cached(('rotary', height, width), build)

    def phasor(self, height: int, width: int) -> torch.Tensor:
        """cos + i sin of the rotary phases, one per pair: (H, W, d/2) complex64."""
        def build():
            sin, cos = self.rotary(height, width)
            return torch.complex(cos[..., ::2].contiguous(), sin[..., ::2].contiguous())
        return self._cached(('phasor', height, width), build)

    def decay_1d(self, length: int, dtype=None, keys: int | None = None) -> torch.Tensor:
        """(n, L, keys): |i - j| * decay_h, and -inf for the padding keys j >= L (``keys``
        defaults to L: no padding)."""
        dtype = dtype or self.decay.dtype
        keys = length if keys is None else keys

        def build():
            index = torch.arange(keys, device=self.decay.device).to(self.decay)
            dist = (index[:length, None] - index[None, :]).abs()
            mask = dist * self.decay[:, None, None]
            if keys > length:  # (an empty slice would stop the ONNX exporter's shape pass)
                mask[:, :, length:] = float('-inf')
            return aligned(mask.to(dtype), self.alignment)
        return self._cached(('1d', length, keys, dtype), build)

    def decay_1d_columns(self, height: int, width: int, dtype=None,
                         keys: int | None = None) -> torch.Tensor:
        """(1, W*n, H, keys): :meth:`decay_1d` along H repeated for each of W columns."""
        dtype = dtype or self.decay.dtype
        keys = height if keys is None else keys

        def build():
            mask = self.decay_1d(height, dtype, keys)
            return aligned(mask.expand(width, *mask.shape).reshape(1, -1, height, keys),
                           self.alignment)
        return self._cached(('1d_columns', height, width, keys, dtype), build)

    def decay_2d(self, height: int, width: int, dtype=None) -> torch.Tensor:
        """(n, H*W, H*W): (|r1 - r2| + |c1 - c2|) * decay_h over row-major tokens."""
        dtype = dtype or self.decay.dtype

        def build():
            return aligned(self.decay_2d_rows(height, width, 0, height * width).to(dtype),
                           self.alignment)
        return self._cached(('2d', height, width, dtype), build)

    @property
    def alignment(self) -> int:
        return mask_alignment(self.decay.device)

    def decay_2d_rows(self, height: int, width: int, start: int, stop: int) -> torch.Tensor:
        """Rows [start, stop) of :meth:`decay_2d`, built without the cache: (n, stop-start, H*W)."""
        device = self.decay.device
        keys = torch.arange(height * width, device=device)
        queries = keys[start:stop]
        dist = ((queries[:, None] // width - keys[None, :] // width).abs() +
                (queries[:, None] % width - keys[None, :] % width).abs())
        return dist.to(self.decay) * self.decay[:, None, None]

    def extra_repr(self) -> str:
        return f'num_heads={self.num_heads}, head_dims={self.angle.numel()}'


class MaSA(nn.Module):
    """Manhattan Self-Attention on channels-last maps.

    ``forward(x, relpos)``: x (B, H, W, C) and the stage's :class:`RelPos2d` (decay masks and
    rotary tables of the map's size) -> (B, H, W, C): q, k, v projections, the rotary
    rotation of q and k, softmax attention biased by the decay, plus LePE (a 5x5 depthwise
    conv of v), then the output projection.

    Args:
        embed_dims (int): channels C.
        num_heads (int): heads n; C / n must be even (rotary pairs).
        decomposed (bool): attention along W then H (official ``VisionRetentionChunk``) if
            True, over all tokens (official ``VisionRetentionAll``) if False.
        attn_impl (str): one of ``ATTN_IMPLS`` (see the module docstring). Defaults to
            ``'auto'``.
        max_mask_bytes (int): with ``attn_impl='auto'``, a full-form stage whose cached decay
            mask would be larger than this runs ``'query_blocked'``. Defaults to 1 GiB.
        chunk_size (int): query tokens per block of the ``'query_blocked'`` implementation.
            Defaults to 1024.
        max_column_mask_bytes (int): decomposed form, fused implementation: largest decay
            mask repeated per column that is cached to avoid copying q, k, v into column
            order. Defaults to 64 MiB.
        cuda_backends (tuple): on CUDA, the SDPA kernels the fused calls may use, in order of
            preference (``CUDA_BACKENDS``; see the module docstring). Defaults to
            ``('efficient', 'math')``.
    """

    def __init__(self, embed_dims: int, num_heads: int, decomposed: bool,
                 attn_impl: str = 'auto', max_mask_bytes: int = 1 << 30,
                 chunk_size: int = 1024, max_column_mask_bytes: int = 64 << 20,
                 cuda_backends: tuple = ('efficient', 'math')):
        super().__init__()
        if embed_dims % num_heads or (embed_dims // num_heads) % 2:
            raise ValueError(
                f'MaSA: embed_dims ({embed_dims}) must split into num_heads ({num_heads}) '
                f'heads of even size for the rotary pairs')
        attn_impl = check_attn_impl(attn_impl, 'MaSA')
        unknown = [b for b in cuda_backends if b not in CUDA_BACKENDS]
        if unknown or not cuda_backends:
            raise ValueError(f'MaSA: cuda_backends={tuple(cuda_backends)!r} must name one or '
                             f'more of {CUDA_BACKENDS}')
        self.cuda_backends = tuple(cuda_backends)
        self.embed_dims = embed_dims
        self.num_heads = num_heads
        self.head_dims = embed_dims // num_heads
        self.scaling = self.head_dims**-0.5
        self.decomposed = decomposed
        self.attn_impl = attn_impl
        self.max_mask_bytes = max_mask_bytes
        self.chunk_size = chunk_size
        self.max_column_mask_bytes = max_column_mask_bytes
        self.q_proj = nn.Linear(embed_dims, embed_dims)
        self.k_proj = nn.Linear(embed_dims, embed_dims)
        self.v_proj = nn.Linear(embed_dims, embed_dims)
        self.lepe = DWConv2d(embed_dims, 5)
        self.out_proj = nn.Linear(embed_dims, embed_dims)

    def extra_repr(self) -> str:
        form = 'decomposed' if self.decomposed else 'full'
        return f'num_heads={self.num_heads}, form={form}, attn_impl={self.attn_impl!r}'

    def resolve_impl(self, height: int, width: int, dtype: torch.dtype) -> str:
        """The implementation a forward at this size runs."""
        if self.attn_impl in ('reference', 'flex'):
            return self.attn_impl
        if self.decomposed:
            return 'sdpa'  # 1-D masks are small: query blocks only concern full-form stages
        if self.attn_impl != 'auto':
            return self.attn_impl
        tokens = height * width
        mask_bytes = self.num_heads * tokens * tokens * torch.finfo(dtype).bits // 8
        return 'query_blocked' if mask_bytes > self.max_mask_bytes else 'sdpa'

    def forward(self, x: torch.Tensor, relpos: RelPos2d) -> torch.Tensor:
        B, H, W, C = x.shape
        q, k, v = self.q_proj(x), self.k_proj(x), self.v_proj(x)
        lepe = self.lepe(v)
        impl = self.resolve_impl(H, W, q.dtype)
        if impl == 'reference':
            out = self._reference(q, k, v, *relpos.rotary(H, W), relpos)
        else:
            # (B, H, W, n, d): heads split in place, the phasors broadcast over heads.
            shape = (B, H, W, self.num_heads, self.head_dims)
            # No complex tensors in ONNX, and inductor generates no code for complex products
            # (it would fall back to eager ones between its fused kernels).
            if torch_api.is_exporting() or torch_api.is_compiling():
                sin, cos = (t[..., ::2].unsqueeze(2) for t in relpos.rotary(H, W))
                qr = rotate_pairs(q.view(shape), cos, sin)
                kr = rotate_pairs(k.view(shape), cos, sin)
            else:
                phasor = relpos.phasor(H, W).unsqueeze(2)  # (H, W, 1, d/2)
                qr = rotate_complex_(q.view(shape), phasor)
                kr = rotate_complex_(k.view(shape), phasor)
            v = v.view(shape)
            if impl == 'flex':
                out = self._flex(qr, kr, v, relpos)
            elif self.decomposed:
                out = self._sdpa_decomposed(qr, kr, v, relpos)
            elif impl == 'sdpa':
                out = self._sdpa_full(qr, kr, v, relpos)
            else:
                out = self._query_blocked_full(qr, kr, v, relpos)
        return self.out_proj(lepe.add_(out))  # in place: lepe is a conv output, not saved

    def _reference(self, q, k, v, sin, cos, relpos):
        """The official computation, step by step. (B, H, W, C) each -> (B, H, W, C)."""
        B, H, W, C = q.shape
        n, d = self.num_heads, self.head_dims
        k = k * self.scaling
        q = q.view(B, H, W, n, d).permute(0, 3, 1, 2, 4)  # (B, n, H, W, d)
        k = k.view(B, H, W, n, d).permute(0, 3, 1, 2, 4)
        qr, kr = theta_shift(q, sin, cos), theta_shift(k, sin, cos)
        if self.decomposed:
            # along W: (B, H, n, W, W)
            v = v.reshape(B, H, W, n, d).permute(0, 1, 3, 2, 4)  # (B, H, n, W, d)
            attn = qr.transpose(1, 2) @ kr.transpose(1, 2).transpose(-1, -2)
            attn = torch.softmax(attn + relpos.decay_1d(W), -1)
            v = attn @ v  # (B, H, n, W, d)
            # along H: (B, W, n, H, H)
            qr_h, kr_h = qr.permute(0, 3, 1, 2, 4), kr.permute(0, 3, 1, 2, 4)
            v = v.permute(0, 3, 2, 1, 4)  # (B, W, n, H, d)
            attn = torch.softmax(qr_h @ kr_h.transpose(-1, -2) + relpos.decay_1d(H), -1)
            out = (attn @ v).permute(0, 3, 1, 2, 4)  # (B, H, W, n, d)
        else:
            qr, kr = qr.flatten(2, 3), kr.flatten(2, 3)  # (B, n, HW, d)
            v = v.reshape(B, H, W, n, d).permute(0, 3, 1, 2, 4).flatten(2, 3)
            attn = torch.softmax(qr @ kr.transpose(-1, -2) + relpos.decay_2d(H, W), -1)
            out = (attn @ v).transpose(1, 2)  # (B, HW, n, d)
        return out.reshape(B, H, W, C)

    def _sdpa_decomposed(self, qr, kr, v, relpos):
        """(B, H, W, n, d) each -> (B, H, W, C).

        Along W the rows are the batch: (B*H, n, W, d) is a free view. Along H the columns
        become heads: (B, W*n, H, d) is a free view too, with the 1-D decay repeated for every
        column (cached). fused attention writes (batch, sequence, heads, d) memory, so the
        W-step output is already in (B, H, W, n, d) order and the H-step output in
        (B, H, W, C) order: queries and outputs are not copied. Above
        ``max_column_mask_bytes`` for the repeated decay, the columns are copied into their
        own batch instead. At CPU inference the keys and values are padded
        (:func:`padded_keys`).
        """
        B, H, W, n, d = qr.shape
        dtype = qr.dtype
        keys = padded_keys(W, qr)
        v1 = sdpa(rows_view(qr), rows_view(pad_tokens(kr, 2, keys)),
                  rows_view(pad_tokens(v, 2, keys)), relpos.decay_1d(W, dtype, keys)[None],
                  self.scaling, self.cuda_backends).transpose(1, 2).reshape(B, H, W, n, d)
        keys = padded_keys(H, qr)
        kr, v1_keys = pad_tokens(kr, 1, keys), pad_tokens(v1, 1, keys)
        mask_bytes = W * n * H * keys * torch.finfo(dtype).bits // 8
        if mask_bytes <= self.max_column_mask_bytes:
            cols = columns_as_heads_view
            out = sdpa(cols(qr), cols(kr), cols(v1_keys),
                       relpos.decay_1d_columns(H, W, dtype, keys), self.scaling,
                       self.cuda_backends)  # (B, W*n, H, d)
            return out.transpose(1, 2).reshape(B, H, W, n * d)
        out = sdpa(columns_view(qr), columns_view(kr), columns_view(v1_keys),
                   relpos.decay_1d(H, dtype, keys)[None], self.scaling,
                   self.cuda_backends)  # (B*W, n, H, d)
        return out.transpose(1, 2).reshape(B, W, H, n * d).transpose(1, 2)

    def _sdpa_full(self, qr, kr, v, relpos):
        """(B, H, W, n, d) each -> (B, H, W, C)."""
        B, H, W, n, d = qr.shape
        out = sdpa(tokens_view(qr), tokens_view(kr), tokens_view(v),
                   relpos.decay_2d(H, W, qr.dtype)[None], self.scaling,
                   self.cuda_backends)  # (B, n, HW, d)
        return out.transpose(1, 2).reshape(B, H, W, n * d)

    def _query_blocked_full(self, qr, kr, v, relpos):
        """Query blocks with their decay rows built on the fly: (B, H, W, n, d) -> (B, H, W, C)."""
        B, H, W, n, d = qr.shape
        q, k, v = tokens_view(qr), tokens_view(kr), tokens_view(v)

        def block(q_block, k, v, start, stop):
            bias = aligned(relpos.decay_2d_rows(H, W, start, stop).to(q_block.dtype),
                           relpos.alignment)
            return sdpa(q_block, k, v, bias[None], self.scaling, self.cuda_backends)

        outs = []
        for start in range(0, H * W, self.chunk_size):
            stop = min(start + self.chunk_size, H * W)
            q_block = q[:, :, start:stop]
            if torch.is_grad_enabled() and (q.requires_grad or k.requires_grad):
                # Recompute the block (and its bias) in backward instead of keeping the bias.
                outs.append(checkpoint(block, q_block, k, v, start, stop, use_reentrant=False))
            else:
                outs.append(block(q_block, k, v, start, stop))
        out = torch.cat(outs, dim=2)  # (B, n, HW, d)
        return out.transpose(1, 2).reshape(B, H, W, n * d)

    def _flex(self, qr, kr, v, relpos):
        """Both forms with the decay from token indices: (B, H, W, n, d) each -> (B, H, W, C)."""
        B, H, W, n, d = qr.shape
        decay = relpos.decay
        if not self.decomposed:
            def manhattan(score, b, h, i, j):
                dist = (i // W - j // W).abs() + (i % W - j % W).abs()
                return score + dist * decay[h]

            out = flex(tokens_view(qr), tokens_view(kr), tokens_view(v), manhattan,
                       self.scaling)
            return out.transpose(1, 2).reshape(B, H, W, n * d)

        def along_rows(score, b, h, i, j):
            return score + (i - j).abs() * decay[h]

        def along_columns(score, b, h, i, j):  # heads are (column, head) pairs
            return score + (i - j).abs() * decay[h % n]

        v1 = flex(rows_view(qr), rows_view(kr), rows_view(v), along_rows, self.scaling)
        v1 = v1.transpose(1, 2).reshape(B, H, W, n, d)
        cols = columns_as_heads_view
        out = flex(cols(qr), cols(kr), cols(v1), along_columns, self.scaling)
        return out.transpose(1, 2).reshape(B, H, W, n * d)
