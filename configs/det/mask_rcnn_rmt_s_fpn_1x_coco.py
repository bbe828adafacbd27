_base_ = './mask_rcnn_rmt_t_fpn_1x_coco.py'

model = dict(backbone=dict(arch='s', init_cfg=dict(checkpoint='checkpoints/rmt_s_in1k.pth')))
