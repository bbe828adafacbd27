_base_ = './mask_rcnn_rmt_t_fpn_1x_coco.py'

model = dict(
    backbone=dict(arch='l', init_cfg=dict(checkpoint='checkpoints/rmt_l_in1k.pth')),
    neck=dict(in_channels=[112, 224, 448, 640]))
optim_wrapper = dict(optimizer=dict(lr=2e-4))
