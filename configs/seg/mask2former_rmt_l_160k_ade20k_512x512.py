# Mask2Former with RMT-L, ADE20K semantic segmentation, 160k iterations, 512x512: a
# recipe of ours (no published RMT result).
# Source: mmseg 1.2 configs/mask2former/mask2former_swin-s_8xb2-160k_ade20k-512x512.py.
# Swin-S's recipe, not Swin-B's: mmseg gives Swin-B Mask2Former only at 640x640 crops from
# 384-px ImageNet weights; RMT-L's weights are 224 px and this row is 512x512.
# Changed for RMT:
#   - model.backbone: RMT-L from its ImageNet checkpoint in place of Swin-S, rmt_mm's dense
#     settings (SyncBN stem, ImageNet drop path)
#   - model.decode_head.in_channels: RMT-L's stage widths
#   - optim_wrapper.paramwise_cfg.custom_keys: the same rule for RMT's parameter names
#     (configs/_base_/mask2former_custom_keys.py)
#   - custom_imports, custom_hooks, default_hooks.checkpoint.backend_args: rmt_mm's runtime
#     (rmt_mm.models imported beside the source's mmdet.models, RNG state and non-finite
#     loss hooks, atomic checkpoint writes)
# Drop path: 0.5, RMT-L's ImageNet value, which the official RMT detection and segmentation
# configs use with every head and schedule; the source's Swin-S uses 0.3. Not tuned for this
# head: set model.backbone.drop_path_rate to try others.
_base_ = './_base_/recipes/mask2former_rmt_160k.py'

model = dict(
    backbone=dict(
        arch='l',
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/rmt_l_in1k.pth')),
    decode_head=dict(in_channels=[112, 224, 448, 640]))
