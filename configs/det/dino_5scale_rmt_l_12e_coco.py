# DINO with RMT-L, COCO detection, 12 epochs: a recipe of ours (no published RMT result).
# Source: mmdet 3.3 configs/dino/dino-5scale_swin-l_8xb2-12e_coco.py.
# Changed for RMT:
#   - model.backbone: RMT-L from its ImageNet checkpoint in place of Swin-L, all four stages,
#     rmt_mm's dense settings (SyncBN stem, ImageNet drop path)
#   - model.neck.in_channels: RMT-L's stage widths
#   - custom_imports, custom_hooks, default_hooks.checkpoint.backend_args: rmt_mm's runtime
#     (RNG state and non-finite loss hooks, atomic checkpoint writes)
# Five scales, as mmdet gives its large backbone (Swin-L); RMT-S and RMT-B use four, as its
# ResNet-50 recipe. Swin-L's with_cp is not kept: RMT-L trains without it (rmt_mm's dense
# setting; set model.backbone.with_cp=True to trade speed for memory).
_base_ = './_base_/recipes/dino_5scale_rmt.py'

model = dict(
    backbone=dict(
        arch='l',
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/rmt_l_in1k.pth')),
    neck=dict(in_channels=[112, 224, 448, 640]))
