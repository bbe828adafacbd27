_base_ = './fpn_rmt_t_80k_ade20k_512x512.py'

model = dict(
    backbone=dict(arch='l', init_cfg=dict(checkpoint='checkpoints/rmt_l_in1k.pth')),
    neck=dict(in_channels=[112, 224, 448, 640]))
