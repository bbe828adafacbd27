"""Token labeling targets and loss (TokenLabeling, "All Tokens Matter", as the official RMT
token-labeling release trains RMT-S*/B*/L*).

A token-label map holds, per image, the top-K scores and class indices of a teacher on a grid
(``label_top5_train_nfnet``: K = 5 on 15 x 15). The targets of one training image are the
map's class scores pooled (RoIAlign) over the image's random crop: once for the whole crop
(the classifier's target) and on the token grid (the aux head's targets), each softmaxed over
the classes and label-smoothed.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

from rmt_mm.registry import MODELS


def dense_class_maps(label_maps: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(B, 2, K, h, w) top-K scores ([:, 0]) and class indices ([:, 1]) -> (B, classes, h, w)
    with each score at its class and zero elsewhere."""
    scores, indices = label_maps[:, 0].float(), label_maps[:, 1].long()
    maps = scores.new_zeros(scores.shape[0], num_classes, *scores.shape[2:])
    return maps.scatter_(1, indices, scores)


def crop_boxes(crops: torch.Tensor, map_size: tuple[int, int],
               box_order: str = 'aligned') -> torch.Tensor:
    """RoIAlign boxes (B, 5) in label-map pixels of crops given as (top, left, height, width)
    fractions of the image.

    ``box_order='official'`` passes (top, left, bottom, right) where RoIAlign reads
    (x1, y1, x2, y2), both scaled by the map's width, as the TokenLabeling loader does: the box
    and the targets come out transposed with respect to the row-major label maps. ``'aligned'``
    gives (left, top, right, bottom), so every token's target is the map at its position.
    """
    top, left, height, width = crops.float().unbind(1)
    h, w = map_size
    if box_order == 'aligned':
        corners = torch.stack([left * w, top * h, (left + width) * w, (top + height) * h], 1)
    elif box_order == 'official':
        corners = torch.stack([top, left, top + height, left + width], 1) * w
    else:
        raise ValueError(f"box_order must be 'aligned' or 'official', got {box_order!r}")
    index = torch.arange(len(crops), dtype=corners.dtype, device=corners.device)[:, None]
    return torch.cat([index, corners - 0.5], 1)


def token_label_targets(label_maps: torch.Tensor, crops: torch.Tensor, num_classes: int,
                        grid: tuple[int, int], smoothing: float = 0.1,
                        box_order: str = 'aligned') -> tuple[torch.Tensor, torch.Tensor]:
    """The classifier's target (B, classes) and the tokens' targets (B, gh * gw, classes,
    row-major over the ``grid`` of the last stage) of label maps (B, 2, K, h, w) and crops
    (B, 4): RoIAlign of the class maps over each crop, softmax over the classes, then
    ``target * on + off`` with TokenLabeling's smoothing values (on = 1 - s + s / classes,
    off = s / classes)."""
    from torchvision.ops import roi_align
    maps = dense_class_maps(label_maps, num_classes)
    boxes = crop_boxes(crops, maps.shape[2:], box_order)
    whole = roi_align(maps, boxes, output_size=(1, 1)).flatten(1)  # (B, classes)
    dense = roi_align(maps, boxes, output_size=tuple(grid))  # (B, classes, gh, gw)
    dense = dense.flatten(2).transpose(1, 2)  # (B, gh * gw, classes)
    off = smoothing / num_classes
    on = 1.0 - smoothing + off
    return whole.softmax(-1) * on + off, dense.softmax(-1) * on + off


def smoothed_one_hot(labels: torch.Tensor, num_classes: int, smoothing: float) -> torch.Tensor:
    off = smoothing / num_classes
    return F.one_hot(labels.long(), num_classes).float() * (1.0 - smoothing) + off


def soft_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean over the leading dims of -sum(target * log_softmax(logits)) over the last."""
    return torch.sum(-target * F.log_softmax(logits.float(), dim=-1), dim=-1).mean()


@MODELS.register_module()
class TokenLabelCrossEntropy(nn.Module):
    """``cls_weight * CE(cls, cls target) + dense_weight * CE(aux, token targets)`` with soft
    targets, as the official ``TokenLabelCrossEntropy``.

    With MixToken, ``mixed_fraction`` is the share of tokens taken from the flipped batch: the
    classifier's target becomes ``(1 - f) * t + f * t.flip(0)``; the aux logits were already
    put back in place by the classifier, so the token targets stay as they are.

    Args:
        dense_weight (float): weight of the token (aux) term. Official: 0.5.
        cls_weight (float): weight of the classifier term. Official: 1.0.
    """

    def __init__(self, dense_weight: float = 0.5, cls_weight: float = 1.0):
        super().__init__()
        if dense_weight + cls_weight <= 0:
            raise ValueError('TokenLabelCrossEntropy: dense_weight + cls_weight must be > 0')
        self.dense_weight, self.cls_weight = dense_weight, cls_weight

    def forward(self, cls_logits: torch.Tensor, aux_logits: torch.Tensor,
                cls_target: torch.Tensor, token_targets: torch.Tensor,
                mixed_fraction: float | None = None) -> dict:
        """cls_logits (B, C), aux_logits (B, N, C), cls_target (B, C), token_targets
        (B, N, C) -> dict(loss_cls, loss_token), already weighted."""
        if mixed_fraction:
            cls_target = (1 - mixed_fraction) * cls_target + mixed_fraction * cls_target.flip(0)
        num_classes = aux_logits.shape[-1]
        return dict(
            loss_cls=self.cls_weight * soft_cross_entropy(cls_logits, cls_target),
            loss_token=self.dense_weight * soft_cross_entropy(
                aux_logits.reshape(-1, num_classes), token_targets.reshape(-1, num_classes)))
