_base_ = [
    './_base_/models/retinanet_rmt_fpn.py', './_base_/datasets/coco_detection.py',
    './_base_/schedules/adamw_1x.py', './_base_/default_runtime.py'
]

model = dict(backbone=dict(
    arch='t', init_cfg=dict(type='Pretrained', checkpoint='checkpoints/rmt_t_in1k.pth')))
# The official RetinaNet optimizer (retinanet_*_1x.py): AdamW lr 4e-4, weight decay 1e-4 on
# every parameter (no paramwise settings), fp16 with a static loss scale of 512.
optim_wrapper = dict(
    _delete_=True,
    type='AmpOptimWrapper',
    loss_scale=512.0,
    optimizer=dict(type='AdamW', lr=4e-4, weight_decay=1e-4))
