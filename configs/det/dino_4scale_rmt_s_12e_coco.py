# DINO with RMT-S, COCO detection, 12 epochs: a recipe of ours (no published RMT result).
# Source: mmdet 3.3 configs/dino/dino-4scale_r50_8xb2-12e_coco.py.
# Changed for RMT:
#   - model.backbone: RMT-S from its ImageNet checkpoint, stages 1-3 (strides 8-32, as the
#     source's ResNet-50), rmt_mm's dense settings (SyncBN stem, ImageNet drop path)
#   - model.neck.in_channels: RMT-S's stage 1-3 widths
#   - custom_imports, custom_hooks, default_hooks.checkpoint.backend_args: rmt_mm's runtime
#     (RNG state and non-finite loss hooks, atomic checkpoint writes)
# Four scales (stages 2-4, strides 8-32, and an extra stride-64 level): the source's. DINO
# reports four and five scales for every backbone; mmdet ships five only for Swin-L
# (ImageNet-22k, 384 px). RMT-L has both: dino_4scale_rmt_l_12e_coco.py, comparable with
# RMT-S and RMT-B, and dino_5scale_rmt_l_12e_coco.py.
# Drop path: 0.15, RMT-S's ImageNet value, which the official RMT detection and segmentation
# configs use with every head and schedule; the source's ResNet-50 has none. Not tuned for this
# head: set model.backbone.drop_path_rate to try others.
_base_ = './_base_/recipes/dino_4scale_rmt.py'

model = dict(
    backbone=dict(
        arch='s', out_indices=(1, 2, 3),
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/rmt_s_in1k.pth')),
    neck=dict(in_channels=[128, 256, 512]))
