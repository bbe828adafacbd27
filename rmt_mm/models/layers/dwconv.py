"""Depthwise convolution on channels-last maps, with the residual optionally in its kernel."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class DWConv2d(nn.Module):
    """Depthwise conv on channels-last maps: (B, H, W, C) -> (B, H, W, C).

    A module of its own (``.conv``) so that official checkpoint keys load unchanged. With
    ``residual=True`` it returns ``x + conv(x)``; ``fuse_residual`` computes that as one conv
    whose kernel centre is raised by 1, the same sum without a pass over the tensor for the
    addition (the official computation adds separately, which ``fuse_residual=False`` keeps).
    """

    def __init__(self, channels: int, kernel_size: int, residual: bool = False,
                 fuse_residual: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(
            channels, channels, kernel_size, 1, kernel_size // 2, groups=channels)
        self.residual = residual
        self.fuse_residual = fuse_residual
        if residual and fuse_residual:
            # The identity kernel, built once; not persistent, so checkpoint keys stay official.
            identity = torch.zeros_like(self.conv.weight)
            identity[:, :, kernel_size // 2, kernel_size // 2] = 1
            self.register_buffer('identity', identity, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = self.conv.weight
        if self.residual and self.fuse_residual:
            weight = weight + self.identity
        out = F.conv2d(x.permute(0, 3, 1, 2), weight, self.conv.bias,
                       padding=self.conv.padding, groups=self.conv.groups)
        out = out.permute(0, 2, 3, 1)
        return x + out if self.residual and not self.fuse_residual else out
