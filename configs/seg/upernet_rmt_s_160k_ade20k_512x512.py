_base_ = [
    './_base_/models/upernet_rmt.py', './_base_/datasets/ade20k_512x512.py',
    './_base_/schedules/upernet_adamw_160k.py', './_base_/default_runtime.py'
]

model = dict(backbone=dict(
    arch='s', init_cfg=dict(type='Pretrained', checkpoint='checkpoints/rmt_s_in1k.pth')))
