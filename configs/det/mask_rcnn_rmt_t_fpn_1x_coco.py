_base_ = [
    './_base_/models/mask_rcnn_rmt_fpn.py', './_base_/datasets/coco_instance.py',
    './_base_/schedules/adamw_1x.py', './_base_/default_runtime.py'
]

model = dict(backbone=dict(
    arch='t', init_cfg=dict(type='Pretrained', checkpoint='checkpoints/rmt_t_in1k.pth')))
optim_wrapper = dict(optimizer=dict(lr=4e-4))
