_base_ = './coco_instance.py'

# The 3x multi-scale policy (DETR-style): short side 480..800 (max 1333), or resize to
# 400..600, crop 384..600 and resize again.
__multi_scales = [(s, 1333) for s in range(480, 801, 32)]
train_pipeline = [
    dict(_scope_='mmdet', type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(_scope_='mmdet', type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(_scope_='mmdet', type='RandomFlip', prob=0.5),
    dict(
        _scope_='mmdet',  # builds the transforms it chooses from
        type='RandomChoice',
        transforms=[
            [dict(type='RandomChoiceResize', scales=__multi_scales, keep_ratio=True)],
            [
                dict(type='RandomChoiceResize', scales=[(400, 1333), (500, 1333), (600, 1333)],
                     keep_ratio=True),
                dict(type='RandomCrop', crop_type='absolute_range', crop_size=(384, 600),
                     allow_negative_crop=True),
                dict(type='RandomChoiceResize', scales=__multi_scales, keep_ratio=True),
            ],
        ]),
    dict(_scope_='mmdet', type='PackDetInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
