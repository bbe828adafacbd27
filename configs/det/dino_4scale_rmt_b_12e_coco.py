# DINO with RMT-B, COCO detection, 12 epochs: a recipe of ours (no published RMT result).
# Source: mmdet 3.3 configs/dino/dino-4scale_r50_8xb2-12e_coco.py.
# Changed for RMT:
#   - model.backbone: RMT-B from its ImageNet checkpoint, stages 1-3 (strides 8-32, as the
#     source's ResNet-50), rmt_mm's dense settings (SyncBN stem, ImageNet drop path)
#   - model.neck.in_channels: RMT-B's stage 1-3 widths
#   - custom_imports, custom_hooks, default_hooks.checkpoint.backend_args: rmt_mm's runtime
#     (RNG state and non-finite loss hooks, atomic checkpoint writes)
# Four scales for RMT-S and RMT-B, five for RMT-L, as mmdet chooses by backbone size: four for
# ResNet-50, five (an extra stride-4 level, 4x the encoder's tokens) only for Swin-L.
_base_ = './_base_/recipes/dino_4scale_rmt.py'

model = dict(
    backbone=dict(
        arch='b', out_indices=(1, 2, 3),
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/rmt_b_in1k.pth')),
    neck=dict(in_channels=[160, 320, 512]))
