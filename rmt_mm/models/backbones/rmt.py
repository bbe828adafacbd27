"""RMT backbone ("RMT: Retentive Networks Meet Vision Transformers", CVPR 2024).

Module names follow the official implementation (``patch_embed.proj.N``, ``layers.i.blocks.k``,
``layers.i.Relpos``, ``extra_norms.i``) so that official checkpoints load without renaming.
"""
import copy
import warnings
from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule, ModuleList
from mmengine.model.weight_init import trunc_normal_
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.utils.fusion import fuse_conv_bn_weights

from rmt_mm.registry import MODELS
from rmt_mm.utils import torch_api

from ..layers.dwconv import DWConv2d
from ..layers.masa import MaSA, RelPos2d, check_attn_impl
from ..layers.residual import DropPathResidual

ARCH_KEYS = ('embed_dims', 'depths', 'num_heads', 'init_values', 'heads_ranges',
             'mlp_ratios', 'decomposed', 'layerscales')
# The official name of `decomposed` (per stage: MaSA along W then H instead of over all
# tokens); arch dicts written with it are accepted as they are.
OFFICIAL_ARCH_KEYS = {'chunkwise_recurrents': 'decomposed'}
NUM_STAGES = 4


def conv_norm(conv: nn.Conv2d, norm: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``norm(conv(x))``; with a BatchNorm in eval mode at inference, one convolution whose
    weights fold the norm in (a pass over the output less, the same numbers to rounding)."""
    if (norm.training or not isinstance(norm, _BatchNorm) or norm.running_mean is None
            or not torch_api.eager_inference()):
        return norm(conv(x))
    weight, bias = fuse_conv_bn_weights(conv.weight, conv.bias, norm.running_mean,
                                        norm.running_var, norm.eps, norm.weight, norm.bias)
    return conv._conv_forward(x, weight, bias)


class FFN(nn.Module):
    """fc1 -> GELU -> h + DWConv3x3(h) -> fc2 on (B, H, W, C)."""

    def __init__(self, embed_dims: int, hidden_dims: int, fuse_residual: bool = True):
        super().__init__()
        self.fc1 = nn.Linear(embed_dims, hidden_dims)
        self.act = nn.GELU()
        self.dwconv = DWConv2d(hidden_dims, 3, residual=True, fuse_residual=fuse_residual)
        self.fc2 = nn.Linear(hidden_dims, embed_dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = self.fc1(x)
        if torch.is_grad_enabled() and hidden.requires_grad:
            hidden = self.act(hidden)  # its backward needs the input: not in place
        else:  # inference: the exact GELU in place, no second (B, H, W, hidden) buffer
            torch.ops.aten.gelu_(hidden)
        return self.fc2(self.dwconv(hidden))  # dwconv adds its input


class RetBlock(nn.Module):
    """CPE, then pre-norm MaSA and pre-norm FFN with drop path and optional layer scale.

    ``forward(x, relpos)``: x (B, H, W, C) and the stage's :class:`RelPos2d` ->
    (B, H, W, C).

    Args:
        embed_dims (int): channels C.
        num_heads (int): MaSA heads.
        ffn_dims (int): hidden channels of the FFN.
        decomposed (bool): MaSA along W then H (early stages) instead of over all tokens.
        drop_path (float): stochastic depth of both residual branches. Defaults to 0.
        layerscale (bool): per-channel scales on both branches. Defaults to False.
        layer_init_values (float): their initial value. Defaults to 1e-6.
        attn_cfg (dict, optional): MaSA options (``attn_impl`` ...). Defaults to None.
        fuse_residual (bool): residual sums inside the depthwise convs and one ``addcmul``
            per branch (:class:`DropPathResidual`). Defaults to True.
    """

    def __init__(self, embed_dims: int, num_heads: int, ffn_dims: int, decomposed: bool,
                 drop_path: float = 0., layerscale: bool = False,
                 layer_init_values: float = 1e-6, attn_cfg: dict | None = None,
                 fuse_residual: bool = True):
        super().__init__()
        self.pos = DWConv2d(embed_dims, 3, residual=True, fuse_residual=fuse_residual)  # CPE
        self.retention_layer_norm = nn.LayerNorm(embed_dims, eps=1e-6)
        self.retention = MaSA(embed_dims, num_heads, decomposed, **(attn_cfg or {}))
        self.final_layer_norm = nn.LayerNorm(embed_dims, eps=1e-6)
        self.ffn = FFN(embed_dims, ffn_dims, fuse_residual)
        self.drop_path = DropPathResidual(drop_path, fused=fuse_residual)
        self.layerscale = layerscale
        if layerscale:
            self.gamma_1 = nn.Parameter(torch.full((1, 1, 1, embed_dims), layer_init_values))
            self.gamma_2 = nn.Parameter(torch.full((1, 1, 1, embed_dims), layer_init_values))

    def forward(self, x: torch.Tensor, relpos: RelPos2d) -> torch.Tensor:
        x = self.pos(x)
        # Both branches end in a linear layer: fresh outputs the residual sum may write into.
        attn = self.retention(self.retention_layer_norm(x), relpos)
        ffn_in = self.drop_path(attn, x, self.gamma_1 if self.layerscale else None)
        ffn = self.ffn(self.final_layer_norm(ffn_in))
        return self.drop_path(ffn, ffn_in, self.gamma_2 if self.layerscale else None)


class Downsample(nn.Module):
    """Conv3x3 stride 2 + norm between stages: (B, H, W, C) -> (B, H', W', C'), H' = (H-1)//2+1."""

    def __init__(self, in_channels: int, out_channels: int, norm_cfg: dict):
        super().__init__()
        self.reduction = nn.Conv2d(in_channels, out_channels, 3, 2, 1)
        self.norm = build_norm_layer(norm_cfg, out_channels)[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Not folded (unlike the stem): a few ms a batch, and folded weights round differently
        # enough to take torch 2.1's stage outputs 1e-5 past the official fixtures.
        return self.norm(self.reduction(x.permute(0, 3, 1, 2))).permute(0, 2, 3, 1)


class RMTStage(nn.Module):
    """RetBlocks sharing one :class:`RelPos2d`, then an optional :class:`Downsample`.

    ``forward(x)``: x (B, H, W, C) -> (the stage output (B, H, W, C) before downsampling,
    the downsampled map (B, H', W', C') or ``None`` for the last stage).

    Args:
        embed_dims (int): channels C.
        depth (int): RetBlocks.
        num_heads (int): MaSA heads.
        init_value (float), heads_range (float): the decay rates of the heads
            (:class:`RelPos2d`).
        ffn_dims (int): hidden channels of the FFNs.
        decomposed (bool): decomposed MaSA (along W then H).
        drop_paths (Sequence[float]): stochastic depth of each block.
        layerscale (bool), layer_init_values (float): per-channel branch scales.
        out_dims (int, optional): channels after downsampling; None: no downsampling.
        norm_cfg (dict): norm of the downsampling conv.
        with_cp (bool): gradient checkpointing of the blocks.
        attn_cfg (dict, optional): MaSA options.
        fuse_residual (bool): see :class:`RetBlock`. Defaults to True.
    """

    def __init__(self, embed_dims: int, depth: int, num_heads: int, init_value: float,
                 heads_range: float, ffn_dims: int, decomposed: bool,
                 drop_paths: Sequence[float], layerscale: bool, layer_init_values: float,
                 out_dims: int | None, norm_cfg: dict, with_cp: bool,
                 attn_cfg: dict | None, fuse_residual: bool = True):
        super().__init__()
        # The name `Relpos` is the official one; it keeps checkpoint keys unchanged.
        self.Relpos = RelPos2d(embed_dims, num_heads, init_value, heads_range)
        self.blocks = ModuleList([
            RetBlock(embed_dims, num_heads, ffn_dims, decomposed, drop_paths[k], layerscale,
                     layer_init_values, attn_cfg, fuse_residual) for k in range(depth)
        ])
        self.downsample = Downsample(embed_dims, out_dims, norm_cfg) if out_dims else None
        self.with_cp = with_cp

    def forward(self, x: torch.Tensor):
        for block in self.blocks:
            if self.with_cp and x.requires_grad:
                x = cp.checkpoint(block, x, self.Relpos, use_reentrant=False)
            else:
                x = block(x, self.Relpos)
        return x, (self.downsample(x) if self.downsample is not None else None)


@MODELS.register_module()
class RMT(BaseModule):
    """RMT backbone for classification, detection and segmentation.

    A PyTorch implementation of `RMT: Retentive Networks Meet Vision Transformers
    <https://arxiv.org/abs/2309.11523>`_ (CVPR 2024), numerically the official code
    (https://github.com/qhfan/RMT): a convolutional stem, then four stages of RetBlocks whose
    Manhattan Self-Attention (MaSA, :mod:`rmt_mm.models.layers.masa`) biases softmax attention
    by ``log(gamma)`` times the Manhattan distance between tokens.

    Args:
        arch (str | dict): ``'t'/'tiny'``, ``'s'/'small'``, ``'b'/'base'``, ``'l'/'large'`` or
            a dict with the keys of an ``RMT.arch_zoo`` entry (per-stage lists of 4, plus
            ``drop_path_rate`` and ``layer_init_values``). Defaults to ``'t'``.
        in_channels (int): input image channels. Defaults to 3.
        drop_path_rate (float, optional): stochastic depth, rising linearly over all blocks;
            ``None`` takes the arch's official value. Defaults to None.
        out_indices (Sequence[int]): stages (0-3) whose outputs are returned, NCHW.
            Defaults to ``(0, 1, 2, 3)``.
        out_norm (bool): one LayerNorm per output stage (official dense backbone,
            ``extra_norms.i``); the classifier uses the raw last stage instead.
            Defaults to True.
        frozen_stages (int): -1 freezes nothing, 0 the stem, k >= 1 the stem and stages 0..k-1
            (with their downsampling and output norms): parameters and BN statistics.
            Defaults to -1.
        norm_eval (bool): keep every BatchNorm (SyncBatchNorm included) in eval mode while
            training. Defaults to False.
        norm_cfg (dict): norm of the stem and downsampling convs (official: BN in the
            classifier, SyncBN in the dense backbones). Defaults to ``dict(type='BN',
            requires_grad=True)``.
        with_cp (bool | Sequence[bool]): gradient checkpointing of the blocks, per stage.
            Defaults to False.
        attn_impl (str): MaSA implementation, one of ``'auto'``, ``'sdpa'``,
            ``'query_blocked'``, ``'flex'``, ``'reference'`` (see
            :mod:`rmt_mm.models.layers.masa`). All give the same numbers. Defaults to
            ``'auto'``.
        attn_cfg (dict, optional): further MaSA options (``max_mask_bytes``, ``chunk_size``,
            ``max_column_mask_bytes``, ``cuda_backends``). Defaults to None.
        inference_group_tokens (int): CPU inference only (eval mode, no autograd): every
            stage runs on groups of images of at most this many tokens (one image at least),
            so that its intermediate maps stay in cache instead of being allocated afresh for
            every layer. Each image is computed as before, so the outputs are the same. 0
            runs every stage on the whole batch. Defaults to 3136 (one 224x224 image at
            stage 1).
        fuse_residual (bool, optional): compute the residual sums around the depthwise convs
            (CPE and FFN) inside their kernels, and the block's residual sums with layer scale
            and drop path as one ``addcmul`` (:class:`DropPathResidual`): the same numbers to
            rounding, fewer passes; ``None``: yes, except with ``attn_impl='reference'``, which
            keeps the official separate operations. Defaults to None.
        pretrained (str, optional): deprecated, as in mmdet's and mmseg's backbones (mmseg's
            ``EncoderDecoder(pretrained=...)`` passes it): a checkpoint path, turned into
            ``init_cfg=dict(type='Pretrained', checkpoint=pretrained)`` with a warning.
            Defaults to None.
        init_cfg (dict | list, optional): ``dict(type='Pretrained', checkpoint=...)`` loads
            official or rmt_mm checkpoints
            (:func:`rmt_mm.models.checkpoint.load_backbone_checkpoint`); None gives the
            official initialisation for training from scratch (truncated normal, std 0.02, on
            the linear layers; LayerNorms 1 and 0). Defaults to None.
    """

    # The official settings (RMT_T3, RMT_S, RMT_M2, RMT_L6 of classfication_release/RMT.py),
    # per stage.
    # 'decomposed' is the official 'chunkwise_recurrents' (MaSA along W then H); 'drop_path_rate'
    # is the official classifier's.
    arch_zoo: dict[str, dict] = {
        **dict.fromkeys(['t', 'tiny'], {
            'embed_dims': [64, 128, 256, 512],
            'depths': [2, 2, 8, 2],
            'num_heads': [4, 4, 8, 16],
            'init_values': [2, 2, 2, 2],
            'heads_ranges': [4, 4, 6, 6],
            'mlp_ratios': [3, 3, 3, 3],
            'decomposed': [True, True, False, False],
            'layerscales': [False, False, False, False],
            'layer_init_values': 1e-6,
            'drop_path_rate': 0.1,
        }),
        **dict.fromkeys(['s', 'small'], {
            'embed_dims': [64, 128, 256, 512],
            'depths': [3, 4, 18, 4],
            'num_heads': [4, 4, 8, 16],
            'init_values': [2, 2, 2, 2],
            'heads_ranges': [4, 4, 6, 6],
            'mlp_ratios': [4, 4, 3, 3],
            'decomposed': [True, True, True, False],
            'layerscales': [False, False, False, False],
            'layer_init_values': 1e-6,
            'drop_path_rate': 0.15,
        }),
        **dict.fromkeys(['b', 'base'], {
            'embed_dims': [80, 160, 320, 512],
            'depths': [4, 8, 25, 8],
            'num_heads': [5, 5, 10, 16],
            'init_values': [2, 2, 2, 2],
            'heads_ranges': [5, 5, 6, 6],
            'mlp_ratios': [4, 4, 3, 3],
            'decomposed': [True, True, True, False],
            'layerscales': [False, False, True, True],
            'layer_init_values': 1e-6,
            'drop_path_rate': 0.4,
        }),
        **dict.fromkeys(['l', 'large'], {
            'embed_dims': [112, 224, 448, 640],
            'depths': [4, 8, 25, 8],
            'num_heads': [7, 7, 14, 20],
            'init_values': [2, 2, 2, 2],
            'heads_ranges': [6, 6, 6, 6],
            'mlp_ratios': [4, 4, 3, 3],
            'decomposed': [True, True, True, False],
            'layerscales': [False, False, True, True],
            'layer_init_values': 1e-6,
            'drop_path_rate': 0.5,
        }),
    }

    def __init__(self,
                 arch: str | dict = 't',
                 in_channels: int = 3,
                 drop_path_rate: float | None = None,
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 out_norm: bool = True,
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 with_cp: bool | Sequence[bool] = False,
                 attn_impl: str = 'auto',
                 attn_cfg: dict | None = None,
                 fuse_residual: bool | None = None,
                 inference_group_tokens: int = 3136,
                 pretrained: str | None = None,
                 init_cfg: dict | list | None = None):
        super().__init__(init_cfg=self._pretrained_to_init_cfg(pretrained, init_cfg))
        self.arch_settings = self.parse_arch(arch)
        arch = self.arch_settings
        self.embed_dims = arch['embed_dims']
        self.depths = arch['depths']
        self.num_stages = NUM_STAGES
        self.out_indices = self._check_out_indices(out_indices)
        if not isinstance(frozen_stages, int) or not -1 <= frozen_stages <= NUM_STAGES:
            raise ValueError(f'RMT: frozen_stages must be an int in [-1, {NUM_STAGES}] '
                             f'(-1: nothing, 0: stem, k: stem + stages 0..k-1), '
                             f'got {frozen_stages!r}')
        attn_impl = check_attn_impl(attn_impl, 'RMT')
        if fuse_residual is None:
            fuse_residual = attn_impl != 'reference'
        if isinstance(with_cp, bool):
            with_cp = [with_cp] * NUM_STAGES
        if len(with_cp) != NUM_STAGES:
            raise ValueError(f'RMT: with_cp must be a bool or {NUM_STAGES} bools, got {with_cp}')
        if not isinstance(inference_group_tokens, int) or inference_group_tokens < 0:
            raise ValueError(f'RMT: inference_group_tokens must be an int >= 0 (0: no '
                             f'groups), got {inference_group_tokens!r}')
        self.inference_group_tokens = inference_group_tokens
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.out_norm = out_norm
        if drop_path_rate is None:
            drop_path_rate = arch['drop_path_rate']

        c0 = self.embed_dims[0]
        stem = [
            nn.Conv2d(in_channels, c0 // 2, 3, 2, 1), build_norm_layer(norm_cfg, c0 // 2)[1],
            nn.GELU(),
            nn.Conv2d(c0 // 2, c0 // 2, 3, 1, 1), build_norm_layer(norm_cfg, c0 // 2)[1],
            nn.GELU(),
            nn.Conv2d(c0 // 2, c0, 3, 2, 1), build_norm_layer(norm_cfg, c0)[1], nn.GELU(),
            nn.Conv2d(c0, c0, 3, 1, 1), build_norm_layer(norm_cfg, c0)[1],
        ]
        self.patch_embed = nn.Module()
        self.patch_embed.proj = nn.Sequential(*stem)

        dpr = [x.item() for x in torch.linspace(0, drop_path_rate, sum(self.depths))]
        if attn_cfg and 'attn_impl' in attn_cfg:
            raise ValueError(f"RMT: attn_impl is a backbone argument (attn_impl="
                             f"{attn_cfg['attn_impl']!r}), not an attn_cfg key; move it out "
                             f"of attn_cfg")
        attn_cfg = dict(attn_cfg or {}, attn_impl=attn_impl)
        self.layers = ModuleList()
        for i in range(NUM_STAGES):
            first = sum(self.depths[:i])
            self.layers.append(RMTStage(
                embed_dims=self.embed_dims[i], depth=self.depths[i],
                num_heads=arch['num_heads'][i], init_value=arch['init_values'][i],
                heads_range=arch['heads_ranges'][i],
                ffn_dims=int(arch['mlp_ratios'][i] * self.embed_dims[i]),
                decomposed=arch['decomposed'][i],
                drop_paths=dpr[first:first + self.depths[i]],
                layerscale=arch['layerscales'][i],
                layer_init_values=arch['layer_init_values'],
                out_dims=self.embed_dims[i + 1] if i < NUM_STAGES - 1 else None,
                norm_cfg=norm_cfg, with_cp=with_cp[i], attn_cfg=attn_cfg,
                fuse_residual=fuse_residual))
        if out_norm:
            # Official dense backbones keep a LayerNorm for every stage, used or not, so
            # their checkpoints load; only the ones in out_indices run.
            self.extra_norms = ModuleList(nn.LayerNorm(c) for c in self.embed_dims)
            # A norm that never runs would get no gradient, and DDP would stop on it
            # (DINO's 4 scales read stages 1-3 only).
            for i, norm in enumerate(self.extra_norms):
                if i not in self.out_indices:
                    norm.requires_grad_(False)
        self._freeze_stages()

    @classmethod
    def parse_arch(cls, arch: str | dict) -> dict:
        """Resolve an arch name or dict into a full, checked settings dict."""
        names = sorted(cls.arch_zoo)
        if isinstance(arch, str):
            key = arch.lower()
            if key not in cls.arch_zoo:
                raise ValueError(f'RMT: unknown arch {arch!r}; valid names are {names} '
                                 f'or a dict with the keys {list(ARCH_KEYS)}')
            return copy.deepcopy(cls.arch_zoo[key])
        if not isinstance(arch, dict):
            raise ValueError(f'RMT: arch must be one of {names} or a dict, got {arch!r}')
        arch = dict(arch)
        for official, ours in OFFICIAL_ARCH_KEYS.items():
            if official in arch:
                if ours in arch:
                    raise ValueError(f'RMT: arch dict gives both {official!r} and {ours!r} '
                                     f'(the same setting, official and rmt_mm name); keep one')
                arch[ours] = arch.pop(official)
        missing = [k for k in ARCH_KEYS if k not in arch]
        unknown = [k for k in arch if k not in ARCH_KEYS + ('drop_path_rate', 'layer_init_values')]
        if missing or unknown:
            raise ValueError(f'RMT: arch dict is missing {missing} and has unknown keys '
                             f'{unknown}; it needs {list(ARCH_KEYS)} (lists of {NUM_STAGES}) '
                             f'and may set drop_path_rate, layer_init_values')
        arch = dict(dict(drop_path_rate=0.1, layer_init_values=1e-6), **copy.deepcopy(arch))
        for key in ARCH_KEYS:
            if len(arch[key]) != NUM_STAGES:
                raise ValueError(f'RMT: arch[{key!r}] must list {NUM_STAGES} stages, '
                                 f'got {arch[key]}')
        for i, (dims, heads) in enumerate(zip(arch['embed_dims'], arch['num_heads'])):
            if dims % heads or (dims // heads) % 2:
                raise ValueError(
                    f'RMT: stage {i}: embed_dims {dims} must split into num_heads {heads} '
                    f'heads of even size (rotary pairs); e.g. embed_dims={2 * heads * 8}')
        return arch

    @classmethod
    def output_channels(cls, arch: str | dict = 't', out_indices=(0, 1, 2, 3)) -> list:
        """Channels of the outputs a backbone with these settings returns, in order."""
        dims = cls.parse_arch(arch)['embed_dims']
        return [dims[i] for i in cls._check_out_indices(out_indices)]

    @staticmethod
    def _pretrained_to_init_cfg(pretrained, init_cfg):
        """mmdet's and mmseg's convention for the deprecated ``pretrained`` argument."""
        if pretrained is None:
            return init_cfg
        if not isinstance(pretrained, str):
            raise TypeError(f'RMT: pretrained must be a checkpoint path (str) or None, got '
                            f'{type(pretrained).__name__}; prefer init_cfg=dict(type='
                            f"'Pretrained', checkpoint=PATH)")
        if init_cfg is not None:
            raise ValueError(f'RMT: pretrained={pretrained!r} and init_cfg={init_cfg!r} are '
                             f'both given; keep only init_cfg=dict(type=\'Pretrained\', '
                             f'checkpoint=PATH)')
        warnings.warn(f'RMT: pretrained is deprecated, use init_cfg=dict(type=\'Pretrained\', '
                      f'checkpoint={pretrained!r}) instead', DeprecationWarning, stacklevel=3)
        return dict(type='Pretrained', checkpoint=pretrained)

    @staticmethod
    def _check_out_indices(out_indices: Sequence[int]) -> tuple:
        if isinstance(out_indices, int):
            out_indices = [out_indices]
        if not isinstance(out_indices, (list, tuple)):
            raise TypeError(f'RMT: out_indices must be an int or a list/tuple of stage indices '
                            f'in [0, {NUM_STAGES - 1}], got {type(out_indices).__name__} '
                            f'{out_indices!r}')
        out_indices = tuple(i + NUM_STAGES if isinstance(i, int) and i < 0 else i
                            for i in out_indices)
        bad = [i for i in out_indices if not isinstance(i, int) or not 0 <= i < NUM_STAGES]
        if bad or not out_indices:
            raise ValueError(f'RMT: out_indices {out_indices} must be stage indices in '
                             f'[0, {NUM_STAGES - 1}] (negative ones count from the end)')
        return out_indices

    def _freeze_stages(self):
        frozen = []
        if self.frozen_stages >= 0:
            frozen.append(self.patch_embed)
        for i in range(max(self.frozen_stages, 0)):
            frozen.append(self.layers[i])
            if self.out_norm:
                frozen.append(self.extra_norms[i])
        for module in frozen:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True):
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):  # BatchNorm*d and SyncBatchNorm
                    module.eval()
        return self

    def init_weights(self):
        if isinstance(self.init_cfg, dict) and self.init_cfg.get('type') == 'Pretrained':
            from rmt_mm.models.checkpoint import load_backbone_checkpoint
            load_backbone_checkpoint(self, self.init_cfg['checkpoint'],
                                     prefix=self.init_cfg.get('prefix'))
            self._is_init = True
            return
        super().init_weights()
        if self.init_cfg is None:
            # The official initialisation (for training from scratch).
            for module in self.modules():
                if isinstance(module, nn.Linear):
                    trunc_normal_(module.weight, std=.02)
                    nn.init.constant_(module.bias, 0)
                elif isinstance(module, nn.LayerNorm):
                    nn.init.constant_(module.weight, 1.0)
                    nn.init.constant_(module.bias, 0)

    def forward(self, x: torch.Tensor) -> tuple:
        """(B, in_channels, H, W) -> tuple of (B, C_i, H_i, W_i) for i in out_indices."""
        return self.forward_stages(self.embed(x))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The convolutional stem: (B, in_channels, H, W) -> (B, H/4, W/4, C0)."""
        if x.device.type == 'cpu' and not torch.is_grad_enabled():
            # oneDNN runs channels-last convolutions without reordering every input and
            # output (the stem took 30% less time at inference), and the stem output is then
            # a contiguous (B, H, W, C) map. Training and CUDA keep the official NCHW convs.
            x = x.contiguous(memory_format=torch.channels_last)
        # (conv, norm, GELU) x 3, then (conv, norm): official module indices, for the keys.
        proj = self.patch_embed.proj
        for i in range(0, len(proj), 3):
            x = conv_norm(proj[i], proj[i + 1], x)
            if i + 2 < len(proj):
                x = torch.ops.aten.gelu_(x) if torch_api.eager_inference() else proj[i + 2](x)
        return x.permute(0, 2, 3, 1)

    def forward_stages(self, x: torch.Tensor) -> tuple:
        """The four stages on the stem's output (B, H/4, W/4, C0): the NCHW outputs of the
        stages in out_indices (token labeling mixes the stem output in between)."""
        outs = []
        for i, stage in enumerate(self.layers):
            out, x = self._run_stage(stage, x)
            if i in self.out_indices:
                if self.out_norm:
                    out = self.extra_norms[i](out)
                outs.append(out.permute(0, 3, 1, 2).contiguous())
        return tuple(outs)

    def _run_stage(self, stage: RMTStage, x: torch.Tensor):
        """``stage(x)``, in groups of images for CPU inference (``inference_group_tokens``)."""
        # Only where each image is computed on its own (BatchNorm in eval mode). The sizes
        # are read last: a compiler would specialise its dynamic shapes on them.
        if (not self.inference_group_tokens or self.training or x.device.type != 'cpu'
                or not torch_api.eager_inference()):
            return stage(x)
        B, H, W, _ = x.shape
        group = max(1, self.inference_group_tokens // (H * W))
        if group >= B:
            return stage(x)
        outs, downs = zip(*(stage(part) for part in x.split(group)))
        return torch.cat(outs), (None if downs[0] is None else torch.cat(downs))

    def get_layer_depth(self, param_name: str, prefix: str = ''):
        """Layer id of a parameter for layer-wise learning-rate decay.

        Stem: 0; block k of stage i: sum(depths[:i]) + k + 1; the downsampling after stage i:
        sum(depths[:i + 1]); anything else (output norms, other modules): the last id.

        Returns:
            tuple[int, int]: the layer depth and the total number of layer ids.
        """
        num_layers = sum(self.depths) + 2
        if not param_name.startswith(prefix):
            return num_layers - 1, num_layers
        name = param_name[len(prefix):]
        if name.startswith('patch_embed'):
            return 0, num_layers
        if name.startswith('layers.'):
            parts = name.split('.')
            stage = int(parts[1])
            if parts[2] == 'blocks':
                return sum(self.depths[:stage]) + int(parts[3]) + 1, num_layers
            return min(sum(self.depths[:stage + 1]), num_layers - 1), num_layers
        return num_layers - 1, num_layers
