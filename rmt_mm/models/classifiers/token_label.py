"""The token-labeling RMT classifier (RMT-S*/B*/L*, the official
``classification_token_label_release``): the suite's classifier plus an aux head on every
last-stage token, trained with MixToken and token-label targets."""

import numpy as np
import torch
import torch.nn as nn
from mmpretrain.models import ImageClassifier

from rmt_mm.registry import MODELS

from ..losses.token_label import smoothed_one_hot, token_label_targets

Box = tuple[int, int, int, int]  # rows r1:r2, columns c1:c2 of the token grid


def sample_mix_token_box(grid: tuple[int, int], alpha: float = 1.0) -> Box:
    """MixToken's CutMix box on a (rows, cols) token grid, drawn as the official ``rand_bbox``:
    lam ~ Beta(alpha, alpha), sides ``int(side * sqrt(1 - lam))``, a uniform centre, clipped."""
    rows, cols = grid
    lam = np.random.beta(alpha, alpha)
    cut = np.sqrt(1.0 - lam)
    cut_rows, cut_cols = int(rows * cut), int(cols * cut)
    centre_row, centre_col = np.random.randint(rows), np.random.randint(cols)
    r1, r2 = np.clip([centre_row - cut_rows // 2, centre_row + cut_rows // 2], 0, rows)
    c1, c2 = np.clip([centre_col - cut_cols // 2, centre_col + cut_cols // 2], 0, cols)
    return int(r1), int(r2), int(c1), int(c2)


def paste_flipped(x: torch.Tensor, box: Box, scale: int = 1) -> torch.Tensor:
    """(B, H, W, ...) with the box (in units of ``scale`` pixels) taken from the reversed
    batch: sample b gets sample B-1-b's content there."""
    r1, r2, c1, c2 = (v * scale for v in box)
    mixed = x.clone()
    mixed[:, r1:r2, c1:c2] = x.flip(0)[:, r1:r2, c1:c2]
    return mixed


@MODELS.register_module()
class TokenLabelClassifier(ImageClassifier):
    """mmpretrain's ImageClassifier (RMT backbone, RMTClsNeck, LinearClsHead) with the official
    token-labeling additions.

    - ``aux_head``: a Linear from the last stage's channels to the classes, on every token.
    - Inference (``'tensor'``/``'predict'``): ``cls_logits + aux_weight * aux_logits.max over
      tokens`` (official: 0.5).
    - Training: MixToken (``mix_token``): a CutMix box drawn on the last-stage token grid,
      scaled by ``mix_token_scale`` (8 = the stem's stride to the last stage) onto the stem's
      output, is filled from the reversed batch; the aux logits of the box are put back where
      their image came from. The loss is ``loss`` (:class:`TokenLabelCrossEntropy`) on the
      targets of each sample's ``token_label_map`` and ``token_label_crop`` (see
      :mod:`rmt_mm.datasets.token_label`), or on the smoothed ground-truth label when a
      sample carries no map.

    Args:
        aux_head (dict): ``in_channels`` (last-stage channels) and ``num_classes``.
        aux_weight (float): weight of the aux logits at inference.
        mix_token (bool): MixToken in training.
        mix_token_alpha (float): Beta(alpha, alpha) of MixToken's area.
        mix_token_scale (int): stem pixels per last-stage token.
        loss (dict): the token-label loss.
        smoothing (float): label smoothing of the targets (official: 0.1).
        box_order (str): ``'aligned'`` or ``'official'`` crop boxes for the targets (see
            :func:`rmt_mm.models.losses.token_label.crop_boxes`).
        Others: as ImageClassifier.
    """

    def __init__(self, backbone: dict, neck: dict, head: dict, aux_head: dict,
                 aux_weight: float = 0.5, mix_token: bool = True, mix_token_alpha: float = 1.0,
                 mix_token_scale: int = 8,
                 loss: dict = dict(type='rmt_mm.TokenLabelCrossEntropy'),
                 smoothing: float = 0.1, box_order: str = 'aligned',
                 train_cfg: dict | None = None, data_preprocessor: dict | None = None,
                 init_cfg: dict | None = None):
        if train_cfg and train_cfg.get('augments'):
            raise ValueError('TokenLabelClassifier: Mixup/CutMix (train_cfg.augments) are off '
                             'in token labeling (MixToken mixes instead); remove them')
        super().__init__(backbone=backbone, neck=neck, head=head, train_cfg=train_cfg,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.aux_head = nn.Linear(aux_head['in_channels'], aux_head['num_classes'])
        self.aux_weight = aux_weight
        self.mix_token, self.mix_token_alpha = mix_token, mix_token_alpha
        self.mix_token_scale = mix_token_scale
        self.token_loss = MODELS.build(loss)
        self.smoothing, self.box_order = smoothing, box_order

    def logits(self, inputs: torch.Tensor, mix_token: bool = False):
        """(B, 3, H, W) -> cls logits (B, classes), aux logits (B, h, w, classes) and the
        MixToken box (None without ``mix_token``), drawn on the stem's output grid."""
        x = self.backbone.embed(inputs)  # (B, H/4, W/4, C0)
        box = None
        if mix_token:
            grid = (x.shape[1] // self.mix_token_scale, x.shape[2] // self.mix_token_scale)
            box = sample_mix_token_box(grid, self.mix_token_alpha)
            x = paste_flipped(x, box, self.mix_token_scale)
        feats = self.backbone.forward_stages(x)  # the last stage, (B, C, h, w)
        cls_logits = self.head(self.neck(feats))
        aux_logits = self.aux_head(feats[-1].permute(0, 2, 3, 1))
        return cls_logits, aux_logits, box

    def inference_logits(self, inputs: torch.Tensor) -> torch.Tensor:
        cls_logits, aux_logits, _ = self.logits(inputs)
        return cls_logits + self.aux_weight * aux_logits.flatten(1, 2).max(1)[0]

    def forward(self, inputs: torch.Tensor, data_samples=None, mode: str = 'tensor'):
        if mode == 'tensor':
            return self.inference_logits(inputs)
        return super().forward(inputs, data_samples, mode)

    def predict(self, inputs: torch.Tensor, data_samples=None, **kwargs):
        return self.head._get_predictions(self.inference_logits(inputs), data_samples)

    def loss(self, inputs: torch.Tensor, data_samples: list) -> dict:
        cls_logits, aux_logits, box = self.logits(inputs, self.mix_token)
        mixed_fraction = None
        if box is not None:
            aux_logits = paste_flipped(aux_logits, box)  # each token's logits back in place
            r1, r2, c1, c2 = box
            mixed_fraction = (r2 - r1) * (c2 - c1) / (aux_logits.shape[1] * aux_logits.shape[2])
        grid = aux_logits.shape[1:3]
        cls_target, token_targets = self.targets(data_samples, grid, cls_logits)
        return self.token_loss(cls_logits, aux_logits.flatten(1, 2), cls_target, token_targets,
                               mixed_fraction)

    def targets(self, data_samples: list, grid, cls_logits: torch.Tensor):
        """The classifier's (B, classes) and the tokens' (B, h * w, classes) targets."""
        num_classes = cls_logits.shape[1]
        if all('token_label_map' in s for s in data_samples):
            maps = torch.stack([s.token_label_map for s in data_samples]).to(cls_logits.device)
            crops = torch.stack([s.token_label_crop for s in data_samples]).to(maps.device)
            return token_label_targets(maps, crops, num_classes, grid, self.smoothing,
                                       self.box_order)
        labels = torch.cat([s.gt_label for s in data_samples]).to(cls_logits.device)
        target = smoothed_one_hot(labels, num_classes, self.smoothing)
        return target, target[:, None].expand(-1, grid[0] * grid[1], -1)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        key = prefix + 'aux_head.weight'
        if key in state_dict and state_dict[key].shape != self.aux_head.weight.shape:
            got, own = tuple(state_dict[key].shape), tuple(self.aux_head.weight.shape)
            raise ValueError(
                f'aux_head.weight of the checkpoint is {got} (classes x features) but this '
                f"model's is {own}: the checkpoint's aux head reads {got[1]} features per "
                f"token, this model's {own[1]} (aux_head.in_channels). The released code "
                f"builds it on the last stage's channels; a checkpoint whose aux head "
                f'has another width comes from another model (see configs/cls/README.md)')
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)
