_base_ = [
    './_base_/models/retinanet_rmt_fpn.py', './_base_/datasets/coco_detection.py',
    './_base_/schedules/adamw_1x.py', './_base_/default_runtime.py'
]

model = dict(backbone=dict(arch='t', init_cfg=dict(checkpoint='checkpoints/rmt_t_in1k.pth')))
# RetinaNet: weight decay 1e-4 (official).
optim_wrapper = dict(optimizer=dict(lr=4e-4, weight_decay=1e-4))
