_base_ = [
    './_base_/models/fpn_rmt.py', './_base_/datasets/ade20k_512x512.py',
    './_base_/schedules/fpn_adamw_80k.py', './_base_/default_runtime.py'
]

model = dict(backbone=dict(
    arch='t', init_cfg=dict(type='Pretrained', checkpoint='checkpoints/rmt_t_in1k.pth')))
