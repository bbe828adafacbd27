# Mask2Former with RMT-S, ADE20K semantic segmentation, 160k iterations, 512x512: a
# recipe of ours (no published RMT result).
# Source: mmseg 1.2 configs/mask2former/mask2former_swin-t_8xb2-160k_ade20k-512x512.py.
# Changed for RMT:
#   - model.backbone: RMT-S from its ImageNet checkpoint in place of Swin-T, rmt_mm's dense
#     settings (SyncBN stem, ImageNet drop path)
#   - model.decode_head.in_channels: RMT-S's stage widths
#   - optim_wrapper.paramwise_cfg.custom_keys: the same rule for RMT's parameter names
#     (configs/_base_/mask2former_custom_keys.py)
#   - custom_imports, custom_hooks, default_hooks.checkpoint.backend_args: rmt_mm's runtime
#     (rmt_mm.models imported beside the source's mmdet.models, RNG state and non-finite
#     loss hooks, atomic checkpoint writes)
# Drop path: 0.15, RMT-S's ImageNet value, which the official RMT detection and segmentation
# configs use with every head and schedule; the source's Swin-T uses 0.3. Not tuned for this
# head: set model.backbone.drop_path_rate to try others.
_base_ = './_base_/recipes/mask2former_rmt_160k.py'

model = dict(
    backbone=dict(
        arch='s',
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/rmt_s_in1k.pth')),
    decode_head=dict(in_channels=[64, 128, 256, 512]))
