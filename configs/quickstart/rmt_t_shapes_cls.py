# The RMT-T ImageNet classifier on the embedded ImageNet-format shapes set (tools/quickstart.py
# --task cls generates it): the paper's model and recipe, with 64x64 images, 4 classes and a
# few CPU minutes of training. No pretrained weights (nothing is downloaded).
_base_ = '../cls/rmt_t_in1k.py'

data_root = 'data/quickstart/imagenet'
# The folder names: CustomDataset numbers the class folders in sorted order.
classes = ('cross', 'disk', 'square', 'triangle')

model = dict(
    backbone=dict(drop_path_rate=0.0),
    head=dict(num_classes=len(classes), topk=(1, )),
    train_cfg=None)  # no Mixup/CutMix: too strong for a few hundred images
data_preprocessor = dict(num_classes=len(classes))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=64, crop_ratio_range=(0.6, 1.0), backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
__dataset = dict(_delete_=True, type='CustomDataset', data_root=data_root,
               metainfo=dict(classes=classes))
train_dataloader = dict(batch_size=16, num_workers=1, persistent_workers=False,
                        pin_memory=False, sampler=dict(type='DefaultSampler', shuffle=True),
                        dataset=dict(**__dataset, data_prefix='train', pipeline=train_pipeline))
val_dataloader = dict(batch_size=16, num_workers=1, persistent_workers=False,
                      pin_memory=False,
                      dataset=dict(**__dataset, data_prefix='val', pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator

__max_epochs = 12
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(lr=1e-3, weight_decay=0.05))
auto_scale_lr = dict(enable=False)  # the lr above is for this batch
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=20),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=__max_epochs, eta_min=1e-5),
]
train_cfg = dict(max_epochs=__max_epochs, val_interval=__max_epochs)
custom_hooks = [{{_base_.random_state_hook}}, {{_base_.finite_loss_hook}}]  # no EMA
default_hooks = dict(logger=dict(interval=10),
                     checkpoint=dict(interval=__max_epochs, max_keep_ckpts=1, save_best=None))
randomness = dict(seed=0)
env_cfg = dict(dist_cfg=dict(backend='gloo'))  # a CPU job
