"""The official RMT classifier's neck: Linear -> BatchNorm -> Swish -> global average pool."""
import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule

from rmt_mm.registry import MODELS


@MODELS.register_module()
class RMTClsNeck(BaseModule):
    """(B, C, H, W) -> (B, out_channels), as the official ``VisRetNet`` before its head.

    ``proj`` Linear(C -> out_channels) per position, ``norm`` BatchNorm over channels, Swish
    (x * sigmoid(x)), then the mean over the H*W positions. Followed by mmpretrain's
    ``LinearClsHead(in_channels=out_channels)`` it is exactly the official classifier.

    Args:
        in_channels: channels of the backbone's last stage.
        out_channels: projection width (1024 in every official model).
        norm_cfg: norm after the projection.
    """

    def __init__(self, in_channels: int, out_channels: int = 1024,
                 norm_cfg: dict = dict(type='BN'), init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.proj = nn.Linear(in_channels, out_channels)
        self.norm = build_norm_layer(norm_cfg, out_channels)[1]
        self.act = nn.SiLU()

    def forward(self, inputs):
        x = inputs[-1] if isinstance(inputs, (tuple, list)) else inputs
        if x.shape[1] != self.in_channels:
            raise ValueError(f'RMTClsNeck: in_channels={self.in_channels} but the backbone '
                             f'gives {x.shape[1]} channels; set neck.in_channels to match')
        x = self.proj(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)  # (B, C', H, W)
        x = self.act(self.norm(x))
        return (torch.mean(x, dim=(2, 3)), )
