_base_ = './retinanet_rmt_t_fpn_1x_coco.py'

model = dict(
    backbone=dict(arch='b', init_cfg=dict(checkpoint='checkpoints/rmt_b_in1k.pth')),
    neck=dict(in_channels=[80, 160, 320, 512]))
