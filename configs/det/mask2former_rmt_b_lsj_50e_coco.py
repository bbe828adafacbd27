# Mask2Former with RMT-B, COCO instance segmentation, large-scale jitter, 50 epochs: a
# recipe of ours (no published RMT result).
# Source: mmdet 3.3 configs/mask2former/mask2former_swin-s-p4-w7-224_8xb2-lsj-50e_coco.py.
# Changed for RMT:
#   - model.backbone: RMT-B from its ImageNet checkpoint in place of Swin-S, rmt_mm's dense
#     settings (SyncBN stem, ImageNet drop path)
#   - model.panoptic_head.in_channels: RMT-B's stage widths
#   - optim_wrapper.paramwise_cfg.custom_keys: the same rule for RMT's parameter names
#     (configs/_base_/mask2former_custom_keys.py)
#   - custom_imports, custom_hooks, default_hooks.checkpoint.backend_args: rmt_mm's runtime
#     (RNG state and non-finite loss hooks, atomic checkpoint writes)
# Drop path: 0.4, RMT-B's ImageNet value, which the official RMT detection and segmentation
# configs use with every head and schedule; the source's Swin-S uses 0.3. Not tuned for this
# head: set model.backbone.drop_path_rate to try others.
_base_ = './_base_/recipes/mask2former_rmt_lsj_50e.py'

model = dict(
    backbone=dict(
        arch='b',
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/rmt_b_in1k.pth')),
    panoptic_head=dict(in_channels=[80, 160, 320, 512]))
