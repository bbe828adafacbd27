# DINO with RMT-L, COCO detection, 12 epochs: a recipe of ours (no published RMT result).
# Source: mmdet 3.3 configs/dino/dino-5scale_swin-l_8xb2-12e_coco.py.
# Changed for RMT:
#   - model.backbone: RMT-L from its ImageNet checkpoint in place of Swin-L, all four stages,
#     rmt_mm's dense settings (SyncBN stem, ImageNet drop path)
#   - model.neck.in_channels: RMT-L's stage widths
#   - custom_imports, custom_hooks, default_hooks.checkpoint.backend_args: rmt_mm's runtime
#     (RNG state and non-finite loss hooks, atomic checkpoint writes)
# Five scales (stages 1-4, strides 4-32, and an extra stride-64 level), as mmdet's only
# five-scale recipe (Swin-L, ImageNet-22k, 384 px). A choice, not a rule of backbone size: DINO
# reports four and five scales for every backbone, and dino_4scale_rmt_l_12e_coco.py is RMT-L
# with four, comparable with RMT-S and RMT-B. The stride-4 level gives the encoder about 4x
# the tokens. Swin-L's with_cp is not kept: RMT-L trains without it (rmt_mm's dense
# setting; set model.backbone.with_cp=True to trade speed for memory).
# Drop path: 0.5, RMT-L's ImageNet value, which the official RMT detection and segmentation
# configs use with every head and schedule; the source's Swin-L uses 0.2. Not tuned for this
# head: set model.backbone.drop_path_rate to try others.
_base_ = './_base_/recipes/dino_5scale_rmt.py'

model = dict(
    backbone=dict(
        arch='l',
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/rmt_l_in1k.pth')),
    neck=dict(in_channels=[112, 224, 448, 640]))
