_base_ = [
    './_base_/models/cascade_mask_rcnn_rmt_fpn.py', './_base_/datasets/coco_instance_ms_crop.py',
    './_base_/schedules/adamw_3x.py', './_base_/default_runtime.py'
]

model = dict(backbone=dict(
    arch='s', init_cfg=dict(type='Pretrained', checkpoint='checkpoints/rmt_s_in1k.pth')))
# The official casrcnn_*_3x.py adds norm_decay_mult=0 to the substring keys (and 'rpe_table',
# which matches no RMT parameter): the stem's and the box heads' BatchNorms lose their weight
# decay too; biases keep it.
optim_wrapper = dict(
    optimizer=dict(lr=4e-4),
    paramwise_cfg=dict(norm_decay_mult=0., custom_keys={'rpe_table': dict(decay_mult=0.)}))
