# RMT-T Semantic FPN on the embedded ADE20K-format shapes set (tools/quickstart.py --task seg
# generates it): the paper's segmentor with 160x128 images, 128x128 crops and a few CPU
# minutes of training. No pretrained weights (nothing is downloaded).
_base_ = '../seg/fpn_rmt_t_80k_ade20k_512x512.py'

data_root = 'data/quickstart/ade'
# Unlike ADE20K's 'other' (label 0, ignored), the background is a class here: the pictures
# then show shapes only where the model finds them.
classes = ('background', 'disk', 'square', 'triangle')
crop_size = (128, 128)

model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(arch='t', norm_cfg=dict(type='BN'), drop_path_rate=0.0, init_cfg=None),
    decode_head=dict(num_classes=len(classes), norm_cfg=dict(type='BN')))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=False),
    dict(type='RandomResize', scale=(160, 128), ratio_range=(0.75, 1.5), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=False),
    dict(type='PackSegInputs'),
]
__dataset = dict(_delete_=True, type='BaseSegDataset', data_root=data_root,
               reduce_zero_label=False, metainfo=dict(classes=classes), img_suffix='.jpg',
               seg_map_suffix='.png')
train_dataloader = dict(
    batch_size=4, num_workers=1, persistent_workers=False,
    dataset=dict(**__dataset, pipeline=train_pipeline,
                 data_prefix=dict(img_path='images/training',
                                  seg_map_path='annotations/training')))
val_dataloader = dict(
    batch_size=1, num_workers=1, persistent_workers=False,
    dataset=dict(**__dataset, pipeline=test_pipeline,
                 data_prefix=dict(img_path='images/validation',
                                  seg_map_path='annotations/validation')))
test_dataloader = val_dataloader

__max_iters = 150
optim_wrapper = dict(_delete_=True, type='OptimWrapper',  # fp32: AMP needs a GPU
                     optimizer=dict(type='AdamW', lr=6e-4, weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=30),
    dict(type='PolyLR', power=0.9, eta_min=0.0, by_epoch=False, begin=30, end=__max_iters),
]
train_cfg = dict(max_iters=__max_iters, val_interval=__max_iters)
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(interval=__max_iters))
randomness = dict(seed=0)
env_cfg = dict(dist_cfg=dict(backend='gloo'))  # a CPU job
