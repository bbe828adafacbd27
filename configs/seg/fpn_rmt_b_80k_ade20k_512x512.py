_base_ = './fpn_rmt_t_80k_ade20k_512x512.py'

model = dict(
    backbone=dict(arch='b', init_cfg=dict(checkpoint='checkpoints/rmt_b_in1k.pth')),
    neck=dict(in_channels=[80, 160, 320, 512]))
