_base_ = [
    './_base_/models/mask_rcnn_rmt_fpn.py', './_base_/datasets/coco_instance_ms_crop.py',
    './_base_/schedules/adamw_3x.py', './_base_/default_runtime.py'
]

model = dict(backbone=dict(
    arch='s', init_cfg=dict(type='Pretrained', checkpoint='checkpoints/rmt_s_in1k.pth')))
optim_wrapper = dict(optimizer=dict(lr=4e-4))
