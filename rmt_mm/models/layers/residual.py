"""The residual sum of a block branch, with layer scale and stochastic depth, in one pass."""
import torch
import torch.nn as nn
from mmcv.cnn.bricks.drop import drop_path


class DropPathResidual(nn.Module):
    """``residual + drop_path(layer_scale * branch)``: (B, ...) each -> (B, ...).

    ``branch`` must be a fresh tensor whose backward does not need it (a linear layer's
    output): without a per-sample scale the sum is written into it, so no new buffer is
    allocated (the same numbers as ``branch + residual``). With stochastic depth (training)
    or layer scale, ``fused=True`` computes the sum as one ``addcmul`` with the per-sample
    keep mask, divided by the keep probability, folded into the scale: one pass instead of
    the official four (layer scale, divide by keep, mask, sum). ``fused=False`` keeps the
    official sequence (mmcv's :func:`drop_path`). Both draw the same masks from the same
    random numbers (one ``torch.rand`` per sample), so they agree to rounding.
    """

    def __init__(self, drop_prob: float = 0., fused: bool = True):
        super().__init__()
        if not 0 <= drop_prob < 1:
            raise ValueError(f'DropPathResidual: drop_prob must be in [0, 1), got {drop_prob}')
        self.drop_prob = drop_prob
        self.fused = fused

    def forward(self, branch: torch.Tensor, residual: torch.Tensor,
                layer_scale: torch.Tensor | None = None) -> torch.Tensor:
        dropping = self.training and self.drop_prob > 0
        if not self.fused:
            if layer_scale is not None:
                branch = layer_scale * branch
            return drop_path(branch, self.drop_prob, dropping).add_(residual)
        scale = layer_scale
        if dropping:
            keep = 1 - self.drop_prob
            shape = (branch.shape[0],) + (1,) * (branch.ndim - 1)
            # The draw of mmcv's drop_path: floor(keep + U[0, 1)) is 1 with probability keep.
            mask = (keep + torch.rand(shape, dtype=branch.dtype, device=branch.device)).floor_()
            scale = mask.div_(keep) if scale is None else scale * mask.div_(keep)
        if scale is None:
            return branch.add_(residual)
        return torch.addcmul(residual, branch, scale)

    def extra_repr(self) -> str:
        return f'drop_prob={self.drop_prob}, fused={self.fused}'
