_base_ = './cascade_mask_rcnn_rmt_s_fpn_ms_3x_coco.py'

model = dict(
    backbone=dict(arch='b', init_cfg=dict(checkpoint='checkpoints/rmt_b_in1k.pth')),
    neck=dict(in_channels=[80, 160, 320, 512]))
optim_wrapper = dict(optimizer=dict(lr=2e-4))
